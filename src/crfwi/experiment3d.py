"""The 3-D parts of building an experiment (issue 15): grid, true model, survey and initial model
of a config with ``model.ny`` > 0 (:mod:`crfwi.config_rules3d`).

:func:`crfwi.experiment.build_experiment` calls these in place of their 2-D counterparts; the rest
of the experiment (bounds, solver, representation, misfit, the inversion loop) is the same code for
both, as DESIGN.md §5 asks: dimension belongs to the grid and the survey.
"""

from __future__ import annotations

import numpy as np

from .config import ConfigError, RunConfig
from .physics.geometry3d import Grid3D, Survey3D
from .models.zoo3d import OVERTHRUST3D_KEY, initial_model3d, load_model3d

__all__ = ["build_grid_and_true_model3d", "build_survey3d", "build_initial_model3d",
           "receiver_count3d", "shot_count3d"]


def _grid(config: RunConfig) -> Grid3D:
    m = config.model
    return Grid3D(m.nz, m.ny, m.nx, m.spacing)


def build_grid_and_true_model3d(config: RunConfig, before_load) -> tuple[Grid3D, np.ndarray]:
    """The ``[nz, ny, nx]`` grid and the true volume on it; ``before_load(grid)`` first (the
    memory check). ``overthrust3d`` is the real volume or an error saying why it is absent:
    a run that names it never falls back silently (the preset names the stand-in itself)."""
    m = config.model
    grid = _grid(config)
    before_load(grid)
    if m.name == OVERTHRUST3D_KEY:
        origin = tuple(float(v) for v in m.origin) if len(m.origin) == 3 else (0.0, 0.0, 0.0)
        window = tuple(float(v) for v in m.window) if m.window else None
        try:
            volume, _ = load_model3d(m.name, grid, seed=config.seed, data_dir=m.data_dir or None,
                                     origin=origin, window=window, fallback=False, **m.options)
        except ValueError as err:
            raise ConfigError(
                f"`model.name` = {m.name!r}: {err} (without the volume, use model.name = "
                "'thrust_fold3d', as the overthrust3d preset does)") from None
        return grid, volume
    if m.window or any(m.origin):
        raise ConfigError(f"`model.window` and `model.origin` apply to the real "
                          f"{OVERTHRUST3D_KEY!r} volume, not to {m.name!r}")
    try:
        volume, _ = load_model3d(m.name, grid, seed=config.seed, **m.options)
    except ValueError as err:
        if m.options:  # the generator names the option; say where it was set
            raise ConfigError(f"`model.options`: {err}") from None
        raise
    return grid, volume


def build_survey3d(config: RunConfig, grid: Grid3D) -> Survey3D:
    """``survey.shot_grid`` shots on the surface, receivers every ``receiver_spacing`` (every
    cell by default) along y and x."""
    s = config.survey
    return Survey3D.surface_grid(
        grid, shots=tuple(s.shot_grid), freq=s.freq, dt=s.dt, nt=s.nt,
        shot_spacing=s.shot_spacing or None, receiver_spacing=s.receiver_spacing or None,
        source_depth=None if s.source_depth < 0 else s.source_depth,
        receiver_depth=None if s.receiver_depth < 0 else s.receiver_depth,
        delay=None if s.delay < 0 else s.delay, free_surface=s.free_surface,
        pml_width=s.pml_width)


def build_initial_model3d(config: RunConfig, true_model: np.ndarray, grid: Grid3D) -> np.ndarray:
    """The ``[initial]`` start on the 3-D grid (:func:`crfwi.models.zoo3d.initial_model3d`)."""
    init = config.initial
    try:
        return initial_model3d(
            true_model, grid, init.kind, sigma=init.sigma, v_top=init.v_top or None,
            v_bottom=init.v_bottom or None, value=init.value or None, path=init.path or None,
            constant=init.constant if init.kind == "constant" else "mean")
    except ValueError as err:
        raise ConfigError(f"[initial] kind = {init.kind!r}: {err}") from None


def receiver_count3d(config: RunConfig, grid: Grid3D) -> int:
    """Receivers of the surface spread, counted as :meth:`Survey3D.surface_grid` lays them."""
    step = config.survey.receiver_spacing
    _, width_y, width_x = grid.extent
    along = [int(width / (step or d) + 1e-9) + 1
             for width, d in ((width_y, grid.dy), (width_x, grid.dx))]
    return along[0] * along[1]


def shot_count3d(config: RunConfig) -> int:
    """Shots of the ``survey.shot_grid``."""
    n_y, n_x = config.survey.shot_grid
    return int(n_y) * int(n_x)
