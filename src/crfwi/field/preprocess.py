"""What is done to observed data before they are fitted, and to predicted data where it must be.

Data are ``[..., time]``, usually ``[shot, receiver, time]``; times are k·dt from 0 (seconds).

Two kinds of step:

* **Observed only** — :func:`resample` (to the modelling dt) and :func:`cut_record` (to the
  modelling record length) put the recorded data on the solver's time axis; predicted data are
  already there.
* **Both sides** — :func:`kill_traces` (and :func:`offset_window`), :func:`band_limit`,
  :func:`top_mute`, :func:`bottom_mute` and :func:`normalise_traces` change what the misfit
  compares, so the same operator must be applied to observed and predicted data, otherwise the
  inversion fits the difference between the two processings instead of the earth. These take a
  numpy array (returned as numpy) or a torch tensor (returned as a tensor, differentiable: the
  predicted data's gradient flows through them). Kill, band and the mutes are linear (a fixed
  mask or a fixed frequency response); the normalisation is not, and its torch path is
  differentiated as written.

:class:`Preprocessing` bundles the chosen steps so that :meth:`Preprocessing.apply_observed` and
:meth:`Preprocessing.apply_predicted` apply them in one order, and records them
(:meth:`Preprocessing.describe`) in a run folder.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.signal
import torch

from ..physics.signal import lowpass_torch

__all__ = ["resample", "cut_record", "band_limit", "low_cut", "top_mute_weights", "top_mute",
           "bottom_mute_weights", "bottom_mute", "offset_window", "kill_traces",
           "normalise_traces", "Preprocessing", "RESAMPLE_PASS", "RESAMPLE_ATTENUATION_DB",
           "MAX_RATIO_TERM"]

RESAMPLE_PASS = 0.8
""":func:`resample` keeps frequencies up to this fraction of the lower of the two Nyquists."""
RESAMPLE_ATTENUATION_DB = 80.0
"""Kaiser-design attenuation of :func:`resample`'s filter: pass-band error and stop-band leakage
(what would alias or image) both below 10^(−80/20) = 1e-4 of the amplitude."""
MAX_RATIO_TERM = 1000
"""Largest integer allowed in the rational approximation up/down of dt_in/dt_out."""


# ---------------------------------------------------------------------------------------------
def _is_real(value: Any) -> bool:
    """A real number (numpy scalars included), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _positive(name: str, value: Any) -> float:
    if not (_is_real(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}")
    return float(value)


def _count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _numpy_data(data: Any) -> np.ndarray:
    """Float64 numpy view of observed data, validated: a time axis and finite samples."""
    if isinstance(data, torch.Tensor):
        raise ValueError("`data` must be a numpy array here (observed data), got a torch tensor")
    array = np.asarray(data, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] < 2:
        raise ValueError(f"`data` must have a time axis (last) of >= 2 samples, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("`data` hold non-finite samples (NaN or inf)")
    return array


def _check_any(data: Any) -> None:
    if not isinstance(data, (np.ndarray, torch.Tensor)):
        raise ValueError(f"`data` must be a numpy array or a torch tensor, got {type(data).__name__}")
    if data.ndim < 1 or data.shape[-1] < 2:
        raise ValueError(f"`data` must have a time axis (last) of >= 2 samples, "
                         f"got shape {tuple(data.shape)}")


def _as_weights(weights: np.ndarray, data: Any) -> Any:
    """Weights in data's kind: a numpy array, or a constant tensor of data's dtype and device."""
    if isinstance(data, torch.Tensor):
        return torch.as_tensor(weights, dtype=data.dtype, device=data.device)
    return weights


def _fit_length(array: np.ndarray, n: int) -> np.ndarray:
    """The first n samples along time, zero-padded at the end when shorter."""
    if array.shape[-1] >= n:
        return array[..., :n].copy()
    pad = [(0, 0)] * (array.ndim - 1) + [(0, n - array.shape[-1])]
    return np.pad(array, pad)


# ---------------------------------------------------------------------------------------------
def _rational_ratio(dt_in: float, dt_out: float, n_out: int) -> tuple[int, int]:
    """(up, down) with up/down ≈ dt_in/dt_out, smallest terms first, accurate enough that the
    output's last sample is within 1 % of dt_out of its true time."""
    ratio = dt_in / dt_out
    for limit in range(1, MAX_RATIO_TERM + 1):
        fraction = Fraction(ratio).limit_denominator(limit)
        up, down = fraction.numerator, fraction.denominator
        if not 1 <= up <= MAX_RATIO_TERM:
            continue
        drift = n_out * abs(dt_in * down / up - dt_out)
        if drift <= 0.01 * dt_out:
            return up, down
    near = Fraction(ratio).limit_denominator(10) or Fraction(1, 10)
    raise ValueError(f"`dt_out` = {dt_out:g} s: dt_in/dt_out = {ratio:.9g} is not close to a ratio "
                     f"of integers <= {MAX_RATIO_TERM}; choose a dt_out such as "
                     f"{dt_in * near.denominator / near.numerator:g} s")


def _resampling_filter(up: int, down: int) -> np.ndarray:
    """Kaiser-windowed linear-phase FIR low-pass at the up-sampled rate (Kaiser 1974 design):
    flat to RESAMPLE_PASS × the lower Nyquist, RESAMPLE_ATTENUATION_DB down from that Nyquist on."""
    lower_nyquist = 1.0 / max(up, down)  # in units of the up-sampled rate's Nyquist
    width = (1.0 - RESAMPLE_PASS) * lower_nyquist
    numtaps, beta = scipy.signal.kaiserord(RESAMPLE_ATTENUATION_DB, width)
    numtaps |= 1  # odd: the delay is a whole sample, which resample_poly removes
    cutoff = (1.0 + RESAMPLE_PASS) / 2 * lower_nyquist
    return scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))


def resample(data: Any, dt_in: float, dt_out: float, nt_out: int | None = None) -> np.ndarray:
    """Resample ``[..., time]`` from ``dt_in`` to ``dt_out`` seconds by band-limited interpolation.

    Method: ``scipy.signal.resample_poly`` (up-sample by ``up``, FIR low-pass, down-sample by
    ``down``; Crochiere & Rabiner 1983) with up/down the rational approximation of dt_in/dt_out in
    the smallest integers (≤ :data:`MAX_RATIO_TERM`) that keep the last output sample within 1 % of
    a sample of its true time; a ratio that needs larger integers is refused. The FIR filter is our
    own Kaiser design, not resample_poly's default (whose cut-off sits at the new Nyquist and lets
    ~7 % of a sinusoid 10 % above it alias back): it is flat within 1e-4 up to
    :data:`RESAMPLE_PASS` (0.8) × the lower Nyquist and attenuates by ≥ 80 dB (1e-4) from that
    Nyquist on. So when decimating, everything that would alias is removed first; when
    interpolating, no images are created. Between 0.8 and 1.0 of the lower Nyquist the amplitude
    rolls off: keep the signal's band below 0.8 × Nyquist of the coarser dt.

    Accuracy (tests, away from the trace ends): a sinusoid up to 0.8 × the lower Nyquist is
    reproduced within 2e-4 of its amplitude (measured ≤ 8e-5 for 1→2, 1→4, 2→1, 2→1.5 ms), one
    between 1.02 and 1.3 × the new Nyquist leaves < 2e-4 when decimating (measured ≤ 7e-5).
    The trace is taken as zero outside the record (resample_poly's constant padding), so within
    the filter's half-length of either end — about 25 samples of the coarser dt — data that do
    not start or end at zero show an edge transient.

    Args:
        data: numpy ``[..., time]``, finite.
        dt_in, dt_out: sample intervals in seconds, > 0.
        nt_out: samples to return (zero-padded or cut at the end); default all output samples up
            to the input's last time, floor((nt_in − 1)·dt_in/dt_out) + 1.

    Returns: float64 numpy ``[..., nt_out]``.
    """
    dt_in = _positive("dt_in", dt_in)
    dt_out = _positive("dt_out", dt_out)
    array = _numpy_data(data)
    natural = int(math.floor((array.shape[-1] - 1) * dt_in / dt_out + 1e-9)) + 1
    nt_out = natural if nt_out is None else _count("nt_out", nt_out)
    up, down = _rational_ratio(dt_in, dt_out, max(nt_out, natural))
    if up == down:
        return _fit_length(array, nt_out)
    out = scipy.signal.resample_poly(array, up, down, axis=-1, window=_resampling_filter(up, down))
    return _fit_length(out, nt_out)


def cut_record(data: Any, dt: float, length: float, *, pad: bool = False) -> np.ndarray:
    """The samples at times 0 … ``length`` s (inclusive): floor(length/dt) + 1 of them.

    ``length`` is a record length in the sense of :attr:`crfwi.physics.geometry.Survey.duration`, the time
    of the last sample, (nt − 1)·dt; pass a survey's duration to get its nt samples.

    A record shorter than ``length`` is refused unless ``pad=True``: zeros after the end of a
    record are not data (the inversion would fit silence there), so padding is an explicit
    decision — right for data that are truly zero after their end (a synthetic), wrong for a
    field record that was simply stopped.
    """
    dt = _positive("dt", dt)
    length = _positive("length", length)
    array = _numpy_data(data)
    n = int(math.floor(length / dt + 1e-6)) + 1
    if n > array.shape[-1] and not pad:
        raise ValueError(f"`length` = {length:g} s is longer than the record "
                         f"({(array.shape[-1] - 1) * dt:g} s at dt = {dt:g} s); pass pad=True to "
                         "pad it with zeros, or shorten the modelled record")
    return _fit_length(array, n)


# ---------------------------------------------------------------------------------------------
def _check_band(dt: float, f_low: float | None, f_high: float | None, order: int) -> None:
    nyquist = 0.5 / dt
    for name, f in (("f_low", f_low), ("f_high", f_high)):
        if f is not None and not (_is_real(f) and 0 < f < nyquist):
            raise ValueError(f"`{name}` must lie in (0, Nyquist = {nyquist:g} Hz) for dt = {dt:g} s, "
                             f"got {f!r}")
    if f_low is None and f_high is None:
        raise ValueError("`f_low` and `f_high` are both None: give at least one")
    if f_low is not None and f_high is not None and not f_low < f_high:
        raise ValueError(f"`f_low` must be < `f_high`, got {f_low:g} and {f_high:g} Hz")
    _count("order", order)


def band_limit(data: Any, dt: float, f_low: float | None = None, f_high: float | None = None, *,
               order: int = 6) -> Any:
    """Zero-phase Butterworth low-cut at ``f_low`` and/or high-cut at ``f_high`` (Hz).

    The high-cut is :func:`crfwi.physics.signal.lowpass_torch` (|H_lp(f)|², the response of forward-backward
    Butterworth filtering, applied in the frequency domain on traces zero-padded to 2·nt); the
    low-cut is its complement x − lowpass_torch(x, f_low), which is exactly the zero-phase
    Butterworth high-pass |H_hp|² = 1 − |H_lp|² (digital Butterworth low- and high-pass of one
    order and cut-off are power complementary). Both are −6 dB at their cut-off. The band is their
    cascade, not scipy's band-pass design.

    Used as a misfit band it must be applied identically to observed and predicted data: this one
    function serves both (numpy in: numpy out, no gradient; tensor in: tensor out,
    differentiable — linear, real and symmetric in frequency, so its adjoint is itself), so the
    two sides see the same operator to rounding, trace ends included.

    Args:
        data: ``[..., time]`` numpy array or floating tensor.
        dt: sample interval, seconds.
        f_low, f_high: cut-offs in (0, Nyquist), Hz; None leaves that side open (not both).
        order: Butterworth order of one pass (effective 2·order), as :mod:`crfwi.physics.signal`.
    """
    dt = _positive("dt", dt)
    _check_any(data)
    _check_band(dt, f_low, f_high, order)
    tensor = data if isinstance(data, torch.Tensor) else torch.as_tensor(np.asarray(data, np.float64))
    if f_low is not None:
        tensor = tensor - lowpass_torch(tensor, dt, float(f_low), order=int(order))
    if f_high is not None:
        tensor = lowpass_torch(tensor, dt, float(f_high), order=int(order))
    if isinstance(data, torch.Tensor):
        return tensor
    return tensor.numpy().astype(data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64)


def low_cut(data: Any, dt: float, f_low: float, *, order: int = 6) -> Any:
    """Zero-phase Butterworth low-cut (high-pass) at ``f_low`` Hz: :func:`band_limit` with
    ``f_high=None`` (e.g. to remove swell noise below the source's usable band)."""
    return band_limit(data, dt, f_low, None, order=order)


# ---------------------------------------------------------------------------------------------
def top_mute_weights(offsets: Any, dt: float, nt: int, velocity: float, t0: float = 0.0,
                     taper: float = 0.05) -> np.ndarray:
    """Weights ``[*offsets.shape, nt]`` of a top mute along the line t = t0 + |offset|/velocity.

    0 up to the line (earlier samples: noise before the first arrivals, or with t0 past the
    direct wave's duration the direct wave itself), rising as a half cosine,
    ½(1 − cos(π·(t − line)/taper)), to 1 at line + ``taper`` seconds, and 1 after. A cosine ramp
    rather than a step, so the mute does not put a step — energy at all frequencies — in the data.
    ``taper=0`` gives a hard mute (1 strictly after the line).

    Args:
        offsets: source-receiver offsets in metres, any shape (e.g. ``[shot, receiver]``), finite.
        dt: sample interval, s.  nt: samples.  velocity: mute velocity, m/s (> 0).
        t0: intercept, s (≥ 0).  taper: ramp length, s (≥ 0).
    """
    dt = _positive("dt", dt)
    velocity = _positive("velocity", velocity)
    nt = _count("nt", nt)
    for name, value in (("t0", t0), ("taper", taper)):
        if not (_is_real(value) and math.isfinite(value) and value >= 0):
            raise ValueError(f"`{name}` must be a finite number of seconds >= 0, got {value!r}")
    offsets = np.asarray(offsets, dtype=np.float64)
    if not np.isfinite(offsets).all():
        raise ValueError("`offsets` hold non-finite values")
    line = t0 + np.abs(offsets)[..., None] / velocity
    after = np.arange(nt) * dt - line
    if taper == 0:
        return (after > 0).astype(np.float64)
    ramp = np.clip(after / taper, 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(np.pi * ramp))


def top_mute(data: Any, offsets: Any, dt: float, velocity: float, t0: float = 0.0,
             taper: float = 0.05) -> Any:
    """``data`` times :func:`top_mute_weights` (``offsets`` broadcast to ``data.shape[:-1]``).

    A fixed mask multiply: linear, and on a tensor differentiable (its adjoint is the same
    multiply), so the same call mutes predicted data inside the inversion.
    """
    _check_any(data)
    return _times_trace_weights(data, top_mute_weights(offsets, dt, data.shape[-1], velocity,
                                                       t0, taper))


def _times_trace_weights(data: Any, weights: np.ndarray) -> Any:
    """``data`` times per-sample ``weights`` [*traces, nt] built from the traces' offsets."""
    try:
        np.broadcast_shapes(weights.shape, tuple(data.shape))
    except ValueError:
        raise ValueError(f"`offsets` of shape {weights.shape[:-1]} do not match the traces of "
                         f"`data` {tuple(data.shape[:-1])}") from None
    return data * _as_weights(weights, data)


def bottom_mute_weights(offsets: Any, dt: float, nt: int, velocity: float, t0: float = 0.0,
                        taper: float = 0.05) -> np.ndarray:
    """Weights ``[*offsets.shape, nt]`` of a bottom mute along the line t = t0 + |offset|/velocity:
    1 up to the line, falling as a half cosine to 0 at line + ``taper`` seconds, 0 after —
    exactly 1 − :func:`top_mute_weights` of the same line.

    With a top mute it makes a time window; alone, placed a little after the first arrivals, it
    keeps the early arrivals (diving and refracted waves) and drops the later reflections and
    converted waves — the early-arrival waveform inversion used when the data hold physics the
    solver lacks (elastic data fitted acoustically). Arguments as :func:`top_mute_weights`.
    """
    return 1.0 - top_mute_weights(offsets, dt, nt, velocity, t0, taper)


def bottom_mute(data: Any, offsets: Any, dt: float, velocity: float, t0: float = 0.0,
                taper: float = 0.05) -> Any:
    """``data`` times :func:`bottom_mute_weights` (linear, differentiable; as :func:`top_mute`)."""
    _check_any(data)
    return _times_trace_weights(data, bottom_mute_weights(offsets, dt, data.shape[-1], velocity,
                                                          t0, taper))


def offset_window(offsets: Any, min_offset: float = 0.0, max_offset: float | None = None
                  ) -> np.ndarray:
    """Boolean mask of the traces with ``min_offset`` ≤ |offset| ≤ ``max_offset`` (m; None = no
    upper limit), for :func:`kill_traces`: the traces outside are dropped on both sides."""
    offsets = np.asarray(offsets, dtype=np.float64)
    if not np.isfinite(offsets).all():
        raise ValueError("`offsets` hold non-finite values")
    if not (_is_real(min_offset) and math.isfinite(min_offset) and min_offset >= 0):
        raise ValueError(f"`min_offset` must be a finite distance >= 0 m, got {min_offset!r}")
    if max_offset is not None and not (_is_real(max_offset) and math.isfinite(max_offset)
                                       and max_offset > min_offset):
        raise ValueError(f"`max_offset` must be a finite distance > min_offset = {min_offset:g} "
                         f"m, got {max_offset!r}")
    distance = np.abs(offsets)
    keep = distance >= min_offset
    return keep if max_offset is None else keep & (distance <= max_offset)


def kill_traces(data: Any, live: Any) -> Any:
    """Zero the dead traces: ``live`` is a boolean mask over the traces (``data.shape[:-1]`` or
    broadcastable to it), True = keep. Applied to predicted data too, so that a dead observed trace
    (zeros, or noise) adds nothing to the misfit."""
    _check_any(data)
    mask = np.asarray(live)
    if mask.dtype != np.bool_:
        raise ValueError(f"`live` must be a boolean mask (True = live trace), got dtype {mask.dtype}")
    try:
        np.broadcast_shapes(mask.shape + (1,), tuple(data.shape))
    except ValueError:
        raise ValueError(f"`live` of shape {mask.shape} does not match the traces of `data` "
                         f"{tuple(data.shape[:-1])}") from None
    return data * _as_weights(mask[..., None].astype(np.float64), data)


NORMALISE_MODES = ("max", "rms")


def normalise_traces(data: Any, mode: str = "rms", *, eps: float = 1e-6) -> Any:
    """Each trace divided by its peak |amplitude| (``"max"``) or its root-mean-square (``"rms"``).

    Removes the amplitude information that acoustic modelling cannot explain on field data (source
    and receiver coupling, elastic and attenuation effects), leaving phase and relative amplitude
    along each trace. The guard: a trace's norm is floored at ``eps`` × the largest norm of the
    array, so dead or near-dead traces are not blown up into noise (an all-zero array stays zero).
    On a tensor the result is differentiable (not linear: apply the same call to predicted data);
    ``"rms"`` is smooth, ``"max"`` has a gradient through the peak sample only.
    """
    _check_any(data)
    if mode not in NORMALISE_MODES:
        raise ValueError(f"`mode` must be one of {', '.join(NORMALISE_MODES)}, got {mode!r}")
    if not (_is_real(eps) and 0 < eps < 1):
        raise ValueError(f"`eps` must be in (0, 1), got {eps!r}")
    if isinstance(data, torch.Tensor):
        norms = (data.abs().amax(dim=-1, keepdim=True) if mode == "max"
                 else data.pow(2).mean(dim=-1, keepdim=True).sqrt())
        floor = eps * norms.max()
        if float(floor.detach()) == 0.0:
            return data * 0.0
        return data / torch.maximum(norms, floor)
    array = np.asarray(data)
    norms = (np.abs(array).max(axis=-1, keepdims=True) if mode == "max"
             else np.sqrt(np.mean(array.astype(np.float64) ** 2, axis=-1, keepdims=True)))
    floor = eps * float(norms.max())
    if floor == 0.0:
        return np.zeros_like(array)
    return array / np.maximum(norms, floor)


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preprocessing:
    """The preprocessing of one run: observed data onto the modelling time axis, then the steps
    both sides share, in a fixed order: kill (dead traces and the offset window) → band → mute
    (top, then bottom) → normalise.

    Args:
        dt, nt: the modelling sample interval (s) and number of samples (the survey's).
        f_low, f_high, order: the data band (:func:`band_limit`); both None = no band filter.
        mute_velocity, mute_t0, mute_taper: the top mute (:func:`top_mute`); velocity None = none.
        bottom_velocity, bottom_t0, bottom_taper: the bottom mute (:func:`bottom_mute`);
            velocity None = none.
        min_offset, max_offset: the offset window (:func:`offset_window`, m); 0 and None = all.
        normalise: None, ``"max"`` or ``"rms"`` (:func:`normalise_traces`).
        pad_record: zero-pad observed records shorter than the modelled one (:func:`cut_record`).
    """

    dt: float
    nt: int
    f_low: float | None = None
    f_high: float | None = None
    order: int = 6
    mute_velocity: float | None = None
    mute_t0: float = 0.0
    mute_taper: float = 0.05
    bottom_velocity: float | None = None
    bottom_t0: float = 0.0
    bottom_taper: float = 0.05
    min_offset: float = 0.0
    max_offset: float | None = None
    normalise: str | None = None
    pad_record: bool = False

    def __post_init__(self) -> None:
        _positive("dt", self.dt)
        _count("nt", self.nt, 2)
        if self.f_low is not None or self.f_high is not None:
            _check_band(float(self.dt), self.f_low, self.f_high, self.order)
        if self.mute_velocity is not None:  # validates velocity, t0 and taper on a dummy trace
            top_mute_weights(0.0, self.dt, 2, self.mute_velocity, self.mute_t0, self.mute_taper)
        if self.bottom_velocity is not None:
            bottom_mute_weights(0.0, self.dt, 2, self.bottom_velocity, self.bottom_t0,
                                self.bottom_taper)
        offset_window(0.0, self.min_offset, self.max_offset)  # validates the window
        if self.normalise is not None and self.normalise not in NORMALISE_MODES:
            raise ValueError(f"`normalise` must be None or one of {', '.join(NORMALISE_MODES)}, "
                             f"got {self.normalise!r}")

    @property
    def needs_offsets(self) -> str | None:
        """What needs the traces' offsets (a mute or the offset window), or None."""
        if self.mute_velocity is not None:
            return f"the top mute is on (mute_velocity = {self.mute_velocity:g} m/s)"
        if self.bottom_velocity is not None:
            return f"the bottom mute is on (bottom_velocity = {self.bottom_velocity:g} m/s)"
        if self.min_offset > 0 or self.max_offset is not None:
            return "the offset window is on"
        return None

    def _shared(self, data: Any, offsets: Any, live: Any) -> Any:
        reason = self.needs_offsets
        if reason is not None and offsets is None:
            raise ValueError(f"`offsets` are needed: {reason}")
        if self.min_offset > 0 or self.max_offset is not None:
            window = offset_window(offsets, self.min_offset, self.max_offset)
            live = window if live is None else np.asarray(live) & window
        if live is not None:
            data = kill_traces(data, live)
        if self.f_low is not None or self.f_high is not None:
            data = band_limit(data, self.dt, self.f_low, self.f_high, order=self.order)
        if self.mute_velocity is not None:
            data = top_mute(data, offsets, self.dt, self.mute_velocity, self.mute_t0,
                            self.mute_taper)
        if self.bottom_velocity is not None:
            data = bottom_mute(data, offsets, self.dt, self.bottom_velocity, self.bottom_t0,
                               self.bottom_taper)
        if self.normalise is not None:
            data = normalise_traces(data, self.normalise)
        return data

    def apply_observed(self, data: Any, dt_in: float, *, offsets: Any = None,
                       live: Any = None) -> np.ndarray:
        """Observed ``[..., time]`` sampled at ``dt_in`` → ``[..., nt]`` at ``dt``, processed.

        Resampled when ``dt_in`` ≠ ``dt`` (:func:`resample`), cut to the modelled record
        (nt − 1)·dt (:func:`cut_record`), then the shared steps. ``offsets`` (m) and ``live`` are
        per trace, needed for the mute and the kill.
        """
        dt_in = _positive("dt_in", dt_in)
        array = _numpy_data(data)
        if abs(dt_in - self.dt) > 1e-9 * self.dt:
            array = resample(array, dt_in, self.dt)
        array = cut_record(array, self.dt, (self.nt - 1) * self.dt, pad=self.pad_record)
        return self._shared(array, offsets, live)

    def apply_predicted(self, predicted: torch.Tensor, *, offsets: Any = None,
                        live: Any = None) -> torch.Tensor:
        """The shared steps on predicted ``[..., nt]`` (differentiable); ``offsets`` and ``live``
        are those of the same traces (the simulated shots' rows)."""
        if not isinstance(predicted, torch.Tensor) or not predicted.is_floating_point():
            raise ValueError("`predicted` must be a floating-point torch tensor")
        if predicted.ndim < 1 or predicted.shape[-1] != self.nt:
            raise ValueError(f"`predicted` must have nt = {self.nt} samples (last axis), got shape "
                             f"{tuple(predicted.shape)}")
        return self._shared(predicted, offsets, live)

    def describe(self) -> dict:
        """Settings and step order, JSON-ready, for the run folder."""
        band = None if self.f_low is None and self.f_high is None else {
            "f_low": self.f_low, "f_high": self.f_high, "order": self.order,
            "filter": "zero-phase Butterworth |H|^2 in the frequency domain (crfwi.physics.signal)"}
        mute = None if self.mute_velocity is None else {
            "velocity": self.mute_velocity, "t0": self.mute_t0, "taper": self.mute_taper}
        bottom = None if self.bottom_velocity is None else {
            "velocity": self.bottom_velocity, "t0": self.bottom_t0, "taper": self.bottom_taper}
        window = None if self.min_offset == 0 and self.max_offset is None else {
            "min_offset": self.min_offset, "max_offset": self.max_offset}
        return {
            "dt": self.dt, "nt": self.nt,
            "observed_only": ["resample", "cut_record"],
            "resample": {"method": "scipy.signal.resample_poly, Kaiser FIR",
                         "pass_fraction_of_nyquist": RESAMPLE_PASS,
                         "attenuation_db": RESAMPLE_ATTENUATION_DB},
            "pad_record": self.pad_record,
            "shared_order": ["kill", "band", "mute", "bottom_mute", "normalise"],
            "offset_window": window, "band": band, "mute": mute, "bottom_mute": bottom,
            "normalise": self.normalise,
        }
