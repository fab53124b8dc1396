"""3-D model grid and areal surface survey (issue 15).

The 3-D counterparts of :class:`crfwi.physics.geometry.Grid` and :class:`crfwi.physics.geometry.Survey`, with the
same conventions extended by one axis: models are ``[nz, ny, nx]`` (depth first, then the
crossline y, then the inline x, so that ``[iz, :, :]`` is a depth slice and ``[:, iy, :]`` an
inline section laid out like a 2-D model), metres / seconds / m/s / Hz, data
``[shot, receiver, time]``. Representations see coordinates normalised to ``[-1, 1]`` in
``(z, y, x)`` order; only :class:`Grid3D` converts between metres, cell indices and normalised
coordinates. Sources and receivers sit at ``(y, x)`` positions at one depth each, so a survey is
a plane of shots recorded by a plane (or a patch) of receivers, every shot on the same spread.

The validation is the 2-D one (same rules, same messages, naming the shot or receiver at fault),
so a 3-D configuration fails in the same words as a 2-D one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .geometry import Grid, Recording, _check_wavelet_sampling, _positive, _positive_int

__all__ = ["Grid3D", "Survey3D"]

_AXES = ("z", "y", "x")


@dataclass(frozen=True)
class Grid3D:
    """A regular 3-D model grid ``[nz, ny, nx]``.

    Args:
        nz, ny, nx: number of cells in depth, crossline (y) and inline (x).
        dz: vertical spacing in metres.
        dy, dx: crossline and inline spacing in metres (each defaults to ``dz``).

    Cell ``(i, j, k)`` sits at depth ``i * dz``, ``y = j * dy`` and ``x = k * dx``; the first cell
    is at the origin.
    """

    nz: int
    ny: int
    nx: int
    dz: float
    dy: float = None  # type: ignore[assignment]
    dx: float = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in ("nz", "ny", "nx"):
            object.__setattr__(self, name, _positive_int(name, getattr(self, name)))
        object.__setattr__(self, "dz", _positive("dz", self.dz))
        for name in ("dy", "dx"):
            value = getattr(self, name)
            object.__setattr__(self, name, _positive(name, self.dz if value is None else value))

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(nz, ny, nx)``."""
        return (self.nz, self.ny, self.nx)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """``(dz, dy, dx)`` in metres (deepwave's ``grid_spacing`` order)."""
        return (self.dz, self.dy, self.dx)

    @property
    def size(self) -> int:
        """Number of cells ``nz * ny * nx``."""
        return self.nz * self.ny * self.nx

    @property
    def extent(self) -> tuple[float, float, float]:
        """Depth, crossline and inline span of the cell centres, metres."""
        return ((self.nz - 1) * self.dz, (self.ny - 1) * self.dy, (self.nx - 1) * self.dx)

    def z(self) -> np.ndarray:
        """Depth of each depth slice in metres, shape ``[nz]``."""
        return np.arange(self.nz) * self.dz

    def y(self) -> np.ndarray:
        """Crossline position of each inline section in metres, shape ``[ny]``."""
        return np.arange(self.ny) * self.dy

    def x(self) -> np.ndarray:
        """Inline position of each column in metres, shape ``[nx]``."""
        return np.arange(self.nx) * self.dx

    def coords(self, *, device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Normalised cell coordinates ``[nz, ny, nx, 3]``, last axis ``(z, y, x)`` in ``[-1, 1]``.

        Each axis is normalised on its own (as in 2-D), so a flat box still spans the whole cube;
        a one-cell axis sits at 0.
        """
        axes = [Grid._normalised_axis(n) for n in self.shape]
        mesh = torch.meshgrid(*axes, indexing="ij")
        return torch.stack(mesh, dim=-1).to(device=device, dtype=dtype)

    def index_of(self, *, z: float, y: float, x: float) -> tuple[int, int, int]:
        """Nearest cell ``(iz, iy, ix)`` of a point given in metres.

        Raises ``ValueError`` naming the coordinate when the point lies outside the grid.
        """
        tol = 1e-6 * max(self.spacing)
        for axis, value, span in zip(_AXES, (z, y, x), self.extent):
            if not (-tol <= value <= span + tol):
                what = "depth" if axis == "z" else f"position {axis} ="
                raise ValueError(f"{what} {value:g} m lies outside the model (0 to {span:g} m)")
        return tuple(int(round(v / d)) for v, d in zip((z, y, x), self.spacing))  # type: ignore

    def inline_grid(self) -> Grid:
        """The 2-D grid of one inline section ``[:, iy, :]`` (for plots and 2-D comparisons)."""
        return Grid(self.nz, self.nx, self.dz, self.dx)

    def to_dict(self) -> dict:
        return {"nz": self.nz, "ny": self.ny, "nx": self.nx,
                "dz": self.dz, "dy": self.dy, "dx": self.dx}


def _positions(name: str, values) -> tuple[float, ...]:
    out = tuple(float(v) for v in np.atleast_1d(np.asarray(values, dtype=float)).reshape(-1))
    if not out:
        raise ValueError(f"`{name}` must hold at least one position")
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"`{name}` must hold finite positions in metres")
    return out


def _pair(name: str, value, default: tuple[float, float] | None = None) -> tuple[float, float]:
    """A ``(y, x)`` pair from one number (both axes) or two; ``None`` → ``default``."""
    if value is None:
        return default  # type: ignore[return-value]
    values = np.atleast_1d(np.asarray(value, dtype=float))
    if values.size == 1:
        values = np.repeat(values, 2)
    if values.size != 2:
        raise ValueError(f"`{name}` must be one number or a (y, x) pair, got {value!r}")
    return (_positive(name, values[0]), _positive(name, values[1]))


def _line(n: int, width: float, spacing: float | None, first: float | None) -> np.ndarray:
    """``n`` positions along one axis, as :meth:`crfwi.physics.geometry.Survey.surface` lays out shots."""
    if spacing is None:
        return np.linspace(0.0, width, n) if n > 1 else np.array([width / 2])
    start = (width - spacing * (n - 1)) / 2 if first is None else float(first)
    return start + spacing * np.arange(n)


@dataclass(frozen=True)
class Survey3D(Recording):
    """A 3-D acquisition: one point source per shot and a fixed areal receiver spread.

    Positions are in metres; shot ``i`` fires at ``(source_y[i], source_x[i])`` and receiver ``r``
    sits at ``(receiver_y[r], receiver_x[r])``. Every shot records on the same receivers. The
    other fields mean what they mean in :class:`crfwi.physics.geometry.Survey`.
    """

    source_y: tuple[float, ...]
    source_x: tuple[float, ...]
    receiver_y: tuple[float, ...]
    receiver_x: tuple[float, ...]
    freq: float
    dt: float
    nt: int
    source_depth: float = 0.0
    receiver_depth: float = 0.0
    delay: float | None = None
    free_surface: bool = True
    pml_width: int = 20

    def __post_init__(self) -> None:
        for name in ("source_y", "source_x", "receiver_y", "receiver_x"):
            object.__setattr__(self, name, _positions(name, getattr(self, name)))
        for what in ("source", "receiver"):
            ny, nx = len(getattr(self, f"{what}_y")), len(getattr(self, f"{what}_x"))
            if ny != nx:
                raise ValueError(f"`{what}_y` and `{what}_x` must have the same length, got {ny} "
                                 f"and {nx}")
        object.__setattr__(self, "freq", _positive("freq", self.freq))
        object.__setattr__(self, "dt", _positive("dt", self.dt))
        object.__setattr__(self, "nt", _positive_int("nt", self.nt))
        for name in ("source_depth", "receiver_depth"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"`{name}` must be a depth >= 0 m, got {value!r}")
            object.__setattr__(self, name, value)
        if self.delay is not None:
            object.__setattr__(self, "delay", float(self.delay))
        if int(self.pml_width) != self.pml_width or self.pml_width < 0:
            raise ValueError(f"`pml_width` must be an integer >= 0 cells, got {self.pml_width!r}")
        object.__setattr__(self, "pml_width", int(self.pml_width))
        _check_wavelet_sampling(self.freq, self.dt)

    @classmethod
    def surface_grid(cls, grid: Grid3D, *, shots: int | Sequence[int], freq: float, dt: float,
                     nt: int, shot_spacing: float | Sequence[float] | None = None,
                     first_shot: Sequence[float] | None = None,
                     receiver_spacing: float | Sequence[float] | None = None,
                     source_depth: float | None = None, receiver_depth: float | None = None,
                     delay: float | None = None, free_surface: bool = True,
                     pml_width: int = 20) -> "Survey3D":
        """A surface survey on ``grid``: a ``shots = (n_y, n_x)`` grid of sources (one number:
        the same along both axes) and receivers every ``receiver_spacing`` metres along y and x
        (one number or a ``(y, x)`` pair; default every cell).

        Along each axis the shots follow :meth:`crfwi.physics.geometry.Survey.surface`: without
        ``shot_spacing`` they span the whole width, first and last on the edges; with it they are
        centred unless ``first_shot = (y, x)`` is given. Shots are numbered x fastest (row-major
        over ``(y, x)``, like the model). Depths default to one cell (``dz``) below the top.
        """
        counts = np.atleast_1d(np.asarray(shots)).reshape(-1)
        if counts.size == 1:
            counts = np.repeat(counts, 2)
        if counts.size != 2:
            raise ValueError(f"`shots` must be one count or a (y, x) pair of counts, got {shots!r}")
        n_y, n_x = (_positive_int("shots", c) for c in counts.tolist())
        spacing = _pair("shot_spacing", shot_spacing)
        if spacing is None and first_shot is not None:
            raise ValueError("`first_shot` needs `shot_spacing`")
        first = (None, None) if first_shot is None else tuple(float(v) for v in first_shot)
        if len(first) != 2:
            raise ValueError(f"`first_shot` must be a (y, x) pair in metres, got {first_shot!r}")
        _, width_y, width_x = grid.extent
        ys = _line(n_y, width_y, None if spacing is None else spacing[0], first[0])
        xs = _line(n_x, width_x, None if spacing is None else spacing[1], first[1])
        step_y, step_x = _pair("receiver_spacing", receiver_spacing, (grid.dy, grid.dx))
        ry = np.arange(0.0, width_y + 1e-9 * step_y, step_y)
        rx = np.arange(0.0, width_x + 1e-9 * step_x, step_x)
        sy, sx = np.meshgrid(ys, xs, indexing="ij")
        gy, gx = np.meshgrid(ry, rx, indexing="ij")
        return cls(
            source_y=tuple(sy.ravel()), source_x=tuple(sx.ravel()),
            receiver_y=tuple(gy.ravel()), receiver_x=tuple(gx.ravel()), freq=freq, dt=dt, nt=nt,
            source_depth=grid.dz if source_depth is None else source_depth,
            receiver_depth=grid.dz if receiver_depth is None else receiver_depth,
            delay=delay, free_surface=free_surface, pml_width=pml_width)

    def source_locations(self, grid: Grid3D) -> torch.Tensor:
        """Source cell indices ``[shot, 1, 3]`` (long), ``(iz, iy, ix)``.

        Raises ``ValueError`` naming the shot when a source lies outside ``grid``.
        """
        rows = []
        for i, (y, x) in enumerate(zip(self.source_y, self.source_x)):
            try:
                rows.append([grid.index_of(z=self.source_depth, y=y, x=x)])
            except ValueError as err:
                raise ValueError(f"source of shot {i}: {err}") from None
        return torch.tensor(rows, dtype=torch.long)

    def receiver_locations(self, grid: Grid3D) -> torch.Tensor:
        """Receiver cell indices ``[shot, receiver, 3]`` (long), the same spread for all shots."""
        rows = []
        for i, (y, x) in enumerate(zip(self.receiver_y, self.receiver_x)):
            try:
                rows.append(grid.index_of(z=self.receiver_depth, y=y, x=x))
            except ValueError as err:
                raise ValueError(f"receiver {i}: {err}") from None
        if len(set(rows)) != len(rows):
            raise ValueError("two receivers fall on the same grid node; use a receiver spacing "
                             f">= the grid spacing ({grid.dy:g} m in y, {grid.dx:g} m in x)")
        locations = torch.tensor(rows, dtype=torch.long)
        return locations.unsqueeze(0).expand(self.n_shots, -1, -1).contiguous()

    def select(self, shots: Sequence[int]) -> "Survey3D":
        """A survey with only the given shots (by index), e.g. for sparse acquisition."""
        shots = list(shots)
        for s in shots:
            if not 0 <= s < self.n_shots:
                raise ValueError(f"shot index {s} out of range 0..{self.n_shots - 1}")
        return Survey3D(
            source_y=tuple(self.source_y[s] for s in shots),
            source_x=tuple(self.source_x[s] for s in shots),
            receiver_y=self.receiver_y, receiver_x=self.receiver_x, freq=self.freq, dt=self.dt,
            nt=self.nt, source_depth=self.source_depth, receiver_depth=self.receiver_depth,
            delay=self.delay, free_surface=self.free_surface, pml_width=self.pml_width)

    def to_dict(self) -> dict:
        return {
            "source_y": list(self.source_y), "source_x": list(self.source_x),
            "receiver_y": list(self.receiver_y), "receiver_x": list(self.receiver_x),
            "freq": self.freq, "dt": self.dt, "nt": self.nt,
            "source_depth": self.source_depth, "receiver_depth": self.receiver_depth,
            "delay": 1.5 / self.freq if self.delay is None else self.delay,
            "free_surface": self.free_surface, "pml_width": self.pml_width,
        }
