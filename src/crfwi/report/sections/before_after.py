"""The "before and after" table (``--before DIR``): the cells that issue 11's fixes changed, from
an earlier results folder of the same study and from this one, and the earlier cells not re-run
yet (a reader sees which numbers are stale)."""

from __future__ import annotations

import re
from pathlib import Path

from ...study import paper_results as paper
from ..context import ReportContext
from ..markdown import DASH, fixed, link_path, markdown_table
from ..runs import Cell, record_order

#: Where the fixes are described: the repository's changelog (absent from an installed package).
CHANGELOG = Path(__file__).resolve().parents[4] / "CHANGELOG.md"
GENERIC_CHANGE = "method fixes of issue 11: see CHANGELOG."
NOT_RERUN = "not re-run yet"
ISSUE = re.compile(r"issue\s*#?11\b", re.I)


def before_after(ctx: ReportContext) -> list[str]:
    """A row per changed cell (before → now) and per earlier cell not re-run; nothing without
    ``--before``."""
    if ctx.before is None:
        return []
    listed = []
    for key in sorted(ctx.before_cells, key=lambda k: record_order(ctx.before_cells[k].runs[0])):
        old, new = ctx.before_cells[key], ctx.cells.get(key)
        why = NOT_RERUN if new is None else _why(ctx, old, new)
        if why:
            listed.append((old, new, why))
    rows = [_row(old, new, why) for old, new, why in listed]
    lines = ["## Before and after issue 11's fixes", "",
             f"What changed: {change_sentence()} Earlier numbers from "
             f"`{link_path(ctx.before, ctx.base)}`; the cells shown are those of the methods "
             f"whose code changed ({', '.join(ctx.changed_methods)}) and those whose initial "
             "model changed, each a mean over its seeds. ΔMSE = (now − before) / before.", ""]
    if not rows:
        return lines + ["No cell of the earlier folder changed or is missing here.", ""]
    lines += markdown_table(["group", "initial model", "scenario", "method", "seeds before → now",
                             "MSE before → now", "ΔMSE", "MAE before → now",
                             "SSIM before → now", "why listed"], rows)
    stale = sum(new is None for _, new, _ in listed)
    partly = sum(new is not None and new.n < old.n for old, new, _ in listed)
    lines += ["", f"{stale} of {len(rows)} cells listed are not re-run yet: their numbers in "
              "the tables above are missing (the earlier run is not used)." if stale else
              "Every earlier cell listed has been re-run."]
    if partly:
        lines.append(f"{partly} re-run with fewer seeds so far than before (seeds column): "
                     "their means are over different seeds.")
    return lines + [""]


def _why(ctx: ReportContext, old: Cell, new: Cell) -> str:
    """Why a cell present before and now is listed ("" = it is not)."""
    reasons = []
    if old.method in ctx.changed_methods:
        reasons.append("method changed")
    before, now = old.initial_stat("mse"), new.initial_stat("mse")
    if before and now and abs(now[0] - before[0]) > 1e-6 * max(abs(before[0]), 1e-12):
        reasons.append("initial model changed")
    return ", ".join(reasons)


def before_now(old: Cell, new: Cell | None, metric: str) -> str:
    """``metric``'s mean before → now ("not re-run yet" without a new cell)."""
    b = old.stat(metric)
    n = new.stat(metric) if new is not None else None
    return f"{fixed(b[0] if b else None)} → {fixed(n[0]) if n else NOT_RERUN}"


def mse_change(old: Cell, new: Cell | None) -> str:
    """(now − before) / before of the mean MSE, in %; a dash when either is missing."""
    b, n = old.stat("mse"), new.stat("mse") if new is not None else None
    return f"{100 * (n[0] - b[0]) / b[0]:+.1f} %" if b and n and b[0] else DASH


def _row(old: Cell, new: Cell | None, why: str) -> list[str]:
    """One row: the cell's name, then each metric before → now."""
    seeds = f"{old.n} → {new.n if new is not None else 0}"
    name = paper.METHOD_NAMES.get(old.method, old.method)
    return [old.group, old.init, old.scenario, f"{name} ({old.method})", seeds,
            before_now(old, new, "mse"), mse_change(old, new), before_now(old, new, "mae"),
            before_now(old, new, "ssim"), why]


def change_sentence(changelog: Path = CHANGELOG) -> str:
    """What issue 11 changed, in one sentence from the changelog's "Unreleased" entry: its
    issue-11 subsection's bold bullet leads, else the first sentence of a bullet naming issue 11,
    else a generic sentence."""
    try:
        text = changelog.read_text()
    except OSError:
        return GENERIC_CHANGE
    found = re.search(r"^## \[?Unreleased\]?.*?$(.*?)(?=^## |\Z)", text, re.M | re.S | re.I)
    if not found:
        return GENERIC_CHANGE
    for heading, block in _subsections(found.group(1)):
        if ISSUE.search(heading):
            leads = [lead for lead in map(_lead, _bullets(block)) if lead]
            if leads:
                inner = re.search(r"\((.*)\)", heading)
                label = inner.group(1) if inner else heading
                return f"{label} — {'; '.join(leads)} (CHANGELOG, Unreleased)."
    for bullet in _bullets(found.group(1)):
        if ISSUE.search(bullet):
            first = re.match(r"(.+?[.!?])(\s|$)", bullet)
            return first.group(1) if first else bullet
    return GENERIC_CHANGE



def _subsections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of each ``###`` subsection ("" for the text before the first)."""
    parts = re.split(r"^###\s*(.*)$", text, flags=re.M)
    return [("", parts[0])] + list(zip(parts[1::2], parts[2::2]))


def _bullets(text: str) -> list[str]:
    """The bullets of a Markdown list, each on one line."""
    return [" ".join(b.split()) for b in re.split(r"^\s*[-*] ", text, flags=re.M)[1:]]


def _lead(bullet: str) -> str:
    """A bullet's bold lead as a clause ("" without one); a lead that is not a sentence of its
    own ("**MS-FWI** uses ...") runs on to the first comma, bracket or "and"."""
    found = re.match(r"\*\*(.+?)\*\*(.*)", bullet)
    if not found:
        return ""
    lead, rest = found.group(1).strip(), found.group(2)
    if not lead.endswith("."):
        lead += re.split(r",|;| \(| and |\. ", rest, maxsplit=1)[0].rstrip(".")
    lead = lead.rstrip(".")
    return lead[0].lower() + lead[1:] if lead[1:2].islower() else lead
