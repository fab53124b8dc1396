"""The "Analysis" section: statements computed from the tables (none hand-written) — the best
method per column, ours beside the paper's, and the paper's claim that IG-FWI is always first or
second. MSE and MAE are the evidence, SSIM is shown second (:mod:`.evidence` says why). The
constant-start claims follow in :mod:`.claims`."""

from __future__ import annotations

import math

from ...study import paper_results as paper
from ..context import ReportContext
from ..markdown import DASH, markdown_table
from ..runs import METHOD_ORDER, Cell, group_name
from .evidence import ssim_caveat


def analysis(ctx: ReportContext) -> list[str]:
    """The section's heading, the best-per-column table and the IG-FWI rank claim."""
    lines = ["## Analysis (computed from the numbers above)", "",
             "Every statement here is generated from the tables; none is hand-written. "
             "Means over seeds are compared. " + ssim_caveat(ctx), ""]
    rows, ig_rows = _best_per_column(ctx)
    if rows:
        lines += ["### Best method per column", ""]
        lines += markdown_table(["group", "column", "methods compared", "our best (MSE)",
                                 "our best (MAE)", "paper's best (MSE, all methods)",
                                 "paper's best (MSE, among the methods we ran)", "same best",
                                 "IG-FWI rank, ours (MSE)", "IG-FWI rank, ours (MAE)",
                                 "IG-FWI rank, paper (same methods)",
                                 "our best (SSIM; shown, not evidence)"], rows)
        lines.append("")
    if ig_rows:
        lines += ["### Claim: IG-FWI is best or second in every column (paper: best in 7 of "
                  "Table 1's 11 columns, second in the other 4)", ""]
        for i, metric in enumerate(("MSE", "MAE")):
            ranked = [r for r in ig_rows if r[2 + i] is not None]
            held = [r for r in ranked if r[2 + i] <= 2]
            failed = [f"{r[0]} {r[1]} (rank {r[2 + i]}/{r[4]})" for r in ranked
                      if r[2 + i] > 2]
            lines.append(f"* Ours ({metric}): holds in {len(held)} of {len(ranked)} columns "
                         "with IG-FWI and at least one other method"
                         + (f"; not in: {', '.join(failed)}." if failed else "."))
        lines.append("")
    return lines


def _best_per_column(ctx: ReportContext) -> tuple[list[list[str]], list[tuple]]:
    """The table's rows for every column of Tables 4/5 where at least two methods ran, and
    (group, column, IG-FWI's MSE rank, its MAE rank, methods) where IG-FWI is among them."""
    rows = []
    ig_rows = []
    for scale in ctx.scales():
        for ds in paper.DATASETS:
            group = group_name(ds, scale)
            cols = paper.TABLE4_COLUMNS if ds == "marmousi" else paper.TABLE5_COLUMNS[ds]
            for col in cols:
                cells = {m: ctx.cell_for(group, col, m) for m in METHOD_ORDER}
                cells = {m: c for m, c in cells.items() if c is not None and c.stat("mse")}
                if len(cells) < 2:
                    continue
                ran = list(cells)
                ours = _ranked(cells, "mse")
                ours_mae = _ranked(cells, "mae")
                ours_ssim = max(ran, key=lambda m: cells[m].stat("ssim")[0]
                                if cells[m].stat("ssim") else -math.inf)
                p_all = paper.best(ds, col.key, "mse")
                p_ran = paper.best(ds, col.key, "mse", among=ran)
                p_values = paper.column_values(ds, col.key, "mse",
                                               table=paper.primary_table(ds))
                p_sorted = sorted((m for m in ran if paper.METHOD_NAMES.get(m) in p_values),
                                  key=lambda m: p_values[paper.METHOD_NAMES[m]].value)
                agree = ("yes" if p_ran and paper.METHOD_NAMES.get(ours[0]) in p_ran else "no")
                ig = (f"{ours.index('ig') + 1}/{len(ours)}" if "ig" in ours else DASH)
                ig_mae = (f"{ours_mae.index('ig') + 1}/{len(ours_mae)}" if "ig" in ours_mae
                          else DASH)
                ig_p = (f"{p_sorted.index('ig') + 1}/{len(p_sorted)}" if "ig" in p_sorted
                        else DASH)
                rows.append([group, col.label, str(len(ran)),
                             paper.METHOD_NAMES.get(ours[0], ours[0]),
                             paper.METHOD_NAMES.get(ours_mae[0], ours_mae[0])
                             if ours_mae else DASH,
                             ", ".join(p_all) or DASH, ", ".join(p_ran) or DASH, agree,
                             ig, ig_mae, ig_p, paper.METHOD_NAMES.get(ours_ssim, ours_ssim)])
                if "ig" in ours:
                    mae_rank = ours_mae.index("ig") + 1 if "ig" in ours_mae else None
                    ig_rows.append((group, col.label, ours.index("ig") + 1, mae_rank,
                                    len(ours)))
    return rows, ig_rows


def _ranked(cells: dict[str, Cell], metric: str) -> list[str]:
    """The methods with a value of ``metric``, best (lowest) first."""
    have = [m for m in cells if cells[m].stat(metric)]
    return sorted(have, key=lambda m: cells[m].stat(metric)[0])
