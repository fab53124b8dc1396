"""IG-FWI and LRG-FWI: a hash-grid encoding fused with a coordinate-network feature branch.

IG-FWI (paper eq. 14, Fig. 4, App. B.1; PAPER.md §3.5):
    F(x) = MLP( sqrt(α)·h(x) ⊕ sqrt(1−α)·I(x) ),  ⊕ = concatenation, α = 0.5 (§6.4),
with the hash encoding h of MPE-FWI (16 levels, base resolution 50; the per-level scale 1.05 is
stated for MPE-FWI only and reused here), a "sinusoidal feature network (2 layers of 128 neurons
with ω0 = 30)" I, and the "fusion MLP (2 layers of 64 neurons)". Table 1: IG − MPE = 39.34K −
14.26K ≈ 25.08K, which the sine branch 2→128→128 (384 + 16,512) plus the 128·64 extra weights of the
widened first fusion layer explain: 16,896 + 8,192 = 25,088 (the rounded table difference is
25.08 ± 0.01K).

LRG-FWI (App. C.5, Table 7; PAPER.md §3.6): "IG-FWI with the tiny INR replaced by a low-rank
representation", no further detail. Design here: the low-rank branch is LR-FWI's factorisation
A(z) C B(x)ᵀ with its sum over the second rank index left open, giving ``rank_x`` features

    L_j(z, x) = [A(z) C]_j · B_j(x),   j = 1 … rank_x,

so that Σ_j L_j(z, x) is exactly an LR-FWI output: a linear fusion layer could reproduce LR-FWI,
and every feature channel is a rank-1 function of (z, x). ``rank_x`` defaults to 128 so that the
feature width and the fusion MLP are those of IG-FWI; ``rank_z`` defaults to nz // 2 as LR-FWI.

The hybrids *hold* a :class:`HashEncoding` and a feature network (composition, DESIGN.md §3.2).

3-D (issue 15; "the same hyper-parameters and neural structure as 2-D", PAPER.md §4.3): both
branches take (z, y, x). IG-FWI: the 3-D hash encoding (same levels, T, F) and a 3→128→128 sine
branch (+128 parameters). LRG-FWI: LR-FWI's 3-D Tucker form with its last (x) index left open,

    L_j(z, y, x) = [C ×1 A(z) ×2 B(y)]_j · X_j(x),   j = 1 … rank_x,

so again Σ_j L_j is an LR-FWI output; the core is r1×r2×rank_x (r1 = nz//2, r2 = ny//2) drawn
from U(±1/sqrt(r1·r2)), LRTFR's 1/sqrt(r1) with the sum over both contracted ranks, so that a
feature's size does not grow with the ranks (in 2-D the same rule gives 1/sqrt(r1)).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..physics.geometry import Grid
from ..physics.geometry3d import Grid3D
from .base import Representation, register
from .hashgrid import HashEncoding, grid_scales
from .layers import compute_dtype, coord_dim, points_of, relu_mlp, sine_network, zero_linear_
from .lowrank import FactorNetwork, default_ranks

__all__ = ["IG", "LRG", "LOWRANK_SCALES"]

# LRG-FWI's fixed multiplier of its low-rank feature block, per grid normalisation (see LRG).
LOWRANK_SCALES = {"literal": 1.0, "balanced": 6.0}


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must lie in [0, 1], got {alpha!r}")
    return alpha


@register("ig", paper="IG-FWI")
class IG(Representation):
    """IG-FWI: ``MLP(sqrt(α)·h(x) ⊕ sqrt(1−α)·I(x))``.

    Output: the velocity perturbation in km/s (``output_scale = 1000`` turns it into m/s).

    Args:
        grid: the model grid (2-D or 3-D; gives both branches' input dimension).
        alpha: α, the weight of the grid branch (paper §6.4: 0.5). √α multiplies the grid
            features and √(1−α) the sine features, as eq. 14 (the appendix proof swaps them; at
            α = 0.5 they agree).
        n_levels, base_resolution, per_level_scale, features_per_level, log2_hashmap_size,
            dense_backend: the hash encoding, defaults as ``hashgrid`` (paper App. B.1).
        sine_features, sine_layers, omega0: the sine branch I (paper: 2 layers of 128, ω0 = 30);
            both layers are sine layers with the SIREN initialisation, and I's output is the
            second sine layer (n_r = 128 features).
        hidden_features, hidden_layers: the ReLU fusion MLP (paper: 2 layers of 64).
        grid_normalisation: ``"balanced"`` (default: grid features of the sine features' RMS and
            Jacobian norm, Theorem 5.2's premise) or ``"literal"`` (tables U(±1e-4)); see
            :data:`~crfwi.representations.hashgrid.GRID_NORMALISATIONS`.
        zero_init_output: zero the fusion MLP's last layer so F ≡ 0 at init (m_θ = m0);
            reachable. The paper does not say it does this.
    """

    output_scale = 1000.0  # km/s → m/s; PAPER.md §9.1 (to be tuned)
    learning_rate = 1e-4  # paper App. B.1: Adam lr 1e-4 for every CR-FWI method

    def __init__(self, grid: Grid | Grid3D, *, alpha: float = 0.5, n_levels: int = 16, base_resolution: int = 50,
                 per_level_scale: float = 1.05, features_per_level: int = 2, log2_hashmap_size: int = 8,
                 dense_backend: str = "gather", sine_features: int = 128, sine_layers: int = 2,
                 omega0: float = 30.0, hidden_features: int = 64, hidden_layers: int = 2,
                 grid_normalisation: str = "balanced",
                 zero_init_output: bool = False) -> None:
        super().__init__(grid)
        self.alpha = _check_alpha(alpha)
        init_scale, feature_scale = grid_scales(grid_normalisation)
        self.encoding = HashEncoding(n_levels=n_levels, base_resolution=base_resolution,
                                     per_level_scale=per_level_scale, features_per_level=features_per_level,
                                     log2_hashmap_size=log2_hashmap_size, dense_backend=dense_backend,
                                     init_scale=init_scale, feature_scale=feature_scale,
                                     n_dims=self.spatial_dim)
        self.sine = sine_network(self.spatial_dim, sine_features, sine_layers, omega0=omega0)
        self.mlp = relu_mlp(self.encoding.out_features + sine_features, hidden_features, hidden_layers, 1)
        if zero_init_output:
            zero_linear_(self.mlp[-1])

    def branch_features(self, coords: torch.Tensor) -> dict[str, torch.Tensor]:
        """The two weighted feature blocks the fusion MLP concatenates, in order: ``"grid"``
        √α·h(x) ``[N, L·F]`` and ``"inr"`` √(1−α)·I(x) ``[N, sine_features]``
        (:func:`crfwi.analysis.diagnostics.branch_report` compares them)."""
        points = points_of(coords, compute_dtype(self), self.spatial_dim)
        return {"grid": math.sqrt(self.alpha) * self.encoding(points),
                "inr": math.sqrt(1.0 - self.alpha) * self.sine(points)}

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        features = torch.cat(list(self.branch_features(coords).values()), dim=1)
        return self.mlp(features).reshape(coords.shape[:-1]).to(coords.dtype)

    def grid_tables(self) -> list[nn.Parameter]:
        return [self.encoding.table]

    def branches(self) -> dict[str, list[nn.Parameter]]:
        """Parameters by branch: the hash ``grid``, the sine ``inr`` and the ``fusion`` MLP."""
        return {"grid": [self.encoding.table], "inr": list(self.sine.parameters()),
                "fusion": list(self.mlp.parameters())}


@register("lrg", paper="LRG-FWI")
class LRG(Representation):
    """LRG-FWI: ``MLP(sqrt(α)·h(x) ⊕ sqrt(1−α)·L(x))`` with low-rank features ``L_j = [A(z)C]_j B_j(x)``.

    The coordinates must lie on a tensor-product grid (as :meth:`Grid.coords` gives): the low-rank
    factors are evaluated once per row (``coords[:, 0, 0]``) and once per column
    (``coords[0, :, 1]``); in 3-D once per depth, crossline and inline position (module docstring).

    Output: the velocity perturbation in km/s (``output_scale = 1000`` turns it into m/s).

    Args:
        grid: the model grid (2-D or 3-D); gives the default ``rank_z`` (and ``rank_y``).
        alpha: α (as IG-FWI, 0.5).
        n_levels, base_resolution, per_level_scale, features_per_level, log2_hashmap_size,
            dense_backend: the hash encoding, defaults as ``hashgrid``.
        rank_z: r1 (default ``nz // 2``, as LR-FWI).
        rank_y: 3-D grids only: r2 of the crossline factor (default ``ny // 2``).
        rank_x: r2 = the number of low-rank features (default 128 = IG-FWI's n_r).
        lr_hidden_features, lr_hidden_layers, omega0: the factor networks, as LR-FWI (128, 2 sine
            layers + linear, ω0 = 30).
        hidden_features, hidden_layers: the ReLU fusion MLP (as IG-FWI: 2 layers of 64).
        grid_normalisation: as IG-FWI; ``"balanced"`` also multiplies the low-rank block by 6
            (:data:`LOWRANK_SCALES`) so that neither branch is below ~25 % of the NTK trace.
        zero_init_output: zero the fusion MLP's last layer so F ≡ 0 at init (m_θ = m0);
            reachable. Not from the paper.
    """

    output_scale = 1000.0  # km/s → m/s; PAPER.md §9.1 (to be tuned)
    learning_rate = 1e-4  # paper App. B.1: Adam lr 1e-4 for every CR-FWI method

    def __init__(self, grid: Grid | Grid3D, *, alpha: float = 0.5, n_levels: int = 16, base_resolution: int = 50,
                 per_level_scale: float = 1.05, features_per_level: int = 2, log2_hashmap_size: int = 8,
                 dense_backend: str = "gather", rank_z: int | None = None, rank_y: int | None = None,
                 rank_x: int = 128,
                 lr_hidden_features: int = 128, lr_hidden_layers: int = 2, omega0: float = 30.0,
                 hidden_features: int = 64, hidden_layers: int = 2, grid_normalisation: str = "balanced",
                 zero_init_output: bool = False) -> None:
        super().__init__(grid)
        self.alpha = _check_alpha(alpha)
        init_scale, feature_scale = grid_scales(grid_normalisation)
        ranks = default_ranks(grid, rank_z, rank_x, rank_y=rank_y)
        r1, r2 = ranks[0], ranks[-1]
        # The low-rank features [A C]_j B_j are ~0.06 RMS at init whatever the grid (C ~ U(±1/sqrt(r1)):
        # the sum over r1 cancels r1); "balanced" multiplies them by 6, between the factor that equalises their NTK
        # trace with the balanced grid's (4.8–6.8) and the one that equalises the RMS (7.0–8.5),
        # measured on 24×48 … 94×288 grids, two seeds (BENCHMARKS.md §10).
        self.lowrank_scale = LOWRANK_SCALES[grid_normalisation]
        self.encoding = HashEncoding(n_levels=n_levels, base_resolution=base_resolution,
                                     per_level_scale=per_level_scale, features_per_level=features_per_level,
                                     log2_hashmap_size=log2_hashmap_size, dense_backend=dense_backend,
                                     init_scale=init_scale, feature_scale=feature_scale,
                                     n_dims=self.spatial_dim)
        self.factor_z = FactorNetwork(r1, hidden_features=lr_hidden_features,
                                      hidden_layers=lr_hidden_layers, omega0=omega0)
        if len(ranks) == 3:  # (z, y, x) order; the 2-D order (z, x) and RNG use are unchanged
            self.factor_y = FactorNetwork(ranks[1], hidden_features=lr_hidden_features,
                                          hidden_layers=lr_hidden_layers, omega0=omega0)
        self.factor_x = FactorNetwork(r2, hidden_features=lr_hidden_features,
                                      hidden_layers=lr_hidden_layers, omega0=omega0)
        bound = 1.0 / math.sqrt(math.prod(ranks[:-1]))  # LRTFR's 1/sqrt(r1) (3-D: the contracted ranks)
        self.core = nn.Parameter(torch.empty(*ranks).uniform_(-bound, bound))
        self.mlp = relu_mlp(self.encoding.out_features + r2, hidden_features, hidden_layers, 1)
        if zero_init_output:
            zero_linear_(self.mlp[-1])

    def lowrank_features(self, coords: torch.Tensor) -> torch.Tensor:
        """``[nz, nx, 2]`` → ``[nz·nx, rank_x]`` features ``[A(z) C]_j · B_j(x)``; in 3-D
        ``[nz, ny, nx, 3]`` → ``[nz·ny·nx, rank_x]`` features ``[C ×1 A(z) ×2 B(y)]_j · X_j(x)``."""
        dtype = compute_dtype(self)
        if coord_dim(coords, self.spatial_dim) == 3:
            a = self.factor_z(coords[:, 0, 0, 0].to(dtype))  # [nz, r1]
            b = self.factor_y(coords[0, :, 0, 1].to(dtype))  # [ny, r2]
            x = self.factor_x(coords[0, 0, :, 2].to(dtype))  # [nx, r3]
            r1, r2, r3 = self.core.shape
            t = (a @ self.core.reshape(r1, r2 * r3)).reshape(-1, r2, r3)  # C ×1 A: [nz, r2, r3]
            planes = torch.matmul(b, t)  # ×2 B: [nz, ny, r3]
            return (planes[:, :, None, :] * x[None, None, :, :]).reshape(-1, r3)
        rows = self.factor_z(coords[:, 0, 0].to(dtype)) @ self.core  # [nz, r2]
        cols = self.factor_x(coords[0, :, 1].to(dtype))  # [nx, r2]
        return (rows[:, None, :] * cols[None, :, :]).reshape(-1, rows.shape[1])

    def branch_features(self, coords: torch.Tensor) -> dict[str, torch.Tensor]:
        """The weighted feature blocks, in order: ``"grid"`` √α·h(x) and ``"lowrank"`` √(1−α)·L(x)."""
        points = points_of(coords, compute_dtype(self), self.spatial_dim)
        return {"grid": math.sqrt(self.alpha) * self.encoding(points),
                "lowrank": math.sqrt(1.0 - self.alpha) * self.lowrank_scale * self.lowrank_features(coords)}

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        features = torch.cat(list(self.branch_features(coords).values()), dim=1)
        return self.mlp(features).reshape(coords.shape[:-1]).to(coords.dtype)

    def grid_tables(self) -> list[nn.Parameter]:
        return [self.encoding.table]

    def branches(self) -> dict[str, list[nn.Parameter]]:
        """Parameters by branch: the hash ``grid``, the ``lowrank`` factors and core, the ``fusion`` MLP."""
        return {"grid": [self.encoding.table],
                "lowrank": [*self.factor_z.parameters(),
                            *(self.factor_y.parameters() if self.spatial_dim == 3 else ()),
                            *self.factor_x.parameters(), self.core],
                "fusion": list(self.mlp.parameters())}
