"""Table 6 of the paper: the 3-D Overthrust from the smooth start — ADFWI, IFWI, IG-FWI, LR-FWI —
normalised MSE, SSIM, memory and seconds per iteration, ours beside the paper's.

Our runs are the ``paper-3d`` sweep's (group ``overthrust3d-<scale>``). "Normalised MSE" is
undefined in the paper; ours is ``nmse`` = ‖m − m_true‖² / ‖m_true − mean(m_true)‖²
(:func:`crfwi.analysis.metrics.nmse`). Memory is the run's peak (CUDA allocation, or the CPU process's
peak resident set), seconds per iteration the run's mean: both depend on the machine, which the
report's header states; the paper's are one RTX 3090 at 60 × 160 × 160.
"""

from __future__ import annotations

from ...study import paper_results as paper
from ..context import ReportContext
from ..markdown import DASH, markdown_table
from ..runs import mean_std_n

#: Table 6 as printed (PAPER.md §5): method → (normalised MSE, SSIM, memory GB, s/it).
PAPER_TABLE6 = {"pixel": (0.1469, 0.5576, 15.89, 13.82), "siren": (0.1302, 0.4634, 30.61, 15.08),
                "ig": (0.1151, 0.5729, 22.84, 14.61), "lowrank": (0.0968, 0.5914, 16.01, 14.09)}
DATASET = "overthrust3d"


def _stat(runs: list, read) -> tuple[float, float | None, int] | None:
    return mean_std_n([v for v in (read(r) for r in runs) if v is not None])


def _text(stat, digits: int = 4) -> str:
    if stat is None:
        return DASH
    mean, std, _ = stat
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def table6(ctx: ReportContext, scale: str) -> list[str]:
    """Table 6 at ``scale`` (nothing when no 3-D Overthrust run exists at that scale)."""
    group = f"{DATASET}-{scale}" if scale else DATASET
    cells = {key[3]: cell for key, cell in ctx.cells.items()
             if key[0] == group and key[1] == "smooth" and key[2] == "clean"}
    if not cells:
        return []
    mark = "‡" if group in ctx.notes else ""
    lines = [f"## Table 6 — 3-D Overthrust{mark}, smooth start (scale `{scale}`)", "",
             "Ours (paper's) per cell; memory is this run's peak, seconds per iteration its mean, "
             "on the machine in the header (the paper's: one RTX 3090 at 60 × 160 × 160).", ""]
    rows = []
    for method in list(PAPER_TABLE6) + sorted(set(cells) - set(PAPER_TABLE6)):
        cell = cells.get(method)
        runs = cell.runs if cell is not None else []
        theirs = PAPER_TABLE6.get(method, (None,) * 4)
        nmse = _stat(runs, lambda r: r.value("nmse"))
        ssim = _stat(runs, lambda r: r.value("ssim"))
        memory = _stat(runs, lambda r: None if r.peak_memory_mib is None else r.peak_memory_mib / 1024)
        seconds = _stat(runs, lambda r: r.value("seconds_per_iteration"))
        label = paper.METHOD_NAMES.get(method, method)

        def pair(stat, value, digits=4):
            return f"{_text(stat, digits)} ({DASH if value is None else f'{value:g}'})"

        rows.append([f"{label} ({method})", pair(nmse, theirs[0]), pair(ssim, theirs[1]),
                     pair(memory, theirs[2], 2), pair(seconds, theirs[3], 2)])
        ctx.mark_placed(cell, "Table 6")
    # Every method starts from the same smooth model: one run's start stands for all.
    start = [next(iter(cells.values())).runs[0]]
    initial = _stat(start, lambda r: r.initial_value("nmse"))
    initial_ssim = _stat(start, lambda r: r.initial_value("ssim"))
    rows.append(["initial model", f"{_text(initial)} ({DASH})", f"{_text(initial_ssim)} ({DASH})",
                 DASH, DASH])
    lines += _budget(cells)
    lines += markdown_table(["method", "normalised MSE ↓", "SSIM ↑", "memory (GB)",
                             "time (s/it)"], rows)
    lines += ctx.note_marks([group])
    return lines + [""]


def _budget(cells: dict) -> list[str]:
    """One line stating our runs' budget: iterations, and the shots an iteration when a random
    batch (an iteration then costs a fraction of one over every shot, which the line also gives)."""
    runs = [r for cell in cells.values() for r in cell.runs]
    iterations = sorted({r.iterations for r in runs if r.iterations is not None})
    batches = sorted({(r.shots_per_iteration, r.n_shots) for r in runs})
    if not iterations or len(batches) != 1:
        return []
    batch, shots = batches[0]
    text = f"Our budget: {'/'.join(map(str, iterations))} iterations"
    if 0 < batch < (shots or 0):
        epochs = [r.seconds_per_epoch for r in runs if r.seconds_per_epoch is not None]
        text += (f" of {batch} random shot(s) of the {shots}, i.e. "
                 f"{iterations[-1] * batch / shots:.3g} passes over the shots")
        if epochs:
            low, high = f"{min(epochs):.3g}", f"{max(epochs):.3g}"
            text += f" ({low if low == high else f'{low}–{high}'} s a pass)"
    return [text + ".", ""]
