"""The paper's tables are built from columns: our cells beside the paper's printed numbers
(Tables 4, 5 and 1 share this; a new table of the paper's is a list of such columns)."""

from __future__ import annotations

from dataclasses import dataclass

from ..study import paper_results as paper
from .context import ReportContext
from .markdown import DASH, best_indices, fixed, markdown_table, ours_text
from .runs import Cell


@dataclass
class PaperColumn:
    """One column of a metric table: our cells (by method) and the paper's values (by method)."""

    header: str
    cells: dict[str, Cell]
    paper: dict[str, paper.PaperValue]
    paper_best: set[str]
    dataset: str = ""
    key: str = ""


def paper_column(ctx: ReportContext, group: str, dataset: str, column: paper.Column,
                 methods: list[str], metric: str, *, table: str | None = None,
                 header: str | None = None, where: str = "") -> PaperColumn:
    """One of the paper's columns for ``metric``: our cells of ``group`` (marked as placed, at
    ``where``) and the paper's values of ``dataset`` (from its Table ``table`` when given)."""
    cells, values = {}, {}
    for method in methods:
        cell = ctx.cell_for(group, column, method)
        if cell is not None:
            cells[method] = cell
            ctx.mark_placed(cell, f"{where} · {header or column.label}" if where else "")
    for method in methods:
        try:
            value = paper.lookup(dataset, column.key, method, metric, table=table)
        except ValueError:
            value = None
        if value is not None:
            values[method] = value
    best = set(paper.best(dataset, column.key, metric, table=table))
    best_methods = {m for m in methods if m in paper.METHOD_NAMES
                    and paper.METHOD_NAMES[m] in best}
    return PaperColumn(header or column.label, cells, values, best_methods, dataset, column.key)


def metric_table(columns: list[PaperColumn], methods: list[str], metric: str, *,
                 initial_row: bool = True) -> list[str]:
    """A table of "ours (paper)" cells, one row per method (our best bold, the paper's †), and
    the initial model's value as a last row."""
    higher = paper.HIGHER_IS_BETTER.get(metric, False)
    means = {}
    for j, col in enumerate(columns):
        for m in methods:
            stat = col.cells[m].stat(metric) if m in col.cells else None
            means[(j, m)] = stat
    best = [best_indices([means[(j, m)][0] if means[(j, m)] else None for m in methods],
                         higher) for j in range(len(columns))]
    rows = []
    for i, method in enumerate(methods):
        label = paper.METHOD_NAMES.get(method, method)
        row = [f"{label} ({method})"]
        for j, col in enumerate(columns):
            ours = ours_text(means[(j, method)])
            if i in best[j]:
                ours = f"**{ours}**"
            value = col.paper.get(method)
            mark = "†" if method in col.paper_best else ""
            theirs = DASH if value is None else value.text + mark
            row.append(f"{ours} ({theirs})")
        rows.append(row)
    if initial_row:
        row = ["initial model"]
        for col in columns:
            stats = [c.initial_stat(metric) for c in col.cells.values()]
            stats = [s for s in stats if s is not None]
            row.append(f"{fixed(stats[0][0])} ({DASH})" if stats else f"{DASH} ({DASH})")
        rows.append(row)
    return markdown_table(["Method"] + [c.header for c in columns], rows)


def unrun_groups_note(ctx: ReportContext, groups: list[str]) -> list[str]:
    """A line naming the groups of a paper table that have no runs (only the paper's numbers
    are shown there), then the table's stand-in note marks."""
    missing = [g for g in groups if g not in ctx.groups()]
    lines = []
    if missing:
        lines += [f"No runs of {', '.join(f'`{g}`' for g in missing)}: only the paper's "
                  "numbers are shown there.", ""]
    return lines + ctx.note_marks(groups)
