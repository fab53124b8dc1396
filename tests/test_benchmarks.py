"""The benchmark scripts' protocols stay valid configurations (the runs themselves are long)."""

import importlib.util
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
    for name in ("solver_overhead", "representation_cost", "calibrate_demo", "marmousi_constant"):
        assert callable(load(name).main)
