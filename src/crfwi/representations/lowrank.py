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
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..geometry import Grid
from .base import Representation, register
from .layers import compute_dtype, sine_network

__all__ = ["LowRank", "FactorNetwork", "default_ranks"]


def default_ranks(grid: Grid, rank_z: int | None, rank_x: int | None) -> tuple[int, int]:
    """Ranks (r1, r2); ``None`` means half of the model dimension (paper App. B.1), at least 1."""
    r1 = max(1, grid.nz // 2) if rank_z is None else int(rank_z)
    r2 = max(1, grid.nx // 2) if rank_x is None else int(rank_x)
    if r1 < 1 or r2 < 1:
        raise ValueError(f"ranks must be >= 1, got rank_z={r1}, rank_x={r2}")
    return r1, r2


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
    """F = A C Bᵀ on the grid's axes, evaluated as one matrix product ``[nz, r1]·[r1, r2]·[r2, nx]``.

    The coordinates must lie on a tensor-product grid (as :meth:`Grid.coords` gives): the depth
    axis is read from ``coords[:, 0, 0]`` and the lateral axis from ``coords[0, :, 1]``.

    Output: the velocity perturbation in km/s (``output_scale = 1000`` turns it into m/s).

    Args:
        grid: the model grid; gives the default ranks.
        rank_z, rank_x: r1 and r2; ``None`` (default) = ``nz // 2`` and ``nx // 2`` (paper App. B.1).
        hidden_features: width of the factor networks (paper: 128).
        hidden_layers: sine layers per factor network (paper "depth 3" → 2 sine + 1 linear).
        omega0: ω0 of the sine layers (paper: as IFWI, 30).
        core_init: ``"balanced"`` (default) draws C from ``U(±1/sqrt(r1·r2))``, so the output's
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

    def __init__(self, grid: Grid, *, rank_z: int | None = None, rank_x: int | None = None,
                 hidden_features: int = 128, hidden_layers: int = 2, omega0: float = 30.0,
                 core_init: str = "balanced", zero_init_output: bool = False) -> None:
        super().__init__(grid)
        r1, r2 = default_ranks(grid, rank_z, rank_x)
        self.factor_z = FactorNetwork(r1, hidden_features=hidden_features, hidden_layers=hidden_layers, omega0=omega0)
        self.factor_x = FactorNetwork(r2, hidden_features=hidden_features, hidden_layers=hidden_layers, omega0=omega0)
        if core_init not in ("balanced", "lrtfr"):
            raise ValueError(f"core_init must be 'balanced' or 'lrtfr', got {core_init!r}")
        bound = 1.0 / math.sqrt(r1 * r2 if core_init == "balanced" else r1)
        self.core = nn.Parameter(torch.empty(r1, r2).uniform_(-bound, bound))
        if zero_init_output:
            with torch.no_grad():
                self.core.zero_()

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        if coords.dim() != 3 or coords.shape[-1] != 2:
            raise ValueError(f"`coords` must be [nz, nx, 2], got shape {tuple(coords.shape)}")
        dtype = compute_dtype(self)
        z = coords[:, 0, 0].to(dtype)
        x = coords[0, :, 1].to(dtype)
        out = self.factor_z(z) @ self.core @ self.factor_x(x).t()
        return out.to(coords.dtype)
