"""Quality control of a field run, which has no true model to score against.

What can be checked instead, and is written into the run folder by :func:`write_field_outputs`:

* the data fit, shot by shot (:func:`shot_misfits`): a shot the model cannot fit (a bad gather,
  a geometry error, noise) shows up against the others, where the total misfit hides it;
* one shot's observed, predicted and residual gathers (:func:`plot_gathers`), the data as the
  misfit compares them (preprocessed alike, masked traces left out);
* a well log (:func:`read_well_log`; also m0 of ``initial.kind = "well"``), the only direct
  measurement of the earth most surveys have (:func:`well_comparison`): the inverted profile at
  the well against the log, with the RMS misfit of the initial and the final model, and a
  figure (:func:`plot_well`);
* the final model and its predicted data as SEG-Y for other software (:func:`write_model`,
  :func:`write_predicted`), on the survey's own coordinates.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from scipy import ndimage

from .segy import write_data_segy, write_model_segy

if TYPE_CHECKING:
    from ..experiment import Experiment

__all__ = ["read_well_log", "well_profile", "shot_misfits", "predicted_data", "plot_gathers",
           "well_comparison", "best_well_row", "plot_well",
           "write_model", "write_predicted", "write_field_outputs"]


def read_well_log(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(depth [n] m below the datum, increasing; velocity [n] m/s) from a two-column text or CSV
    file (comma, semicolon, tab or space separated; ``#`` comments and a header line allowed).
    ValueError naming the file and the line otherwise."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"well log {path}: not found")
    rows = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        words = line.split("#")[0].replace(",", " ").replace(";", " ").split()
        if not words:
            continue
        try:
            values = [float(w) for w in words]
        except ValueError:
            if rows:
                raise ValueError(f"well log {path}, line {number}: not two numbers: "
                                 f"{line.strip()!r}")
            continue  # a header before the first numbers
        if len(values) != 2:
            raise ValueError(f"well log {path}, line {number}: {len(values)} columns, need 2 "
                             "(depth m, velocity m/s)")
        rows.append(values)
    log = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
    if len(log) < 2:
        raise ValueError(f"well log {path}: needs at least two (depth, velocity) rows")
    depth, velocity = log[:, 0], log[:, 1]
    if not (np.all(np.isfinite(log)) and np.all(velocity > 0) and np.all(np.diff(depth) > 0)):
        raise ValueError(f"well log {path}: depths must increase and velocities be finite and > 0")
    return depth, velocity


def well_profile(well: tuple[np.ndarray, np.ndarray], depths: np.ndarray, sigma: float,
                 dz: float) -> np.ndarray:
    """The log at ``depths`` (linear interpolation, constant beyond its ends), Gaussian-smoothed
    over ``sigma`` metres (``sigma / dz`` samples, edges replicated)."""
    profile = np.interp(depths, *well)
    return ndimage.gaussian_filter1d(profile, sigma / dz, mode="nearest") if sigma > 0 else profile


def _field(experiment: "Experiment"):
    if experiment.field is None:
        raise ValueError("field QC needs a field run's experiment ([field] data)")
    return experiment.field


def predicted_data(experiment: "Experiment", model: Any, *, shot_chunk: int = 0) -> torch.Tensor:
    """The data ``model`` [nz, nx] (m/s) predicts, as the misfit sees them (preprocessed, masked),
    ``[S, R, nt]`` on the CPU; ``shot_chunk`` shots per simulation (0 = all)."""
    solver = experiment.solver
    velocity = torch.as_tensor(np.asarray(model, dtype=np.float32), device=solver.device)
    size = shot_chunk or solver.n_shots
    with torch.no_grad():
        return torch.cat([solver.simulate(velocity, list(range(a, min(a + size, solver.n_shots))))
                          .cpu() for a in range(0, solver.n_shots, size)])


def shot_misfits(observed: Any, predicted: Any) -> dict:
    """Per shot: the l2 misfit ½‖d_pred − d_obs‖² (the run's loss is their sum, for the l2
    misfit) and the relative residual ‖d_pred − d_obs‖ / ‖d_obs‖ (1 = no better than zero
    data)."""
    obs = torch.as_tensor(observed).double().cpu()
    pred = torch.as_tensor(predicted).double().cpu()
    residual = (pred - obs).flatten(1).norm(dim=1)
    scale = obs.flatten(1).norm(dim=1).clamp_min(torch.finfo(torch.float64).tiny)
    return {"l2": (0.5 * residual ** 2).tolist(), "relative": (residual / scale).tolist(),
            "total_l2": float(0.5 * (residual ** 2).sum()),
            "total_relative": float(residual.norm() / obs.norm().clamp_min(1e-300))}


def plot_gathers(experiment: "Experiment", predicted: Any, path: str | Path, *,
                 shot: int | None = None) -> Path:
    """Observed / predicted / residual gathers of ``shot`` (default the middle one), its live
    traces only, against their inline positions in the survey's coordinates."""
    from .. import plotting

    run = _field(experiment)
    shot = experiment.survey.n_shots // 2 if shot is None else int(shot)
    live = run.mask[shot]
    receivers = run.data.gather(shot).receiver_inline
    positions = np.full(live.shape, np.nan)
    positions[:len(receivers)] = receivers
    observed = run.observed[shot].cpu().numpy()[live]
    pred = torch.as_tensor(predicted)[shot].cpu().numpy()[live]
    record = run.data.field_record[shot]
    return plotting.plot_shot(observed, pred, path, dt=experiment.survey.dt,
                              receiver_x=positions[live],
                              title=f"shot {run.shots[shot]} (field record {record}) at inline "
                                    f"{run.data.source_inline[shot]:.0f} m")


def well_comparison(experiment: "Experiment", model: Any) -> dict | None:
    """The inverted (and initial) profile at ``field.well_x`` against the well log, at the grid's
    depths inside the log's depth range (no extrapolation); RMS misfits in m/s, against the log
    and against the log smoothed as m0 (``initial.sigma``): the resolution FWI can reach lies
    between. None without a well log; ``{"error": ...}`` when the well is off the grid."""
    run = _field(experiment)
    if run.well is None:
        return None
    grid, (z0, x0) = experiment.grid, run.origin
    well_x = experiment.config.field.well_x
    column = int(np.floor((well_x - x0) / grid.dx + 0.5))
    if not 0 <= column < grid.nx:
        return {"error": f"field.well_x = {well_x:g} m lies outside the grid (inline {x0:g} to "
                         f"{x0 + grid.extent[1]:g} m)"}
    depths = z0 + grid.z()
    rows = (depths >= run.well[0][0]) & (depths <= run.well[0][-1])
    if not rows.any():
        return {"error": "the well log's depths miss the grid's"}
    log = np.interp(depths[rows], *run.well)
    smooth = well_profile(run.well, depths, experiment.config.initial.sigma, grid.dz)[rows]
    final = np.asarray(model, dtype=np.float64)[rows, column]
    initial = np.asarray(experiment.initial_model, dtype=np.float64)[rows, column]

    def rms(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.sqrt(np.mean((a - b) ** 2)))

    return {"well_x": well_x, "column": column, "x_on_grid": x0 + column * grid.dx,
            "depth": depths[rows].tolist(), "log": log.tolist(), "final": final.tolist(),
            "initial": initial.tolist(),
            "rms_final": rms(final, log), "rms_initial": rms(initial, log),
            "rms_final_vs_smoothed_log": rms(final, smooth),
            "rms_initial_vs_smoothed_log": rms(initial, smooth)}


def best_well_row(history: list[dict], keys: tuple[str, ...] = ()) -> dict | None:
    """The stopping rule a well gives: the history row of the lowest ``well_rms`` (the first of
    equals) as {"iteration", "well_rms", and each of ``keys`` the row holds}, as floats; None when
    no row has a well misfit. ``history``: the runner's rows or a history.csv's (strings, "" for
    an empty cell)."""
    rows = [r for r in history if r.get("well_rms") not in (None, "")]
    if not rows:
        return None
    row = min(rows, key=lambda r: float(r["well_rms"]))
    return {"iteration": int(float(row["iteration"])), "well_rms": float(row["well_rms"]),
            **{k: float(row[k]) for k in keys if row.get(k) not in (None, "")}}


def plot_well(comparison: dict, path: str | Path, *,
              log: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    """Velocity against depth at the well: the log (``log``, all its samples, else at the grid's
    depths), the initial and the inverted profile, the RMS misfits in the legend."""
    from ..plotting import _new_figure, _png_path, _save

    path = _png_path(path)
    fig = _new_figure(4.5, 6.0)
    ax = fig.subplots()
    depth = np.asarray(comparison["depth"])
    if log is not None:
        ax.plot(np.asarray(log[1]) / 1e3, np.asarray(log[0]), color="0.5", lw=1, label="well log")
    else:
        ax.plot(np.asarray(comparison["log"]) / 1e3, depth, color="0.5", lw=1, label="well log")
    ax.plot(np.asarray(comparison["initial"]) / 1e3, depth, "--", color="tab:blue",
            label=f"initial (RMS {comparison['rms_initial']:.0f} m/s)")
    ax.plot(np.asarray(comparison["final"]) / 1e3, depth, color="tab:red",
            label=f"inverted (RMS {comparison['rms_final']:.0f} m/s)")
    ax.set_ylim(depth.max(), depth.min())
    ax.set_xlabel("velocity (km/s)")
    ax.set_ylabel("depth below datum (m)")
    ax.set_title(f"well at inline {comparison['well_x']:.0f} m")
    ax.legend(loc="best", fontsize="small")
    return _save(fig, path, 120)


def write_model(path: str | Path, model: Any, experiment: "Experiment") -> Path:
    """The model [nz, nx] as SEG-Y, one trace per column at its inline position (line
    coordinates: the grid's origin), :func:`crfwi.field.segy.write_model_segy`."""
    return write_model_segy(path, model, experiment.grid, _field(experiment).origin)


def write_predicted(path: str | Path, predicted: Any, experiment: "Experiment") -> Path:
    """Predicted data ``[S, R, nt]`` as SEG-Y shot gathers on the survey's geometry (the file's
    coordinates, records and channels; dead traces keep their flag and hold zeros), sampled at
    the modelling dt from the shot time (t0 = 0)."""
    run = _field(experiment)
    field = run.data.with_traces(predicted)
    field = dataclasses.replace(field, dt=experiment.survey.dt, t0=0.0)
    return write_data_segy(path, field)


def write_field_outputs(experiment: "Experiment", model: Any, folder: str | Path, *,
                        figures: bool = True, shot_chunk: int = 0,
                        best_well_model: Any = None) -> dict:
    """Everything above for the final ``model``: ``model.segy``, ``predicted.segy``,
    ``wavelet.npy`` (the source the run used), ``figures/gathers.png`` and ``figures/well.png``
    (with ``figures``) into ``folder``; returns the QC summary (the runner's ``qc.json``): the
    data fit per shot at m0 and at the final model, and the well comparison. With
    ``best_well_model`` (``field.keep_best_well``'s model) also ``best_well_model.segy`` and its
    well comparison (``well_best`` in the summary)."""
    from .. import io

    folder = Path(folder)
    run = _field(experiment)
    final = predicted_data(experiment, model, shot_chunk=shot_chunk)
    start = predicted_data(experiment, experiment.initial_model, shot_chunk=shot_chunk)
    write_model(folder / "model.segy", model, experiment)
    write_predicted(folder / "predicted.segy", final, experiment)
    io.save_npy(folder / "wavelet.npy", experiment.solver.wavelet.double().cpu().numpy())
    well = well_comparison(experiment, model)
    summary = {"shots": run.shots, "field_records": run.data.field_record.tolist(),
               "data_fit_initial": shot_misfits(run.observed, start),
               "data_fit_final": shot_misfits(run.observed, final), "well": well,
               "files": ["model.segy", "predicted.segy", "wavelet.npy"]}
    if best_well_model is not None:
        write_model(folder / "best_well_model.segy", best_well_model, experiment)
        summary["well_best"] = well_comparison(experiment, best_well_model)
        summary["files"].append("best_well_model.segy")
    if figures:
        plot_gathers(experiment, final, folder / "figures" / "gathers.png")
        summary["files"].append("figures/gathers.png")
        if well and "error" not in well:
            plot_well(well, folder / "figures" / "well.png", log=run.well)
            summary["files"].append("figures/well.png")
    return summary
