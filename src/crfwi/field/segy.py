"""SEG-Y in and out for one 2-D line: shot gathers, geometry from the trace headers, dead traces.

A user's survey arrives as SEG-Y written by some other program, with that program's conventions.
This module reads what the headers say (SEG-Y rev 1; byte positions 1-based as in the standard),
turns it into metres and seconds, and refuses, in one line naming the file, what it cannot read
unambiguously: guessing a scalar or a sample interval would invert the wrong data without a sign.

Headers used, per trace (segyio's names):

* ``SourceX/SourceY`` (73/77), ``GroupX/GroupY`` (81/85) times the coordinate scalar
  ``SourceGroupScalar`` (71): positive multiplies, negative divides. Each trace's own scalar is
  applied, as the standard says; a scalar of 0 is invalid and refused where it would scale a
  non-zero value, unless ``zero_scalar_as_one=True``. Feet (binary header measurement system 2)
  become metres; geographic coordinates (``CoordinateUnits`` 2-4, byte 89) and files without
  any coordinates are refused. Header offsets far from the coordinates' source-receiver
  distance (a wrong scalar, most often) are noted.
* ``ReceiverGroupElevation`` (41), ``SourceSurfaceElevation`` (45), ``SourceDepth`` (49, below the
  surface), ``SourceWaterDepth``/``GroupWaterDepth`` (61/65) times ``ElevationScalar`` (69), same
  rule. Depths here are metres below the datum (elevation 0, usually sea level), positive down:
  source depth = SourceDepth - SourceSurfaceElevation, receiver depth = -ReceiverGroupElevation.
* Sample interval: ``TRACE_SAMPLE_INTERVAL`` (117) and the binary header's (3217), µs, read
  unsigned. They must agree (traces among themselves, and with the binary header where both are
  set); otherwise ``sample_interval=`` (seconds) must say which is right.
* First sample's time: ``DelayRecordingTime`` (109, ms) with the time scalar (215, 0 read as 1);
  one value for the whole file. ``LagTimeA/LagTimeB`` (105/107) are recording-system lags,
  ignored (a note says when they are set).
* ``FieldRecord`` (9), ``TraceNumber`` (13, the channel), ``offset`` (37, kept as stored: the
  standard gives it no scalar), ``TraceIdentificationCode`` (29).

Shots: traces sharing a source position (x, y, depth) and a FieldRecord form one shot, in the
order of their first trace in the file. The source position wins: one FieldRecord shot from two
places is two shots (files often leave FieldRecord at 0). A FieldRecord splits traces from one
place (a re-shot is another shot) unless ``split_by_record=False``. Each shot keeps its own
receivers (moving spread, towed streamer, any count per shot).

The line: positions are projected onto the direction from the first to the last source (turned
to point towards increasing x, or y for a line along y; for one shot, the receivers' principal
axis). ``inline = position . direction``, metres along the line counted from the foot of the
perpendicular from the coordinate origin, so a line along x keeps x. The distance off the line
is reported (``LineGeometry.max_scatter``), not used.

Dead traces are masked, never inverted: trace identification code 2 (dead), 3 (dummy) or 4-10
(auxiliary: time break, sweep, gun signatures...), all-zero traces, and traces holding NaN or
inf (or refused with ``refuse_nan=True``).

What is read comes back as an ``acquisition.FieldData``. :func:`scan_segy` reads the headers
only; :func:`read_segy` and :func:`load_traces` then read the samples one gather at a time, from a
memory-mapped file where the platform allows. Files are written atomically (a temporary file in
the same folder, then ``os.replace``).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np
import segyio

from ..physics.geometry import Grid
from .acquisition import NOT_DATA_CODES, FieldData, LineGeometry

__all__ = ["SegyError", "FieldData", "NOT_DATA_CODES", "SegyModel", "scan_segy",
           "read_segy", "load_traces", "write_data_segy", "write_model_segy", "read_model_segy"]

_TF = segyio.TraceField
_WORDS = {"ffid": _TF.FieldRecord, "channel": _TF.TraceNumber, "code": _TF.TraceIdentificationCode,
          "sx": _TF.SourceX, "sy": _TF.SourceY, "gx": _TF.GroupX, "gy": _TF.GroupY,
          "xy_scalar": _TF.SourceGroupScalar, "units": _TF.CoordinateUnits,
          "elev_scalar": _TF.ElevationScalar, "rec_elev": _TF.ReceiverGroupElevation,
          "src_elev": _TF.SourceSurfaceElevation, "src_depth": _TF.SourceDepth,
          "src_water": _TF.SourceWaterDepth, "rec_water": _TF.GroupWaterDepth,
          "offset": _TF.offset, "interval": _TF.TRACE_SAMPLE_INTERVAL,
          "count": _TF.TRACE_SAMPLE_COUNT, "delay": _TF.DelayRecordingTime,
          "time_scalar": _TF.ScalarTraceHeader, "lag_a": _TF.LagTimeA, "lag_b": _TF.LagTimeB}
_FOOT = 0.3048


class SegyError(ValueError):
    """A SEG-Y file crfwi cannot use as asked; the message is one line and names the file."""


def _fail(name: object, text: str) -> SegyError:
    return SegyError(f"{name}: {' '.join(str(text).split())}")


# ------------------------------------------------------------------------------------------------
# Reading
def _open(path: Path, endian: str):
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    size = path.stat().st_size
    if size <= 3600:
        what = "headers only" if size == 3600 else "shorter than the 3600-byte headers"
        raise _fail(path, "empty file (0 bytes), not SEG-Y" if size == 0 else
                    f"no traces ({size} bytes: {what})")
    try:
        f = segyio.open(str(path), "r", ignore_geometry=True, endian=endian)
    except Exception as err:  # segyio raises RuntimeError, OSError, IndexError... for bad files
        raise _fail(path, f"cannot read as SEG-Y ({err}); is the file truncated, not SEG-Y, or "
                    f"{'little' if endian == 'big' else 'big'}-endian?") from None
    f.mmap()  # faster header scans where the platform allows; segyio falls back silently
    return f


def _scaled(values: np.ndarray, scalar: np.ndarray) -> np.ndarray:
    """SEG-Y scalar rule: positive multiplies, negative divides, 0 (allowed by now) is 1."""
    values = values.astype(float)
    return np.where(scalar < 0, values / np.where(scalar < 0, -scalar, 1),
                    values * np.where(scalar > 0, scalar, 1))


def _zero_scalar(name, h, scalar_key: str, value_keys, what: str, allowed: bool) -> None:
    used = (h[scalar_key] == 0) & np.any([h[k] != 0 for k in value_keys], axis=0)
    if used.any() and not allowed:
        raise _fail(name, f"{what} is 0 on {int(used.sum())} of {len(used)} traces with non-zero "
                    f"values (first: trace {int(np.argmax(used))}); SEG-Y requires ±1, ±10, ±100...; "
                    "if the file means 'no scaling', pass zero_scalar_as_one=True "
                    "(crfwi inspect --zero-scalar-as-one)")


def _positions(name, f, h, zero_scalar_as_one: bool, notes: list) -> tuple[dict, dict]:
    """Coordinates ``{sx, sy, gx, gy}`` and elevations (metres) with their scalars applied."""
    geographic = np.isin(h["units"], (2, 3, 4))
    if geographic.any():
        raise _fail(name, f"{int(geographic.sum())} traces give geographic coordinates (byte 89 = "
                    f"{int(h['units'][geographic][0])}); project them to metres first")
    coordinates = ("sx", "sy", "gx", "gy")
    if not np.any([h[k] for k in coordinates]):
        raise _fail(name, "no source or receiver coordinates: bytes 73-88 are 0 in every trace")
    elevations = ("rec_elev", "src_elev", "src_depth", "src_water", "rec_water")
    _zero_scalar(name, h, "xy_scalar", coordinates, "the coordinate scalar (bytes 71-72)",
                 zero_scalar_as_one)
    _zero_scalar(name, h, "elev_scalar", elevations, "the elevation scalar (bytes 69-70)",
                 zero_scalar_as_one)
    unit = _FOOT if f.bin[segyio.BinField.MeasurementSystem] == 2 else 1.0
    if unit != 1.0:
        notes.append("coordinates and elevations in feet (binary header byte 3255 = 2), read as metres")
    xy = {k: _scaled(h[k], h["xy_scalar"]) * unit for k in coordinates}
    distance = np.hypot(xy["gx"] - xy["sx"], xy["gy"] - xy["sy"])
    stated = np.abs(h["offset"]) * unit
    off = (stated > 0) & (np.abs(stated - distance) > np.maximum(1.0, 0.01 * distance))
    if off.any():
        notes.append(f"header offsets (byte 37) differ from the source-receiver distance by up to "
                     f"{np.abs(stated - distance)[off].max():.4g} m on {int(off.sum())} traces: is "
                     "the coordinate scalar right?")
    return xy, {k: _scaled(h[k], h["elev_scalar"]) * unit for k in elevations}


def _sample_interval(name, h, binary_us: int, override: float | None) -> float:
    if override is not None:
        if not (math.isfinite(override) and override > 0):
            raise ValueError(f"sample_interval must be a positive number of seconds, "
                             f"got {override!r}")
        return float(override)
    counts = Counter(int(v) for v in h["interval"] if v)
    if len(counts) > 1:
        found = ", ".join(f"{us} µs on {n} traces" for us, n in sorted(counts.items()))
        raise _fail(name, f"mismatched sample intervals between traces (byte 117): {found}")
    trace_us = next(iter(counts), 0)
    if trace_us and binary_us and trace_us != binary_us:
        raise _fail(name, f"the trace headers say a sample interval of {trace_us} µs, the binary "
                    f"header {binary_us} µs; pass sample_interval=SECONDS (crfwi inspect --dt) "
                    "to choose")
    if not (trace_us or binary_us):
        raise _fail(name, "no sample interval in the file (bytes 117 and 3217 are 0); pass "
                    "sample_interval=SECONDS (crfwi inspect --dt)")
    return (trace_us or binary_us) * 1e-6


def _timing(name, f, h, sample_interval: float | None, notes: list) -> tuple[float, int, float]:
    """``(dt, nt, t0)`` in seconds and samples; see the module docstring."""
    nt = len(f.samples)
    if np.any((h["count"] != 0) & (h["count"] != nt)):
        raise _fail(name, f"traces of different lengths (byte 115: {sorted(set(h['count']) - {0})}, "
                    f"binary header {nt} samples); crfwi reads fixed-length traces only")
    dt = _sample_interval(name, h, int(f.bin[segyio.BinField.Interval]) % 65536, sample_interval)
    if sample_interval is not None:
        notes.append(f"sample interval set by the caller: {dt * 1e3:g} ms")
    t0s = np.unique(_scaled(h["delay"], h["time_scalar"]) * 1e-3)
    if len(t0s) > 1:
        raise _fail(name, f"the first sample's time (delay recording time, bytes 109-110) differs "
                    f"between traces ({t0s.min() * 1e3:g} to {t0s.max() * 1e3:g} ms); crfwi needs one")
    lags = int(np.sum((h["lag_a"] != 0) | (h["lag_b"] != 0)))
    if lags:
        notes.append(f"lag time A/B (bytes 105-108) set on {lags} traces: ignored")
    return dt, nt, float(t0s[0])


def _shots(record: np.ndarray, sx: np.ndarray, sy: np.ndarray, depth: np.ndarray):
    """Shot of each trace (numbered by first appearance), the trace order grouping them (file
    order within a shot) and each shot's first trace."""
    keys = np.column_stack([record, sx, sy, depth])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    shot_of = rank[inverse.reshape(-1)]
    return shot_of, np.argsort(shot_of, kind="stable"), np.sort(first)


def _headers(f, path: Path, *, zero_scalar_as_one: bool, sample_interval: float | None,
             split_by_record: bool, endian: str) -> FieldData:
    h = {k: np.asarray(f.attributes(w)[:], dtype=np.int64) for k, w in _WORDS.items()}
    for k in ("interval", "count"):  # two-byte fields that rev 2 makes unsigned
        h[k] %= 65536
    notes: list[str] = []
    xy, el = _positions(path, f, h, zero_scalar_as_one, notes)
    dt, nt, t0 = _timing(path, f, h, sample_interval, notes)
    src_depth = el["src_depth"] - el["src_elev"]
    record = h["ffid"] if split_by_record else np.zeros_like(h["ffid"])
    shot_of, order, heads = _shots(record, xy["sx"], xy["sy"], src_depth)
    source_xy = np.column_stack([xy["sx"], xy["sy"]])[heads]
    receiver_xy = np.column_stack([xy["gx"], xy["gy"]])[order]
    line = LineGeometry.fit(source_xy, receiver_xy)
    scalars = {"coordinate": dict(Counter(h["xy_scalar"].tolist())),
               "elevation": dict(Counter(h["elev_scalar"].tolist()))}
    return FieldData(
        name=str(path), dt=dt, nt=nt, t0=t0,
        shot_start=np.concatenate([[0], np.cumsum(np.bincount(shot_of))]),
        field_record=h["ffid"][heads], source_xy=source_xy, source_inline=line.inline(source_xy),
        source_depth=src_depth[heads], source_water_depth=el["src_water"][heads],
        trace_index=order, channel=h["channel"][order], receiver_xy=receiver_xy,
        receiver_inline=line.inline(receiver_xy), receiver_depth=-el["rec_elev"][order],
        receiver_water_depth=el["rec_water"][order], header_offset=h["offset"][order],
        trace_id=h["code"][order], line=line, scalars=scalars, notes=tuple(notes), path=path,
        endian=endian)


def _gathers(f, field: FieldData):
    """Yield ``(first row, samples [n, nt] float32)`` one shot at a time."""
    for k in range(field.n_shots):
        a, b = field.shot_start[k], field.shot_start[k + 1]
        index = field.trace_index[a:b]
        try:
            if np.all(np.diff(index) == 1):
                block = f.trace.raw[int(index[0]):int(index[-1]) + 1]
            else:
                block = np.stack([f.trace[int(i)] for i in index])
        except Exception as err:
            raise _fail(field.name, f"cannot read the traces of shot {k} ({err})") from None
        yield a, np.asarray(block, dtype=np.float32).reshape(b - a, field.nt)


def _read_samples(field: FieldData, *, keep: bool, refuse_nan: bool) -> FieldData:
    if field.path is None:
        raise ValueError(f"{field.name} has no file to read samples from")
    traces = np.empty((field.n_traces, field.nt), np.float32) if keep else None
    zero = np.zeros(field.n_traces, bool)
    bad = np.zeros(field.n_traces, bool)
    with _open(field.path, field.endian) as f:
        for a, block in _gathers(f, field):
            zero[a:a + len(block)] = ~np.any(block != 0, axis=1)
            bad[a:a + len(block)] = ~np.all(np.isfinite(block), axis=1)
            if keep:
                traces[a:a + len(block)] = block
    if refuse_nan and bad.any():
        first = int(np.argmax(bad))
        raise _fail(field.name, f"{int(bad.sum())} traces hold NaN or inf samples (first: trace "
                    f"{int(field.trace_index[first])} of the file); drop refuse_nan to mask them")
    return replace(field, traces=traces, all_zero=zero, non_finite=bad)


def scan_segy(path: str | os.PathLike, *, check_samples: bool = False, refuse_nan: bool = False,
              zero_scalar_as_one: bool = False, sample_interval: float | None = None,
              split_by_record: bool = True, endian: str = "big") -> FieldData:
    """The geometry of a SEG-Y line from its headers alone (``traces`` stays None).

    With ``check_samples`` every trace is read once, one gather at a time and not kept, to find
    all-zero and NaN/inf traces. Options: see the module docstring.
    """
    path = Path(path)
    with _open(path, endian) as f:
        field = _headers(f, path, zero_scalar_as_one=zero_scalar_as_one, endian=endian,
                         split_by_record=split_by_record, sample_interval=sample_interval)
    return _read_samples(field, keep=False, refuse_nan=refuse_nan) if check_samples else field


def load_traces(field: FieldData, shots: Iterable[int] | None = None, *,
                refuse_nan: bool = False) -> FieldData:
    """``field`` (from :func:`scan_segy`) with the samples of ``shots`` (default all) loaded."""
    field = field if shots is None else field.select(shots)
    return _read_samples(field, keep=True, refuse_nan=refuse_nan)


def read_segy(path: str | os.PathLike, *, shots: Iterable[int] | None = None,
              refuse_nan: bool = False, **options) -> FieldData:
    """A SEG-Y line with its samples (float32), ``shots`` (indices, default all) only.

    ``options``: ``zero_scalar_as_one``, ``sample_interval``, ``split_by_record``, ``endian``
    (see :func:`scan_segy` and the module docstring). Raises :class:`SegyError` (one line naming
    the file) for what cannot be read unambiguously.
    """
    return load_traces(scan_segy(path, **options), shots, refuse_nan=refuse_nan)


# ------------------------------------------------------------------------------------------------
# Writing (atomic: a temporary file in the same folder, then os.replace)
def _exact_scalar(values, limit: int = 2**31 - 1) -> int | None:
    """The coarsest SEG-Y scalar (1, -10, -100, -1000) storing ``values`` exactly as integers
    within ``limit``; None if there is none."""
    values = np.asarray(values, float)
    for k in (1, 10, 100, 1000):
        scaled = values * k
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * k) and np.all(np.abs(scaled) <= limit):
            return -k if k > 1 else 1
    return None


def _length_scalar(what: str, values) -> int:
    """Scalar for coordinates or elevations: exact where possible, else millimetres (the
    rounding, at most 0.5 mm, is far below any grid spacing)."""
    scalar = _exact_scalar(values)
    if scalar is None:
        if np.abs(np.asarray(values, float)).max() * 1000 > 2**31 - 1:
            raise ValueError(f"{what} up to {np.abs(values).max():g} m do not fit SEG-Y headers "
                             "(32-bit integers, in mm)")
        scalar = -1000
    return scalar


def _stored(values, scalar: int) -> np.ndarray:
    return np.round(np.asarray(values, float) * (-scalar if scalar < 0 else 1)).astype(np.int64)


def _atomic_segy(path: str | os.PathLike, nt: int, interval: int, n: int, text: dict, fill) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    spec = segyio.spec()
    spec.samples, spec.tracecount, spec.format = np.arange(nt) * interval / 1000.0, n, 5
    try:
        with segyio.create(tmp, spec) as f:
            f.text[0] = segyio.create_text_header({i + 1: line[:76] for i, line in enumerate(text)})
            f.bin.update({segyio.BinField.Interval: interval, segyio.BinField.Samples: nt,
                          segyio.BinField.MeasurementSystem: 1, segyio.BinField.Format: 5})
            fill(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_data_segy(path: str | os.PathLike, field: FieldData) -> Path:
    """Shot gathers with their geometry headers (IEEE float), readable back by :func:`read_segy`.

    In-memory arrays: wrap them with :meth:`FieldData.from_arrays`; other samples on a read
    geometry: :meth:`FieldData.with_traces`. dt must be a whole number of µs (< 65.536 ms).
    """
    if field.traces is None:
        raise ValueError(f"{field.name} holds no samples to write (load them first)")
    interval = round(field.dt * 1e6)
    if abs(field.dt * 1e6 - interval) > 1e-3 or not 0 < interval < 65536:
        raise ValueError(f"dt = {field.dt:g} s is not a whole number of µs below 65536 µs")
    shot = field.shot_of_trace
    sxy, gxy = field.source_xy[shot], field.receiver_xy
    delay_scalar = _exact_scalar([field.t0 * 1e3], limit=2**15 - 1)
    if delay_scalar is None:
        raise ValueError(f"t0 = {field.t0:g} s does not fit the delay recording time (whole µs, "
                         "|t0| < 32.767 s)")
    xy_scalar = _length_scalar("coordinates", np.concatenate([sxy.ravel(), gxy.ravel()]))
    src_depth = field.source_depth[shot]
    elev = {_TF.SourceDepth: np.maximum(src_depth, 0),
            _TF.SourceSurfaceElevation: np.maximum(-src_depth, 0),
            _TF.ReceiverGroupElevation: -field.receiver_depth,
            _TF.SourceWaterDepth: field.source_water_depth[shot],
            _TF.GroupWaterDepth: field.receiver_water_depth}
    elev_scalar = _length_scalar("depths", np.concatenate(list(elev.values())))
    columns = {_TF.SourceX: sxy[:, 0], _TF.SourceY: sxy[:, 1], _TF.GroupX: gxy[:, 0],
               _TF.GroupY: gxy[:, 1]}
    columns = {**{k: _stored(v, xy_scalar) for k, v in columns.items()},
               **{k: _stored(v, elev_scalar) for k, v in elev.items()}}
    delay = int(_stored([field.t0 * 1e3], delay_scalar)[0])
    text = [f"CRFWI SHOT GATHERS FROM {Path(field.name).name}",
            f"{field.n_shots} SHOTS {field.n_traces} TRACES DT={field.dt!r} S NT={field.nt}",
            "COORDINATES AND DEPTHS IN METRES"]

    def fill(f) -> None:
        for i in range(field.n_traces):
            f.header[i] = {
                _TF.TRACE_SEQUENCE_LINE: i + 1, _TF.TRACE_SEQUENCE_FILE: i + 1,
                _TF.FieldRecord: int(field.field_record[shot[i]]),
                _TF.TraceNumber: int(field.channel[i]), _TF.offset: int(field.header_offset[i]),
                _TF.TraceIdentificationCode: int(field.trace_id[i]), _TF.CoordinateUnits: 1,
                _TF.SourceGroupScalar: xy_scalar, _TF.ElevationScalar: elev_scalar,
                _TF.TRACE_SAMPLE_INTERVAL: interval, _TF.TRACE_SAMPLE_COUNT: field.nt,
                _TF.DelayRecordingTime: delay, _TF.ScalarTraceHeader: delay_scalar,
                **{k: int(v[i]) for k, v in columns.items()}}
            f.trace[i] = field.traces[i]

    return _atomic_segy(path, field.nt, interval, field.n_traces, text, fill)


class SegyModel(NamedTuple):
    """A model read back from SEG-Y: values ``[nz, nx]``, its grid and origin ``(z0, x0)`` (m)."""

    model: np.ndarray
    grid: Grid
    origin: tuple[float, float]


_MODEL_TAG = "CRFWI MODEL"


def write_model_segy(path: str | os.PathLike, model: np.ndarray, grid: Grid,
                     origin: tuple[float, float] = (0.0, 0.0)) -> Path:
    """A model ``[nz, nx]`` as SEG-Y: one trace per column (IEEE float32), samples down in depth.

    Depth axis convention (SEG-Y rev 1 has no depth field): the sample interval (bytes 117 and
    3217) holds dz in millimetres, as a time file holds µs (a "1 ms" axis is 1 m; rev 2 would say
    metres) and the delay recording time the depth of row 0 in metres; 0 where they do not fit.
    Column ``j`` sits at x = x0 + j dx in SourceX, GroupX and CDP_X (y = 0) with a coordinate
    scalar; CDP and crossline (193) number the columns from 1. The exact grid is also written in
    the textual header, which :func:`read_model_segy` prefers, so any float dz, dx and origin come
    back exactly (the values: float32).
    """
    if hasattr(model, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        model = model.detach().cpu().numpy()
    model = np.asarray(model, dtype=np.float32)
    if model.shape != grid.shape:
        raise ValueError(f"model shape {model.shape} does not match the grid {grid.shape}")
    z0, x0 = (float(v) for v in origin)
    x = x0 + np.arange(grid.nx) * grid.dx
    scalar = _length_scalar("model positions", x)
    dz_mm = round(grid.dz * 1000) if grid.dz * 1000 < 65535.5 else 0
    z0_scalar = _exact_scalar([z0], limit=2**15 - 1)
    z0_stored = 0 if z0_scalar is None else int(_stored([z0], z0_scalar)[0])
    text = [f"{_MODEL_TAG} NZ={grid.nz} NX={grid.nx}", f"DZ={grid.dz!r} DX={grid.dx!r}",
            f"Z0={z0!r} X0={x0!r}",
            "ONE TRACE PER COLUMN, SAMPLES DOWN IN DEPTH, METRES",
            "SAMPLE INTERVAL = DZ IN MM; DELAY RECORDING TIME = Z0 IN M"]

    def fill(f) -> None:
        for j in range(grid.nx):
            xs = int(_stored([x[j]], scalar)[0])
            f.header[j] = {_TF.TRACE_SEQUENCE_LINE: j + 1, _TF.TRACE_SEQUENCE_FILE: j + 1,
                           _TF.CDP: j + 1, _TF.INLINE_3D: 1, _TF.CROSSLINE_3D: j + 1,
                           _TF.SourceGroupScalar: scalar, _TF.SourceX: xs, _TF.GroupX: xs,
                           _TF.CDP_X: xs, _TF.CoordinateUnits: 1, _TF.TraceIdentificationCode: 1,
                           _TF.TRACE_SAMPLE_INTERVAL: dz_mm, _TF.TRACE_SAMPLE_COUNT: grid.nz,
                           _TF.DelayRecordingTime: z0_stored, _TF.ScalarTraceHeader: z0_scalar or 1}
            f.trace[j] = np.ascontiguousarray(model[:, j])

    return _atomic_segy(path, grid.nz, dz_mm, grid.nx, text, fill)


def read_model_segy(path: str | os.PathLike, *, endian: str = "big") -> SegyModel:
    """A model written by :func:`write_model_segy` (exactly), or any one-trace-per-column depth
    section under the same convention (dz from the sample interval in mm, x from CDP_X, else
    GroupX, with the coordinate scalar; z0 from the delay recording time in metres)."""
    path = Path(path)
    with _open(path, endian) as f:
        model = np.asarray(f.trace.raw[:], dtype=np.float32).reshape(f.tracecount, -1).T.copy()
        text = bytes(f.text[0]).decode("ascii", "replace")
        words = {"cx": _TF.CDP_X, "gx": _TF.GroupX, "s": _TF.SourceGroupScalar,
                 "dz": _TF.TRACE_SAMPLE_INTERVAL, "z0": _TF.DelayRecordingTime,
                 "t": _TF.ScalarTraceHeader}
        h = {k: np.asarray(f.attributes(w)[:], np.int64) for k, w in words.items()}
        binary_dz = int(f.bin[segyio.BinField.Interval]) % 65536
    found = dict(re.findall(r"\b(NZ|NX|DZ|DX|Z0|X0)=(\S+)", text)) if _MODEL_TAG in text else {}
    if len(found) == 6:
        if (int(found["NZ"]), int(found["NX"])) != model.shape:
            raise _fail(path, f"textual header says {found['NZ']} x {found['NX']} cells, the traces "
                        f"hold {model.shape[0]} x {model.shape[1]}")
        grid = Grid(model.shape[0], model.shape[1], float(found["DZ"]), float(found["DX"]))
        return SegyModel(model, grid, (float(found["Z0"]), float(found["X0"])))
    dz_mm = int(h["dz"][0]) % 65536 or binary_dz
    if not dz_mm:
        raise _fail(path, "no depth sampling: the sample interval (dz in mm) is 0 and there is no "
                    "crfwi textual header")
    x = _scaled(h["cx"] if np.any(h["cx"]) else h["gx"], np.where(h["s"] == 0, 1, h["s"]))
    steps = np.diff(x)
    if len(x) > 1 and (steps.min() <= 0 or np.ptp(steps) > 1e-6 * steps.max()):
        raise _fail(path, "trace positions (CDP_X or GroupX) are not evenly spaced and increasing")
    dx = float(steps[0]) if len(x) > 1 else dz_mm / 1000
    z0 = float(_scaled(h["z0"][:1], np.where(h["t"][:1] == 0, 1, h["t"][:1]))[0])
    grid = Grid(model.shape[0], model.shape[1], dz_mm / 1000, dx)
    return SegyModel(model, grid, (z0, float(x[0])))
