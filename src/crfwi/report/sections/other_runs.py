"""Runs outside the paper's tables (datasets, initial models or scenarios it does not report):
ours only, one table per group and metric. Runs after the paper's tables, which mark what they
showed."""

from __future__ import annotations

from ...study import paper_results as paper
from ..context import ReportContext
from ..markdown import DASH, best_indices, markdown_table, ours_text
from ..runs import Cell, method_rank


def other_runs(ctx: ReportContext) -> list[str]:
    """The cells no paper table showed, grouped by group; nothing when there are none."""
    rest = [c for k, c in ctx.cells.items() if k not in ctx.placed]
    if not rest:
        return []
    lines = ["## Other runs", "",
             "Runs outside the paper's tables (datasets, initial models or scenarios it does "
             "not report); ours only, best per column in bold.", ""]
    groups: list[str] = []
    for c in rest:
        if c.group not in groups:
            groups.append(c.group)
    for group in groups:
        cells = [c for c in rest if c.group == group]
        lines += [f"### `{group}`", ""]
        lines += _group_tables(ctx, group, cells)
        for c in cells:
            ctx.where.setdefault((c.group, c.init, c.scenario, c.method), []).append(
                f"Other runs · {c.init}-{c.scenario}")
        lines += ctx.note_marks([group])
    return lines + [""]


def _group_tables(ctx: ReportContext, group: str, cells: list[Cell]) -> list[str]:
    """One table per metric: a row per method, a column per (initial model, scenario)."""
    combos: list[tuple[str, str]] = []
    for c in cells:
        if (c.init, c.scenario) not in combos:
            combos.append((c.init, c.scenario))
    methods = sorted({c.method for c in cells}, key=method_rank)
    lines = []
    for metric in paper.METRICS:
        header = ["Method"] + [f"{i}-{s}" for i, s in combos]
        higher = paper.HIGHER_IS_BETTER[metric]
        grid = {(m, combo): ctx.cells.get((group, *combo, m)) for m in methods
                for combo in combos}
        best = {combo: best_indices(
            [(grid[(m, combo)].stat(metric) or (None,))[0] if grid[(m, combo)] else None
             for m in methods], higher) for combo in combos}
        rows = []
        for i, m in enumerate(methods):
            row = [f"{paper.METHOD_NAMES.get(m, m)} ({m})"]
            for combo in combos:
                cell = grid[(m, combo)]
                text = ours_text(cell.stat(metric)) if cell else DASH
                row.append(f"**{text}**" if i in best[combo] else text)
            rows.append(row)
        lines += [f"{paper.METRIC_LABELS[metric]}:", ""] + markdown_table(header, rows) + [""]
    return lines
