"""Quality metrics of a velocity model against the true one, reported in km/s.

Inputs are velocity models in **m/s**, numpy arrays or torch tensors of shape ``[nz, nx]``
(depth first), or 3-D volumes ``[nz, ny, nx]`` (issue 15; the true model's rank decides which). Every metric converts both models to km/s (divides by 1000) before computing,
so the numbers have the scale of the paper's tables (METHODS.md section 4.3).

Two SSIM conventions are reported, because the paper does not state its settings
(METHODS.md section 4.1 shows they differ by up to 0.3 on the same pair of models):

* :func:`ssim` (primary): the ADFWI convention used by the paper's baselines -- raw km/s values,
  ``data_range`` = joint max - min of both models, uniform 3x3 window, sample covariance.
* :func:`ssim_gaussian` (secondary, standard): both models min-max normalised by the *true*
  model's range, ``data_range=1``, Gaussian window sigma 1.5, population covariance
  (Wang et al. 2004).

:data:`DEFINITIONS` states each convention in one line; write it next to the numbers.

**3-D** (``[nz, ny, nx]``): every metric is computed the same way over all cells of the volume;
both SSIMs use skimage's n-D ``structural_similarity`` with the same settings, so the ADFWI window
is a uniform 3x3x3 cube (sample covariance over its 27 cells) and the Gaussian one is sigma 1.5 on
each of the three axes. :func:`evaluate` adds ``nmse`` (Table 6's "normalised MSE", which the
paper does not define; see :func:`nmse`), and :data:`DEFINITIONS_3D` states the 3-D conventions
(:func:`definitions` picks the dict for a model's rank). ``nmse`` is available in 2-D as a
function; 2-D :func:`evaluate` keeps its seven keys.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from skimage.metrics import structural_similarity

__all__ = [
    "DEFINITIONS",
    "DEFINITIONS_3D",
    "definitions",
    "evaluate",
    "mae",
    "mse",
    "nmse",
    "psnr",
    "rel_error",
    "rmse",
    "ssim",
    "ssim_gaussian",
]

#: One line per key of :func:`evaluate`, stating exactly how the number was computed.
DEFINITIONS: dict[str, str] = {
    "ssim": ("skimage.metrics.structural_similarity(true_kms, model_kms, data_range=max(both)-min(both), "
             "win_size=3) on raw km/s values: uniform 3x3 window, sample covariance, K1=0.01, K2=0.03 "
             "(ADFWI convention); full image, mask ignored"),
    "ssim_gaussian": ("structural_similarity of (m - min(m_true)) / ptp(m_true) for both models, "
                      "data_range=1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False "
                      "(Wang et al. 2004); full image, mask ignored; nan if m_true is constant"),
    "mse": "mean((m - m_true)^2) in (km/s)^2 over the masked cells (all cells without a mask)",
    "mae": "mean(|m - m_true|) in km/s over the masked cells (all cells without a mask)",
    "rmse": "sqrt(mse) in km/s over the masked cells (all cells without a mask)",
    "psnr": ("10 log10(ptp(m_true)^2 / mse) in dB, ptp = max - min of m_true in km/s over the masked "
             "cells (all cells without a mask); inf if mse == 0, nan if m_true is constant"),
    "rel_error": ("||m - m_true||_2 / ||m_true||_2 (dimensionless) over the masked cells "
                  "(all cells without a mask); SNR_dB = -20 log10(rel_error)"),
}

#: The 3-D counterpart of :data:`DEFINITIONS`: the keys of :func:`evaluate` on ``[nz, ny, nx]``.
DEFINITIONS_3D: dict[str, str] = {
    **{key: text.replace("3x3 window", "3x3x3 window").replace("full image", "full volume")
       for key, text in DEFINITIONS.items()},
    "ssim_gaussian": DEFINITIONS["ssim_gaussian"].replace("sigma=1.5", "sigma=1.5 on each of z, y, x")
    .replace("full image", "full volume"),
    "nmse": ("||m - m_true||_2^2 / ||m_true - mean(m_true)||_2^2 (dimensionless) over the masked "
             "cells (all cells without a mask): the MSE over the true model's variance, so 0 is "
             "perfect and 1 is the constant mean model; nan if m_true is constant"),
}

# SSIM's smallest window: the ADFWI convention uses 3x3 and nothing smaller is meaningful.
_MIN_SSIM_SIDE = 3
# skimage's Gaussian window (sigma 1.5, truncate 3.5) is 11 taps wide; its border crop uses it too.
_GAUSSIAN_WIN = 11


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def _to_numpy(name: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception as err:  # pragma: no cover - exotic inputs
        raise TypeError(f"`{name}` must be an array [nz, nx], got {type(value).__name__}") from err
    return array


_LAYOUT = {2: "[nz, nx]", 3: "[nz, ny, nx]"}


def _as_ms(name: str, value: Any, ndim: int = 2) -> np.ndarray:
    """A validated ``ndim``-D float64 copy of ``value``, still in m/s."""
    array = _to_numpy(name, value)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"`{name}` must hold real velocities in m/s, got dtype {array.dtype}")
    if array.ndim != ndim:
        also = "; 3-D volumes [nz, ny, nx] are accepted too" if ndim == 2 and array.ndim != 3 else ""
        raise ValueError(f"`{name}` must be {ndim}-D {_LAYOUT[ndim]}, got shape "
                         f"{tuple(array.shape)}{also}")
    if array.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(array.shape)}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(f"`{name}` must hold finite values, got {bad} non-finite of "
                         f"{array.size} (shape {tuple(array.shape)})")
    return array


def _pair_ms(model: Any, true: Any) -> tuple[np.ndarray, np.ndarray]:
    # The true model's rank decides 2-D or 3-D; the model is still checked (and named) first.
    rank = true.ndim if hasattr(true, "ndim") else np.ndim(true)  # numpy, torch, nested lists
    ndim = 3 if rank == 3 else 2
    m = _as_ms("model", model, ndim)
    t = _as_ms("true", true, ndim)
    if m.shape != t.shape:
        raise ValueError(f"`model` and `true` must have the same shape {_LAYOUT[ndim]}, "
                         f"got {m.shape} and {t.shape}")
    return m, t


def _pair(model: Any, true: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both models validated and converted to km/s (the unit every metric reports in)."""
    m, t = _pair_ms(model, true)
    return m / 1000.0, t / 1000.0


def _mask(mask: Any, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    array = _to_numpy("mask", mask)
    if array.dtype != bool:
        raise TypeError(f"`mask` must be a boolean array (True = include), got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"`mask` must have the models' shape {shape}, got shape {tuple(array.shape)}")
    if not array.any():
        raise ValueError("`mask` selects no cells; at least one entry must be True")
    return array


def _masked_pair(model: Any, true: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both models in km/s, flattened to the masked cells (all cells without a mask)."""
    m, t = _pair(model, true)
    keep = _mask(mask, m.shape)
    if keep is None:
        return m.ravel(), t.ravel()
    return m[keep], t[keep]


def _check_ssim_size(shape: tuple[int, ...]) -> None:
    if min(shape) < _MIN_SSIM_SIDE:
        side = "x".join([str(_MIN_SSIM_SIDE)] * len(shape))
        raise ValueError(f"SSIM needs models of at least {side} cells "
                         f"(its smallest window), got shape {shape}")


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------
def ssim(model: Any, true: Any) -> float:
    """SSIM, ADFWI convention (primary; comparable with the paper's baselines).

    ``structural_similarity(true_kms, model_kms, data_range=max(both) - min(both), win_size=3)``:
    raw velocities in km/s, a uniform 3x3 window and skimage's default sample covariance
    (normalised by N - 1 = 8). Always computed on the full image.

    Args:
        model: estimated velocity, ``[nz, nx]`` in m/s (numpy or torch).
        true: true velocity, ``[nz, nx]`` in m/s.

    Returns:
        SSIM in ``[-1, 1]``; 1.0 for identical models (also when both are the same constant,
        where the joint range is zero and skimage would return nan).

    Raises:
        ValueError: shapes differ, are not 2-D, are smaller than 3x3, or values are not finite.
    """
    m, t = _pair(model, true)
    _check_ssim_size(m.shape)
    data_range = float(max(m.max(), t.max()) - min(m.min(), t.min()))
    if data_range == 0.0:  # both models are the same constant
        return 1.0
    return float(structural_similarity(t, m, data_range=data_range, win_size=3))


def ssim_gaussian(model: Any, true: Any) -> float:
    """SSIM, standard convention (Wang et al. 2004; secondary).

    Both models are min-max normalised by the **true** model's range,
    ``(m - min(m_true)) / ptp(m_true)``, then compared with ``data_range=1``,
    ``gaussian_weights=True``, ``sigma=1.5``, ``use_sample_covariance=False``.
    Always computed on the full image.

    skimage crops a border of half the 11-tap Gaussian window before averaging, which needs an
    11x11 image. For smaller models (>= 3x3) the crop uses the largest odd window that fits; the
    Gaussian weights themselves are unchanged.

    Args:
        model: estimated velocity, ``[nz, nx]`` in m/s (numpy or torch).
        true: true velocity, ``[nz, nx]`` in m/s.

    Returns:
        SSIM in ``[-1, 1]``; ``nan`` if the true model is constant (no range to normalise by).
    """
    m, t = _pair(model, true)
    _check_ssim_size(m.shape)
    lo, span = float(t.min()), float(np.ptp(t))
    if span == 0.0:
        return math.nan
    side = min(m.shape)
    win_size = min(_GAUSSIAN_WIN, side if side % 2 == 1 else side - 1)
    return float(structural_similarity((t - lo) / span, (m - lo) / span, data_range=1.0,
                                       gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, win_size=win_size))


def mse(model: Any, true: Any, *, mask: Any = None) -> float:
    """Mean squared error ``mean((m - m_true)^2)`` in (km/s)^2.

    Args:
        model: estimated velocity, ``[nz, nx]`` in m/s.
        true: true velocity, ``[nz, nx]`` in m/s.
        mask: optional boolean ``[nz, nx]``, True = include the cell (e.g. below the water layer);
            default all cells.
    """
    m, t = _masked_pair(model, true, mask)
    return float(np.mean((m - t) ** 2))


def mae(model: Any, true: Any, *, mask: Any = None) -> float:
    """Mean absolute error ``mean(|m - m_true|)`` in km/s. Arguments as :func:`mse`."""
    m, t = _masked_pair(model, true, mask)
    return float(np.mean(np.abs(m - t)))


def rmse(model: Any, true: Any, *, mask: Any = None) -> float:
    """Root mean squared error ``sqrt(mse)`` in km/s. Arguments as :func:`mse`."""
    return math.sqrt(mse(model, true, mask=mask))


def psnr(model: Any, true: Any, *, mask: Any = None) -> float:
    """Peak signal-to-noise ratio ``10 log10(R^2 / MSE)`` in dB, ``R = max(m_true) - min(m_true)``.

    ``R`` (km/s) and MSE ((km/s)^2) are taken over the masked cells. ``R`` is the true model's
    peak-to-peak range, not its maximum (which would add about 3 dB, METHODS.md section 4.3).

    Returns:
        PSNR in dB; ``inf`` when MSE is 0; ``nan`` when the true model is constant and MSE > 0.
    """
    m, t = _masked_pair(model, true, mask)
    error = float(np.mean((m - t) ** 2))
    if error == 0.0:
        return math.inf
    peak = float(np.ptp(t))
    if peak == 0.0:
        return math.nan
    return 10.0 * math.log10(peak ** 2 / error)


def rel_error(model: Any, true: Any, *, mask: Any = None) -> float:
    """Relative model error ``||m - m_true||_2 / ||m_true||_2`` (dimensionless) over the masked cells.

    Equivalently ``SNR_dB = -20 log10(rel_error)``. Returns ``nan`` if ``||m_true||`` is 0.
    """
    m, t = _masked_pair(model, true, mask)
    norm = float(np.linalg.norm(t))
    if norm == 0.0:
        return math.nan
    return float(np.linalg.norm(m - t)) / norm


def nmse(model: Any, true: Any, *, mask: Any = None) -> float:
    """Normalised MSE ``||m - m_true||^2 / ||m_true - mean(m_true)||^2`` over the masked cells.

    Table 6 (3-D Overthrust) reports a "normalized MSE" without defining it. This reading divides
    the squared error by the true model's squared deviation from its own mean (its variance times
    the cell count), i.e. ``mse / var(m_true)``, ``1 - R^2``: it is dimensionless, unchanged by the
    unit (m/s or km/s) and by a constant added to both models, 0 for a perfect model and exactly 1
    for the constant model at the true mean (the paper's "constant" start, see
    :data:`crfwi.models.zoo.CONSTANT_READINGS`). Dividing by ``||m_true||^2`` instead would be
    ``rel_error ** 2``, already reported, and tiny for any sensible model: the 2-D Overthrust
    slice smoothed by 250 m scores 0.005, so Table 6's 0.10-0.15 after 500 smooth-start
    iterations would mean the inversions made the model 20-30 times worse. With this reading the
    same smooth start scores 0.088 (Overthrust's variance is 1.29 (km/s)^2), and Table 6's values
    correspond to an MSE of 0.13-0.19 (km/s)^2, near the 2-D Overthrust finals of Table 1
    (0.06-0.12): the consistent reading, though still ours.

    Works on 2-D and 3-D models (arguments as :func:`mse`). Returns ``nan`` if the true model is
    constant over the masked cells (no variance to normalise by).
    """
    m, t = _masked_pair(model, true, mask)
    spread = float(np.sum((t - t.mean()) ** 2))
    if spread == 0.0:
        return math.nan
    return float(np.sum((m - t) ** 2)) / spread


def definitions(ndim: int = 2) -> dict[str, str]:
    """The definitions of :func:`evaluate`'s keys for ``ndim``-D models: :data:`DEFINITIONS` (2)
    or :data:`DEFINITIONS_3D` (3)."""
    if ndim not in (2, 3):
        raise ValueError(f"`ndim` must be 2 or 3, got {ndim!r}")
    return DEFINITIONS if ndim == 2 else DEFINITIONS_3D


def evaluate(model: Any, true: Any, *, mask: Any = None) -> dict[str, float]:
    """All metrics of ``model`` against ``true``, as plain floats (see :data:`DEFINITIONS`).

    Args:
        model: estimated velocity, ``[nz, nx]`` (or ``[nz, ny, nx]``) in m/s (numpy or torch).
        true: true velocity, the same shape, in m/s; its rank selects 2-D or 3-D.
        mask: optional boolean of the models' shape, True = include the cell. It restricts
            ``mse``, ``mae``, ``rmse``, ``psnr``, ``rel_error`` (and ``nmse``); both SSIMs are
            always computed on the full image (a windowed statistic has no meaning on a ragged
            cell set).

    Returns:
        ``{"ssim", "ssim_gaussian", "mse", "mae", "rmse", "psnr", "rel_error"}`` -- SSIMs
        dimensionless, mse in (km/s)^2, mae and rmse in km/s, psnr in dB; for 3-D volumes also
        ``"nmse"`` (dimensionless, :func:`nmse`), and the SSIMs use 3-D windows (see
        :data:`DEFINITIONS_3D`).

    Raises:
        ValueError: shapes differ or are not 2-D, models smaller than 3x3 (SSIM), non-finite
            values, or a mask of the wrong shape or selecting nothing.
    """
    # Validate once up front so the error names the argument before any metric runs.
    m, t = _pair_ms(model, true)  # convert torch/lists once; the metrics take m/s
    keep = _mask(mask, m.shape)
    _check_ssim_size(m.shape)
    result = {
        "ssim": ssim(m, t),
        "ssim_gaussian": ssim_gaussian(m, t),
        "mse": mse(m, t, mask=keep),
        "mae": mae(m, t, mask=keep),
        "rmse": rmse(m, t, mask=keep),
        "psnr": psnr(m, t, mask=keep),
        "rel_error": rel_error(m, t, mask=keep),
    }
    if m.ndim == 3:
        result["nmse"] = nmse(m, t, mask=keep)
    return result
