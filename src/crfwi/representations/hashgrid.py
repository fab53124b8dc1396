"""MPE-FWI: a multi-resolution hash encoding (Instant-NGP; Müller et al. 2022) and a compact MLP.

Paper eq. 13 and App. B.1 (PAPER.md §3.4): 16 levels, base resolution 50, per-level scale 1.05,
then an MLP with 2 hidden layers of 64 neurons. The paper gives neither the table size T nor the
features per level F. Table 1 gives 14.26K parameters; the MLP 32→64→64→1 has 6,337, so the
tables hold about 7.9K: T = 2^8 with F = 2 (16·256·2 = 8,192; total 14,529, +1.9 %) is the
power-of-two choice nearest the paper's count (PAPER.md §9.2). With T = 2^8 every level of the
paper's grid (N_l = 50…103, (N_l+1)^2 ≥ 2,601 > 256) is hashed.

3-D (issue 15; PAPER.md §4.3: "the same hyper-parameters and neural structure as 2-D"): the same
levels, T and F over (z, y, x), hashed with Instant-NGP's first three primes (1, 2654435761,
805459861) and interpolated trilinearly from a cell's 8 corners; a level is dense where its
(N_l+1)³ vertices fit in T rows (none at the paper's N_l ≥ 50 with T = 2^8). The parameter count is
the 2-D one (14,529): every table has T rows and the MLP's input width L·F does not change.

The encoding is written with integer indexing (``table[index]``), so forward-mode AD
(``torch.func.jvp``) works; ``F.grid_sample`` has none (METHODS.md §2.1). A ``grid_sample`` path
for dense levels can be selected with ``dense_backend="grid_sample"`` (reverse mode only).
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..physics.geometry import Grid
from ..physics.geometry3d import Grid3D
from .base import Representation, register
from .layers import compute_dtype, points_of, relu_mlp, zero_linear_

__all__ = ["HashEncoding", "HashGrid", "level_resolutions", "PRIMES", "PRIMES_3D",
           "GRID_NORMALISATIONS", "grid_scales"]

# Instant-NGP's spatial-hash primes for (dim 0, dim 1): h(c) = (c0·π0 XOR c1·π1) mod T, computed
# in uint32 arithmetic (Müller et al. 2022, eq. 4). Here dim 0 is depth z, dim 1 is lateral x.
PRIMES = (1, 2654435761)
# In 3-D, (dim 0, dim 1, dim 2) = (z, y, x): tiny-cuda-nn's first three primes (the 2-D ones are the
# first two of the same list), h(c) = (c0·π0 XOR c1·π1 XOR c2·π2) mod T.
PRIMES_3D = (1, 2654435761, 805459861)
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
    """Multi-resolution hash encoding of 2-D points in ``[-1, 1]²``: ``[P, 2] → [P, L·F]`` (or of
    3-D points in ``[-1, 1]³`` with ``n_dims = 3``: ``[P, 3] → [P, L·F]``, see below).

    Level l has resolution N_l (cells per axis over ``[-1, 1]``) and vertices ``0…N_l`` per axis.
    A point is scaled to ``pos = (c + 1)/2 · N_l``; its lower corner is ``floor(pos)`` clamped to
    ``N_l − 1`` (so ``c = 1`` interpolates onto the last vertex) and its four corners are blended
    bilinearly. Levels with ``(N_l+1)² ≤ T`` are dense (vertex ``(i0, i1)`` → ``i0 + (N_l+1)·i1``,
    table of ``(N_l+1)²`` rows); the others are hashed into T rows with
    ``((i0·1) XOR (i1·2654435761 mod 2^32)) mod T``. Collisions are not resolved (Instant-NGP).
    The output is level-major: features ``[l·F : (l+1)·F]`` belong to level l.

    In 3-D (``n_dims = 3``) every rule extends by one axis: 8 corners blended trilinearly (corner
    c's offset along dim d is bit d of c, dim 0 fastest, as in 2-D), a level is dense when
    ``(N_l+1)³ ≤ T`` (vertex → ``i0 + (N_l+1)·i1 + (N_l+1)²·i2``), and hashed levels use
    ``(i0·1 XOR i1·2654435761 XOR i2·805459861) mod T`` (:data:`PRIMES_3D`, each product mod 2^32).

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
        n_dims: 2 (default; points ``(z, x)``) or 3 (points ``(z, y, x)``).
    """

    def __init__(self, *, n_levels: int = 16, base_resolution: int = 50, per_level_scale: float = 1.05,
                 features_per_level: int = 2, log2_hashmap_size: int = 8, init_scale: float = 1e-4,
                 feature_scale: float = 1.0, dense_backend: str = "gather", n_dims: int = 2) -> None:
        super().__init__()
        if n_dims not in (2, 3):
            raise ValueError(f"`n_dims` must be 2 or 3, got {n_dims!r}")
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
        self.n_dims = int(n_dims)
        self.primes = PRIMES if self.n_dims == 2 else PRIMES_3D
        self.n_levels = int(n_levels)
        self.features_per_level = int(features_per_level)
        self.table_size = 1 << int(log2_hashmap_size)
        self.dense_backend = dense_backend
        self.resolutions = level_resolutions(n_levels, base_resolution, per_level_scale)
        self.dense = [(n + 1) ** self.n_dims <= self.table_size for n in self.resolutions]
        rows = [(n + 1) ** self.n_dims if d else self.table_size for n, d in zip(self.resolutions, self.dense)]
        self.offsets = [0]
        for r in rows[:-1]:
            self.offsets.append(self.offsets[-1] + r)
        self.rows = rows
        self.feature_scale = float(feature_scale)
        bound = float(init_scale) / self.feature_scale
        self.table = nn.Parameter(torch.empty(sum(rows), self.features_per_level).uniform_(-bound, bound))
        # Corner c's offset along dim d is bit d of c: (0,0), (1,0), (0,1), (1,1) in 2-D (dim 0
        # fastest), then the same four with i2 + 1 in 3-D.
        corner_offsets = [[(c >> d) & 1 for d in range(self.n_dims)] for c in range(1 << self.n_dims)]
        self._corner_list = corner_offsets
        self.register_buffer("_corner_offsets", torch.tensor(corner_offsets, dtype=torch.long), persistent=False)
        # Per-level constants as (non-persistent) buffers so that they follow .to(device).
        self.register_buffer("_res", torch.tensor(self.resolutions, dtype=torch.long), persistent=False)
        self.register_buffer("_offset", torch.tensor(self.offsets, dtype=torch.long), persistent=False)
        self.register_buffer("_dense", torch.tensor(self.dense, dtype=torch.bool), persistent=False)

    @property
    def out_features(self) -> int:
        return self.n_levels * self.features_per_level

    def extra_repr(self) -> str:
        return (f"dims={self.n_dims}, levels={self.n_levels}, resolutions={self.resolutions[0]}..{self.resolutions[-1]}, "
                f"F={self.features_per_level}, T={self.table_size}, dense_levels={sum(self.dense)}, "
                f"feature_scale={self.feature_scale:g}, "
                f"dense_backend={self.dense_backend!r}")

    # ---------------------------------------------------------------------------------------
    def corners(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Table rows ``[P, L, 2^d]`` (long) and multilinear weights ``[P, L, 2^d]`` of every point's
        corners at every level (in 2-D the four corners (0,0), (1,0), (0,1), (1,1) in (dim 0, dim 1);
        in 3-D the eight corners, corner c offset by bit d of c along dim d)."""
        d = self.n_dims
        res = self._res.to(points.dtype)  # [L]
        pos = (points[:, None, :] + 1.0) * 0.5 * res[None, :, None]  # [P, L, d]
        upper = (self._res - 1).clamp(min=0)[None, :, None]
        lower = torch.minimum(torch.floor(pos).long().clamp(min=0), upper)  # [P, L, d]
        frac = pos - lower.to(points.dtype)  # in [0, 1] on [-1, 1]
        one = torch.ones_like(frac)
        w0, w1 = one - frac, frac  # weights of the lower / upper vertex per axis
        offsets = self._corner_offsets  # [2^d, d]
        corner = lower[:, :, None, :] + offsets[None, None]  # [P, L, 2^d, d]
        # Per corner: the product over axes of w0 or w1, multiplied in axis order (in 2-D exactly
        # w_a[..., 0] * w_b[..., 1], as before the 3-D extension).
        weights = torch.stack([self._corner_weight(w0, w1, offs)
                               for offs in self._corner_list], dim=-1)  # [P, L, 2^d]
        stride = (self._res + 1)[None, :, None]
        dense_index = corner[..., 0]
        hashed = (corner[..., 0] * self.primes[0]) & _MASK32
        for axis in range(1, d):
            dense_index = dense_index + stride ** axis * corner[..., axis]
            hashed = hashed ^ ((corner[..., axis] * self.primes[axis]) & _MASK32)
        hash_index = hashed % self.table_size
        index = torch.where(self._dense[None, :, None], dense_index, hash_index)
        return index + self._offset[None, :, None], weights

    @staticmethod
    def _corner_weight(w0: torch.Tensor, w1: torch.Tensor, offsets: list[int]) -> torch.Tensor:
        weight = (w1 if offsets[0] else w0)[..., 0]
        for axis in range(1, len(offsets)):
            weight = weight * (w1 if offsets[axis] else w0)[..., axis]
        return weight

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``points [P, d]`` in ``[-1, 1]`` → features ``[P, L·F]`` (d = ``n_dims``)."""
        if points.dim() != 2 or points.shape[-1] != self.n_dims:
            raise ValueError(f"`points` must be [P, {self.n_dims}], got shape {tuple(points.shape)}")
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
                rows = self.table[self.offsets[level]:self.offsets[level] + (n + 1) ** self.n_dims]
                if self.n_dims == 2:
                    # row i0 + (n+1)·i1 → image [F, H = i1, W = i0]; grid_sample takes (x = W, y = H).
                    image = rows.reshape(n + 1, n + 1, self.features_per_level).permute(2, 0, 1)[None]
                    sampled = F.grid_sample(image, points[None, :, None, :], mode="bilinear",
                                            padding_mode="border", align_corners=True)  # [1, F, P, 1]
                    out.append(sampled[0, :, :, 0].t())
                else:
                    # row i0 + (n+1)·i1 + (n+1)²·i2 → volume [F, D = i2, H = i1, W = i0];
                    # grid_sample takes (x = W, y = H, z = D) and "bilinear" is trilinear in 5-D.
                    volume = rows.reshape(n + 1, n + 1, n + 1, self.features_per_level).permute(3, 0, 1, 2)[None]
                    sampled = F.grid_sample(volume, points[None, :, None, None, :], mode="bilinear",
                                            padding_mode="border", align_corners=True)  # [1, F, P, 1, 1]
                    out.append(sampled[0, :, :, 0, 0].t())
            else:
                out.append((self.table[index[:, level]] * weights[:, level, :, None]).sum(dim=1))
        return self.feature_scale * torch.cat(out, dim=1)

    # ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def reference(self, points: torch.Tensor) -> torch.Tensor:
        """Slow twin of :meth:`forward` for tests: a plain Python loop over points, levels and
        corners (4 in 2-D, 8 in 3-D), with the hash computed on Python integers (uint32
        wrap-around by masking)."""
        table = self.table.detach().cpu().double()
        pts = points.detach().cpu().double().tolist()
        out = torch.zeros(len(pts), self.out_features, dtype=torch.float64)
        for p, coords in enumerate(pts):
            for level, n in enumerate(self.resolutions):
                lows, fracs = [], []
                for c in coords:
                    u = (c + 1.0) / 2.0 * n
                    low = min(max(int(math.floor(u)), 0), max(n - 1, 0))
                    lows.append(low)
                    fracs.append(u - low)
                for deltas in itertools.product((0, 1), repeat=self.n_dims):
                    js = [low + delta for low, delta in zip(lows, deltas)]
                    w = 1.0
                    for f, delta in zip(fracs, deltas):
                        w *= f if delta else 1.0 - f
                    if (n + 1) ** self.n_dims <= self.table_size:
                        row = sum(j * (n + 1) ** axis for axis, j in enumerate(js))
                    else:
                        hashed = 0
                        for j, prime in zip(js, self.primes):
                            hashed ^= (j * prime) & _MASK32
                        row = hashed % self.table_size
                    row += self.offsets[level]
                    for f in range(self.features_per_level):
                        out[p, level * self.features_per_level + f] += w * table[row, f]
        return self.feature_scale * out


@register("hashgrid", paper="MPE-FWI")
class HashGrid(Representation):
    """MPE-FWI: ``F(x) = MLP(h(x))`` with a :class:`HashEncoding` h and a ReLU MLP.

    Output: the velocity perturbation in km/s (``output_scale = 1000`` turns it into m/s).

    Args:
        grid: the model grid (2-D or 3-D; gives the encoding's dimension, see :class:`HashEncoding`).
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

    def __init__(self, grid: Grid | Grid3D, *, n_levels: int = 16, base_resolution: int = 50,
                 per_level_scale: float = 1.05, features_per_level: int = 2, log2_hashmap_size: int = 8,
                 hidden_features: int = 64, hidden_layers: int = 2, dense_backend: str = "gather",
                 grid_normalisation: str = "balanced", zero_init_output: bool = False) -> None:
        super().__init__(grid)
        init_scale, feature_scale = grid_scales(grid_normalisation)
        self.encoding = HashEncoding(n_levels=n_levels, base_resolution=base_resolution,
                                     per_level_scale=per_level_scale, features_per_level=features_per_level,
                                     log2_hashmap_size=log2_hashmap_size, dense_backend=dense_backend,
                                     init_scale=init_scale, feature_scale=feature_scale,
                                     n_dims=self.spatial_dim)
        self.mlp = relu_mlp(self.encoding.out_features, hidden_features, hidden_layers, 1)
        if zero_init_output:
            zero_linear_(self.mlp[-1])

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        points = points_of(coords, compute_dtype(self), self.spatial_dim)
        out = self.mlp(self.encoding(points))
        return out.reshape(coords.shape[:-1]).to(coords.dtype)

    def grid_tables(self) -> list[nn.Parameter]:
        return [self.encoding.table]
