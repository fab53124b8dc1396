"""Tests for crfwi.models.zoo: procedural generators, benchmark loading/resampling, initial models."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from crfwi.models import zoo
from crfwi.physics.geometry import Grid

PROCEDURAL = ["layered", "faulted", "salt_body", "flatvel", "curvevel", "flatfault", "curvefault"]
GRIDS = [Grid(8, 12, 10.0), Grid(70, 70, 10.0), Grid(94, 288, 15.0, 12.0), Grid(200, 600, 10.0)]


@pytest.fixture
def data_dir() -> Path:
    """The benchmark folder: $CRFWI_DATA_DIR, else ../shared/models next to the repository."""
    env = os.environ.get("CRFWI_DATA_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "models"
    if not (root / "models.json").is_file():
        pytest.skip(f"benchmark models not found at {root}: set CRFWI_DATA_DIR")
    return root


@pytest.fixture
def manifest(data_dir: Path) -> dict:
    return json.loads((data_dir / "models.json").read_text())


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRFWI_DATA_DIR", raising=False)


def total_variation(v: np.ndarray) -> float:
    return float(np.abs(np.diff(v, axis=0)).sum() + np.abs(np.diff(v, axis=1)).sum())


# ------------------------------------------------------------------------------------------
# Procedural generators
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROCEDURAL)
def test_procedural_shape_range_and_trend(name: str) -> None:
    for grid in GRIDS:
        v, out_grid = zoo.load_model(name, grid, seed=1)
        assert out_grid == grid
        assert v.shape == grid.shape and v.dtype == np.float32
        assert np.all(np.isfinite(v))
        assert v.min() >= 1500.0 and v.max() <= 4500.0
        if grid.nz >= 70:
            quarter = grid.nz // 4
            assert v[-quarter:].mean() > v[:quarter].mean()  # faster at depth on average
            assert np.unique(v).size >= 2  # not a constant model


@pytest.mark.parametrize("name", PROCEDURAL)
def test_procedural_deterministic_and_seed_dependent(name: str) -> None:
    grid = Grid(40, 100, 20.0)
    a, _ = zoo.load_model(name, grid, seed=3)
    b, _ = zoo.load_model(name, grid, seed=3)
    np.testing.assert_array_equal(a, b)
    others = [zoo.load_model(name, grid, seed=s)[0] for s in (4, 5)]
    assert all(not np.array_equal(a, o) for o in others)
    tiny = Grid(8, 12, 10.0)
    assert not np.array_equal(zoo.load_model(name, tiny, seed=0)[0], zoo.load_model(name, tiny, seed=1)[0])


@pytest.mark.parametrize("name", PROCEDURAL)
def test_procedural_same_geology_at_another_resolution(name: str) -> None:
    # Same physical extent (1000 m x 3000 m) at 50 m and 25 m: the 25 m model's even nodes
    # coincide with the 50 m nodes and must carry (almost) the same velocities.
    coarse, _ = zoo.load_model(name, Grid(21, 61, 50.0), seed=7)
    fine, _ = zoo.load_model(name, Grid(41, 121, 25.0), seed=7)
    assert np.mean(coarse == fine[::2, ::2]) > 0.95


@pytest.mark.parametrize("name", ["layered", "faulted", "salt_body"])
def test_water_layer_option(name: str) -> None:
    grid = Grid(50, 100, 20.0)
    v, _ = zoo.load_model(name, grid, water_depth=200.0)
    assert np.all(v[: 200 // 20 + 1] == 1500.0)
    assert np.all(v[200 // 20 + 1] > 1500.0)
    dry, _ = zoo.load_model(name, grid, water_depth=0.0)
    assert np.all(dry[0] > 1500.0)


def test_salt_body_has_salt_with_rounded_top() -> None:
    grid = Grid(75, 250, 10.0)
    v = zoo.salt_body(grid, seed=2)
    salt = v == 4500.0
    assert salt.sum() > 0.03 * v.size
    top = np.array([np.argmax(col) if col.any() else -1 for col in salt.T])
    cols = np.flatnonzero(top >= 0)
    # The crest is shallower than the flanks: a dome, not a flat-topped box.
    assert top[cols].min() < top[cols[0]] and top[cols].min() < top[cols[-1]]


def test_openfwi_families_layer_count() -> None:
    grid = Grid(70, 70, 10.0)
    for seed in range(10):
        v = zoo.flatvel(grid, seed=seed)
        assert 2 <= np.unique(v).size <= 5
        assert np.all(np.diff(v[:, 0]) >= 0)  # sorted velocities, flat layers
        assert np.all(v == v[:, :1])


def test_procedural_errors() -> None:
    with pytest.raises(ValueError, match="needs a `grid`"):
        zoo.load_model("layered")
    with pytest.raises(ValueError, match="n_layers"):
        zoo.load_model("layered", Grid(10, 10, 10.0), bogus=1)
    with pytest.raises(ValueError, match="seed"):
        zoo.load_model("flatvel", Grid(10, 10, 10.0), seed=-1)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown model 'marmousi3'") as err:
        zoo.load_model("marmousi3", Grid(10, 10, 10.0))
    for name in ["marmousi", "bp2004", "salt", "salt_body", "curvefault"]:
        assert name in str(err.value)


# ------------------------------------------------------------------------------------------
# Registry listing
# ------------------------------------------------------------------------------------------


def test_list_models(data_dir: Path) -> None:
    infos = {m.name: m for m in zoo.list_models(data_dir)}
    assert set(PROCEDURAL) | {"marmousi", "marmousi2", "overthrust", "bp2004", "salt"} == set(infos)
    assert infos["marmousi"].present and infos["marmousi"].shape == (151, 461)
    assert infos["marmousi"].spacing == (20.0, 20.0)
    assert not infos["salt"].present
    assert all(infos[n].kind == "procedural" and infos[n].shape is None for n in PROCEDURAL)


def test_list_models_without_data_dir(no_env: None) -> None:
    infos = {m.name: m for m in zoo.list_models()}
    assert not infos["marmousi"].present and infos["layered"].present


def test_resolve_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CRFWI_DATA_DIR", raising=False)
    assert zoo.resolve_data_dir() is None
    monkeypatch.setenv("CRFWI_DATA_DIR", str(tmp_path))
    assert zoo.resolve_data_dir() == tmp_path
    assert zoo.resolve_data_dir(tmp_path / "x") == tmp_path / "x"


# ------------------------------------------------------------------------------------------
# Benchmark files
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["marmousi", "bp2004"])
def test_benchmark_matches_manifest(name: str, data_dir: Path, manifest: dict) -> None:
    entry = manifest[name]
    v, grid = zoo.load_model(name, data_dir=data_dir)
    assert v.shape == tuple(entry["shape"]) == grid.shape
    assert (grid.dz, grid.dx) == (entry["dz_m"], entry["dx_m"])
    assert v.dtype == np.float32
    assert v.min() == pytest.approx(entry["vmin"], abs=0.5)
    assert v.max() == pytest.approx(entry["vmax"], abs=0.5)


def test_benchmark_from_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRFWI_DATA_DIR", str(data_dir))
    v, _ = zoo.load_model("marmousi")
    assert v.shape == (151, 461)


def test_benchmark_window_at_file_spacing_copies_file(data_dir: Path) -> None:
    full, _ = zoo.load_model("marmousi", data_dir=data_dir)
    window, grid = zoo.load_model("marmousi", Grid(50, 100, 20.0), origin=(200.0, 400.0),
                                  data_dir=data_dir)
    np.testing.assert_array_equal(window, full[10:60, 20:120])
    assert grid == Grid(50, 100, 20.0)


def test_benchmark_coarser_resampling(data_dir: Path, manifest: dict) -> None:
    # The calibration window of METHODS.md: 30 m, central 1.41 km x 4.32 km.
    full, file_grid = zoo.load_model("marmousi", data_dir=data_dir)
    grid = Grid(47, 144, 30.0)
    origin = ((file_grid.extent[0] - grid.extent[0]) / 2, (file_grid.extent[1] - grid.extent[1]) / 2)
    v, _ = zoo.load_model("marmousi", grid, origin=origin, data_dir=data_dir)
    entry = manifest["marmousi"]
    assert v.shape == (47, 144) and np.all(np.isfinite(v))
    assert v.min() >= entry["vmin"] - 1e-3 and v.max() <= entry["vmax"] + 1e-3
    # Anti-aliased: close to the file in the mean, smoother than plain subsampling would be.
    rows = np.round((origin[0] + grid.z()) / 20.0).astype(int)
    cols = np.round((origin[1] + grid.x()) / 20.0).astype(int)
    nearest = full[np.ix_(rows, cols)]
    assert abs(v.mean() - nearest.mean()) < 0.02 * nearest.mean()
    assert total_variation(v) < total_variation(nearest)


def test_benchmark_refining_is_linear(data_dir: Path) -> None:
    full, _ = zoo.load_model("marmousi", data_dir=data_dir)
    v, _ = zoo.load_model("marmousi", Grid(21, 41, 10.0), data_dir=data_dir)
    np.testing.assert_array_equal(v[::2, ::2], full[:11, :21])
    midpoint = 0.5 * (full[0, 0].astype(np.float64) + full[0, 1])
    assert v[0, 1] == pytest.approx(midpoint, rel=1e-6)


def test_window_outside_extent_raises(data_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"exceeds the extent .*0 to 3000 m"):
        zoo.load_model("marmousi", Grid(47, 144, 30.0), origin=(2000.0, 0.0), data_dir=data_dir)
    with pytest.raises(ValueError, match="exceeds the extent"):
        zoo.load_model("marmousi", Grid(10, 1000, 20.0), data_dir=data_dir)


def test_fit_grid(data_dir: Path) -> None:
    grid = zoo.fit_grid("marmousi", spacing=30.0, data_dir=data_dir)
    assert grid == Grid(101, 307, 30.0)
    v, _ = zoo.load_model("marmousi", grid, data_dir=data_dir)  # fits inside the file
    assert v.shape == (101, 307)
    assert zoo.fit_grid("marmousi", spacing=(15.0, 20.0), nz=94, data_dir=data_dir) == Grid(94, 461, 15.0, 20.0)
    with pytest.raises(ValueError, match="exceeds the extent"):
        zoo.fit_grid("marmousi", spacing=30.0, nz=102, data_dir=data_dir)
    with pytest.raises(ValueError, match="procedural"):
        zoo.fit_grid("layered", spacing=10.0)


def test_salt_absent_points_to_stand_in(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="salt_body") as err:
        zoo.load_model("salt", data_dir=data_dir)
    assert "absent" in str(err.value) and "Salt_Model_3D" in str(err.value)


def test_missing_data_dir_names_env_var(no_env: None, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CRFWI_DATA_DIR"):
        zoo.load_model("marmousi")
    with pytest.raises(ValueError, match="CRFWI_DATA_DIR") as err:
        zoo.load_model("marmousi", data_dir=tmp_path)
    assert str(tmp_path / "models.json") in str(err.value)


def test_missing_or_corrupt_file(tmp_path: Path) -> None:
    entry = {"file": "m.npy", "shape": [4, 5], "dz_m": 10.0, "dx_m": 10.0, "vmin": 1.0, "vmax": 2.0}
    (tmp_path / "models.json").write_text(json.dumps({"marmousi": entry}))
    with pytest.raises(ValueError, match=str(tmp_path / "m.npy")):
        zoo.load_model("marmousi", data_dir=tmp_path)
    np.save(tmp_path / "m.npy", np.full((4, 6), 1500.0, dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        zoo.load_model("marmousi", data_dir=tmp_path)
    bad = np.full((4, 5), 1500.0, dtype=np.float32)
    bad[1, 1] = np.nan
    np.save(tmp_path / "m.npy", bad)
    with pytest.raises(ValueError, match="finite"):
        zoo.load_model("marmousi", data_dir=tmp_path)


# ------------------------------------------------------------------------------------------
# Initial models and the water mask
# ------------------------------------------------------------------------------------------


@pytest.fixture
def true_model() -> tuple[np.ndarray, Grid]:
    grid = Grid(60, 150, 20.0)
    return zoo.faulted(grid, seed=4, water_depth=100.0), grid


def test_smooth_initial_model(true_model: tuple[np.ndarray, Grid]) -> None:
    true, grid = true_model
    m0 = zoo.initial_model(true, grid, "smooth")
    assert m0.shape == grid.shape and m0.dtype == np.float32
    assert total_variation(m0) < total_variation(true)
    # Interfaces become gradients: the largest jump between neighbours shrinks a lot.
    assert np.abs(np.diff(m0, axis=0)).max() < 0.25 * np.abs(np.diff(true, axis=0)).max()
    assert m0.mean() == pytest.approx(true.mean(), rel=0.01)
    rougher = zoo.initial_model(true, grid, "smooth", sigma=60.0)
    assert total_variation(m0) < total_variation(rougher) < total_variation(true)
    np.testing.assert_allclose(zoo.initial_model(true, grid, "smooth", sigma=0.0), true)


def test_linear_initial_model(true_model: tuple[np.ndarray, Grid]) -> None:
    true, grid = true_model
    m0 = zoo.initial_model(true, grid, "linear")
    assert np.all(m0 == m0[:, :1])  # laterally constant
    assert np.all(np.diff(m0[:, 0]) > 0)  # monotonic in depth
    assert m0[0, 0] == pytest.approx(true.min())
    assert m0[-1, 0] == pytest.approx(true[-1].mean(), rel=1e-6)
    custom = zoo.initial_model(true, grid, "linear", v_top=1500.0, v_bottom=4000.0)
    assert custom[0, 3] == pytest.approx(1500.0) and custom[-1, 7] == pytest.approx(4000.0)


def test_constant_initial_model(true_model: tuple[np.ndarray, Grid]) -> None:
    true, grid = true_model
    m0 = zoo.initial_model(true, grid, "constant")
    assert np.allclose(m0, true.mean())  # the mean reading (crfwi.models.zoo.CONSTANT_READINGS)
    assert np.all(zoo.initial_model(true, grid, "constant", constant="minimum") == true.min())
    assert np.all(zoo.initial_model(true, grid, "constant", value=2000.0) == 2000.0)


def test_file_initial_model(true_model: tuple[np.ndarray, Grid], tmp_path: Path) -> None:
    true, grid = true_model
    saved = zoo.initial_model(true, grid, "smooth", sigma=100.0)
    np.save(tmp_path / "m0.npy", saved)
    np.testing.assert_array_equal(zoo.initial_model(true, grid, "file", path=tmp_path / "m0.npy"), saved)
    np.save(tmp_path / "wrong.npy", saved[:, :-1])
    with pytest.raises(ValueError, match="shape"):
        zoo.initial_model(true, grid, "file", path=tmp_path / "wrong.npy")
    with pytest.raises(ValueError, match="not found"):
        zoo.initial_model(true, grid, "file", path=tmp_path / "absent.npy")
    with pytest.raises(ValueError, match="needs `path`"):
        zoo.initial_model(true, grid, "file")


def test_initial_model_errors(true_model: tuple[np.ndarray, Grid]) -> None:
    true, grid = true_model
    with pytest.raises(ValueError, match="smooth, linear, constant, file"):
        zoo.initial_model(true, grid, "random")
    with pytest.raises(ValueError, match="does not apply"):
        zoo.initial_model(true, grid, "smooth", value=2000.0)
    with pytest.raises(ValueError, match="shape"):
        zoo.initial_model(true[:, :-1], grid, "constant")
    with pytest.raises(ValueError, match="positive"):
        zoo.initial_model(-true, grid, "constant")


@pytest.mark.parametrize("kind", ["smooth", "linear", "constant"])
def test_water_mask_keeps_true_water(kind: str, true_model: tuple[np.ndarray, Grid]) -> None:
    true, grid = true_model
    mask = zoo.water_mask(true)
    assert mask.any() and not mask.all()
    m0 = zoo.initial_model(true, grid, kind, water_mask=mask)
    np.testing.assert_array_equal(m0[mask], true[mask])
    assert np.any(m0[~mask] != true[~mask])


def test_water_mask_definition() -> None:
    v = np.full((6, 3), 2500.0, dtype=np.float32)
    v[:2] = 1500.0
    v[4, 1] = 1500.0  # slow but not connected to the surface: not water
    v[2, 2] = 1500.5  # within tol of the water velocity
    mask = zoo.water_mask(v)
    expected = np.zeros_like(mask)
    expected[:2] = True
    expected[2, 2] = True
    np.testing.assert_array_equal(mask, expected)
    assert not zoo.water_mask(v + 1000.0).any()  # top-left too fast: no water
    np.testing.assert_array_equal(zoo.water_mask(v + 1000.0, water_velocity=2500.0), expected)
