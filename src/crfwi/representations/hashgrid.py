"""MPE-FWI: a multi-resolution hash encoding (Instant-NGP; Müller et al. 2022) and a compact MLP.

Paper eq. 13 and App. B.1 (PAPER.md §3.4): 16 levels, base resolution 50, per-level scale 1.05,
then an MLP with 2 hidden layers of 64 neurons. The paper gives neither the table size T nor the
features per level F. Table 1 gives 14.26K parameters; the MLP 32→64→64→1 has 6,337, so the
tables hold about 7.9K: T = 2^8 with F = 2 (16·256·2 = 8,192; total 14,529, +1.9 %) is the
power-of-two choice nearest the paper's count (PAPER.md §9.2). With T = 2^8 every level of the
paper's grid (N_l = 50…103, (N_l+1)^2 ≥ 2,601 > 256) is hashed.

The encoding is written with integer indexing (``table[index]``), so forward-mode AD
(``torch.func.jvp``) works; ``F.grid_sample`` has none (METHODS.md §2.1). A ``grid_sample`` path
for dense levels can be selected with ``dense_backend="grid_sample"`` (reverse mode only).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..geometry import Grid
from .base import Representation, register
from .layers import compute_dtype, points_of, relu_mlp, zero_linear_

__all__ = ["HashEncoding", "HashGrid", "level_resolutions", "PRIMES", "GRID_NORMALISATIONS",
           "grid_scales"]

# Instant-NGP's spatial-hash primes for (dim 0, dim 1): h(c) = (c0·π0 XOR c1·π1) mod T, computed
# in uint32 arithmetic (Müller et al. 2022, eq. 4). Here dim 0 is depth z, dim 1 is lateral x.
PRIMES = (1, 2654435761)
_MASK32 = 0xFFFFFFFF
_DENSE_BACKENDS = ("gather", "grid_sample")

# How the grid encoding of MPE-FWI, IG-FWI and LRG-FWI is scaled: (init_scale, feature_scale) of
# :class:`HashEncoding`. Theorem 5.2 (IG's spectrum between INR's and MPE's) assumes "normalised
# features with comparable gradient norms" (PAPER.md §3.5); the paper gives no table init.
GRID_NORMALISATIONS: dict[str, tuple[float, float]] = {
    # Instant-NGP's table U(±1e-4), no multiplier. Measured on Marmousi (cpu grid, linear start):
    # IG-FWI's grid features are 2.7e-5 RMS against the sine branch's 0.51 (after the √α weights),
    # and the grid holds 3.6e-6 of tr Θ_m -- IG-FWI is then a 2-layer SIREN with a ReLU head.
    "literal": (1e-4, 1.0),
    # The sine branch's scale: features of its RMS (0.72 = 1.85 × 0.386, the RMS of the bilinear
    # interpolation of U(±1) entries) and a per-point Jacobian of its norm, c = 512 ≈ ‖∂I/∂θ‖/‖∂h/∂T‖
    # (measured 483–516 on grids from 12×24 to 188×500, two seeds; BENCHMARKS.md §10). α then
    # weighs two kernels of equal trace, as Theorem 5.2 reads.
    "balanced": (1.85, 512.0),
}


def grid_scales(name: str) -> tuple[float, float]:
    """``(init_scale, feature_scale)`` of the grid normalisation ``name`` (:data:`GRID_NORMALISATIONS`)."""
    try:
        return GRID_NORMALISATIONS[name]
    except KeyError:
        raise ValueError(f"`grid_normalisation` must be one of {', '.join(GRID_NORMALISATIONS)}, "
                         f"got {name!r}") from None


def level_resolutions(n_levels: int, base_resolution: int, per_level_scale: float) -> list[int]:
    """N_l = floor(N_min · b^l), l = 0…L−1 (Instant-NGP eq. 2/3), with a small epsilon so that
    exact products are not floored one below (METHODS.md §2.1)."""
    return [int(math.floor(base_resolution * per_level_scale ** level + 1e-6)) for level in range(n_levels)]


class HashEncoding(nn.Module):
    """Multi-resolution hash encoding of 2-D points in ``[-1, 1]²``: ``[P, 2] → [P, L·F]``.

    Level l has resolution N_l (cells per axis over ``[-1, 1]``) and vertices ``0…N_l`` per axis.
    A point is scaled to ``pos = (c + 1)/2 · N_l``; its lower corner is ``floor(pos)`` clamped to
    ``N_l − 1`` (so ``c = 1`` interpolates onto the last vertex) and its four corners are blended
    bilinearly. Levels with ``(N_l+1)² ≤ T`` are dense (vertex ``(i0, i1)`` → ``i0 + (N_l+1)·i1``,
    table of ``(N_l+1)²`` rows); the others are hashed into T rows with
    ``((i0·1) XOR (i1·2654435761 mod 2^32)) mod T``. Collisions are not resolved (Instant-NGP).
    The output is level-major: features ``[l·F : (l+1)·F]`` belong to level l.

    All levels share one flat parameter ``table`` (``[Σ rows, F]``); ``offsets[l]`` is level l's
    first row. The features are ``feature_scale`` × the interpolated table entries, and the table
    starts at ``U(±init_scale / feature_scale)``, so the features start at ``U(±init_scale)``
    interpolated whatever the scale. ``feature_scale`` c is a fixed multiplier (no parameter): it
    multiplies the encoding's Jacobian, hence its NTK by c² and -- under Adam, whose step is about
    the learning rate per parameter -- the features' step by c. Instant-NGP's reading is c = 1 and
    ``init_scale = 1e-4``; see :data:`GRID_NORMALISATIONS` for the balanced default of the methods.

    Args:
        n_levels: L (paper: 16).
        base_resolution: N_min (paper: 50).
        per_level_scale: b (paper: 1.05).
        features_per_level: F (not in the paper; default 2 as Instant-NGP).
        log2_hashmap_size: log2 T (not in the paper; default 8, see the module docstring).
        init_scale: half-width of the uniform initialisation, in feature units.
        feature_scale: the fixed multiplier c of the table entries (see above).
        dense_backend: ``"gather"`` (indexing; supports ``torch.func.jvp``) or ``"grid_sample"``
            (``F.grid_sample`` for the dense levels; no forward-mode AD). Both give the same values.
    """

    def __init__(self, *, n_levels: int = 16, base_resolution: int = 50, per_level_scale: float = 1.05,
                 features_per_level: int = 2, log2_hashmap_size: int = 8, init_scale: float = 1e-4,
                 feature_scale: float = 1.0, dense_backend: str = "gather") -> None:
        super().__init__()
        if n_levels < 1:
            raise ValueError(f"`n_levels` must be >= 1, got {n_levels}")
        if base_resolution < 1:
            raise ValueError(f"`base_resolution` must be >= 1, got {base_resolution}")
        if per_level_scale < 1:
            raise ValueError(f"`per_level_scale` must be >= 1, got {per_level_scale}")
        if features_per_level < 1:
            raise ValueError(f"`features_per_level` must be >= 1, got {features_per_level}")
        if not 1 <= log2_hashmap_size <= 30:
            raise ValueError(f"`log2_hashmap_size` must be in 1..30, got {log2_hashmap_size}")
        if not (math.isfinite(init_scale) and init_scale > 0 and math.isfinite(feature_scale) and feature_scale > 0):
            raise ValueError(f"`init_scale` and `feature_scale` must be positive, got {init_scale!r}, {feature_scale!r}")
        if dense_backend not in _DENSE_BACKENDS:
            raise ValueError(f"`dense_backend` must be one of {', '.join(_DENSE_BACKENDS)}, got {dense_backend!r}")
        self.n_levels = int(n_levels)
        self.features_per_level = int(features_per_level)
        self.table_size = 1 << int(log2_hashmap_size)
        self.dense_backend = dense_backend
        self.resolutions = level_resolutions(n_levels, base_resolution, per_level_scale)
        self.dense = [(n + 1) ** 2 <= self.table_size for n in self.resolutions]
        rows = [(n + 1) ** 2 if d else self.table_size for n, d in zip(self.resolutions, self.dense)]
        self.offsets = [0]
        for r in rows[:-1]:
            self.offsets.append(self.offsets[-1] + r)
        self.rows = rows
        self.feature_scale = float(feature_scale)
        bound = float(init_scale) / self.feature_scale
        self.table = nn.Parameter(torch.empty(sum(rows), self.features_per_level).uniform_(-bound, bound))
        # Per-level constants as (non-persistent) buffers so that they follow .to(device).
        self.register_buffer("_res", torch.tensor(self.resolutions, dtype=torch.long), persistent=False)
        self.register_buffer("_offset", torch.tensor(self.offsets, dtype=torch.long), persistent=False)
        self.register_buffer("_dense", torch.tensor(self.dense, dtype=torch.bool), persistent=False)

    @property
    def out_features(self) -> int:
        return self.n_levels * self.features_per_level

    def extra_repr(self) -> str:
        return (f"levels={self.n_levels}, resolutions={self.resolutions[0]}..{self.resolutions[-1]}, "
                f"F={self.features_per_level}, T={self.table_size}, dense_levels={sum(self.dense)}, "
                f"feature_scale={self.feature_scale:g}, "
                f"dense_backend={self.dense_backend!r}")

    # ---------------------------------------------------------------------------------------
    def corners(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Table rows ``[P, L, 4]`` (long) and bilinear weights ``[P, L, 4]`` of every point's
        four corners at every level (corner order (0,0), (1,0), (0,1), (1,1) in (dim 0, dim 1))."""
        res = self._res.to(points.dtype)  # [L]
        pos = (points[:, None, :] + 1.0) * 0.5 * res[None, :, None]  # [P, L, 2]
        upper = (self._res - 1).clamp(min=0)[None, :, None]
        lower = torch.minimum(torch.floor(pos).long().clamp(min=0), upper)  # [P, L, 2]
        frac = pos - lower.to(points.dtype)  # in [0, 1] on [-1, 1]
        one = torch.ones_like(frac)
        w0, w1 = one - frac, frac  # weights of the lower / upper vertex per axis
        offsets = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=torch.long, device=points.device)
        corner = lower[:, :, None, :] + offsets[None, None]  # [P, L, 4, 2]
        weights = torch.stack([w0[..., 0] * w0[..., 1], w1[..., 0] * w0[..., 1],
                               w0[..., 0] * w1[..., 1], w1[..., 0] * w1[..., 1]], dim=-1)  # [P, L, 4]
        i0, i1 = corner[..., 0], corner[..., 1]
        dense_index = i0 + (self._res + 1)[None, :, None] * i1
        hashed = ((i0 * PRIMES[0]) & _MASK32) ^ ((i1 * PRIMES[1]) & _MASK32)
        hash_index = hashed % self.table_size
        index = torch.where(self._dense[None, :, None], dense_index, hash_index)
        return index + self._offset[None, :, None], weights

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``points [P, 2]`` in ``[-1, 1]`` → features ``[P, L·F]``."""
        if points.dim() != 2 or points.shape[-1] != 2:
            raise ValueError(f"`points` must be [P, 2], got shape {tuple(points.shape)}")
        table = self.table
        points = points.to(table.dtype)
        if self.dense_backend == "grid_sample" and any(self.dense):
            return self._forward_grid_sample(points)
        index, weights = self.corners(points)
        feats = (table[index] * weights[..., None]).sum(dim=2)  # [P, L, F]
        return self.feature_scale * feats.reshape(points.shape[0], self.out_features)

    def _forward_grid_sample(self, points: torch.Tensor) -> torch.Tensor:
        index, weights = self.corners(points)
        out = []
        for level, (n, dense) in enumerate(zip(self.resolutions, self.dense)):
            if dense:
                rows = self.table[self.offsets[level]:self.offsets[level] + (n + 1) ** 2]
                # row i0 + (n+1)·i1 → image [F, H = i1, W = i0]; grid_sample takes (x = W, y = H).
                image = rows.reshape(n + 1, n + 1, self.features_per_level).permute(2, 0, 1)[None]
                sampled = F.grid_sample(image, points[None, :, None, :], mode="bilinear",
                                        padding_mode="border", align_corners=True)  # [1, F, P, 1]
                out.append(sampled[0, :, :, 0].t())
            else:
                out.append((self.table[index[:, level]] * weights[:, level, :, None]).sum(dim=1))
        return self.feature_scale * torch.cat(out, dim=1)

    # ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def reference(self, points: torch.Tensor) -> torch.Tensor:
        """Slow twin of :meth:`forward` for tests: a plain Python loop over points, levels and
        corners, with the hash computed on Python integers (uint32 wrap-around by masking)."""
        table = self.table.detach().cpu().double()
        pts = points.detach().cpu().double().tolist()
        out = torch.zeros(len(pts), self.out_features, dtype=torch.float64)
        for p, (c0, c1) in enumerate(pts):
            for level, n in enumerate(self.resolutions):
                u0, u1 = (c0 + 1.0) / 2.0 * n, (c1 + 1.0) / 2.0 * n
                l0 = min(max(int(math.floor(u0)), 0), max(n - 1, 0))
                l1 = min(max(int(math.floor(u1)), 0), max(n - 1, 0))
                f0, f1 = u0 - l0, u1 - l1
                for d0 in (0, 1):
                    for d1 in (0, 1):
                        j0, j1 = l0 + d0, l1 + d1
                        w = (f0 if d0 else 1.0 - f0) * (f1 if d1 else 1.0 - f1)
                        if (n + 1) ** 2 <= self.table_size:
                            row = j0 + (n + 1) * j1
                        else:
                            row = (((j0 * PRIMES[0]) & _MASK32) ^ ((j1 * PRIMES[1]) & _MASK32)) % self.table_size
                        row += self.offsets[level]
                        for f in range(self.features_per_level):
                            out[p, level * self.features_per_level + f] += w * table[row, f]
        return self.feature_scale * out


@register("hashgrid", paper="MPE-FWI")
class HashGrid(Representation):
    """MPE-FWI: ``F(x) = MLP(h(x))`` with a :class:`HashEncoding` h and a ReLU MLP.

    Output: the velocity perturbation in km/s (``output_scale = 1000`` turns it into m/s).

    Args:
        grid: the model grid (unused beyond the interface).
        n_levels, base_resolution, per_level_scale: paper App. B.1: 16, 50, 1.05.
        features_per_level, log2_hashmap_size: not in the paper; 2 and 8 (≈ Table 1's 14.26K).
        hidden_features, hidden_layers: the MLP (paper App. B.1: 2 hidden layers of 64); ReLU, as
            Instant-NGP (the paper names no activation).
        dense_backend: see :class:`HashEncoding`.
        grid_normalisation: ``"balanced"`` (default) or ``"literal"``, :data:`GRID_NORMALISATIONS`;
            the same encoding as IG-FWI's grid branch, as Theorems 5.1/5.2 compare them.
        zero_init_output: zero the MLP's last layer so F ≡ 0 at init (m_θ = m0); reachable. The
            paper does not say it does this.
    """

    output_scale = 1000.0  # km/s → m/s; PAPER.md §9.1 (to be tuned)
    learning_rate = 1e-4  # paper App. B.1: Adam lr 1e-4 for every CR-FWI method

    def __init__(self, grid: Grid, *, n_levels: int = 16, base_resolution: int = 50,
                 per_level_scale: float = 1.05, features_per_level: int = 2, log2_hashmap_size: int = 8,
                 hidden_features: int = 64, hidden_layers: int = 2, dense_backend: str = "gather",
                 grid_normalisation: str = "balanced", zero_init_output: bool = False) -> None:
        super().__init__(grid)
        init_scale, feature_scale = grid_scales(grid_normalisation)
        self.encoding = HashEncoding(n_levels=n_levels, base_resolution=base_resolution,
                                     per_level_scale=per_level_scale, features_per_level=features_per_level,
                                     log2_hashmap_size=log2_hashmap_size, dense_backend=dense_backend,
                                     init_scale=init_scale, feature_scale=feature_scale)
        self.mlp = relu_mlp(self.encoding.out_features, hidden_features, hidden_layers, 1)
        if zero_init_output:
            zero_linear_(self.mlp[-1])

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        points = points_of(coords, compute_dtype(self))
        out = self.mlp(self.encoding(points))
        return out.reshape(coords.shape[:-1]).to(coords.dtype)

    def grid_tables(self) -> list[nn.Parameter]:
        return [self.encoding.table]
