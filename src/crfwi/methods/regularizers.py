"""Model regularisers ``f(m) -> scalar``, added to the misfit by :class:`crfwi.inversion.loop.Inversion`.

Only what the baselines need: the first-order total variation of ADFWI-TV (PAPER.md §3.1), its
StepLR-style weight schedule, and the conversion of ADFWI-TV's weight from ADFWI's misfit units to
crfwi's (:func:`adfwi_alpha_conversion`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

__all__ = ["total_variation", "TVSchedule", "BoundTVSchedule", "adfwi_alpha_conversion",
           "ALPHA_UNITS"]

ALPHA_X = 2e-9
"""ADFWI-TV weight α_x (PAPER.md §3.1, Table 3), in ADFWI's units (see :class:`TVSchedule`)."""
ALPHA_Z = 2e-9
"""ADFWI-TV weight α_z (PAPER.md §3.1, Table 3), in ADFWI's units (see :class:`TVSchedule`)."""
EFFECT_GAIN = 1000.0
"""ADFWI-TV's default multiplier of α (:class:`TVSchedule` ``gain``), chosen by measurement so
that TV acts as the paper's ADFWI-TV does: at the paper's α (gain 1) TV changes the model by
0.2 % of its TV and not its MSE (Marmousi cpu, linear start, 100 iterations: TV −0.2 %, MSE
0.2500 vs ADFWI's 0.2501); gains 100 / 1000 / 10000 give TV −12 / −35 / −49 % and MSE 0.2480 /
**0.2445** / 0.2540, so 1000 is the weight at which TV lowers the error most (the paper's
ADFWI-TV differs from ADFWI by 15–35 % in MSE; BENCHMARKS.md §10.4). ``gain = 1`` is the paper's
weight in ADFWI's units."""
ALPHA_UNITS = ("adfwi", "literal")
"""What the α of a :class:`TVSchedule` are weighed against: ``"adfwi"`` (default) ADFWI's misfit,
converted to crfwi's by :func:`adfwi_alpha_conversion`; ``"literal"`` crfwi's misfit as they are."""


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
    """ADFWI-TV: :func:`total_variation` with weights decayed StepLR-style, in ADFWI's units.

    α(i) = α·gamma^(i // step_size) for the 0-based iteration i (number of completed steps, as
    :attr:`crfwi.inversion.loop.Inversion.iteration`): with the defaults the weights are α for
    iterations 0–19, 0.9α for 20–39, 0.81α for 40–59, … Source: ADFWI
    ``fwi/regularization/base.py`` (``regular_StepLR``) and ``tv_1order.py``; defaults α_x = α_z =
    2e-9, "maximum step size of 20", gamma = 0.9 (PAPER.md §3.1, Table 3). Stateless: the
    iteration is an argument (ADFWI keeps a counter), so resumed runs agree.

    **Units of α** (``alpha_units``). ADFWI adds the TV to *its* misfit, Σ_traces √(Σ_t r² dt) on
    peak-normalised traces (:func:`crfwi.methods.misfits.adfwi_l2`), not to crfwi's ½ Σ r² on raw deepwave
    amplitudes (unit-amplitude Ricker). Against crfwi's misfit the literal α = 2e-9 is ~1e8 times
    too weak to act (BENCHMARKS; ``benchmarks/baseline_effects.py``). No constant converts one
    misfit into the other (one is a sum of trace norms of normalised data, the other half a
    squared norm of raw data), so the conversion is measured, once per run, where ADFWI-TV starts:

        α_crfwi = c·α,   c = ‖∇_m J_crfwi(m0)‖ / ‖∇_m J_ADFWI(m0)‖

    over the free (non-water) cells, with the run's own observed data and misfit
    (:func:`adfwi_alpha_conversion`). The total gradient at m0 is then c·(∇J_ADFWI + α∇TV) up
    to the direction of ∇J, i.e. the TV-to-misfit gradient ratio ADFWI's own setup has at m0, and
    Adam, which ignores a common scale, starts the run as ADFWI-TV does. ``alpha_units =
    "adfwi"`` (default) applies c: :meth:`bind` then needs ``conversion`` (a number or a
    zero-argument function, evaluated once at the first :meth:`BoundTVSchedule.at`; the
    experiment passes one that simulates m0, so a resumed run computes the same c). ``"literal"``
    weighs α against crfwi's misfit as given (c = 1; ADFWI-TV ≡ ADFWI at α = 2e-9).

    Iteration-dependent (``needs_iteration = True``, like :class:`crfwi.methods.misfits.WeciMisfit`):
    ``at(i, dz=, dx=)`` returns the plain ``regularizer(m)`` of iteration i.

    Args:
        alpha_x, alpha_z: weights ≥ 0, default 2e-9.
        step_size: iterations per decay step, default 20.
        gamma: decay factor in (0, 1], default 0.9.
        alpha_units: ``"adfwi"`` (default) or ``"literal"``, see above.
        gain: multiplies α; default :data:`EFFECT_GAIN` = 1000 in ADFWI's units (the weight at
            which TV acts as in the paper), 1 with ``"literal"``; ``gain = 1`` = the paper's α.
    """

    needs_iteration = True

    def __init__(self, alpha_x: float = ALPHA_X, alpha_z: float = ALPHA_Z, step_size: int = 20,
                 gamma: float = 0.9, alpha_units: str = "adfwi", gain: float | None = None) -> None:
        if alpha_x < 0 or alpha_z < 0:
            raise ValueError(f"`alpha_x` and `alpha_z` must be >= 0, got {alpha_x}, {alpha_z}")
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"`step_size` must be an integer >= 1, got {step_size}")
        if not 0 < gamma <= 1:
            raise ValueError(f"`gamma` must be in (0, 1], got {gamma}")
        if alpha_units not in ALPHA_UNITS:
            raise ValueError(f"`alpha_units` must be one of {', '.join(ALPHA_UNITS)}, "
                             f"got {alpha_units!r}")
        self.alpha_x = float(alpha_x)
        self.alpha_z = float(alpha_z)
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        self.alpha_units = alpha_units
        if gain is None:  # the literal reading is the paper's α as written
            gain = EFFECT_GAIN if alpha_units == "adfwi" else 1.0
        if not (0 <= gain < np.inf):
            raise ValueError(f"`gain` must be a finite number >= 0, got {gain}")
        self.gain = float(gain)

    def scale(self, iteration: int) -> float:
        """gamma ** (iteration // step_size)."""
        if iteration < 0:
            raise ValueError(f"`iteration` must be >= 0, got {iteration}")
        return self.gamma ** (int(iteration) // self.step_size)

    def penalty(self, m: torch.Tensor, iteration: int, *, dz: float, dx: float,
                conversion: float = 1.0) -> torch.Tensor:
        """:func:`total_variation` of ``m`` ([nz, nx], m/s) with the weights of ``iteration``,
        times ``conversion`` (the factor c of the class docstring; 1 = α as given)."""
        s = self.scale(iteration) * float(conversion) * self.gain
        return total_variation(m, dz=dz, dx=dx, alpha_x=s * self.alpha_x, alpha_z=s * self.alpha_z)

    def at(self, iteration: int, *, dz: float, dx: float,
           conversion: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
        """The plain regulariser ``m -> penalty(m, iteration, dz=dz, dx=dx, conversion=...)``."""
        _check_spacing(dz, dx)
        return lambda m: self.penalty(m, iteration, dz=dz, dx=dx, conversion=conversion)

    def bind(self, *, dz: float, dx: float,
             conversion: float | Callable[[], float] | None = None) -> "BoundTVSchedule":
        """This schedule on a grid of spacing dz, dx (m): ``at(i)`` then needs the iteration
        only, the form :class:`crfwi.inversion.loop.Inversion` takes.

        ``conversion``: c, or a zero-argument function returning it (called once, at the first
        ``at``); required with ``alpha_units = "adfwi"``, not allowed with ``"literal"``.
        """
        _check_spacing(dz, dx)
        if self.alpha_units == "literal" and conversion is not None:
            raise ValueError("alpha_units = 'literal' takes no `conversion`")
        if self.alpha_units == "adfwi" and conversion is None:
            raise ValueError("alpha_units = 'adfwi' needs the conversion of α to crfwi's misfit "
                             "units (crfwi.methods.regularizers.adfwi_alpha_conversion; the experiment "
                             "passes it), or use alpha_units = 'literal'")
        return BoundTVSchedule(self, dz=dz, dx=dx, conversion=conversion)

    def __repr__(self) -> str:
        return (f"TVSchedule(alpha_x={self.alpha_x:g}, alpha_z={self.alpha_z:g}, "
                f"step_size={self.step_size}, gamma={self.gamma:g}, "
                f"alpha_units={self.alpha_units!r}, gain={self.gain:g})")


class BoundTVSchedule:
    """A :class:`TVSchedule` with its grid spacing and unit conversion fixed (see
    :meth:`TVSchedule.bind`)."""

    needs_iteration = True

    def __init__(self, schedule: TVSchedule, *, dz: float, dx: float,
                 conversion: float | Callable[[], float] | None = None) -> None:
        self.schedule = schedule
        self.dz = float(dz)
        self.dx = float(dx)
        self._conversion = conversion

    @property
    def conversion(self) -> float:
        """c (1 for ``alpha_units = "literal"``); a deferred c is computed here, once."""
        if self._conversion is None:
            return 1.0
        if callable(self._conversion):
            value = float(self._conversion())
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"the TV weight conversion must be a finite number > 0, got {value}")
            self._conversion = value
        return float(self._conversion)

    def at(self, iteration: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return self.schedule.at(iteration, dz=self.dz, dx=self.dx, conversion=self.conversion)

    def __repr__(self) -> str:
        if self._conversion is None:
            extra = ""
        elif callable(self._conversion):
            extra = ", conversion=<at the first iteration>"
        else:
            extra = f", conversion={self._conversion:.6g}"
        return f"{self.schedule!r}.bind(dz={self.dz:g}, dx={self.dx:g}{extra})"


def adfwi_alpha_conversion(solver, velocity, observed: torch.Tensor, misfit, *,
                           free: np.ndarray | torch.Tensor | None = None,
                           shot_chunk: int = 0) -> float:
    """c = ‖∇_m J(m)‖ / ‖∇_m J_ADFWI(m)‖: ADFWI-TV's α in crfwi's misfit units (:class:`TVSchedule`).

    J is ``misfit`` (crfwi's, e.g. :func:`crfwi.methods.misfits.l2`; an iteration-dependent one is taken
    at iteration 0), J_ADFWI is :func:`crfwi.methods.misfits.adfwi_l2` with the survey's dt, both over all
    shots of ``observed`` (the full-survey objective, what one ADFWI iteration sees), their model
    gradients at ``velocity`` (m/s, ``[nz, nx]``; the run's m0) from one simulation. The norms run
    over the ``free`` cells (bool ``[nz, nx]``, True = updated; default all): fixed water cells
    are never updated, in ADFWI (gradient mask) or here. Deterministic for a given run, so a
    resumed run computes the same c.

    Args:
        solver: a :class:`crfwi.physics.solver.WaveSolver` (``simulate(velocity, shots)``).
        velocity: the model where the gradients are compared, m/s.
        observed: the run's observed data ``[shot, receiver, time]``.
        misfit: crfwi's misfit of the run.
        free: optional mask of the updated cells.
        shot_chunk: simulate at most this many shots at once (0 = all).
    """
    from . import misfits  # misfits does not import this module; keep the import local anyway

    if getattr(misfit, "needs_iteration", False):
        misfit = misfit.at(0)
    device = observed.device
    leaf = torch.as_tensor(velocity, dtype=torch.float32, device=device).detach().requires_grad_(True)
    dt = float(solver.survey.dt)
    n_shots = observed.shape[0]
    size = shot_chunk or n_shots
    ours = torch.zeros_like(leaf)
    theirs = torch.zeros_like(leaf)
    for start in range(0, n_shots, size):
        shots = list(range(start, min(start + size, n_shots)))
        predicted = solver.simulate(leaf, shots)
        grad_ours, = torch.autograd.grad(misfit(predicted, observed[shots]), leaf, retain_graph=True)
        grad_theirs, = torch.autograd.grad(misfits.adfwi_l2(predicted, observed[shots], dt=dt), leaf)
        ours += grad_ours
        theirs += grad_theirs
    if free is not None:
        keep = torch.as_tensor(free, dtype=torch.bool, device=device)
        ours, theirs = ours[keep], theirs[keep]
    top, bottom = float(ours.double().norm()), float(theirs.double().norm())
    if not (top > 0 and bottom > 0 and np.isfinite(top) and np.isfinite(bottom)):
        raise ValueError(f"cannot convert the TV weight: misfit gradient norms at m0 are {top:g} "
                         f"(crfwi) and {bottom:g} (ADFWI); use alpha_units = 'literal'")
    return top / bottom
