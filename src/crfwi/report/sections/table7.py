"""Table 7 of the paper: constant-start MSE of the grid and low-rank methods (MPE-FWI, LR-FWI,
LRG-FWI, IG-FWI) on Marmousi, Overthrust and Salt."""

from __future__ import annotations

from ...study import paper_results as paper
from ..context import ReportContext
from ..paper_columns import metric_table, paper_column, unrun_groups_note
from ..runs import group_name

#: Table 7's rows (crfwi's names, its column order) and its datasets with their printed names.
TABLE7_METHODS = ["hashgrid", "lowrank", "lrg", "ig"]
TABLE7_DATASETS = {"marmousi": "Marmousi", "overthrust": "Overthrust", "salt": "Salt body"}


def table7(ctx: ReportContext, scale: str) -> list[str]:
    """Table 7 at ``scale``: a column per dataset (the paper's rows), a row per method."""
    lines = ["## Table 7 — constant initial model, MSE ↓ (grid and low-rank methods)"
             + (f" (scale `{scale}`)" if scale else ""), ""]
    groups = {ds: group_name(ds, scale) for ds in TABLE7_DATASETS}
    constant = next(c for c in paper.TABLE4_COLUMNS if c.key == "constant")
    columns = []
    for ds, group in groups.items():
        mark = "‡" if group in ctx.notes else ""
        columns.append(paper_column(ctx, group, ds, constant, TABLE7_METHODS, "mse", table="7",
                                    header=TABLE7_DATASETS[ds] + mark, where="Table 7"))
    lines += metric_table(columns, TABLE7_METHODS, "mse")
    lines += ["", "The paper prints Table 7 with the datasets as rows; here they are columns, "
              "like Tables 4/5. Its values are Table 7's own (the same as Tables 1/4/5 except "
              "LRG-FWI, which only Table 7 lists).", ""]
    lines += unrun_groups_note(ctx, list(groups.values()))
    return lines + [""]
