"""The model zoo: named velocity models (benchmark files and procedural generators) and initial models.

Every model is a numpy ``float32`` array ``[nz, nx]`` in m/s, depth first, its first sample at
z = 0 m, x = 0 m, on a :class:`~crfwi.physics.geometry.Grid`.

*Benchmark* models (Marmousi, Marmousi2, Overthrust, 2004 BP, SEG/EAGE Salt) are never shipped with
the package. They are read from a data directory -- the ``data_dir`` argument, else the environment
variable ``CRFWI_DATA_DIR`` -- that holds the ``.npy`` files and a ``models.json`` manifest
(name -> ``{file, shape, dz_m, dx_m, vmin, vmax, model, ...}``, or ``null`` for a model whose file
could not be obtained). See ``shared/models/PROVENANCE.md`` for where each file came from.

*Procedural* models (:mod:`crfwi.models.procedural`) are generated on any grid, deterministically per
``seed``; *OpenFWI maps* (:mod:`crfwi.models.openfwi`) are read from the data directory's stacks.

*Initial models* (:mod:`crfwi.models.initial_models`: ``smooth``, ``linear``, ``constant``, ``file``)
are re-exported here with the generators, so ``crfwi.models.zoo`` stays the one place to import from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from . import openfwi
from .datadir import DATA_DIR_ENV, MANIFEST, DataAbsent, manifest_entry, resolve_data_dir  # noqa: F401
from ..physics.geometry import Grid
from .initial_models import (CONSTANT_READINGS, INITIAL_KINDS, initial_model,  # noqa: F401
                             read_initial_file, water_mask)
from .procedural import (GENERATORS, V_MAX, V_MIN, WATER_VELOCITY, check_options,  # noqa: F401
                         curvefault, curvevel, faulted, flatfault, flatvel, layered, salt_body)

__all__ = [
    "ModelInfo",
    "resolve_data_dir",
    "list_models",
    "load_model",
    "fit_grid",
    "initial_model",
    "INITIAL_KINDS",
    "water_mask",
    "layered",
    "faulted",
    "salt_body",
    "flatvel",
    "curvevel",
    "flatfault",
    "curvefault",
]

_SALT_URL = ("https://s3.amazonaws.com/open.source.geoscience/open_data/seg_eage_models_cd/"
             "Salt_Model_3D.tar.gz")


@dataclass(frozen=True)
class ModelInfo:
    """What the zoo knows about one named model.

    Attributes:
        name: the name :func:`load_model` takes.
        kind: ``"benchmark"`` (a file in the data directory) or ``"procedural"`` (any grid).
        shape: ``(nz, nx)`` of the benchmark file per ``models.json``; ``None`` for procedural
            models and for benchmarks whose manifest is unavailable or lists them as absent.
        spacing: ``(dz, dx)`` in metres of the benchmark file; ``None`` where ``shape`` is.
        present: whether the model can be loaded now (procedural: always ``True``).
        description: one line about the model.
        source: the citation / origin line.
    """

    name: str
    kind: str
    shape: tuple[int, int] | None
    spacing: tuple[float, float] | None
    present: bool
    description: str
    source: str


# --------------------------------------------------------------------------------------------
# Data directory and benchmark registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Benchmark:
    key: str  # the entry in models.json
    description: str
    source: str
    stand_in: str | None = None  # a procedural model to suggest when the file is absent
    url: str | None = None  # where the original can be downloaded (see PROVENANCE.md)


_BENCHMARKS: dict[str, _Benchmark] = {
    "marmousi": _Benchmark(
        "marmousi", "Marmousi (IFP, 1988), acoustic, full 9.2 x 3.0 km at 20 m",
        "Versteeg (1994), The Leading Edge 13(9), 927-936; Versteeg & Grau (1991), EAEG workshop"),
    "marmousi2": _Benchmark(
        "marmousi2", "Marmousi2 P-wave velocity, full 17 x 3.5 km at 10 m, 450 m water layer",
        "Martin, Wiley & Marfurt (2006), The Leading Edge 25(2), 156-166; AGL, Univ. of Houston"),
    "overthrust": _Benchmark(
        "overthrust", "SEG/EAGE Overthrust, 2-D slice of the 3-D model, 20 x 4.65 km at 25 m",
        "Aminzadeh, Brac & Kunz (1997), SEG/EAGE 3-D Modeling Series No. 1; (c) 1997 SEG, CC BY 4.0"),
    "bp2004": _Benchmark(
        "bp2004", "2004 BP velocity benchmark, 30 km-wide crop with salt, nominal 50 m spacing",
        "Billette & Brandsberg-Dahl (2005), 67th EAGE Conference, B035; BP, terms in "
        "2004_Benchmark_READMES.pdf"),
    "salt": _Benchmark(
        "salt", "SEG/EAGE Salt, 2-D slice (file not available: use 'salt_body')",
        "Aminzadeh, Brac & Kunz (1997), SEG/EAGE 3-D Modeling Series No. 1; (c) 1997 SEG, CC BY 4.0",
        stand_in="salt_body", url=_SALT_URL),
}


def _entry(name: str, data_dir: Path | None) -> tuple[dict, Path]:
    """The manifest entry of benchmark ``name`` and the path of its file; raises when absent,
    saying what to do instead (the data directory, a procedural stand-in, a download)."""
    bench = _BENCHMARKS[name]
    try:
        return manifest_entry(data_dir, bench.key)
    except DataAbsent as why:
        alternatives = [f"use the procedural stand-in load_model({bench.stand_in!r}, grid)"
                        ] if bench.stand_in else []
        if bench.url:
            alternatives.append(f"download the original from {bench.url} (see PROVENANCE.md)")
        raise DataAbsent(f"benchmark model {name!r} is absent ({why})"
                         + (": " + ", or ".join(alternatives) if alternatives else "")) from None


def _read_benchmark(name: str, data_dir: Path | None) -> tuple[np.ndarray, Grid]:
    """The benchmark file as stored, validated against its manifest entry."""
    entry, path = _entry(name, data_dir)
    try:
        model = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read benchmark file {path}: {err}") from None
    expected = tuple(int(n) for n in entry["shape"])
    if model.ndim != 2:
        raise ValueError(f"benchmark file {path} must hold a 2-D [nz, nx] array, got shape {model.shape}")
    if model.shape != expected:
        raise ValueError(f"benchmark file {path} has shape {model.shape}, but {MANIFEST} says {expected}")
    if not np.all(np.isfinite(model)) or not np.all(model > 0):
        raise ValueError(f"benchmark file {path} must hold finite, positive velocities (m/s)")
    grid = Grid(expected[0], expected[1], float(entry["dz_m"]), float(entry["dx_m"]))
    return model.astype(np.float32, copy=False), grid


# --------------------------------------------------------------------------------------------
# Resampling a benchmark file onto a grid
# --------------------------------------------------------------------------------------------


def _interp_axis(a: np.ndarray, pos: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``a`` along ``axis`` at fractional sample positions ``pos``
    (any number of dimensions: zoo3d resamples volumes with it too)."""
    n = a.shape[axis]
    if n == 1:
        return np.take(a, np.zeros(len(pos), dtype=int), axis=axis)
    i0 = np.clip(np.floor(pos).astype(int), 0, n - 2)
    shape = [1] * a.ndim
    shape[axis] = len(pos)
    w = (pos - i0).reshape(shape)
    return (1.0 - w) * np.take(a, i0, axis=axis) + w * np.take(a, i0 + 1, axis=axis)


def _sample_positions(start: float, count: int, step: float, file_step: float, file_n: int,
                      ) -> np.ndarray | None:
    """Fractional file indices of ``count`` nodes from ``start`` metres; ``None`` if outside."""
    pos = (start + step * np.arange(count)) / file_step
    # Snap positions that are integers up to rounding, so coinciding nodes copy the file exactly.
    nearest = np.round(pos)
    pos = np.where(np.abs(pos - nearest) < 1e-6, nearest, pos)
    if pos[0] < 0 or pos[-1] > file_n - 1:
        return None
    return pos


def _resample(model: np.ndarray, file_grid: Grid, grid: Grid, origin: tuple[float, float],
              name: str) -> np.ndarray:
    z0, x0 = origin
    pz = _sample_positions(z0, grid.nz, grid.dz, file_grid.dz, file_grid.nz)
    px = _sample_positions(x0, grid.nx, grid.dx, file_grid.dx, file_grid.nx)
    if pz is None or px is None:
        depth, width = file_grid.extent
        raise ValueError(
            f"the requested window z = {z0:g} to {z0 + grid.extent[0]:g} m, "
            f"x = {x0:g} to {x0 + grid.extent[1]:g} m exceeds the extent of {name!r} "
            f"(z = 0 to {depth:g} m, x = 0 to {width:g} m); shrink the grid or move `origin`")
    data = model.astype(np.float64)
    # Anti-alias before decimating: a Gaussian whose std (in file samples) is (r - 1) / 2 for a
    # coarsening factor r = new spacing / file spacing, as scikit-image's rescale does. It is a
    # normalised positive kernel, so the result stays within the file's [vmin, vmax].
    sigma = tuple(max(0.0, (new / old - 1.0) / 2.0)
                  for new, old in ((grid.dz, file_grid.dz), (grid.dx, file_grid.dx)))
    if any(s > 0 for s in sigma):
        # Filter the whole file, not the window, so the window's edges see their real neighbours.
        data = ndimage.gaussian_filter(data, sigma=sigma, mode="nearest")
    data = _interp_axis(_interp_axis(data, pz, axis=0), px, axis=1)
    return data.astype(np.float32)


def _check_origin(origin: tuple[float, float]) -> tuple[float, float]:
    try:
        z0, x0 = (float(v) for v in origin)
    except (TypeError, ValueError):
        raise ValueError(f"`origin` must be a pair (z0, x0) in metres, got {origin!r}") from None
    if not (math.isfinite(z0) and math.isfinite(x0)) or z0 < 0 or x0 < 0:
        raise ValueError(f"`origin` must be finite and >= 0 m, got {origin!r}")
    return z0, x0


# --------------------------------------------------------------------------------------------
# Public model-zoo API
# --------------------------------------------------------------------------------------------


def _known_names() -> list[str]:
    return [*_BENCHMARKS, *GENERATORS]


def _check_name(name: str) -> str:
    if openfwi.is_map_name(name):
        openfwi.parse_map_name(name)  # the form only; the family is checked when it is read
        return name
    if name not in _BENCHMARKS and name not in GENERATORS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(_known_names())}, "
                         "or an OpenFWI map openfwi:<family>:<k>")
    return name


def list_models(data_dir: str | Path | None = None) -> list[ModelInfo]:
    """Every named model, benchmarks first, then procedural generators.

    Args:
        data_dir: benchmark data directory; default ``$CRFWI_DATA_DIR``. Without one (or without
            its ``models.json``) benchmarks are listed with ``present=False`` and no shape.
    """
    root = resolve_data_dir(data_dir)
    infos = []
    for name, bench in _BENCHMARKS.items():
        shape = spacing = None
        present = False
        try:
            entry, _ = _entry(name, root)
        except ValueError:
            # Absent or unreadable: still list it, with what the manifest says if it says anything.
            entry = None
        else:
            present = True
        if entry is not None:
            shape = (int(entry["shape"][0]), int(entry["shape"][1]))
            spacing = (float(entry["dz_m"]), float(entry["dx_m"]))
        infos.append(ModelInfo(name, "benchmark", shape, spacing, present, bench.description,
                               bench.source))
    for name, proc in GENERATORS.items():
        infos.append(ModelInfo(name, "procedural", None, None, True, proc.description, proc.source))
    return infos


def load_model(name: str, grid: Grid | None = None, *, data_dir: str | Path | None = None,
               seed: int = 0, origin: tuple[float, float] = (0.0, 0.0),
               window: tuple[float, float] | None = None,
               **generator_options) -> tuple[np.ndarray, Grid]:
    """A named velocity model and its grid: ``(model [nz, nx] float32 m/s, grid)``.

    Procedural models (``layered``, ``faulted``, ``salt_body``, ``flatvel``, ``curvevel``,
    ``flatfault``, ``curvefault``) need ``grid`` and return ``generator(grid, seed=seed,
    **generator_options)``; ``origin`` does not apply to them.

    OpenFWI maps (``openfwi:<family>:<k>``, :mod:`crfwi.models.openfwi`) are read from the data
    directory's stacks on their own 10 m grid (``grid`` may be given only if it is that grid).

    Benchmark models (``marmousi``, ``marmousi2``, ``overthrust``, ``bp2004``, ``salt``) are read
    from ``<data_dir>/<file>`` as listed in ``<data_dir>/models.json``; the file is checked to be
    2-D, finite, positive and of the manifest's shape.

    * ``grid=None``: the file as stored, with ``Grid(nz, nx, dz_m, dx_m)`` from the manifest.
    * with ``grid``: the file sampled at the grid's nodes shifted by ``origin = (z0, x0)`` metres,
      i.e. node (i, j) takes the value at depth ``z0 + i * grid.dz`` and position
      ``x0 + j * grid.dx`` -- a crop and a resampling in one step. The window
      ``origin + grid.extent`` must lie within the file's extent. Method, per axis with file
      spacing ``d`` and new spacing ``D``: when coarsening (``r = D / d > 1``) the *whole file* is
      first smoothed by a Gaussian of standard deviation ``(r - 1) / 2`` file samples (the
      anti-alias rule of ``skimage.transform.rescale``), edges replicated; then values are
      interpolated linearly (separably, bilinear) at the node positions. Refining or keeping the
      spacing uses no filter, so nodes that coincide with file samples copy them exactly. The
      result stays within the file's [vmin, vmax].
    * with ``grid`` and ``window = (depth, width)`` metres: the file region ``origin`` to
      ``origin + window`` resampled (as above) onto the grid's ``nz × nx`` nodes, whatever the
      grid's spacing: the geology is *scaled* by ``grid.extent / window``. This is how the paper's
      grids relate to the files (e.g. its 94 × 288 Marmousi at 15 m is the whole 9.2 × 3 km model
      taken every 8th sample; see :mod:`crfwi.presets`).

    Args:
        name: a model name (see :func:`list_models`).
        grid: the target grid; required for procedural models.
        data_dir: benchmark data directory; default ``$CRFWI_DATA_DIR``.
        seed: seed of a procedural generator (default 0); unused by benchmarks.
        origin: ``(z0, x0)`` in metres of the window's first node in the benchmark file;
            default ``(0, 0)``.
        window: ``(depth, width)`` in metres of the file mapped onto ``grid`` (scaled), or
            ``None`` (default): the grid's own extent at its own spacing.
        **generator_options: options of the procedural generator (e.g. ``n_layers``).
    """
    _check_name(name)
    if openfwi.is_map_name(name):
        if generator_options or tuple(origin) != (0.0, 0.0) or window is not None:
            raise ValueError(f"OpenFWI map {name!r} is used as stored: it takes no options, "
                             "`origin` or `window`")
        model, map_grid = openfwi.load_map(name, data_dir)
        if grid is not None and grid != map_grid:
            raise ValueError(f"OpenFWI map {name!r} lies on {map_grid.nz} x {map_grid.nx} nodes "
                             f"at {map_grid.dz:g} m; its grid cannot be changed (got {grid.nz} x "
                             f"{grid.nx} at {grid.dz:g} m)")
        return model, map_grid
    if name in GENERATORS:
        if grid is None:
            raise ValueError(f"procedural model {name!r} needs a `grid` (any size), "
                             "e.g. grid=Grid(nz=94, nx=288, dz=15.0)")
        if tuple(origin) != (0.0, 0.0) or window is not None:
            raise ValueError(f"`origin` and `window` apply to benchmark files only, not to "
                             f"procedural model {name!r}")
        fn = GENERATORS[name].fn
        check_options(name, fn, generator_options)
        return fn(grid, seed=seed, **generator_options), grid
    if generator_options:
        raise ValueError(f"benchmark model {name!r} takes no generator options, "
                         f"got {sorted(generator_options)}")
    z0, x0 = _check_origin(origin)
    model, file_grid = _read_benchmark(name, resolve_data_dir(data_dir))
    if grid is None:
        if (z0, x0) != (0.0, 0.0):
            raise ValueError("`origin` needs a `grid` that says the window's size and spacing")
        return model, file_grid
    if not isinstance(grid, Grid):
        raise ValueError(f"`grid` must be a crfwi.physics.geometry.Grid, got {type(grid).__name__}")
    if window is None:
        return _resample(model, file_grid, grid, (z0, x0), name), grid
    try:
        depth, width = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"`window` must be a pair (depth, width) in metres, got {window!r}") from None
    if not (depth > 0 and width > 0 and math.isfinite(depth) and math.isfinite(width)):
        raise ValueError(f"`window` must be positive and finite, got {window!r}")
    if grid.nz < 2 or grid.nx < 2:
        raise ValueError("a scaled `window` needs a grid of at least 2 x 2 nodes")
    # Sample the window at the spacing that puts nz x nx nodes on it, then relabel with `grid`.
    sampling = Grid(grid.nz, grid.nx, depth / (grid.nz - 1), width / (grid.nx - 1))
    return _resample(model, file_grid, sampling, (z0, x0), name), grid


def fit_grid(name: str, *, spacing: float | tuple[float, float], nz: int | None = None,
             nx: int | None = None, data_dir: str | Path | None = None) -> Grid:
    """A grid at ``spacing`` metres (``dz`` or ``(dz, dx)``) over benchmark ``name``.

    Default ``nz`` / ``nx``: as many nodes as fit within the file's extent from 0 m, i.e.
    ``floor(extent / spacing) + 1``. Given ``nz`` / ``nx`` must fit within the extent too.
    Use it with :func:`load_model` (``grid=...``, ``origin=...``).
    """
    _check_name(name)
    if name in GENERATORS:
        raise ValueError(f"fit_grid needs a benchmark model; procedural model {name!r} fits any grid")
    dz, dx = (spacing, spacing) if np.isscalar(spacing) else tuple(spacing)
    entry, _ = _entry(name, resolve_data_dir(data_dir))
    depth = (int(entry["shape"][0]) - 1) * float(entry["dz_m"])
    width = (int(entry["shape"][1]) - 1) * float(entry["dx_m"])
    probe = Grid(1, 1, dz, dx)  # validates the spacing
    counts = []
    for label, given, extent, step in (("nz", nz, depth, probe.dz), ("nx", nx, width, probe.dx)):
        most = int(math.floor(extent / step + 1e-9)) + 1
        if given is not None and int(given) > most:
            raise ValueError(f"`{label}` = {given} at {step:g} m exceeds the extent of {name!r} "
                             f"(0 to {extent:g} m, at most {most} nodes)")
        counts.append(most if given is None else int(given))
    return Grid(counts[0], counts[1], probe.dz, probe.dx)
