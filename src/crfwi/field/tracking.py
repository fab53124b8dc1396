"""What a field run follows along the way besides its loss (:mod:`crfwi.runner` drives both):

* :class:`WaveletUpdates`: the source wavelet estimated again at the current model every
  ``field.wavelet_every`` iterations (each estimate's diagnostics in ``wavelets.json``);
* :class:`WellTracker`: the model's RMS misfit to the well log (``well_rms``) in every metrics row
  of the history, and with ``field.keep_best_well`` the model of the lowest kept as
  ``best_well_model.npy``. Without a true model the well is the only measure of the earth a
  run has; acoustic runs of elastic data semi-converge, and the well's best fit is where to stop
  them (BENCHMARKS.md §12).

Both keep their state in the run's history or checkpoint, so a resumed run continues exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .. import io
from .qc import best_well_row, well_comparison

if TYPE_CHECKING:
    from ..experiment import Experiment

__all__ = ["BEST_WELL_MODEL", "WaveletUpdates", "WellTracker"]

BEST_WELL_MODEL = "best_well_model.npy"  # field.keep_best_well's model


class WaveletUpdates:
    """``field.wavelet_every`` k > 0: before iteration i (k divides i), the wavelet is estimated
    again at the current model on rank 0 (it holds every shot's data) and given to every rank."""

    def __init__(self, experiment: "Experiment", every: int, ranks) -> None:
        self.experiment, self.every, self.ranks = experiment, int(every), ranks
        self.at = 0  # the iteration of the wavelet in use (0: the estimate at m0)
        self.records: list[dict] = []  # each re-estimate's diagnostics

    def due(self, iteration: int) -> bool:
        return bool(self.every) and iteration > 0 and iteration % self.every == 0 \
            and self.at != iteration

    def update(self, iteration: int, render: Callable[[], np.ndarray]) -> None:
        """Estimate at the model ``render()`` gives (called on every rank; rank 0 computes)."""
        estimate = self.experiment.field.estimator
        wavelet, diagnostics = self.ranks.on_root(lambda: estimate(render()))
        self.experiment.solver.set_wavelet(wavelet)
        self.at = iteration
        if self.ranks.is_root:
            self.records.append({"iteration": iteration, **diagnostics})

    def state(self) -> dict:
        """The checkpoint's share (empty when the wavelet never changes)."""
        if not self.every:
            return {}
        return {"wavelet": self.experiment.solver.wavelet.detach().cpu(), "wavelet_at": self.at,
                "wavelets": self.records}

    def load(self, state: dict) -> None:
        if self.every and "wavelet" in state:
            self.experiment.solver.set_wavelet(state["wavelet"])
            self.at = int(state["wavelet_at"])
            self.records = list(state["wavelets"])

    def save(self, folder: Path) -> None:
        if self.every:
            io.save_json(Path(folder) / "wavelets.json", self.records)


class WellTracker:
    """The model at the well, scored every metrics row; ``keep_best`` keeps the best model."""

    column = "well_rms"

    def __init__(self, experiment: "Experiment", keep_best: bool, folder: Path) -> None:
        self.experiment, self.keep_best, self.folder = experiment, bool(keep_best), Path(folder)

    @property
    def kept(self) -> Path:
        return self.folder / BEST_WELL_MODEL

    def score(self, row: dict, model: np.ndarray, history: list[dict]) -> None:
        """``row["well_rms"]`` of ``model`` (None when the well lies off the grid; qc.json says
        why), and the model kept when it fits better than every earlier row of ``history``."""
        row[self.column] = well_comparison(self.experiment, model).get("rms_final")
        if self.keep_best and row[self.column] is not None:
            best = best_well_row(history)  # so far: this row is not in the history yet
            if best is None or row[self.column] < best["well_rms"]:
                io.save_npy(self.kept, model)

    def best(self, history: list[dict], keys: tuple[str, ...] = ()) -> dict | None:
        """:func:`crfwi.field.qc.best_well_row` of ``history``, with ``keys`` (e.g. the truth
        metrics a benchmark's run has). The history is the record: a resumed run knows it."""
        return best_well_row(history, keys)

    def kept_model(self) -> np.ndarray | None:
        """The kept model (None without ``keep_best`` or before any row was scored)."""
        return io.load_npy(self.kept) if self.keep_best and self.kept.is_file() else None
