"""A survey's shots and positions (:class:`FieldData`), and those positions on the model grid.

:class:`FieldData` holds what the inversion needs of a survey, whatever file it came from
(``segy.read_segy``) or made in memory (:meth:`FieldData.from_arrays`): each shot's source, its
own receivers (any number, moving from shot to shot), the samples, which traces are dead, and
the padded ``[shot, receiver, time]`` view deepwave takes. Metres and seconds; depths positive
down, below the datum (elevation 0, usually sea level), so negative above it.

Field sources and receivers sit anywhere: off the line a little, between grid nodes, at other
intervals than the grid's. deepwave places them on grid cells (integer row, column), so each
position moves to a cell, and the inversion then fits data recorded a little elsewhere. Two
steps, and the size of that move reported so it can be judged (compare it with the wavelength: a
few metres at 10 m cells is harmless, half a 50 m cell at 30 Hz is not):

1. The line (:class:`LineGeometry`): file coordinates ``(x, y)`` are projected onto the line's
   direction, ``inline = (x, y) . direction`` metres; the distance off the line is dropped and
   reported as the line's scatter.
2. The grid (:func:`map_to_grid`): cell ``(row, column)`` holds depth ``z0 + row dz`` and inline
   position ``x0 + column dx`` (``origin = (z0, x0)``); each position goes to its nearest cell,
   so it moves by at most half a cell along each axis (``dz/2`` in depth, ``dx/2`` inline, at most
   ``sqrt(dz² + dx²)/2`` in all), plus the line's scatter, which the grid never sees.

A position whose nearest cell is not in the grid (more than half a cell beyond the edge cells) is
refused with one line saying how many and the model's extent: dropping or clamping it would
invert data from somewhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field as _field, replace
from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np
import torch

from ..physics.geometry import Grid

__all__ = ["FieldData", "Gather", "PaddedGathers", "LineGeometry", "NOT_DATA_CODES", "MappingError",
           "GridAcquisition", "map_to_grid"]


@dataclass(frozen=True)
class LineGeometry:
    """The straight line a 2-D survey was shot along, in the file's coordinates (metres).

    ``direction`` is the unit vector of the inline axis: first to last source, turned to point
    towards increasing x (increasing y for a line along y); with a single source position, the
    principal axis of all positions. ``normal_offset`` is the signed distance of the line from
    the coordinate origin along the normal ``(-uy, ux)``. ``max_scatter`` and ``rms_scatter``: how
    far sources and receivers lie off the line. The inline coordinate ``(x, y) . direction`` is
    counted from the foot of the perpendicular from the coordinate origin, so a line along x
    keeps x as its inline coordinate.
    """

    direction: tuple[float, float] = (1.0, 0.0)
    normal_offset: float = 0.0
    max_scatter: float = 0.0
    rms_scatter: float = 0.0

    @classmethod
    def fit(cls, source_xy: np.ndarray, receiver_xy: np.ndarray) -> "LineGeometry":
        """The line through the sources ``[S, 2]`` (receivers ``[R, 2]`` for one source place)."""
        points = np.concatenate([source_xy, receiver_xy]).astype(float)
        along = source_xy[-1] - source_xy[0]
        length = float(np.hypot(*along))
        if length > 1e-9 * (1.0 + np.abs(points).max()):
            u, anchor = along / length, source_xy[0]
        elif np.ptp(points, axis=0).max() > 0:  # one source position: the spread's principal axis
            u = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)[2][0]
            anchor = points.mean(axis=0)
        else:
            u, anchor = np.array([1.0, 0.0]), points[0]
        if u[0] < -1e-12 or (abs(u[0]) <= 1e-12 and u[1] < 0):
            u = -u
        normal = np.array([-u[1], u[0]])
        scatter = points @ normal - anchor @ normal
        return cls((float(u[0]), float(u[1])), float(anchor @ normal),
                   float(np.abs(scatter).max()), float(np.sqrt(np.mean(scatter ** 2))))

    @property
    def azimuth(self) -> float:
        """Direction in degrees counter-clockwise from the x axis, in (-90, 90]."""
        return float(np.degrees(np.arctan2(self.direction[1], self.direction[0])))

    def inline(self, xy: np.ndarray) -> np.ndarray:
        """Inline coordinate (metres) of points ``[..., 2]``."""
        return np.asarray(xy, dtype=float) @ np.asarray(self.direction)

    def xy(self, inline: np.ndarray) -> np.ndarray:
        """Points ``[..., 2]`` on the line at the given inline coordinates."""
        u = np.asarray(self.direction)
        normal = np.array([-u[1], u[0]])
        return np.asarray(inline, float)[..., None] * u + self.normal_offset * normal


#: Trace identification codes that are not seismic data: masked like dead traces.
NOT_DATA_CODES = {2: "dead", 3: "dummy", **{c: "auxiliary" for c in range(4, 11)}}


class PaddedGathers(NamedTuple):
    """All shots at once, as deepwave wants them: ``R`` = the most receivers of any shot.

    ``data [S, R, nt]`` float32 is zero where ``mask [S, R]`` is False (padding, dead traces);
    padded receivers repeat their shot's last receiver position so they stay on the grid.
    The first sample is at the FieldData's ``t0``, not necessarily at the shot's time.
    ``data`` is None for the geometry alone (:meth:`FieldData.padded` with ``samples=False``).
    """

    data: np.ndarray | None
    mask: np.ndarray
    source_inline: np.ndarray
    source_depth: np.ndarray
    receiver_inline: np.ndarray
    receiver_depth: np.ndarray

    @property
    def offset(self) -> np.ndarray:
        """Signed inline offset receiver - source, ``[S, R]`` metres (e.g. for a top mute)."""
        return self.receiver_inline - self.source_inline[:, None]


class Gather(NamedTuple):
    """One shot: its source, receivers ``[R]`` (metres), live mask ``[R]`` and samples
    ``[R, nt]`` (None when not loaded)."""

    source_inline: float
    source_depth: float
    receiver_inline: np.ndarray
    receiver_depth: np.ndarray
    live: np.ndarray
    traces: np.ndarray | None


_PER_SHOT = ("field_record", "source_xy", "source_inline", "source_depth", "source_water_depth")
_PER_TRACE = ("trace_index", "channel", "receiver_xy", "receiver_inline", "receiver_depth",
              "receiver_water_depth", "header_offset", "trace_id", "all_zero", "non_finite",
              "traces")


@dataclass(frozen=True, eq=False)
class FieldData:
    """Shot gathers of one 2-D line and their geometry; metres, seconds, depths positive down.

    Traces are held in shot order: shot ``k`` owns rows ``shot_start[k]:shot_start[k+1]`` of
    every per-trace array (file order within a shot; ``trace_index`` is each trace's position in
    the file). ``traces [n_traces, nt]`` float32 is None until samples are loaded (``read_segy``,
    ``load_traces``); ``all_zero``/``non_finite`` are None until samples have been looked at.
    ``t0`` is the time of the first sample after the shot; ``source_xy``/``receiver_xy`` the file's
    coordinates, ``*_inline`` their position along ``line``; ``trace_id`` the SEG-Y trace
    identification code (1 = data; :data:`NOT_DATA_CODES` are masked); ``scalars`` the header
    scalars found, value -> number of traces; ``notes`` what the reader noticed.
    """

    name: str
    dt: float
    nt: int
    t0: float
    shot_start: np.ndarray
    field_record: np.ndarray
    source_xy: np.ndarray
    source_inline: np.ndarray
    source_depth: np.ndarray
    source_water_depth: np.ndarray
    trace_index: np.ndarray
    channel: np.ndarray
    receiver_xy: np.ndarray
    receiver_inline: np.ndarray
    receiver_depth: np.ndarray
    receiver_water_depth: np.ndarray
    header_offset: np.ndarray
    trace_id: np.ndarray
    line: LineGeometry = LineGeometry()
    all_zero: np.ndarray | None = None
    non_finite: np.ndarray | None = None
    traces: np.ndarray | None = None
    scalars: dict = _field(default_factory=dict)
    notes: tuple[str, ...] = ()
    path: Path | None = None
    endian: str = "big"

    @classmethod
    def from_arrays(cls, data: np.ndarray, *, dt: float, source_inline, receiver_inline,
                    source_depth=0.0, receiver_depth=0.0, t0: float = 0.0,
                    name: str = "<arrays>") -> "FieldData":
        """Gathers made in memory (e.g. a synthetic survey): ``data [S, R, nt]``, positions in
        metres on the x axis (y = 0): ``source_inline [S]``, ``receiver_inline [R]`` (one spread) or
        ``[S, R]`` (a spread per shot), depths scalars or broadcastable likewise."""
        data = np.asarray(data, dtype=np.float32)
        if data.ndim != 3:
            raise ValueError(f"from_arrays: data must be [shot, receiver, nt], got {data.shape}")
        n, r, nt = data.shape
        try:
            sx, sz = (np.broadcast_to(np.asarray(v, float), (n,))
                      for v in (source_inline, source_depth))
            rx, rz = (np.broadcast_to(np.asarray(v, float), (n, r)).ravel()
                      for v in (receiver_inline, receiver_depth))
        except ValueError:
            raise ValueError(f"from_arrays: positions do not fit data of shape {data.shape}") from None
        shot = np.repeat(np.arange(n), r)
        return cls(name=name, dt=float(dt), nt=nt, t0=float(t0), shot_start=np.arange(n + 1) * r,
                   field_record=np.arange(1, n + 1), source_xy=np.column_stack([sx, 0 * sx]),
                   source_inline=sx.copy(), source_depth=sz.copy(), source_water_depth=np.zeros(n),
                   trace_index=np.arange(n * r), channel=np.tile(np.arange(1, r + 1), n),
                   receiver_xy=np.column_stack([rx, 0 * rx]), receiver_inline=rx.copy(),
                   receiver_depth=rz.copy(), receiver_water_depth=np.zeros(n * r),
                   header_offset=np.round(rx - sx[shot]).astype(np.int64),
                   trace_id=np.ones(n * r, np.int64), traces=data.reshape(n * r, nt))

    # -- sizes and masks ----------------------------------------------------------------------
    @property
    def n_shots(self) -> int:
        return len(self.shot_start) - 1

    @property
    def n_traces(self) -> int:
        return int(self.shot_start[-1])

    @property
    def receivers_per_shot(self) -> np.ndarray:
        return np.diff(self.shot_start)

    @property
    def shot_of_trace(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_shots), self.receivers_per_shot)

    @property
    def offset(self) -> np.ndarray:
        """Signed inline offset receiver - source of every trace, metres."""
        return self.receiver_inline - self.source_inline[self.shot_of_trace]

    @property
    def flagged(self) -> np.ndarray:
        """Traces whose identification code says they are not seismic data (dead, dummy, aux)."""
        return np.isin(self.trace_id, list(NOT_DATA_CODES))

    @property
    def live(self) -> np.ndarray:
        """Traces to invert: not flagged, and (where samples were read) not all-zero, NaN or inf."""
        dead = self.flagged.copy()
        for mask in (self.all_zero, self.non_finite):
            if mask is not None:
                dead |= mask
        return ~dead

    def __post_init__(self) -> None:
        # Samples given without their masks (from_arrays, with_traces): look at them now, so a
        # FieldData holding samples always knows its all-zero and NaN traces.
        if self.traces is not None and self.all_zero is None:
            object.__setattr__(self, "all_zero", ~np.any(self.traces != 0, axis=1))
        if self.traces is not None and self.non_finite is None:
            object.__setattr__(self, "non_finite", ~np.all(np.isfinite(self.traces), axis=1))

    def gather(self, k: int) -> Gather:
        """Shot ``k`` on its own; see :class:`Gather`."""
        if not 0 <= k < self.n_shots:
            raise ValueError(f"shot {k} out of range 0..{self.n_shots - 1} in {self.name}")
        rows = slice(self.shot_start[k], self.shot_start[k + 1])
        return Gather(float(self.source_inline[k]), float(self.source_depth[k]),
                      self.receiver_inline[rows], self.receiver_depth[rows], self.live[rows],
                      None if self.traces is None else self.traces[rows])

    # -- selections and the inversion's view ------------------------------------------------
    def select(self, shots: Iterable[int]) -> "FieldData":
        """The given shots (indices), in that order; the line geometry is kept."""
        shots = [int(s) for s in shots]
        bad = [s for s in shots if not 0 <= s < self.n_shots]
        if bad:
            raise ValueError(f"shot {bad[0]} out of range 0..{self.n_shots - 1} in {self.name}")
        rows = np.concatenate([np.arange(self.shot_start[s], self.shot_start[s + 1]) for s in shots]
                              ) if shots else np.zeros(0, int)
        counts = self.receivers_per_shot[shots]
        changes = {k: getattr(self, k)[shots] for k in _PER_SHOT}
        changes.update({k: getattr(self, k)[rows] for k in _PER_TRACE
                        if getattr(self, k) is not None})
        return replace(self, shot_start=np.concatenate([[0], np.cumsum(counts)]), **changes)

    def with_traces(self, data: np.ndarray) -> "FieldData":
        """The same geometry holding other samples (e.g. predicted data), given per trace
        ``[n_traces, nt]`` or padded ``[S, R, nt]`` as from :meth:`padded`."""
        if hasattr(data, "detach"):  # a torch tensor (deepwave's output), possibly on a GPU
            data = data.detach().cpu().numpy()
        data = np.asarray(data, dtype=np.float32)
        shot = self.shot_of_trace
        if data.ndim == 3 and data.shape[:2] == (self.n_shots, self.receivers_per_shot.max()):
            data = data[shot, np.arange(self.n_traces) - self.shot_start[shot]]
        if data.ndim != 2 or data.shape[0] != self.n_traces:
            raise ValueError(f"data of shape {data.shape} fits neither [{self.n_traces}, nt] nor "
                             f"[{self.n_shots}, {self.receivers_per_shot.max()}, nt]")
        return replace(self, traces=data, nt=data.shape[1], all_zero=None, non_finite=None)

    def padded(self, *, samples: bool = True) -> PaddedGathers:
        """``[S, R, nt]`` data, ``[S, R]`` mask and positions; see :class:`PaddedGathers`.
        ``samples=False``: the geometry and mask only (``data`` None), for a FieldData whose
        samples were not loaded here but whose dead traces are known."""
        if self.traces is None and (samples or self.all_zero is None):
            raise ValueError(f"no samples loaded from {self.name}: use read_segy or load_traces")
        shot = self.shot_of_trace
        slot = np.arange(self.n_traces) - self.shot_start[shot]
        size = (self.n_shots, int(self.receivers_per_shot.max()))
        last = self.shot_start[1:] - 1
        rx = np.repeat(self.receiver_inline[last][:, None], size[1], axis=1)
        rz = np.repeat(self.receiver_depth[last][:, None], size[1], axis=1)
        rx[shot, slot], rz[shot, slot] = self.receiver_inline, self.receiver_depth
        mask = np.zeros(size, bool)
        mask[shot, slot] = self.live
        data = None
        if samples:
            data = np.zeros(size + (self.nt,), np.float32)
            data[shot, slot] = np.where(self.live[:, None], self.traces, 0.0)
        return PaddedGathers(data, mask, self.source_inline.copy(), self.source_depth.copy(), rx, rz)


@dataclass(frozen=True)
class MappingError:
    """How far positions moved onto their cells, metres: the largest move and the RMS."""

    max: float
    rms: float

    @classmethod
    def of(cls, distance: np.ndarray) -> "MappingError":
        if distance.size == 0:
            return cls(0.0, 0.0)
        return cls(float(distance.max()), float(np.sqrt(np.mean(distance ** 2))))


@dataclass(frozen=True, eq=False)
class GridAcquisition:
    """A FieldData's sources and receivers on a grid: cells ``(row, column)`` and the moves.

    ``source_cells [S, 2]``, ``receiver_cells [n_traces, 2]`` (the FieldData's trace order),
    ``shot_start`` and ``live`` as in the FieldData; ``origin = (z0, x0)`` in metres.
    """

    grid: Grid
    origin: tuple[float, float]
    source_cells: np.ndarray
    receiver_cells: np.ndarray
    shot_start: np.ndarray
    live: np.ndarray
    source_error: MappingError
    receiver_error: MappingError

    def source_locations(self) -> torch.Tensor:
        """deepwave's ``source_locations``: ``[S, 1, 2]`` long."""
        return torch.as_tensor(self.source_cells, dtype=torch.long).unsqueeze(1)

    def receiver_locations(self) -> tuple[torch.Tensor, torch.Tensor]:
        """deepwave's ``receiver_locations`` ``[S, R, 2]`` long (R: the most receivers of any
        shot; padding repeats the shot's last receiver) and the mask ``[S, R]`` of live, real
        receivers, the same as :meth:`FieldData.padded`'s."""
        counts = np.diff(self.shot_start)
        shot = np.repeat(np.arange(len(counts)), counts)
        slot = np.arange(int(self.shot_start[-1])) - self.shot_start[shot]
        cells = np.repeat(self.receiver_cells[self.shot_start[1:] - 1][:, None], counts.max(), axis=1)
        cells[shot, slot] = self.receiver_cells
        mask = np.zeros((len(counts), int(counts.max())), bool)
        mask[shot, slot] = self.live
        return torch.as_tensor(cells, dtype=torch.long), torch.as_tensor(mask)


def _cells(depth: np.ndarray, inline: np.ndarray, grid: Grid, origin) -> tuple[np.ndarray, np.ndarray]:
    z0, x0 = origin
    row = np.floor((depth - z0) / grid.dz + 0.5).astype(np.int64)  # round half up, not to even
    col = np.floor((inline - x0) / grid.dx + 0.5).astype(np.int64)
    moved = np.hypot(depth - (z0 + row * grid.dz), inline - (x0 + col * grid.dx))
    return np.column_stack([row, col]), moved


def map_to_grid(field: FieldData, grid: Grid, origin: tuple[float, float] | None = None
                ) -> GridAcquisition:
    """Nearest cells of ``field``'s sources and receivers on ``grid`` (see the module docstring).

    ``origin = (z0, x0)``: depth (m below the datum, so negative above it) and inline position
    (m) of cell ``(0, 0)``; default ``(0, smallest inline position of any source or receiver)``.
    Raises ``ValueError`` (one line) when positions fall outside the grid.
    """
    if origin is None:
        origin = (0.0, float(min(field.source_inline.min(), field.receiver_inline.min())))
    origin = (float(origin[0]), float(origin[1]))
    sources, source_moved = _cells(field.source_depth, field.source_inline, grid, origin)
    receivers, receiver_moved = _cells(field.receiver_depth, field.receiver_inline, grid, origin)
    outside = []
    for label, cells in (("sources", sources), ("receivers", receivers)):
        out = ((cells < 0) | (cells >= np.array(grid.shape))).any(axis=1)
        if out.any():
            outside.append(f"{int(out.sum())} of {len(cells)} {label}")
    if outside:
        (z0, x0), (depth, width) = origin, grid.extent
        raise ValueError(
            f"{' and '.join(outside)} of {field.name} lie outside the model: its cells span inline "
            f"{x0:g} to {x0 + width:g} m and depth {z0:g} to {z0 + depth:g} m (± half a cell); "
            f"the survey spans inline {min(field.source_inline.min(), field.receiver_inline.min()):g}"
            f" to {max(field.source_inline.max(), field.receiver_inline.max()):g} m and depth "
            f"{min(field.source_depth.min(), field.receiver_depth.min()):g} to "
            f"{max(field.source_depth.max(), field.receiver_depth.max()):g} m; "
            "enlarge the grid or move its origin")
    return GridAcquisition(grid, origin, sources, receivers, field.shot_start.copy(), field.live.copy(),
                           MappingError.of(source_moved), MappingError.of(receiver_moved))
