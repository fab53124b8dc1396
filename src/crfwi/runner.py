"""Run a configured inversion into a run folder: progress, metrics, checkpoints, resume, figures.

Run folder layout::

    config.resolved.toml   the full config + [meta] (crfwi/torch/deepwave versions, device, seed…)
    checkpoint.pt          θ, optimiser state, history; written atomically every k iterations
    history.csv            iteration, loss, time; metrics every ``output.metrics_every``
    data.json              what was done to the observed data (noise, low-cut, kept shots), σ0
    metrics.json           final metrics (km/s) + iterations, seconds, params; marks the run complete
    model.npy initial.npy true.npy   final, initial and true model [nz, nx] in m/s
    figures/models.png figures/convergence.png figures/shot.png
"""

from __future__ import annotations

import platform
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import __version__, io, metrics
from .config import ConfigError, RunConfig, config_from_dict, config_to_dict, read_toml
from .experiment import Experiment, build_experiment
from .inversion import Inversion, make_optimizer

__all__ = ["run_inversion", "resume_inversion", "RunResult", "RunInterrupted"]

HISTORY_COLUMNS = ["iteration", "loss", "seconds", "step_seconds", "ssim", "mse", "mae", "psnr",
                   "rel_error", "ntk_change"]
TRACKED_METRICS = ("ssim", "mse", "mae", "psnr", "rel_error")
DATA_RECORD = "data.json"
# Keys a resumed run may change: how long it runs and what it records, not what it computes.
RESUMABLE_OVERRIDES = ("inversion.iterations", "output.")


class RunInterrupted(RuntimeError):
    """The run was stopped (Ctrl-C or SIGTERM) after writing a resumable checkpoint."""


@dataclass
class RunResult:
    folder: Path
    metrics: dict
    initial_metrics: dict


class _GracefulStop:
    """Turn the first SIGINT/SIGTERM into a flag checked between iterations; a second one
    interrupts at once. Only the main thread can install handlers; elsewhere this does nothing."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
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


def _meta(config: RunConfig, experiment: Experiment, n_params: int) -> dict:
    import deepwave

    return {
        "crfwi_version": __version__, "torch_version": torch.__version__,
        "deepwave_version": deepwave.__version__, "numpy_version": np.__version__,
        "python_version": platform.python_version(), "device": str(experiment.device),
        "seed": config.seed, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "grid": experiment.grid.to_dict(), "bounds": list(experiment.bounds),
        "solver": experiment.solver.describe(), "n_shots": experiment.survey.n_shots,
        "source_x": list(experiment.survey.source_x), "params": n_params,
        "metric_definitions": metrics.DEFINITIONS,
    }


def _peak_memory_mib(device: torch.device) -> float | None:
    """Peak memory of this run's device: CUDA's peak allocation since the run started, or on the
    CPU the process's peak resident set (a process that ran several runs reports the largest)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _render(velocity_model) -> np.ndarray:
    with torch.no_grad():
        return velocity_model().detach().cpu().numpy().astype(np.float32)


class _Run:
    """One run's objects and bookkeeping (shared by new and resumed runs)."""

    def __init__(self, config: RunConfig, folder: io.RunFolder, device: str) -> None:
        self.config = config
        self.folder = folder
        self.experiment = build_experiment(config, device=device)
        if self.experiment.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.experiment.device)
        self.model = self.experiment.velocity_model()
        inv = config.inversion
        optimizer = make_optimizer(self.model, lr=inv.lr or None, grid_lr=inv.grid_lr or None)
        self.observed, self.data_record = self.experiment.observed_data_and_record()
        self.inversion = Inversion(
            self.model, self.experiment.solver, self.observed, optimizer=optimizer,
            misfit=self.experiment.misfit(), regularizer=self.experiment.regularizer(),
            shots_per_iteration=inv.shots_per_iteration,
            shot_chunk=config.physics.shot_chunk, seed=config.seed)
        self.label = self.experiment.method.name
        self.history: list[dict] = []
        self.elapsed = 0.0
        self.monitor = None
        if config.output.ntk_every < 0 or config.output.ntk_eigs < 0:
            raise ConfigError("output.ntk_every and output.ntk_eigs must be >= 0")
        if config.output.ntk_every:
            from .ntk import KernelMonitor

            self.monitor = KernelMonitor(every=config.output.ntk_every,
                                         n_eigs=config.output.ntk_eigs, seed=config.seed)
        self.n_params = self.model.representation.n_parameters()

    def checkpoint(self) -> None:
        state = self.inversion.state_dict()
        state.update(history=self.history, seconds=self.elapsed)
        if self.monitor is not None:
            state["ntk_monitor"] = self.monitor.state_dict()
        # History first, checkpoint last: the checkpoint is the commit point of an iteration.
        io.save_csv(self.folder / io.RunFolder.HISTORY, self.history, HISTORY_COLUMNS)
        io.save_checkpoint(self.folder / io.RunFolder.CHECKPOINT, state)

    def restore(self) -> None:
        state = io.load_checkpoint(self.folder / io.RunFolder.CHECKPOINT)
        self.inversion.load_state_dict(state)
        self.history = list(state["history"])
        self.elapsed = float(state["seconds"])
        if self.monitor is not None and "ntk_monitor" in state:
            self.monitor.load_state_dict(state["ntk_monitor"])

    def record_kernel(self, row: dict) -> None:
        """The NTK monitor's estimate at this iteration (see ``output.ntk_every``)."""
        record = self.monitor(self.model, self.experiment.solver, row["iteration"])
        row["ntk_change"] = record.get("relative_change")
        self.monitor.save(self.folder.path)

    def record_metrics(self, row: dict) -> dict:
        values = metrics.evaluate(_render(self.model), self.experiment.true_model)
        row.update({k: values[k] for k in TRACKED_METRICS})
        return values

    def loop(self, *, progress: bool) -> None:
        cfg = self.config
        total = cfg.inversion.iterations
        every = max(1, cfg.output.metrics_every)
        checkpoint_every = max(1, cfg.output.checkpoint_every)
        if not self.history:
            start_row = {"iteration": 0, "seconds": 0.0}
            self.record_metrics(start_row)
            if self.monitor is not None:
                self.record_kernel(start_row)  # Θ(0), the reference of the drift
            self.history.append(start_row)
            self.checkpoint()  # resumable from the very start, even if killed in step 1
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=self.inversion.iteration, desc=self.label,
                       unit="it", file=sys.stderr, dynamic_ncols=True)
        last_ssim = next((r["ssim"] for r in reversed(self.history) if r.get("ssim") is not None), None)
        try:
            with _GracefulStop() as stop:
                for state in self.inversion.run(total):
                    self.elapsed += state.seconds
                    row = {"iteration": state.iteration, "loss": state.loss,
                           "seconds": round(self.elapsed, 4), "step_seconds": round(state.seconds, 4)}
                    if state.iteration % every == 0 or state.iteration == total:
                        last_ssim = self.record_metrics(row)["ssim"]
                    if self.monitor is not None and self.monitor.due(state.iteration):
                        self.record_kernel(row)
                    self.history.append(row)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{state.loss:.3e}",
                                        ssim="-" if last_ssim is None else f"{last_ssim:.3f}")
                    if state.iteration % checkpoint_every == 0 or state.iteration == total:
                        self.checkpoint()
                    if stop.requested and state.iteration < total:
                        self.checkpoint()
                        raise RunInterrupted(
                            f"stopped at iteration {state.iteration}/{total}; resume with "
                            f"`crfwi invert --resume {self.folder.path}`")
        finally:
            if bar is not None:
                bar.close()

    def finish(self) -> RunResult:
        exp = self.experiment
        final = _render(self.model)
        true = exp.true_model
        final_metrics = metrics.evaluate(final, true)
        initial_metrics = metrics.evaluate(exp.initial_model, true)
        folder = self.folder
        io.save_npy(folder / io.RunFolder.MODEL, final)
        io.save_npy(folder / "initial.npy", exp.initial_model)
        io.save_npy(folder / "true.npy", true)
        if self.config.output.figures:
            self.figures(final)
        summary = dict(final_metrics)
        summary.update(
            iterations=self.inversion.iteration, seconds=round(self.elapsed, 3),
            seconds_per_iteration=round(self.elapsed / max(1, self.inversion.iteration), 4),
            params=self.n_params, peak_memory_mib=_peak_memory_mib(exp.device),
            method=self.label, paper_method=exp.method.paper,
            preset=self.config.preset, scale=self.config.scale if self.config.preset else "",
            note=self.config.note, initial=initial_metrics, definitions=metrics.DEFINITIONS)
        io.save_json(folder / io.RunFolder.METRICS, summary)
        return RunResult(folder=folder.path, metrics=summary, initial_metrics=initial_metrics)

    def figures(self, final: np.ndarray) -> None:
        from . import plotting

        exp = self.experiment
        figs = self.folder.figures
        plotting.plot_models({"true": exp.true_model, "initial": exp.initial_model,
                              f"inverted ({self.label})": final},
                             exp.grid, figs / "models.png",
                             title=self.config.note or None)
        plotting.plot_convergence(self.history, figs / "convergence.png",
                                  keys=("loss", "mse", "ssim"))
        shot = exp.survey.n_shots // 2
        with torch.no_grad():
            predicted = exp.solver.simulate(torch.as_tensor(final, device=exp.device), [shot])[0]
        plotting.plot_shot(self.observed[shot].cpu().numpy(), predicted.cpu().numpy(),
                           figs / "shot.png", dt=exp.survey.dt,
                           receiver_x=np.asarray(exp.survey.receiver_x),
                           title=f"shot {shot} at x = {exp.survey.source_x[shot]:.0f} m")


def run_inversion(config: RunConfig, out: str | Path, *, device: str = "auto",
                  progress: bool = True) -> RunResult:
    """Run ``config`` into a new run folder ``out`` (refused if it already holds a run)."""
    folder = io.RunFolder(out)
    folder.check_new()  # refuse an occupied folder before any work
    run = _Run(config, folder, device)  # builds and validates everything before touching disk
    folder.create()
    data = config_to_dict(config)
    data["meta"] = _meta(config, run.experiment, run.n_params)
    io.save_toml(folder / io.RunFolder.CONFIG, data)
    io.save_json(folder / DATA_RECORD, run.data_record)
    if config.note:
        print(f"crfwi: note: {config.note}", file=sys.stderr)
    run.loop(progress=progress and config.output.progress)
    return run.finish()


def resume_inversion(out: str | Path, *, overrides: list[str] | None = None, device: str = "auto",
                     progress: bool = True) -> RunResult:
    """Continue the run in ``out`` from its last checkpoint (or finish it if it is complete).

    ``overrides`` may change only ``inversion.iterations`` (to run longer) and ``output.*``
    (changing ``output.ntk_every`` on resume starts the kernel's drift reference anew).
    """
    folder = io.RunFolder(out).open_for_resume()
    data = read_toml(folder / io.RunFolder.CONFIG)
    meta = data.pop("meta", {})
    from .config import apply_overrides

    for item in overrides or []:
        key = item.partition("=")[0].strip()
        if not any(key == k or (k.endswith(".") and key.startswith(k)) for k in RESUMABLE_OVERRIDES):
            raise ConfigError(f"cannot change `{key}` when resuming; only inversion.iterations "
                              "and output.* may change (start a new run for anything else)")
    config = config_from_dict(apply_overrides(data, overrides or []))
    run = _Run(config, folder, device)
    if not (folder / DATA_RECORD).is_file():  # killed between the config and the data record
        io.save_json(folder / DATA_RECORD, run.data_record)
    if (folder / io.RunFolder.CHECKPOINT).is_file():
        run.restore()
    # else: stopped before its first checkpoint; it starts again from iteration 0.
    if run.inversion.iteration > config.inversion.iterations:
        raise ConfigError(f"the run already has {run.inversion.iteration} iterations, more than "
                          f"inversion.iterations = {config.inversion.iterations}")
    if overrides:
        data = config_to_dict(config)
        data["meta"] = meta
        io.save_toml(folder / io.RunFolder.CONFIG, data)
    if folder.is_complete() and run.inversion.iteration == config.inversion.iterations:
        return run.finish()
    run.loop(progress=progress and config.output.progress)
    return run.finish()
