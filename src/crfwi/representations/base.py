"""The representation interface, its registry, and the velocity model built around it.

A *representation* is an ``nn.Module`` that maps the grid's normalised coordinates
``[nz, nx, 2]`` (last axis ``(z, x)`` in ``[-1, 1]``) to a model perturbation ``[nz, nx]``
in its own output units -- in 3-D (issue 15), a :class:`~crfwi.physics.geometry3d.Grid3D`'s coordinates
``[nz, ny, nx, 3]`` (last axis ``(z, y, x)``) to ``[nz, ny, nx]``; a representation is built for
one dimension, the grid's. Everything else -- scaling that output to m/s, adding the initial
model m0, bounding to a velocity range, keeping a water layer fixed -- is done once, by
:class:`VelocityModel`, not by each representation (the paper's eq. 6: m_θ = m0 + F_θ(x)).
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..physics.geometry import Grid
from ..physics.geometry3d import Grid3D

__all__ = ["Representation", "VelocityModel", "register", "build", "available", "describe", "bound",
           "float32_bounds", "BOUND_GRADIENTS", "STARTS"]


class Representation(nn.Module):
    """Base class: ``forward(coords [nz, nx, 2]) -> perturbation [nz, nx]`` on a 2-D :class:`Grid`,
    ``forward(coords [nz, ny, nx, 3]) -> [nz, ny, nx]`` on a 3-D :class:`Grid3D`.

    Class attributes a subclass sets:
        output_scale: m/s per unit of output; :class:`VelocityModel` multiplies by it.
        learning_rate: the default Adam learning rate (the paper's value for this method).
    """

    output_scale: float = 1.0
    learning_rate: float = 1e-4

    def __init__(self, grid: Grid | Grid3D) -> None:
        super().__init__()
        self.grid_shape = grid.shape
        self.spatial_dim = len(grid.shape)  # 2 (z, x) or 3 (z, y, x): the coordinates' last axis

    def forward(self, coords: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def grid_tables(self) -> list[nn.Parameter]:
        """The parameters that are grid/feature tables (none by default); a subclass with tables
        overrides this, and :meth:`parameter_groups` does the rest."""
        return []

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Named groups of parameters that may take separate learning rates: ``"grid"`` (the
        :meth:`grid_tables`, when there are any) and ``"network"`` (every other parameter)."""
        tables = self.grid_tables()
        table_ids = {id(t) for t in tables}
        groups = {"grid": tables} if tables else {}
        groups["network"] = [p for p in self.parameters() if p.requires_grad and id(p) not in table_ids]
        return groups

    @torch.no_grad()
    def clip_(self, low: torch.Tensor, high: torch.Tensor) -> None:
        """Project parameters so that the output stays within ``[low, high]`` (the grid's shape,
        output units). Only representations whose parameters *are* the output (pixel) can do this
        exactly; the default does nothing and :class:`VelocityModel` clamps the rendered model.
        """

    def n_parameters(self) -> int:
        """Number of scalar parameters (a complex entry counts once, as ``numel`` does)."""
        return sum(p.numel() for p in self.parameters())


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

_REGISTRY: dict[str, tuple[type[Representation], str]] = {}


def register(name: str, *, paper: str) -> Callable[[type[Representation]], type[Representation]]:
    """Class decorator adding a representation under ``name`` (``paper`` is the method's name in the paper)."""

    def decorate(cls: type[Representation]) -> type[Representation]:
        if name in _REGISTRY:
            raise ValueError(f"representation {name!r} is already registered")
        _REGISTRY[name] = (cls, paper)
        cls.registry_name = name  # type: ignore[attr-defined]
        return cls

    return decorate


def available() -> list[str]:
    """Registered representation names."""
    return sorted(_REGISTRY)


def _lookup(name: str) -> tuple[type[Representation], str]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(available())}") from None


def options(name: str) -> dict[str, object]:
    """The keyword options of representation ``name`` with their defaults."""
    cls, _ = _lookup(name)
    sig = inspect.signature(cls.__init__)
    return {p.name: p.default for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def describe(name: str) -> dict[str, object]:
    """Name, paper method name and options of a registered representation."""
    cls, paper = _lookup(name)
    return {"name": name, "paper": paper, "class": cls.__name__, "options": options(name),
            "learning_rate": cls.learning_rate, "output_scale": cls.output_scale}


def build(name: str, grid: Grid | Grid3D, **kwargs) -> Representation:
    """Build representation ``name`` on ``grid`` (2-D :class:`Grid` or 3-D :class:`Grid3D`); unknown
    names and options raise ``ValueError`` listing the valid ones."""
    cls, _ = _lookup(name)
    valid = options(name)
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        listed = ", ".join(valid) if valid else "none"
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for method {name!r}; valid: {listed}")
    return cls(grid, **kwargs)


# --------------------------------------------------------------------------------------------
# The velocity model m_θ = bound(m0 + s · (F_θ(x) − F_θ0(x)))
# --------------------------------------------------------------------------------------------

BOUND_GRADIENTS = ("straight-through", "inward", "zero")
STARTS = ("centred", "raw")


def float32_bounds(vmin: float, vmax: float) -> tuple[float, float]:
    """``(vmin, vmax)`` rounded *inward* to float32-representable values.

    The model is rendered in float32 while the solver's stability limit (``max_vel``) is a float64;
    about half of all decimal bounds round *up* in float32 (float32(4000.1) = 4000.10009765625), so
    a cell clamped to float32(vmax) could exceed ``max_vel`` and be refused. Rounding the bound
    down (vmin up) keeps every rendered value inside the float64 bounds.
    """
    lo = np.float32(vmin)
    if float(lo) < vmin:
        lo = np.nextafter(lo, np.float32(np.inf))
    hi = np.float32(vmax)
    if float(hi) > vmax:
        hi = np.nextafter(hi, np.float32(-np.inf))
    return float(lo), float(hi)


class _InwardClamp(torch.autograd.Function):
    """clamp(u, low, high) whose backward passes the gradient wherever a descent step moves the
    cell inwards: inside the bounds always, above ``high`` only if ∂J/∂m > 0, below ``low`` only
    if ∂J/∂m < 0. Its forward-mode derivative (the NTK's J_m) is the identity, as the
    straight-through bound's: the kernel is a linearisation and has no one-sided form."""

    generate_vmap_rule = True

    @staticmethod
    def forward(u: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return u.clamp(low, high)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        u, low, high = inputs
        ctx.save_for_backward(u)
        ctx.low, ctx.high = low, high

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (u,) = ctx.saved_tensors
        outward = ((u > ctx.high) & (grad < 0)) | ((u < ctx.low) & (grad > 0))
        return torch.where(outward, torch.zeros_like(grad), grad), None, None

    @staticmethod
    def jvp(ctx, du: torch.Tensor, *_):
        return du


def bound(model: torch.Tensor, low: float, high: float, *, gradient: str = "inward") -> torch.Tensor:
    """``model`` clamped to ``[low, high]``.

    ``gradient = "straight-through"``: the value is clamped, the derivative is the
    identity everywhere, so a cell outside the bounds still tells the parameters which way to go
    (written as ``u + (clamp(u) − u).detach()``, which forward- and reverse-mode AD both handle).
    But nothing then stops the misfit from pushing a clamped cell further out, and through the
    shared parameters of a network that can run away: LR-FWI from the constant start on the salt
    stand-in ended with 79 % of its cells outside the bounds and unbounded values from −58 to
    +390 km/s (MPE-FWI 17 %; BENCHMARKS.md §10.8).
    ``"inward"`` (default): the value is clamped and a cell outside the bounds passes its gradient only when
    a descent step moves it back inside (:class:`_InwardClamp`); no cell is frozen on its way
    back, none is pushed further out.
    ``"zero"``: a plain clamp, whose derivative is 0 outside the bounds -- the cells there are
    frozen until the parameters move them back by way of other cells (measured at initialisation
    from constant starts: up to 40 % of WinFWI's, 33 % of LR-FWI's and all of LRG-FWI's cells on
    BP; BENCHMARKS.md §10.1).
    """
    if gradient == "zero":
        return model.clamp(low, high)
    if gradient == "inward":
        return _InwardClamp.apply(model, float(low), float(high))
    if gradient != "straight-through":
        raise ValueError(f"`bound_gradient` must be one of {', '.join(BOUND_GRADIENTS)}, got {gradient!r}")
    return model + (model.clamp(low, high) - model).detach()


class VelocityModel(nn.Module):
    """m_θ(x) = bound(m0(x) + s · (F_θ(x) − F_θ0(x)), vmin, vmax), with optional fixed cells (water).

    Every array has the grid's shape: ``[nz, nx]`` on a 2-D :class:`Grid`, ``[nz, ny, nx]`` on a
    3-D :class:`Grid3D` (nothing below depends on the number of axes).

    Args:
        representation: F_θ, built on the same grid.
        initial: m0, the grid's shape, in m/s.
        grid: the model grid (gives the coordinates).
        bounds: ``(vmin, vmax)`` in m/s; the rendered model is kept inside (see :func:`bound`).
        fixed_mask: optional bool of the grid's shape; True cells keep m0 (e.g. a water layer).
        output_scale: s in m/s per unit output; default the representation's ``output_scale``.
        start: ``"centred"`` (default) subtracts the network's output at initialisation, F_θ0, kept
            as a buffer, so m_θ0 = m0 exactly while J_m = ∂m/∂θ -- hence every NTK -- is unchanged;
            ``"raw"`` is the literal m0 + s·F_θ (a random network adds its initial output, e.g.
            ≈ 0.2 km/s RMS for WinFWI). The paper writes m_θ = m0 + F_θ and is silent on F_θ0
            (PAPER.md §9.1); the choice is measured in BENCHMARKS.md §10.
        bound_gradient: the derivative of the bounds, :func:`bound` (default inward).
    """

    def __init__(self, representation: Representation, initial: torch.Tensor, grid: Grid | Grid3D, *,
                 bounds: tuple[float, float], fixed_mask: torch.Tensor | None = None,
                 output_scale: float | None = None, start: str = "centred",
                 bound_gradient: str = "inward") -> None:
        super().__init__()
        initial = torch.as_tensor(initial)
        if tuple(initial.shape) != grid.shape:
            raise ValueError(f"`initial` must have the grid's shape {grid.shape}, got {tuple(initial.shape)}")
        vmin, vmax = (float(b) for b in bounds)
        if not 0 < vmin < vmax:
            raise ValueError(f"`bounds` must satisfy 0 < vmin < vmax, got ({vmin:g}, {vmax:g})")
        if start not in STARTS:
            raise ValueError(f"`start` must be one of {', '.join(STARTS)}, got {start!r}")
        if bound_gradient not in BOUND_GRADIENTS:
            raise ValueError(f"`bound_gradient` must be one of {', '.join(BOUND_GRADIENTS)}, "
                             f"got {bound_gradient!r}")
        self.representation = representation
        self.bounds = (vmin, vmax)
        self.render_bounds = float32_bounds(vmin, vmax)  # what forward() clamps to (float32-exact)
        self.start = start
        self.bound_gradient = bound_gradient
        self.output_scale = float(representation.output_scale if output_scale is None else output_scale)
        self.register_buffer("initial", initial.detach().clone().float())
        self.register_buffer("coords", grid.coords())
        if fixed_mask is None:
            fixed_mask = torch.zeros(grid.shape, dtype=torch.bool)
        fixed_mask = torch.as_tensor(fixed_mask, dtype=torch.bool)
        if tuple(fixed_mask.shape) != grid.shape:
            raise ValueError(f"`fixed_mask` must have the grid's shape {grid.shape}, got {tuple(fixed_mask.shape)}")
        self.register_buffer("fixed_mask", fixed_mask)
        # F_θ0 in output units; zero for "raw" (and for the pixel grid, whose F_θ0 is 0 anyway).
        offset = torch.zeros(grid.shape)
        if start == "centred":
            with torch.no_grad():
                offset = self.representation(self.coords).detach().float().clone()  # never a view of θ
        self.register_buffer("start_offset", offset)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint from before the centred start (crfwi < issue 11) has no F_θ0: such a run
        # started at m0 + F_θ0, so it resumes as "raw" (offset 0), exactly as it ran.
        key = prefix + "start_offset"
        if key not in state_dict and (prefix + "initial") in state_dict:
            state_dict[key] = torch.zeros_like(self.start_offset)
            self.start = "raw"
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def perturbation(self) -> torch.Tensor:
        """s · (F_θ(x) − F_θ0(x)) in m/s, the grid's shape (F_θ0 = 0 with ``start = "raw"``)."""
        return self.output_scale * (self.representation(self.coords) - self.start_offset)

    def unbounded(self) -> torch.Tensor:
        """m0 + perturbation with the fixed cells at m0, before the bounds (m/s, the grid's shape)."""
        model = self.initial + self.perturbation()
        return torch.where(self.fixed_mask, self.initial, model)

    def forward(self) -> torch.Tensor:
        """The velocity model in m/s, the grid's shape, inside the bounds."""
        return bound(self.unbounded(), *self.render_bounds, gradient=self.bound_gradient)

    @torch.no_grad()
    def project_(self) -> None:
        """After an optimiser step: keep parameters whose value is the model inside the bounds."""
        low = (self.render_bounds[0] - self.initial) / self.output_scale + self.start_offset
        high = (self.render_bounds[1] - self.initial) / self.output_scale + self.start_offset
        self.representation.clip_(low, high)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return self.representation.parameter_groups()
