"""A field run's :class:`~crfwi.experiment.Experiment`: a user's survey through the same loop.

A synthetic run simulates its observed data in a true model; a field run (``[field] data``) has
no true model, and instead:

1. reads the file's headers, keeps the shots asked for (``data.shots``), checks the memory and
   only then reads those shots' samples;
2. places sources and receivers on the grid (:func:`crfwi.field.acquisition.map_to_grid`; the
   mapping error goes into ``data.json``, to be judged against the wavelength);
3. puts the observed data on the modelling time axis and preprocesses them
   (:class:`~crfwi.field.preprocess.Preprocessing`); :class:`FieldSolver` applies the same shared
   steps to the predicted data, so the misfit compares like with like, and its receiver mask
   zeroes padded and dead traces on both sides;
4. builds m0 without a truth (file, linear, constant or a smoothed well log, with a water layer)
   and takes the bounds from it;
5. gets the wavelet: the survey's Ricker, a file's, or the least-squares estimate at m0 (Pratt
   1999), for which the solver is built twice.

In a shot-parallel run only rank 0 reads the samples (step 1) and estimates the wavelet (step 5):
the other ranks build from the headers alone with what rank 0 found in the samples
(:class:`SampleFacts`: the dead traces, the estimated wavelet), and receive their observed data
from rank 0 (:meth:`crfwi.inversion.distributed.Ranks.share_shots`).

Every mistake in the inputs is a :class:`~crfwi.config.ConfigError` naming the key or the file.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..physics import signal
from ..config import ConfigError, RunConfig
from ..physics.geometry import Grid, Survey
from ..models.initial_models import load_initial_file
from ..physics.solver import SolverOptions, WaveSolver
from .acquisition import FieldData, GridAcquisition, map_to_grid
from .preprocess import Preprocessing
from .qc import read_well_log, well_profile
from .segy import load_traces, scan_segy
from .wavelet import estimate_wavelet, load_wavelet

__all__ = ["FieldRun", "FieldSolver", "SampleFacts", "build_field_experiment", "read_field_headers",
           "kept_shots", "time_axis", "automatic_origin", "initial_model"]


@dataclass(frozen=True, eq=False)
class FieldRun:
    """What a field Experiment holds beyond a synthetic one: the shots read (``data``, samples as
    recorded; ``shots`` their indices in the file), their cells (``acquisition``, whose
    ``origin`` places the grid in line coordinates), the ``preprocessing``, the observed data as
    fitted (``observed`` [S, R, nt] on the run's device, zero where ``mask`` [S, R] is False),
    the signed ``offsets`` [S, R] (m), the well log ``(depth, velocity)`` or None, and the
    ``record`` written to ``data.json``; ``estimator`` re-estimates the wavelet."""

    data: FieldData
    shots: list[int]
    acquisition: GridAcquisition
    preprocessing: Preprocessing
    observed: torch.Tensor | None  # None on a rank that did not read the samples
    mask: np.ndarray
    offsets: np.ndarray
    well: tuple[np.ndarray, np.ndarray] | None
    record: dict
    #: ``field.wavelet = "estimate"``: the estimate at a velocity model ``[nz, nx]`` (m/s) →
    #: ``(wavelet [nt], diagnostics)``, for re-estimating during the run (``wavelet_every``).
    estimator: Callable[[np.ndarray], tuple[np.ndarray, dict]] | None = None

    @property
    def origin(self) -> tuple[float, float]:
        return self.acquisition.origin

    def sample_facts(self, wavelet: torch.Tensor) -> "SampleFacts":
        """What another rank needs of the samples to build the same experiment without them;
        ``wavelet``: the solver's, passed on if it was estimated from the samples."""
        data = self.data
        estimated = self.estimator is not None
        return SampleFacts(all_zero=data.all_zero, non_finite=data.non_finite,
                           wavelet=wavelet.detach().cpu().numpy() if estimated else None,
                           wavelet_record=self.record["wavelet"])


@dataclass(frozen=True, eq=False)
class SampleFacts:
    """What the rank that read a field run's samples found in them, for the ranks that did not:
    the per-trace ``all_zero`` / ``non_finite`` masks of the kept shots (they decide the
    receiver mask), and the estimated ``wavelet`` with its record (None: a file's or the
    Ricker, which every rank reads itself)."""

    all_zero: np.ndarray
    non_finite: np.ndarray
    wavelet: np.ndarray | None
    wavelet_record: dict


class FieldSolver(WaveSolver):
    """A :class:`WaveSolver` whose predicted data go through the run's shared preprocessing
    (band, mute, normalisation; :meth:`Preprocessing.apply_predicted`), so that the inversion, the
    runner and the QC all see the operator the misfit fits: d_pred = P(mask · G(m)).

    ``offsets`` [S, R] (m) are the traces' source-receiver offsets (for the mute). :meth:`raw`
    is the plain masked simulation (for the wavelet estimate). :meth:`born` applies the linear
    steps only; with trace normalisation (not linear) it is refused.
    """

    def __init__(self, *args, preprocessing: Preprocessing, offsets: np.ndarray, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.preprocessing = preprocessing
        self.offsets = np.asarray(offsets, dtype=np.float64)

    def raw(self, velocity: torch.Tensor, shots=None, *, check: bool = True) -> torch.Tensor:
        return super().simulate(velocity, shots, check=check)

    def simulate(self, velocity: torch.Tensor, shots=None, *, check: bool = True) -> torch.Tensor:
        index = self.shot_index(shots)
        data = super().simulate(velocity, index, check=check)
        return self.preprocessing.apply_predicted(data, offsets=self.offsets[index.cpu().numpy()])

    def born(self, velocity: torch.Tensor, perturbation: torch.Tensor, shots=None) -> torch.Tensor:
        if self.preprocessing.normalise is not None:
            raise ValueError("Born data of a field run need linear preprocessing; trace "
                             "normalisation (field.normalise) is not linear")
        index = self.shot_index(shots)
        data = super().born(velocity, perturbation, index)
        return self.preprocessing.apply_predicted(data, offsets=self.offsets[index.cpu().numpy()])

    def describe(self) -> dict:
        return {**super().describe(), "preprocessing": self.preprocessing.describe()}


# ------------------------------------------------------------------------------------------------
# Reading
def _npz(path: Path) -> FieldData:
    """An ``.npz`` survey: ``data`` [S, R, nt], ``dt``, ``source_x`` [S], ``receiver_x`` [R] or
    [S, R]; optional ``source_depth``, ``receiver_depth`` (scalars or likewise) and ``t0``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as err:
        raise ConfigError(f"`field.data`: cannot read {path} as .npz ({err})") from None
    missing = [k for k in ("data", "dt", "source_x", "receiver_x") if k not in arrays]
    if missing:
        raise ConfigError(f"`field.data`: {path} lacks the array `{missing[0]}` (needs data, dt, "
                          "source_x, receiver_x)")
    try:
        return FieldData.from_arrays(
            arrays["data"], dt=float(arrays["dt"]), source_inline=arrays["source_x"],
            receiver_inline=arrays["receiver_x"], source_depth=arrays.get("source_depth", 0.0),
            receiver_depth=arrays.get("receiver_depth", 0.0), t0=float(arrays.get("t0", 0.0)),
            name=str(path))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"`field.data`: {path}: {err}") from None


def read_field_headers(config: RunConfig) -> FieldData:
    """The survey of ``config.field.data``: SEG-Y headers only (samples later, for the shots
    kept), or a whole ``.npz``. ConfigError naming ``field.data`` and the file otherwise.
    Remembered while the file is unchanged: a memory plan asks for the counts many times."""
    f = config.field
    path = Path(f.data).expanduser()
    if not path.is_file():
        raise ConfigError(f"`field.data`: file not found: {path}")
    stat = path.stat()
    return _headers(str(path), str(path.resolve()), stat.st_mtime_ns, stat.st_size,
                    f.zero_scalar_as_one, f.endian, f.sample_interval)


@functools.lru_cache(maxsize=2)
def _headers(name: str, resolved: str, mtime: int, size: int, zero_scalar_as_one: bool,
             endian: str, sample_interval: float) -> FieldData:
    path = Path(name)
    if path.suffix.lower() == ".npz":
        return _npz(path)
    try:
        return scan_segy(path, zero_scalar_as_one=zero_scalar_as_one, endian=endian,
                         sample_interval=sample_interval or None)
    except (OSError, ValueError) as err:  # SegyError names the file
        raise ConfigError(f"`field.data`: {err}") from None


def kept_shots(config: RunConfig, n_shots: int) -> list[int]:
    """The file's shots a run uses: all, or ``data.shots`` of them spread evenly."""
    if config.data.shots > n_shots:
        raise ConfigError(f"`data.shots` = {config.data.shots} exceeds the {n_shots} shots of "
                          f"{config.field.data} (`field.data`)")
    keep = config.data.shots
    return signal.decimate_shots(n_shots, keep) if keep else list(range(n_shots))


def time_axis(config: RunConfig, field: FieldData) -> tuple[float, int, int]:
    """(dt, nt) of the modelling and the samples to shift the recording by (t0 ≠ 0: negative =
    drop the samples before the shot, positive = zeros for the unrecorded start)."""
    f = config.field
    shift = field.t0 / field.dt
    if abs(shift - round(shift)) > 1e-6:
        raise ConfigError(f"`field.data`: the first sample of {field.name} is at t0 = "
                          f"{field.t0:g} s, not a whole number of samples (dt = {field.dt:g} s)")
    shift = int(round(shift))
    if shift > 0 and not (f.mute_velocity and f.mute_t0 >= field.t0):
        raise ConfigError(f"`field.data`: {field.name} starts at t0 = {field.t0:g} s after the "
                          f"shot; the first {field.t0:g} s were not recorded: set field.mute_velocity "
                          f"and field.mute_t0 >= {field.t0:g} s so both sides mute them")
    dt = f.dt or field.dt
    length = (field.nt + shift - 1) * field.dt
    nt = f.nt or int(math.floor((f.record_length or length) / dt + 1e-6)) + 1
    if (nt - 1) * dt > length * (1 + 1e-9) + 1e-12 and not f.pad_record:
        key = "field.nt" if f.nt else "field.record_length"
        raise ConfigError(f"`{key}`: {nt} samples at {dt:g} s ({(nt - 1) * dt:g} s) run past the "
                          f"record of {field.name} ({length:g} s); shorten it, or set "
                          "field.pad_record = true to fit zeros after the record's end")
    return dt, nt, shift


# ------------------------------------------------------------------------------------------------
# Geometry
def automatic_origin(field: FieldData, grid: Grid, *, free_surface: bool = True
                     ) -> tuple[float, float]:
    """``(z0, x0)`` when ``field.origin`` is empty: the survey centred on the grid, with its first
    inline position on a node (regular spreads then map exactly), and row 0 at depth z0.

    With a free surface, z0 = min(dz, the shallowest source or receiver depth): deepwave's
    pressure-release plane lies one cell above row 0 (measured: an explicit image source there
    reproduces the free-surface run to 8e-6), so z0 = dz puts it on the datum (the sea surface);
    a position shallower than one cell sets row 0 at its depth instead, keeping the positions
    (hence reflection times) exact and raising the free surface by dz − depth, which the run
    records (``free_surface_depth_m``). Without one, z0 = min(0, the shallowest depth)."""
    inline = np.concatenate([field.source_inline, field.receiver_inline])
    first, span = float(inline.min()), float(np.ptp(inline))
    width = grid.extent[1]
    if span > width + 0.5 * grid.dx:
        raise ConfigError(f"the survey in {field.name} spans {span:g} m inline, the grid "
                          f"(`model.nx` x `model.spacing`) {width:g} m: enlarge the grid")
    margin = math.floor((width - span) / grid.dx / 2 + 1e-9)
    depth = float(np.concatenate([field.source_depth, field.receiver_depth]).min())
    z0 = min(grid.dz, depth) if free_surface else min(0.0, depth)
    return z0, first - margin * grid.dx


def _placed(config: RunConfig, field: FieldData, grid: Grid) -> GridAcquisition:
    origin = tuple(config.field.origin) or automatic_origin(
        field, grid, free_surface=config.survey.free_surface)
    try:
        return map_to_grid(field, grid, origin)
    except ValueError as err:
        raise ConfigError(f"`field.origin`/`model.nx`/`model.nz`: {err}") from None


def _survey(config: RunConfig, acq: GridAcquisition, grid: Grid, dt: float, nt: int) -> Survey:
    """The run's Survey. The solver takes the per-shot cells; the survey holds the time axis and
    wavelet, the shots' x, and as receiver_x the widest shot's (its length is R)."""
    s = config.survey
    counts = np.diff(acq.shot_start)
    widest = int(np.argmax(counts))
    rows = acq.receiver_cells[acq.shot_start[widest]:acq.shot_start[widest + 1]]
    try:
        return Survey(source_x=tuple(acq.source_cells[:, 1] * grid.dx),
                      receiver_x=tuple(rows[:, 1] * grid.dx), freq=s.freq, dt=dt, nt=nt,
                      source_depth=float(acq.source_cells[0, 0] * grid.dz),
                      receiver_depth=float(rows[0, 0] * grid.dz),
                      delay=None if s.delay < 0 else s.delay, free_surface=s.free_surface,
                      pml_width=s.pml_width)
    except ValueError as err:
        raise ConfigError(f"`field.dt`/`survey.freq`: {err}") from None


# ------------------------------------------------------------------------------------------------
# Initial model
def initial_model(config: RunConfig, grid: Grid, z0: float,
                  well: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """m0 of a field run [nz, nx] (m/s, float32): ``initial.kind`` file, linear (v_top at the
    top row to v_bottom at the bottom), constant (``value``) or well (the log smoothed with
    ``initial.sigma``, the same in every column), then the water layer above
    ``field.water_depth`` at ``field.water_velocity`` (not for a file: it is used as given)."""
    init, f = config.initial, config.field
    if init.kind == "file":  # the synthetic runs' reader and checks; it reads no true model
        try:
            return load_initial_file(init.path, grid).astype(np.float32)
        except ValueError as err:
            raise ConfigError(f"`initial.path`: {err}") from None
    if init.kind == "linear":  # as zoo's: v_top on the top row to v_bottom on the bottom row
        fraction = grid.z() / grid.extent[0] if grid.nz > 1 else np.zeros(1)
        column = init.v_top + (init.v_bottom - init.v_top) * fraction
        m0 = np.repeat(column[:, None], grid.nx, axis=1)
    elif init.kind == "constant":
        m0 = np.full(grid.shape, init.value)
    elif init.kind == "well" and well is not None:
        column = well_profile(well, z0 + grid.z(), init.sigma, grid.dz)
        m0 = np.repeat(column[:, None], grid.nx, axis=1)
    else:
        raise ConfigError(f"initial.kind = {init.kind!r} cannot be built for a field run")
    return np.where(water_rows(config, grid, z0)[:, None], f.water_velocity, m0).astype(np.float32)


def water_rows(config: RunConfig, grid: Grid, z0: float) -> np.ndarray:
    """Rows above ``field.water_depth`` (bool [nz]; none without one)."""
    depth = config.field.water_depth
    return (z0 + grid.z() < depth) if depth > 0 else np.zeros(grid.nz, bool)


# ------------------------------------------------------------------------------------------------
def build_field_experiment(config: RunConfig, *, device: torch.device, method,
                           estimate: bool = True,
                           check_memory: Callable[[Grid, int, int, int], None] = lambda *a: None,
                           facts: SampleFacts | None = None):
    """The :class:`~crfwi.experiment.Experiment` of a field run (see the module docstring).
    ``estimate=False`` leaves the wavelet estimate out (the Ricker stands in): for checks that
    must not simulate. ``check_memory(grid, n_shots, n_receivers, nt)`` runs before the samples
    are read. ``facts``: build from the headers alone, with what another rank found in the
    samples (its ``field.observed`` is then None)."""
    from ..experiment import Experiment, with_depth_limit

    f, m = config.field, config.model
    grid = Grid(m.nz, m.nx, m.spacing)
    headers = read_field_headers(config)
    shots = kept_shots(config, headers.n_shots)
    dt, nt, shift = time_axis(config, headers)
    check_memory(grid, len(shots), int(headers.receivers_per_shot[shots].max()), nt)
    try:
        if facts is not None:  # the geometry only; the dead traces as the reading rank found them
            data = replace(headers.select(shots), traces=None, all_zero=facts.all_zero,
                           non_finite=facts.non_finite)
        elif headers.traces is not None:
            data = headers.select(shots)
        else:
            data = load_traces(headers, shots)
    except (OSError, ValueError) as err:
        raise ConfigError(f"`field.data`: {err}") from None
    acq = _placed(config, data, grid)
    survey = _survey(config, acq, grid, dt, nt)
    try:
        prep = Preprocessing(dt=dt, nt=nt, f_low=f.f_low or None, f_high=f.f_high or None,
                             mute_velocity=f.mute_velocity or None, mute_t0=f.mute_t0,
                             mute_taper=f.mute_taper,
                             bottom_velocity=f.bottom_mute_velocity or None,
                             bottom_t0=f.bottom_mute_t0, bottom_taper=f.bottom_mute_taper,
                             min_offset=f.min_offset, max_offset=f.max_offset or None,
                             normalise=f.normalise or None,
                             pad_record=f.pad_record)
    except ValueError as err:
        raise ConfigError(f"[field] preprocessing: {err}") from None
    padded = data.padded(samples=facts is None)
    cells, mask = acq.receiver_locations()
    mask = mask.numpy()
    recorded = observed = None
    if facts is None:
        recorded = _shifted(padded.data, shift)
        try:
            observed = prep.apply_observed(recorded, data.dt, offsets=padded.offset, live=mask)
        except ValueError as err:
            raise ConfigError(f"`field.nt`/`field.record_length`/`field.dt` on {data.name}: "
                              f"{err}") from None

    well = None
    if f.well_log:
        try:
            well = read_well_log(f.well_log)
        except ValueError as err:
            raise ConfigError(f"`field.well_log`: {err}") from None
    z0 = acq.origin[0]
    m0 = initial_model(config, grid, z0, well)
    truth = known_truth(config, grid)
    inv = config.inversion
    bounds = (inv.vmin or 0.9 * float(m0.min()), inv.vmax or 1.1 * float(m0.max()))
    if not 0 < bounds[0] < bounds[1] or m0.min() < bounds[0] or m0.max() > bounds[1]:
        raise ConfigError(f"the initial model ({m0.min():.0f}-{m0.max():.0f} m/s) lies outside "
                          f"inversion.vmin/vmax = {bounds[0]:.0f}/{bounds[1]:.0f} m/s")
    fixed = np.repeat(water_rows(config, grid, z0)[:, None], grid.nx, axis=1)
    fixed = fixed if inv.fix_water and fixed.any() else None
    fixed = with_depth_limit(fixed, grid, inv.max_depth, z0)
    phys = config.physics
    max_vel = phys.max_vel or bounds[1]
    if max_vel < bounds[1]:
        raise ConfigError(f"physics.max_vel = {max_vel:g} m/s is below the upper bound "
                          f"{bounds[1]:g} m/s; the simulation would be unstable")
    for key, value in (("gradient_sampling_interval", nt % phys.gradient_sampling_interval),
                       ("checkpoint_segments", phys.checkpoint_segments > nt)):
        if value:
            raise ConfigError(f"`physics.{key}` does not fit the {nt} time samples of the field "
                              "run (`field.nt`/`field.record_length`)")
    options = SolverOptions(
        accuracy=phys.accuracy, storage=phys.storage, storage_compression=phys.storage_compression,
        gradient_sampling_interval=phys.gradient_sampling_interval,
        checkpoint_segments=phys.checkpoint_segments,
        min_points_per_wavelength=phys.min_points_per_wavelength,
        courant_number=phys.courant_number)

    def solver(wavelet=None) -> FieldSolver:
        try:
            return FieldSolver(grid, survey, max_vel=max_vel, pml_freq=phys.pml_freq or None,
                               options=options, device=device, wavelet=wavelet,
                               source_locations=acq.source_locations(), receiver_locations=cells,
                               receiver_mask=torch.as_tensor(mask), preprocessing=prep,
                               offsets=padded.offset)
        except ValueError as err:
            raise ConfigError(f"{data.name} on the grid (`model.spacing`): {err}") from None

    current = solver()
    current.check_velocity(torch.as_tensor(m0), "initial model")
    current.check_sampling(bounds[0])
    tensor = (None if observed is None else
              torch.as_tensor(observed, dtype=torch.float32, device=current.device).contiguous())
    wavelet_record: dict = {"source": "ricker", "freq": survey.freq}
    estimator = None
    if facts is not None and facts.wavelet is not None:
        current, wavelet_record = solver(facts.wavelet), facts.wavelet_record
    elif facts is not None and f.wavelet == "estimate":
        wavelet_record = facts.wavelet_record
    elif f.wavelet == "estimate" and estimate:
        reference = current  # the Ricker's solver: the reference of every estimate

        def estimator(model: np.ndarray) -> tuple[np.ndarray, dict]:
            return _estimate(config, reference, model, recorded, data.dt, mask, padded.offset)

        wavelet, wavelet_record = estimator(m0)
        current = solver(wavelet)
    elif f.wavelet == "estimate":
        wavelet_record = {"source": "estimate", "deferred": "not estimated (a check only)"}
    elif f.wavelet:
        try:
            wavelet = load_wavelet(f.wavelet, dt, nt, file_dt=f.wavelet_dt or None)
        except ValueError as err:
            raise ConfigError(f"`field.wavelet`: {err}") from None
        current = solver(wavelet)
        wavelet_record = {"source": "file", "path": f.wavelet}
    run = FieldRun(data=data, shots=shots, acquisition=acq, preprocessing=prep, observed=tensor,
                   mask=mask, offsets=padded.offset, well=well, record={}, estimator=estimator)
    record = _record(config, run, headers, dt, nt, shift, tensor, wavelet_record)
    run = replace(run, record=record)
    return Experiment(config=config, grid=grid, survey=survey, true_model=truth, initial_model=m0,
                      fixed_mask=fixed, bounds=bounds, solver=current, device=device,
                      method=method, kept_shots=shots, field=run)


def known_truth(config: RunConfig, grid: Grid) -> np.ndarray | None:
    """``field.true_model`` read and checked against the grid (a benchmark's known truth, which
    only scores the run), or None for real data."""
    if not config.field.true_model:
        return None
    try:
        return load_initial_file(config.field.true_model, grid, "true model").astype(np.float32)
    except ValueError as err:
        raise ConfigError(f"`field.true_model`: {err}") from None


def _shifted(data: np.ndarray, shift: int) -> np.ndarray:
    """Samples on a time axis starting at the shot: ``shift`` < 0 drops, > 0 prepends zeros."""
    if shift < 0:
        return data[..., -shift:]
    if shift > 0:
        return np.concatenate([np.zeros(data.shape[:-1] + (shift,), data.dtype), data], axis=-1)
    return data


def _estimate(config: RunConfig, solver: FieldSolver, m0: np.ndarray, recorded: np.ndarray,
              file_dt: float, mask: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, dict]:
    """Pratt's least-squares wavelet at ``m0`` (the start, or the current model when re-estimated):
    reference data simulated with the Ricker, both sides
    through the linear, time-invariant steps only (kill and band, not mute or normalisation, which
    would break D = F * P), traces within ``field.wavelet_max_offset``."""
    f, prep = config.field, solver.preprocessing
    linear = Preprocessing(dt=prep.dt, nt=prep.nt, f_low=prep.f_low, f_high=prep.f_high,
                           order=prep.order, pad_record=prep.pad_record)
    observed = linear.apply_observed(recorded, file_dt, live=mask)
    chunk = config.physics.shot_chunk or solver.n_shots
    velocity = torch.as_tensor(m0, device=solver.device)
    with torch.no_grad():
        parts = [solver.raw(velocity, list(range(a, min(a + chunk, solver.n_shots))))
                 for a in range(0, solver.n_shots, chunk)]
        reference = linear.apply_predicted(torch.cat(parts)).double().cpu().numpy()
    use = mask & ((np.abs(offsets) <= f.wavelet_max_offset) if f.wavelet_max_offset else True)
    if not use.any():
        raise ConfigError(f"`field.wavelet_max_offset` = {f.wavelet_max_offset:g} m leaves no "
                          "live trace to estimate the wavelet from")
    try:
        wavelet, diagnostics = estimate_wavelet(observed, reference, solver.survey.wavelet(),
                                                prep.dt, damping=f.wavelet_damping, mask=use)
    except ValueError as err:
        raise ConfigError(f"`field.wavelet` = \"estimate\": {err}") from None
    return wavelet, {"source": "estimate", "reference": f"Ricker {solver.survey.freq:g} Hz",
                     "max_offset": f.wavelet_max_offset or None, **diagnostics}


def _record(config: RunConfig, run: FieldRun, headers: FieldData, dt: float, nt: int, shift: int,
            observed: torch.Tensor, wavelet: dict) -> dict:
    """The run folder's ``data.json`` for a field run."""
    data, acq = run.data, run.acquisition
    error = {"sources": vars(acq.source_error), "receivers": vars(acq.receiver_error),
             "off_line": {"max": data.line.max_scatter, "rms": data.line.rms_scatter}}
    return {
        "kind": "field", "file": data.name, "n_shots": len(run.shots), "shots_kept": run.shots,
        "n_shots_in_file": headers.n_shots, "field_records": data.field_record.tolist(),
        "traces": data.n_traces, "masked_traces": int((~data.live).sum()),
        "padded_slots": int(run.mask.size - data.n_traces),
        "receivers_per_shot": [int(data.receivers_per_shot.min()),
                               int(data.receivers_per_shot.max())],
        "origin": list(acq.origin),
        "origin_from": "field.origin" if config.field.origin else "automatic",
        # deepwave's pressure-release plane: one cell above row 0 (depth below the datum)
        "free_surface_depth_m": (acq.origin[0] - acq.grid.dz) if config.survey.free_surface else None,
        "line_azimuth_deg": data.line.azimuth, "mapping_error_m": error,
        "time": {"file_dt": data.dt, "file_nt": data.nt, "t0": data.t0, "samples_shifted": shift,
                 "dt": dt, "nt": nt},
        "preprocessing": run.preprocessing.describe(),
        "observed_std": None if observed is None else float(observed.double().std()),
        "wavelet": wavelet, "notes": list(data.notes),
    }
