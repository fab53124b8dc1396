"""The "Verification" section: the stored metrics of a random sample of runs, recomputed from
their saved models (:func:`crfwi.report.verification.verify`), and how well they agree."""

from __future__ import annotations

from ..context import ReportContext
from ..markdown import DASH, escape, markdown_table
from ..verification import VERIFIED_KEYS, verify


def verification(ctx: ReportContext) -> list[str]:
    """The verdict, a row per checked run, and the runs skipped with the reason."""
    lines = ["## Verification", ""]
    if ctx.verify_k <= 0:
        return lines + ["Not run (`--verify 0`).", ""]
    result = verify(ctx.records, ctx.verify_k, ctx.seed, _models=ctx.models)
    n_checked = len(result["checked"])
    lines.append(f"Recomputed the metrics of {n_checked} of a random sample of "
                 f"{min(ctx.verify_k, len(ctx.records))} runs (seed {ctx.seed}) from their "
                 "`model.npy` and the true model rebuilt from their config "
                 "(`crfwi.analysis.metrics.evaluate`), against their `metrics.json` "
                 f"(keys {', '.join(VERIFIED_KEYS)}).")
    lines.append("")
    if n_checked:
        verdict = ("**all agree**" if result["ok"] else
                   f"**{len(result['mismatches'])} disagree**: "
                   + ", ".join(f"`{k}`" for k in result["mismatches"]))
        lines += [f"Largest relative difference: {result['max_rel_diff']:.3g} "
                  f"(tolerance {result['tolerance']:g}) — {verdict}.", ""]
        rows = [[f"`{c['key']}`", f"{c['max_rel_diff']:.3g}", c["worst"] or DASH]
                for c in result["checked"]]
        lines += markdown_table(["run", "max relative difference", "metric"], rows) + [""]
    reasons: dict[str, list[str]] = {}
    for item in result["skipped"]:
        reasons.setdefault(item["reason"], []).append(item["key"])
    for reason, keys in reasons.items():
        lines.append(f"* skipped {len(keys)} run(s) — {escape(reason)}: "
                     + ", ".join(f"`{k}`" for k in keys))
    if reasons:
        lines.append("")
    return lines
