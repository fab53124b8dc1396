"""Tests for crfwi.field.preprocess: resampling accuracy and anti-aliasing, record cut, band,
top mute, kills, normalisation, the differentiable paths and the Preprocessing bundle."""

from __future__ import annotations

import crfwi  # noqa: F401  first: sets OMP_WAIT_POLICY before torch loads (see crfwi/__init__.py)

import json

import numpy as np
import pytest
import torch

from crfwi.field.preprocess import (Preprocessing, band_limit, bottom_mute, bottom_mute_weights,
                                    cut_record, kill_traces, low_cut, normalise_traces,
                                    offset_window, resample, top_mute, top_mute_weights)
from crfwi.physics.signal import highpass, lowpass


def sine(freq: float, dt: float, nt: int, phase: float = 0.3) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(nt) * dt + phase)


def interior(x: np.ndarray) -> np.ndarray:
    """The middle 3/4 of the time axis: away from resampling's edge transients (~25 samples)."""
    n = x.shape[-1]
    return x[..., n // 8: 7 * n // 8]


# --- resample --------------------------------------------------------------------------------
@pytest.mark.parametrize("dt_in, dt_out", [(0.001, 0.002), (0.001, 0.004), (0.002, 0.001),
                                           (0.002, 0.0015)])
def test_resample_keeps_in_band_sinusoid(dt_in, dt_out):
    """Up to 0.8 × the lower Nyquist a sinusoid comes out within 2e-4 of its amplitude."""
    nyquist = 0.5 / max(dt_in, dt_out)
    for fraction in (0.3, 0.6, 0.8):
        f = fraction * nyquist
        out = resample(sine(f, dt_in, 2000), dt_in, dt_out)
        expected = sine(f, dt_out, out.shape[-1])
        assert np.abs(interior(out - expected)).max() < 2e-4, (f, dt_in, dt_out)


@pytest.mark.parametrize("dt_in, dt_out", [(0.001, 0.002), (0.001, 0.004)])
def test_resample_removes_above_nyquist_sinusoid(dt_in, dt_out):
    """Decimating, a sinusoid 2–30 % above the new Nyquist would alias; < 2e-4 of it is left."""
    nyquist = 0.5 / dt_out
    for fraction in (1.02, 1.1, 1.3):
        out = resample(sine(fraction * nyquist, dt_in, 2000), dt_in, dt_out)
        assert np.abs(interior(out)).max() < 2e-4, fraction


def test_resample_lengths_shapes_and_identity():
    data = np.random.default_rng(0).normal(size=(2, 3, 101))
    assert resample(data, 0.001, 0.002).shape == (2, 3, 51)  # same last time, 0.1 s
    assert resample(data, 0.002, 0.001).shape == (2, 3, 201)
    out = resample(data, 0.001, 0.002, nt_out=80)
    assert out.shape == (2, 3, 80) and np.all(out[..., 51:] == 0)
    np.testing.assert_array_equal(resample(data, 0.002, 0.002), data)


@pytest.mark.parametrize("kwargs, word", [
    (dict(dt_in=0.0, dt_out=0.002), "`dt_in`"), (dict(dt_in=0.001, dt_out=-1), "`dt_out`"),
    (dict(dt_in=0.001, dt_out=0.002, nt_out=0), "`nt_out`"),
    (dict(dt_in=0.001, dt_out=0.001 * (1 + 5 ** 0.5) / 2), "`dt_out`")])  # golden ratio: no
def test_resample_refuses(kwargs, word):                                  # small rational ratio
    with pytest.raises(ValueError, match=word):  # long: 987/610 drifts 0.01 dt_out in ~8000 samples
        resample(np.zeros((1, 50000)), **kwargs)


# --- record cut ------------------------------------------------------------------------------
def test_cut_record_cuts_and_pads_only_when_asked():
    data = np.arange(2 * 11, dtype=float).reshape(2, 11)  # 0 .. 0.10 s at 10 ms
    assert cut_record(data, 0.01, 0.05).shape == (2, 6)  # t = 0, ..., 0.05 inclusive
    np.testing.assert_array_equal(cut_record(data, 0.01, 0.10), data)
    with pytest.raises(ValueError, match="`length` = 0.2 s is longer than the record"):
        cut_record(data, 0.01, 0.2)
    padded = cut_record(data, 0.01, 0.2, pad=True)
    assert padded.shape == (2, 21) and np.all(padded[:, 11:] == 0)
    with pytest.raises(ValueError, match="`length`"):
        cut_record(data, 0.01, 0)


# --- band ------------------------------------------------------------------------------------
def test_band_limit_matches_signal_filters_and_is_differentiable():
    """low_cut is signal.highpass (power-complementary twin of lowpass_torch) away from the ends;
    band_limit is the high-pass/low-pass cascade; the tensor path equals the numpy path."""
    dt, nt = 0.004, 1000
    t = np.arange(nt) * dt
    pulse = np.exp(-((t - 2.0) / 0.03) ** 2) * np.cos(2 * np.pi * 8 * (t - 2.0))
    np.testing.assert_allclose(low_cut(pulse, dt, 6.0), highpass(pulse, dt, 6.0), atol=1e-5)
    band = band_limit(pulse, dt, 3.0, 12.0)
    np.testing.assert_allclose(band, lowpass(highpass(pulse, dt, 3.0), dt, 12.0), atol=1e-5)
    x = torch.tensor(pulse, requires_grad=True)
    y = band_limit(x, dt, 3.0, 12.0)
    np.testing.assert_allclose(y.detach().numpy(), band, atol=1e-12)
    y.pow(2).sum().backward()
    assert x.grad is not None and float(x.grad.abs().max()) > 0


@pytest.mark.parametrize("args, word", [((None, None), "both None"), ((-1.0, None), "`f_low`"),
                                        ((None, 200.0), "`f_high`"), ((10.0, 5.0), "`f_low` must be <")])
def test_band_limit_refuses(args, word):
    with pytest.raises(ValueError, match=word):
        band_limit(np.zeros((2, 100)), 0.004, *args)


# --- mute ------------------------------------------------------------------------------------
def test_top_mute_zero_above_line_taper_then_kept():
    dt, nt, v, t0, taper = 0.001, 300, 2000.0, 0.01, 0.02
    offsets = np.array([[-100.0, 0.0, 300.0]])
    data = np.ones((1, 3, nt))
    out = top_mute(data, offsets, dt, v, t0, taper)
    t = np.arange(nt) * dt
    for j, offset in enumerate(offsets[0]):
        line = t0 + abs(offset) / v
        assert np.all(out[0, j, t <= line + 1e-12] == 0)
        assert np.all(out[0, j, t >= line + taper] == 1)
        ramp = out[0, j, (t > line) & (t < line + taper)]
        assert np.all((ramp > 0) & (ramp < 1)) and np.all(np.diff(ramp) > 0)
        mid = np.argmin(np.abs(t - (line + taper / 2)))  # half cosine: 1/2 halfway
        assert out[0, j, mid] == pytest.approx(0.5, abs=0.08)
    hard = top_mute_weights(offsets, dt, nt, v, t0, taper=0)
    assert set(np.unique(hard)) == {0.0, 1.0}


def test_top_mute_torch_is_the_same_mask_and_differentiable():
    offsets = np.array([[0.0, 200.0]])
    x = torch.randn(1, 2, 200, dtype=torch.float64, requires_grad=True)
    y = top_mute(x, offsets, 0.002, 1500.0, taper=0.03)
    y.sum().backward()
    weights = top_mute_weights(offsets, 0.002, 200, 1500.0, taper=0.03)
    np.testing.assert_allclose(x.grad.numpy(), weights)  # adjoint of a mask multiply: the mask
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() * weights)


@pytest.mark.parametrize("kwargs, word", [(dict(velocity=0), "`velocity`"), (dict(t0=-1), "`t0`"),
                                          (dict(taper=float("nan")), "`taper`")])
def test_top_mute_refuses(kwargs, word):
    args = dict(offsets=np.zeros((1, 2)), dt=0.002, velocity=1500.0) | kwargs
    with pytest.raises(ValueError, match=word):
        top_mute(np.zeros((1, 2, 50)), **args)
    with pytest.raises(ValueError, match="`offsets` of shape"):
        top_mute(np.zeros((1, 2, 50)), np.zeros(3), 0.002, 1500.0)


# --- kill and normalise ----------------------------------------------------------------------
def test_kill_traces():
    data = np.ones((2, 3, 10))
    live = np.array([[True, False, True], [True, True, False]])
    out = kill_traces(data, live)
    assert out[0, 1].sum() == 0 and out[1, 2].sum() == 0 and out.sum() == 40
    with pytest.raises(ValueError, match="`live` must be a boolean"):
        kill_traces(data, live.astype(int))
    with pytest.raises(ValueError, match="`live` of shape"):
        kill_traces(data, np.ones(4, bool))


def test_normalise_traces_max_rms_and_guard():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(2, 3, 50)) * np.array([1.0, 1e3, 1e-3])[:, None]
    data[1, 2] = 0.0  # a dead trace stays zero
    peak = normalise_traces(data, "max")
    np.testing.assert_allclose(np.abs(peak[0]).max(axis=-1), 1.0)
    rms = normalise_traces(data, "rms")
    np.testing.assert_allclose(np.sqrt((rms[0] ** 2).mean(axis=-1)), 1.0)
    assert np.all(rms[1, 2] == 0) and np.isfinite(rms).all()
    tiny = data.copy()
    tiny[0, 0] *= 1e-12  # below eps x the largest norm: floored, not blown up to 1
    assert np.abs(normalise_traces(tiny, "rms")[0, 0]).max() < 1e-3
    assert np.all(normalise_traces(np.zeros((2, 5)), "max") == 0)
    x = torch.tensor(data, requires_grad=True)
    y = normalise_traces(x, "rms")
    np.testing.assert_allclose(y.detach().numpy(), rms, rtol=1e-12)
    y[0, 0, 0].backward()
    assert float(x.grad[0, 0].abs().sum()) > 0 and float(x.grad[0, 1].abs().sum()) == 0
    with pytest.raises(ValueError, match="`mode`"):
        normalise_traces(data, "l1")


def test_bottom_mute_keeps_what_arrives_before_the_line():
    """1 up to t0 + |x|/v, 0 from the line + taper on, the complement of the top mute of the same
    line; on a tensor the same mask, differentiable."""
    dt, nt, v, t0, taper = 0.004, 300, 2000.0, 0.2, 0.1
    offsets = np.array([[-400.0, 0.0, 1000.0]])
    weights = bottom_mute_weights(offsets, dt, nt, v, t0, taper)
    t = np.arange(nt) * dt
    for r, x in enumerate(offsets[0]):
        line = t0 + abs(x) / v
        assert np.all(weights[0, r, t <= line] == 1.0)
        assert np.all(weights[0, r, t >= line + taper] == 0.0)
        between = weights[0, r, (t > line + 1e-9) & (t < line + taper - 1e-9)]
        assert between.size and np.all((between > 0) & (between < 1))
        assert np.all(np.diff(weights[0, r]) <= 0)
    np.testing.assert_allclose(weights + top_mute_weights(offsets, dt, nt, v, t0, taper), 1.0)
    x = torch.ones(1, 3, nt, dtype=torch.float64, requires_grad=True)
    y = bottom_mute(x, offsets, dt, v, t0, taper)
    np.testing.assert_allclose(y.detach().numpy(), weights)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), weights)


def test_offset_window_and_its_refusals():
    offsets = np.array([[-3000.0, -100.0, 50.0, 800.0, 2500.0]])
    np.testing.assert_array_equal(offset_window(offsets, 100.0, 2500.0),
                                  [[False, True, False, True, True]])
    np.testing.assert_array_equal(offset_window(offsets, 0.0, None), np.ones((1, 5), bool))
    with pytest.raises(ValueError, match="`max_offset`"):
        offset_window(offsets, 500.0, 400.0)
    with pytest.raises(ValueError, match="`min_offset`"):
        offset_window(offsets, -1.0)


def test_preprocessing_window_drops_late_arrivals_and_far_traces_on_both_sides():
    """A bottom mute and an offset window: observed and predicted go through the same mask, so
    an event after the line or a trace beyond max_offset adds nothing to the misfit."""
    dt, nt = 0.004, 250
    offsets = np.array([[100.0, 1000.0, 3000.0]])
    prep = Preprocessing(dt=dt, nt=nt, bottom_velocity=2000.0, bottom_t0=0.3, bottom_taper=0.05,
                         max_offset=2000.0)
    t = np.arange(nt) * dt
    early = np.exp(-((t - 0.1 - np.abs(offsets[0])[:, None] / 4000.0) / 0.01) ** 2)
    late = np.exp(-((t - 0.9) / 0.01) ** 2)[None].repeat(3, 0)  # after every kept line
    observed = prep.apply_observed((early + late)[None], dt, offsets=offsets)
    predicted = prep.apply_predicted(torch.tensor(early[None]), offsets=offsets)
    np.testing.assert_allclose(observed, predicted.numpy(), atol=1e-12)
    assert np.all(observed[0, 2] == 0) and observed[0, :2].max() > 0.99
    described = prep.describe()
    assert described["bottom_mute"] == {"velocity": 2000.0, "t0": 0.3, "taper": 0.05}
    assert described["offset_window"] == {"min_offset": 0.0, "max_offset": 2000.0}
    with pytest.raises(ValueError, match="the bottom mute is on"):
        prep.apply_predicted(torch.zeros(1, 3, nt))
    with pytest.raises(ValueError, match="`max_offset`"):
        Preprocessing(dt=dt, nt=nt, min_offset=300.0, max_offset=200.0)


# --- Preprocessing ---------------------------------------------------------------------------
def test_preprocessing_observed_and_predicted_agree():
    """The same traces sampled at 1 ms (observed, longer record) and at 2 ms (predicted) come out
    the same after the bundle (within resampling accuracy), and the predicted path has gradients."""
    dt_model, nt = 0.002, 200
    t_fine = np.arange(500) * 0.001
    offsets = np.array([[0.0, 150.0, 300.0]])
    delays = 0.1 + np.abs(offsets[0]) / 1500.0
    pulse = lambda t: np.exp(-((t[None, :] - delays[:, None]) / 0.02) ** 2)[None]  # noqa: E731
    live = np.array([[True, True, False]])
    prep = Preprocessing(dt=dt_model, nt=nt, f_low=3.0, f_high=40.0, mute_velocity=2000.0,
                         mute_t0=0.02, normalise="rms")
    observed = prep.apply_observed(pulse(t_fine), 0.001, offsets=offsets, live=live)
    predicted = torch.tensor(pulse(np.arange(nt) * dt_model), requires_grad=True)
    processed = prep.apply_predicted(predicted, offsets=offsets, live=live)
    assert observed.shape == tuple(processed.shape) == (1, 3, nt)
    np.testing.assert_allclose(processed.detach().numpy(), observed, atol=2e-3)
    assert np.all(observed[0, 2] == 0)
    processed.pow(2).sum().backward()
    assert float(predicted.grad[0, 0].abs().max()) > 0
    json.dumps(prep.describe())
    assert prep.describe()["shared_order"] == ["kill", "band", "mute", "bottom_mute", "normalise"]


def test_preprocessing_refuses():
    with pytest.raises(ValueError, match="`normalise`"):
        Preprocessing(dt=0.002, nt=100, normalise="l2")
    with pytest.raises(ValueError, match="`f_high`"):
        Preprocessing(dt=0.002, nt=100, f_high=300.0)
    with pytest.raises(ValueError, match="`velocity`"):
        Preprocessing(dt=0.002, nt=100, mute_velocity=-5.0)
    prep = Preprocessing(dt=0.002, nt=100, mute_velocity=1500.0)
    with pytest.raises(ValueError, match="`offsets` are needed"):
        prep.apply_predicted(torch.zeros(1, 2, 100))
    with pytest.raises(ValueError, match="`predicted` must have nt = 100"):
        prep.apply_predicted(torch.zeros(1, 2, 99), offsets=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="`length`"):
        prep.apply_observed(np.zeros((1, 2, 50)), 0.002, offsets=np.zeros((1, 2)))
