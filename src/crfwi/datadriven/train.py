"""Training the InversionNet-style network on a cached procedural data set.

OpenFWI's recipe (lanl/OpenFWI ``train.py``): L1 loss on velocities normalised to [-1, 1], AdamW
(betas 0.9/0.999, weight decay 1e-4), batches in random order, the last incomplete batch dropped.
Changed for a CPU and a small set, and said so in ``settings.json``: batch 32 (OpenFWI 256),
learning rate 1e-3 (OpenFWI 1e-4 for ~24 000 maps a family and 120+ epochs) with cosine decay to
zero over the run, and noise drawn afresh every epoch (``noise``: k uniform in the given range per
map, standard deviation k·σ0 as :func:`crfwi.physics.signal.add_noise`; default k = 4, the level of the
``paper-openfwi`` sweep), so the network has seen the noise it is evaluated with. (The paper's
InversionNet was trained by its authors on OpenFWI's clean data: ``--noise 0`` trains that way.) The validation split (held-out seeds) is scored every epoch at one fixed
noise draw (level ``val_noise``), against the mean training map as the trivial predictor.

A run folder holds ``settings.json``, ``checkpoint.pt`` (written after every epoch: model,
optimiser, schedule, history), ``best.pt`` (the epoch with the lowest validation L1, what
:mod:`crfwi.datadriven.evaluate` uses) and ``history.csv`` (the training curve). Shuffling and
noise of epoch e come from generators seeded by (seed, e), so a resumed run is bit-identical to an
uninterrupted one.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import io
from . import dataset as ds
from .network import DEFAULT_WIDTH, InversionNet, parameter_count

__all__ = ["TrainSettings", "train", "load_network", "HISTORY_COLUMNS"]

HISTORY_COLUMNS = ["epoch", "train_l1", "val_l1", "val_mse_kms2", "val_mse_norm", "val_mae_kms",
                   "mean_map_mse_kms2", "lr", "seconds"]


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    width: int = DEFAULT_WIDTH
    # k range of the training noise (k·σ0), uniform per map and epoch; default the fixed k = 4 of
    # the paper-openfwi sweep's CR-FWI runs, so the network is trained at the level it is scored at
    noise_min: float = 4.0
    noise_max: float = 4.0
    val_noise: float = 4.0  # the one noise level of the validation score
    seed: int = 0
    data_dtype: str = "float32"  # float16 halves the memory of the set held in RAM

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
        if not (self.lr > 0 and self.weight_decay >= 0):
            raise ValueError("`lr` must be > 0 and `weight_decay` >= 0")
        if not 0 <= self.noise_min <= self.noise_max or self.val_noise < 0:
            raise ValueError(f"noise levels must satisfy 0 <= min <= max and val >= 0, got "
                             f"{self.noise_min:g}:{self.noise_max:g} and {self.val_noise:g}")
        if self.data_dtype not in ("float32", "float16"):
            raise ValueError("`data_dtype` must be float32 or float16")


def _generator(*keys: int) -> torch.Generator:
    # One stream per (seed, epoch, purpose): a resumed epoch draws exactly what it would have.
    g = torch.Generator()
    g.manual_seed(int(np.random.SeedSequence(list(keys)).generate_state(1)[0]))
    return g


def _build(spec: ds.DatasetSpec, width: int) -> InversionNet:
    acq = spec.acquisition
    return InversionNet(n_shots=acq.n_shots, nt=acq.nt, n_receivers=acq.nx,
                        out_shape=(acq.nz, acq.nx), width=width)


def _inputs(split: dict, index: torch.Tensor, k: torch.Tensor, scale: ds.DataScale,
            generator: torch.Generator) -> torch.Tensor:
    clean = torch.from_numpy(split["data"][index.numpy()]).float()
    sigma0 = torch.from_numpy(split["sigma0"][index.numpy()])
    return scale(ds.add_noise_batch(clean, sigma0, k, generator))


def _validate(net: InversionNet, val: dict, scale: ds.DataScale, settings: TrainSettings,
              batch: int) -> dict:
    net.eval()
    n = len(val["models"])
    g = _generator(settings.seed, 2**31 - 1)  # the same noise draw every epoch
    k = torch.full((n,), float(settings.val_noise))
    preds = []
    with torch.no_grad():
        for start in range(0, n, batch):
            index = torch.arange(start, min(start + batch, n))
            preds.append(net(_inputs(val, index, k[index], scale, g))[:, 0])
    pred = torch.cat(preds).double()
    true = ds.normalise_velocity(torch.from_numpy(val["models"]).double())
    err_kms = (ds.denormalise_velocity(pred) - torch.from_numpy(val["models"]).double()) / 1000.0
    return {"val_l1": float((pred - true).abs().mean()),
            "val_mse_norm": float(((pred - true) ** 2).mean()),
            "val_mse_kms2": float((err_kms ** 2).mean()), "val_mae_kms": float(err_kms.abs().mean())}


def train(data_folder: str | Path, run_folder: str | Path, settings: TrainSettings, *,
          resume: bool = False, threads: int | None = None, until: int | None = None,
          log: Callable[[str], None] = lambda _: None) -> list[dict]:
    """Train (or with ``resume`` continue) a run; returns the history rows.

    ``until`` stops after that many epochs in all (the schedule still spans ``settings.epochs``):
    for a run cut short on purpose, e.g. the resume test. Ctrl-C leaves the last epoch's
    checkpoint, from which ``resume`` continues.
    """
    if threads is not None:
        torch.set_num_threads(int(threads))
    run = Path(run_folder)
    settings_path, ckpt_path = run / "settings.json", run / "checkpoint.pt"
    record = {"data": str(Path(data_folder).resolve()), **asdict(settings)}
    if ckpt_path.exists() and not resume:
        raise ValueError(f"{run} already holds a run; continue it with --resume or use a new folder")
    if resume:
        if not ckpt_path.exists():
            raise ValueError(f"{run} holds no checkpoint to resume")
        old = json.loads(settings_path.read_text())
        diff = sorted(k for k in record if old.get(k) != json.loads(json.dumps(record[k])))
        if diff:
            raise ValueError(f"{run} was started with other settings ({', '.join(diff)}); resume "
                             "with the same ones")
    spec = ds.spec_of(data_folder) if (Path(data_folder) / ds.SPEC_FILE).exists() else None
    if spec is None:
        raise FileNotFoundError(f"{data_folder} holds no data set ({ds.SPEC_FILE} missing); make "
                                "one with the `data` command")
    if spec.n_val < 1:
        raise ValueError("the data set has no validation maps (n_val = 0); make one with some")
    dtype = np.float16 if settings.data_dtype == "float16" else np.float32
    log(f"loading {data_folder}")
    train_set, val_set = ds.load(data_folder, "train", dtype=dtype), ds.load(data_folder, "val",
                                                                             dtype=dtype)
    n = len(train_set["models"])
    batch = min(settings.batch_size, n)
    steps = n // batch  # drop_last, as OpenFWI

    torch.manual_seed(settings.seed)
    net = _build(spec, settings.width)
    optimiser = torch.optim.AdamW(net.parameters(), lr=settings.lr, betas=(0.9, 0.999),
                                  weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=settings.epochs)
    history: list[dict] = []
    best = math.inf
    if resume:
        state = io.load_checkpoint(ckpt_path)
        net.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        history, best = state["history"], state["best_val_l1"]
        scale = ds.DataScale(**state["data_scale"])
        log(f"resuming after epoch {len(history)} of {settings.epochs}")
    else:
        run.mkdir(parents=True, exist_ok=True)
        scale = ds.DataScale.fit(train_set["data"], train_set["sigma0"])
        io.save_json(settings_path, record)
    # The trivial predictor: the mean training map, scored on the validation maps.
    mean_map = train_set["models"].astype(np.float64).mean(axis=0)
    mean_mse = float((((val_set["models"] - mean_map) / 1000.0) ** 2).mean())
    log(f"InversionNet width {settings.width}: {parameter_count(net):,} parameters; {n} training "
        f"maps ({steps} batches of {batch}), {len(val_set['models'])} validation maps")

    stop = settings.epochs if until is None else min(int(until), settings.epochs)
    for epoch in range(len(history), stop):
        net.train()
        start = time.perf_counter()
        order = torch.randperm(n, generator=_generator(settings.seed, epoch, 0))
        g = _generator(settings.seed, epoch, 1)
        levels = settings.noise_min + (settings.noise_max - settings.noise_min) * torch.rand(
            n, generator=g, dtype=torch.float64)
        total = 0.0
        for step in range(steps):
            index = order[step * batch:(step + 1) * batch]
            x = _inputs(train_set, index, levels[index], scale, g)
            y = ds.normalise_velocity(torch.from_numpy(train_set["models"][index.numpy()]))[:, None]
            optimiser.zero_grad(set_to_none=True)
            loss = (net(x) - y).abs().mean()  # L1, OpenFWI's loss
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
            if (step + 1) % max(1, steps // 5) == 0 or step + 1 == steps:
                log(f"epoch {epoch + 1}/{settings.epochs} batch {step + 1}/{steps} "
                    f"L1 {total / (step + 1):.4f} ({time.perf_counter() - start:.0f} s)")
        lr = optimiser.param_groups[0]["lr"]
        schedule.step()
        row = {"epoch": epoch + 1, "train_l1": total / steps,
               **_validate(net, val_set, scale, settings, batch), "mean_map_mse_kms2": mean_mse,
               "lr": lr, "seconds": time.perf_counter() - start}
        history.append(row)
        state = {"model": net.state_dict(), "net_config": net.config, "data_scale": asdict(scale),
                 "settings": asdict(settings), "spec": spec.to_dict(), "mean_map": mean_map}
        if row["val_l1"] < best:
            best = row["val_l1"]
            io.save_checkpoint(run / "best.pt", {**state, "epoch": epoch + 1})
        io.save_checkpoint(ckpt_path, {**state, "optimiser": optimiser.state_dict(),
                                       "schedule": schedule.state_dict(), "history": history,
                                       "best_val_l1": best})
        io.save_csv(run / "history.csv", history, HISTORY_COLUMNS)
        log(f"epoch {epoch + 1}: train L1 {row['train_l1']:.4f}, val L1 {row['val_l1']:.4f}, "
            f"val MSE {row['val_mse_kms2']:.4f} (km/s)^2 (mean map {mean_mse:.4f}), "
            f"{row['seconds']:.0f} s")
    return history


def load_network(path: str | Path) -> tuple[InversionNet, ds.DataScale, dict]:
    """A trained network (eval mode) from ``best.pt`` or ``checkpoint.pt``, its input transform
    and the checkpoint's record (settings, data set spec, epoch)."""
    state = io.load_checkpoint(path)
    net = InversionNet(**state["net_config"])
    net.load_state_dict(state["model"])
    net.eval()
    return net, ds.DataScale(**state["data_scale"]), state
