"""Table 5 of the paper: 2004 BP, Salt and Overthrust × smooth / linear / constant start."""

from __future__ import annotations

from ...study import paper_results as paper
from ..context import ReportContext
from ..paper_columns import metric_table, paper_column, unrun_groups_note
from ..runs import group_name


def table5(ctx: ReportContext, scale: str) -> list[str]:
    """Table 5 at ``scale``: one table per metric, the three datasets side by side."""
    lines = ["## Table 5 — 2004 BP, Salt and Overthrust, all metrics"
             + (f" (scale `{scale}`)" if scale else ""), ""]
    groups = {ds: group_name(ds, scale) for ds in ("bp2004", "salt", "overthrust")}
    methods = ctx.methods_in(list(groups.values()))
    for metric in paper.METRICS:
        columns = []
        for ds, group in groups.items():
            mark = "‡" if group in ctx.notes else ""
            for c in paper.TABLE5_COLUMNS[ds]:
                columns.append(paper_column(ctx, group, ds, c, methods, metric,
                                            header=c.printed + mark, where="Table 5"))
        label = ("SSIM ↑ (printed \"SSIM ↓\" in the paper, a typo)" if metric == "ssim"
                 else paper.METRIC_LABELS[metric])
        lines += [f"### {label}", ""]
        lines += metric_table(columns, methods, metric)
        lines.append("")
    lines += unrun_groups_note(ctx, list(groups.values()))
    return lines + [""]
