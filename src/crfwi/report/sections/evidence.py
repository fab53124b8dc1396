"""Which metrics are evidence: the claims are checked on MSE and MAE; SSIM is shown second. The
reason is measured, not assumed: the SSIM the runs give their constant initial models."""

from __future__ import annotations

from ...study import paper_results as paper
from ..context import ReportContext

EVIDENCE = ("mse", "mae")


def constant_start_ssim(ctx: ReportContext) -> tuple[float, float] | None:
    """(lowest, highest) SSIM of the constant initial models in the runs' metrics.json
    (``initial.ssim`` of every constant-start run), or None where there is none."""
    values = [v for r in ctx.records if r.init == "constant"
              if (v := r.initial_value("ssim")) is not None]
    return (min(values), max(values)) if values else None


def ssim_caveat(ctx: ReportContext) -> str:
    """The sentence that says why SSIM is not evidence, with the range measured here."""
    measured = constant_start_ssim(ctx)
    if measured is None:
        return ("Claims are checked on MSE/MAE; the ADFWI SSIM convention scores a constant "
                "model well above zero (no constant-start run here to measure it), so SSIM is "
                "shown but not used as evidence.")
    lo, hi = measured
    finals = [v.value for ds in paper.DATASETS
              for v in paper.column_values(ds, "constant", "ssim").values()]
    below = sum(v < lo for v in finals)
    span = f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}–{hi:.2f}"
    return (f"Claims are checked on MSE/MAE; the ADFWI SSIM convention scores a constant model "
            f"{span} (the initial models of this study's constant-start runs, `initial.ssim` "
            f"in their metrics.json), above {below} of the paper's {len(finals)} constant-start "
            "final SSIMs (Tables 4/5), so SSIM is shown but not used as evidence.")
