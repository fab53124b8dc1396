"""Tests for crfwi.analysis.metrics on 3-D volumes [nz, ny, nx] and for nmse (issue 15)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from crfwi.analysis import metrics
from crfwi.analysis.metrics import DEFINITIONS, DEFINITIONS_3D, definitions, evaluate, nmse

KEYS3D = {"ssim", "ssim_gaussian", "mse", "mae", "rmse", "psnr", "rel_error", "nmse"}


def section_pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    true = np.full((14, 20), 2000.0)
    true[5:, :] = 3000.0
    true[9:12, 6:15] = 4200.0
    model = true + rng.normal(0.0, 150.0, true.shape)
    return model, true


def test_volume_constant_along_y_equals_the_section():
    model, true = section_pair()
    m3, t3 = (np.repeat(a[:, None, :], 12, axis=1) for a in (model, true))
    two, three = evaluate(model, true), evaluate(m3, t3)
    assert set(two) == set(DEFINITIONS) and set(three) == KEYS3D
    for key in ("mse", "mae", "rmse", "psnr", "rel_error"):
        assert three[key] == pytest.approx(two[key], rel=1e-12), key
    assert three["nmse"] == pytest.approx(nmse(model, true), rel=1e-12)
    # the 3-D windows see the same section repeated: SSIM close to, not equal to, the 2-D one
    assert three["ssim"] == pytest.approx(two["ssim"], abs=0.05)
    assert three["ssim_gaussian"] == pytest.approx(two["ssim_gaussian"], abs=0.05)


def test_known_values_on_simple_volumes():
    true = np.full((4, 5, 6), 2000.0)
    true[2:, :, :] = 3000.0  # half the cells 2, half 3 km/s: mean 2.5, variance 0.25 (km/s)^2
    model = true + 100.0
    result = evaluate(model, true)
    assert result["mse"] == pytest.approx(0.01, rel=1e-12)
    assert result["mae"] == pytest.approx(0.1, rel=1e-12)
    assert result["psnr"] == pytest.approx(20.0, rel=1e-12)  # ptp 1 km/s, mse 0.01
    assert result["rel_error"] == pytest.approx(0.1 / math.sqrt(6.5), rel=1e-12)  # mean(t^2) 6.5
    assert result["nmse"] == pytest.approx(0.01 / 0.25, rel=1e-12)
    # the constant mean model scores nmse 1 exactly; a perfect one 0 and SSIM 1
    assert nmse(np.full_like(true, true.mean()), true) == pytest.approx(1.0, rel=1e-12)
    same = evaluate(true.copy(), true)
    assert same["nmse"] == 0.0 and same["ssim"] == 1.0 and same["ssim_gaussian"] == pytest.approx(1.0)
    assert math.isnan(nmse(true, np.full_like(true, 2500.0)))
    # unit- and offset-free
    assert nmse(model + 500.0, true + 500.0) == pytest.approx(result["nmse"], rel=1e-12)


def test_ssim_3d_conventions_match_skimage():
    rng = np.random.default_rng(0)
    true = 2000.0 + 1000.0 * rng.random((8, 9, 12))
    model = true + rng.normal(0.0, 200.0, true.shape)
    t, m = true / 1e3, model / 1e3
    span = max(t.max(), m.max()) - min(t.min(), m.min())
    assert metrics.ssim(model, true) == pytest.approx(
        structural_similarity(t, m, data_range=span, win_size=3), rel=1e-12)
    lo, ptp = t.min(), np.ptp(t)
    assert metrics.ssim_gaussian(model, true) == pytest.approx(structural_similarity(
        (t - lo) / ptp, (m - lo) / ptp, data_range=1.0, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, win_size=7), rel=1e-12)  # the largest odd window in 8


def test_mask_torch_and_errors_in_3d():
    true = np.full((4, 5, 6), 2000.0)
    true[2:] = 3000.0
    model = true.copy()
    model[0] += 300.0
    mask = np.zeros(true.shape, dtype=bool)
    mask[1:] = True
    assert evaluate(model, true, mask=mask)["mse"] == 0.0
    assert evaluate(torch.tensor(model), torch.tensor(true)) == evaluate(model, true)
    with pytest.raises(ValueError, match=r"`model` must be 3-D \[nz, ny, nx\], got shape \(4, 5\)"):
        evaluate(model[:, :, 0], true)
    with pytest.raises(ValueError, match=r"same shape \[nz, ny, nx\]"):
        evaluate(model[:, :, :5], true)
    with pytest.raises(ValueError, match="at least 3x3x3"):
        evaluate(true[:, :2], true[:, :2])
    with pytest.raises(ValueError, match="mask"):
        evaluate(model, true, mask=mask[0])


def test_definitions():
    assert set(DEFINITIONS_3D) == KEYS3D and "nmse" not in DEFINITIONS
    assert "3x3x3" in DEFINITIONS_3D["ssim"] and "win_size=3" in DEFINITIONS_3D["ssim"]
    assert "mean(m_true)" in DEFINITIONS_3D["nmse"]
    assert definitions(2) is DEFINITIONS and definitions(3) is DEFINITIONS_3D
    assert all(isinstance(v, str) and v and "\n" not in v for v in DEFINITIONS_3D.values())
