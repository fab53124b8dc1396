"""The "Runs" appendix: every run folder, the cells of ours it enters (recorded by the table
sections) and its own numbers. Runs last, after every table has said what it showed."""

from __future__ import annotations

from ..context import ReportContext
from ..markdown import DASH, escape, fixed, link_path, markdown_table


def runs_appendix(ctx: ReportContext) -> list[str]:
    """A row per run folder (linked), then the incomplete and ignored folders."""
    lines = ['<a id="runs"></a>', "", "## Runs", "",
             "Every cell of ours traces to the run folders below: the cell of group G, "
             "column (initial model I, scenario S) and method M is the mean over the folders "
             "`G/I-S/M-seed*` listed here (a degraded-data column of Table 4 uses the initial "
             "model stated under the table). Folder links are relative to this report.", ""]
    rows = []
    for key, cell in ctx.cells.items():
        where = list(ctx.where.get(key, []))
        for r in cell.runs:
            spe = r.seconds_per_epoch
            used = where + (["Table 1 · compute"] if r.key in ctx.compute_runs else [])
            rows.append([f"[`{r.key}`]({link_path(r.path, ctx.base)})",
                         escape("; ".join(used)) or DASH,
                         str(r.seed),
                         DASH if r.iterations is None else str(r.iterations),
                         fixed(r.value("ssim")), fixed(r.value("mse")), fixed(r.value("mae")),
                         fixed(spe, 3), DASH if r.params is None else str(r.params),
                         fixed(r.peak_memory_mib, 0), "‡" if r.note else ""])
    lines += markdown_table(["run folder", "cells of ours it enters (mean over its seeds)", "seed",
                             "iterations", "SSIM", "MSE", "MAE", "s/epoch",
                             "params", "peak MiB", "note"], rows)
    lines.append("")
    if ctx.incomplete:
        lines += ["Incomplete run folders (no metrics.json; not in any table): "
                  + ", ".join(f"`{k}`" for k in ctx.incomplete), ""]
    if ctx.ignored:
        lines += ["Ignored: " + "; ".join(escape(s) for s in ctx.ignored), ""]
    return lines
