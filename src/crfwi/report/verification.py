"""Checking stored metrics: recompute them from a run's saved ``model.npy`` and its rebuilt true
model, and compare with its ``metrics.json``."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np

from .runs import RunRecord, collect, record_order
from .true_models import TrueModels

#: A recomputed metric agrees with metrics.json when their relative difference is at most this.
VERIFY_TOLERANCE = 1e-6
#: The metrics.json keys recomputed and compared.
VERIFIED_KEYS = ("ssim", "ssim_gaussian", "mse", "mae", "rmse", "psnr", "rel_error")


def relative_difference(recomputed: float | None, stored: float | None) -> float:
    """|recomputed - stored| / |stored|; 0 where both are nan or the same inf, inf where one is
    missing."""
    if recomputed is None or stored is None:
        return math.inf
    if math.isnan(recomputed) and math.isnan(stored):
        return 0.0
    if math.isinf(recomputed) or math.isinf(stored):
        return 0.0 if recomputed == stored else math.inf
    return abs(recomputed - stored) / max(abs(stored), 1e-12)


def verify(results_dir: str | Path | list[RunRecord], sample: int = 5, seed: int = 0, *,
           tolerance: float = VERIFY_TOLERANCE, _models: TrueModels | None = None) -> dict:
    """Recompute the metrics of a random sample of ``sample`` runs (all if fewer; 0 = none) from
    their ``model.npy`` and the true model rebuilt from their config, and compare with their
    ``metrics.json``.

    Returns ``{"sample", "seed", "tolerance", "checked": [{key, max_rel_diff, worst, diffs}],
    "skipped": [{key, reason}], "max_rel_diff", "mismatches": [keys], "ok"}``; ``ok`` is True
    when every checked run agrees to ``tolerance`` (relative) and at least one was checked.
    """
    from ..analysis.metrics import evaluate

    records = results_dir if isinstance(results_dir, list) else collect(results_dir)
    if isinstance(sample, bool) or int(sample) != sample or sample < 0:
        raise ValueError(f"the verification sample must be a whole number >= 0, got {sample!r}")
    models = _models or TrueModels()
    chosen = random.Random(seed).sample(records, min(int(sample), len(records)))
    chosen.sort(key=record_order)
    checked, skipped = [], []
    for record in chosen:
        model_path = record.path / "model.npy"
        if not model_path.is_file():
            skipped.append({"key": record.key, "reason": "no model.npy"})
            continue
        try:
            _, true, source = models.true_model(record)
        except ValueError as err:
            skipped.append({"key": record.key, "reason": str(err)})
            continue
        try:
            values = evaluate(np.load(model_path, allow_pickle=False), true)
        except (ValueError, TypeError) as err:
            checked.append({"key": record.key, "max_rel_diff": math.inf, "worst": "model.npy",
                            "diffs": {}, "error": str(err), "source": source})
            continue
        diffs = {k: relative_difference(values[k], record.value(k)) for k in VERIFIED_KEYS
                 if k in record.metrics}
        worst = max(diffs, key=diffs.get) if diffs else ""
        checked.append({"key": record.key, "max_rel_diff": diffs.get(worst, math.inf),
                        "worst": worst, "diffs": diffs, "source": source,
                        "recomputed": {k: values[k] for k in diffs}})
    worst_all = max((c["max_rel_diff"] for c in checked), default=None)
    mismatches = [c["key"] for c in checked if not c["max_rel_diff"] <= tolerance]
    return {"sample": int(sample), "seed": seed, "tolerance": tolerance, "checked": checked,
            "skipped": skipped, "max_rel_diff": worst_all, "mismatches": mismatches,
            "ok": bool(checked) and not mismatches}
