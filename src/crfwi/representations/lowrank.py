"""LR-FWI: a low-rank tensor-function representation (LRTFR; Luo et al. 2023, TPAMI).

Paper eq. 12 (PAPER.md §3.3): F(z, x) = A(z) · C · B(x)ᵀ, with 1-D coordinate networks
A: R → R^{r1} and B: R → R^{r2} and a learnable core C ∈ R^{r1×r2}. App. B.1: sine activation as
IFWI (ω0 = 30), "depth 3, 128 neurons", rank "half of the model dimension" (r1 = nz//2,
r2 = nx//2).

Layer convention (LRTFR's reference code, ``Continuous-Tensor-Toolbox``): each factor network is
``SineLayer(1→128) → SineLayer(128→128) → Linear(128→r)`` -- "depth 3" = three linear layers, the
last one linear. On BP 188×500 the two networks hold 2·(256 + 16,512) + 129·(94 + 250) = 77,912
parameters, which is exactly Table 1's 77.91K: the paper's count leaves out the core (in LRTFR's
code the core is a tensor outside the network). With the core (94·250 = 23,500) the total is
101,412; :meth:`Representation.n_parameters` counts it.

3-D (issue 15) -- the Tucker form, LRTFR's own form for a 3-way tensor:

    F(z, y, x) = Σ_abc C_abc A_a(z) B_b(y) X_c(x) = C ×1 A(z) ×2 B(y) ×3 X(x),

with three 1-D factor networks as above and a core tensor C ∈ R^{r1×r2×r3}, ranks half of each
model dimension (r = nz//2, ny//2, nx//2), "the same hyper-parameters and neural structure as 2-D"
(PAPER.md §4.3). Why Tucker rather than CP (Σ_r a_r(z) b_r(y) c_r(x)):

* relation to 2-D: the paper's A C Bᵀ *is* the order-2 Tucker form (a full core matrix, one rank
  per axis); Tucker is its literal extension and LRTFR's 3-D model (Luo et al. 2023), which LR-FWI
  follows, while CP would need a new, single rank (CP is Tucker with a superdiagonal core).
* parameters: the factor networks are 3·16,768 + 129·(r1+r2+r3); the core r1·r2·r3 grows as the
  cube of the ranks: 15·20·20 = 6,000 of 63,399 on 30×40×40, but 30·80·80 = 192,000 of 266,814 on
  the paper's 60×160×160 (74,814 without the core, Table 1's way of counting). CP at rank 80
  there would be 81,264 (no core), with one rank shared by every axis.
* evaluation on the tensor-product grid: three mode products, C ×3 X, then ×2 B, then ×1 A:
  r1r2r3·nx + r1r2·ny·nx + r1·nz·ny·nx multiply-adds -- 1.44 M on 30×40×40; 138 M on 60×160×160,
  about 90 per cell once per iteration (the solver spends far more per cell and time step). CP
  costs R·nz·ny·nx, the same order. Measured on one CPU thread, forward + backward on 30×40×40
  (float32): Tucker 1.8 ms, of which the contraction 0.6 ms (forward alone 0.5 ms); CP at rank 20
  1.9 ms -- both dominated by the factor networks.
* the core's balanced init U(±1/sqrt(r1·r2·r3)) keeps F's size independent of the ranks, as in 2-D;
  a product of three factors, F is about half the 2-D size at init (0.034 km/s RMS on 30×40×40
  against 0.070 on a 30×40 section, seed 0); with the centred start this only scales J_m.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..physics.geometry import Grid
from ..physics.geometry3d import Grid3D
from .base import Representation, register
from .layers import compute_dtype, coord_dim, sine_network

__all__ = ["LowRank", "FactorNetwork", "default_ranks"]


def default_ranks(grid: Grid | Grid3D, rank_z: int | None, rank_x: int | None, *,
                  rank_y: int | None = None) -> tuple[int, ...]:
    """Ranks (r1, r2) on a 2-D grid, (r1, r2, r3) for (z, y, x) on a 3-D grid; ``None`` means half
    of the model dimension (paper App. B.1), at least 1. ``rank_y`` is for 3-D grids only."""
    if len(grid.shape) == 2 and rank_y is not None:
        raise ValueError(f"rank_y applies to a 3-D grid only, got rank_y={rank_y} on a 2-D grid")
    given = (rank_z, rank_x) if len(grid.shape) == 2 else (rank_z, rank_y, rank_x)
    ranks = tuple(max(1, n // 2) if r is None else int(r) for n, r in zip(grid.shape, given))
    if min(ranks) < 1:
        names = ("rank_z", "rank_x") if len(ranks) == 2 else ("rank_z", "rank_y", "rank_x")
        raise ValueError("ranks must be >= 1, got " + ", ".join(f"{n}={r}" for n, r in zip(names, ranks)))
    return ranks


class FactorNetwork(nn.Module):
    """A 1-D factor function ``R → R^rank``: ``hidden_layers`` sine layers (SIREN init, ω0), then a
    linear layer to ``rank`` outputs (PyTorch's default init, as LRTFR's ``nn.Linear``)."""

    def __init__(self, rank: int, *, hidden_features: int, hidden_layers: int, omega0: float) -> None:
        super().__init__()
        self.body = sine_network(1, hidden_features, hidden_layers, omega0=omega0)
        self.head = nn.Linear(hidden_features, rank)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """``t [n]`` → ``[n, rank]``."""
        return self.head(self.body(t[:, None]))


@register("lowrank", paper="LR-FWI")
class LowRank(Representation):
    """F = A C Bᵀ on the grid's axes, evaluated as one matrix product ``[nz, r1]·[r1, r2]·[r2, nx]``;
    in 3-D the Tucker form C ×1 A(z) ×2 B(y) ×3 X(x) (module docstring), ``[nz, ny, nx]``.

    The coordinates must lie on a tensor-product grid (as :meth:`Grid.coords` gives): the depth
    axis is read from ``coords[:, 0, 0]`` and the lateral axis from ``coords[0, :, 1]`` (3-D:
    ``coords[:, 0, 0, 0]``, ``coords[0, :, 0, 1]``, ``coords[0, 0, :, 2]``).

    Output: the velocity perturbation in km/s (``output_scale = 1000`` turns it into m/s).

    Args:
        grid: the model grid; gives the default ranks.
        rank_z, rank_x: r1 and r2; ``None`` (default) = ``nz // 2`` and ``nx // 2`` (paper App. B.1).
        rank_y: 3-D grids only: the crossline rank; ``None`` (default) = ``ny // 2``.
        hidden_features: width of the factor networks (paper: 128).
        hidden_layers: sine layers per factor network (paper "depth 3" → 2 sine + 1 linear).
        omega0: ω0 of the sine layers (paper: as IFWI, 30).
        core_init: ``"balanced"`` (default) draws C from ``U(±1/sqrt(r1·r2))`` (3-D: r1·r2·r3), so the output's
            size does not grow with the ranks (F RMS ≈ 0.05–0.1 km/s at init on any grid, the
            order of IFWI's); ``"lrtfr"`` uses LRTFR's ``U(±1/sqrt(r1))``, whose output grows as
            sqrt(r2): ≈ 0.8 km/s RMS on the paper's 94×288 Marmousi grid, which pins m_θ to the
            velocity bounds from the first iteration (measured: a paper-scale constant-start
            run did not move in 1500 iterations, BENCHMARKS.md).
        zero_init_output: zero the core C so F ≡ 0 at init (m_θ = m0); reachable. The first step
            then moves C only (∂F/∂A = C Bᵀ = 0). The paper does not say it does this.
    """

    output_scale = 1000.0  # km/s → m/s; PAPER.md §9.1 (to be tuned)
    learning_rate = 1e-4  # paper App. B.1: Adam lr 1e-4 for every CR-FWI method

    def __init__(self, grid: Grid | Grid3D, *, rank_z: int | None = None, rank_y: int | None = None,
                 rank_x: int | None = None, hidden_features: int = 128, hidden_layers: int = 2,
                 omega0: float = 30.0, core_init: str = "balanced", zero_init_output: bool = False) -> None:
        super().__init__(grid)
        ranks = default_ranks(grid, rank_z, rank_x, rank_y=rank_y)
        net = dict(hidden_features=hidden_features, hidden_layers=hidden_layers, omega0=omega0)
        self.factor_z = FactorNetwork(ranks[0], **net)
        if len(ranks) == 3:  # built in (z, y, x) order; the 2-D order (z, x) and RNG use are unchanged
            self.factor_y = FactorNetwork(ranks[1], **net)
        self.factor_x = FactorNetwork(ranks[-1], **net)
        if core_init not in ("balanced", "lrtfr"):
            raise ValueError(f"core_init must be 'balanced' or 'lrtfr', got {core_init!r}")
        bound = 1.0 / math.sqrt(math.prod(ranks) if core_init == "balanced" else ranks[0])
        self.core = nn.Parameter(torch.empty(*ranks).uniform_(-bound, bound))
        if zero_init_output:
            with torch.no_grad():
                self.core.zero_()

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        if self.spatial_dim == 3:
            return self._forward3d(coords)
        if coords.dim() != 3 or coords.shape[-1] != 2:
            raise ValueError(f"`coords` must be [nz, nx, 2], got shape {tuple(coords.shape)}")
        dtype = compute_dtype(self)
        z = coords[:, 0, 0].to(dtype)
        x = coords[0, :, 1].to(dtype)
        out = self.factor_z(z) @ self.core @ self.factor_x(x).t()
        return out.to(coords.dtype)

    def factors(self, coords: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The factor matrices on the grid's axes: ``(A [nz, r1], B [nx, r2])`` in 2-D,
        ``(A [nz, r1], B [ny, r2], X [nx, r3])`` in 3-D."""
        coord_dim(coords, self.spatial_dim)
        dtype = compute_dtype(self)
        if self.spatial_dim == 2:
            return self.factor_z(coords[:, 0, 0].to(dtype)), self.factor_x(coords[0, :, 1].to(dtype))
        return (self.factor_z(coords[:, 0, 0, 0].to(dtype)), self.factor_y(coords[0, :, 0, 1].to(dtype)),
                self.factor_x(coords[0, 0, :, 2].to(dtype)))

    def _forward3d(self, coords: torch.Tensor) -> torch.Tensor:
        a, b, x = self.factors(coords)
        r1, r2, r3 = self.core.shape
        t = (self.core.reshape(r1 * r2, r3) @ x.t()).reshape(r1, r2, -1)  # C ×3 X: [r1, r2, nx]
        t = torch.matmul(b, t)  # ×2 B: [r1, ny, nx]
        out = (a @ t.reshape(r1, -1)).reshape(a.shape[0], b.shape[0], x.shape[0])  # ×1 A
        return out.to(coords.dtype)
