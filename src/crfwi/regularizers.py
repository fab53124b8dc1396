"""Model regularisers ``f(m) -> scalar``, added to the misfit by :class:`crfwi.inversion.Inversion`.

Only what the baselines need: the first-order total variation of ADFWI-TV (PAPER.md §3.1) and its
StepLR-style weight schedule.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["total_variation", "TVSchedule", "BoundTVSchedule"]

ALPHA_X = 2e-9
"""ADFWI-TV weight α_x (PAPER.md §3.1, Table 3)."""
ALPHA_Z = 2e-9
"""ADFWI-TV weight α_z (PAPER.md §3.1, Table 3)."""


def _check_spacing(dz: float, dx: float) -> None:
    if not (dz > 0 and dx > 0):
        raise ValueError(f"grid spacings `dz` and `dx` must be > 0 (metres), got dz={dz}, dx={dx}")


def total_variation(m: torch.Tensor, *, dz: float, dx: float, alpha_x: float = ALPHA_X,
                    alpha_z: float = ALPHA_Z) -> torch.Tensor:
    """Anisotropic first-order TV  Σ α_x |D_x m| + α_z |D_z m|  of a 2-D model.

    D_x m = (m[:, j+1] − m[:, j]) / dx_km over the nz × (nx − 1) horizontal neighbours and
    D_z m = (m[i+1, :] − m[i, :]) / dz_km over the (nz − 1) × nx vertical ones, spacings converted
    from metres to km (dx_km = dx/1000). With m in m/s a unit step of 100 m/s across one column
    boundary on a 15 m grid costs α_x·100/0.015 per row.

    Source: ADFWI ``fwi/regularization/tv_1order.py`` (``TV_1order``; PAPER.md §3.1, Table 3 calls
    it "isotropic" but the code, followed here, is this anisotropic ℓ1 form). As in ADFWI the
    absolute value is not smoothed: the penalty is differentiable wherever no difference is
    exactly 0, and autograd takes the subgradient 0 there (sign(0) = 0), so flat regions are
    not pushed.

    Args:
        m: velocity ``[nz, nx]`` in m/s.
        dz, dx: grid spacings in metres.
        alpha_x, alpha_z: weights ≥ 0, default 2e-9 (PAPER.md §3.1).

    Returns:
        A scalar tensor, differentiable with respect to ``m``.
    """
    if not isinstance(m, torch.Tensor) or m.ndim != 2:
        shape = tuple(m.shape) if hasattr(m, "shape") else type(m).__name__
        raise ValueError(f"`m` must be a 2-D tensor [nz, nx], got {shape}")
    _check_spacing(dz, dx)
    if alpha_x < 0 or alpha_z < 0:
        raise ValueError(f"`alpha_x` and `alpha_z` must be >= 0, got {alpha_x}, {alpha_z}")
    dx_km, dz_km = dx / 1000.0, dz / 1000.0
    tv_x = (m[:, 1:] - m[:, :-1]).abs().sum() / dx_km
    tv_z = (m[1:, :] - m[:-1, :]).abs().sum() / dz_km
    return alpha_x * tv_x + alpha_z * tv_z


class TVSchedule:
    """ADFWI-TV: :func:`total_variation` with weights decayed StepLR-style.

    α(i) = α·gamma^(i // step_size) for the 0-based iteration i (number of completed steps, as
    :attr:`crfwi.inversion.Inversion.iteration`): with the defaults the weights are α for
    iterations 0–19, 0.9α for 20–39, 0.81α for 40–59, … Source: ADFWI
    ``fwi/regularization/base.py`` (``regular_StepLR``) and ``tv_1order.py``; defaults α_x = α_z =
    2e-9, "maximum step size of 20", gamma = 0.9 (PAPER.md §3.1, Table 3). Stateless: the
    iteration is an argument (ADFWI keeps a counter), so resumed runs agree.

    Iteration-dependent (``needs_iteration = True``, like :class:`crfwi.misfits.WeciMisfit`):
    ``at(i, dz=, dx=)`` returns the plain ``regularizer(m)`` of iteration i.
    """

    needs_iteration = True

    def __init__(self, alpha_x: float = ALPHA_X, alpha_z: float = ALPHA_Z, step_size: int = 20,
                 gamma: float = 0.9) -> None:
        if alpha_x < 0 or alpha_z < 0:
            raise ValueError(f"`alpha_x` and `alpha_z` must be >= 0, got {alpha_x}, {alpha_z}")
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"`step_size` must be an integer >= 1, got {step_size}")
        if not 0 < gamma <= 1:
            raise ValueError(f"`gamma` must be in (0, 1], got {gamma}")
        self.alpha_x = float(alpha_x)
        self.alpha_z = float(alpha_z)
        self.step_size = int(step_size)
        self.gamma = float(gamma)

    def scale(self, iteration: int) -> float:
        """gamma ** (iteration // step_size)."""
        if iteration < 0:
            raise ValueError(f"`iteration` must be >= 0, got {iteration}")
        return self.gamma ** (int(iteration) // self.step_size)

    def penalty(self, m: torch.Tensor, iteration: int, *, dz: float, dx: float) -> torch.Tensor:
        """:func:`total_variation` of ``m`` ([nz, nx], m/s) with the weights of ``iteration``."""
        s = self.scale(iteration)
        return total_variation(m, dz=dz, dx=dx, alpha_x=s * self.alpha_x, alpha_z=s * self.alpha_z)

    def at(self, iteration: int, *, dz: float, dx: float) -> Callable[[torch.Tensor], torch.Tensor]:
        """The plain regulariser ``m -> penalty(m, iteration, dz=dz, dx=dx)``."""
        _check_spacing(dz, dx)
        return lambda m: self.penalty(m, iteration, dz=dz, dx=dx)

    def bind(self, *, dz: float, dx: float) -> "BoundTVSchedule":
        """This schedule on a grid of spacing dz, dx (m): ``at(i)`` then needs the iteration
        only, the form :class:`crfwi.inversion.Inversion` takes."""
        _check_spacing(dz, dx)
        return BoundTVSchedule(self, dz=dz, dx=dx)

    def __repr__(self) -> str:
        return (f"TVSchedule(alpha_x={self.alpha_x:g}, alpha_z={self.alpha_z:g}, "
                f"step_size={self.step_size}, gamma={self.gamma:g})")


class BoundTVSchedule:
    """A :class:`TVSchedule` with its grid spacing fixed (see :meth:`TVSchedule.bind`)."""

    needs_iteration = True

    def __init__(self, schedule: TVSchedule, *, dz: float, dx: float) -> None:
        self.schedule = schedule
        self.dz = float(dz)
        self.dx = float(dx)

    def at(self, iteration: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return self.schedule.at(iteration, dz=self.dz, dx=self.dx)

    def __repr__(self) -> str:
        return f"{self.schedule!r}.bind(dz={self.dz:g}, dx={self.dx:g})"
