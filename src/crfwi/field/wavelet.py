"""The source wavelet of a field survey: read from a file, or estimated from the data.

FWI fits waveforms, so a wrong wavelet (delay, phase, spectrum) is fitted by a wrong model. Two
sources of a wavelet:

* :func:`load_wavelet` — a recorded or designed wavelet (``.npy`` or the first trace of a SEG-Y
  file), put on the modelling time axis.
* :func:`estimate_wavelet` — the frequency-domain least-squares estimate of Pratt (1999,
  Geophysics 64(3), "Seismic waveform inversion in the frequency domain, part 1"), from
  the observed data and data simulated in the current model with any reference wavelet.

Time zero of a wavelet is its first sample, as for :func:`crfwi.physics.geometry.ricker` (whose peak sits
at 1.5/f): a zero-phase wavelet must be stored with its delay, its acausal half otherwise lost.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft
import torch

from .preprocess import resample

__all__ = ["load_wavelet", "estimate_wavelet", "TAIL_TOLERANCE", "DEFAULT_DAMPING"]

TAIL_TOLERANCE = 1e-3
"""A wavelet longer than the record is cut only if what is cut stays below this fraction of its
peak |amplitude| (−60 dB); otherwise :func:`load_wavelet` refuses it."""

DEFAULT_DAMPING = 1e-3
""":func:`estimate_wavelet`'s ε: the water level as a fraction of the peak reference power."""

SEGY_SUFFIXES = (".sgy", ".segy")


# ---------------------------------------------------------------------------------------------
def _is_real(value: Any) -> bool:
    """A real number (numpy scalars included), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _read_segy_trace(path: Path) -> tuple[np.ndarray, float]:
    """(trace 0, the file's sample interval in s) via segyio; errors name nothing (caller does)."""
    try:
        import segyio
    except ImportError:
        raise ValueError("reading SEG-Y needs segyio (pip install segyio); "
                         "or save the wavelet as a 1-D .npy") from None
    try:
        with segyio.open(str(path), ignore_geometry=True) as f:
            if f.tracecount < 1:
                raise ValueError("it holds no traces")
            trace = np.array(f.trace[0], dtype=np.float64)
            interval_us = float(segyio.tools.dt(f, fallback_dt=0.0))
    except (OSError, RuntimeError) as err:
        raise ValueError(f"not a readable SEG-Y file ({err})") from None
    if not interval_us > 0:
        raise ValueError("its headers give no sample interval")
    return trace, interval_us * 1e-6


def load_wavelet(path: str | Path, dt: float, nt: int, *, file_dt: float | None = None) -> np.ndarray:
    """A source wavelet from ``path``, on the modelling axis: ``nt`` samples at ``dt`` seconds.

    Formats: ``.npy`` holding a 1-D float array, sampled at ``file_dt`` seconds (default: already
    at ``dt``); ``.sgy``/``.segy``: trace 0, at the file's own sample interval (binary or trace
    header; ``file_dt``, if given, must agree with it), read with segyio (optional dependency).

    Rule: resampled to ``dt`` when sampled otherwise (:func:`crfwi.field.preprocess.resample`:
    keep the wavelet's band below 0.8 × the Nyquist of the coarser interval), then zero-padded at
    the end to ``nt`` samples, or cut to ``nt`` when everything cut is below
    :data:`TAIL_TOLERANCE` × its peak (a silent tail). A wavelet with signal past the record, with
    NaN or inf, all zero, of fewer than 2 samples or not 1-D is refused: ValueError, one line
    naming the file.

    Returns: float64 numpy ``[nt]``.
    """
    path = Path(path)
    where = f"wavelet file {path}"
    if not (_is_real(dt) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be a positive number of seconds, got {dt!r}")
    if isinstance(nt, bool) or int(nt) != nt or nt < 2:
        raise ValueError(f"`nt` must be an integer >= 2, got {nt!r}")
    if file_dt is not None and not (_is_real(file_dt) and math.isfinite(file_dt)
                                    and file_dt > 0):
        raise ValueError(f"`file_dt` must be a positive number of seconds, got {file_dt!r}")
    if not path.is_file():
        raise ValueError(f"{where}: not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            samples = np.load(path, allow_pickle=False)
            interval = float(dt if file_dt is None else file_dt)
        elif suffix in SEGY_SUFFIXES:
            samples, interval = _read_segy_trace(path)
            if file_dt is not None and abs(file_dt - interval) > 1e-6 * interval:
                raise ValueError(f"`file_dt` = {file_dt:g} s disagrees with its header's "
                                 f"{interval:g} s")
        else:
            raise ValueError(f"unknown format {suffix or '(no suffix)'!r}; use .npy or .sgy/.segy")
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    samples = np.asarray(samples)
    if samples.ndim != 1 or samples.size < 2 or not np.issubdtype(samples.dtype, np.number):
        raise ValueError(f"{where}: must hold a 1-D numeric array of >= 2 samples, "
                         f"got shape {samples.shape} of {samples.dtype}")
    samples = samples.astype(np.float64)
    if not np.isfinite(samples).all():
        raise ValueError(f"{where}: holds NaN or inf samples")
    if not np.any(samples):
        raise ValueError(f"{where}: is all zero")
    if abs(interval - dt) > 1e-9 * dt:
        try:
            samples = resample(samples, interval, dt)
        except ValueError as err:
            raise ValueError(f"{where}: resampling from {interval:g} s to {dt:g} s: {err}") from None
    nt = int(nt)
    if samples.size > nt:
        tail = float(np.abs(samples[nt:]).max()) / float(np.abs(samples).max())
        if tail > TAIL_TOLERANCE:
            raise ValueError(f"{where}: {samples.size} samples at dt = {dt:g} s do not fit the "
                             f"record of nt = {nt}; past it the wavelet still reaches {tail:.2g} "
                             "of its peak (lengthen the record or trim the wavelet)")
        return samples[:nt].copy()
    return np.pad(samples, (0, nt - samples.size))


# ---------------------------------------------------------------------------------------------
def _traces(name: str, data: Any) -> np.ndarray:
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    array = np.asarray(data, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] < 2:
        raise ValueError(f"`{name}` must have a time axis (last) of >= 2 samples, got shape "
                         f"{array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"`{name}` holds non-finite samples (NaN or inf)")
    return array


def _band_weights(freqs: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """1 on [f_low, f_high]; half-cosine ramps to 0 at f_low/2 and at 1.5·f_high (about an
    octave below and half an octave above: smooth enough that the band-limited wavelet stays
    short); 0 beyond."""
    low, high = band
    rise = np.clip((freqs - 0.5 * low) / (0.5 * low), 0.0, 1.0) if low > 0 else np.ones_like(freqs)
    fall = np.clip((1.5 * high - freqs) / (0.5 * high), 0.0, 1.0)
    return 0.25 * (1.0 - np.cos(np.pi * rise)) * (1.0 - np.cos(np.pi * fall))


def estimate_wavelet(observed: Any, predicted_reference: Any, reference_wavelet: Any, dt: float, *,
                     damping: float = DEFAULT_DAMPING, band: tuple[float, float] | None = None,
                     mask: Any = None) -> tuple[np.ndarray, dict]:
    """Least-squares source wavelet from observed data and reference data of the current model.

    Data are linear in the source: simulated with wavelet w, the data are w ∗ g (g the Green's
    function, per trace). So if ``predicted_reference`` P was simulated with
    ``reference_wavelet`` w_r, observed data D ≈ F ∗ P with one filter F for all traces, and
    w = F ∗ w_r. Per frequency, the F minimising Σ_traces |D − F·P|² is (Pratt 1999)

        F(f) = Σ conj(P)·D / (Σ |P|² + ε · max_f Σ |P|²),

    the sum over the live traces (``mask``). ε (``damping``) is a water level: where the reference
    data have little energy (outside the reference wavelet's band, or near its spectral notches)
    Σ|P|² carries no information and F would amplify noise; the damping takes F smoothly to 0
    there. ε = 1e-3 of the peak power damps where P's amplitude spectrum is below ~3 % (−30 dB)
    of its peak — for a Ricker reference, above ~2.5 f_peak (``crfwi.methods.misfits.RICKER_USABLE``) and
    below ~0.3 f_peak. Larger ε: more stable, more bias towards 0 in the weak parts of the band.
    The estimate is only as good as the current model: with wrong kinematics F absorbs time
    shifts, so estimate on a good model, early times or near offsets (``mask``), or re-estimate.

    ``band`` = (f_low, f_high) Hz in addition keeps F only in the band: weight 1 on
    [f_low, f_high], half-cosine ramps to 0 at f_low/2 and 1.5·f_high, 0 beyond. Frequencies
    outside the reference wavelet's band (or the observed data's usable band) are unreliable even
    after damping; the estimate then lives in that band only (up to the leakage of cutting it
    to ``nt_w`` samples).

    The traces are zero-padded to at least 2·nt before the FFT so the convolutions do not wrap.
    Observed and reference data must be processed identically and only linearly, time-invariantly
    (a band-pass is fine; no trace normalisation, no time-varying gain).

    Args:
        observed, predicted_reference: ``[..., nt]`` numpy arrays or tensors of one shape.
        reference_wavelet: ``[nt_w]``, the wavelet ``predicted_reference`` was simulated with.
        dt: sample interval, s.
        damping: ε ≥ 0 (0: no water level; a band with no reference energy then divides by 0).
        band: optional (f_low, f_high) Hz, 0 ≤ f_low < f_high, 1.5·f_high ≤ Nyquist.
        mask: optional boolean over the traces (``observed.shape[:-1]``), True = use the trace.

    Returns:
        (wavelet float64 ``[nt_w]`` on the reference wavelet's time axis, diagnostics): the
        damping and band used, the traces used, and the data fit as ‖D − P̂‖/‖D‖ over those traces
        before (P̂ = P: the reference wavelet) and after (P̂ = F ∗ P).
    """
    d = _traces("observed", observed)
    p = _traces("predicted_reference", predicted_reference)
    if d.shape != p.shape:
        raise ValueError(f"`observed` {d.shape} and `predicted_reference` {p.shape} must have "
                         "the same shape")
    w_ref = _traces("reference_wavelet", reference_wavelet)
    if w_ref.ndim != 1:
        raise ValueError(f"`reference_wavelet` must be 1-D, got shape {w_ref.shape}")
    if not np.any(w_ref):
        raise ValueError("`reference_wavelet` is all zero")
    if not (_is_real(dt) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be a positive number of seconds, got {dt!r}")
    if not (_is_real(damping) and math.isfinite(damping) and damping >= 0):
        raise ValueError(f"`damping` must be a finite number >= 0, got {damping!r}")
    nyquist = 0.5 / dt
    if band is not None:
        try:
            low, high = (float(f) for f in band)
        except (TypeError, ValueError):
            raise ValueError(f"`band` must be (f_low, f_high) in Hz, got {band!r}") from None
        if not 0 <= low < high <= nyquist / 1.5:
            raise ValueError(f"`band` must satisfy 0 <= f_low < f_high <= Nyquist/1.5 = "
                             f"{nyquist / 1.5:g} Hz (the taper ends at 1.5 f_high), got {band!r}")
        band = (low, high)
    d, p = d.reshape(-1, d.shape[-1]), p.reshape(-1, p.shape[-1])
    if mask is not None:
        live = np.asarray(mask)
        if live.dtype != np.bool_ or live.size != d.shape[0]:
            raise ValueError(f"`mask` must be a boolean array with one entry per trace "
                             f"({d.shape[0]}), got {live.dtype} of shape {live.shape}")
        d, p = d[live.reshape(-1)], p[live.reshape(-1)]
    if not np.any(p):
        raise ValueError("`predicted_reference` is all zero on the traces used")

    nt, nw = d.shape[-1], w_ref.size
    n = scipy.fft.next_fast_len(2 * max(nt, nw), real=True)
    spec_d = scipy.fft.rfft(d, n, axis=-1)
    spec_p = scipy.fft.rfft(p, n, axis=-1)
    cross = np.sum(np.conj(spec_p) * spec_d, axis=0)
    power = np.sum(np.abs(spec_p) ** 2, axis=0)
    denominator = power + damping * power.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        shaping = np.where(denominator > 0, cross / denominator, 0.0)
    if band is not None:
        shaping = shaping * _band_weights(scipy.fft.rfftfreq(n, dt), band)
    wavelet = scipy.fft.irfft(shaping * scipy.fft.rfft(w_ref, n), n)[:nw]

    fitted = scipy.fft.irfft(shaping[None, :] * spec_p, n, axis=-1)[:, :nt]
    norm = float(np.linalg.norm(d)) or 1.0
    diagnostics = {
        "method": "frequency-domain least squares, Pratt (1999)",
        "damping": float(damping), "band": None if band is None else list(band),
        "n_traces": int(d.shape[0]), "fft_length": int(n),
        "misfit_before": float(np.linalg.norm(d - p)) / norm,
        "misfit_after": float(np.linalg.norm(d - fitted)) / norm,
    }
    return wavelet, diagnostics
