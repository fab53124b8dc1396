"""Scoring a trained network on a stack of velocity maps: the real OpenFWI maps, or the held-out
procedural ones.

Each map's data are simulated with the training acquisition (:mod:`crfwi.datadriven.dataset`,
the CR-FWI OpenFWI runs' operator) and degraded exactly as a CR-FWI run's ``data.noise = k``:
:func:`crfwi.physics.signal.add_noise` with σ0 of that map's clean data and seed ``seed + i`` for map
``i`` of its stack (the same draws for every network scored with the same seed). The prediction is scored per
map with :mod:`crfwi.analysis.metrics`: ``mse`` in (km/s)², ``mse_norm`` on OpenFWI's normalised scale
(velocities mapped to [-1, 1] by 1500-4500 m/s, so ``mse_norm = mse / 1.5²``), ``mae`` in km/s,
``ssim`` (the ADFWI convention of the paper's tables) and ``ssim_gaussian``; a summary gives
mean ± std (population) over the maps. The mean training map is scored alongside as the trivial
predictor a useful network must beat.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .. import io
from ..physics import signal
from ..analysis import metrics
from ..models import openfwi
from . import dataset as ds
from .network import InversionNet
from .train import load_network

__all__ = ["METRICS", "predict", "score", "summarise", "noisy_data", "openfwi_stacks",
           "simulate_cached", "evaluate_run"]

METRICS = ("mse", "mse_norm", "mae", "ssim", "ssim_gaussian")


def noisy_data(clean: np.ndarray, k: float, seed: int,
               maps: list[int] | None = None) -> np.ndarray:
    """``clean`` ``[n, shots, receivers, time]`` with each map degraded as a CR-FWI run's
    ``data.noise = k``, with noise seed ``seed + m``, m the map's index in its stack (``maps``,
    default 0 .. n-1): a map gets the same draw whichever others are scored with it.
    k = 0 returns the clean data."""
    if k == 0:
        return clean
    maps = range(len(clean)) if maps is None else maps
    return np.stack([signal.add_noise(c, k=k, seed=seed + m) for m, c in zip(maps, clean)])


def predict(net: InversionNet, scale: ds.DataScale, data: np.ndarray, *,
            batch: int = 32) -> np.ndarray:
    """Velocity maps ``[n, nz, nx]`` in m/s predicted from data ``[n, shots, receivers, time]``."""
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(data), batch):
            x = scale(torch.from_numpy(np.ascontiguousarray(data[start:start + batch])).float())
            out.append(ds.denormalise_velocity(net(x)[:, 0].double()).numpy())
    return np.concatenate(out)


def score(pred: np.ndarray, true: np.ndarray) -> list[dict]:
    """Per-map metrics of ``pred`` against ``true`` (both ``[n, nz, nx]`` m/s)."""
    rows = []
    for p, t in zip(pred, true):
        m = metrics.evaluate(p, t)
        norm_err = ds.normalise_velocity(np.asarray(p, np.float64)) - ds.normalise_velocity(
            np.asarray(t, np.float64))
        rows.append({"mse": m["mse"], "mse_norm": float(np.mean(norm_err ** 2)), "mae": m["mae"],
                     "ssim": m["ssim"], "ssim_gaussian": m["ssim_gaussian"]})
    return rows


def summarise(rows: list[dict]) -> dict:
    """Mean and population std of each metric over ``rows``, with their count ``n``."""
    out: dict = {"n": len(rows)}
    for key in METRICS:
        values = np.array([r[key] for r in rows], dtype=float)
        out[key] = {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}
    return out


def openfwi_stacks(data_dir: str | Path | None, families: list[str] | None = None,
                   n_maps: int | None = None,
                   indices: list[int] | None = None) -> dict[str, tuple[np.ndarray, list[int]]]:
    """The real OpenFWI maps ``{family: ([n, nz, nx] m/s, their indices)}`` of ``data_dir``
    (default ``$CRFWI_DATA_DIR``; read by :mod:`crfwi.models.openfwi`); ``{}`` when it holds none.
    ``n_maps`` keeps the first maps of each stack, ``indices`` those maps (e.g. 0, 33, 66: the
    ``paper-openfwi`` sweep's)."""
    held = openfwi.families(data_dir)
    if not held:
        return {}
    chosen = families or held
    unknown = [f for f in chosen if f not in held]
    if unknown:
        raise ValueError(f"unknown OpenFWI families {', '.join(unknown)}; the data directory "
                         f"holds {', '.join(held)}")
    out = {}
    for family in chosen:
        count = openfwi.map_count(family, data_dir)
        chosen_maps = (list(indices) if indices is not None
                       else list(range(count if n_maps is None else min(count, n_maps))))
        out[family] = (np.stack([openfwi.load_map(openfwi.map_name(family, i), data_dir)[0]
                                 for i in chosen_maps]), chosen_maps)
    return out


def simulate_cached(models: np.ndarray, acquisition: ds.Acquisition, cache: Path | None,
                    log=lambda _: None) -> np.ndarray:
    """Clean data of ``models`` with ``acquisition``, read from / written to ``cache`` (an
    ``.npz``) when given and made from the same maps and acquisition."""
    key = json.dumps(asdict(acquisition), sort_keys=True)
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            if str(z["acquisition"]) == key and np.array_equal(z["models"], models):
                return z["data"]
    log(f"simulating {len(models)} maps")
    data = ds.simulate_maps(ds.openfwi_solver(acquisition), models)
    if cache is not None:
        ds.write_npz(cache, data=data, models=models, acquisition=np.array(key))
    return data


ROW_COLUMNS = ["set", "family", "map", "noise_k", "predictor", *METRICS]


def evaluate_run(run: str | Path, *, noise: tuple[float, ...] = (0.0,),
                 data_dir: str | Path | None = None, families: list[str] | None = None,
                 n_maps: int | None = None, indices: list[int] | None = None, seed: int = 0,
                 checkpoint: str = "best.pt",
                 out: str | Path | None = None, heldout: bool = True,
                 log=lambda _: None) -> dict:
    """Score a run's network on the real OpenFWI maps (when ``data_dir`` / ``$CRFWI_DATA_DIR``
    holds them) and on its data set's held-out procedural maps, at each noise level k.

    Writes ``per_map.csv`` and ``summary.json`` to ``out`` (default ``RUN/eval``); the clean data
    of the OpenFWI maps are cached there (``openfwi_<family>.npz``). Returns the summary
    ``{"<set>/<family>": {"k=<k>": {"network": ..., "mean_map": ...}}}`` plus ``"_about"``.
    """
    run = Path(run)
    net, scale, state = load_network(run / checkpoint)
    spec = ds.DatasetSpec.from_dict(state["spec"])
    out = run / "eval" if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stacks: dict[str, tuple] = {}  # name -> (models, clean data, map indices)
    real = openfwi_stacks(data_dir, families, n_maps, indices)
    if not real:
        log("OpenFWI maps not found (set CRFWI_DATA_DIR to a folder whose models.json has an "
            "'openfwi' entry): scoring the held-out procedural maps only")
    grid_shape = (spec.acquisition.nz, spec.acquisition.nx)
    for family, (models, maps) in real.items():
        if models.shape[1:] != grid_shape:
            raise ValueError(f"OpenFWI {family} maps are {models.shape[1:]}, the network was "
                             f"trained on {grid_shape}")
        stacks[f"openfwi/{family}"] = (models, simulate_cached(
            models, spec.acquisition, out / f"openfwi_{family}.npz", log), maps)
    if heldout:
        settings = json.loads((run / "settings.json").read_text())
        val = ds.load(settings["data"], "val")
        for family in ds.family_names(val["family"]):
            keep = val["family"] == family
            models = val["models"][keep][:n_maps]
            stacks[f"procedural-val/{family}"] = (models, val["data"][keep][:n_maps],
                                                  list(range(len(models))))
    trained = (state["settings"]["noise_min"], state["settings"]["noise_max"])
    outside = [k for k in noise if not trained[0] <= k <= trained[1]]
    if outside:
        # A network trained at k = 4 alone fails on clean data (worse than the mean map):
        # the log-scaled input of noisy and clean data differ; say so next to the numbers.
        log(f"note: k = {', '.join(f'{k:g}' for k in outside)} lies outside the training noise "
            f"range {trained[0]:g}:{trained[1]:g}; those scores measure a distribution shift")
    mean_map = np.asarray(state["mean_map"], dtype=np.float64)
    rows, summary = [], {}
    for name, (models, clean, maps) in stacks.items():
        set_name, family = name.split("/")
        for k in noise:
            pred = predict(net, scale, noisy_data(clean, float(k), seed, maps))
            results = {"network": score(pred, models),
                       "mean_map": score(np.broadcast_to(mean_map, models.shape), models)}
            summary.setdefault(name, {})[f"k={k:g}"] = {p: summarise(r) for p, r in results.items()}
            for predictor, per_map in results.items():
                rows += [{"set": set_name, "family": family, "map": i, "noise_k": k,
                          "predictor": predictor, **r} for i, r in zip(maps, per_map)]
            s = summary[name][f"k={k:g}"]["network"]
            log(f"{name:28s} k={k:<4g} MSE {s['mse']['mean']:.4f} ± {s['mse']['std']:.4f} (km/s)^2"
                f"  norm {s['mse_norm']['mean']:.4f}  MAE {s['mae']['mean']:.4f} km/s  SSIM "
                f"{s['ssim']['mean']:.4f}  (mean map MSE "
                f"{summary[name][f'k={k:g}']['mean_map']['mse']['mean']:.4f}, n={s['n']})")
    summary["_about"] = {
        "checkpoint": str(run / checkpoint), "epoch": state.get("epoch"), "noise_seed": seed,
        "training_noise_k": list(trained),
        "noise": "white Gaussian, std k * sigma0 of each map's clean data (crfwi.physics.signal.add_noise, "
                 "seed + map index)",
        "metrics": {**{k: v for k, v in metrics.DEFINITIONS.items() if k in METRICS},
                    "mse_norm": "mean((u - u_true)^2), u = 2 (v - 1500) / 3000 - 1: OpenFWI's "
                                "normalised scale (= mse / 2.25)"},
        "std": "population std over the maps"}
    io.save_csv(out / "per_map.csv", rows, ROW_COLUMNS)
    io.save_json(out / "summary.json", summary)
    return summary
