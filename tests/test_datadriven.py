"""The data-driven baseline (crfwi.datadriven, benchmarks/inversionnet.py) at toy size.

Toy acquisition: a 20 × 20 grid at 10 m, 5 shots, 250 samples at 1 ms (OpenFWI's wavelet, time
step and layout on a smaller map), 4 maps per family: the whole file runs in well under 30 s.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from crfwi.physics import signal
from crfwi.analysis import metrics

from crfwi.models import zoo
from crfwi.config import config_from_dict
from crfwi.datadriven import dataset as ds
from crfwi.datadriven import evaluate as ev
from crfwi.datadriven import train as tr
from crfwi.datadriven.curve import read_history
from crfwi.datadriven.network import InversionNet, parameter_count
from crfwi.experiment import build_experiment

TOY = ds.Acquisition(nz=20, nx=20, nt=250)
SETTINGS = tr.TrainSettings(epochs=2, batch_size=6, width=2, noise_min=0.0, noise_max=2.0,
                            val_noise=1.0)


def _cli():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "inversionnet.py"
    spec = importlib.util.spec_from_file_location("inversionnet_cli", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dd") / "data"
    ds.generate(folder, ds.DatasetSpec(n_train=3, n_val=1, chunk=5, acquisition=TOY))
    return folder


def test_openfwi_acquisition() -> None:
    acq = ds.Acquisition()
    grid, survey = acq.grid(), acq.survey()
    assert grid.shape == (70, 70) and grid.spacing == (10.0, 10.0)
    cells = ds.openfwi_solver(acq).source_locations[:, 0].tolist()
    assert cells == [[1, 0], [1, 17], [1, 34], [1, 52], [1, 69]]  # x = 0, 170, 340, 520, 690 m
    assert survey.source_x == (0.0, 170.0, 340.0, 520.0, 690.0)
    assert survey.receiver_x == tuple(10.0 * np.arange(70)) and survey.receiver_depth == 10.0
    assert (survey.freq, survey.dt, survey.nt, survey.free_surface) == (15.0, 0.001, 1000, False)


def test_full_size_network_matches_openfwi() -> None:
    """At OpenFWI's width the layout gives OpenFWI's InversionNet parameter count exactly."""
    assert parameter_count(InversionNet(width=32)) == 24_409_123
    assert parameter_count(InversionNet()) == 1_528_267  # the CPU default, width 8
    net = InversionNet(n_shots=5, nt=TOY.nt, n_receivers=TOY.nx, out_shape=(TOY.nz, TOY.nx),
                       width=2)
    out = net(torch.randn(3, 5, TOY.nt, TOY.nx))
    assert out.shape == (3, 1, 20, 20) and bool((out.abs() <= 1).all())
    with pytest.raises(ValueError, match="expects data"):
        net(torch.randn(3, 5, TOY.nx, TOY.nt))


def test_data_match_crfwi_forward_modelling(toy_data: Path) -> None:
    """The cached data of a map are what a crfwi run of that map simulates (same solver, same
    wavelet), and the noise level k means what `data.noise = k` means in a run."""
    train = ds.load(toy_data, "train")
    first = 0  # flatvel, seed 0
    assert train["family"][first] == "flatvel" and train["seed"][first] == 0
    config = config_from_dict({
        "seed": 0,
        "model": {"name": "flatvel", "nz": TOY.nz, "nx": TOY.nx, "spacing": TOY.spacing},
        "survey": {"shots": [0.0, 50.0, 100.0, 140.0, 190.0], "freq": 15.0, "dt": 0.001,
                   "nt": TOY.nt, "free_surface": False},
        "physics": {"max_vel": ds.MAX_VEL},
        "inversion": {"vmin": 1400.0, "vmax": ds.MAX_VEL},
        "data": {"noise": 2.0, "noise_seed": 7},
    })
    experiment = build_experiment(config)
    np.testing.assert_array_equal(train["models"][first], experiment.true_model)
    assert experiment.survey.source_locations(experiment.grid).tolist() == \
        ds.openfwi_solver(TOY).source_locations.tolist()
    clean = experiment.clean_data().numpy()
    np.testing.assert_array_equal(train["data"][first], clean)
    assert train["sigma0"][first] == pytest.approx(clean.astype(np.float64).std(), rel=1e-12)
    noisy = ev.noisy_data(train["data"][first:first + 1], 2.0, seed=7)[0]
    np.testing.assert_array_equal(noisy, experiment.observed_data().numpy())
    # Training-time noise (torch draws) has the same level k·σ0.
    batch = torch.from_numpy(train["data"][:1]).repeat(200, 1, 1, 1)
    sigma0 = torch.from_numpy(train["sigma0"][:1]).repeat(200)
    drawn = ds.add_noise_batch(batch, sigma0, torch.full((200,), 2.0), torch.Generator())
    assert float((drawn - batch).std()) == pytest.approx(2.0 * train["sigma0"][0], rel=0.01)


def test_generation_is_resumable(toy_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    spec = ds.DatasetSpec(n_train=3, n_val=1, chunk=5, acquisition=TOY)
    ds.generate(folder, spec)
    chunk = folder / "chunk_00001.npz"
    chunk.unlink()  # an interrupted run: one chunk never written
    with pytest.raises(ValueError, match="incomplete"):
        ds.load(folder)
    first = (folder / "chunk_00000.npz").stat().st_mtime_ns
    messages = []
    ds.generate(folder, spec, log=messages.append)
    assert "3 already there" in messages[0]
    assert (folder / "chunk_00000.npz").stat().st_mtime_ns == first  # kept, not remade
    full, again = ds.load(toy_data), ds.load(folder)
    np.testing.assert_array_equal(full["data"], again["data"])
    assert list(full["split"]).count("val") == 4 and len(full["models"]) == 16
    # Held-out maps have seeds of their own; families never share a seed.
    assert len(set(full["seed"].tolist())) == 16
    with pytest.raises(ValueError, match="other settings"):
        ds.generate(folder, ds.DatasetSpec(n_train=2, n_val=1, chunk=5, acquisition=TOY))


def test_train_resume_is_identical(toy_data: Path, tmp_path: Path) -> None:
    straight = tr.train(toy_data, tmp_path / "a", SETTINGS)
    assert len(straight) == 2 and all(math.isfinite(r["train_l1"]) for r in straight)
    with pytest.raises(ValueError, match="already holds a run"):
        tr.train(toy_data, tmp_path / "a", SETTINGS)
    cut = tr.train(toy_data, tmp_path / "b", SETTINGS, until=1)
    assert len(cut) == 1
    with pytest.raises(ValueError, match="other settings"):
        tr.train(toy_data, tmp_path / "b", tr.TrainSettings(epochs=3, width=2), resume=True)
    resumed = tr.train(toy_data, tmp_path / "b", SETTINGS, resume=True)
    assert [r["val_l1"] for r in resumed] == [r["val_l1"] for r in straight]
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    with open(tmp_path / "b" / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[0]["mean_map_mse_kms2"]) > 0


def test_training_learns(toy_data: Path, tmp_path: Path) -> None:
    """On the training maps themselves (clean), a few epochs beat the mean map: the loss falls
    and the fit is better than the trivial predictor."""
    settings = tr.TrainSettings(epochs=25, batch_size=6, width=4, lr=3e-3, noise_min=0.0,
                                noise_max=0.0, val_noise=0.0)
    history = tr.train(toy_data, tmp_path / "run", settings)
    # Batch-norm statistics of 6-map batches make single epochs noisy: average the last five.
    assert np.mean([r["train_l1"] for r in history[-5:]]) < 0.6 * history[0]["train_l1"]
    net, scale, state = tr.load_network(tmp_path / "run" / "checkpoint.pt")
    train = ds.load(toy_data, "train")
    pred = ev.predict(net, scale, train["data"])
    fit = np.mean([metrics.mse(p, t) for p, t in zip(pred, train["models"])])
    trivial = np.mean([metrics.mse(state["mean_map"], t) for t in train["models"]])
    assert fit < 0.5 * trivial


def test_evaluate_returns_finite_metrics(toy_data: Path, tmp_path: Path, monkeypatch) -> None:
    tr.train(toy_data, tmp_path / "run", SETTINGS)
    # A data directory with an 'openfwi' stack entry, at the toy size.
    maps = np.stack([zoo.curvefault(TOY.grid(), seed=50 + i) for i in range(3)])
    (tmp_path / "dd" / "openfwi").mkdir(parents=True)
    np.save(tmp_path / "dd" / "openfwi" / "toy_a.npy", maps)
    (tmp_path / "dd" / "models.json").write_text(
        '{"openfwi": {"kind": "stack", "dz_m": 10, "dx_m": 10, '
        '"files": {"toy_a": "openfwi/toy_a.npy"}}}')
    monkeypatch.setenv("CRFWI_DATA_DIR", str(tmp_path / "dd"))
    lines = []
    summary = ev.evaluate_run(tmp_path / "run", noise=(0.0, 2.0), log=lines.append)
    assert set(summary) - {"_about"} == {"openfwi/toy_a", *(f"procedural-val/{f}"
                                                            for f in ds.FAMILIES)}
    real = summary["openfwi/toy_a"]["k=2"]
    assert real["network"]["n"] == 3
    for key in ev.METRICS:
        assert math.isfinite(real["network"][key]["mean"]) and real["network"][key]["std"] >= 0
    assert real["network"]["mse_norm"]["mean"] == pytest.approx(
        real["network"]["mse"]["mean"] / 2.25, rel=1e-6)
    assert (tmp_path / "run" / "eval" / "per_map.csv").is_file()
    assert (tmp_path / "run" / "eval" / "openfwi_toy_a.npz").is_file()  # the cached clean data
    # k = 2 degrades exactly as signal.add_noise with seed + map index.
    clean = ev.simulate_cached(maps, TOY, tmp_path / "run" / "eval" / "openfwi_toy_a.npz")
    np.testing.assert_array_equal(ev.noisy_data(clean, 2.0, 0)[1],
                                  signal.add_noise(clean[1], k=2.0, seed=1))
    # One map alone (as --indices 2) gets the draw and the scores it gets within the stack.
    alone = ev.evaluate_run(tmp_path / "run", noise=(2.0,), indices=[2], heldout=False,
                            out=tmp_path / "e1")
    with open(tmp_path / "run" / "eval" / "per_map.csv") as fh:
        row = [r for r in csv.DictReader(fh) if r["set"] == "openfwi" and r["map"] == "2"
               and r["noise_k"] == "2.0" and r["predictor"] == "network"][0]
    assert alone["openfwi/toy_a"]["k=2"]["network"]["mse"]["mean"] == pytest.approx(
        float(row["mse"]), rel=1e-6)  # float32 convolutions differ in the last bits by batch
    # Without OpenFWI maps the evaluation says so in one line and scores the held-out maps.
    monkeypatch.delenv("CRFWI_DATA_DIR")
    lines.clear()
    summary = ev.evaluate_run(tmp_path / "run", out=tmp_path / "e2", log=lines.append)
    assert "OpenFWI maps not found" in lines[0] and "openfwi/toy_a" not in summary


def test_cli_refuses_bad_input(tmp_path: Path, capsys) -> None:
    cli = _cli()
    assert cli.main(["train", str(tmp_path / "missing"), str(tmp_path / "run")]) == 2
    assert "holds no data set" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path / "none")]) == 2
    assert "train first" in capsys.readouterr().err
    assert cli.main(["data", str(tmp_path / "d"), "--train-per-family", "0"]) == 2
    assert "n_train" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "a", "b", "--noise", "x:y"])
    assert stop.value.code == 2


def test_cli_train_draws_the_training_curve(toy_data: Path, tmp_path: Path, capsys) -> None:
    cli = _cli()
    run = tmp_path / "run"
    assert cli.main(["train", str(toy_data), str(run), "--epochs", "2", "--batch-size", "6",
                     "--width", "2", "--noise", "0:2", "--quiet"]) == 0
    assert (run / "training_curve.png").stat().st_size > 10_000
    rows = read_history(run / "history.csv")
    assert [r["epoch"] for r in rows] == [1.0, 2.0] and all(r["val_mse_kms2"] > 0 for r in rows)
    assert cli.main(["curve", str(run), "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").is_file()
    assert cli.main(["curve", str(tmp_path / "none")]) == 2
    assert "train the network first" in capsys.readouterr().err
