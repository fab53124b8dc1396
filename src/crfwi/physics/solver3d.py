"""3-D acoustic simulation (issue 15): :class:`WaveSolver3D`, the forward operator on a
:class:`~crfwi.physics.geometry3d.Grid3D` and :class:`~crfwi.physics.geometry3d.Survey3D`.

:class:`crfwi.physics.solver.WaveSolver` is written for any number of spatial dimensions (deepwave picks
1-D, 2-D or 3-D from the model's shape), so this is that class, not a copy of it: the same
``simulate``/``born``/``check_velocity``/``shot_index``/``describe``/``time_substeps``, with
velocity ``[nz, ny, nx]``, cell indices ``(iz, iy, ix)``, six absorbing faces (the top one
free when ``survey.free_surface``) and ``grid_spacing = (dz, dy, dx)``. What it adds is the
3-D gate: deepwave's 3-D storage and gradient paths are newer than its 2-D ones, so only the
options whose 3-D gradient ``tests/test_physics3d.py`` proves are accepted; anything else
(:data:`REFUSED_3D`) is refused when the solver is built, in one line naming the option, rather
than giving a wrong gradient later.
"""

from __future__ import annotations

import numpy as np
import torch

from .geometry3d import Grid3D, Survey3D
from .solver import SolverOptions, WaveSolver

__all__ = ["WaveSolver3D", "REFUSED_3D", "check_options_3d", "make_solver"]

# Every :class:`~crfwi.physics.solver.SolverOptions` value is proven in 3-D by tests/test_physics3d.py
# (so none is refused below), and how (deepwave 0.1.0, CPU, float64, dt below the CFL limit):
#
# * exact — gradcheck (finite differences in every cell: 5e-10 relative), Taylor remainders of
#   slopes 1.005 and 2.000, Born dot test to <= 5e-16: ``storage`` "device", "cpu" and "disk",
#   ``checkpoint_segments`` (equal to the unsegmented gradient to 1e-15; through
#   ``loss.backward()`` only: deepwave's reentrant checkpointing refuses ``torch.autograd.grad``,
#   in 2-D too). On a CPU device deepwave stores "cpu" exactly as "device"; the CUDA test
#   compares the two where they differ.
# * lossy by design, data unchanged, gradient within deepwave's documented bounds:
#   ``storage_compression`` (0.6 % on a misfit gradient, 2 % on a Born adjoint, 1.4 % at
#   30 x 40 x 40; deepwave: 0.2-8 % in 3-D), ``gradient_sampling_interval`` > 1 (a coarser
#   time quadrature: 3e-4 at 2, as in 2-D).
# * ``storage`` "none": forward only, as in 2-D (deepwave refuses a gradient, naming the mode).

#: Options refused in 3-D, each with the reason given in the error. Empty on deepwave 0.1.0: every
#: exposed option passed its 3-D proof. A regression found by a future deepwave goes here (and
#: its test then asserts the refusal), e.g. ``{("storage", "disk"): "its 3-D gradient ..."}``.
REFUSED_3D: dict[tuple[str, object], str] = {}


def check_options_3d(options: SolverOptions) -> None:
    """Raise a one-line ``ValueError`` naming the option when ``options`` holds a value whose 3-D
    gradient is not proven (see :data:`REFUSED_3D`)."""
    for (name, value), why in REFUSED_3D.items():
        if getattr(options, name) == value:
            raise ValueError(f"`physics.{name}` = {value!r} is not supported in 3-D: {why}")


class WaveSolver3D(WaveSolver):
    """The forward operator G: velocity ``[nz, ny, nx]`` (m/s) → data ``[shot, receiver, time]``.

    Arguments as :class:`crfwi.physics.solver.WaveSolver`, with a :class:`Grid3D` and a
    :class:`Survey3D`; per-shot ``source_locations``/``receiver_locations`` hold
    ``(iz, iy, ix)`` cells (``[shot, 1, 3]`` and ``[shot, R, 3]``). ``options`` are refused when
    :func:`check_options_3d` says so.

    Cost: a 3-D shot keeps ``nt`` wavefields of ``(nz + pml) (ny + 2 pml) (nx + 2 pml)`` cells for
    its gradient (deepwave also pads the finite-difference halo), so memory, not time, is usually
    the limit: ``physics.storage = "disk"``, ``checkpoint_segments`` and shot chunks are the
    levers, exactly as in 2-D.
    """

    def __init__(self, grid: Grid3D, survey: Survey3D, *, max_vel: float,
                 pml_freq: float | None = None, options: SolverOptions | None = None,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 wavelet: torch.Tensor | np.ndarray | None = None,
                 source_locations: torch.Tensor | np.ndarray | None = None,
                 receiver_locations: torch.Tensor | np.ndarray | None = None,
                 receiver_mask: torch.Tensor | np.ndarray | None = None) -> None:
        if not isinstance(grid, Grid3D):
            raise ValueError(f"WaveSolver3D needs a Grid3D, got {type(grid).__name__}; use "
                             "crfwi.physics.solver.WaveSolver for a 2-D grid")
        if not isinstance(survey, Survey3D):
            raise ValueError(f"WaveSolver3D needs a Survey3D, got {type(survey).__name__}")
        options = options or SolverOptions()
        check_options_3d(options)
        super().__init__(grid, survey, max_vel=max_vel, pml_freq=pml_freq, options=options,
                         device=device, dtype=dtype, wavelet=wavelet,
                         source_locations=source_locations,
                         receiver_locations=receiver_locations, receiver_mask=receiver_mask)

    def describe(self) -> dict:
        """The 2-D description plus ``dimensions`` = 3 (run folders tell 2-D and 3-D runs apart)."""
        return {**super().describe(), "dimensions": 3}


def make_solver(grid, survey, **kwargs) -> WaveSolver:
    """:class:`WaveSolver3D` for a :class:`Grid3D`, :class:`~crfwi.physics.solver.WaveSolver` for a 2-D
    :class:`~crfwi.physics.geometry.Grid` (one call site for code that serves both, e.g. experiments)."""
    if isinstance(grid, Grid3D):
        return WaveSolver3D(grid, survey, **kwargs)
    if isinstance(survey, Survey3D):
        raise ValueError("a Survey3D needs a Grid3D")
    return WaveSolver(grid, survey, **kwargs)
