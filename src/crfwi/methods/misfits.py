"""Data misfits: one signature, ``misfit(predicted, observed) -> scalar``, both ``[shot, receiver, time]``.

Every misfit sums over the shots it is given, so the loss of a shot batch is the sum of its shots'
losses and gradients from several batches (or processes) simply add up. Every misfit is
differentiable with respect to ``predicted`` (``observed`` is data, never differentiated).

Iteration-dependent misfits (WECI-FWI's blend, PAPER.md §3.1) do not fit the plain signature, so
they are a second, explicit kind: an object with ``needs_iteration = True``, called as
``fn(predicted, observed, *, iteration=i)``, whose ``at(i)`` returns the plain misfit of
iteration ``i``. They are stateless (the iteration is an argument, not a hidden counter as in
ADFWI), so a resumed run computes exactly the losses of the uninterrupted one. :func:`get`
returns plain misfits only; :func:`build` constructs any registered misfit from options, e.g.
``build("weci", total_iterations=300)`` or ``build("envelope", power=2.0)``.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

__all__ = ["l2", "envelope", "envelope_misfit", "global_correlation", "ncc", "IterationMisfit",
           "WeciMisfit", "WECI_NORMALIZE", "adfwi_l2",
           "Multiscale", "PAPER_BANDS", "multiscale_bands", "hilbert", "get", "build", "available", "Misfit"]

Misfit = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

ENVELOPE_EPS = 1e-10
"""ε (data units) in the envelope E = √(Re² + Im² + ε²): keeps ∂E/∂a finite where the analytic
signal a is exactly 0 (e.g. an all-zero trace), where √ has an infinite slope and autograd would
give NaN (0/0). E ≥ ε is a bias of 1e-10, far below any recorded amplitude."""

NORM_EPS = 1e-12
"""ε (data units) in the trace norm ‖p‖_ε = √(Σ p² + ε²) of the correlation misfits: a zero trace
then has p̂ = 0 (no contribution, zero gradient) instead of 0/0."""


def _check(predicted: torch.Tensor, observed: torch.Tensor) -> None:
    if predicted.shape != observed.shape:
        raise ValueError(f"`predicted` {tuple(predicted.shape)} and `observed` "
                         f"{tuple(observed.shape)} must have the same shape [shot, receiver, time]")
    if predicted.ndim != 3:
        raise ValueError(f"`predicted` and `observed` must be 3-D [shot, receiver, time], "
                         f"got shape {tuple(predicted.shape)}")


def l2(predicted: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """½ Σ (predicted − observed)², the paper's objective (eq. 2 and eq. 6)."""
    _check(predicted, observed)
    return 0.5 * (predicted - observed).square().sum()


def adfwi_l2(predicted: torch.Tensor, observed: torch.Tensor, *, dt: float,
             normalize: bool = True, eps: float = NORM_EPS) -> torch.Tensor:
    """ADFWI's default waveform misfit, in ADFWI's units: Σ_{shot,receiver} √(Σ_t r² dt).

    r = p̂ − ô, where (``normalize``, ADFWI's ``waveform_normalize = True`` default of
    ``AcousticFWI``, used by its examples) each trace is divided by its own peak |amplitude| over
    time, so the source amplitude and the solver's amplitude convention cancel. Note the square
    root per trace: unlike :func:`l2` this is a sum of trace norms, not half a squared norm, so its
    gradient with respect to the data is the per-trace *unit* residual r/‖r‖ (times √dt) and does
    not shrink as the fit improves. Guards: √(Σ r² dt + ε²) and peak + ε (ε = ``eps``), so a
    perfectly fitted or all-zero trace gives a finite gradient.

    Source: ADFWI ``fwi/misfit/L2.py`` (``Misfit_waveform_L2``) and ``fwi/acoustic_fwi.py``. Not a
    crfwi objective (not in :func:`available`): crfwi uses it to express ADFWI-TV's weight, which
    is set against this misfit, in crfwi's units (:class:`crfwi.methods.regularizers.TVSchedule`).
    """
    _check(predicted, observed)
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0, got {dt}")
    if normalize:
        predicted = predicted / (predicted.abs().amax(dim=-1, keepdim=True) + eps)
        observed = observed / (observed.abs().amax(dim=-1, keepdim=True) + eps)
    energy = (predicted - observed).square().sum(dim=-1) * dt
    return torch.sqrt(energy + eps * eps).sum()


# ---------------------------------------------------------------------------------------------
def hilbert(x: torch.Tensor) -> torch.Tensor:
    """Analytic signal x + i·H[x] along the last axis (time), complex, same shape as ``x``.

    FFT method: transform zero-padded to 2·nt samples (as ADFWI's ``Envelope.py``, so the circular
    wrap-around of the Hilbert kernel's slow 1/t decay is halved), keep the DC and Nyquist bins,
    double the positive frequencies, zero the negative ones, inverse-transform and crop to nt.
    Linear in ``x``, hence differentiable (autograd through ``torch.fft``).
    """
    nt = x.shape[-1]
    n = 2 * nt
    spectrum = torch.fft.fft(x, n=n, dim=-1)
    h = torch.zeros(n, dtype=x.dtype, device=x.device)
    h[0] = 1.0
    h[1:n // 2] = 2.0
    h[n // 2] = 1.0  # n is even: the Nyquist bin is kept once
    return torch.fft.ifft(spectrum * h, dim=-1)[..., :nt]


def _envelope(x: torch.Tensor, eps: float) -> torch.Tensor:
    a = hilbert(x)
    return torch.sqrt(a.real.square() + a.imag.square() + eps * eps)


def envelope(predicted: torch.Tensor, observed: torch.Tensor, *, power: float = 1.5,
             eps: float = ENVELOPE_EPS) -> torch.Tensor:
    """Envelope misfit ½ Σ_{shot,receiver,t} (E(predicted)^p − E(observed)^p)².

    E(x) = |x + i·H[x]| is the instantaneous amplitude along time (:func:`hilbert`), computed as
    √(Re² + Im² + ε²) with ε = ``eps`` (default :data:`ENVELOPE_EPS`) so the gradient is finite
    where the analytic signal vanishes. The envelope is nearly insensitive to the carrier phase,
    which is why it tolerates cycle skipping (Wu et al. 2014, Yuan et al. 2015).

    Source: ADFWI ``fwi/misfit/Envelope.py`` (``Misfit_envelope``, L2 norm, p = 1.5 by default, as
    used by ``Weci.py``; PAPER.md §3.1). ADFWI also multiplies by dt; that constant factor is
    omitted here, as in :func:`l2`.

    Args:
        predicted, observed: ``[shot, receiver, time]``.
        power: p > 0, default 1.5.
        eps: ε in data units.
    """
    _check(predicted, observed)
    if not power > 0:
        raise ValueError(f"`power` must be > 0, got {power}")
    residual = _envelope(predicted, eps).pow(power) - _envelope(observed, eps).pow(power)
    return 0.5 * residual.square().sum()


def envelope_misfit(power: float = 1.5, *, eps: float = ENVELOPE_EPS) -> Misfit:
    """The plain misfit ``(predicted, observed) -> scalar`` :func:`envelope` with this ``power``."""
    if not power > 0:
        raise ValueError(f"`power` must be > 0, got {power}")

    def misfit(predicted: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        return envelope(predicted, observed, power=power, eps=eps)

    misfit.__name__ = f"envelope_p{power:g}"
    misfit.__doc__ = f"Envelope misfit with p = {power:g} (see crfwi.methods.misfits.envelope)."
    return misfit


# ---------------------------------------------------------------------------------------------
def _unit(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Each trace (last axis) divided by its norm √(Σ x² + ε²)."""
    return x / torch.sqrt(x.square().sum(dim=-1, keepdim=True) + eps * eps)


def global_correlation(predicted: torch.Tensor, observed: torch.Tensor, *,
                       eps: float = NORM_EPS) -> torch.Tensor:
    """Global-correlation misfit −Σ_{shot,receiver} ⟨p̂, ô⟩, with p̂ = p/‖p‖ per trace.

    ‖p‖ = √(Σ_t p² + ε²) (ε = ``eps``, default :data:`NORM_EPS`), so an all-zero trace contributes
    0 with zero gradient. Each term lies in [−1, 1]; the minimum, −(number of traces), is reached
    when every predicted trace is a positive multiple of the observed one: the misfit ignores
    amplitudes trace by trace and compares waveform shapes (zero-lag correlation).

    Source: Choi & Alkhalifah (2012), used by WECI-FWI (Song et al. 2023; ADFWI
    ``fwi/misfit/GlobalCorrelation.py``, PAPER.md §3.1). ADFWI divides mean(p̂·ô) by the
    (mean-removed, unbiased) standard deviations of p̂ and ô and multiplies by dt; for zero-mean
    traces that is this misfit times nt/(nt − 1)·dt. Here the textbook form is used.
    """
    _check(predicted, observed)
    return -(_unit(predicted, eps) * _unit(observed, eps)).sum()


def ncc(predicted: torch.Tensor, observed: torch.Tensor, *, eps: float = NORM_EPS) -> torch.Tensor:
    """Zero-normalised cross-correlation misfit Σ_{shot,receiver} (1 − r), r = Pearson coefficient.

    r = ⟨p̃, õ⟩ with p̃ = (p − mean_t p)/‖p − mean_t p‖ per trace (norm guarded by ε as in
    :func:`global_correlation`). This is ZNCC at zero lag (the "normalised cross-correlation" of
    image registration): smooth, ≥ 0, zero when every predicted trace equals a·observed + b with
    a > 0, and invariant to both the scale and the offset (DC) of each trace. It differs from
    :func:`global_correlation` by the mean removal (so it also ignores a DC shift) and by the
    constant 1 that makes a perfect fit score 0; for zero-mean traces ncc = global_correlation +
    number of traces. A maximum over lags would not be smooth, so none is taken.
    """
    _check(predicted, observed)
    p = predicted - predicted.mean(dim=-1, keepdim=True)
    o = observed - observed.mean(dim=-1, keepdim=True)
    return (1.0 - (_unit(p, eps) * _unit(o, eps)).sum(dim=-1)).sum()


# ---------------------------------------------------------------------------------------------
class IterationMisfit:
    """Base of the iteration-dependent misfits: ``fn(predicted, observed, iteration=i)``, and
    ``at(i)`` for the plain misfit of iteration i (what :class:`crfwi.inversion.loop.Inversion` calls)."""

    needs_iteration = True

    def __call__(self, predicted: torch.Tensor, observed: torch.Tensor, *,
                 iteration: int) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def at(self, iteration: int) -> Misfit:
        """The plain misfit of ``iteration``."""
        def misfit(predicted: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
            return self(predicted, observed, iteration=iteration)

        misfit.__name__ = f"{type(self).__name__.lower()}_iteration{iteration}"
        return misfit


WECI_FIT_FLOOR = 4.0
"""A shot's WECI term counts as fitted, and contributes 0, when its value is at most this many
machine epsilons of its value for a zero prediction (e.g. GC' ≤ 4.8e-7 × number of traces in
float32): below that the term's gradient is rounding noise, which normalising would blow up to
unit size."""

WECI_NORMALIZE = ("adjoint", "none")
"""How :class:`WeciMisfit` scales its two terms: ``"adjoint"`` (default) each shot's term divided by
the norm of its own adjoint source; ``"none"`` ADFWI's unnormalised blend."""


def _gc_per_shot(predicted: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """Σ_receivers (1 − ⟨p̂, ô⟩) per shot: :func:`global_correlation` + number of traces, ≥ 0."""
    cos = (_unit(predicted, NORM_EPS) * _unit(observed, NORM_EPS)).sum(dim=-1)
    return (1.0 - cos).sum(dim=-1)


def _envelope_per_shot(predicted: torch.Tensor, observed: torch.Tensor, power: float) -> torch.Tensor:
    """:func:`envelope` per shot."""
    residual = (_envelope(predicted, ENVELOPE_EPS).pow(power)
                - _envelope(observed, ENVELOPE_EPS).pow(power))
    return 0.5 * residual.square().sum(dim=(-2, -1))


def _adjoint_norms(per_shot: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                   predicted: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """‖∂f_s/∂p_s‖ per shot s, the norm of f's adjoint source (no gradient flows through it)."""
    with torch.enable_grad():
        p = predicted.detach().requires_grad_(True)
        grad, = torch.autograd.grad(per_shot(p, observed).sum(), p)
    return grad.flatten(1).norm(dim=1)


class WeciMisfit(IterationMisfit):
    """WECI-FWI: logistic blend of global correlation and envelope misfits (Song et al. 2023).

    ``J_i = w(i)·GC + (1 − w(i))·Envelope_p`` with ``w(i) = 1/(1 + exp(−s·(i − N/2)))``, N =
    ``total_iterations``, i the 0-based iteration (number of completed steps, as
    :attr:`crfwi.inversion.loop.Inversion.iteration`). Early iterations fit envelopes (robust to cycle
    skipping), late ones the waveform shape. Source: ADFWI ``fwi/misfit/Weci.py`` (PAPER.md §3.1),
    whose logistic is unscaled, s = ``steepness`` = 1: the switch then takes ~10 iterations
    around N/2, whatever N (w(N/2 ∓ 5) ≈ 0.007 / 0.993). A smaller s spreads it out; it is
    not the paper's.

    **Normalisation** (``normalize``). ADFWI adds the two terms as they are. Their gradients are
    then orders of magnitude apart (the envelope misfit scales as amplitude^(2p), the correlation
    is amplitude-free; measured 2.5e4–5.6e6 on the presets), so after the switch Adam's second
    moment, still holding the envelope's scale (β2 = 0.999: a memory of ~1000 iterations),
    shrinks every update to ~1e-4 m/s and the model freezes: the GC half never acts.
    ``"adjoint"`` (default) therefore divides each term, shot by shot, by the norm of its own
    adjoint source, ‖∂term_s/∂predicted_s‖, taken without gradient at the current prediction:

        J_i = Σ_s [ w(i)·GC'_s / ‖∂GC'_s/∂p_s‖ + (1 − w(i))·Env_s / ‖∂Env_s/∂p_s‖ ],

    with GC'_s = Σ_receivers (1 − ⟨p̂, ô⟩) ≥ 0 (GC plus a constant: same gradient). Each term then
    sends a unit-norm residual into the adjoint solve, so both halves move the model at the same
    rate and the blend weight w(i) means what it says; each term's value becomes a data-space
    length (value / slope, data units, like ½‖r‖ for L2). Stateless (a function of the current
    prediction and the data only, like every misfit here), so a resumed run computes exactly the
    losses of the uninterrupted one, and per shot, so sums over shot chunks still hold. A shot
    whose term is fitted to rounding precision (:data:`WECI_FIT_FLOOR`) contributes 0. ``"none"``: ADFWI's blend.

    Iteration-dependent: call ``fn(predicted, observed, iteration=i)``, or use ``fn.at(i)`` to
    get the plain ``(predicted, observed) -> scalar`` misfit of iteration i.

    Args:
        total_iterations: N ≥ 1.
        power: envelope power p, default 1.5 (ADFWI).
        steepness: s > 0, default 1.0 (ADFWI).
        normalize: ``"adjoint"`` (default) or ``"none"`` (ADFWI's unnormalised blend).
    """

    def __init__(self, total_iterations: int, power: float = 1.5, *,
                 steepness: float = 1.0, normalize: str = "adjoint") -> None:
        if int(total_iterations) != total_iterations or total_iterations < 1:
            raise ValueError(f"`total_iterations` must be an integer >= 1, got {total_iterations}")
        if not power > 0:
            raise ValueError(f"`power` must be > 0, got {power}")
        if not steepness > 0:
            raise ValueError(f"`steepness` must be > 0, got {steepness}")
        if normalize not in WECI_NORMALIZE:
            raise ValueError(f"`normalize` must be one of {', '.join(WECI_NORMALIZE)}, "
                             f"got {normalize!r}")
        self.total_iterations = int(total_iterations)
        self.power = float(power)
        self.steepness = float(steepness)
        self.normalize = normalize

    def weight(self, iteration: int) -> float:
        """w(i) ∈ (0, 1), the weight of the global-correlation term; 0.5 at i = N/2."""
        z = self.steepness * (iteration - self.total_iterations / 2)
        if z >= 0:  # the two branches avoid exp overflow for |z| large
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def __call__(self, predicted: torch.Tensor, observed: torch.Tensor, *,
                 iteration: int) -> torch.Tensor:
        w = self.weight(iteration)
        if self.normalize == "none":
            return (w * global_correlation(predicted, observed)
                    + (1.0 - w) * envelope(predicted, observed, power=self.power))
        _check(predicted, observed)

        def env(p: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
            return _envelope_per_shot(p, o, self.power)

        total = predicted.new_zeros(())
        floor = WECI_FIT_FLOOR * torch.finfo(predicted.dtype).eps
        for weight, term in ((w, _gc_per_shot), (1.0 - w, env)):
            if weight == 0.0:
                continue
            value = term(predicted, observed)
            with torch.no_grad():  # the term's value for a zero prediction: its natural scale
                fitted = value.detach() <= floor * term(torch.zeros_like(observed), observed)
            norms = _adjoint_norms(term, predicted, observed)
            live = (norms > 0) & ~fitted
            inverse = torch.where(live, 1.0 / norms.clamp_min(torch.finfo(norms.dtype).tiny),
                                  torch.zeros_like(norms))
            total = total + weight * (value * inverse).sum()
        return total

    def __repr__(self) -> str:
        return (f"WeciMisfit(total_iterations={self.total_iterations}, power={self.power:g}, "
                f"steepness={self.steepness:g}, normalize={self.normalize!r})")


# ---------------------------------------------------------------------------------------------
PAPER_BANDS = (4.0, 6.0, 8.0, 10.0, 12.0, 14.0)
"""MS-FWI's low-pass cut-offs in Hz: 6 bands from 4 to 14 Hz in 2 Hz steps (PAPER.md §3.1), the
same on every dataset (8 Hz Marmousi and 10 Hz sources alike)."""

RICKER_USABLE = 2.5
"""Top of a Ricker wavelet's usable band, in multiples of its peak frequency f0: its amplitude
spectrum (f/f0)²·exp(1 − (f/f0)²) is 0.033 of the peak (−30 dB) at 2.5·f0."""


def multiscale_bands(freq: float, *, ratio: float | None = None) -> tuple[float, ...]:
    """MS-FWI's default low-pass cut-offs (Hz) for data of source peak frequency ``freq`` (Hz).

    * ``ratio`` given (a run of a preset, :mod:`crfwi.presets`): :data:`PAPER_BANDS` × ``ratio``,
      the scale's source frequency over the paper scale's (1 at paper scale: 4–14 Hz, as the paper
      uses on every dataset; 0.5 for the cpu scales, whose frequency is halved with the grid
      spacing doubled, so the bands keep their place relative to the data's spectrum).
    * no ``ratio`` (a run without a preset: no paper experiment it scales): the paper's bands in
      Hz as they are, keeping those below the data's usable band, b < :data:`RICKER_USABLE` ×
      ``freq`` (above it the low-pass leaves the data as they are, so such a band would only
      repeat the full-band fit). ValueError if none remains (``freq`` < 1.6 Hz): pass bands
      explicitly then.
    """
    if not freq > 0:
        raise ValueError(f"`freq` must be > 0, got {freq}")
    if ratio is not None:
        if not ratio > 0:
            raise ValueError(f"`ratio` must be > 0, got {ratio}")
        return tuple(round(b * ratio, 6) for b in PAPER_BANDS)
    bands = tuple(b for b in PAPER_BANDS if b < RICKER_USABLE * freq)
    if not bands:
        raise ValueError(f"none of the paper's bands {list(PAPER_BANDS)} Hz lies below the usable "
                         f"band ({RICKER_USABLE:g} x {freq:g} Hz) of the data; give the bands")
    return bands


class Multiscale(IterationMisfit):
    """MS-FWI (Bunks et al. 1995; Fichtner et al. 2013): fit low-passed data, band after band.

    Iteration i uses band ``b = min(i // iterations_per_band, len(bands) − 1)``: predicted and
    observed data both pass the same zero-phase low-pass at ``bands[b]`` Hz before the base
    misfit (the last band runs until the end of the inversion). The filter is
    :func:`crfwi.physics.signal.lowpass_torch`: |H(f)|² of a Butterworth of ``order`` 6, i.e. exactly a
    forward-backward (zero-phase) Butterworth, applied in the frequency domain so that it is
    differentiable and its adjoint is itself. The observed data are filtered on each call,
    without gradient (an FFT of the batch: negligible next to a wave solve). Filtering both sides with one operator keeps the
    misfit consistent (the paper's filter type and band lengths are not given, PAPER.md §9.11).

    Iteration-dependent, stateless like :class:`WeciMisfit`.

    Args:
        base: the misfit applied to the filtered data (default l2).
        dt: the data's sample interval in seconds.
        bands: increasing low-pass cut-offs in Hz (default :data:`PAPER_BANDS`).
        iterations_per_band: ≥ 1.
        order: Butterworth order (default 6).
    """

    def __init__(self, *, dt: float, iterations_per_band: int, bands=PAPER_BANDS,
                 base: Misfit | str = "l2", order: int = 6) -> None:
        bands = tuple(float(b) for b in bands)
        if not bands or any(b <= 0 for b in bands) or list(bands) != sorted(set(bands)):
            raise ValueError(f"`bands` must be increasing positive frequencies in Hz, got {list(bands)}")
        if not dt > 0:
            raise ValueError(f"`dt` must be > 0, got {dt}")
        nyquist = 0.5 / dt
        if bands[-1] >= nyquist:
            raise ValueError(f"band {bands[-1]:g} Hz is at or above the Nyquist frequency "
                             f"{nyquist:g} Hz of dt = {dt:g} s")
        if int(iterations_per_band) != iterations_per_band or iterations_per_band < 1:
            raise ValueError(f"`iterations_per_band` must be an integer >= 1, got {iterations_per_band}")
        self.base = get(base) if isinstance(base, str) else base
        self.dt = float(dt)
        self.bands = bands
        self.iterations_per_band = int(iterations_per_band)
        self.order = int(order)

    def band(self, iteration: int) -> float:
        """The low-pass cut-off (Hz) of ``iteration`` (0-based)."""
        if iteration < 0:
            raise ValueError(f"`iteration` must be >= 0, got {iteration}")
        return self.bands[min(int(iteration) // self.iterations_per_band, len(self.bands) - 1)]

    def __call__(self, predicted: torch.Tensor, observed: torch.Tensor, *,
                 iteration: int) -> torch.Tensor:
        from ..physics.signal import lowpass_torch  # signal imports scipy; keep misfits light to import

        cutoff = self.band(iteration)
        with torch.no_grad():
            observed = lowpass_torch(observed, self.dt, cutoff, order=self.order)
        return self.base(lowpass_torch(predicted, self.dt, cutoff, order=self.order), observed)

    def __repr__(self) -> str:
        return (f"Multiscale(bands={list(self.bands)}, iterations_per_band={self.iterations_per_band}, "
                f"dt={self.dt:g}, order={self.order})")


# ---------------------------------------------------------------------------------------------
_MISFITS: dict[str, Misfit] = {
    "l2": l2,
    "envelope": envelope_misfit(1.5),
    "global_correlation": global_correlation,
    "ncc": ncc,
}

# name -> constructor from keyword options (plain misfits without options are returned as-is)
_BUILDERS: dict[str, Callable[..., object]] = {
    "envelope": envelope_misfit,
    "weci": WeciMisfit,
}

# misfits that cannot be used without options, with what they need
_NEEDS_OPTIONS = {"weci": "total_iterations (use build('weci', total_iterations=N))"}


def available() -> list[str]:
    """All misfit names, for :func:`get` (plain ones) and :func:`build` (all)."""
    return sorted(set(_MISFITS) | set(_BUILDERS))


def get(name: str) -> Misfit:
    """The plain misfit registered as ``name``, with its default options.

    Unknown names raise ValueError listing the valid ones; a misfit that needs options
    (``"weci"``) raises ValueError saying which and pointing to :func:`build`.
    """
    if name in _NEEDS_OPTIONS:
        raise ValueError(f"misfit {name!r} needs {_NEEDS_OPTIONS[name]}")
    try:
        return _MISFITS[name]
    except KeyError:
        raise ValueError(f"unknown misfit {name!r}; valid: {', '.join(available())}") from None


def build(name: str, **options):
    """The misfit ``name`` constructed with ``options``.

    ``build("l2")`` is ``get("l2")``; ``build("envelope", power=2.0)`` a plain misfit;
    ``build("weci", total_iterations=N, power=1.5, steepness=1.0)`` a :class:`WeciMisfit`
    (iteration-dependent, see the module docstring). Options a misfit does not take raise
    TypeError; unknown names ValueError.
    """
    if name in _BUILDERS:
        return _BUILDERS[name](**options)
    fn = get(name)
    if options:
        raise TypeError(f"misfit {name!r} takes no options, got {', '.join(sorted(options))}")
    return fn
