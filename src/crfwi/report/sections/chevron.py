"""The Chevron-2014-style field line (PAPER.md §4.2; issue 13): crfwi's elastic stand-in inverted
acoustically through the field workflow by multiscale ADFWI, IFWI and IG-FWI, from
``benchmarks/chevron_like.py``'s ``summary.json`` (``--chevron DIR``). Field QC first (data misfit,
well-log RMS: what a user without the truth sees), then the truth this stand-in allows."""

from __future__ import annotations

import json

from ..context import ReportContext
from ..markdown import link_path, markdown_table

#: The paper's Chevron result is a figure, not a table (PAPER.md §4.2): IG-FWI best.
PAPER_SAYS = "the paper shows figures only, with IG-FWI's model the closest to the well log"


#: The depth band (a key of a summary row's ``mse_by_depth``) below the diving waves' reach,
#: where the acoustic inversion of elastic data goes wrong (BENCHMARKS.md §12).
DEEP_BAND = "2250-inf"


def _deep(by_depth: dict | None) -> str:
    """Initial → final MSE of the deep band; "–" for a run summarised before it was recorded."""
    if not by_depth or by_depth.get("final", {}).get(DEEP_BAND) is None:
        return "–"
    return f"{by_depth['initial'][DEEP_BAND]:.4f} → {by_depth['final'][DEEP_BAND]:.4f}"


def _lowest(row: dict) -> str:
    """The lowest MSE along the run and its iteration; "–" for a run not scored on the way."""
    best = row.get("lowest_mse_on_the_way")
    return "–" if not best else f"{best['mse']:.4f} (it. {best['iteration']})"


def _well_stop(row: dict) -> str:
    """MSE (MAE, SSIM) of the model that fitted the well log best along the run (a stopping rule
    from the survey's own well): the kept ``best_well_model.npy``'s scores when the run kept it,
    else its history row's; "–" for a run summarised before the history held well_rms."""
    stop = row.get("stopped_at_the_well")
    if not stop or stop.get("mse") is None:
        return "–"
    kept = row["truth"].get("best_well")
    if kept is not None:
        return (f"{kept['mse']:.4f}, MAE {kept['mae']:.4f}, SSIM {kept['ssim']:.3f} "
                f"(it. {stop['iteration']})")
    ssim = "" if stop.get("ssim") is None else f", SSIM {stop['ssim']:.3f}"
    return f"{stop['mse']:.4f}{ssim} (it. {stop['iteration']})"


def chevron(ctx: ReportContext) -> list[str]:
    """The section; nothing without ``--chevron``; a "not run yet" line for an empty folder."""
    if ctx.chevron is None:
        return []
    lines = ["## Chevron-2014-style field line (elastic data, acoustic inversion)", ""]
    path = ctx.chevron / "summary.json"
    if not path.is_file():
        return lines + [f"Not run yet: `python benchmarks/chevron_like.py --summaries "
                        f"{link_path(ctx.chevron, ctx.base)}`.", ""]
    summary = json.loads(path.read_text())
    made = summary["make_data"]
    lines += [f"`{link_path(path, ctx.base)}` ({summary['scale']} scale): "
              f"{made['acquisition']['shots']} shots × {made['acquisition']['channels']} channels "
              f"of elastic data on {made['model']['file']}, wavelet peak "
              f"{made['wavelet']['peak_hz']:.2f} Hz (not a Ricker), noise k = {made['noise']['k']:g}; "
              f"the 1-D initial model from the well's trend. The truth is known here only because "
              f"the data are synthetic; {PAPER_SAYS}.", ""]
    rows = []
    for r in summary["runs"]:
        t, d, w = r["truth"], r["data_misfit_relative"], r["well_rms"]
        window = r.get("well_rms_paper_window") or {}
        rows.append([f"{r['paper_method']} ({r.get('run', r['method'])})",
                     r.get("wavelet", "file"), str(r["iterations"]),
                     f"{d['initial']:.3f} → {d['final']:.3f}", f"{w['initial']:.0f} → {w['final']:.0f}",
                     (f"{window['initial']:.0f} → {window['final']:.0f}"
                      if window.get("final") is not None else "–"),
                     f"{t['initial']['mse']:.4f} → {t['final']['mse']:.4f}", _lowest(r),
                     _well_stop(r),
                     f"{t['initial']['mae']:.4f} → {t['final']['mae']:.4f}",
                     _deep(r.get("mse_by_depth")),
                     f"{t['initial']['ssim']:.3f} → {t['final']['ssim']:.3f}"])
    lines += markdown_table(["method (run)", "wavelet", "iterations", "data misfit (relative) ↓",
                             "well-log RMS (m/s) ↓", "well RMS 1–2.5 km ↓", "MSE (km/s)² ↓",
                             "lowest MSE on the way", "MSE stopped at the well's best fit",
                             "MAE (km/s) ↓", f"MSE below {DEEP_BAND.split('-')[0]} m ↓",
                             "SSIM ↑"], rows)
    return lines + ["", "The paper judges its Chevron result by the well profile from 1 to 2.5 km "
                    "(PAPER.md §4.2): the column \"well RMS 1–2.5 km\" is that window. "
                    "BENCHMARKS.md §12 explains the deep zone (the data are elastic). Runs "
                    "scored against the truth along the way (`field.true_model`) semi-converge: "
                    "\"lowest MSE on the way\" is the best model a stopping rule could have "
                    "kept; \"stopped at the well's best fit\" is the model a rule from the "
                    "survey's own well keeps: the history row of lowest well-log RMS "
                    "(`well_rms`), scored against the truth.", ""]
