"""The benchmark scripts' protocols stay valid configurations (the runs themselves are long)."""

import importlib.util
import json
from pathlib import Path

import pytest

from crfwi import representations
from crfwi.config import config_from_dict
from crfwi.experiment import build_experiment
from test_examples import shared_models

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_marmousi_constant_protocol_builds(monkeypatch):
    data = shared_models()
    if data is None:
        pytest.skip("benchmark models not found: set CRFWI_DATA_DIR to a folder with models.json")
    monkeypatch.setenv("CRFWI_DATA_DIR", str(data))
    bench = load("marmousi_constant")
    for method in representations.available():
        config = config_from_dict(bench.protocol(method, 1, 0, 4))
        assert config.inversion.method == method
    experiment = build_experiment(config_from_dict(bench.protocol("pixel", 1, 0, 4)), device="cpu")
    assert experiment.grid.shape == (47, 144) and experiment.survey.n_shots == 13
    below_water = experiment.initial_model[~experiment.fixed_mask]
    assert (below_water == 1500.0).all()  # the constant start


def test_benchmark_scripts_import():
    for name in ("solver_overhead", "representation_cost", "calibrate", "marmousi_constant",
                 "distributed_scaling",
                 "ig_branches", "gradient_sampling", "speed_options", "chevron_like",
                 "chevron_modelling_error", "pml_width", "gradient_footprint"):
        assert callable(load(name).main)


def test_gradient_footprint_on_a_coarse_3d_overthrust(tmp_path, capsys):
    """The 3-D stand-in's first gradient lies near the surface (the premise BENCHMARKS.md §14
    draws on: 42 % of |∂J/∂m| in the top tenth at cpu scale, 72 % with the near-surface
    low-velocity layer); measured here on a coarse copy."""
    bench = load("gradient_footprint")
    assert bench.spread(36, 4) == [0, 12, 23, 35] and bench.spread(5, 0) == [0, 1, 2, 3, 4]
    out = tmp_path / "footprint.json"
    coarse = ["model.nz=12", "model.ny=32", "model.nx=32", "model.spacing=250",
              "survey.freq=2.4", "survey.dt=0.0125", "survey.nt=200"]
    bench.main(["--presets", "overthrust3d", "--shots3d", "1", "--out", str(out),
                *[a for o in coarse for a in ("--set", o)]])
    row = json.loads(out.read_text())["rows"][0]
    assert row["grid"] == [12, 32, 32] and len(row["shots"]) == 1
    assert sum(row["abs_share_by_tenth"]) == pytest.approx(1.0)
    assert row["abs_share_by_tenth"][0] > 0.5 and -1 <= row["one_sidedness"] <= 1
    assert "--set model.nz=12" in json.loads(out.read_text())["command"]


def test_ig_branches_splits_the_fusion_input(tmp_path, capsys):
    """benchmarks/ig_branches.py on a tiny finished IG-FWI run: θ0 is rebuilt from the seed, both
    branches start with a real share of the fusion layer's input (the balanced grid; the literal
    U(±1e-4) tables gave ~1e-4 of the INR's) and the printed table has one row per run."""
    from crfwi.runner import run_inversion

    config = config_from_dict({
        "model": {"name": "layered", "nz": 12, "nx": 24, "spacing": 10.0},
        "survey": {"n_shots": 2, "freq": 15.0, "dt": 0.002, "nt": 80},
        "inversion": {"method": "ig", "iterations": 3, "shots_per_iteration": 1},
        "output": {"figures": False, "progress": False}})
    run_inversion(config, tmp_path / "ig", device="cpu", progress=False)
    bench = load("ig_branches")
    result = bench.analyse(tmp_path / "ig")
    assert result["iterations"] == 3
    moved = result["relative_parameter_change"]
    assert all(value > 0 for value in moved.values())  # every branch trained
    start = result["initial"]
    ratio = start["grid_preactivation_rms"] / start["inr_preactivation_rms"]
    assert 0.2 < ratio < 5, ratio
    assert result["update_rms_m_per_s"] > 0
    assert bench.main([str(tmp_path / "ig"), "--json", str(tmp_path / "out.json")]) == 0
    assert capsys.readouterr().out.count("| `") == 1
    assert (tmp_path / "out.json").is_file()


def test_error_by_depth_rebuilds_the_start_and_splits_the_error(tmp_path, capsys):
    """benchmarks/error_by_depth.py: the RMS per band equals the whole RMS when one band holds
    every row, and a run's start is rebuilt from its config (its initial.npy, written by the
    runner, is the same model)."""
    import numpy as np

    from crfwi.runner import run_inversion

    bench = load("error_by_depth")
    error = np.arange(12.0).reshape(4, 3)
    depth = np.array([0.0, 10.0, 20.0, 30.0])
    whole = float(np.sqrt(np.mean(error ** 2)))
    assert bench.rms_by_band(error, depth, [0, 30]) == pytest.approx([whole])
    top, rest, empty = bench.rms_by_band(error, depth, [0, 10, 30, 50])
    assert top == pytest.approx(float(np.sqrt(np.mean(error[:2] ** 2)))) and empty is None
    config = config_from_dict({
        "model": {"name": "layered", "nz": 12, "nx": 24, "spacing": 10.0},
        "survey": {"n_shots": 2, "freq": 15.0, "dt": 0.002, "nt": 80},
        "inversion": {"method": "pixel", "iterations": 2},
        "output": {"figures": False, "progress": False}})
    run = run_inversion(config, tmp_path / "run", device="cpu", progress=False).folder
    row = bench.run_bands(run, [0, 60, 120])
    initial = np.load(run / "initial.npy").astype(np.float64)
    true = np.load(run / "true.npy").astype(np.float64)
    assert row["initial"][0] == pytest.approx(float(np.sqrt(np.mean((initial - true)[:7] ** 2))))
    bench.main([str(run), "--bands", "0", "60", "120", "--json", str(tmp_path / "out.json")])
    assert "| pixel | " in capsys.readouterr().out and (tmp_path / "out.json").is_file()
