"""Tests for crfwi.plotting: real PNGs, shared colour scales, residuals, validation."""

from __future__ import annotations

import math
import matplotlib.image as mpimg
import numpy as np
import pytest
import torch
from matplotlib.image import AxesImage

from crfwi.physics.geometry import Grid
from crfwi.plotting import (_convergence_figure, _models_figure, _shot_figure, _spectra_figure,
                            plot_convergence, plot_models, plot_shot, plot_spectra)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DPI = 40  # small images keep the suite fast


def assert_real_png(path):
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 20 and pixels.shape[1] > 20
    assert float(pixels[..., :3].std()) > 0.05  # not blank


def images(fig) -> list[AxesImage]:
    return [im for ax in fig.axes for im in ax.get_images()]


def layered(grid: Grid, top=1500.0, bottom=4500.0) -> np.ndarray:
    return np.repeat(np.linspace(top, bottom, grid.nz)[:, None], grid.nx, axis=1)


@pytest.fixture
def grid():
    return Grid(nz=20, nx=30, dz=10.0)


# ---------------------------------------------------------------------------------------------
# plot_models
# ---------------------------------------------------------------------------------------------
def test_plot_models_writes_png_in_new_folder(tmp_path, grid):
    true = layered(grid)
    path = plot_models({"true": true, "initial": true * 0.9, "inverted": torch.tensor(true + 50)},
                       grid, tmp_path / "a" / "b" / "models.png", title="demo", dpi=DPI)
    assert path == tmp_path / "a" / "b" / "models.png"
    assert_real_png(path)
    assert not [p for p in path.parent.iterdir() if p.name != "models.png"]  # no temp leftovers


def test_models_share_one_colour_scale_from_first_panel(grid):
    true = layered(grid)
    fig = _models_figure({"true": true, "smooth": true * 0.5, "wild": true * 3.0}, grid)
    ims = images(fig)
    assert len(ims) == 3
    # default limits: min / max of the first panel, shown in km/s
    assert all(im.get_clim() == pytest.approx((1.5, 4.5)) for im in ims)
    # values are displayed in km/s
    np.testing.assert_allclose(ims[1].get_array(), true * 0.5 / 1000)
    # exactly one colorbar, labelled in km/s
    colorbar_axes = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colorbar_axes) == 1
    assert colorbar_axes[0].get_ylabel() == "velocity (km/s)"


def test_models_explicit_limits_in_ms(grid):
    fig = _models_figure({"a": layered(grid), "b": layered(grid)}, grid, vmin=2000, vmax=4000)
    assert all(im.get_clim() == pytest.approx((2.0, 4.0)) for im in images(fig))


def test_models_axes_in_km_depth_downward(grid):
    fig = _models_figure({"true": layered(grid)}, grid)
    im = images(fig)[0]
    left, right, bottom, top = im.get_extent()
    # cell-centred: x from -dx/2 to (nx - 1/2) dx, depth from -dz/2 (top) to (nz - 1/2) dz
    assert (left, right) == pytest.approx((-0.005, 0.295))
    assert (bottom, top) == pytest.approx((0.195, -0.005))
    ax = im.axes
    assert ax.get_xlabel() == "x (km)" and ax.get_ylabel() == "depth (km)"
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # depth increases downward


def test_models_layout_row_column_and_wrap():
    square = Grid(nz=20, nx=20, dz=10.0)
    wide = Grid(nz=10, nx=40, dz=10.0)

    def shape_of(fig):
        axes = [im.axes for im in images(fig)]
        cols = len({round(ax.get_position().x0, 3) for ax in axes})
        rows = len({round(ax.get_position().y0, 3) for ax in axes})
        return rows, cols

    three = {k: layered(square) for k in "abc"}
    assert shape_of(_models_figure(three, square)) == (1, 3)
    three_wide = {k: layered(wide) for k in "abc"}
    assert shape_of(_models_figure(three_wide, wide)) == (3, 1)
    ten = {f"m{i}": layered(square) for i in range(10)}
    fig = _models_figure(ten, square)
    rows, cols = shape_of(fig)
    assert rows > 1 and cols > 1 and rows * cols >= 10
    assert len({im.get_clim() for im in images(fig)}) == 1
    assert shape_of(_models_figure(ten, square, ncols=5)) == (2, 5)


def test_models_many_panels_png(tmp_path, grid):
    panels = {f"method {i}": layered(grid) + 30 * i for i in range(10)}
    assert_real_png(plot_models(panels, grid, tmp_path / "ten.png", dpi=DPI))


def test_models_validation(tmp_path, grid):
    true = layered(grid)
    with pytest.raises(ValueError, match=r"grid's shape \(20, 30\), got shape \(30, 20\)"):
        _models_figure({"true": true, "bad": true.T}, grid)
    with pytest.raises(ValueError, match=r"must be 2-D \[nz, nx\], got shape \(1, 20, 30\)"):
        _models_figure({"true": true[None]}, grid)
    with pytest.raises(ValueError, match="non-empty"):
        _models_figure({}, grid)
    with pytest.raises(ValueError, match="vmin"):
        _models_figure({"true": true}, grid, vmin=3000, vmax=2000)
    with pytest.raises(TypeError, match="Grid"):
        _models_figure({"true": true}, (20, 30))
    with pytest.raises(ValueError, match=r"\.png"):
        plot_models({"true": true}, grid, tmp_path / "models.pdf")


# ---------------------------------------------------------------------------------------------
# plot_convergence
# ---------------------------------------------------------------------------------------------
def history_rows():
    rows = []
    for it in range(10):
        row = {"iteration": it, "loss": 10.0 * 0.5 ** it}
        if it % 3 == 0:
            row["ssim"] = 0.5 + 0.04 * it
        rows.append(row)
    rows[2]["loss"] = None
    rows[4]["loss"] = ""
    rows[5]["loss"] = float("nan")
    rows[6]["ssim"] = "0.8"  # strings, as read back from history.csv
    return rows


def test_convergence_skips_missing_points_and_logs_loss(tmp_path):
    rows = history_rows()
    fig = _convergence_figure(rows, keys=("loss", "ssim"))
    loss_ax, ssim_ax = [ax for ax in fig.axes if ax.get_ylabel() in ("loss", "ssim")]
    x, y = loss_ax.get_lines()[0].get_data()
    np.testing.assert_array_equal(x, [0, 1, 3, 6, 7, 8, 9])
    np.testing.assert_allclose(y, [10.0 * 0.5 ** i for i in (0, 1, 3, 6, 7, 8, 9)])
    assert loss_ax.get_yscale() == "log" and ssim_ax.get_yscale() == "linear"
    x, y = ssim_ax.get_lines()[0].get_data()
    np.testing.assert_array_equal(x, [0, 3, 6, 9])
    np.testing.assert_allclose(y, [0.5, 0.62, 0.8, 0.86])
    path = plot_convergence(rows, tmp_path / "conv.png", keys=("loss", "ssim"), dpi=DPI)
    assert_real_png(path)


def test_convergence_validation():
    with pytest.raises(ValueError, match="non-empty"):
        _convergence_figure([])
    with pytest.raises(ValueError, match=r"history\[1\].*'iteration'"):
        _convergence_figure([{"iteration": 0, "loss": 1.0}, {"loss": 0.5}])
    with pytest.raises(ValueError, match=r"\['sim'\].*available: \['loss'\]"):
        _convergence_figure([{"iteration": 0, "loss": 1.0}], keys=("sim",))


# ---------------------------------------------------------------------------------------------
# plot_shot
# ---------------------------------------------------------------------------------------------
def gathers(n_rec=16, nt=120):
    t = np.arange(nt)[None, :]
    r = np.arange(n_rec)[:, None]
    observed = np.sin(0.3 * (t - 2 * r)) * np.exp(-((t - 40 - 2 * r) / 10.0) ** 2)
    predicted = 0.8 * np.sin(0.3 * (t - 2 * r - 3)) * np.exp(-((t - 43 - 2 * r) / 10.0) ** 2)
    return observed, predicted


def test_shot_residual_and_shared_symmetric_clip(tmp_path):
    observed, predicted = gathers()
    fig = _shot_figure(observed, predicted, dt=0.004, receiver_x=np.arange(16) * 25.0)
    obs_im, pred_im, res_im = images(fig)
    np.testing.assert_allclose(res_im.get_array(), (observed - predicted).T)
    np.testing.assert_allclose(obs_im.get_array(), observed.T)  # time on the vertical axis
    clip = np.percentile(np.abs(observed), 99)
    for im in (obs_im, pred_im, res_im):
        assert im.get_clim() == pytest.approx((-clip, clip))
    left, right, bottom, top = obs_im.get_extent()
    assert (left, right) == pytest.approx((-0.0125, 0.3875))   # km, half a spacing beyond
    assert (bottom, top) == pytest.approx((119.5 * 0.004, -0.002))  # s, increasing downward
    assert obs_im.axes.get_xlabel() == "receiver x (km)"
    assert obs_im.axes.get_ylabel() == "time (s)"
    assert_real_png(plot_shot(torch.tensor(observed), predicted, tmp_path / "s" / "shot.png",
                              dt=0.004, title="shot 0", dpi=DPI))


def test_shot_without_positions_uses_index():
    observed, predicted = gathers(n_rec=8)
    fig = _shot_figure(observed, predicted, dt=0.002)
    im = images(fig)[0]
    assert im.get_extent()[:2] == pytest.approx((-0.5, 7.5))
    assert im.axes.get_xlabel() == "receiver index"


def test_shot_validation():
    observed, predicted = gathers()
    with pytest.raises(ValueError, match=r"same shape.*\(16, 120\) and \(16, 100\)"):
        _shot_figure(observed, predicted[:, :100], dt=0.004)
    with pytest.raises(ValueError, match=r"`observed` must be 2-D.*\(1, 16, 120\).*data\[0\]"):
        _shot_figure(observed[None], predicted, dt=0.004)
    with pytest.raises(ValueError, match="`dt`"):
        _shot_figure(observed, predicted, dt=0.0)
    with pytest.raises(ValueError, match="`receiver_x`.*16, got 3"):
        _shot_figure(observed, predicted, dt=0.004, receiver_x=[0.0, 1.0, 2.0])
    bad = predicted.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="`predicted` must hold finite"):
        _shot_figure(observed, bad, dt=0.004)


# ---------------------------------------------------------------------------------------------
# plot_spectra
# ---------------------------------------------------------------------------------------------
def test_spectra_sorted_normalised_log_log(tmp_path):
    k = np.arange(1, 51, dtype=float)
    ascending = (2.0 * k ** -2.0)[::-1]  # e.g. eigvalsh order
    fig = _spectra_figure({"pixel": ascending, "siren": torch.tensor(5.0 * k ** -1.0)})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    x, y = ax.get_lines()[0].get_data()
    np.testing.assert_array_equal(x, k)
    np.testing.assert_allclose(y, k ** -2.0)  # sorted descending and divided by the first
    raw = _spectra_figure({"a": np.array([4.0, 2.0, -1e-12])}, normalise=False)
    x, y = raw.axes[0].get_lines()[0].get_data()
    np.testing.assert_allclose(y, [4.0, 2.0])  # the round-off negative value is dropped
    assert_real_png(plot_spectra({"pixel": ascending}, tmp_path / "spec.png", dpi=DPI))


def test_spectra_validation():
    with pytest.raises(ValueError, match="non-empty"):
        _spectra_figure({})
    with pytest.raises(ValueError, match=r"curves\['a'\].*1-D.*\(2, 2\)"):
        _spectra_figure({"a": np.ones((2, 2))})
    with pytest.raises(ValueError, match="positive"):
        _spectra_figure({"a": np.array([0.0, -1.0])})
    with pytest.raises(ValueError, match="finite"):
        _spectra_figure({"a": np.array([1.0, math.inf])})


def test_module_never_imports_pyplot():
    # Static check (a subprocess import costs seconds): no import of pyplot or matplotlib.use().
    import ast
    import inspect

    import crfwi.plotting as plotting

    tree = ast.parse(inspect.getsource(plotting))
    names = [alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
             for alias in node.names]
    modules = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not any("pyplot" in str(n) for n in names + modules)
    calls = [node.func.attr for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]
    assert "use" not in calls
