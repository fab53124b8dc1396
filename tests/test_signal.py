"""Tests for crfwi.physics.signal: filter spectra and phase, the torch twin, noise, shot decimation."""

from __future__ import annotations

import crfwi  # noqa: F401  first: sets OMP_WAIT_POLICY before torch loads (see crfwi/__init__.py)

import numpy as np
import pytest
import torch

from crfwi.physics.signal import (add_noise, bandpass, decimate_shots, highpass, lowpass, lowpass_torch)

DT = 0.004
NT = 1000  # 4 s: whole periods of 2, 12 Hz etc., so single rFFT bins carry each sine


def sines(*freqs: float, shape=(2, 3)) -> np.ndarray:
    t = np.arange(NT) * DT
    trace = sum(np.sin(2 * np.pi * f * t) for f in freqs)
    return np.broadcast_to(trace, shape + (NT,)).copy()


def amplitude(data: np.ndarray, freq: float) -> float:
    """Amplitude of the ``freq`` bin, measured on the middle half (away from filter end effects)."""
    mid = data[..., NT // 4: 3 * NT // 4]
    spec = np.abs(np.fft.rfft(mid, axis=-1)) * 2 / mid.shape[-1]
    freqs = np.fft.rfftfreq(mid.shape[-1], DT)
    return float(spec[..., np.argmin(np.abs(freqs - freq))].max())


def test_highpass_keeps_12hz_and_kills_2hz():
    data = sines(2.0, 12.0)
    out = highpass(data, DT, 6.0)
    assert amplitude(out, 12.0) == pytest.approx(1.0, rel=0.03)
    assert 20 * np.log10(amplitude(out, 2.0) / amplitude(data, 2.0)) < -20
    assert data.shape == out.shape and out.dtype == data.dtype


def test_lowpass_and_bandpass_spectra():
    data = sines(2.0, 8.0, 30.0)
    low = lowpass(data, DT, 14.0)
    assert amplitude(low, 2.0) == pytest.approx(1.0, rel=0.03)
    assert amplitude(low, 8.0) == pytest.approx(1.0, rel=0.03)
    assert amplitude(low, 30.0) < 0.1
    band = bandpass(data, DT, 5.0, 12.0)
    assert amplitude(band, 8.0) == pytest.approx(1.0, rel=0.03)
    assert amplitude(band, 2.0) < 0.1 and amplitude(band, 30.0) < 0.1


def test_zero_phase_keeps_peak_in_place():
    t = np.arange(NT) * DT
    pulse = np.exp(-((t - 2.0) / 0.02) ** 2) * np.ones((1, 2, 1))  # symmetric, peak at 2 s
    peak = int(np.argmax(pulse[0, 0]))
    for out in (lowpass(pulse, DT, 10.0), highpass(pulse, DT, 4.0), bandpass(pulse, DT, 4.0, 14.0),
                lowpass_torch(torch.tensor(pulse), DT, 10.0).numpy()):
        assert int(np.argmax(out[0, 0])) == peak
        centred = out[0, 0, peak - 100: peak + 101]
        np.testing.assert_allclose(centred, centred[::-1], atol=1e-6 * np.abs(centred).max())


def test_torch_input_gives_torch_output():
    data = torch.tensor(sines(2.0, 12.0), dtype=torch.float32)
    out = highpass(data, DT, 6.0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    ref = highpass(data.double().numpy(), DT, 6.0)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-5)


def test_lowpass_torch_matches_sosfiltfilt_away_from_ends():
    rng = np.random.default_rng(0)
    t = np.arange(NT) * DT
    noise = rng.standard_normal((2, 3, NT))
    cutoff = 10.0
    # data that taper to zero at both ends: the two agree everywhere
    tapered = noise * np.exp(-((t - 2.0) / 0.4) ** 2)
    ref = lowpass(tapered, DT, cutoff)
    out = lowpass_torch(torch.tensor(tapered), DT, cutoff).numpy()
    assert np.abs(out - ref).max() < 1e-6 * np.abs(ref).max()
    # white noise: end transients differ (reflection vs zero padding); 10/cutoff s in, < 1e-6
    ref = lowpass(noise, DT, cutoff)
    out = lowpass_torch(torch.tensor(noise), DT, cutoff).numpy()
    m = int(round(10 / cutoff / DT))
    assert np.abs(out - ref)[..., m:-m].max() < 1e-6 * np.abs(ref).max()
    assert np.abs(out - ref).max() > 1e-2 * np.abs(ref).max()  # the ends do differ


def test_lowpass_torch_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 32, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: lowpass_torch(v, DT, 30.0), (x,))


def test_filter_validation():
    data = sines(2.0)
    with pytest.raises(ValueError, match="Nyquist"):
        highpass(data, DT, 125.0)
    with pytest.raises(ValueError, match="Nyquist"):
        lowpass_torch(torch.tensor(data), DT, 0.0)
    with pytest.raises(ValueError, match="low"):
        bandpass(data, DT, 12.0, 4.0)
    with pytest.raises(ValueError, match="dt"):
        lowpass(data, -1.0, 4.0)
    with pytest.raises(TypeError):
        lowpass([1.0, 2.0, 3.0], DT, 4.0)


@pytest.mark.parametrize("k", [4.0, 8.0])
def test_noise_level_and_seed(k):
    clean = sines(3.0, 11.0, shape=(4, 50))
    sigma0 = clean.std()
    noisy = add_noise(clean, k=k, seed=7)
    assert np.std(noisy - clean) == pytest.approx(k * sigma0, rel=0.02)
    np.testing.assert_array_equal(noisy, add_noise(clean, k=k, seed=7))
    assert not np.allclose(noisy, add_noise(clean, k=k, seed=8))
    np.testing.assert_array_equal(clean, sines(3.0, 11.0, shape=(4, 50)))  # input untouched


def test_noise_on_torch_keeps_type_and_matches_numpy():
    clean = torch.tensor(sines(5.0, shape=(2, 3)), dtype=torch.float64)
    before = clean.clone()
    noisy = add_noise(clean, k=4.0, seed=1)
    assert isinstance(noisy, torch.Tensor) and noisy.dtype == torch.float64
    assert torch.equal(clean, before)
    np.testing.assert_array_equal(noisy.numpy(), add_noise(clean.numpy(), k=4.0, seed=1))
    with pytest.raises(ValueError):
        add_noise(clean, k=-1.0, seed=0)


def test_decimate_shots():
    assert decimate_shots(13, 9) == [0, 2, 3, 4, 6, 8, 9, 10, 12]
    assert decimate_shots(13, 5) == [0, 3, 6, 9, 12]
    assert decimate_shots(13, 13) == list(range(13))
    assert decimate_shots(13, 2) == [0, 12]
    assert decimate_shots(13, 1) == [0]
    for keep in (0, 14):
        with pytest.raises(ValueError, match="keep"):
            decimate_shots(13, keep)
