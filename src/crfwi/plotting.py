"""Figures for run folders and reports: velocity models, convergence, shot gathers, spectra.

Every figure is built on a bare :class:`matplotlib.figure.Figure` with an explicit
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, never through ``pyplot``: nothing here
touches the global backend or pyplot's figure registry, so the module is safe to use headless, from
threads and next to code that has already imported pyplot with another backend.

Each public ``plot_*`` function validates its input, writes one PNG (creating the parent folder;
written to a temporary file and renamed, so a reader never sees half a file) and returns its
:class:`~pathlib.Path`. The matching private ``_*_figure`` builders return the
:class:`~matplotlib.figure.Figure` so tests can inspect colour limits and data.

Units follow the package: models arrive in m/s and are shown in km/s, positions in km
(metres in the 3-D slices of :func:`plot_models3d`), time in s.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .physics.geometry import Grid

__all__ = ["plot_convergence", "plot_models", "plot_models3d", "plot_shot", "plot_spectra"]

_DPI = 120
# Target width / height of a wrapped panel grid: wide enough for a page, not a strip.
_TARGET_ASPECT = 1.6


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _array(name: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"`{name}` must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def _array_2d(name: str, value: Any, layout: str) -> np.ndarray:
    array = _array(name, value)
    if array.ndim != 2:
        hint = " (select one shot, e.g. data[0])" if array.ndim == 3 and "receiver" in layout else ""
        raise ValueError(f"`{name}` must be 2-D {layout}, got shape {tuple(array.shape)}{hint}")
    if array.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(array.shape)}")
    return array


def _positive_finite(name: str, value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}")
    return value


def _png_path(path: Any) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"`path` must end in .png, got {str(path)!r}")
    return path


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself to fig: rendering never goes through pyplot
    return fig


def _save(fig: Figure, path: Path, dpi: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=dpi)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# --------------------------------------------------------------------------------------------
# Velocity models
# --------------------------------------------------------------------------------------------
def _colour_limits(first: np.ndarray, vmin, vmax, what: str) -> tuple[float, float]:
    """One colour scale (km/s) for every panel: ``vmin``/``vmax`` (m/s) where given, else the
    range of ``first`` (km/s), the true model by convention."""
    finite = first[np.isfinite(first)]
    if (vmin is None or vmax is None) and finite.size == 0:
        raise ValueError(f"{what} has no finite values to set the colour scale; "
                         "pass `vmin` and `vmax`")
    lo = float(finite.min()) if vmin is None else float(vmin) / 1000.0
    hi = float(finite.max()) if vmax is None else float(vmax) / 1000.0
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"`vmin` and `vmax` must be finite, got {vmin!r} and {vmax!r}")
    if lo > hi:
        raise ValueError(f"`vmin` must not exceed `vmax`, got {vmin!r} > {vmax!r}")
    if lo == hi:  # a constant model: open the scale a little so the colour is mid-range
        lo, hi = lo - 0.05, hi + 0.05
    return lo, hi


def _panel_columns(n: int, aspect: float) -> int:
    """Columns for ``n`` panels of width/height ``aspect``.

    Up to four panels: one row, or one column when the model is wide (aspect >= 2, e.g.
    Marmousi). More panels wrap into the grid whose overall shape is closest to ~1.6:1.
    """
    if n <= 4:
        return 1 if aspect >= 2.0 else n
    return int(min(n, max(1, round(math.sqrt(n * _TARGET_ASPECT / aspect)))))


def _models_figure(panels: Mapping[str, Any], grid: Grid, *, vmin: float | None = None,
                   vmax: float | None = None, title: str | None = None, cmap: str = "jet",
                   ncols: int | None = None) -> Figure:
    """Figure of velocity models sharing one colour scale; see :func:`plot_models`."""
    if not isinstance(grid, Grid):
        raise TypeError(f"`grid` must be a crfwi Grid, got {type(grid).__name__}")
    if not isinstance(panels, Mapping) or len(panels) == 0:
        raise ValueError("`panels` must be a non-empty dict {label: model [nz, nx] in m/s}")
    models: dict[str, np.ndarray] = {}
    for label, value in panels.items():
        name = f"panels[{label!r}]"
        array = _array_2d(name, value, "[nz, nx]")
        if array.shape != grid.shape:
            raise ValueError(f"`{name}` must have the grid's shape {grid.shape}, "
                             f"got shape {array.shape}")
        models[str(label)] = array / 1000.0  # m/s -> km/s for display

    lo, hi = _colour_limits(next(iter(models.values())), vmin, vmax, "the first panel")

    n = len(models)
    dz_km, dx_km = grid.dz / 1000.0, grid.dx / 1000.0
    width_km, depth_km = grid.nx * dx_km, grid.nz * dz_km
    if ncols is None:
        ncols = _panel_columns(n, width_km / depth_km)
    elif isinstance(ncols, bool) or int(ncols) != ncols or not 1 <= ncols:
        raise ValueError(f"`ncols` must be a positive integer, got {ncols!r}")
    ncols = int(min(ncols, n))
    nrows = math.ceil(n / ncols)

    panel_w = 4.0
    panel_h = min(max(panel_w * depth_km / width_km, 1.2), 6.0) + 0.5  # room for labels
    fig = _new_figure(panel_w * ncols + 1.2, panel_h * nrows + (0.4 if title else 0.0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    # cell-centred extent: cell (i, j) is centred on (i dz, j dx)
    extent = (-dx_km / 2, (grid.nx - 0.5) * dx_km, (grid.nz - 0.5) * dz_km, -dz_km / 2)
    image = None
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_axis_off()
            continue
        label, model = list(models.items())[k]
        image = ax.imshow(model, cmap=cmap, vmin=lo, vmax=hi, extent=extent, origin="upper",
                          aspect="equal", interpolation="nearest")
        ax.set_title(label)
        ax.set_xlabel("x (km)")
        ax.set_ylabel("depth (km)")
    colorbar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9)
    colorbar.set_label("velocity (km/s)")
    if title:
        fig.suptitle(title)
    return fig


def plot_models(panels: Mapping[str, Any], grid: Grid, path: str | os.PathLike, *,
                vmin: float | None = None, vmax: float | None = None, title: str | None = None,
                cmap: str = "jet", ncols: int | None = None, dpi: int = _DPI) -> Path:
    """Velocity models side by side with ONE shared colour scale and colorbar; writes a PNG.

    Args:
        panels: ``{label: model}``, each model ``[nz, nx]`` in m/s (numpy or torch), in display
            order. By convention the first is the true model.
        grid: the models' :class:`~crfwi.physics.geometry.Grid`; sets the axes (x and depth in km, depth
            increasing downward, cells centred on ``(i dz, j dx)``).
        path: output ``.png``; its parent folder is created.
        vmin, vmax: colour limits in m/s; default the min / max of the first panel.
        title: optional figure title.
        cmap: matplotlib colormap name (default ``"jet"``, as in the paper's figures).
        ncols: panels per row; default one row (one column for wide models, width/depth >= 2)
            for up to four panels, else a wrapped grid about 1.6 times wider than tall.
        dpi: resolution of the PNG.

    Values are shown in km/s; the colorbar is labelled "velocity (km/s)".

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: no panels, a panel not 2-D or not of the grid's shape, ``vmin > vmax``,
            or a path not ending in ``.png``.
    """
    path = _png_path(path)
    fig = _models_figure(panels, grid, vmin=vmin, vmax=vmax, title=title, cmap=cmap, ncols=ncols)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------------------------
# 3-D velocity models: orthogonal slices
# --------------------------------------------------------------------------------------------
def _slice_indices(slices: Any, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """``(iy, ix, iz)`` of the inline, crossline and depth slices; default the middle cells."""
    nz, ny, nx = shape
    if slices is None:
        return ny // 2, nx // 2, nz // 2
    if isinstance(slices, Mapping):
        unknown = sorted(set(slices) - {"iy", "ix", "iz"})
        if unknown:
            raise ValueError(f"`slices` keys must be among iy, ix, iz, got {unknown}")
        picked = (slices.get("iy", ny // 2), slices.get("ix", nx // 2), slices.get("iz", nz // 2))
    else:
        try:
            picked = tuple(slices)
        except TypeError:
            raise ValueError(f"`slices` must be (iy, ix, iz) or a dict, got {slices!r}") from None
        if len(picked) != 3:
            raise ValueError(f"`slices` must be (iy, ix, iz), got {slices!r}")
    out = []
    for label, value, n in zip(("iy", "ix", "iz"), picked, (ny, nx, nz)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < n:
            raise ValueError(f"`slices` {label} must be an integer in [0, {n - 1}], got {value!r}")
        out.append(int(value))
    return out[0], out[1], out[2]


def _models3d_figure(models: Mapping[str, Any], grid3d: Any, *, slices: Any = None,
                     vmin: float | None = None, vmax: float | None = None,
                     title: str | None = None, cmap: str = "jet") -> Figure:
    """Figure of orthogonal slices of 3-D models on one colour scale; see :func:`plot_models3d`."""
    from .physics.geometry3d import Grid3D

    if not isinstance(grid3d, Grid3D):
        raise TypeError(f"`grid3d` must be a crfwi Grid3D, got {type(grid3d).__name__}")
    if not isinstance(models, Mapping) or len(models) == 0:
        raise ValueError("`models` must be a non-empty dict {label: volume [nz, ny, nx] in m/s}")
    volumes: dict[str, np.ndarray] = {}
    for label, value in models.items():
        name = f"models[{label!r}]"
        array = _array(name, value)
        if array.shape != grid3d.shape:
            raise ValueError(f"`{name}` must have the grid's shape [nz, ny, nx] = {grid3d.shape}, "
                             f"got shape {tuple(array.shape)}")
        volumes[str(label)] = array / 1000.0  # m/s -> km/s for display
    iy, ix, iz = _slice_indices(slices, grid3d.shape)

    lo, hi = _colour_limits(next(iter(volumes.values())), vmin, vmax, "the first model")

    dz, dy, dx = grid3d.spacing
    nz, ny, nx = grid3d.shape
    z0, z1 = -dz / 2, (nz - 0.5) * dz  # cell-centred extents, metres
    y0, y1 = -dy / 2, (ny - 0.5) * dy
    x0, x1 = -dx / 2, (nx - 0.5) * dx
    # (slice of the volume, extent, x label, y label, title, where the other slices cut it)
    views = (
        (lambda v: v[:, iy, :], (x0, x1, z1, z0), "x (m)", "depth (m)",
         f"inline y = {iy * dy:g} m", ((ix * dx, "v"), (iz * dz, "h"))),
        (lambda v: v[:, :, ix], (y0, y1, z1, z0), "y (m)", "depth (m)",
         f"crossline x = {ix * dx:g} m", ((iy * dy, "v"), (iz * dz, "h"))),
        (lambda v: v[iz], (x0, x1, y1, y0), "x (m)", "y (m)",
         f"depth z = {iz * dz:g} m", ((ix * dx, "v"), (iy * dy, "h"))),
    )
    widths = (x1 - x0, y1 - y0, x1 - x0)
    heights = (z1 - z0, z1 - z0, y1 - y0)
    panel_h = 2.6
    panel_ws = [panel_h * min(max(w / h, 0.5), 4.0) for w, h in zip(widths, heights)]
    n = len(volumes)
    fig = _new_figure(sum(panel_ws) + 1.4, (panel_h + 0.6) * n + (0.4 if title else 0.0))
    axes = fig.subplots(n, 3, squeeze=False, gridspec_kw={"width_ratios": panel_ws})
    image = None
    for row, (label, volume) in enumerate(volumes.items()):
        for col, (cut, extent, xlabel, ylabel, where, lines) in enumerate(views):
            ax = axes[row, col]
            image = ax.imshow(cut(volume), cmap=cmap, vmin=lo, vmax=hi, extent=extent,
                              origin="upper", aspect="equal", interpolation="nearest")
            for position, orientation in lines:
                draw = ax.axvline if orientation == "v" else ax.axhline
                draw(position, color="white", lw=0.6, ls="--", alpha=0.7)
            ax.set_title(f"{label}: {where}", fontsize=9)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
    colorbar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9)
    colorbar.set_label("velocity (km/s)")
    if title:  # wrapped: a run's note (a stand-in's) is longer than the three panels are wide
        fig.suptitle(textwrap.fill(title, 120), fontsize=10)
    return fig


def plot_models3d(models: Mapping[str, Any], grid3d: Any, path: str | os.PathLike, *,
                  slices: Any = None, vmin: float | None = None, vmax: float | None = None,
                  title: str | None = None, cmap: str = "jet", dpi: int = _DPI) -> Path:
    """Orthogonal slices of 3-D velocity models on ONE colour scale; writes a PNG.

    One row per model (by convention true, initial, inverted), three panels per row: the inline
    section ``[:, iy, :]`` (x across, depth down), the crossline section ``[:, :, ix]`` (y across,
    depth down) and the depth slice ``[iz]`` (x across, y down); dashed lines mark where the other
    two slices cut each panel. Axes are in metres, cells centred on ``(i dz, j dy, k dx)``; values
    in km/s ("velocity (km/s)" colorbar).

    Args:
        models: ``{label: volume}``, each ``[nz, ny, nx]`` in m/s (numpy or torch), in row order.
        grid3d: the volumes' :class:`~crfwi.physics.geometry3d.Grid3D`.
        path: output ``.png``; its parent folder is created.
        slices: ``(iy, ix, iz)`` cell indices, or a dict with any of ``iy``, ``ix``, ``iz``;
            default the middle cell of each axis (``n // 2``).
        vmin, vmax: colour limits in m/s; default the min / max of the first volume.
        title, cmap, dpi: as :func:`plot_models`.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: no models, a volume not of the grid's shape, a slice index outside the grid,
            ``vmin > vmax``, or a path not ending in ``.png``.
    """
    target = _png_path(path)
    fig = _models3d_figure(models, grid3d, slices=slices, vmin=vmin, vmax=vmax, title=title,
                           cmap=cmap)
    return _save(fig, target, dpi)


# --------------------------------------------------------------------------------------------
# Convergence
# --------------------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None for missing / empty / nan / non-numeric entries."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _series(history: Sequence[Mapping[str, Any]], key: str,
            positive: bool) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for row in history:
        it, value = _number(row["iteration"]), _number(row.get(key))
        if it is None or value is None or (positive and value <= 0):
            continue
        xs.append(it)
        ys.append(value)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def _convergence_figure(history: Sequence[Mapping[str, Any]], *, keys: Sequence[str] = ("loss",),
                        log_y_for: Sequence[str] = ("loss",), title: str | None = None) -> Figure:
    """Figure with one subplot per key against iteration; see :func:`plot_convergence`."""
    if isinstance(history, Mapping) or not isinstance(history, Sequence) or len(history) == 0:
        raise ValueError("`history` must be a non-empty list of dicts with an 'iteration' key")
    for i, row in enumerate(history):
        if not isinstance(row, Mapping):
            raise ValueError(f"`history[{i}]` must be a dict, got {type(row).__name__}")
        if "iteration" not in row:
            raise ValueError(f"`history[{i}]` has no 'iteration' key; keys: {sorted(row)}")
    if isinstance(keys, str):
        keys = (keys,)
    keys = list(keys)
    if not keys:
        raise ValueError("`keys` must name at least one column of `history`")
    available = sorted({k for row in history for k in row} - {"iteration"})
    missing = [k for k in keys if k not in available]
    if missing:
        raise ValueError(f"`keys` {missing} appear in no row of `history`; available: {available}")
    log_keys = {log_y_for} if isinstance(log_y_for, str) else set(log_y_for)

    fig = _new_figure(6.0, 2.4 * len(keys) + (0.4 if title else 0.0))
    axes = fig.subplots(len(keys), 1, squeeze=False, sharex=True)[:, 0]
    for ax, key in zip(axes, keys):
        log = key in log_keys
        x, y = _series(history, key, positive=log)
        ax.plot(x, y, marker="." if x.size < 50 else None, lw=1.2)
        if log:
            ax.set_yscale("log")
        if x.size == 0:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel(key)
        ax.grid(True, which="major", alpha=0.3)
    axes[-1].set_xlabel("iteration")
    if title:
        fig.suptitle(title)
    return fig


def plot_convergence(history: Sequence[Mapping[str, Any]], path: str | os.PathLike, *,
                     keys: Sequence[str] = ("loss",), log_y_for: Sequence[str] = ("loss",),
                     title: str | None = None, dpi: int = _DPI) -> Path:
    """Curves of ``keys`` against iteration, one subplot per key; writes a PNG.

    Args:
        history: rows as dicts with ``"iteration"`` and numeric columns (e.g. read back from
            ``history.csv``, so strings such as ``"0.25"`` are accepted). Points whose value is
            missing, ``None``, ``""``, nan or non-numeric are skipped; so are values <= 0 on a
            log axis.
        path: output ``.png``; its parent folder is created.
        keys: columns to plot, one subplot each, in order.
        log_y_for: columns drawn on a logarithmic y axis (default the loss).
        title: optional figure title.
        dpi: resolution of the PNG.

    Raises:
        ValueError: empty history, a row without ``"iteration"``, or a key that appears in no row
            (the message lists the available ones).
    """
    path = _png_path(path)
    fig = _convergence_figure(history, keys=keys, log_y_for=log_y_for, title=title)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------------------------
# Shot gathers
# --------------------------------------------------------------------------------------------
def _shot_figure(observed: Any, predicted: Any, *, dt: float, receiver_x: Any = None,
                 title: str | None = None, percentile: float = 99.0,
                 cmap: str = "gray") -> Figure:
    """Figure of observed / predicted / residual gathers; see :func:`plot_shot`."""
    obs = _array_2d("observed", observed, "[receiver, time]")
    pred = _array_2d("predicted", predicted, "[receiver, time]")
    if obs.shape != pred.shape:
        raise ValueError(f"`observed` and `predicted` must have the same shape [receiver, time], "
                         f"got {obs.shape} and {pred.shape}")
    for name, array in (("observed", obs), ("predicted", pred)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"`{name}` must hold finite values (shape {array.shape})")
    dt = _positive_finite("dt", dt)
    if not 0 < float(percentile) <= 100:
        raise ValueError(f"`percentile` must be in (0, 100], got {percentile!r}")
    n_rec, nt = obs.shape

    if receiver_x is None:
        x_lo, x_hi, xlabel = -0.5, n_rec - 0.5, "receiver index"
    else:
        rx = _array("receiver_x", receiver_x).ravel() / 1000.0
        if rx.size != n_rec:
            raise ValueError(f"`receiver_x` must hold one position (m) per receiver, "
                             f"{n_rec}, got {rx.size}")
        if not np.all(np.isfinite(rx)):
            raise ValueError("`receiver_x` must hold finite positions in metres")
        half = 0.5 * (abs(rx[-1] - rx[0]) / (n_rec - 1) if n_rec > 1 else 0.01)
        x_lo, x_hi = (rx[0] - half, rx[-1] + half) if rx[-1] >= rx[0] else (rx[0] + half,
                                                                           rx[-1] - half)
        xlabel = "receiver x (km)"

    residual = obs - pred
    # One symmetric clip for all three panels so amplitudes compare directly.
    clip = float(np.percentile(np.abs(obs), percentile))
    if clip == 0.0:
        clip = float(np.max(np.abs(pred))) or 1.0

    extent = (x_lo, x_hi, (nt - 0.5) * dt, -0.5 * dt)
    fig = _new_figure(12.0, 5.0 + (0.4 if title else 0.0))
    axes = fig.subplots(1, 3, sharey=True)
    image = None
    for ax, data, label in zip(axes, (obs, pred, residual),
                               ("observed", "predicted", "residual (observed - predicted)")):
        image = ax.imshow(data.T, cmap=cmap, vmin=-clip, vmax=clip, extent=extent,
                          origin="upper", aspect="auto", interpolation="nearest")
        ax.set_title(label)
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("time (s)")
    fig.colorbar(image, ax=list(axes), shrink=0.9, label="amplitude")
    if title:
        fig.suptitle(title)
    return fig


def plot_shot(observed: Any, predicted: Any, path: str | os.PathLike, *, dt: float,
              receiver_x: Any = None, title: str | None = None, percentile: float = 99.0,
              cmap: str = "gray", dpi: int = _DPI) -> Path:
    """Observed, predicted and residual (observed - predicted) gathers of one shot; writes a PNG.

    Args:
        observed: recorded data of one shot, ``[receiver, time]`` (numpy or torch).
        predicted: simulated data of the same shot, same shape.
        path: output ``.png``; its parent folder is created.
        dt: sample interval in seconds (vertical axis is time in s, increasing downward).
        receiver_x: receiver positions in metres, ``[receiver]``; the horizontal axis is then in
            km, otherwise the receiver index.
        title: optional figure title.
        percentile: all three panels share the symmetric colour clip
            ``+-percentile(|observed|, percentile)`` (default the 99th), so the residual is seen on
            the data's own scale.
        cmap: colormap (default ``"gray"``; ``"seismic"`` also suits).
        dpi: resolution of the PNG.

    Raises:
        ValueError: arrays not 2-D, shapes differ, non-finite data, ``dt`` not positive, or
            ``receiver_x`` of the wrong length.
    """
    path = _png_path(path)
    fig = _shot_figure(observed, predicted, dt=dt, receiver_x=receiver_x, title=title,
                       percentile=percentile, cmap=cmap)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------------------------
# Spectra
# --------------------------------------------------------------------------------------------
def _spectra_figure(curves: Mapping[str, Any], *, normalise: bool = True,
                    title: str | None = None) -> Figure:
    """Figure of eigenvalue decay curves on log-log axes; see :func:`plot_spectra`."""
    if not isinstance(curves, Mapping) or len(curves) == 0:
        raise ValueError("`curves` must be a non-empty dict {label: eigenvalues [n]}")
    fig = _new_figure(6.0, 4.5)
    ax = fig.subplots()
    for label, value in curves.items():
        name = f"curves[{label!r}]"
        values = _array(name, value)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"`{name}` must be a non-empty 1-D array of eigenvalues, "
                             f"got shape {tuple(values.shape)}")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"`{name}` must hold finite eigenvalues")
        values = np.sort(values)[::-1]  # decay curve: largest first, whatever order came in
        if values[0] <= 0:
            raise ValueError(f"`{name}` has no positive eigenvalue to plot on a log axis")
        if normalise:
            values = values / values[0]
        index = np.arange(1, values.size + 1)
        keep = values > 0  # round-off can leave tiny negative eigenvalues; a log axis drops them
        ax.plot(index[keep], values[keep], label=str(label), lw=1.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue index")
    ax.set_ylabel("eigenvalue / largest" if normalise else "eigenvalue")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def plot_spectra(curves: Mapping[str, Any], path: str | os.PathLike, *, normalise: bool = True,
                 title: str | None = None, dpi: int = _DPI) -> Path:
    """Eigenvalue decay curves (index vs eigenvalue, log-log), e.g. NTK spectra; writes a PNG.

    Args:
        curves: ``{label: eigenvalues}``, each 1-D (numpy or torch), any order: they are sorted
            in decreasing order and plotted against index 1, 2, ...
        path: output ``.png``; its parent folder is created.
        normalise: divide each curve by its largest eigenvalue so decay rates compare directly.
        title: optional title.
        dpi: resolution of the PNG.

    Non-positive eigenvalues (round-off) are left out of the log plot.

    Raises:
        ValueError: no curves, a curve not 1-D, empty, non-finite, or without a positive value.
    """
    path = _png_path(path)
    fig = _spectra_figure(curves, normalise=normalise, title=title)
    return _save(fig, path, dpi)
