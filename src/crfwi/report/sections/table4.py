"""Table 4 of the paper: Marmousi, SSIM / MSE / MAE for every initial model and data scenario."""

from __future__ import annotations

from ...study import paper_results as paper
from ..context import ReportContext
from ..paper_columns import metric_table, paper_column
from ..runs import SCENARIOS, group_name, number


def table4(ctx: ReportContext, scale: str) -> list[str]:
    """Table 4 at ``scale``, then what our degraded-data columns did."""
    group = group_name("marmousi", scale)
    methods = ctx.methods_in([group])
    title = f"## Table 4 — Marmousi, all metrics (`{group}`)"
    lines = [title, ""]
    if group not in ctx.groups():
        lines += [f"No runs of `{group}`: only the paper's numbers are shown.", ""]
    for metric in paper.METRICS:
        columns = [paper_column(ctx, group, "marmousi", c, methods, metric, where="Table 4")
                   for c in paper.TABLE4_COLUMNS]
        lines += [f"### {paper.METRIC_LABELS[metric]}", ""]
        lines += metric_table(columns, methods, metric)
        lines.append("")
    facts = _scenario_facts(ctx, group)
    if facts:
        lines += ["Our degraded-data columns (from each run's data.json and config): "
                  + "; ".join(facts) + ". The paper: noise 4σ0/8σ0, low-cut 4/6 Hz under an "
                  "8 Hz source, 9/5 of 13 shots; its initial model for these columns is "
                  "ambiguous (PAPER.md §4.1; its numbers point to the linear start).", ""]
    lines += ctx.note_marks([group])
    return lines + [""]


def _scenario_facts(ctx: ReportContext, group: str) -> list[str]:
    """What each degraded scenario did, read from data.json and the config."""
    out = []
    for scenario in SCENARIOS[1:]:
        runs = [r for r in ctx.records if r.group == group and r.scenario == scenario]
        if not runs:
            continue
        freq = {r.config.get("survey", {}).get("freq") for r in runs}
        facts = set()
        for r in runs:
            d = r.data
            if number(d.get("highpass_hz")):
                facts.add(f"low-cut below {d['highpass_hz']:g} Hz")
            if number(d.get("noise_k")):
                facts.add(f"noise std {d['noise_k']:g}σ0")
            if d.get("shots_kept"):
                facts.add(f"{len(d['shots_kept'])} of {d.get('n_shots', '?')} shots")
        src = ", ".join(f"{f:g} Hz" for f in sorted(f for f in freq if f is not None))
        init = ctx.degraded_init(group, scenario)
        out.append(f"`{scenario}`: {'; '.join(sorted(facts)) or 'see data.json'} "
                   f"(source {src or '?'}; initial model: {init})")
    return out
