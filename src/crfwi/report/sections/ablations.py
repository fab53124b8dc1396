"""The ablation table (``--ablations DIR``): each ablation run beside the main study's run of the
same group, initial model, method and seed (its "clean" scenario), with the differences."""

from __future__ import annotations

from ...study import paper_results as paper
from ..context import ReportContext
from ..markdown import DASH, fixed, link_path, markdown_table
from ..runs import RunRecord

#: What each ablation changes against its main run (the sweep `ablations`).
LEGEND = {
    "literal-grid": "IG-FWI with Instant-NGP's U(±1e-4) tables (the literal grid) instead of the "
                    "balanced grid scale",
    "table-2e12": "MPE-FWI with a hash table of T = 2^12 entries instead of 2^8",
    "table-2e14": "MPE-FWI with a hash table of T = 2^14 entries instead of 2^8",
    "constant-mean": "constant start at the true model's mean instead of its minimum (the main "
                     "run starts at the minimum)",
    "raw-start": "WinFWI from m0 + F_θ0 (the network's random initial output) instead of "
                 "centred at m0",
}
MAIN_SCENARIO = "clean"
METRICS = ("mse", "mae", "ssim")


def ablations(ctx: ReportContext) -> list[str]:
    """A row per ablation run; nothing without ``--ablations``."""
    if ctx.ablations is None:
        return []
    lines = ["## Ablations", "",
             f"Runs of `{link_path(ctx.ablations, ctx.base)}`, each beside the main study's run "
             "of the same group, initial model, method and seed (clean data). A cell reads "
             "`ablation / main`; Δ = ablation − main (MSE, MAE: negative = the ablation is "
             "better; SSIM is shown, not used as evidence).", ""]
    if not ctx.ablation_records:
        return lines + ["No ablation runs yet.", ""]
    main = {(r.group, r.init, r.scenario, r.method, r.seed): r for r in ctx.records}
    rows = []
    for r in ctx.ablation_records:
        partner = main.get((r.group, r.init, MAIN_SCENARIO, r.method, r.seed))
        row = [f"`{r.scenario}`", r.group, r.init,
               f"{paper.METHOD_NAMES.get(r.method, r.method)} ({r.method})", str(r.seed)]
        for metric in METRICS:
            row += _pair(r, partner, metric)
        rows.append(row)
    header = ["ablation", "group", "initial model", "method", "seed"]
    for label in ("MSE", "MAE", "SSIM"):
        header += [f"{label} ablation / main", f"Δ{label}"]
    lines += markdown_table(header, rows)
    lines += [""] + [f"* `{name}`: {text}." for name, text in LEGEND.items()
                     if any(r.scenario == name for r in ctx.ablation_records)]
    if any(row[6] == DASH for row in rows):
        lines += ["", f"`{DASH}` after the slash: that main run is not in the results folder "
                  "(yet)."]
    return lines + [""]


def _pair(run: RunRecord, main: RunRecord | None, metric: str) -> list[str]:
    """``ablation / main`` and their difference for one metric."""
    ours = run.value(metric)
    theirs = main.value(metric) if main is not None else None
    diff = ours - theirs if ours is not None and theirs is not None else None
    return [f"{fixed(ours)} / {fixed(theirs)}", DASH if diff is None else f"{diff:+.4f}"]
