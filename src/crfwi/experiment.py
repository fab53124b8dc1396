"""From a :class:`~crfwi.config.RunConfig` to the objects of one inversion.

true model (zoo) → grid, survey (maybe decimated) → solver → observed data (maybe degraded);
initial model m0; bounds; water mask; method → representation → velocity model, misfit and
regulariser. Nothing here runs the optimisation (see :mod:`crfwi.inversion.loop`).

A 3-D run (``model.ny`` > 0) builds its grid, true model, survey and start with
:mod:`crfwi.experiment3d`; everything after is the same code.

A field run (``[field] data``, :mod:`crfwi.field.survey`) has no true model (``true_model`` is
None): its observed data are the user's, read and preprocessed when the experiment is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from . import representations, resources
from .methods import registry as methods, misfits, regularizers
from .physics import signal
from .config import ConfigError, RunConfig
from .config_rules3d import is_3d
from .physics.geometry import Grid, Survey
from .physics.geometry3d import Grid3D, Survey3D
from .models import openfwi, zoo
from .physics.solver import SolverOptions, WaveSolver, resolve_device
from .physics.solver3d import make_solver

# MS-FWI's default bands (Experiment._default_bands): the paper's 4–14 Hz at a preset's paper
# scale, scaled by the preset's cpu/paper source-frequency ratio at its cpu scale; without a
# preset the paper's bands below the data's usable band (crfwi.methods.misfits.multiscale_bands).

if TYPE_CHECKING:
    from .field.survey import FieldRun

__all__ = ["Experiment", "build_experiment", "build_grid_and_true_model", "build_survey",
           "memory_estimate", "shot_count"]


@dataclass
class Experiment:
    """Everything an inversion needs, built once from a config. A field run has no
    ``true_model`` (None) and holds its survey in ``field``; ``kept_shots`` are then the file's
    shots used."""

    config: RunConfig
    grid: Grid | Grid3D
    survey: Survey | Survey3D
    true_model: np.ndarray | None
    initial_model: np.ndarray
    fixed_mask: np.ndarray | None
    bounds: tuple[float, float]
    solver: WaveSolver
    device: torch.device
    method: methods.Method
    kept_shots: list[int] | None = None
    memory_checked: bool = field(default=False, repr=False)
    field: "FieldRun | None" = None

    @property
    def grid_ndim(self) -> int:
        """2 for a ``[nz, nx]`` run, 3 for ``[nz, ny, nx]``."""
        return len(self.grid.shape)

    def check_memory(self) -> None:
        """Refuse (ConfigError naming the keys) a run whose data and wavefields cannot fit in
        the memory free now (:mod:`crfwi.resources`). Done once, before the first simulation:
        later the run's own arrays hold some of that memory."""
        if not self.memory_checked:
            estimate = memory_estimate(self.config, self.grid, self.survey.n_shots,
                                       self.survey.n_receivers, self.device, nt=self.survey.nt)
            resources.check_memory(estimate, str(self.device))
            self.memory_checked = True

    def clean_data(self) -> torch.Tensor:
        """Data simulated in the true model, ``[shot, receiver, time]`` (deterministic)."""
        if self.field is not None or self.true_model is None:  # a field truth only scores
            raise ValueError("a field run's data are not simulated; its observed data are "
                             "the file's (observed_data)")
        with torch.no_grad():
            return self.solver.simulate(torch.as_tensor(self.true_model, device=self.device))

    def observed_data(self) -> torch.Tensor:
        """The observed data: the clean data, degraded as the ``[data]`` section says."""
        return self.observed_data_and_record()[0]

    def observed_data_and_record(self) -> tuple[torch.Tensor, dict]:
        """The observed data and a record of what was done to them (the run folder's
        ``data.json``: σ0, noise level, seed and SNR, low-cut filter, kept shots). A field run's
        are the file's, preprocessed and masked as the solver's predictions are, and its record
        says what was read and done (crfwi.field.survey)."""
        if self.field is not None:
            self.check_memory()  # read when built; checked here with the gradient's history
            return self.field.observed, dict(self.field.record)
        cfg = self.config.data
        self.check_memory()  # the first thing a run allocates at full size is these data
        data = self.clean_data()
        sigma0 = float(data.double().std(unbiased=False))
        record: dict = {"n_shots": self.survey.n_shots, "clean_std": sigma0,
                        "shots_kept": self.kept_shots or list(range(self.survey.n_shots)),
                        "noise_k": cfg.noise, "highpass_hz": cfg.highpass}
        if cfg.noise > 0:
            seed = self.config.seed if cfg.noise_seed < 0 else cfg.noise_seed
            noisy = signal.add_noise(data, k=cfg.noise, seed=seed)
            noise_std = float((noisy - data).double().std(unbiased=False))
            record.update(noise_seed=seed, noise_std=noise_std,
                          snr_db=20.0 * float(np.log10(sigma0 / noise_std)))
            data = noisy
        if cfg.highpass > 0:
            data = signal.highpass(data, self.survey.dt, cfg.highpass, order=cfg.highpass_order)
            record.update(highpass_order=cfg.highpass_order,
                          highpass_filter="zero-phase Butterworth (scipy sosfiltfilt)")
        return data.contiguous(), record

    def misfit(self):
        """The run's misfit: ``inversion.misfit`` or the method's, in bands for MS-FWI."""
        inv = self.config.inversion
        name = inv.misfit or self.method.misfit
        options = dict(inv.misfit_options)
        if name == "weci":
            options.setdefault("total_iterations", inv.iterations)
        try:
            misfit = misfits.build(name, **options)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"inversion.misfit = {name!r}: {err}") from None
        bands = [float(b) for b in inv.bands]
        if not bands and self.method.multiscale:
            bands = list(self._default_bands())
        if not bands:
            return misfit
        if getattr(misfit, "needs_iteration", False):
            raise ConfigError(f"inversion.bands cannot be combined with the iteration-dependent "
                              f"misfit {name!r}; use a plain misfit such as l2")
        per_band = inv.band_iterations or max(1, inv.iterations // len(bands))
        try:
            return misfits.Multiscale(dt=self.survey.dt, iterations_per_band=per_band, bands=bands,
                                      base=misfit)
        except ValueError as err:
            raise ConfigError(f"inversion.bands: {err}") from None

    def _default_bands(self) -> tuple[float, ...]:
        """MS-FWI's bands: see :func:`crfwi.methods.misfits.multiscale_bands` (ratio = the preset scale's
        source frequency over the paper scale's, for a run of a preset)."""
        ratio = None
        if self.config.preset:
            from . import presets

            preset = presets.get(self.config.preset)
            ratio = preset.scale(self.config.scale or "paper").freq / preset.paper.freq
        try:
            return misfits.multiscale_bands(self.survey.freq, ratio=ratio)
        except ValueError as err:
            raise ConfigError(f"MS-FWI bands: {err} (inversion.bands)") from None

    def regularizer(self):
        """The run's regulariser: ``inversion.regularizer`` or the method's (None = none)."""
        inv = self.config.inversion
        name = inv.regularizer or self.method.regularizer
        if name == "none":
            if inv.regularizer_options:
                raise ConfigError("inversion.regularizer_options need inversion.regularizer = \"tv\"")
            return None
        if name != "tv":
            raise ConfigError(f"unknown inversion.regularizer {name!r}; valid: none, tv")
        try:
            schedule = regularizers.TVSchedule(**inv.regularizer_options)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"inversion.regularizer_options: {err}") from None
        if schedule.alpha_units == "literal":
            return schedule.bind(dz=self.grid.dz, dx=self.grid.dx)

        def conversion() -> float:
            # ADFWI-TV's α is set against ADFWI's misfit; measured at m0 with this run's data and
            # misfit (deterministic, so a resumed run gets the same factor). Deferred to the first
            # iteration: it costs two simulations (observed data, m0).
            free = None if self.fixed_mask is None else ~self.fixed_mask
            return regularizers.adfwi_alpha_conversion(
                self.solver, self.initial_model, self.observed_data(), self.misfit(), free=free,
                shot_chunk=self.config.physics.shot_chunk)

        return schedule.bind(dz=self.grid.dz, dx=self.grid.dx, conversion=conversion)

    def velocity_model(self) -> representations.VelocityModel:
        """The method's representation wrapped as m_θ = m0 + s·F_θ(x)."""
        cfg = self.config
        torch.manual_seed(cfg.seed)  # network initialisation is part of the run's identity
        try:
            rep = representations.build(self.method.representation, self.grid,
                                        **cfg.representation.options)
        except (TypeError, ValueError) as err:
            if cfg.representation.options:
                raise ConfigError(f"`representation.options`: {err}") from None
            raise
        fixed = None if self.fixed_mask is None else torch.as_tensor(self.fixed_mask)
        try:
            model = representations.VelocityModel(
                rep, torch.as_tensor(self.initial_model), self.grid, bounds=self.bounds,
                fixed_mask=fixed, output_scale=cfg.representation.output_scale or None,
                start=cfg.representation.start, bound_gradient=cfg.inversion.bound_gradient)
        except ValueError as err:
            raise ConfigError(f"representation.start / inversion.bound_gradient: {err}") from None
        return model.to(self.device)


def build_grid_and_true_model(config: RunConfig, *, before_load=None
                              ) -> tuple[Grid | Grid3D, np.ndarray | None]:
    """The grid and the true model on it (see :class:`~crfwi.config.ModelSection`);
    ``before_load(grid)`` is called once the grid is known: before the model is made on it (a
    benchmark file at its own grid is read first, to know its grid). A field run: its grid
    (model.nz, nx, spacing) and None. A 3-D run: its Grid3D and volume."""
    if is_3d(config):
        from .experiment3d import build_grid_and_true_model3d

        return build_grid_and_true_model3d(config, before_load or (lambda grid: None))
    if config.field.data:
        grid = Grid(config.model.nz, config.model.nx, config.model.spacing)
        (before_load or (lambda grid: None))(grid)
        return grid, None
    true_model, grid = _load_true_model(config, before_load or (lambda grid: None))
    return grid, true_model


def shot_count(config: RunConfig) -> tuple[int, int, int]:
    """(shots, receivers per shot, time samples) a run of ``config`` simulates: counted from
    the config the way :func:`build_survey` places them, without placing them; for a field run
    read from the file's headers (and its time axis; :mod:`crfwi.field.survey`)."""
    s = config.survey
    if config.field.data:
        from .field import survey as field_survey

        headers = field_survey.read_field_headers(config)
        shots = field_survey.kept_shots(config, headers.n_shots)
        nt = field_survey.time_axis(config, headers)[1]
        return len(shots), int(headers.receivers_per_shot[shots].max()), nt
    n_shots = len(s.shots) if s.shots else s.n_shots
    if is_3d(config):
        from .experiment3d import shot_count3d

        n_shots = shot_count3d(config)
    if config.data.shots:
        n_shots = min(n_shots, config.data.shots)
    return n_shots, 0, s.nt


def memory_estimate(config: RunConfig, grid: Grid | Grid3D, n_shots: int | None = None,
                    n_receivers: int | None = None,
                    device: str | torch.device = "cpu", *,
                    nt: int | None = None) -> resources.MemoryEstimate:
    """:func:`crfwi.resources.estimate_memory_bytes` for ``config`` on ``grid``. Without
    ``n_shots``/``n_receivers``/``nt`` (the survey not built yet) they are counted by
    :func:`shot_count` (receivers of a synthetic run: one per ``survey.receiver_spacing``)."""
    inv, phys = config.inversion, config.physics
    if n_shots is None or n_receivers is None or nt is None:
        counted = shot_count(config)
        n_shots = counted[0] if n_shots is None else n_shots
        nt = counted[2] if nt is None else nt
        if n_receivers is None and isinstance(grid, Grid3D):
            from .experiment3d import receiver_count3d

            n_receivers = receiver_count3d(config, grid)
        if n_receivers is None:
            spacing = config.survey.receiver_spacing or grid.dx
            n_receivers = counted[1] or int(grid.extent[1] / spacing + 1e-9) + 1
    batch = inv.shots_per_iteration if 0 < inv.shots_per_iteration < n_shots else n_shots
    return resources.estimate_memory_bytes(
        nz=grid.nz, nx=grid.nx, ny=getattr(grid, "ny", 0), nt=nt, n_shots=n_shots,
        n_receivers=n_receivers,
        shots_at_once=min(phys.shot_chunk or batch, batch), pml_width=config.survey.pml_width,
        free_surface=config.survey.free_surface, accuracy=phys.accuracy,
        gradient_sampling_interval=phys.gradient_sampling_interval,
        checkpoint_segments=phys.checkpoint_segments, storage=phys.storage,
        storage_compression=phys.storage_compression, device=str(device))


def _load_openfwi_map(config: RunConfig, before_load) -> tuple[np.ndarray, Grid]:
    """An OpenFWI map on its own grid; a [model] size that disagrees with it is refused."""
    m = config.model
    if m.options or m.window or any(float(v) for v in m.origin):
        raise ConfigError(f"OpenFWI map {m.name!r} is used as stored: drop model.options, "
                          "model.window and model.origin")
    try:
        true_model, grid = openfwi.load_map(m.name, m.data_dir or None)
    except ValueError as err:
        raise ConfigError(f"`model.name`: {err}") from None
    given = {"model.nz": (m.nz, grid.nz), "model.nx": (m.nx, grid.nx),
             "model.spacing": (m.spacing, grid.dz)}
    for key, (value, actual) in given.items():
        if value and value != actual:
            raise ConfigError(f"`{key}` = {value:g}, but OpenFWI map {m.name!r} has {actual:g}: "
                              "leave it out or match it")
    before_load(grid)
    return true_model, grid


def _load_true_model(config: RunConfig, before_load) -> tuple[np.ndarray, Grid]:
    m = config.model
    data_dir = m.data_dir or None
    if openfwi.is_map_name(m.name):
        return _load_openfwi_map(config, before_load)
    infos = {info.name: info for info in zoo.list_models(data_dir)}
    if m.name not in infos:
        raise ConfigError(f"unknown model {m.name!r}; valid: {', '.join(sorted(infos))}")
    if len(m.origin) != 2:
        raise ConfigError("`model.origin` must be [z, x] in metres")
    origin = (float(m.origin[0]), float(m.origin[1]))
    if infos[m.name].kind == "procedural":
        if m.window:
            raise ConfigError(f"`model.window` applies to benchmark files only, not {m.name!r}")
        if not (m.nz and m.nx and m.spacing):
            raise ConfigError(f"procedural model {m.name!r} needs model.nz, model.nx and model.spacing")
        grid = Grid(m.nz, m.nx, m.spacing)
        before_load(grid)
        try:
            return zoo.load_model(m.name, grid, seed=config.seed, **m.options)
        except ValueError as err:
            if m.options:  # the generator refuses an option by its own name: say where it was set
                raise ConfigError(f"`model.options`: {err}") from None
            raise
    if m.options:
        raise ConfigError(f"`model.options` apply to procedural models only, not {m.name!r}")
    if m.window:
        if len(m.window) != 2 or not (m.nz and m.nx and m.spacing):
            raise ConfigError("`model.window` = [depth, width] in metres needs model.nz, "
                              "model.nx and model.spacing (the grid it is scaled onto)")
        grid = Grid(m.nz, m.nx, m.spacing)
        before_load(grid)
        return zoo.load_model(m.name, grid, data_dir=data_dir, origin=origin,
                              window=(float(m.window[0]), float(m.window[1])))
    if not m.spacing:
        if m.nz or m.nx:
            raise ConfigError("`model.nz`/`model.nx` need `model.spacing` for a benchmark model")
        true_model, grid = zoo.load_model(m.name, None, data_dir=data_dir)
        before_load(grid)
        return true_model, grid
    nz, nx = m.nz or None, m.nx or None
    if (nz is None or nx is None) and any(origin):
        # Without a size, a window starting at `origin` runs to the far edges of the file.
        _, file_grid = zoo.load_model(m.name, None, data_dir=data_dir)
        depth, width = file_grid.extent
        nz = nz or int((depth - origin[0]) // m.spacing) + 1
        nx = nx or int((width - origin[1]) // m.spacing) + 1
    grid = zoo.fit_grid(m.name, spacing=m.spacing, nz=nz, nx=nx, data_dir=data_dir)
    before_load(grid)
    return zoo.load_model(m.name, grid, data_dir=data_dir, origin=origin)


def build_survey(config: RunConfig, grid: Grid) -> Survey:
    s = config.survey
    common = dict(freq=s.freq, dt=s.dt, nt=s.nt, delay=None if s.delay < 0 else s.delay,
                  free_surface=s.free_surface, pml_width=s.pml_width)
    depth = dict(source_depth=None if s.source_depth < 0 else s.source_depth,
                 receiver_depth=None if s.receiver_depth < 0 else s.receiver_depth)
    if s.shots:
        # Explicit source positions (metres); receivers as for a surface survey.
        template = Survey.surface(grid, n_shots=1, receiver_spacing=s.receiver_spacing or None,
                                  **depth, **common)
        return Survey(source_x=tuple(float(x) for x in s.shots), receiver_x=template.receiver_x,
                      source_depth=template.source_depth, receiver_depth=template.receiver_depth,
                      **common)
    return Survey.surface(
        grid, n_shots=s.n_shots, shot_spacing=s.shot_spacing or None,
        first_shot=None if s.first_shot < 0 else s.first_shot,
        receiver_spacing=s.receiver_spacing or None, **depth, **common)


def build_experiment(config: RunConfig, *, device: str | torch.device = "cpu",
                     estimate: bool = True, field_facts=None) -> Experiment:
    """Build the true model, survey, initial model, bounds and solver of a run; validates all of it.

    A field run (``[field] data``) reads and preprocesses its survey here, and with
    ``field.wavelet = "estimate"`` simulates all shots once at m0 for the wavelet;
    ``estimate=False`` skips that (the Ricker stands in), for checks that must not simulate.
    ``field_facts`` (:class:`crfwi.field.survey.SampleFacts`): build a field run without reading
    its samples, from what another rank found in them."""
    device = resolve_device(device)
    try:
        method = methods.resolve(config.inversion.method)
    except ValueError as err:
        raise ConfigError(f"inversion.method: {err}") from None
    if config.field.data:
        from .field.survey import build_field_experiment

        def field_fits(grid: Grid, n_shots: int, n_receivers: int, nt: int) -> None:
            estimate_ = memory_estimate(config, grid, n_shots, n_receivers, device, nt=nt)
            resources.check_memory(estimate_.without(resources.GRADIENT_TERMS), str(device))

        return build_field_experiment(config, device=device, method=method, estimate=estimate,
                                      check_memory=field_fits, facts=field_facts)

    def fits(grid: Grid) -> None:
        # Before anything of the run's size is made: survey.nt = 1e12 would otherwise fail in
        # torch's allocator. Without the gradient's wavefield history, which is checked before
        # the first simulation (Experiment.check_memory): see crfwi.resources.
        estimate = memory_estimate(config, grid, device=device).without(resources.GRADIENT_TERMS)
        resources.check_memory(estimate, str(device))

    grid, true_model = build_grid_and_true_model(config, before_load=fits)
    if is_3d(config):
        from .experiment3d import build_initial_model3d, build_survey3d

        survey, kept_shots, fixed_mask = build_survey3d(config, grid), None, None
        initial_model = build_initial_model3d(config, true_model, grid)
    else:
        survey, kept_shots, fixed_mask, initial_model = _survey_and_start(config, grid, true_model)
    return _finish_experiment(config, device, method, grid, survey, true_model, initial_model,
                              fixed_mask, kept_shots)


def _survey_and_start(config: RunConfig, grid: Grid, true_model: np.ndarray):
    """A 2-D run's survey (decimated as ``data.shots`` says), kept shots, water mask and m0."""
    survey = build_survey(config, grid)
    kept_shots = None
    data = config.data
    if data.noise < 0 or data.highpass < 0 or data.shots < 0:
        raise ConfigError("data.noise, data.highpass and data.shots must be >= 0")
    if data.highpass >= 0.5 / survey.dt and data.highpass > 0:
        raise ConfigError(f"data.highpass = {data.highpass:g} Hz is above the Nyquist frequency "
                          f"{0.5 / survey.dt:g} Hz of survey.dt")
    if data.shots:
        if data.shots > survey.n_shots:
            raise ConfigError(f"data.shots = {data.shots} exceeds the survey's {survey.n_shots} shots")
        kept_shots = signal.decimate_shots(survey.n_shots, data.shots)
        survey = survey.select(kept_shots)
    init = config.initial
    fixed_mask = zoo.water_mask(true_model) if config.inversion.fix_water else None
    if fixed_mask is not None and not fixed_mask.any():
        fixed_mask = None
    initial_model = zoo.initial_model(
        true_model, grid, init.kind, sigma=init.sigma, v_top=init.v_top or None,
        v_bottom=init.v_bottom or None, value=init.value or None, path=init.path or None,
        # The reading of a constant start; every config carries a value (run folders from before
        # the default became "mean" record "minimum" for any kind), so only a constant start uses it.
        constant=init.constant if init.kind == "constant" else "mean", water_mask=fixed_mask)
    return survey, kept_shots, with_depth_limit(fixed_mask, grid, config.inversion.max_depth), \
        initial_model


def with_depth_limit(fixed_mask: np.ndarray | None, grid: Grid, max_depth: float,
                     z0: float = 0.0) -> np.ndarray | None:
    """``fixed_mask`` (or none) with the cells deeper than ``inversion.max_depth`` added (0 = no
    limit); ConfigError when the limit leaves no cell to update."""
    if not max_depth:
        return fixed_mask
    deep = grid.below(max_depth, z0)
    fixed = deep if fixed_mask is None else fixed_mask | deep
    if fixed.all():
        raise ConfigError(f"inversion.max_depth = {max_depth:g} m keeps every cell at m0 (the "
                          f"grid's first row lies at {z0:g} m); raise it or set 0 for no limit")
    return fixed


def _finish_experiment(config, device, method, grid, survey, true_model, initial_model,
                       fixed_mask, kept_shots) -> Experiment:
    """Bounds, solver and the checks of the models against them (2-D and 3-D alike)."""
    inv = config.inversion
    lo = float(min(true_model.min(), initial_model.min()))
    hi = float(max(true_model.max(), initial_model.max()))
    bounds = (inv.vmin or 0.9 * lo, inv.vmax or 1.1 * hi)
    if not 0 < bounds[0] < bounds[1]:
        raise ConfigError(f"velocity bounds must satisfy 0 < vmin < vmax, got {bounds}")
    if initial_model.min() < bounds[0] or initial_model.max() > bounds[1]:
        raise ConfigError(f"the initial model ({initial_model.min():.0f}–{initial_model.max():.0f} m/s) "
                          f"lies outside inversion.vmin/vmax = {bounds[0]:.0f}/{bounds[1]:.0f} m/s")
    phys = config.physics
    options = SolverOptions(
        accuracy=phys.accuracy, storage=phys.storage, storage_compression=phys.storage_compression,
        gradient_sampling_interval=phys.gradient_sampling_interval,
        checkpoint_segments=phys.checkpoint_segments,
        min_points_per_wavelength=phys.min_points_per_wavelength,
        courant_number=phys.courant_number)
    max_vel = phys.max_vel or bounds[1]
    if max_vel < bounds[1]:
        raise ConfigError(f"physics.max_vel = {max_vel:g} m/s is below the upper bound "
                          f"{bounds[1]:g} m/s; the simulation would be unstable")
    solver = make_solver(grid, survey, max_vel=max_vel, pml_freq=phys.pml_freq or None,
                         options=options, device=device)
    solver.check_velocity(torch.as_tensor(true_model), "true model")
    solver.check_velocity(torch.as_tensor(initial_model), "initial model")
    # The slowest velocity the run may produce must still be sampled by the grid.
    solver.check_sampling(bounds[0])
    return Experiment(config=config, grid=grid, survey=survey, true_model=true_model,
                      initial_model=initial_model, fixed_mask=fixed_mask, bounds=bounds,
                      solver=solver, device=device, method=method, kept_shots=kept_shots)
