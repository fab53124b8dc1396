"""3-D models (issue 15): the SEG/EAGE Overthrust volume or its procedural stand-in, and 3-D starts.

Every volume is a numpy ``float32`` array ``[nz, ny, nx]`` in m/s (depth, crossline y, inline x;
see :mod:`crfwi.physics.geometry3d`), its first sample at z = y = x = 0 m, on a
:class:`~crfwi.physics.geometry3d.Grid3D`.

* ``"overthrust3d"``: the SEG/EAGE 3-D Overthrust volume (Aminzadeh, Brac & Kunz, 1997) when the
  data directory has it -- a ``.npy`` ``[nz, ny, nx]`` named in ``models.json`` under the key
  ``overthrust3d`` (``{"file", "shape": [nz, ny, nx], "dz_m", "dy_m", "dx_m", ...}``; ``dy_m``
  defaults to ``dx_m``) -- resampled onto the grid. The volume is not shipped and was not
  obtainable here; without it :func:`load_model3d` falls back to the stand-in below and says so.
* ``"thrust_fold3d"``: a procedural, seeded thrust-and-fold volume standing in for Overthrust
  (:func:`thrust_fold3d`). Its note always begins ``"STAND-IN:"``; carry it into every output.

:func:`initial_model3d` builds the smooth / linear / constant / file starts of 3-D runs with the
same definitions as the 2-D :func:`crfwi.models.zoo.initial_model`, one axis more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..physics.geometry3d import Grid3D
from .datadir import MANIFEST, DataAbsent, manifest_entry, resolve_data_dir
from .initial_models import CONSTANT_READINGS, read_initial_file
from .zoo import _interp_axis, _sample_positions  # the 2-D loader's resampling, per axis

__all__ = [
    "MODELS3D",
    "INITIAL_KINDS3D",
    "load_model3d",
    "initial_model3d",
    "thrust_fold3d",
]

OVERTHRUST3D_KEY = "overthrust3d"  # the models.json entry of the real volume
STAND_IN = "thrust_fold3d"
MODELS3D: tuple[str, ...] = (OVERTHRUST3D_KEY, STAND_IN)
"""The names :func:`load_model3d` takes."""

# The stand-in's velocity range, m/s: SEG/EAGE Overthrust spans 2360-6000 m/s; the optional
# weathered top layer reaches down to 2200 m/s (the paper's "near-surface low-velocity layer"
# failure case, App. C.4; off by default, as in the Overthrust of Table 6).
V_MIN3D, V_MAX3D = 2200.0, 6000.0

_OVERTHRUST_URL = ("https://s3.amazonaws.com/open.source.geoscience/open_data/seg_eage_models_cd/"
                   "Overthrust_Model_3D.tar.gz")


# --------------------------------------------------------------------------------------------
# The procedural stand-in
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Fault:
    """One thrust, in coordinates normalised by the grid's extent (z by depth, x by width, y by
    the crossline width). The plane crosses depth ``z_ref`` at ``x = centre + wiggle *
    sin(2 pi y + phase)`` and dips ``dip`` degrees toward ``direction * x``; the hanging wall (above
    the plane, above the detachment) is lifted by ``throw * (1 + 0.2 cos(2 pi y + phase))``."""

    centre: float
    wiggle: float
    phase: float
    dip: float
    direction: float
    throw: float

    def trace(self, yn: np.ndarray) -> np.ndarray:
        return self.centre + self.wiggle * np.sin(2.0 * np.pi * yn + self.phase)

    def throw_at(self, yn: np.ndarray) -> np.ndarray:
        return self.throw * (1.0 + 0.2 * np.cos(2.0 * np.pi * yn + self.phase))


@dataclass(frozen=True)
class _Structure:
    """Everything the generator drew; tests use it to find the faults."""

    layer_index: np.ndarray  # [nz, ny, nx] int: -1 weathered, 0.. sediments, n_layers basement
    velocities: np.ndarray  # [n_layers + 1] m/s, top first, the basement last
    v_weathered: float  # m/s
    faults: tuple[_Fault, ...]
    z_ref: float  # depth (fraction) where each fault trace is defined
    detachment: float  # depth (fraction) of the flat sole of the thrusts; basement below
    aspect: float  # depth / inline width


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def _check_grid(grid3d) -> Grid3D:
    if not isinstance(grid3d, Grid3D):
        raise ValueError(f"`grid3d` must be a crfwi.physics.geometry3d.Grid3D, got {type(grid3d).__name__}")
    return grid3d


def _count(name: str, value, draw: int, low: int, high: int) -> int:
    if value is None:
        return draw
    if isinstance(value, bool) or int(value) != value or not low <= value <= high:
        raise ValueError(f"`{name}` must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def _unit(n: int, spacing: float) -> tuple[np.ndarray, float]:
    extent = (n - 1) * spacing
    return (np.arange(n) * spacing / extent if extent > 0 else np.zeros(n)), extent


def _structure(grid3d: Grid3D, seed: int = 0, n_layers: int | None = None,
               n_faults: int | None = None, low_velocity_layer: bool = False) -> _Structure:
    grid3d = _check_grid(grid3d)
    rng = _rng(seed)
    # Every draw happens whatever the options, so an option never shifts the rest of the stream.
    n = _count("n_layers", n_layers, int(rng.integers(8, 13)), 3, 40)
    nf = _count("n_faults", n_faults, int(rng.integers(1, 3)), 0, 2)
    zn, depth = _unit(grid3d.nz, grid3d.dz)
    yn, _ = _unit(grid3d.ny, grid3d.dy)
    xn, width = _unit(grid3d.nx, grid3d.dx)
    aspect = depth / width if width > 0 else 0.0
    z = zn[:, None, None]
    y = yn[None, :, None]
    x = xn[None, None, :]

    # Weathered top: 3-6 % of the depth, undulating gently in x and y (drawn always, used only
    # with `low_velocity_layer`).
    weathered = rng.uniform(0.03, 0.06)
    w_phase = rng.uniform(0.0, 2.0 * np.pi, 2)
    base_weathered = weathered * (1.0 + 0.25 * np.sin(2.0 * np.pi * 1.3 * x + w_phase[0])
                                  * np.cos(2.0 * np.pi * 0.8 * y + w_phase[1]))
    v_weathered = rng.uniform(V_MIN3D, 2400.0)

    # Flat detachment (the sole of the thrusts) at 72-85 % of the depth; basement below it.
    detachment = rng.uniform(0.72, 0.85)
    v_basement = rng.uniform(5800.0, V_MAX3D)

    # Anticlines striking in y: Gaussian ridges of the stratigraphy (strata lifted by `fold`), their
    # crest lines and heights varying gently along strike.
    n_folds = int(rng.integers(2, 5))
    crests = np.sort(rng.uniform(0.12, 0.88, n_folds))
    widths = rng.uniform(0.06, 0.12, n_folds)
    heights = rng.uniform(0.05, 0.12, n_folds)
    swings = rng.uniform(0.02, 0.06, n_folds)
    f_phase = rng.uniform(0.0, 2.0 * np.pi, n_folds)
    fold = np.zeros((1, grid3d.ny, grid3d.nx))
    for c, w, h, s, p in zip(crests, widths, heights, swings, f_phase):
        crest_line = c + s * np.sin(2.0 * np.pi * y + p)
        height = h * (1.0 + 0.25 * np.cos(2.0 * np.pi * y + p))
        fold = fold + height * np.exp(-(((x - crest_line) / w) ** 2))

    # Thrusts: planes dipping 30-45 degrees in x, striking in y, soling out at the detachment.
    z_ref = 0.5 * detachment
    faults = []
    for k in range(2):
        fault = _Fault(centre=(0.3 + 0.4 * k) + rng.uniform(-0.08, 0.08),
                       wiggle=rng.uniform(0.01, 0.04), phase=rng.uniform(0.0, 2.0 * np.pi),
                       dip=rng.uniform(30.0, 45.0), direction=float(rng.choice([-1.0, 1.0])),
                       throw=rng.uniform(0.06, 0.12))
        if k < nf:
            faults.append(fault)
    lift = np.zeros(grid3d.shape)
    for fault in faults:
        plane_x = fault.trace(y) + fault.direction * (z - z_ref) * aspect / math.tan(
            math.radians(fault.dip))
        hanging = (fault.direction * (x - plane_x) > 0) & (z < detachment)
        lift = lift + np.where(hanging, fault.throw_at(y), 0.0)

    # Stratigraphic depth: what depth (fraction) the rock at (z, y, x) lay at before deformation.
    strat = z + fold + lift
    top = float(base_weathered.max())
    bottom = detachment + heights.sum() * 1.25 + 2 * 0.12 * 1.2  # below any lifted stratum
    thickness = rng.uniform(0.5, 1.5, n)
    interfaces = top + (bottom - top) * np.cumsum(thickness)[:-1] / thickness.sum()
    index = np.searchsorted(interfaces, strat.ravel(), side="right").reshape(grid3d.shape)
    index = np.where(z >= detachment, n, index)
    if low_velocity_layer:
        index = np.where(z <= base_weathered, -1, index)

    # Sediment velocities: a depth trend 2.8-3.2 -> 5.2-5.6 km/s, jittered +/- 40 % of one step.
    v_top, v_bottom = rng.uniform(2800.0, 3200.0), rng.uniform(5200.0, 5600.0)
    step = (v_bottom - v_top) / n
    velocities = v_top + step * (np.arange(n) + 0.5) + rng.uniform(-0.4, 0.4, n) * step
    velocities = np.clip(np.append(velocities, v_basement), V_MIN3D, V_MAX3D)
    return _Structure(index.astype(np.int64), velocities, float(v_weathered), tuple(faults),
                      z_ref, detachment, aspect)


def thrust_fold3d(grid3d: Grid3D, *, seed: int = 0, n_layers: int | None = None,
                  n_faults: int | None = None, low_velocity_layer: bool = False) -> np.ndarray:
    """A procedural thrust-and-fold volume standing in for SEG/EAGE Overthrust, ``[nz, ny, nx]`` m/s.

    Geometry, in coordinates normalised by the grid's extent on each axis (so a seed gives the same
    geology at any resolution):

    * with ``low_velocity_layer``, a weathered top layer 3-6 % of the depth thick (undulating
      +/- 25 % in x and y) at 2200-2400 m/s over strata at 2800-3200: the paper's failure case
      (App. C.4, "the Overthrust model with a near-surface low-velocity layer"). Off by default:
      Table 6's Overthrust has none (the SEG/EAGE 2-D slice rises gradually from 2760 m/s mean at
      the surface to 3110 at 200 m), and with it the surface-concentrated first gradient turns
      the networks' update into a shift of the whole volume (BENCHMARKS.md §14). Without it the
      strata reach the surface;
    * 8-12 sediment layers (``n_layers``), thicknesses 0.5-1.5 x the mean, velocities following a
      depth trend from 2.8-3.2 to 5.2-5.6 km/s with inversions of up to 40 % of one step;
    * 2-4 anticlines striking in y: Gaussian ridges 6-12 % of the width wide and 5-12 % of the
      depth high, crest lines swinging 2-6 % of the width and heights varying +/- 25 % along y;
    * 1-2 thrust faults (``n_faults``, 0 for none): planes striking in y, crossing mid-detachment
      depth near 30 % and 70 % of the width (+/- 8 %, trace swinging 1-4 % along y), dipping
      30-45 degrees in x (a physical angle: the depth / width aspect is used), each lifting its
      hanging wall by 6-12 % of the depth (+/- 20 % along y), the lifts adding where faults stack;
    * a flat detachment at 72-85 % of the depth where the faults sole out; below it an undeformed
      basement at 5800-6000 m/s. The weathered layer, when there, truncates the folded, faulted
      strata.

    Velocities stay within [2200, 6000] m/s (Overthrust: 2360-6000), within [2800, 6000] without
    the low-velocity layer. Deterministic per ``seed``; the layer changes no other draw.
    """
    if not isinstance(low_velocity_layer, (bool, np.bool_)):
        raise ValueError(f"`low_velocity_layer` must be true or false, got {low_velocity_layer!r}")
    structure = _structure(grid3d, seed, n_layers, n_faults, bool(low_velocity_layer))
    lookup = np.append(structure.velocities, structure.v_weathered)  # index -1 -> weathered
    return lookup[structure.layer_index].astype(np.float32)


def _stand_in_note(grid3d: Grid3D, seed: int, why: str) -> str:
    return (f"STAND-IN: procedural {STAND_IN!r} thrust-and-fold volume (seed {seed}) on "
            f"{grid3d.nz}x{grid3d.ny}x{grid3d.nx} cells, not the SEG/EAGE 3-D Overthrust model"
            f"{'; ' + why if why else ''}")


# --------------------------------------------------------------------------------------------
# The real volume
# --------------------------------------------------------------------------------------------
def _overthrust_entry(data_dir: Path | None) -> tuple[dict, Path]:
    """The real volume's manifest entry and file; :class:`DataAbsent` (naming where the original
    is) when the data directory does not hold it."""
    try:
        return manifest_entry(data_dir, OVERTHRUST3D_KEY)
    except DataAbsent as why:
        raise DataAbsent(f"{why} (the original: {_OVERTHRUST_URL})") from None


def _read_volume(entry: dict, path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    try:
        volume = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read the 3-D model file {path}: {err}") from None
    try:
        expected = tuple(int(n) for n in entry["shape"])
    except (TypeError, ValueError):
        raise ValueError(f"{MANIFEST}: the shape of {OVERTHRUST3D_KEY!r} must be [nz, ny, nx], "
                         f"got {entry['shape']!r}") from None
    if volume.ndim != 3:
        raise ValueError(f"3-D model file {path} must hold a 3-D [nz, ny, nx] array, "
                         f"got shape {volume.shape}")
    if volume.shape != expected:
        raise ValueError(f"3-D model file {path} has shape {volume.shape}, but {MANIFEST} says "
                         f"{expected}")
    if not (np.issubdtype(volume.dtype, np.floating) or np.issubdtype(volume.dtype, np.integer)) \
            or volume.dtype == bool:
        raise ValueError(f"3-D model file {path} must hold real velocities, got dtype {volume.dtype}")
    if not np.all(np.isfinite(volume)) or not np.all(volume > 0):
        bad = int(np.count_nonzero(~(np.isfinite(volume) & (volume > 0))))
        raise ValueError(f"3-D model file {path} must hold finite, positive velocities (m/s); "
                         f"{bad} of {volume.size} values are NaN, infinite or <= 0")
    spacing = (float(entry["dz_m"]), float(entry.get("dy_m", entry["dx_m"])), float(entry["dx_m"]))
    if not all(math.isfinite(d) and d > 0 for d in spacing):
        raise ValueError(f"{MANIFEST}: the spacing of {OVERTHRUST3D_KEY!r} must be positive, "
                         f"got {spacing}")
    return volume.astype(np.float64), spacing


def _resample3d(volume: np.ndarray, spacing: tuple[float, float, float], counts, steps, origin,
                path: Path) -> np.ndarray:
    """The 2-D rule of :func:`crfwi.models.zoo.load_model`, per axis: a Gaussian anti-alias of std
    ``(r - 1) / 2`` file samples when coarsening by ``r``, then (tri)linear interpolation."""
    positions = []
    for axis, (n, step, start, file_step) in enumerate(zip(counts, steps, origin, spacing)):
        pos = _sample_positions(start, n, step, file_step, volume.shape[axis])
        if pos is None:
            extent = (volume.shape[axis] - 1) * file_step
            raise ValueError(
                f"the requested {'zyx'[axis]} = {start:g} to {start + (n - 1) * step:g} m exceeds "
                f"the extent of {path} (0 to {extent:g} m); shrink the grid or change `origin`")
        positions.append(pos)
    sigma = tuple(max(0.0, (step / file_step - 1.0) / 2.0) for step, file_step in zip(steps, spacing))
    if any(s > 0 for s in sigma):
        volume = ndimage.gaussian_filter(volume, sigma=sigma, mode="nearest")
    for axis, pos in enumerate(positions):
        volume = _interp_axis(volume, pos, axis)
    return volume.astype(np.float32)


def load_model3d(name: str, grid3d: Grid3D, seed: int = 0, data_dir: str | Path | None = None, *,
                 origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
                 window: tuple[float, float, float] | None = None, fallback: bool = True,
                 **generator_options) -> tuple[np.ndarray, str]:
    """A 3-D velocity model on ``grid3d`` and its note: ``(volume [nz, ny, nx] float32 m/s, note)``.

    * ``"thrust_fold3d"``: :func:`thrust_fold3d` (``seed``, ``generator_options``); the note
      begins ``"STAND-IN:"``.
    * ``"overthrust3d"``: the real volume when ``<data_dir>/models.json`` names one under
      ``overthrust3d`` (checked: 3-D, the manifest's shape, finite and positive, else ``ValueError``
      naming the file), sampled at the grid's nodes shifted by ``origin = (z0, y0, x0)`` metres --
      or, with ``window = (depth, y_width, x_width)`` metres, that region scaled onto the grid's
      nodes -- by the 2-D rule (Gaussian anti-alias of std ``(r - 1) / 2`` file samples when
      coarsening by ``r``, then trilinear interpolation); the note is ``""``. Without the file
      (no data directory, no manifest, no entry, entry ``null``, file missing) it falls back to the
      stand-in, whose note then says why; ``fallback=False`` raises instead.

    Args:
        name: one of :data:`MODELS3D`.
        grid3d: the target :class:`~crfwi.physics.geometry3d.Grid3D`.
        seed: seed of the stand-in (default 0).
        data_dir: data directory; default ``$CRFWI_DATA_DIR``.
        origin, window: where in the real volume the grid lies (real volume only).
        fallback: use the stand-in when the real volume is absent (default ``True``).
        **generator_options: ``n_layers``, ``n_faults``, ``low_velocity_layer`` of the stand-in.
    """
    if name not in MODELS3D:
        raise ValueError(f"unknown 3-D model {name!r}; valid names: {', '.join(MODELS3D)}")
    grid3d = _check_grid(grid3d)
    unknown = sorted(set(generator_options) - {"n_layers", "n_faults", "low_velocity_layer"})
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for 3-D model {name!r}; "
                         "valid: n_layers, n_faults, low_velocity_layer")
    if name == STAND_IN:
        if tuple(origin) != (0.0, 0.0, 0.0) or window is not None:
            raise ValueError(f"`origin` and `window` apply to the real volume, not to {STAND_IN!r}")
        return (thrust_fold3d(grid3d, seed=seed, **generator_options),
                _stand_in_note(grid3d, seed, ""))
    try:
        entry, path = _overthrust_entry(resolve_data_dir(data_dir))
    except DataAbsent as why:
        if not fallback:
            raise ValueError(f"the 3-D Overthrust volume is absent: {why}") from None
        return (thrust_fold3d(grid3d, seed=seed, **generator_options),
                _stand_in_note(grid3d, seed, f"{OVERTHRUST3D_KEY!r} absent: {why}"))
    if generator_options:
        raise ValueError(f"the real {OVERTHRUST3D_KEY!r} volume takes no generator options, "
                         f"got {unknown or sorted(generator_options)}")
    volume, spacing = _read_volume(entry, path)
    try:
        origin = tuple(float(v) for v in origin)
    except (TypeError, ValueError):
        raise ValueError(f"`origin` must be (z0, y0, x0) in metres, got {origin!r}") from None
    if len(origin) != 3 or not all(math.isfinite(v) and v >= 0 for v in origin):
        raise ValueError(f"`origin` must be three finite distances >= 0 m, got {origin!r}")
    steps = grid3d.spacing
    if window is not None:
        try:
            window = tuple(float(v) for v in window)
        except (TypeError, ValueError):
            raise ValueError(f"`window` must be (depth, y_width, x_width) in metres, "
                             f"got {window!r}") from None
        if len(window) != 3 or not all(math.isfinite(v) and v > 0 for v in window) \
                or min(grid3d.shape) < 2:
            raise ValueError(f"`window` must be three positive lengths and the grid at least "
                             f"2x2x2, got {window!r} on {grid3d.shape}")
        steps = tuple(w / (n - 1) for w, n in zip(window, grid3d.shape))
    return _resample3d(volume, spacing, grid3d.shape, steps, origin, path), ""


# --------------------------------------------------------------------------------------------
# Initial models
# --------------------------------------------------------------------------------------------
INITIAL_KINDS3D: tuple[str, ...] = ("smooth", "linear", "constant", "file")


def _check_volume(name: str, volume, grid3d: Grid3D) -> np.ndarray:
    volume = np.asarray(volume)
    if volume.dtype == bool or not (np.issubdtype(volume.dtype, np.integer)
                                    or np.issubdtype(volume.dtype, np.floating)):
        raise ValueError(f"`{name}` must hold real numbers (velocities in m/s), got dtype {volume.dtype}")
    if volume.shape != grid3d.shape:
        raise ValueError(f"`{name}` has shape {volume.shape} but the grid is {grid3d.shape} "
                         "[nz, ny, nx]")
    if not np.all(np.isfinite(volume)) or not np.all(volume > 0):
        raise ValueError(f"`{name}` must hold finite, positive velocities (m/s)")
    return volume.astype(np.float64)


def _velocity(name: str, value, default: float) -> float:
    value = default if value is None else float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive velocity in m/s, got {value!r}")
    return value


def initial_model3d(true, grid3d: Grid3D, kind: str, *,
                    sigma: float | tuple[float, float, float] = 250.0,
                    v_top: float | None = None, v_bottom: float | None = None,
                    value: float | None = None, constant: str = "mean",
                    path: str | Path | None = None) -> np.ndarray:
    """The 3-D initial model, ``[nz, ny, nx]`` float32 m/s; the 2-D definitions, one axis more.

    * ``"smooth"``: ``scipy.ndimage.gaussian_filter`` of the true volume, standard deviation
      ``sigma`` metres -- one length for all three axes or ``(sigma_z, sigma_y, sigma_x)`` --
      i.e. ``sigma / dz``, ``sigma / dy``, ``sigma / dx`` cells; edges replicated (``"nearest"``),
      truncated at 4 sigma. Default 250 m, as in 2-D (5 cells at the paper's 50 m).
    * ``"linear"``: ``v(z) = v_top + (v_bottom - v_top) * z / z_max`` in every column; defaults
      ``v_top = true.min()``, ``v_bottom`` = mean of the bottom depth slice.
    * ``"constant"``: ``value``, else the true volume's mean (``constant="mean"``, default) or
      minimum (``"minimum"``), as :data:`crfwi.models.zoo.CONSTANT_READINGS`.
    * ``"file"``: the ``.npy`` at ``path``, which must be ``grid3d.shape``, finite and positive.
    """
    if kind not in INITIAL_KINDS3D:
        raise ValueError(f"unknown initial model kind {kind!r}; valid kinds: "
                         f"{', '.join(INITIAL_KINDS3D)}")
    uses = {"smooth": (), "linear": ("v_top", "v_bottom"), "constant": ("value",),
            "file": ("path",)}[kind]
    given = {"v_top": v_top, "v_bottom": v_bottom, "value": value, "path": path}
    stray = [k for k, v in given.items() if v is not None and k not in uses]
    if stray:
        raise ValueError(f"{', '.join(f'`{k}`' for k in stray)} does not apply to initial model "
                         f"{kind!r}")
    if constant != "mean" and kind != "constant":
        raise ValueError(f"`constant` = {constant!r} applies to initial model 'constant', not {kind!r}")
    grid3d = _check_grid(grid3d)
    truth = _check_volume("true", true, grid3d)
    if kind == "smooth":
        lengths = (sigma,) * 3 if np.isscalar(sigma) else tuple(sigma)
        try:
            lengths = tuple(float(s) for s in lengths)
        except (TypeError, ValueError):
            raise ValueError(f"`sigma` must be a length or (z, y, x) lengths in m, got {sigma!r}") from None
        if len(lengths) != 3 or not all(math.isfinite(s) and s >= 0 for s in lengths):
            raise ValueError(f"`sigma` must be a length >= 0 m or three of them, got {sigma!r}")
        cells = tuple(s / d for s, d in zip(lengths, grid3d.spacing))
        m0 = ndimage.gaussian_filter(truth, sigma=cells, mode="nearest")
    elif kind == "linear":
        top = _velocity("v_top", v_top, float(truth.min()))
        bottom = _velocity("v_bottom", v_bottom, float(truth[-1].mean()))
        z_max = grid3d.extent[0]
        fraction = grid3d.z() / z_max if z_max > 0 else np.zeros(grid3d.nz)
        column = top + (bottom - top) * fraction
        m0 = np.broadcast_to(column[:, None, None], grid3d.shape)
    elif kind == "constant":
        if constant not in CONSTANT_READINGS:
            raise ValueError(f"`constant` must be one of {', '.join(CONSTANT_READINGS)}, "
                             f"got {constant!r}")
        m0 = np.full(grid3d.shape, _velocity("value", value, CONSTANT_READINGS[constant](truth)))
    else:
        loaded, file = read_initial_file(path, "[nz, ny, nx]")
        m0 = _check_volume(f"initial model in {file}", loaded, grid3d)
    return np.array(m0, dtype=np.float32)
