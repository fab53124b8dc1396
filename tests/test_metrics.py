"""Tests for crfwi.analysis.metrics against hand-computed values (METHODS.md section 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from crfwi.analysis import metrics
from crfwi.analysis.metrics import (DEFINITIONS, evaluate, mae, mse, psnr, rel_error, rmse, ssim,
                           ssim_gaussian)

KEYS = {"ssim", "ssim_gaussian", "mse", "mae", "rmse", "psnr", "rel_error"}


def block_model() -> np.ndarray:
    """4x5 model in m/s: 2000 everywhere except a 2x2 block of 3000.

    In km/s: sum of squares = 16 * 2^2 + 4 * 3^2 = 100, so ||m_true||_2 = 10 km/s exactly.
    """
    true = np.full((4, 5), 2000.0)
    true[1:3, 1:3] = 3000.0
    return true


# ---------------------------------------------------------------------------------------------
# Pointwise metrics
# ---------------------------------------------------------------------------------------------
def test_constant_offset_by_hand():
    true = block_model()
    model = true + 100.0  # 0.1 km/s everywhere
    assert mse(model, true) == pytest.approx(0.01, rel=1e-12)        # 0.1^2 (km/s)^2
    assert mae(model, true) == pytest.approx(0.1, rel=1e-12)         # km/s
    assert rmse(model, true) == pytest.approx(0.1, rel=1e-12)
    # ||diff|| = 0.1 * sqrt(20 cells); ||true|| = 10 (see block_model)
    assert rel_error(model, true) == pytest.approx(0.1 * math.sqrt(20) / 10.0, rel=1e-12)
    # ptp(true) = 1 km/s, so PSNR = 10 log10(1 / 0.01) = 20 dB
    assert psnr(model, true) == pytest.approx(20.0, rel=1e-12)


def test_mixed_errors_by_hand():
    true = block_model()
    model = true.copy()
    model[0, 0] += 300.0   # +0.3 km/s
    model[3, 4] -= 400.0   # -0.4 km/s
    n = true.size
    assert mse(model, true) == pytest.approx((0.09 + 0.16) / n)
    assert mae(model, true) == pytest.approx(0.7 / n)
    assert rmse(model, true) == pytest.approx(math.sqrt(0.25 / n))
    assert rel_error(model, true) == pytest.approx(0.5 / 10.0)      # sqrt(0.09 + 0.16) / 10
    assert psnr(model, true) == pytest.approx(10 * math.log10(1.0 / (0.25 / n)))


def test_psnr_uses_range_not_max():
    true = block_model() + 1000.0  # range still 1 km/s, max 4 km/s
    model = true + 100.0
    assert psnr(model, true) == pytest.approx(20.0)  # max(true) would give 10 log10(16/0.01) ~ 32 dB


def test_identical_models():
    true = block_model()
    result = evaluate(true.copy(), true)
    assert result["ssim"] == 1.0
    assert result["ssim_gaussian"] == pytest.approx(1.0)
    assert result["mse"] == 0.0 and result["mae"] == 0.0 and result["rmse"] == 0.0
    assert result["rel_error"] == 0.0
    assert result["psnr"] == math.inf


def test_identical_constant_models_give_ssim_one_not_nan():
    flat = np.full((5, 5), 1500.0)
    assert ssim(flat, flat) == 1.0
    # ssim_gaussian normalises by the true range, which is zero: undefined
    assert math.isnan(ssim_gaussian(flat + 10.0, flat))
    assert math.isnan(psnr(flat + 10.0, flat))
    assert psnr(flat, flat) == math.inf


# ---------------------------------------------------------------------------------------------
# SSIM
# ---------------------------------------------------------------------------------------------
def test_ssim_3x3_by_hand():
    # km/s: true has a 3 in the middle of 2s, model a 2.5. With win_size=3 on a 3x3 image skimage
    # crops a 1-cell border, so the score is the formula over the whole image, centre window only.
    true = np.full((3, 3), 2000.0)
    true[1, 1] = 3000.0
    model = np.full((3, 3), 2000.0)
    model[1, 1] = 2500.0
    ux, uy = 19 / 9, 18.5 / 9                       # means (km/s)
    # sample (N - 1 = 8) variances and covariance, skimage's default for the uniform window
    vx = (8 * (1 / 9) ** 2 + (8 / 9) ** 2) / 8       # = 1/9
    vy = (8 * (0.5 / 9) ** 2 + (4 / 9) ** 2) / 8     # = 1/36
    vxy = (8 * (1 / 9) * (0.5 / 9) + (8 / 9) * (4 / 9)) / 8  # = 1/18
    L = 3.0 - 2.0                                    # joint max - min, km/s
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    expected = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    assert vx == pytest.approx(1 / 9) and vy == pytest.approx(1 / 36) and vxy == pytest.approx(1 / 18)
    assert ssim(model, true) == pytest.approx(expected, rel=1e-10)
    assert 0.79 < expected < 0.81  # sanity: luminance ~0.9996, structure ~0.801


def test_ssim_is_the_adfwi_call_and_scale_invariant():
    rng = np.random.default_rng(0)
    true = 1500.0 + 3000.0 * rng.random((12, 15))
    model = true + 200.0 * rng.standard_normal(true.shape)
    t_kms, m_kms = true / 1000, model / 1000
    joint = max(t_kms.max(), m_kms.max()) - min(t_kms.min(), m_kms.min())
    expected = structural_similarity(t_kms, m_kms, data_range=joint, win_size=3)
    assert ssim(model, true) == pytest.approx(expected, rel=1e-12)
    # the same call on m/s values with the m/s range gives the same number
    joint_ms = joint * 1000
    assert structural_similarity(true, model, data_range=joint_ms, win_size=3) == pytest.approx(
        expected, rel=1e-9)
    # scaling both inputs together leaves it unchanged
    assert ssim(model * 3.7, true * 3.7) == pytest.approx(expected, rel=1e-9)
    # but it is not shift-invariant (the luminance term uses the means)
    assert ssim(model + 5000.0, true + 5000.0) != pytest.approx(expected, rel=1e-6)


def test_ssim_gaussian_uses_the_true_models_range():
    rng = np.random.default_rng(1)
    true = 2000.0 + 1500.0 * rng.random((16, 20))
    lo, span = true.min() / 1000, np.ptp(true) / 1000
    model = true + 100.0 * rng.standard_normal(true.shape)
    expected = structural_similarity((true / 1000 - lo) / span, (model / 1000 - lo) / span,
                                     data_range=1.0, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    assert ssim_gaussian(model, true) == pytest.approx(expected, rel=1e-12)
    # A stretched copy of the truth is perfect if each model were normalised by its own range,
    # but not when normalised by the true range, as specified.
    stretched = 2.0 * true - 1000.0
    assert ssim_gaussian(true, true) == pytest.approx(1.0)
    assert ssim_gaussian(stretched, true) < 0.95
    # changing only the model's range changes the score
    assert ssim_gaussian(1.5 * true - 500.0, true) != pytest.approx(ssim_gaussian(stretched, true))


def test_ssim_gaussian_small_models_and_asymmetry_of_conventions():
    # Models smaller than the 11-tap window still work (crop uses the largest odd window).
    true = block_model()
    value = ssim_gaussian(true + 100.0, true)
    assert -1.0 <= value <= 1.0 and value < 1.0
    # the two conventions really differ
    assert ssim(true + 100.0, true) != pytest.approx(value)


def test_ssim_rejects_models_smaller_than_3x3():
    tiny = np.full((2, 5), 2000.0)
    with pytest.raises(ValueError, match=r"at least 3x3.*\(2, 5\)"):
        ssim(tiny, tiny)
    with pytest.raises(ValueError, match="at least 3x3"):
        ssim_gaussian(tiny, tiny)
    with pytest.raises(ValueError, match="at least 3x3"):
        evaluate(tiny, tiny)
    # the pointwise metrics are fine on tiny models
    assert mse(tiny + 100.0, tiny) == pytest.approx(0.01)
    assert mae(np.array([[2100.0]]), np.array([[2000.0]])) == pytest.approx(0.1)


# ---------------------------------------------------------------------------------------------
# evaluate, mask, DEFINITIONS
# ---------------------------------------------------------------------------------------------
def test_evaluate_keys_and_consistency_with_functions():
    rng = np.random.default_rng(2)
    true = 1500.0 + 3000.0 * rng.random((10, 12))
    model = true + 150.0 * rng.standard_normal(true.shape)
    result = evaluate(model, true)
    assert set(result) == KEYS
    assert all(type(v) is float for v in result.values())
    assert result["ssim"] == ssim(model, true)
    assert result["ssim_gaussian"] == ssim_gaussian(model, true)
    assert result["mse"] == mse(model, true)
    assert result["mae"] == mae(model, true)
    assert result["rmse"] == pytest.approx(math.sqrt(result["mse"]))
    assert result["psnr"] == psnr(model, true)
    assert result["rel_error"] == rel_error(model, true)


def test_definitions_cover_every_key():
    assert set(DEFINITIONS) == KEYS
    assert all(isinstance(v, str) and v and "\n" not in v for v in DEFINITIONS.values())
    assert "win_size=3" in DEFINITIONS["ssim"]
    assert "sigma=1.5" in DEFINITIONS["ssim_gaussian"]
    assert set(metrics.__all__) >= {"evaluate", "DEFINITIONS", "ssim", "ssim_gaussian", "mse",
                                    "mae", "psnr", "rel_error"}


def test_torch_inputs_match_numpy():
    true = block_model()
    model = true + 100.0
    a = evaluate(model, true)
    b = evaluate(torch.tensor(model, dtype=torch.float32, requires_grad=True),
                 torch.tensor(true, dtype=torch.float64))
    assert set(a) == set(b)
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-5)


def test_mask_restricts_pointwise_metrics_only():
    true = block_model()              # rows 1-2 hold the 3000 block
    model = true + 100.0
    model[0] += 400.0                 # "water layer" row: 0.5 km/s error
    mask = np.ones(true.shape, dtype=bool)
    mask[0] = False
    full, below = evaluate(model, true), evaluate(model, true, mask=mask)
    assert below["mse"] == pytest.approx(0.01) and below["mae"] == pytest.approx(0.1)
    assert below["rmse"] == pytest.approx(0.1)
    # below row 0: 15 cells, sum of squares of true = 11 * 4 + 4 * 9 = 80
    assert below["rel_error"] == pytest.approx(0.1 * math.sqrt(15) / math.sqrt(80))
    assert below["psnr"] == pytest.approx(20.0)  # masked true range is still 1 km/s
    assert full["mse"] == pytest.approx((5 * 0.25 + 15 * 0.01) / 20)
    # SSIM ignores the mask
    assert below["ssim"] == full["ssim"] and below["ssim_gaussian"] == full["ssim_gaussian"]
    # torch bool masks work too
    assert mse(model, true, mask=torch.from_numpy(mask)) == pytest.approx(0.01)


def test_mask_range_for_psnr_is_the_masked_truth():
    true = block_model()
    model = true + 100.0
    mask = np.zeros(true.shape, dtype=bool)
    mask[1:3, 0:2] = True             # two 2000 and two 3000 cells: range still 1 km/s
    assert psnr(model, true, mask=mask) == pytest.approx(20.0)
    mask = np.zeros(true.shape, dtype=bool)
    mask[0] = True                    # all 2000: constant truth, undefined PSNR
    assert math.isnan(psnr(model, true, mask=mask))


@pytest.mark.parametrize("bad, exc, pattern", [
    (np.ones((4, 5), dtype=int), TypeError, "boolean"),
    (np.ones((5, 4), dtype=bool), ValueError, r"shape \(4, 5\), got shape \(5, 4\)"),
    (np.zeros((4, 5), dtype=bool), ValueError, "selects no cells"),
])
def test_bad_masks(bad, exc, pattern):
    true = block_model()
    with pytest.raises(exc, match=pattern):
        mse(true, true, mask=bad)
    with pytest.raises(exc, match=pattern):
        evaluate(true, true, mask=bad)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def test_shape_errors_name_the_argument():
    true = block_model()
    with pytest.raises(ValueError, match=r"`model` must be 2-D \[nz, nx\], got shape \(3, 4, 5\)"):
        evaluate(np.ones((3, 4, 5)), true)
    with pytest.raises(ValueError, match=r"`true` must be 2-D \[nz, nx\], got shape \(20,\)"):
        mse(true, true.ravel())
    with pytest.raises(ValueError, match=r"same shape.*\(4, 5\) and \(5, 4\)"):
        mse(true, true.T)
    with pytest.raises(ValueError, match="`model` must not be empty"):
        mae(np.ones((0, 3)), np.ones((0, 3)))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("func", [evaluate, ssim, ssim_gaussian, mse, mae, rmse, psnr, rel_error])
def test_non_finite_values_rejected(func, value):
    true = block_model()
    bad = true.copy()
    bad[2, 3] = value
    with pytest.raises(ValueError, match=r"`model` must hold finite values.*\(4, 5\)"):
        func(bad, true)
    with pytest.raises(ValueError, match="`true` must hold finite values"):
        func(true, bad)


def test_non_numeric_rejected():
    true = block_model()
    with pytest.raises(TypeError, match="`model`"):
        mse(true.astype(bool), true)
