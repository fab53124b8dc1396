"""Convergence (clean data): velocity MSE vs iteration per group and initial model, like the
paper's Fig. 7, each with a table of how far every method still fell in its last quarter."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ..context import ReportContext
from ..markdown import escape, fixed, link_path, markdown_table
from ..runs import Cell, method_rank, number

TAIL_FLAT = 0.02  # a relative MSE change below 2 % over the last quarter counts as flat


def convergence(ctx: ReportContext) -> list[str]:
    """One figure (one line per run, one colour per method) and one tail table per case."""
    from ...plotting import _new_figure, _save

    lines = ["## Convergence (velocity MSE, clean data)", "",
             "Velocity MSE against the true model vs iteration, from each run's "
             "`history.csv` (metrics are recorded every k iterations), one line per run, "
             "one colour per method (like the paper's Fig. 7).", ""]
    colours = [f"C{i}" for i in range(10)]
    for group in ctx.groups():
        for init in ctx.clean_inits(group):
            cells = sorted((c for c in ctx.cells.values()
                            if c.group == group and c.init == init and c.scenario == "clean"),
                           key=lambda c: method_rank(c.method))
            fig = _new_figure(7.0, 4.2)
            ax = fig.subplots()
            drawn = 0
            for k, c in enumerate(cells):
                for j, run in enumerate(sorted(c.runs, key=lambda r: r.seed)):
                    xs, ys = history_series(run.path / "history.csv", "mse")
                    if not xs:
                        continue
                    ax.plot(xs, ys, color=colours[k % 10], lw=1.4 if j == 0 else 0.8,
                            alpha=1.0 if j == 0 else 0.6,
                            label=f"{run.paper_method} ({run.method})" if j == 0 else None)
                    drawn += 1
            title = f"{group}, {init} initial model, clean data"
            if not drawn:
                lines += [f"* {title}: no history.csv with MSE values.", ""]
                continue
            ax.set_yscale("log")
            ax.set_xlabel("iteration")
            ax.set_ylabel("velocity MSE ((km/s)²)")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
            note = "; ".join(ctx.notes.get(group, []))
            ax.set_title(title + (" ‡" if note else ""), fontsize=9)
            name = f"convergence_{group}_{init}-clean.png"
            _save(fig, ctx.fig_dir / name, 120)
            lines += [f"![{title}]({link_path(ctx.fig_dir / name, ctx.base)})", ""]
            if note:
                lines += [f"> ‡ {escape(note)}", ""]
            lines += tail_table(cells)
    return lines


def tail_table(cells: list[Cell]) -> list[str]:
    """How far each method still fell in the last quarter of its budget: the evidence for
    (or against) calling the budget converged."""
    rows = []
    for c in cells:
        tails = [tail for run in c.runs
                 if (tail := tail_drop(*history_series(run.path / "history.csv", "mse")))]
        if not tails:
            continue
        then, final, drop = (sum(values) / len(tails) for values in zip(*tails))
        verdict = ("still falling" if drop > TAIL_FLAT else
                   "rising" if drop < -TAIL_FLAT else "flat")
        rows.append([f"{c.runs[0].paper_method} ({c.method})", str(len(tails)),
                     fixed(then), fixed(final), f"{100 * drop:.1f} %", verdict])
    if not rows:
        return []
    return (["MSE drop over the last quarter of the budget (mean over seeds; "
             f"'flat' = within ±{100 * TAIL_FLAT:.0f} %):", ""]
            + markdown_table(["method", "runs", "MSE at 3/4 of the budget", "final MSE",
                              "drop in the last quarter", "verdict"], rows) + [""])


def history_series(path: Path, key: str) -> tuple[list[float], list[float]]:
    """(iterations, values) of ``key`` in a history.csv: finite positive values only (a log
    axis); empty when the file is missing."""
    if not path.is_file():
        return [], []
    xs, ys = [], []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            it, value = number(row.get("iteration")), number(row.get(key))
            if it is not None and value is not None and math.isfinite(value) and value > 0:
                xs.append(it)
                ys.append(value)
    return xs, ys


def tail_drop(xs: list[float], ys: list[float], fraction: float = 0.25
              ) -> tuple[float, float, float] | None:
    """(MSE at the last ``fraction`` of the iterations, final MSE, relative drop between them)."""
    if len(xs) < 2:
        return None
    start = xs[-1] - fraction * (xs[-1] - xs[0])
    k = next(i for i, x in enumerate(xs) if x >= start)
    if k == len(xs) - 1:
        k -= 1
    then, final = ys[k], ys[-1]
    return then, final, (then - final) / then
