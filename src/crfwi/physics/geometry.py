"""Model grid and acquisition survey.

Units and axes, stated once for the whole package: metres, seconds, m/s, Hz.
Models are ``[nz, nx]`` (depth first). Data are ``[shot, receiver, time]``.
Representations see coordinates normalised to ``[-1, 1]``; only :class:`Grid`
converts between metres, cell indices and normalised coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

__all__ = ["Grid", "Survey", "ricker"]


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}")
    return value


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Grid:
    """A regular 2-D model grid.

    Args:
        nz: number of cells in depth.
        nx: number of cells laterally.
        dz: vertical spacing in metres.
        dx: horizontal spacing in metres (defaults to ``dz``).

    Cell ``(i, j)`` sits at depth ``i * dz`` and lateral position ``j * dx``;
    the first cell is at the origin (0 m, 0 m).
    """

    nz: int
    nx: int
    dz: float
    dx: float = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "nz", _positive_int("nz", self.nz))
        object.__setattr__(self, "nx", _positive_int("nx", self.nx))
        object.__setattr__(self, "dz", _positive("dz", self.dz))
        dx = self.dz if self.dx is None else self.dx
        object.__setattr__(self, "dx", _positive("dx", dx))

    @property
    def shape(self) -> tuple[int, int]:
        """``(nz, nx)``."""
        return (self.nz, self.nx)

    @property
    def spacing(self) -> tuple[float, float]:
        """``(dz, dx)`` in metres."""
        return (self.dz, self.dx)

    @property
    def size(self) -> int:
        """Number of cells ``nz * nx``."""
        return self.nz * self.nx

    @property
    def extent(self) -> tuple[float, float]:
        """Depth and width covered by the cell centres, ``((nz-1)*dz, (nx-1)*dx)`` in metres."""
        return ((self.nz - 1) * self.dz, (self.nx - 1) * self.dx)

    def z(self) -> np.ndarray:
        """Depth of each row in metres, shape ``[nz]``."""
        return np.arange(self.nz) * self.dz

    def x(self) -> np.ndarray:
        """Lateral position of each column in metres, shape ``[nx]``."""
        return np.arange(self.nx) * self.dx

    def below(self, depth: float, z0: float = 0.0) -> np.ndarray:
        """Bool ``[nz, nx]``: the cells deeper than ``depth`` metres, row k lying at
        ``z0 + k·dz`` (``z0``: the depth of row 0, 0 for a synthetic grid)."""
        rows = z0 + self.z() > depth
        return np.repeat(rows[:, None], self.nx, axis=1)

    @staticmethod
    def _normalised_axis(n: int) -> torch.Tensor:
        # A one-cell axis has no extent: put it at the centre rather than divide by zero.
        if n == 1:
            return torch.zeros(1, dtype=torch.float64)
        return torch.linspace(-1.0, 1.0, n, dtype=torch.float64)

    def coords(self, *, device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Normalised cell coordinates, shape ``[nz, nx, 2]``, last axis ``(z, x)`` in ``[-1, 1]``.

        Row 0 maps to z = -1 and row nz-1 to z = +1; likewise for columns. Each axis is
        normalised on its own, so a non-square grid still spans the whole square.
        """
        z = self._normalised_axis(self.nz)
        x = self._normalised_axis(self.nx)
        zz, xx = torch.meshgrid(z, x, indexing="ij")
        return torch.stack([zz, xx], dim=-1).to(device=device, dtype=dtype)

    def index_of(self, *, z: float, x: float) -> tuple[int, int]:
        """Nearest cell ``(row, column)`` of a point given in metres.

        Raises ``ValueError`` naming the coordinate when the point lies outside the grid.
        """
        depth, width = self.extent
        tol = 1e-6 * max(self.dz, self.dx)
        if not (-tol <= z <= depth + tol):
            raise ValueError(f"depth {z:g} m lies outside the model (0 to {depth:g} m)")
        if not (-tol <= x <= width + tol):
            raise ValueError(f"position x = {x:g} m lies outside the model (0 to {width:g} m)")
        return int(round(z / self.dz)), int(round(x / self.dx))

    def to_dict(self) -> dict:
        return {"nz": self.nz, "nx": self.nx, "dz": self.dz, "dx": self.dx}


def _check_wavelet_sampling(freq: float, dt: float) -> None:
    """The wavelet must be sampled: keep its significant band (~2.5 f_peak) below Nyquist.
    (Shared by :class:`Survey` and :class:`crfwi.physics.geometry3d.Survey3D`.)"""
    nyquist = 0.5 / dt
    if nyquist < 2.5 * freq:
        raise ValueError(
            f"`dt` = {dt:g} s cannot sample a {freq:g} Hz Ricker wavelet "
            f"(Nyquist {nyquist:g} Hz < 2.5 x peak); use dt <= {1 / (5 * freq):.4g} s")


def ricker(freq: float, nt: int, dt: float, delay: float | None = None) -> torch.Tensor:
    """Ricker wavelet, shape ``[nt]`` (float64).

    Args:
        freq: peak frequency in Hz.
        nt: number of samples.
        dt: sample interval in seconds.
        delay: time of the peak in seconds; default ``1.5 / freq`` so the wavelet starts at ~0.
    """
    freq = _positive("freq", freq)
    dt = _positive("dt", dt)
    nt = _positive_int("nt", nt)
    delay = 1.5 / freq if delay is None else float(delay)
    t = torch.arange(nt, dtype=torch.float64) * dt - delay
    arg = (math.pi * freq * t) ** 2
    return (1.0 - 2.0 * arg) * torch.exp(-arg)


class Recording:
    """What a 2-D and a 3-D survey share, from their fields ``source_x``, ``receiver_x``, ``freq``,
    ``dt``, ``nt`` and ``delay``: counts, the record length and the Ricker source wavelet."""

    @property
    def n_shots(self) -> int:
        return len(self.source_x)

    @property
    def n_receivers(self) -> int:
        return len(self.receiver_x)

    @property
    def duration(self) -> float:
        """Record length ``(nt - 1) * dt`` in seconds."""
        return (self.nt - 1) * self.dt

    def wavelet(self) -> torch.Tensor:
        """The source wavelet, shape ``[nt]`` (float64)."""
        return ricker(self.freq, self.nt, self.dt, self.delay)


@dataclass(frozen=True)
class Survey(Recording):
    """A 2-D surface (or buried) acquisition: one point source per shot and a fixed receiver spread.

    All positions are in metres. Every shot records on the same receivers (fixed spread, as in the
    paper's synthetic benchmarks). Positions are rounded to the nearest grid node when the survey is
    placed on a grid.

    Args:
        source_x: lateral position of each shot's source, metres.
        receiver_x: lateral position of each receiver, metres.
        source_depth: depth of all sources, metres.
        receiver_depth: depth of all receivers, metres.
        freq: peak frequency of the Ricker wavelet, Hz.
        dt: recording sample interval, seconds (deepwave sub-steps internally for stability).
        nt: number of recorded samples.
        delay: time of the wavelet peak, seconds; default ``1.5 / freq``.
        free_surface: a pressure-release (free) surface on top; otherwise absorbing on all sides.
        pml_width: width of the absorbing layers in cells.
    """

    source_x: tuple[float, ...]
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
        for name in ("source_x", "receiver_x"):
            values = tuple(float(v) for v in np.atleast_1d(np.asarray(getattr(self, name), dtype=float)))
            if not values:
                raise ValueError(f"`{name}` must hold at least one position")
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"`{name}` must hold finite positions in metres")
            object.__setattr__(self, name, values)
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
    def surface(cls, grid: Grid, *, n_shots: int, freq: float, dt: float, nt: int,
                shot_spacing: float | None = None, first_shot: float | None = None,
                receiver_spacing: float | None = None, source_depth: float | None = None,
                receiver_depth: float | None = None, delay: float | None = None,
                free_surface: bool = True, pml_width: int = 20) -> "Survey":
        """A surface survey on ``grid``: ``n_shots`` evenly spaced sources and receivers on every
        ``receiver_spacing`` metres (default: every column).

        Without ``shot_spacing`` the shots span the whole width evenly (first and last shot on the
        edges); with it they are centred on the model unless ``first_shot`` (metres) is given.
        Depths default to one grid cell (``dz``) below the top.
        """
        n_shots = _positive_int("n_shots", n_shots)
        width = grid.extent[1]
        if shot_spacing is None:
            positions = np.linspace(0.0, width, n_shots) if n_shots > 1 else np.array([width / 2])
            if first_shot is not None:
                raise ValueError("`first_shot` needs `shot_spacing`")
        else:
            shot_spacing = _positive("shot_spacing", shot_spacing)
            span = shot_spacing * (n_shots - 1)
            start = (width - span) / 2 if first_shot is None else float(first_shot)
            positions = start + shot_spacing * np.arange(n_shots)
        receiver_spacing = grid.dx if receiver_spacing is None else _positive(
            "receiver_spacing", receiver_spacing)
        receivers = np.arange(0.0, width + 1e-9 * receiver_spacing, receiver_spacing)
        return cls(
            source_x=tuple(positions), receiver_x=tuple(receivers), freq=freq, dt=dt, nt=nt,
            source_depth=grid.dz if source_depth is None else source_depth,
            receiver_depth=grid.dz if receiver_depth is None else receiver_depth,
            delay=delay, free_surface=free_surface, pml_width=pml_width)

    def source_locations(self, grid: Grid) -> torch.Tensor:
        """Source cell indices, shape ``[shot, 1, 2]`` (long), ``(row, column)``.

        Raises ``ValueError`` naming the shot when a source lies outside ``grid``.
        """
        rows = []
        for i, x in enumerate(self.source_x):
            try:
                rows.append([grid.index_of(z=self.source_depth, x=x)])
            except ValueError as err:
                raise ValueError(f"source of shot {i}: {err}") from None
        return torch.tensor(rows, dtype=torch.long)

    def receiver_locations(self, grid: Grid) -> torch.Tensor:
        """Receiver cell indices, shape ``[shot, receiver, 2]`` (long), the same spread for all shots."""
        rows = []
        for i, x in enumerate(self.receiver_x):
            try:
                rows.append(grid.index_of(z=self.receiver_depth, x=x))
            except ValueError as err:
                raise ValueError(f"receiver {i}: {err}") from None
        if len(set(map(tuple, rows))) != len(rows):
            raise ValueError("two receivers fall on the same grid node; use a receiver spacing "
                             f">= the grid spacing ({grid.dx:g} m)")
        locations = torch.tensor(rows, dtype=torch.long)
        return locations.unsqueeze(0).expand(self.n_shots, -1, -1).contiguous()

    def select(self, shots: Sequence[int]) -> "Survey":
        """A survey with only the given shots (by index), e.g. for sparse acquisition."""
        shots = list(shots)
        for s in shots:
            if not 0 <= s < self.n_shots:
                raise ValueError(f"shot index {s} out of range 0..{self.n_shots - 1}")
        return Survey(
            source_x=tuple(self.source_x[s] for s in shots), receiver_x=self.receiver_x,
            freq=self.freq, dt=self.dt, nt=self.nt, source_depth=self.source_depth,
            receiver_depth=self.receiver_depth, delay=self.delay,
            free_surface=self.free_surface, pml_width=self.pml_width)

    def to_dict(self) -> dict:
        return {
            "source_x": list(self.source_x), "receiver_x": list(self.receiver_x),
            "freq": self.freq, "dt": self.dt, "nt": self.nt,
            "source_depth": self.source_depth, "receiver_depth": self.receiver_depth,
            "delay": 1.5 / self.freq if self.delay is None else self.delay,
            "free_surface": self.free_surface, "pml_width": self.pml_width,
        }
