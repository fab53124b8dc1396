"""``crfwi inspect FILE.segy``: what crfwi understood of a SEG-Y line, before anything is inverted.

A mis-read header does not fail loudly later: a wrong coordinate scalar stretches the spread
tenfold, a wrong grouping makes one shot of every trace, a dead channel full of spikes drags the
misfit. Printed as plain numbers (shots, traces per shot, sampling, extents, scalars, masked
traces, how straight the line is), such mistakes are visible at a glance; the optional figure
shows the acquisition (sources and receivers along the line, shot by shot) and one gather.

Reading for the summary goes through every trace once, a gather at a time, to count all-zero and
NaN traces; only the plotted gather is kept in memory.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .acquisition import FieldData

__all__ = ["describe", "plot_inspection", "add_inspect_parser"]


def _number(value: float) -> str:
    """Metres to the millimetre (seconds likewise), without exponents for map coordinates."""
    return f"{round(float(value), 3) + 0.0:.12g}"  # + 0.0: no "-0"


def _span(values: np.ndarray, unit: str = "m") -> str:
    lo, hi = _number(np.min(values)), _number(np.max(values))
    return f"{lo} {unit}".strip() if lo == hi else f"{lo} to {hi} {unit}".strip()


def _scalars(counts: dict) -> str:
    if len(counts) == 1:
        return f"{next(iter(counts))} (all traces)"
    return ", ".join(f"{value} ({n} traces)" for value, n in sorted(counts.items()))


def describe(field: "FieldData") -> list[str]:
    """The summary ``crfwi inspect`` prints, one fact per line."""
    from .acquisition import NOT_DATA_CODES

    per_shot = field.receivers_per_shot
    records = field.field_record
    lines = [
        f"file        {field.name}",
        f"shots       {field.n_shots} (field records {_span(records, '')}), {field.n_traces} "
        f"traces, {_span(per_shot, '')} per shot",
        f"samples     {field.nt} every {field.dt * 1e3:g} ms: record length "
        f"{(field.nt - 1) * field.dt:g} s, first sample at {field.t0:g} s",
        f"sources     inline {_span(field.source_inline)}, depth {_span(field.source_depth)}",
        f"receivers   inline {_span(field.receiver_inline)}, depth {_span(field.receiver_depth)}",
        f"offsets     {_span(field.offset)} (receiver - source along the line); header offsets "
        f"{_span(field.header_offset)}",
        f"line        azimuth {_number(field.line.azimuth)}° from x; off the line: max "
        f"{_number(field.line.max_scatter)} m, rms {_number(field.line.rms_scatter)} m",
        f"scalars     coordinate {_scalars(field.scalars.get('coordinate', {}))}; elevation "
        f"{_scalars(field.scalars.get('elevation', {}))}",
    ]
    water = np.concatenate([field.source_water_depth, field.receiver_water_depth])
    if np.any(water):
        lines.append(f"water       depth at sources {_span(field.source_water_depth)}, at receivers "
                     f"{_span(field.receiver_water_depth)}")
    flagged = Counter(NOT_DATA_CODES[c] for c in field.trace_id.tolist() if c in NOT_DATA_CODES)
    reasons = [f"{n} {label} (trace id)" for label, n in sorted(flagged.items())]
    if field.all_zero is not None:
        reasons += [f"{int(field.all_zero.sum())} all-zero", f"{int(field.non_finite.sum())} NaN/inf"]
    lines.append(f"masked      {int((~field.live).sum())} of {field.n_traces} traces"
                 + (f": {', '.join(reasons)}" if reasons else ""))
    lines += [f"note        {note}" for note in field.notes]
    return lines


def _shot_line(field: "FieldData", k: int) -> str:
    a, b = field.shot_start[k], field.shot_start[k + 1]
    return (f"{f'shot {k}':12s}record {field.field_record[k]}, source inline "
            f"{_number(field.source_inline[k])} m depth {_number(field.source_depth[k])} m, "
            f"{b - a} traces ({int(field.live[a:b].sum())} live), offsets {_span(field.offset[a:b])}")


def plot_inspection(field: "FieldData", gather: "FieldData", path: str | Path) -> Path:
    """Two panels to ``path`` (.png): the acquisition map of ``field`` (receivers and source of
    every shot along the line) and ``gather``'s one shot in grey scale, dead traces blank."""
    from ..plotting import _DPI, _new_figure, _png_path, _save

    path = _png_path(path)
    fig = _new_figure(12.0, 5.0)
    left, right = fig.subplots(1, 2, width_ratios=(1.0, 1.2))
    shot, live = field.shot_of_trace, field.live
    left.scatter(field.receiver_inline[live], shot[live], s=4, c="0.5", marker=".", label="receiver")
    if (~live).any():
        left.scatter(field.receiver_inline[~live], shot[~live], s=12, c="tab:orange", marker="x",
                     label="masked trace")
    left.scatter(field.source_inline, np.arange(field.n_shots), s=30, c="tab:red", marker="*",
                 label="source")
    left.set_ylim(field.n_shots - 0.5, -0.5)
    left.yaxis.get_major_locator().set_params(integer=True)
    left.set(xlabel="inline position (m)", ylabel="shot", title="acquisition")
    left.legend(loc="best", fontsize="small")

    data = np.where(gather.live[:, None], gather.traces, np.nan).T
    finite = np.abs(data[np.isfinite(data)])
    clip = float(np.percentile(finite, 99)) if finite.size and finite.max() > 0 else 1.0
    times = (gather.t0 - 0.5 * gather.dt, gather.t0 + (gather.nt - 0.5) * gather.dt)
    right.imshow(data, cmap="gray", vmin=-clip, vmax=clip, aspect="auto", interpolation="nearest",
                 extent=(0.5, gather.n_traces + 0.5, times[1], times[0]))
    right.set(xlabel="trace in the gather", ylabel="time (s)",
              title=f"record {gather.field_record[0]}, source at {_number(gather.source_inline[0])} m")
    return _save(fig, path, _DPI)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .segy import load_traces, scan_segy

    if args.plot and not str(args.plot).lower().endswith(".png"):
        raise ValueError(f"--plot must name a .png file, got {args.plot!r}")
    field = scan_segy(args.file, check_samples=True, zero_scalar_as_one=args.zero_scalar_as_one,
                      sample_interval=args.dt, endian=args.endian)
    if args.shot is not None and not 0 <= args.shot < field.n_shots:
        raise ValueError(f"--shot {args.shot} out of range: {args.file} has shots 0 to "
                         f"{field.n_shots - 1}")
    for line in describe(field):
        print(line)
    shot = 0 if args.shot is None else args.shot
    if args.shot is not None:
        print(_shot_line(field, shot))
    if args.plot:
        print(f"figure      {plot_inspection(field, load_traces(field, [shot]), args.plot)}")
    return 0


def add_inspect_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``crfwi inspect FILE.segy [--plot OUT.png] [--shot K]`` (handler set as ``func``)."""
    p = subparsers.add_parser("inspect", help="what crfwi reads from a SEG-Y line: shots, geometry, "
                              "sampling, dead traces")
    p.add_argument("file", metavar="FILE.segy", help="a 2-D line of shot gathers in SEG-Y")
    p.add_argument("--plot", metavar="OUT.png", help="write the acquisition map and one gather")
    p.add_argument("--shot", type=int, metavar="K", help="describe (and plot) shot K, counted from 0")
    p.add_argument("--zero-scalar-as-one", action="store_true",
                   help="read a coordinate or elevation scalar of 0 as 1 (no scaling)")
    p.add_argument("--dt", type=float, metavar="SECONDS",
                   help="the sample interval, when the file's headers disagree or give none")
    p.add_argument("--endian", choices=["big", "little"], default="big",
                   help="byte order of the file (default big, as SEG-Y requires)")
    p.set_defaults(func=_cmd_inspect)
    return p
