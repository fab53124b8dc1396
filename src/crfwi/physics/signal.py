"""Filters, noise and shot decimation for data ``[..., time]`` (usually ``[shot, receiver, time]``).

These make the degraded-data scenarios of PAPER.md §4.1 (Gaussian noise of 4σ0 and 8σ0, high-pass
at 4 and 6 Hz, 9 or 5 shots) and the frequency bands of MS-FWI (§3.1: 4–14 Hz in 2 Hz steps).

The paper does not give the filter type (PAPER.md §9); we use **zero-phase Butterworth** filters:
Butterworth for a maximally flat pass band, zero phase (forward-backward filtering) so arrival
times — which FWI fits — do not move. The default ``order=6`` is the Butterworth order of one
pass; forward-backward filtering squares the magnitude, |H|², giving an effective order 12
(a roll-off of 2·6·6 = 72 dB/octave) and −6 dB (not −3 dB) at the cutoff.

The scipy filters take numpy arrays or torch tensors and return the same type (torch: same dtype
and device, not differentiable — they are for *observed* data). :func:`lowpass_torch` is the
differentiable twin for *predicted* data.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.signal
import torch

__all__ = ["highpass", "lowpass", "bandpass", "lowpass_torch", "add_noise", "decimate_shots"]


# ---------------------------------------------------------------------------------------------
def _to_numpy(data: Any) -> tuple[np.ndarray, Any]:
    """(float64 numpy copy of data, a function turning a result back into data's type)."""
    if isinstance(data, torch.Tensor):
        dtype, device = data.dtype, data.device
        array = data.detach().cpu().numpy().astype(np.float64)
        return array, lambda out: torch.as_tensor(np.ascontiguousarray(out), dtype=dtype,
                                                  device=device)
    if isinstance(data, np.ndarray):
        dtype = data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64
        return data.astype(np.float64), lambda out: np.ascontiguousarray(out, dtype=dtype)
    raise TypeError(f"`data` must be a numpy array or a torch tensor, got {type(data).__name__}")


def _check_data(array: np.ndarray) -> None:
    if array.ndim < 1 or array.shape[-1] < 2:
        raise ValueError(f"`data` must have a time axis (last) of >= 2 samples, "
                         f"got shape {array.shape}")


def _butter(dt: float, order: int, cutoff, btype: str) -> np.ndarray:
    """Second-order sections of a digital Butterworth filter; validates dt, order and cutoffs."""
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0 (seconds), got {dt}")
    if int(order) != order or order < 1:
        raise ValueError(f"`order` must be an integer >= 1, got {order}")
    nyquist = 0.5 / dt
    cutoffs = np.atleast_1d(np.asarray(cutoff, dtype=float))
    for f in cutoffs:
        if not 0 < f < nyquist:
            raise ValueError(f"cutoff frequencies must lie in (0, Nyquist = {nyquist:g} Hz) "
                             f"for dt = {dt:g} s, got {f:g} Hz")
    if cutoffs.size == 2 and not cutoffs[0] < cutoffs[1]:
        raise ValueError(f"`low` must be < `high`, got {cutoffs[0]:g} and {cutoffs[1]:g} Hz")
    return scipy.signal.butter(int(order), cutoff, btype=btype, fs=1.0 / dt, output="sos")


def _filtfilt(data: Any, sos: np.ndarray) -> Any:
    array, back = _to_numpy(data)
    _check_data(array)
    return back(scipy.signal.sosfiltfilt(sos, array, axis=-1))


def highpass(data: Any, dt: float, cutoff: float, *, order: int = 6) -> Any:
    """Zero-phase Butterworth high-pass along the last (time) axis.

    Args:
        data: ``[..., time]``, numpy or torch (same type returned, input untouched).
        dt: sample interval in seconds.
        cutoff: Hz, in (0, Nyquist); the response is −6 dB there (|H|² of forward-backward).
        order: Butterworth order of one pass, default 6 (effective 12).
    """
    return _filtfilt(data, _butter(dt, order, cutoff, "highpass"))


def lowpass(data: Any, dt: float, cutoff: float, *, order: int = 6) -> Any:
    """Zero-phase Butterworth low-pass along the last (time) axis; arguments as :func:`highpass`."""
    return _filtfilt(data, _butter(dt, order, cutoff, "lowpass"))


def bandpass(data: Any, dt: float, low: float, high: float, *, order: int = 6) -> Any:
    """Zero-phase Butterworth band-pass (``low`` < ``high``, Hz) along the last (time) axis.

    scipy's band-pass of order N has 2N poles; -6 dB at ``low`` and ``high``. Otherwise as
    :func:`highpass`.
    """
    return _filtfilt(data, _butter(dt, order, [low, high], "bandpass"))


@functools.lru_cache(maxsize=64)
def _lowpass_gain(dt: float, cutoff: float, order: int, n: int) -> np.ndarray:
    """|H(f)|² of the :func:`lowpass` Butterworth at the rFFT frequencies of n samples (cached:
    MS-FWI filters every iteration with the same few settings)."""
    sos = _butter(dt, order, cutoff, "lowpass")
    _, h = scipy.signal.sosfreqz(sos, worN=np.fft.rfftfreq(n, d=dt), fs=1.0 / dt)
    gain = np.abs(h) ** 2
    gain.setflags(write=False)
    return gain


def lowpass_torch(data: torch.Tensor, dt: float, cutoff: float, *, order: int = 6) -> torch.Tensor:
    """Differentiable zero-phase Butterworth low-pass in the frequency domain (for predicted data).

    Multiplies the rFFT along time by |H(f)|², H the same digital Butterworth as :func:`lowpass`
    (evaluated with ``scipy.signal.sosfreqz``): |H|² is exactly the response of forward-backward
    filtering, so away from the trace ends this equals :func:`lowpass`. The traces are zero-padded
    to 2·nt before the FFT so the circular convolution does not wrap the end of a trace onto its
    start. Near the ends the two differ: ``sosfiltfilt`` extends each trace by odd reflection,
    this by zeros; the difference is a transient that decays away from each end (tests: agreement
    to 1e-6 of the peak amplitude on data that taper to zero at both ends, and on white noise
    once 10/cutoff seconds are left out at each end; 5/cutoff s still leave ~1e-4).
    Linear, real and symmetric, so differentiable with an adjoint equal to itself.

    Args:
        data: ``[..., time]`` floating tensor (any device; gradients flow).
        dt, cutoff, order: as :func:`lowpass`.
    """
    if not isinstance(data, torch.Tensor) or not data.is_floating_point():
        raise TypeError("`data` must be a floating-point torch tensor")
    if data.ndim < 1 or data.shape[-1] < 2:
        raise ValueError(f"`data` must have a time axis (last) of >= 2 samples, "
                         f"got shape {tuple(data.shape)}")
    nt = data.shape[-1]
    n = 2 * nt
    gain = torch.tensor(_lowpass_gain(float(dt), float(cutoff), order, n), dtype=data.dtype,
                        device=data.device)
    return torch.fft.irfft(torch.fft.rfft(data, n=n, dim=-1) * gain, n=n, dim=-1)[..., :nt]


# ---------------------------------------------------------------------------------------------
def add_noise(data: Any, *, k: float, seed: int) -> Any:
    """``data`` plus white Gaussian noise of standard deviation k·σ0 (PAPER.md §4.1: k = 4 and 8).

    σ0 is the (population) standard deviation of all samples of the clean ``data``. The noise is
    drawn with ``numpy.random.default_rng(seed).normal`` in float64, in C order of ``data``'s
    shape, so the same seed gives the same noise on any device. Returns new data of the same type,
    dtype and device; ``data`` is not modified.

    Args:
        data: numpy array or torch tensor, any shape.
        k: noise level ≥ 0 relative to σ0.
        seed: integer seed.
    """
    if not k >= 0:
        raise ValueError(f"`k` must be >= 0, got {k}")
    array, back = _to_numpy(data)
    sigma0 = float(array.std())
    noise = np.random.default_rng(seed).normal(0.0, k * sigma0, size=array.shape)
    return back(array + noise)


def decimate_shots(n_shots: int, keep: int) -> list[int]:
    """Indices of ``keep`` of ``n_shots`` shots spread evenly, first and last included.

    Rule: ``np.round(np.linspace(0, n_shots − 1, keep))`` (numpy rounds halves to even), e.g.
    13 → 9: [0, 2, 3, 4, 6, 8, 9, 10, 12] and 13 → 5: [0, 3, 6, 9, 12] (PAPER.md §4.1's 9- and
    5-shot Marmousi surveys). ``keep = 1`` gives [0]. The indices are distinct and increasing.
    """
    if int(n_shots) != n_shots or n_shots < 1:
        raise ValueError(f"`n_shots` must be an integer >= 1, got {n_shots}")
    if int(keep) != keep or not 1 <= keep <= n_shots:
        raise ValueError(f"`keep` must be an integer in [1, n_shots = {n_shots}], got {keep}")
    indices = [int(i) for i in np.round(np.linspace(0, n_shots - 1, int(keep)))]
    assert len(set(indices)) == len(indices)  # spacing (n-1)/(keep-1) >= 1 keeps them distinct
    return indices
