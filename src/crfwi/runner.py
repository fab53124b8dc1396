"""Run a configured inversion into a run folder: progress, metrics, checkpoints, resume, figures.

Run folder layout::

    config.resolved.toml   the full config + [meta] (crfwi/torch/deepwave versions, device, seed…)
    checkpoint.pt          θ, optimiser state, history; written atomically every k iterations
    history.csv            iteration, loss, time; metrics every ``output.metrics_every``
    data.json              what was done to the observed data (noise, low-cut, kept shots), σ0
                           of the clean data (a resume refuses data that no longer match it)
    metrics.json           final metrics (km/s) + iterations, seconds, params; marks the run complete
    model.npy initial.npy true.npy   final, initial and true model [nz, nx] in m/s
    figures/models.png figures/convergence.png figures/shot.png

A 3-D run (``model.ny`` > 0) writes the same files: the models are ``[nz, ny, nx]``, history and
metrics add ``nmse`` (Table 6's normalised MSE), models.png shows inline, crossline and depth
slices (true / initial / inverted on one colour scale) and shot.png the receiver line through the
middle shot.

A field run (``[field] data``) has no true model: no true.npy and no model metrics (its history
holds the loss, the data misfit, and with a well log ``well_rms``, the model's RMS misfit to the
log at the well every ``output.metrics_every``; ``field.keep_best_well`` keeps the model of the
lowest as best_well_model.npy); instead qc.json (data fit per shot at m0 and at the end, the
well-log comparison), model.segy, predicted.segy, wavelet.npy and figures/gathers.png,
figures/well.png (:func:`crfwi.field.qc.write_field_outputs`).

A shot-parallel run (``ranks``, :mod:`crfwi.inversion.distributed`) goes through the same code: every rank
builds the same experiment and model, rank 0 makes the observed data and shares them (a field
run's samples are read by rank 0 alone; the others build from the headers and what rank 0 found
in the samples), and only rank 0 reads or writes the folder, so a checkpoint holds no
rank-specific state and resumes with any number of ranks.
"""

from __future__ import annotations

import json
import math
import platform
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from . import __version__, io
from .methods import regularizers
from .analysis import metrics
from .config import ConfigError, RunConfig, config_from_dict, config_to_dict, read_toml
from .inversion.distributed import RankFailed, Ranks, optimizer_tensors, tensor_checksum
from .experiment import Experiment, build_experiment, build_grid_and_true_model
from .inversion.loop import Inversion, make_optimizer
from .run_outputs import RunResult, render, write_final_outputs
from .run_plan import with_budget

__all__ = ["run_inversion", "resume_inversion", "RunResult", "RunInterrupted", "resume_config"]

HISTORY_COLUMNS = ["iteration", "loss", "seconds", "step_seconds", "ssim", "mse", "mae", "psnr",
                   "rel_error", "ntk_change"]
TRACKED_METRICS = ("ssim", "mse", "mae", "psnr", "rel_error")
# A 3-D run also records Table 6's normalised MSE (crfwi.analysis.metrics.nmse); 2-D files are unchanged.
HISTORY_COLUMNS_3D = HISTORY_COLUMNS + ["nmse"]
TRACKED_METRICS_3D = TRACKED_METRICS + ("nmse",)
DATA_RECORD = "data.json"
# Keys a resumed run may change: how long it runs and what it records, not what it computes
# (physics.shot_chunk changes only how many shots share a solver call: memory, not the result).
RESUMABLE_OVERRIDES = ("inversion.iterations", "output.", "physics.shot_chunk")


class RunInterrupted(RuntimeError):
    """The run was stopped (Ctrl-C or SIGTERM) after writing a resumable checkpoint."""


class _GracefulStop:
    """Turn the first SIGINT/SIGTERM into a flag checked between iterations; a second one
    interrupts at once. Only the main thread can install handlers; elsewhere this does nothing.

    ``debounce_s``: a second signal this soon after the first is the same request (a rank of a
    shot-parallel run may get one signal from the terminal and the same one forwarded by
    torchrun). ``announce``: print the notice (rank 0 only)."""

    def __init__(self, *, debounce_s: float = 0.0, announce: bool = True) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}
        self._debounce_s = debounce_s
        self._announce = announce
        self._first = 0.0

    def _handle(self, signum, frame) -> None:
        if self.requested:
            if time.monotonic() - self._first < self._debounce_s:
                return
            raise KeyboardInterrupt
        self.requested = True
        self._first = time.monotonic()
        if self._announce:
            print("\ncrfwi: stopping after this iteration (press Ctrl-C again to abort now)",
                  file=sys.stderr)

    def __enter__(self) -> "_GracefulStop":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _meta(config: RunConfig, experiment: Experiment, n_params: int, ranks: Ranks) -> dict:
    import deepwave

    return {
        "crfwi_version": __version__, "torch_version": torch.__version__,
        "deepwave_version": deepwave.__version__, "numpy_version": np.__version__,
        "python_version": platform.python_version(), "device": str(experiment.device),
        "seed": config.seed, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "grid": experiment.grid.to_dict(), "bounds": list(experiment.bounds),
        "solver": experiment.solver.describe(), "n_shots": experiment.survey.n_shots,
        "source_x": list(experiment.survey.source_x), "params": n_params,
        **({"source_y": list(experiment.survey.source_y)}
           if hasattr(experiment.survey, "source_y") else {}),
        "metric_definitions": metrics.definitions(experiment.grid_ndim), **ranks.describe(),
        **({} if experiment.field is None else {"field": {
            "file": experiment.field.data.name, "shots": experiment.field.shots,
            "origin": list(experiment.field.origin),
            "wavelet": experiment.field.record["wavelet"]["source"]}}),
    }


class _Run:
    """One run's objects and bookkeeping (shared by new and resumed runs, and by every rank of a
    shot-parallel run: ``self.root`` does the bookkeeping, the other ranks only compute)."""

    def __init__(self, config: RunConfig, folder: io.RunFolder, device: str,
                 ranks: Ranks | None = None) -> None:
        self.config = config
        self.folder = folder
        self.ranks = ranks or Ranks()
        self.root = self.ranks.is_root
        inv = config.inversion

        def build(facts=None):
            experiment = build_experiment(config, device=self.ranks.device or device,
                                          field_facts=facts)
            model = experiment.velocity_model()
            optimizer = make_optimizer(model, lr=inv.lr or None, grid_lr=inv.grid_lr or None)
            return experiment, model, optimizer, experiment.misfit(), experiment.regularizer()

        if config.field.data and self.ranks.distributed:
            # Only rank 0 reads the samples (and estimates the wavelet from them); the others
            # build from the headers with what rank 0 found, and get their data in
            # _observed_data.
            built = self.ranks.together(lambda: build() if self.root else None)
            facts = self.ranks.on_root(
                lambda: built[0].field.sample_facts(built[0].solver.wavelet))
            built = self.ranks.together(lambda: built if self.root else build(facts))
        else:
            built = self.ranks.together(build)
        self.experiment, self.model, optimizer, misfit, regularizer = built
        if self.experiment.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.experiment.device)
        self.observed, self.data_record, held, regularizer = self._observed_data(regularizer)
        self.inversion = Inversion(
            self.model, self.experiment.solver, self.observed, optimizer=optimizer,
            misfit=misfit, regularizer=regularizer, shots_per_iteration=inv.shots_per_iteration,
            shot_chunk=config.physics.shot_chunk, seed=config.seed, observed_shots=held,
            ranks=self.ranks)
        self.label = self.experiment.method.name
        self.history: list[dict] = []
        self.elapsed = 0.0
        self.resyncs = 0
        self.monitor = None
        if config.output.ntk_every < 0 or config.output.ntk_eigs < 0:
            raise ConfigError("output.ntk_every and output.ntk_eigs must be >= 0")
        if config.output.ntk_every and self.root:
            from .analysis.ntk import KernelMonitor

            self.monitor = KernelMonitor(every=config.output.ntk_every,
                                         n_eigs=config.output.ntk_eigs, seed=config.seed)
        self.n_params = self.model.representation.n_parameters()
        three_d = self.experiment.grid_ndim == 3
        self.columns = HISTORY_COLUMNS_3D if three_d else HISTORY_COLUMNS
        self.tracked = TRACKED_METRICS_3D if three_d else TRACKED_METRICS
        self.wavelet = self.well = None  # a field run's (crfwi.field.tracking)
        field = self.experiment.field
        if field is not None:
            from .field.tracking import WaveletUpdates, WellTracker

            self.wavelet = WaveletUpdates(self.experiment, config.field.wavelet_every, self.ranks)
            if field.well is not None:
                self.well = WellTracker(self.experiment, config.field.keep_best_well, folder.path)
                self.columns = self.columns + [WellTracker.column]

    def _observed_data(self, regularizer):
        """The observed data this rank needs, the data record (rank 0), the shots held (None =
        all) and the regulariser. Several ranks: rank 0 makes the data exactly as one process
        does (so a run's data do not depend on its rank count) and shares them: all shots when
        the batches change every iteration, else each rank's fixed block. ADFWI-TV's weight
        conversion is computed once, on rank 0, and shared."""
        exp, ranks = self.experiment, self.ranks
        if not ranks.distributed:
            observed, record = exp.observed_data_and_record()
            return observed, record, None, regularizer
        deferred = (isinstance(regularizer, regularizers.BoundTVSchedule)
                    and regularizer.schedule.alpha_units == "adfwi")

        def make():
            if not ranks.is_root:
                exp.check_memory()
                return None, None, None
            observed, record = exp.observed_data_and_record()
            return observed, record, regularizer.conversion if deferred else None

        observed, record, conversion = ranks.together(make)
        conversion = ranks.on_root(lambda: conversion)
        if deferred and not ranks.is_root:
            regularizer = regularizer.schedule.bind(dz=regularizer.dz, dx=regularizer.dx,
                                                    conversion=conversion)
        survey, n_shots = exp.survey, exp.survey.n_shots
        fixed = not 0 < self.config.inversion.shots_per_iteration < n_shots
        mine = ranks.my_shots(range(n_shots)) if fixed else None
        observed = ranks.share_shots(observed, (n_shots, survey.n_receivers, survey.nt), mine=mine)
        return observed, record, (mine if fixed and not ranks.is_root else None), regularizer

    def checkpoint(self) -> None:
        state = self.inversion.state_dict()
        state.update(history=self.history, seconds=self.elapsed)
        if self.monitor is not None:
            state["ntk_monitor"] = self.monitor.state_dict()
        if self.wavelet is not None:
            state.update(self.wavelet.state())
            self.wavelet.save(self.folder.path)
        # History first, checkpoint last: the checkpoint is the commit point of an iteration.
        io.save_csv(self.folder / io.RunFolder.HISTORY, self.history, self.columns)
        io.save_checkpoint(self.folder / io.RunFolder.CHECKPOINT, state)

    def restore(self, state: dict) -> None:
        """Continue from a checkpoint's state (read by rank 0, the same on every rank)."""
        self.inversion.load_state_dict(state)
        self.history = list(state["history"])
        self.elapsed = float(state["seconds"])
        if self.monitor is not None and "ntk_monitor" in state:
            self.monitor.load_state_dict(state["ntk_monitor"])
        if self.wavelet is not None:
            self.wavelet.load(state)

    def record_kernel(self, row: dict) -> None:
        """The NTK monitor's estimate at this iteration (see ``output.ntk_every``)."""
        record = self.monitor(self.model, self.experiment.solver, row["iteration"])
        row["ntk_change"] = record.get("relative_change")
        self.monitor.save(self.folder.path)

    def record_metrics(self, row: dict) -> dict:
        if self.well is None and self.experiment.true_model is None:  # a field run, loss only
            return {}
        model = render(self.model)
        if self.well is not None:
            self.well.score(row, model, self.history)
        if self.experiment.true_model is None:  # a field run without a known truth
            return {}
        values = metrics.evaluate(model, self.experiment.true_model)
        row.update({k: values[k] for k in self.tracked})
        return values

    def _start(self) -> None:
        """Rank 0: the initial model's row, and a checkpoint resumable from the very start."""
        if self.root and not self.history:
            start_row = {"iteration": 0, "seconds": 0.0}
            self.record_metrics(start_row)
            if self.monitor is not None:
                self.record_kernel(start_row)  # Θ(0), the reference of the drift
            self.history.append(start_row)
            self.keep_model(0)
            self.checkpoint()  # resumable from the very start, even if killed in step 1

    def keep_model(self, iteration: int) -> None:
        """Rank 0: ``output.models_every``'s copy of the model at ``iteration`` (a resumed run
        rewrites the same files, the same values)."""
        every = self.config.output.models_every
        if every and iteration % every == 0:
            path = self.folder.model_at(iteration)
            path.parent.mkdir(exist_ok=True)
            io.save_npy(path, render(self.model))

    def loop(self, *, progress: bool) -> None:
        cfg, ranks = self.config, self.ranks
        total = cfg.inversion.iterations
        every = max(1, cfg.output.metrics_every)
        checkpoint_every = max(1, cfg.output.checkpoint_every)
        ranks.together(self._start)
        bar = None
        if progress and self.root:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=self.inversion.iteration, desc=self.label,
                       unit="it", file=sys.stderr, dynamic_ncols=True)
        last_ssim = next((r["ssim"] for r in reversed(self.history) if r.get("ssim") is not None), None)
        try:
            with _GracefulStop(debounce_s=2.0 if ranks.distributed else 0.0,
                               announce=self.root) as stop:
                while self.inversion.iteration < total:
                    error = None
                    try:
                        it = self.inversion.iteration
                        if self.wavelet is not None and self.wavelet.due(it):
                            self.wavelet.update(it, lambda: render(self.model))
                        state = self.inversion.step()
                        if self.root:
                            self.elapsed += state.seconds
                            row = {"iteration": state.iteration, "loss": state.loss,
                                   "seconds": round(self.elapsed, 4),
                                   "step_seconds": round(state.seconds, 4)}
                            if state.iteration % every == 0 or state.iteration == total:
                                last_ssim = self.record_metrics(row).get("ssim")
                            if self.monitor is not None and self.monitor.due(state.iteration):
                                self.record_kernel(row)
                            self.history.append(row)
                            if bar is not None:
                                bar.update(1)
                                bar.set_postfix(loss=f"{state.loss:.3e}",
                                                ssim="-" if last_ssim is None else f"{last_ssim:.3f}")
                            self.keep_model(state.iteration)
                            if state.iteration % checkpoint_every == 0 or state.iteration == total:
                                self.checkpoint()
                    except RankFailed:
                        raise
                    except Exception as err:  # noqa: BLE001 - several ranks: agreed on below
                        if not ranks.distributed:
                            raise
                        error = err
                    checksum = (tensor_checksum(optimizer_tensors(self.inversion.optimizer))
                                if ranks.distributed else (0.0, 0.0))
                    stopping, identical = ranks.end_iteration(stop=stop.requested, error=error,
                                                              checksum=checksum)
                    if not identical:  # e.g. a non-deterministic GPU backward: rank 0's θ wins
                        ranks.share_state(optimizer_tensors(self.inversion.optimizer))
                        self.resyncs += 1
                    if stopping and self.inversion.iteration < total:
                        if self.root:
                            self.checkpoint()
                        raise RunInterrupted(
                            f"stopped at iteration {self.inversion.iteration}/{total}; resume "
                            f"with `crfwi invert --resume {self.folder.path}`")
        finally:
            if bar is not None:
                bar.close()

    def finish(self) -> RunResult | None:
        """Rank 0: the final model, metrics and figures (other ranks: nothing, None)."""
        if not self.root:
            return None
        return write_final_outputs(self)


def resume_config(out: str | Path | io.RunFolder, overrides: list[str] | None = None, *,
                  max_memory: int | None = None, device: str = "auto",
                  ranks: int = 1) -> tuple[RunConfig, dict, list[str]]:
    """The config of the run in ``out`` with ``overrides`` (only :data:`RESUMABLE_OVERRIDES`)
    and the ``max_memory`` plan applied, its ``[meta]`` table, and the changes to record."""
    from .config import apply_overrides

    folder = out if isinstance(out, io.RunFolder) else io.RunFolder(out)
    folder.open_for_resume()
    data = read_toml(folder / io.RunFolder.CONFIG)
    meta = data.pop("meta", {})
    for item in overrides or []:
        key = item.partition("=")[0].strip()
        if not any(key == k or (k.endswith(".") and key.startswith(k)) for k in RESUMABLE_OVERRIDES):
            raise ConfigError(f"cannot change `{key}` when resuming; only inversion.iterations, "
                              "output.* and physics.shot_chunk may change (start a new run for "
                              "anything else)")
    config = config_from_dict(apply_overrides(data, overrides or []))
    changed = list(overrides or [])
    planned = with_budget(config, max_memory, device, Ranks(world_size=ranks))
    if planned.physics.shot_chunk != config.physics.shot_chunk:
        changed.append(f"physics.shot_chunk={planned.physics.shot_chunk}")
    return planned, meta, changed


def run_inversion(config: RunConfig, out: str | Path, *, device: str = "auto",
                  progress: bool = True, ranks: Ranks | None = None,
                  max_memory: int | None = None) -> RunResult | None:
    """Run ``config`` into a new run folder ``out`` (refused if it already holds a run).

    ``ranks``: this process's :class:`~crfwi.inversion.distributed.Ranks` in a shot-parallel run (every
    rank calls this with the same arguments; rank 0 returns the result, the others None).
    ``max_memory``: bytes one process may use; sets ``physics.shot_chunk`` (:func:`crfwi.run_plan.plan_shot_chunk`).
    """
    ranks = ranks or Ranks()
    folder = io.RunFolder(out)

    def prepare() -> RunConfig:
        folder.check_new()  # refuse an occupied folder before any work
        return with_budget(config, max_memory, device, ranks)

    config = ranks.on_root(prepare)
    run = _Run(config, folder, device, ranks)  # builds and validates everything before touching disk

    def create() -> None:
        if not run.root:
            return
        folder.create()
        data = config_to_dict(config)
        data["meta"] = _meta(config, run.experiment, run.n_params, ranks)
        io.save_toml(folder / io.RunFolder.CONFIG, data)
        io.save_json(folder / DATA_RECORD, run.data_record)
        if config.note:
            print(f"crfwi: note: {config.note}", file=sys.stderr)

    ranks.together(create)
    run.loop(progress=progress and config.output.progress)
    return run.finish()


def _check_same_data(recorded: dict, rebuilt: dict, where: Path) -> None:
    """A resumed run must invert the data it began with. The observed data are rebuilt from the
    recorded config on resume, so a crfwi whose model generator, survey or solver changed since
    (e.g. the 3-D stand-in's low-velocity layer, off by default since stop 26) would change the
    target in mid-run without a word; the clean data's σ0 in data.json catches it."""
    then, now = recorded.get("clean_std"), rebuilt.get("clean_std")
    if then is None or now is None:  # a field run's record, or one written before σ0 was
        return
    if not math.isclose(float(then), float(now), rel_tol=1e-4):
        raise ConfigError(
            f"{where}: the observed data rebuilt from this run's config are not the ones it began "
            f"with (clean-data std {now:.6g}, data.json {float(then):.6g}); crfwi's models or "
            "solver changed since it started (see CHANGELOG.md): start a new run instead of "
            "resuming this one")


def resume_inversion(out: str | Path, *, overrides: list[str] | None = None, device: str = "auto",
                     progress: bool = True, ranks: Ranks | None = None,
                     max_memory: int | None = None) -> RunResult | None:
    """Continue the run in ``out`` from its last checkpoint (or finish it if it is complete).

    ``overrides`` may change only ``inversion.iterations`` (to run longer), ``output.*``
    (changing ``output.ntk_every`` on resume starts the kernel's drift reference anew) and
    ``physics.shot_chunk`` (also what ``max_memory`` sets). ``ranks``: as for
    :func:`run_inversion`; any number of ranks resumes any run (rank 0 reads the folder).
    """
    ranks = ranks or Ranks()
    folder = io.RunFolder(out)

    def read() -> tuple[RunConfig, dict, list[str]]:
        return resume_config(folder, overrides, max_memory=max_memory, device=device,
                             ranks=ranks.world_size)

    config, meta, changed = ranks.on_root(read)
    run = _Run(config, folder, device, ranks)

    def load() -> tuple[dict | None, bool]:
        if not (folder / DATA_RECORD).is_file():  # killed between the config and the data record
            io.save_json(folder / DATA_RECORD, run.data_record)
        else:
            _check_same_data(json.loads((folder / DATA_RECORD).read_text()), run.data_record,
                             folder.path)
        has_checkpoint = (folder / io.RunFolder.CHECKPOINT).is_file()
        state = io.load_checkpoint(folder / io.RunFolder.CHECKPOINT) if has_checkpoint else None
        return state, folder.is_complete()

    state, complete = ranks.on_root(load)
    if state is not None:
        run.restore(state)
    # else: stopped before its first checkpoint; it starts again from iteration 0.
    if run.inversion.iteration > config.inversion.iterations:
        raise ConfigError(f"the run already has {run.inversion.iteration} iterations, more than "
                          f"inversion.iterations = {config.inversion.iterations}")

    def record_changes() -> None:
        if changed and run.root:
            data = config_to_dict(config)
            data["meta"] = meta
            io.save_toml(folder / io.RunFolder.CONFIG, data)

    ranks.together(record_changes)
    if complete and run.inversion.iteration == config.inversion.iterations:
        return run.finish()
    run.loop(progress=progress and config.output.progress)
    return run.finish()
