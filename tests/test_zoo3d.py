"""Tests for crfwi.models.zoo3d: the 3-D Overthrust stand-in, the real-volume reader and 3-D starts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crfwi.models import zoo3d
from crfwi.physics.geometry3d import Grid3D

GRID = Grid3D(30, 24, 40, 100.0)


@pytest.fixture(scope="module")
def volume():
    return zoo3d.thrust_fold3d(GRID, seed=0)


def test_shape_dtype_range_and_note(volume, tmp_path):
    assert volume.shape == GRID.shape and volume.dtype == np.float32
    assert 2800.0 <= volume.min() < 3300.0  # strata reach the surface: no low-velocity layer
    assert 5500.0 < volume.max() <= zoo3d.V_MAX3D  # the basement
    v, note = zoo3d.load_model3d("thrust_fold3d", GRID)
    assert note.startswith("STAND-IN:") and np.array_equal(v, volume)
    # no data directory entry: overthrust3d falls back, and says why
    v, note = zoo3d.load_model3d("overthrust3d", GRID, data_dir=tmp_path)
    assert note.startswith("STAND-IN:") and "absent" in note and np.array_equal(v, volume)
    with pytest.raises(ValueError, match="absent"):
        zoo3d.load_model3d("overthrust3d", GRID, data_dir=tmp_path, fallback=False)
    with pytest.raises(ValueError, match="unknown 3-D model"):
        zoo3d.load_model3d("marmousi", GRID)


def test_low_velocity_layer_is_the_top_alone(volume):
    # the paper's failure case (App. C.4): a weathered top at 2200-2400 m/s, 3-6 % of the depth
    # (+/- 25 %), over the same strata; no other cell and no other draw changes
    lvl = zoo3d.thrust_fold3d(GRID, seed=0, low_velocity_layer=True)
    slow = lvl < 2500.0
    assert zoo3d.V_MIN3D <= lvl.min() < 2500.0 and np.all(lvl[~slow] == volume[~slow])
    depth_cells = slow.sum(axis=0)  # the layer's thickness in each column, cells
    assert np.all(slow[0]) and depth_cells.max() <= int(np.ceil(0.06 * 1.25 * (GRID.nz - 1))) + 1
    assert np.all(volume[slow] > 2800.0)  # where the layer is, the stand-in has strata
    v, _ = zoo3d.load_model3d("thrust_fold3d", GRID, low_velocity_layer=True)
    assert np.array_equal(v, lvl)
    with pytest.raises(ValueError, match="low_velocity_layer"):
        zoo3d.thrust_fold3d(GRID, low_velocity_layer="yes")


def test_deterministic_and_seeded(volume):
    assert np.array_equal(zoo3d.thrust_fold3d(GRID, seed=0), volume)
    assert not np.array_equal(zoo3d.thrust_fold3d(GRID, seed=1), volume)
    # the same geology at another resolution: the coarse grid samples the fine one's nodes
    fine = zoo3d.thrust_fold3d(Grid3D(59, 47, 79, 50.0), seed=0)
    assert np.mean(fine[::2, ::2, ::2] == volume) > 0.95


def test_layered_folded_and_varying_along_strike(volume):
    # velocity rises with depth on average; inline sections differ along y (gentle variation)
    means = volume.mean(axis=(1, 2))
    assert means[-1] > means[len(means) // 2] > means[0]
    # (fold crests and fault traces vary along y with a period of the width: the two ends match)
    assert np.mean(volume[:, 0, :] != volume[:, GRID.ny // 2, :]) > 0.01
    assert np.mean(volume[:, 0, :] == volume[:, 1, :]) > 0.8


def _horizon_depth(index: np.ndarray, layer: int) -> np.ndarray:
    """Depth (cells) of the top of ``layer`` in each column of an inline section [nz, nx]."""
    return np.argmax(index >= layer, axis=0).astype(float)


def test_thrusts_offset_a_horizon(volume):
    faulted = zoo3d._structure(GRID, 0)
    flat = zoo3d._structure(GRID, 0, n_faults=0)  # the same draws, no faults
    assert len(faulted.faults) >= 1 and flat.faults == ()
    iy = GRID.ny // 2
    yn = iy / (GRID.ny - 1)
    fault = faulted.faults[0]
    layer = 3
    shift = (_horizon_depth(faulted.layer_index[:, iy], layer)
             - _horizon_depth(flat.layer_index[:, iy], layer))
    # where the horizon lies, the hanging wall lifts it by the throw; the footwall leaves it
    depth_cells = fault.throw_at(np.array(yn)) * (GRID.nz - 1)
    assert shift.min() <= -(depth_cells - 1.5), (shift, depth_cells)
    # the offset happens across the fault: a jump between neighbouring columns in the faulted model
    jumps = np.abs(np.diff(_horizon_depth(faulted.layer_index[:, iy], layer)))
    assert jumps.max() >= depth_cells - 1.5
    assert depth_cells >= 2.0  # measurable on this grid (>= 200 m)


def test_initial_models(volume):
    def mse(m):
        return float(np.mean((m / 1e3 - volume / 1e3) ** 2))

    smooth = zoo3d.initial_model3d(volume, GRID, "smooth")
    constant = zoo3d.initial_model3d(volume, GRID, "constant")
    linear = zoo3d.initial_model3d(volume, GRID, "linear")
    for m0 in (smooth, constant, linear):
        assert m0.shape == GRID.shape and m0.dtype == np.float32
    assert 0.0 < mse(smooth) < mse(constant)
    assert constant.min() == constant.max() == pytest.approx(volume.mean(), rel=1e-6)
    assert linear[0].min() == pytest.approx(volume.min()) and np.ptp(linear[:, :, 0]) > 0
    assert np.array_equal(linear[:, 0, 0], linear[:, -1, -1])
    # sigma per axis: smoothing only along y leaves a y-constant volume unchanged
    flat_y = np.repeat(volume[:, :1, :], GRID.ny, axis=1)
    assert np.allclose(zoo3d.initial_model3d(flat_y, GRID, "smooth", sigma=(0, 500, 0)), flat_y)
    with pytest.raises(ValueError, match="does not apply"):
        zoo3d.initial_model3d(volume, GRID, "smooth", value=2000.0)
    with pytest.raises(ValueError, match="shape"):
        zoo3d.initial_model3d(volume[:-1], GRID, "smooth")


def _write_real(tmp_path, array, shape=None):
    np.save(tmp_path / "ot3d.npy", array)
    entry = {"file": "ot3d.npy", "shape": list(shape or array.shape), "dz_m": 50.0, "dy_m": 50.0,
             "dx_m": 50.0}
    (tmp_path / "models.json").write_text(json.dumps({"overthrust3d": entry}))


def test_reads_and_resamples_a_real_volume(tmp_path):
    z, y, x = np.meshgrid(np.arange(21), np.arange(11), np.arange(31), indexing="ij")
    real = (2000.0 + 10.0 * z + 3.0 * y + 1.0 * x).astype(np.float32)
    _write_real(tmp_path, real)
    same, note = zoo3d.load_model3d("overthrust3d", Grid3D(21, 11, 31, 50.0), data_dir=tmp_path)
    assert note == "" and np.array_equal(same, real)
    half, _ = zoo3d.load_model3d("overthrust3d", Grid3D(11, 6, 16, 100.0), data_dir=tmp_path)
    # a linear field is kept by the anti-alias filter away from the (replicated) edges
    inner = (slice(1, -1),) * 3
    assert np.allclose(half[inner], real[::2, ::2, ::2][inner], atol=1e-3)
    crop, _ = zoo3d.load_model3d("overthrust3d", Grid3D(5, 5, 5, 50.0), data_dir=tmp_path,
                                 origin=(100.0, 50.0, 200.0))
    assert np.array_equal(crop, real[2:7, 1:6, 4:9])
    with pytest.raises(ValueError, match="exceeds the extent"):
        zoo3d.load_model3d("overthrust3d", Grid3D(30, 11, 31, 50.0), data_dir=tmp_path)


def test_refuses_broken_real_volumes(tmp_path):
    real = np.full((4, 5, 6), 3000.0, dtype=np.float32)
    _write_real(tmp_path, real, shape=(4, 6, 5))
    with pytest.raises(ValueError, match=r"ot3d\.npy has shape \(4, 5, 6\)"):
        zoo3d.load_model3d("overthrust3d", Grid3D(4, 5, 6, 50.0), data_dir=tmp_path)
    real[1, 2, 3] = np.nan
    _write_real(tmp_path, real)
    with pytest.raises(ValueError, match=r"ot3d\.npy must hold finite, positive.*1 of 120"):
        zoo3d.load_model3d("overthrust3d", Grid3D(4, 5, 6, 50.0), data_dir=tmp_path)
    _write_real(tmp_path, real[0])
    with pytest.raises(ValueError, match=r"ot3d\.npy must hold a 3-D"):
        zoo3d.load_model3d("overthrust3d", Grid3D(4, 5, 6, 50.0), data_dir=tmp_path)


def test_plot_models3d_writes_orthogonal_slices(volume, tmp_path):
    import matplotlib.image as mpimg

    from crfwi.plotting import _models3d_figure, plot_models3d

    smooth = zoo3d.initial_model3d(volume, GRID, "smooth")
    models = {"true": volume, "initial": smooth, "inverted": 0.5 * (volume + smooth)}
    path = plot_models3d(models, GRID, tmp_path / "out" / "slices.png", dpi=40)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert float(mpimg.imread(path)[..., :3].std()) > 0.05
    fig = _models3d_figure(models, GRID, slices={"iy": 3, "iz": 29})
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 3 * len(models)  # inline, crossline, depth slice per model
    limits = {im.get_clim() for ax in panels for im in ax.get_images()}
    assert len(limits) == 1  # one colour scale, km/s, from the first volume
    assert np.allclose(limits.pop(), (volume.min() / 1e3, volume.max() / 1e3))
    true = volume.astype(np.float64) / 1e3
    inline, crossline, depth = panels[:3]
    assert np.array_equal(inline.get_images()[0].get_array(), true[:, 3, :])
    assert np.array_equal(crossline.get_images()[0].get_array(), true[:, :, GRID.nx // 2])
    assert np.array_equal(depth.get_images()[0].get_array(), true[29])
    assert inline.get_xlabel() == "x (m)" and depth.get_ylabel() == "y (m)"
    assert inline.get_images()[0].get_extent()[1] == pytest.approx((GRID.nx - 0.5) * GRID.dx)
    with pytest.raises(ValueError, match="iz must be an integer in"):
        plot_models3d(models, GRID, tmp_path / "bad.png", slices=(0, 0, GRID.nz))
    with pytest.raises(ValueError, match="grid's shape"):
        plot_models3d({"true": volume[:, :, :-1]}, GRID, tmp_path / "bad.png")
