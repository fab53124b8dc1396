"""``crfwi make-data``: an elastic stand-in for the 2014 Chevron blind test (PAPER.md §4.2).

The Chevron data are licensed; this writes a line with the same difficulties, to be inverted
with the field workflow as if it were a survey (what was measured to choose each, in brackets):

* **elastic data, acoustic inversion**: ``deepwave.elastic`` on Marmousi2's Vp, Vs by Castagna's
  mudrock line, density by Gardner (:func:`elastic_parameters`), inverted by crfwi's
  constant-density acoustic solver: converted waves, AVO and density contrasts are in the data
  and in no model crfwi fits;
* **water is a fluid** (Vs = 0, rho = 1000; deepwave's "ivm" method takes fluid cells). The
  standard C-PML next to it grows without bound after ~30 s (20 cells) or ~60 s (40 cells),
  with or without 300 m/s of Vs in the water, and deepwave's FFT resampling then spoils even
  the first seconds; the multiaxial PML (0.05, 30 cells) decays to 1e-4 by 100 s and changes
  an 8 s record by 1 % against a 40-cell C-PML [cpu scale];
* **free surface** by the improved vacuum method: vacuum rows on top, whose pressure-release
  plane lies half a cell above the first fluid row [measured], the datum: rows sit at (k + 1/2) h;
* **towed streamer**: the spread moves with the shot, offsets on one side, hydrophones recording
  **pressure** (channel ``p``: in water -(sxx + syy)/2 is the pressure, what the acoustic solver
  models; no proxy needed); channels between nodes by Hicks interpolation [0.2 % from a spline];
* **not a Ricker**: a minimum-phase airgun-like wavelet, little energy below ``f_low``;
  white Gaussian **noise**, ``noise`` x the clean data's standard deviation, seeded;
* a **1-D initial model** (``initial_1d.csv``): water, then the line fitted to the **well log**
  (``well.csv``, the simulated Vp at ``well_x``) below the seabed, which ``field.toml`` (the
  matching field run) builds with ``initial.kind = "linear"`` and ``field.water_depth``;
  ``truth_vp.npy`` on its grid is for :func:`score_against_truth` only.

Sources and receivers lie one inversion cell d below the sea surface (Chevron's 15 m is no depth a
25 m acoustic grid represents), and ``field.toml`` puts row 0 at depth d, as deepwave.scalar's
pressure-release plane lies one cell above row 0 [measured]: both solvers see the same ghosts.
``wavelet.npy`` is the wavelet for the acoustic solver on that grid: the elastic source is its
pressure-rate equivalent (:func:`pressure_rate_source`, checked in water on every run), and the
file is scaled by (h / d)^2 (h the modelling spacing), as deepwave injects a source per cell.

Scales: ``paper`` keeps Chevron's acquisition (shots 150 m apart, channels every 25 m, 8 km
offsets, 4 ms, 8 s, a 3-12 Hz source) on the whole 17 x 3.5 km Marmousi2, simulated on its own
10 m grid, inverted at 25 m; ``cpu`` multiplies lengths by 3 and divides frequencies by 3 (the
presets' rule: the same cells per wavelength; geology and offsets stay in metres).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import scipy.signal
import torch

from ..physics import signal
from ..analysis import metrics
from ..models import zoo
from ..physics.geometry import Grid

__all__ = ["MakeDataSpec", "SCALES", "spec_for", "elastic_parameters", "airgun_wavelet",
           "pressure_rate_source", "peak_frequency", "energy_below", "streamer", "make_data",
           "score_against_truth"]

CASTAGNA = (0.8621, -1172.0)  # Vs = a Vp + b (m/s): Castagna et al. 1985, mudrock line
GARDNER = (310.0, 0.25)  # rho = a Vp^b (kg/m^3, Vp in m/s): Gardner et al. 1974
WATER_DENSITY = 1000.0
VACUUM_ROWS = 2  # one suffices (measured: the surface does not move with more)
S_POINTS = 3.0  # grid points per S wavelength at 1.5 f_high: the Vs floor (8th-order stencil)
MAX_VS_RATIO = 0.7  # Vs <= 0.7 Vp keeps lambda > 0 where the floor lifts Vs
PHYSICS = {  # make_data.json's summary of the modelling (module docstring: why)
    "free_surface": f"{VACUUM_ROWS} vacuum rows (improved vacuum); rows at (k + 1/2) h",
    "water": "fluid: vs = 0, rho = 1000", "recorded": "pressure (p), streamer on the -x side",
    "wavelet": "spikes 1, r, r^2 at 0, T, 2T; causal order-6 Butterworth high- and low-pass",
    "source": "pressure_rate = -v_w^2 integral(w), internal_dt / 2 early",
    "noise": "white Gaussian, numpy default_rng(seed), k x the clean data's std"}


@dataclass(frozen=True)
class MakeDataSpec:
    """Every parameter of a line (metres, seconds, Hz). ``spacing``: the elastic grid;
    ``inversion_spacing``: field.toml's grid, and the source and receiver depth; ``window`` =
    (depth, width) of the model from x = ``x0``; ``n_shots`` 0 = every shot that fits, else that
    many spread evenly; ``vs_min`` 0 = S_POINTS x spacing x 1.5 f_high."""

    scale: str
    spacing: float
    inversion_spacing: float
    dt: float
    f_low: float
    f_high: float
    bubble_period: float
    shot_spacing: float
    receiver_spacing: float
    near_offset: float
    record_length: float = 8.0
    max_offset: float = 8100.0
    well_x: float = 12000.0
    window: tuple[float, float] = (3500.0, 17000.0)
    x0: float = 0.0
    edge_margin: float = 500.0
    bubble_ratio: float = 0.25
    noise: float = 0.1
    seed: int = 0
    n_shots: int = 0
    vs_min: float = 0.0
    pml_width: int = 30
    mpml_fraction: float = 0.05
    model: str = "marmousi2"

    @property
    def nt(self) -> int:
        return int(round(self.record_length / self.dt)) + 1

    @property
    def bands(self) -> list[float]:
        """MS-FWI bands: the paper's 3, 5, ... 11 Hz scaled like the source (f_low / 3 Hz)."""
        return [round(self.f_low * b / 3.0, 4) for b in (3, 5, 7, 9, 11)]


SCALES = {"paper": MakeDataSpec("paper", 10.0, 25.0, 0.004, 3.0, 12.0, 0.12, 150.0, 25.0, 100.0),
          "cpu": MakeDataSpec("cpu", 30.0, 75.0, 0.012, 1.0, 4.0, 0.36, 450.0, 75.0, 300.0)}


def spec_for(scale: str = "cpu", **changes) -> MakeDataSpec:
    """The named scale with ``changes`` (None = keep); ValueError (one line) for a value that
    cannot work."""
    if scale not in SCALES:
        raise ValueError(f"make-data: unknown scale {scale!r}; valid: {', '.join(SCALES)}")
    unknown = sorted(set(changes) - set(MakeDataSpec.__dataclass_fields__))
    if unknown:
        raise ValueError(f"make-data: unknown parameter {unknown[0]!r}")
    spec = replace(SCALES[scale], **{k: v for k, v in changes.items() if v is not None})
    for name in ("spacing", "inversion_spacing", "dt", "record_length", "f_low", "f_high",
                 "shot_spacing", "receiver_spacing", "max_offset", "bubble_period"):
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e30:
            raise ValueError(f"make-data: {name} must be a positive number, got {value!r}")
    h = spec.spacing
    checks = [
        (0 <= spec.noise < math.inf, f"noise must be >= 0, got {spec.noise!r}"),
        (type(spec.seed) is int and spec.seed >= 0, f"seed must be an integer >= 0: {spec.seed!r}"),
        (type(spec.n_shots) is int and spec.n_shots >= 0, f"shots must be >= 0: {spec.n_shots!r}"),
        (0 <= spec.bubble_ratio < 1, f"bubble_ratio must be in [0, 1), got {spec.bubble_ratio!r}"),
        (spec.vs_min >= 0, f"vs_min must be >= 0, got {spec.vs_min!r}"),
        (0 <= spec.mpml_fraction < 1, f"mpml_fraction must be in [0, 1): {spec.mpml_fraction!r}"),
        (type(spec.pml_width) is int and spec.pml_width > 0, "pml_width must be an integer > 0"),
        (spec.f_low < spec.f_high < 0.4 / spec.dt,
         f"need f_low < f_high < 0.4/dt = {0.4 / spec.dt:g} Hz: {spec.f_low:g}, {spec.f_high:g}"),
        (1500.0 / (1.5 * spec.f_high * h) >= 4.0,
         f"spacing {h:g} m gives < 4 points per wavelength in water at 1.5 x f_high"),
        (0 <= spec.near_offset < spec.max_offset, "need 0 <= near_offset < max_offset"),
        (spec.nt >= 2, f"record_length {spec.record_length:g} s is shorter than two samples"),
        (abs(spec.inversion_spacing / h - 0.5 - round(spec.inversion_spacing / h - 0.5)) < 1e-6,
         f"inversion_spacing {spec.inversion_spacing:g} m (the source depth) must be (k + 1/2) x "
         f"spacing {h:g} m, a row of the elastic grid"),
    ]
    for name in ("shot_spacing", "near_offset", "x0", "well_x"):
        ratio = getattr(spec, name) / h
        checks.append((abs(ratio - round(ratio)) < 1e-6,
                       f"{name} = {getattr(spec, name):g} m is not a multiple of spacing {h:g} m"))
    for ok, text in checks:
        if not ok:
            raise ValueError(f"make-data: {text}")
    return spec


# ------------------------------------------------------------------------------------------------
def elastic_parameters(vp: np.ndarray, water: np.ndarray, vs_min: float
                       ) -> tuple[np.ndarray, np.ndarray, dict]:
    """(Vs, rho, record) for ``vp`` [nz, nx] (m/s) and its ``water`` cells: water is a fluid
    (Vs = 0, rho = 1000); rock Vs by Castagna raised to ``vs_min`` (the grid must sample S
    waves) and capped at 0.7 Vp, rho by Gardner. The record says how many rock cells the floor
    and the cap changed."""
    vp = np.asarray(vp, np.float64)
    castagna = CASTAGNA[0] * vp + CASTAGNA[1]
    raised = np.maximum(castagna, vs_min)
    vs = np.where(water, 0.0, np.minimum(raised, MAX_VS_RATIO * vp))
    rho = np.where(water, WATER_DENSITY, GARDNER[0] * vp ** GARDNER[1])
    rock = ~np.asarray(water)
    share = lambda m: float(m[rock].mean()) if rock.any() else 0.0  # noqa: E731
    return vs.astype(np.float32), rho.astype(np.float32), {
        "vs": f"Castagna: Vs = {CASTAGNA[0]} Vp {CASTAGNA[1]:+g} m/s, at least vs_min, at most "
              f"{MAX_VS_RATIO} Vp; 0 in water",
        "rho": f"Gardner: rho = {GARDNER[0]:g} Vp^{GARDNER[1]} kg/m^3; {WATER_DENSITY:g} in water",
        "vs_min": vs_min, "rock_cells_raised_to_vs_min": share(castagna < vs_min),
        "rock_cells_capped": share(raised > MAX_VS_RATIO * vp)}


def airgun_wavelet(dt: float, nt: int, f_low: float, f_high: float, bubble_period: float,
                   bubble_ratio: float = 0.25) -> np.ndarray:
    """A minimum-phase airgun-like signature [nt]: spikes 1, r, r^2 at 0, T, 2T (the primary and
    two bubble pulses; minimum phase as r < 1) through causal Butterworth filters, high-pass at
    ``f_low`` (order 6: little energy below it) and low-pass at ``f_high`` (order 6); peak 1."""
    spikes = np.zeros(nt)
    for k in range(3):
        if round(k * bubble_period / dt) < nt:
            spikes[int(round(k * bubble_period / dt))] += bubble_ratio ** k
    for cutoff, kind in ((f_low, "highpass"), (f_high, "lowpass")):
        spikes = scipy.signal.sosfilt(scipy.signal.butter(6, cutoff, kind, fs=1 / dt, output="sos"),
                                      spikes)
    return spikes / np.abs(spikes).max()


def pressure_rate_source(wavelet: np.ndarray, dt: float, velocity: float,
                         internal_dt: float) -> np.ndarray:
    """``pressure_rate`` amplitudes whose elastic pressure in a fluid of ``velocity`` equals
    deepwave.scalar's wavefield for ``wavelet`` on the same grid: -v^2 * integral(w), half an
    *internal* step early (measured transfer elastic/scalar = -i omega / v^2, delayed by
    internal_dt / 2, for any density; internal_dt = dt / deepwave's step ratio)."""
    n = 2 * len(wavelet)
    omega = 2 * np.pi * np.fft.rfftfreq(n, dt)[1:]
    spectrum = np.fft.rfft(wavelet, n)
    spectrum[0] = 0.0
    spectrum[1:] *= -velocity ** 2 / (1j * omega) * np.exp(0.5j * omega * internal_dt)
    return np.fft.irfft(spectrum, n)[:len(wavelet)]


def peak_frequency(wavelet: np.ndarray, dt: float) -> float:
    """Frequency (Hz) of the amplitude spectrum's peak, zero-padded to a 0.01/dt Hz grid."""
    n = max(len(wavelet), int(100 / dt))
    return float(np.fft.rfftfreq(n, dt)[np.argmax(np.abs(np.fft.rfft(wavelet, n)))])


def energy_below(data, dt: float, frequency: float) -> float:
    """Share of the energy of ``data`` (time last) below ``frequency`` Hz."""
    power = np.abs(np.fft.rfft(np.asarray(data, np.float64), axis=-1)) ** 2
    power = power.reshape(-1, power.shape[-1]).sum(axis=0)
    return float(power[np.fft.rfftfreq(np.shape(data)[-1], dt) < frequency].sum() / power.sum())


def _nodes(length: float, step: float) -> int:
    """Nodes every ``step`` from 0 to at most ``length``."""
    return int(math.floor(length / step + 1e-9)) + 1


def streamer(spec: MakeDataSpec, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Source x [S] and receiver x [S, R] (m from the window's left edge): the vessel sails to
    +x, the streamer behind it (offsets near_offset to max_offset on the -x side); shots on the
    shot_spacing lattice whose whole spread lies edge_margin inside the window."""
    step = spec.receiver_spacing
    offsets = spec.near_offset + step * np.arange(_nodes(spec.max_offset - spec.near_offset, step))
    first = math.ceil((offsets[-1] + spec.edge_margin) / spec.shot_spacing - 1e-9)
    last = math.floor((width - spec.edge_margin) / spec.shot_spacing + 1e-9)
    if last < first:
        raise ValueError(f"make-data: no shot fits: the spread ({offsets[-1]:g} m) and edge "
                         f"margins ({spec.edge_margin:g} m) exceed the window's width {width:g} m")
    shots = spec.shot_spacing * np.arange(first, last + 1)
    if spec.n_shots:
        if spec.n_shots > len(shots):
            raise ValueError(f"make-data: shots = {spec.n_shots} but only {len(shots)} fit")
        shots = shots[signal.decimate_shots(len(shots), spec.n_shots)]
    return shots, shots[:, None] - offsets[None, :]


# ------------------------------------------------------------------------------------------------
def _earth(spec: MakeDataSpec, data_dir) -> tuple[np.ndarray, np.ndarray, Grid]:
    """Vp on the elastic grid (rows at depth (k + 1/2) h; crfwi.models.zoo's resampling) and its water
    cells: above the file's seabed (its first non-water sample per column, less half a sample),
    set to the water velocity exactly."""
    (depth, width), h = spec.window, spec.spacing
    grid = Grid(_nodes(depth - h / 2, h), _nodes(width, h), h)
    vp, _ = zoo.load_model(spec.model, grid, data_dir=data_dir, origin=(h / 2, spec.x0))
    file, file_grid = zoo.load_model(spec.model, data_dir=data_dir)
    v_water = float(file[0].min())
    seabed = (np.argmax(file > v_water + 1e-3, axis=0) - 0.5) * file_grid.dz
    columns = np.round((spec.x0 + grid.x()) / file_grid.dx).astype(int).clip(0, file_grid.nx - 1)
    water = (h / 2 + grid.z())[:, None] < seabed[columns][None, :]
    return np.where(water, v_water, vp).astype(np.float32), water, grid


def _simulate(vp, vs, rho, spec: MakeDataSpec, sx, rx, wavelet, v_water: float, device,
              progress=False, *, surface: bool = True, max_vel: float | None = None):
    """(pressure [S, R, nt], the run's facts) from deepwave.elastic. ``surface``: VACUUM_ROWS of
    vacuum on top, else PML all round. ``max_vel`` None: deepwave's density-aware bound. A
    two-sample call first asks deepwave for its internal step, which the source needs."""
    import deepwave

    top, h = (VACUUM_ROWS if surface else 0), spec.spacing
    pad = lambda a: np.concatenate([np.zeros((top, a.shape[1]), np.float32), a])  # noqa: E731
    lam, mu, buoy = deepwave.vpvsrho_to_lambmubuoyancy(
        *(torch.as_tensor(pad(a), dtype=torch.float32, device=device) for a in (vp, vs, rho)))
    row = top + round(spec.inversion_spacing / h - 0.5)
    src = torch.as_tensor(np.stack([np.full(len(sx), row), np.round(sx / h)], -1)[:, None],
                          dtype=torch.long, device=device)
    rec = torch.as_tensor(np.stack([np.full(rx.shape, row), rx / h], -1), dtype=torch.float32,
                          device=device)  # on a node: exact; between nodes: Hicks
    f_peak = peak_frequency(wavelet, spec.dt)
    options = dict(accuracy=8, pml_width=[0 if surface else spec.pml_width] + [spec.pml_width] * 3,
                   boundary=(["rigid"] if surface else ["pml"]) + ["pml"] * 3, pml_freq=f_peak,
                   mpml_fraction=spec.mpml_fraction if surface else 0.0)

    def run(amplitudes, a, b, max_vel):
        with torch.no_grad():
            return deepwave.elastic(lam, mu, buoy, h, spec.dt, max_vel=max_vel, **options,
                                    source_amplitudes_pressure_rate=amplitudes,
                                    source_locations_pressure_rate=src[a:b],
                                    receiver_locations_p=rec[a:b])

    info = run(torch.zeros(1, 1, 2, device=device), 0, 1, max_vel).info
    source = torch.as_tensor(pressure_rate_source(wavelet, spec.dt, v_water, info.internal_dt),
                             dtype=torch.float32, device=device)[None, None]
    parts = []
    for a in range(0, len(sx), 4):
        b = min(a + 4, len(sx))
        out = run(source.expand(b - a, 1, -1).contiguous(), a, b, info.max_vel)
        parts.append(out.receiver_amplitudes_p.cpu().double().numpy())
        if progress:
            print(f"make-data: {b}/{len(sx)} shots", flush=True)
    return np.concatenate(parts), {"internal_dt": info.internal_dt, "step_ratio": info.step_ratio,
                                   "max_vel": info.max_vel, "pml_freq": f_peak,
                                   "receivers": out.info.location_interpolation_used}


def _calibration(spec: MakeDataSpec, wavelet, v_water: float, max_vel: float, device) -> float:
    """Relative L2 difference, in water with PML all round on the line's grid and internal step,
    between the elastic pressure of :func:`pressure_rate_source` and deepwave.scalar's wavefield
    of the wavelet: how well the wavelet stands for the elastic source in the acoustic solver."""
    import deepwave

    n, h = 30, spec.spacing
    ones = np.ones((n, 2 * n), np.float32)
    p, facts = _simulate(v_water * ones, 0 * ones, WATER_DENSITY * ones, spec, np.array([15 * h]),
                         np.array([[30 * h, 40 * h]]), wavelet, v_water, device, surface=False,
                         max_vel=max_vel)
    row = round(spec.inversion_spacing / h - 0.5)
    with torch.no_grad():
        q = deepwave.scalar(
            torch.as_tensor(v_water * ones, device=device), h, spec.dt, accuracy=8,
            source_amplitudes=torch.tensor(wavelet, dtype=torch.float32, device=device)[None, None],
            source_locations=torch.tensor([[[row, 15]]], device=device),
            receiver_locations=torch.tensor([[[row, 30], [row, 40]]], device=device),
            pml_width=spec.pml_width, pml_freq=facts["pml_freq"], max_vel=max_vel)
    q = q.receiver_amplitudes.cpu().double().numpy()
    return float(np.linalg.norm(p - q) / np.linalg.norm(q))


# ------------------------------------------------------------------------------------------------
def _well_and_trend(vp, water, grid: Grid, spec: MakeDataSpec):
    """The log at well_x (depths, Vp), the seabed depth there, and the line a + b z fitted to the
    log below the seabed (least squares)."""
    column = int(round((spec.well_x - spec.x0) / grid.dx))
    if not 0 <= column < grid.nx:
        raise ValueError(f"make-data: well_x = {spec.well_x:g} m lies outside the window")
    depth, log, wet = grid.dz / 2 + grid.z(), vp[:, column].astype(np.float64), water[:, column]
    if (~wet).sum() < 2:
        raise ValueError(f"make-data: the well at {spec.well_x:g} m has fewer than 2 rock samples")
    seabed = float(depth[wet].max() + grid.dz / 2) if wet.any() else 0.0
    slope, intercept = np.polyfit(depth[~wet], log[~wet], 1)
    return depth, log, seabed, (float(intercept), float(slope))


def _config(spec: MakeDataSpec, grid: Grid, trend, seabed: float, bounds, f_peak: float,
            v_water: float, commands: list[str]) -> str:
    """field.toml: the field run of this line (run from the output folder)."""
    d = grid.dz
    top, bottom = (trend[0] + trend[1] * z for z in (d, d * grid.nz))
    return "\n".join([
        f"# Chevron-2014-style field run on `crfwi make-data` output ({spec.scale} scale). Run it",
        "# from this folder, as in PAPER.md 4.2 (make_data.json lists the commands):",
        *(f"#   {c}" for c in commands),
        f'name = "chevron-like-{spec.scale}"',
        f'note = "elastic stand-in for the 2014 Chevron blind test ({spec.model}), inverted '
        'acoustically"',
        "[model]           # the inversion grid",
        f"nz = {grid.nz}\nnx = {grid.nx}\nspacing = {d!r}",
        "[survey]",
        f"freq = {f_peak:.3g}      # the wavelet's peak frequency (PML, grid check)",
        "[initial]         # = initial_1d.csv: water above the seabed, the well's line below",
        f'kind = "linear"\nv_top = {top:.1f}   # the line at row 0 ({d:g} m)',
        f"v_bottom = {bottom:.1f}",
        "[inversion]",
        'method = "pixel"\niterations = 500',
        f"vmin = {bounds[0]:.0f}   # 0.9 x / 1.1 x the well log's range",
        f"vmax = {bounds[1]:.0f}\nfix_water = true",
        "[field]",
        'data = "data.sgy"\nwavelet = "wavelet.npy"   # for this grid spacing',
        "# row 0 one cell below the datum: deepwave.scalar's free surface is one cell above it",
        f"origin = [{d!r}, {spec.x0!r}]",
        f'well_log = "well.csv"\nwell_x = {spec.well_x!r}',
        "keep_best_well = true   # best_well_model.npy: the model that fits the log best on the way",
        f"water_depth = {seabed!r}\nwater_velocity = {v_water!r}", ""])


def make_data(out: str | Path, spec: MakeDataSpec, *, data_dir=None, device: str = "cpu",
              progress: bool = False) -> dict:
    """Write the line of ``spec`` into the new folder ``out`` (module docstring) and return
    ``make_data.json``'s record. ValueError (one line), before anything is written, when ``out``
    holds files or the inputs cannot work."""
    from ..physics.solver import resolve_device
    from .acquisition import FieldData
    from .segy import write_data_segy

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"make-data: {out} exists and is not an empty folder; choose a new one")
    device, start = resolve_device(device), time.perf_counter()
    vp, water, grid = _earth(spec, data_dir)
    vs, rho, relations = elastic_parameters(
        vp, water, spec.vs_min or S_POINTS * spec.spacing * 1.5 * spec.f_high)
    sx, rx = streamer(spec, (grid.nx - 1) * grid.dx)
    row, d = round(spec.inversion_spacing / spec.spacing - 0.5), spec.inversion_spacing
    if not (water[row, np.round(sx / grid.dx).astype(int)].all()
            and water[row, np.round(rx / grid.dx).astype(int)].all()):
        raise ValueError(f"make-data: a source or receiver at {d:g} m depth is not in water")
    depth, log, seabed, trend = _well_and_trend(vp, water, grid, spec)
    inv = Grid(_nodes(spec.window[0] - d, d), _nodes(spec.window[1], d), d)
    truth, _ = zoo.load_model(spec.model, inv, data_dir=data_dir, origin=(d, spec.x0))
    v_water = float(vp[water].max()) if water.any() else 1500.0
    wavelet = airgun_wavelet(spec.dt, spec.nt, spec.f_low, spec.f_high, spec.bubble_period,
                             spec.bubble_ratio)
    clock = {"setup": time.perf_counter() - start}
    clean, facts = _simulate(vp, vs, rho, spec, sx, rx, wavelet, v_water, device, progress)
    clock["elastic"] = time.perf_counter() - start - clock["setup"]
    if not np.isfinite(clean).all():
        raise FloatingPointError("make-data: the elastic simulation produced NaN or inf")
    data = signal.add_noise(clean, k=spec.noise, seed=spec.seed)
    calibration = _calibration(spec, wavelet, v_water, facts["max_vel"], device)

    out.mkdir(parents=True, exist_ok=True)
    write_data_segy(out / "data.sgy", FieldData.from_arrays(
        data, dt=spec.dt, source_inline=spec.x0 + sx, receiver_inline=spec.x0 + rx,
        source_depth=d, receiver_depth=d, name="data.sgy"))
    np.save(out / "wavelet.npy", wavelet * (spec.spacing / d) ** 2)
    np.save(out / "truth_vp.npy", truth)
    np.savez_compressed(out / "elastic_model.npz", vp=vp, vs=vs, rho=rho, water=water)
    initial = np.where(depth < seabed, v_water, trend[0] + trend[1] * depth)
    for name, column in (("well.csv", log), ("initial_1d.csv", initial)):
        np.savetxt(out / name, np.column_stack([depth, column]), delimiter=",", fmt="%.2f",
                   header="depth_m,velocity_m_s", comments="")
    bounds = (0.9 * float(log.min()), 1.1 * float(log.max()))
    commands = [f"crfwi invert field.toml --method ms-fwi --iterations 250 --set "
                f"'inversion.bands={spec.bands}' --out runs/ms-fwi",
                "crfwi invert field.toml --method siren --iterations 500 --out runs/siren",
                "crfwi invert field.toml --method ig --iterations 500 --out runs/ig"]
    (out / "field.toml").write_text(_config(spec, inv, trend, seabed, bounds, facts["pml_freq"],
                                            v_water, commands))
    clock["total"] = time.perf_counter() - start
    sigma0, f_peak = float(clean.std()), facts["pml_freq"]
    record = {
        "spec": asdict(spec), "nt": spec.nt, "device": str(device),
        "torch_threads": torch.get_num_threads(), "timings_s": clock,
        "model": {"file": spec.model, "grid": [grid.nz, grid.nx, grid.dz],
                  "vp_range": [float(vp.min()), float(vp.max())], "water_cells": int(water.sum()),
                  **relations},
        "elastic_run": {**facts, "finite": True, "physics": PHYSICS},
        "acquisition": {"shots": len(sx), "channels": rx.shape[1], "depth_m": d,
                        "source_x_m": (spec.x0 + sx).tolist(),
                        "offsets_m": [float(sx[0] - rx[0, 0]), float(sx[0] - rx[0, -1])]},
        "wavelet": {"peak_hz": f_peak, "file_scaled_by": (spec.spacing / d) ** 2,
                    "energy_below_f_low": energy_below(wavelet, spec.dt, spec.f_low),
                    "calibration_rel_error": calibration},
        "noise": {"k": spec.noise, "clean_std": sigma0, "noise_std": spec.noise * sigma0,
                  "seed": spec.seed},
        "energy_below_f_low": {"f_low_hz": spec.f_low,
                               "clean": energy_below(clean, spec.dt, spec.f_low),
                               "recorded": energy_below(data, spec.dt, spec.f_low)},
        "initial_1d": {"water_above_m": seabed, "intercept_m_s": trend[0],
                       "gradient_per_s": trend[1]},
        "inversion": {"grid": [inv.nz, inv.nx, d], "origin": [d, spec.x0], "bands_hz": spec.bands,
                      "bounds_m_s": list(bounds), "commands": commands}}
    (out / "make_data.json").write_text(json.dumps(record, indent=1))
    return record


def scored_models(run_folder: str | Path) -> dict[str, Path]:
    """The models of a finished run that are scored against the truth: ``initial`` (initial.npy),
    ``final`` (model.npy) and, when the run kept it, ``best_well`` (best_well_model.npy,
    ``field.keep_best_well``: the one to judge, BENCHMARKS.md §12). ValueError when the first two
    are missing (not a finished run folder)."""
    from .tracking import BEST_WELL_MODEL

    folder = Path(run_folder)
    files = {"initial": folder / "initial.npy", "final": folder / "model.npy"}
    for path in files.values():
        if not path.is_file():
            raise ValueError(f"score: {path} not found (not a finished run folder?)")
    if (folder / BEST_WELL_MODEL).is_file():  # optional: only runs with field.keep_best_well
        files["best_well"] = folder / BEST_WELL_MODEL
    return files


def score_against_truth(run_folder: str | Path, truth_path: str | Path) -> dict:
    """SSIM, MSE, MAE, ... (km/s; :func:`crfwi.analysis.metrics.evaluate`, as for synthetic runs) of
    each of a run's :func:`scored_models` against ``truth_vp.npy``, which make-data writes on
    field.toml's grid (the run's, unless changed)."""
    truth = np.load(truth_path, allow_pickle=False)
    scores = {}
    for label, path in scored_models(run_folder).items():
        model = np.load(path, allow_pickle=False)
        if model.shape != truth.shape:
            raise ValueError(f"score: {path} is {model.shape}, {truth_path} "
                             f"{truth.shape}: not the grid make-data wrote field.toml for")
        scores[label] = metrics.evaluate(model, truth)
    return scores
