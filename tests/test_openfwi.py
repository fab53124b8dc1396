"""OpenFWI maps by name (crfwi.models.openfwi), on a made-up stack and, when present, the real ones."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from crfwi.models import openfwi, zoo
from crfwi.config import ConfigError, load_config
from crfwi.experiment import build_experiment
from crfwi.physics.geometry import Grid

SHARED = Path(os.environ.get("CRFWI_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "models"))


def _stack_dir(tmp_path: Path, maps: np.ndarray) -> Path:
    np.save(tmp_path / "fv.npy", maps.astype(np.float32))
    entry = {"kind": "stack", "dz_m": 10.0, "dx_m": 10.0, "files": {"flatvel_a": "fv.npy"},
             "shape": list(maps.shape)}
    (tmp_path / "models.json").write_text(json.dumps({"openfwi": entry}))
    return tmp_path


def test_one_map_is_read_from_the_stack_on_its_own_grid(tmp_path):
    maps = 1500.0 + 100.0 * np.arange(3 * 6 * 5, dtype=np.float32).reshape(3, 6, 5)
    root = _stack_dir(tmp_path, maps)
    model, grid = zoo.load_model("openfwi:flatvel_a:2", data_dir=root)
    np.testing.assert_array_equal(model, maps[2])
    assert grid == Grid(6, 5, 10.0, 10.0)
    assert openfwi.families(root) == ["flatvel_a"]
    assert openfwi.map_count("flatvel_a", root) == 3


@pytest.mark.parametrize("name, message", [
    ("openfwi:flatvel_a:3", "maps 0 to 2"),
    ("openfwi:curvevel_a:0", "unknown OpenFWI family 'curvevel_a'"),
    ("openfwi:flatvel_a", "openfwi:<family>:<k>"),
    ("openfwi:flatvel_a:-1", "openfwi:<family>:<k>"),
])
def test_a_wrong_map_name_is_refused_in_one_line(tmp_path, name, message):
    root = _stack_dir(tmp_path, np.full((3, 6, 5), 2000.0))
    with pytest.raises(ValueError, match=message) as err:
        zoo.load_model(name, data_dir=root)
    assert "\n" not in str(err.value)


def test_the_map_grid_cannot_be_changed(tmp_path):
    root = _stack_dir(tmp_path, np.full((3, 6, 5), 2000.0))
    with pytest.raises(ValueError, match="cannot be changed"):
        zoo.load_model("openfwi:flatvel_a:0", Grid(12, 10, 5.0), data_dir=root)


def test_a_config_names_a_map_and_a_wrong_size_is_refused(tmp_path):
    maps = np.linspace(1500, 4500, 70 * 70 * 2, dtype=np.float32).reshape(2, 70, 70)
    root = _stack_dir(tmp_path, maps)
    path = tmp_path / "run.toml"
    path.write_text(f'preset = "openfwi"\n[model]\nname = "openfwi:flatvel_a:1"\ndata_dir = "{root}"\n')
    experiment = build_experiment(load_config(path), device="cpu")
    np.testing.assert_array_equal(np.asarray(experiment.true_model), maps[1])
    assert len(experiment.survey.source_x) == 5
    path.write_text(f'preset = "openfwi"\n[model]\nname = "openfwi:flatvel_a:1"\nnx = 71\n'
                    f'data_dir = "{root}"\n')
    with pytest.raises(ConfigError, match="model.nx"):
        build_experiment(load_config(path), device="cpu")


def test_the_preset_is_openfwis_acquisition(tmp_path):
    from crfwi import presets

    data = presets.preset_data("openfwi")
    survey = data["survey"]
    assert (survey["n_shots"], survey["freq"], survey["dt"], survey["nt"]) == (5, 15.0, 0.001, 1000)
    assert survey["free_surface"] is False
    grid = Grid(70, 70, 10.0)
    from crfwi.physics.geometry import Survey

    s = Survey.surface(grid, n_shots=5, shot_spacing=survey["shot_spacing"], freq=15.0, dt=0.001,
                       nt=1000)
    columns = [grid.index_of(z=10.0, x=x)[1] for x in s.source_x]
    assert columns == [0, 17, 34, 52, 69]  # OpenFWI's source columns
    assert len(s.receiver_x) == 70


@pytest.mark.skipif(not (SHARED / "openfwi").is_dir(), reason="real OpenFWI maps not in the data directory")
def test_the_real_stacks_read():
    for family in ("flatvel_a", "flatfault_a", "curvevel_a"):
        model, grid = zoo.load_model(f"openfwi:{family}:17", data_dir=SHARED)
        assert model.shape == (70, 70) and grid.dz == 10.0
        assert 1400.0 <= model.min() and model.max() <= 4600.0
