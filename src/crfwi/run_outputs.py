"""What a finished run writes (rank 0): the final and initial models, the metrics that mark the
run complete, a field run's QC, and the figures (:mod:`crfwi.runner` runs; this writes).

``run`` below is the runner's one-run object: it holds the config, the run folder, the built
experiment and model, the observed data, the history and the elapsed time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import io
from .analysis import metrics

__all__ = ["RunResult", "render", "peak_memory_mib", "write_final_outputs", "write_figures"]


@dataclass
class RunResult:
    folder: Path
    metrics: dict
    initial_metrics: dict


def render(velocity_model) -> np.ndarray:
    """The model ``m_θ`` as a float32 array in m/s, without a graph."""
    with torch.no_grad():
        return velocity_model().detach().cpu().numpy().astype(np.float32)


def peak_memory_mib(device: torch.device) -> float | None:
    """Peak memory of this run's device: CUDA's peak allocation since the run started, or on the
    CPU the process's peak resident set (a process that ran several runs reports the largest)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def write_final_outputs(run) -> RunResult:
    """model.npy, initial.npy, true.npy (when known), a field run's QC, the figures, and last
    metrics.json, which marks the run complete."""
    exp = run.experiment
    final = render(run.model)
    true = exp.true_model
    folder = run.folder
    io.save_npy(folder / io.RunFolder.MODEL, final)
    io.save_npy(folder / "initial.npy", exp.initial_model)
    final_metrics: dict = {}
    initial_metrics: dict = {}
    if true is not None:  # a synthetic run, or a field benchmark's known truth
        final_metrics = metrics.evaluate(final, true)
        initial_metrics = metrics.evaluate(exp.initial_model, true)
        io.save_npy(folder / "true.npy", true)
    if exp.field is not None:  # scored by its data fit and a well log (crfwi.field.qc)
        from .field import qc

        report = qc.write_field_outputs(
            exp, final, folder.path, figures=run.config.output.figures,
            shot_chunk=run.config.physics.shot_chunk,
            best_well_model=None if run.well is None else run.well.kept_model())
        io.save_json(folder / "qc.json", report)
        well = report["well"] or {}
        final_metrics.update(data_misfit_relative=report["data_fit_final"]["total_relative"],
                             well_rms=well.get("rms_final"))
        initial_metrics.update(
            data_misfit_relative=report["data_fit_initial"]["total_relative"],
            well_rms=well.get("rms_initial"))
    if run.config.output.figures:
        write_figures(run, final)
    summary = dict(final_metrics)
    summary.update(
        iterations=run.inversion.iteration, seconds=round(run.elapsed, 3),
        seconds_per_iteration=round(run.elapsed / max(1, run.inversion.iteration), 4),
        params=run.n_params, peak_memory_mib=peak_memory_mib(exp.device),
        method=run.label, paper_method=exp.method.paper,
        preset=run.config.preset, scale=run.config.scale if run.config.preset else "",
        note=run.config.note, initial=initial_metrics,
        definitions=metrics.definitions(exp.grid_ndim))
    if run.well is not None and run.well.keep_best:
        summary["best_well"] = run.well.best(run.history, run.tracked)
    if run.ranks.distributed:  # peak memory above is rank 0's
        summary.update(ranks=run.ranks.world_size, theta_resyncs=run.resyncs,
                       all_reduce_seconds=round(run.ranks.reduce_seconds, 4))
    io.save_json(folder / io.RunFolder.METRICS, summary)
    return RunResult(folder=folder.path, metrics=summary, initial_metrics=initial_metrics)


def write_figures(run, final: np.ndarray) -> None:
    """figures/models.png (true / initial / inverted; 3-D: orthogonal slices), convergence.png,
    and shot.png (the middle shot's observed and predicted gather; 3-D: its inline receiver
    line). A field run's gathers and well figures are :mod:`crfwi.field.qc`'s."""
    from . import plotting

    exp = run.experiment
    figs = run.folder.figures
    panels = {"initial": exp.initial_model, f"inverted ({run.label})": final}
    if exp.true_model is not None:
        panels = {"true": exp.true_model, **panels}
    if exp.grid_ndim == 3:
        plotting.plot_models3d(panels, exp.grid, figs / "models.png",
                               title=run.config.note or None)
    else:
        plotting.plot_models(panels, exp.grid, figs / "models.png",
                             title=run.config.note or None)
    plotting.plot_convergence(run.history, figs / "convergence.png",
                              keys=("loss", "mse", "ssim") if exp.true_model is not None
                              else ("loss",))
    if exp.field is not None:
        return
    shot = exp.survey.n_shots // 2
    with torch.no_grad():
        predicted = exp.solver.simulate(torch.as_tensor(final, device=exp.device), [shot])[0]
    observed, receiver_x = run.observed[shot].cpu().numpy(), np.asarray(exp.survey.receiver_x)
    title = f"shot {shot} at x = {exp.survey.source_x[shot]:.0f} m"
    predicted = predicted.cpu().numpy()
    if exp.grid_ndim == 3:  # the inline receiver line nearest the shot, as a 2-D gather
        receiver_y = np.asarray(exp.survey.receiver_y)
        y = receiver_y[np.argmin(np.abs(receiver_y - exp.survey.source_y[shot]))]
        line = receiver_y == y
        observed, predicted, receiver_x = observed[line], predicted[line], receiver_x[line]
        title = (f"shot {shot} at (y, x) = ({exp.survey.source_y[shot]:.0f}, "
                 f"{exp.survey.source_x[shot]:.0f}) m, receivers at y = {y:.0f} m")
    plotting.plot_shot(observed, predicted, figs / "shot.png", dt=exp.survey.dt,
                       receiver_x=receiver_x, title=title)
