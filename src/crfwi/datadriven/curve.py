"""The training curve of a data-driven run (``history.csv`` of :mod:`crfwi.datadriven.train`) as
a figure: the L1 loss on the training and validation maps, and the validation MSE in (km/s)²
beside the mean training map's (the trivial predictor a network has to beat)."""

from __future__ import annotations

import csv
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["read_history", "plot_training_curve"]


def read_history(path: str | Path) -> list[dict[str, float]]:
    """The rows of a training ``history.csv`` as floats (empty cells dropped)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} not found: train the network first")
    with path.open(newline="") as fh:
        return [{k: float(v) for k, v in row.items() if v not in (None, "")}
                for row in csv.DictReader(fh)]


def plot_training_curve(history: str | Path, path: str | Path) -> Path:
    """Write the training curve of ``history`` (a history.csv) to ``path`` (PNG)."""
    rows = read_history(history)
    if not rows:
        raise ValueError(f"{history} holds no epoch yet")
    epochs = [r["epoch"] for r in rows]
    fig = Figure(figsize=(10, 3.8))
    FigureCanvasAgg(fig)
    loss, mse = fig.subplots(1, 2)
    for key, label in (("train_l1", "training (noise drawn each epoch)"),
                       ("val_l1", "validation (held-out maps)")):
        loss.plot(epochs, [r.get(key, float("nan")) for r in rows], marker=".", label=label)
    loss.set(xlabel="epoch", ylabel="L1 of the normalised velocity", yscale="log",
             title="loss")
    loss.legend()
    mse.plot(epochs, [r.get("val_mse_kms2", float("nan")) for r in rows], marker=".",
             label="network")
    mse.plot(epochs, [r.get("mean_map_mse_kms2", float("nan")) for r in rows], "--",
             label="mean training map")
    mse.set(xlabel="epoch", ylabel="MSE (km/s)²", yscale="log",
            title="validation MSE")
    mse.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
