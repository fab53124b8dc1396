"""Which bound derivative each network cell ran under, and what re-running under the inward bound
changed (``--bound-before DIR``: the same cells' runs under the straight-through bound).

The default ``inversion.bound_gradient`` became "inward" after most of the study had run under
"straight-through" (BENCHMARKS.md §10.8). The two differ only while a cell of the unbounded model
lies outside the bounds, so a cell run under either is a valid run of its setting; this section
says which setting each table cell holds, so a reader never compares the two unawares.
"""

from __future__ import annotations

from ...study import paper_results as paper
from ...methods.registry import resolve
from ..context import ReportContext
from ..markdown import DASH, link_path, markdown_table
from ..runs import Cell, aggregate, record_order, scan
from .before_after import before_now, mse_change

DEFAULT = "inward"


def bound_of(record) -> str:
    """The bound derivative a run used ("" for a pixel method: its cells are projected inside
    the bounds after every step, so the derivative outside them is never taken)."""
    try:
        if resolve(record.method).representation == "pixel":
            return ""
    except ValueError:
        return ""
    # Runs written before the option existed clamped with a zero derivative.
    return str(record.config.get("inversion", {}).get("bound_gradient", "zero"))


def bounds(ctx: ReportContext) -> list[str]:
    """A count of the network runs per bound derivative, the cells not under the default, and
    (with ``--bound-before``) each re-run cell before → now."""
    counts: dict[str, int] = {}
    off_default: dict[str, list[str]] = {}
    for r in ctx.records:
        bound = bound_of(r)
        if not bound:
            continue
        counts[bound] = counts.get(bound, 0) + 1
        if bound != DEFAULT:
            off_default.setdefault(bound, []).append(r.key)
    if not counts:
        return []
    lines = ["## The bound's derivative in these tables", "",
             "Network methods keep the model inside its velocity bounds with a clamp whose "
             "derivative is a setting (`inversion.bound_gradient`, BENCHMARKS.md §10.8); the "
             f"default is `{DEFAULT}`. Pixel methods project their cells after every step and "
             "never take it. Network runs here: "
             + ", ".join(f"{n} `{b}`" for b, n in sorted(counts.items())) + ".", ""]
    for bound, keys in sorted(off_default.items()):
        lines += [f"Cells still run under `{bound}` ({len(keys)} runs; re-run them with "
                  "`crfwi bench` after removing their folders, which `crfwi bench --dry-run` "
                  "lists as STALE):", ""]
        lines += [f"- {', '.join(f'`{k}`' for k in sorted(keys, key=_order(ctx)))}", ""]
    lines += _before_now(ctx)
    return lines


def _order(ctx: ReportContext):
    by_key = {r.key: r for r in ctx.records}
    return lambda key: record_order(by_key[key])


def _before_now(ctx: ReportContext) -> list[str]:
    if ctx.bound_before is None or not ctx.bound_before.is_dir():
        return []
    before = aggregate(scan(ctx.bound_before)[0])
    rows = []
    for key, old in sorted(before.items(), key=lambda kv: record_order(kv[1].runs[0])):
        new = ctx.cells.get(key)
        rows.append(_row(old, new))
    if not rows:
        return []
    return ["Each cell re-run under the inward bound, beside its earlier run "
            f"(`{link_path(ctx.bound_before, ctx.base)}`); ΔMSE = (now − before) / before:", "",
            *markdown_table(["group", "initial model", "scenario", "method", "bound before → now",
                             "MSE before → now", "ΔMSE", "SSIM before → now"], rows), ""]


def _row(old: Cell, new: Cell | None) -> list[str]:
    now_bound = bound_of(new.runs[0]) if new is not None else DASH
    name = paper.METHOD_NAMES.get(old.method, old.method)
    return [old.group, old.init, old.scenario, f"{name} ({old.method})",
            f"{bound_of(old.runs[0])} → {now_bound}", before_now(old, new, "mse"),
            mse_change(old, new), before_now(old, new, "ssim")]
