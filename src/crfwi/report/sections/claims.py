"""The paper's claims about the constant initial model, checked against ours (part of the
"Analysis" section): CR-FWI far ahead of pixel FWI, MPE-FWI failing, and how many seeds back
each number. Each is checked on MSE, then MAE; SSIM is shown last and is not evidence (see
:mod:`.evidence`)."""

from __future__ import annotations

from collections.abc import Iterator

from ...study import paper_results as paper
from ..context import ReportContext
from ..markdown import DASH, fixed, markdown_table, ours_text
from ..runs import METHOD_ORDER, Cell, group_name

#: The continuous-representation methods the claim "CR-FWI beats pixel FWI" is about.
CR_METHODS = ("siren", "gabor", "lowrank", "ig")


def constant_start_claims(ctx: ReportContext) -> list[str]:
    """CR-FWI vs ADFWI (a table), then MPE-FWI vs its initial model and ADFWI (bullets)."""
    lines = []
    rows = []
    mpe = []
    for ds, group, cells in _constant_cells(ctx):
        pixel = cells.get("pixel")
        p_pixel = paper.lookup(ds, "constant", "pixel", "mse")
        for m in CR_METHODS:
            if m not in cells or pixel is None:
                continue
            mean, std, n = cells[m].stat("mse")
            pm, ps, pn = pixel.stat("mse")
            p_m = paper.lookup(ds, "constant", m, "mse")
            overlap = DASH
            if std is not None and ps is not None:
                overlap = "yes" if abs(mean - pm) <= std + ps else "no"
            rows.append([group, paper.METHOD_NAMES[m], ours_text((mean, std, n)),
                         ours_text((pm, ps, pn)), f"{mean / pm:.2f}" if pm else DASH,
                         "yes" if mean < pm else "no", overlap,
                         f"{p_m.value / p_pixel.value:.2f}" if p_m and p_pixel else DASH,
                         *_second_metric(cells[m], pixel, "mae"),
                         _shown(cells[m], pixel, "ssim")])
        if "hashgrid" in cells:
            mpe.append(_mpe_facts(ds, group, cells["hashgrid"], pixel, p_pixel))
    if rows:
        lines += ["### Claim: CR-FWI is far better than pixel FWI (ADFWI) from a constant "
                  "initial model", ""]
        lines += markdown_table(["group", "method", "MSE", "ADFWI MSE", "ratio to ADFWI",
                                 "lower than ADFWI", "mean ± std ranges overlap",
                                 "paper's ratio to ADFWI", "MAE / ADFWI MAE",
                                 "lower than ADFWI (MAE)",
                                 "SSIM / ADFWI SSIM (shown, not evidence)"], rows)
        lines.append("")
    if mpe:
        lines += ["### Claim: MPE-FWI (hash grid) fails from a constant initial model", ""]
        lines += mpe + [""]
    return lines


def seed_counts(ctx: ReportContext) -> list[str]:
    """How many seeds each method has in the constant-start column (fewer than 3 flagged)."""
    lines = []
    for ds, group, cells in _constant_cells(ctx):
        counts = {m: c.n for m, c in cells.items()}
        few = [f"{paper.METHOD_NAMES.get(m, m)} (n={n})" for m, n in counts.items() if n < 3]
        lines.append(f"* `{group}` constant start: seeds per method "
                     + ", ".join(f"{paper.METHOD_NAMES.get(m, m)} {n}"
                                 for m, n in counts.items())
                     + (f"; fewer than 3 seeds: {', '.join(few)}." if few else
                        "; every method has at least 3 seeds."))
    if lines:
        lines = ["### Seeds in the constant-start column (the paper reports single runs)",
                 ""] + lines + [""]
    return lines


def _constant_cells(ctx: ReportContext) -> Iterator[tuple[str, str, dict[str, Cell]]]:
    """(dataset, group, {method: cell}) of every clean constant-start column with MSE values."""
    for scale in ctx.scales():
        for ds in paper.DATASETS:
            group = group_name(ds, scale)
            cells = {m: ctx.cells.get((group, "constant", "clean", m)) for m in METHOD_ORDER}
            cells = {m: c for m, c in cells.items() if c is not None and c.stat("mse")}
            if cells:
                yield ds, group, cells


def _mpe_facts(ds: str, group: str, c: Cell, pixel: Cell | None, p_pixel) -> str:
    """One bullet: MPE-FWI's final MSE against its initial model's and ADFWI's, ours and the
    paper's."""
    mean = c.stat("mse")[0]
    init = c.initial_stat("mse")
    p_h = paper.lookup(ds, "constant", "hashgrid", "mse")
    facts = [f"{group}: MPE-FWI final MSE {fixed(mean)}"]
    if init:
        facts.append(f"initial model MSE {fixed(init[0])} (final / initial = "
                     f"{mean / init[0]:.2f})")
    if pixel is not None:
        pm = pixel.stat("mse")[0]
        facts.append(f"ADFWI {fixed(pm)} (MPE-FWI {'worse' if mean > pm else 'better'})")
    if p_h and p_pixel:
        facts.append(f"paper: MPE-FWI {p_h.text} vs ADFWI {p_pixel.text} "
                     f"({'worse' if p_h.value > p_pixel.value else 'better'})")
    mae, mae_init = c.stat("mae"), c.initial_stat("mae")
    if mae:
        facts.append(f"MAE {fixed(mae[0])}"
                     + (f" (initial {fixed(mae_init[0])}, final / initial = "
                        f"{mae[0] / mae_init[0]:.2f})" if mae_init and mae_init[0] else ""))
    ssim, ssim_init = c.stat("ssim"), c.initial_stat("ssim")
    if ssim:
        facts.append(f"SSIM {fixed(ssim[0])}"
                     + (f" (initial {fixed(ssim_init[0])})" if ssim_init else "")
                     + ", shown, not evidence")
    return "* " + "; ".join(facts) + "."


def _second_metric(c: Cell, pixel: Cell, metric: str) -> list[str]:
    """``method / ADFWI`` means of a lower-is-better ``metric`` and whether the method is lower."""
    ours, theirs = c.stat(metric), pixel.stat(metric)
    if not ours or not theirs:
        return [f"{DASH} / {DASH}", DASH]
    return [f"{fixed(ours[0])} / {fixed(theirs[0])}", "yes" if ours[0] < theirs[0] else "no"]


def _shown(c: Cell, pixel: Cell, metric: str) -> str:
    """``method / ADFWI`` means of ``metric``, shown only."""
    ours, theirs = c.stat(metric), pixel.stat(metric)
    return f"{fixed(ours[0] if ours else None)} / {fixed(theirs[0] if theirs else None)}"
