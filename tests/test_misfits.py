"""Tests for crfwi.methods.misfits: gradients, minima, invariances, the WECI schedule and the registry."""

from __future__ import annotations

import math

import crfwi  # noqa: F401  first: sets OMP_WAIT_POLICY before torch loads (see crfwi/__init__.py)

import numpy as np
import pytest
import torch

from crfwi.methods import misfits
from crfwi.methods.misfits import (WeciMisfit, envelope, envelope_misfit, global_correlation, hilbert,
                           l2, ncc)

SHAPE = (2, 3, 32)


def pair(seed: int = 0, shape=SHAPE) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64),
            torch.randn(shape, generator=g, dtype=torch.float64))


def gabor(nt: int = 128, *, phase: float = 0.0, shift: float = 0.0) -> torch.Tensor:
    """A Gaussian-windowed 10-cycle carrier, centre at nt/2 + shift samples."""
    t = torch.arange(nt, dtype=torch.float64)
    centre = nt / 2 + shift
    carrier = torch.cos(2 * math.pi * 0.15 * (t - centre) + phase)
    return torch.exp(-((t - centre) / 12.0) ** 2) * carrier


PLAIN = {"l2": l2, "envelope": envelope_misfit(1.5), "envelope_p2": envelope_misfit(2.0),
         "global_correlation": global_correlation, "ncc": ncc}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_gradcheck(name):
    fn = PLAIN[name]
    pred, obs = pair(1)
    pred.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: fn(p, obs), (pred,))


@pytest.mark.parametrize("iteration", [3, 5, 7])
def test_weci_gradcheck(iteration):
    # ADFWI's unnormalised blend is an ordinary function of `predicted`; the normalised one holds
    # its scales constant in the gradient on purpose (see test_weci_normalised_gradient).
    fn = WeciMisfit(10, normalize="none")
    pred, obs = pair(2)
    pred.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: fn(p, obs, iteration=iteration), (pred,))


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_minimum_at_observed(name):
    fn = PLAIN[name]
    _, obs = pair(3)
    pred = obs.clone().requires_grad_(True)
    value = fn(pred, obs)
    (grad,) = torch.autograd.grad(value, pred)
    value = value.detach()
    n_traces = SHAPE[0] * SHAPE[1]
    expected = -n_traces if name == "global_correlation" else 0.0
    assert float(value) == pytest.approx(expected, abs=1e-10)
    assert float(grad.abs().max()) < 1e-8
    other, _ = pair(4)
    assert float(fn(other, obs)) > float(value) + 1e-3


def test_sums_over_shots():
    pred, obs = pair(5)
    for fn in PLAIN.values():
        parts = sum(float(fn(pred[i:i + 1], obs[i:i + 1])) for i in range(SHAPE[0]))
        assert float(fn(pred, obs)) == pytest.approx(parts, rel=1e-12)


def test_global_correlation_scale_invariant_and_ncc_offset_invariant():
    pred, obs = pair(6)
    gc = float(global_correlation(pred, obs))
    assert float(global_correlation(3.7 * pred, obs)) == pytest.approx(gc, rel=1e-12)
    assert float(global_correlation(-pred, obs)) == pytest.approx(-gc, rel=1e-12)
    value = float(ncc(pred, obs))
    assert float(ncc(0.2 * pred + 5.0, obs)) == pytest.approx(value, rel=1e-10)
    # zero-mean traces: ncc = global_correlation + number of traces
    p0, o0 = pred - pred.mean(-1, keepdim=True), obs - obs.mean(-1, keepdim=True)
    assert float(ncc(p0, o0)) == pytest.approx(float(global_correlation(p0, o0)) + 6, rel=1e-10)


def test_zero_traces_are_finite():
    pred, obs = pair(7)
    pred = pred.clone()
    pred[0, 1] = 0.0
    obs = obs.clone()
    obs[0, 1] = 0.0
    pred.requires_grad_(True)
    for fn in PLAIN.values():
        (grad,) = torch.autograd.grad(fn(pred, obs), pred)
        assert bool(torch.isfinite(grad).all())


def test_hilbert_of_cosine_is_exponential():
    n = 64
    t = torch.arange(n, dtype=torch.float64)
    x = torch.cos(2 * math.pi * 4 * t / n)  # integer number of periods: exact up to padding
    a = hilbert(x)
    assert torch.allclose(a.real, x, atol=1e-12)
    mid = slice(16, 48)  # zero padding to 2n leaves end effects
    assert torch.allclose(a.imag[mid], torch.sin(2 * math.pi * 4 * t / n)[mid], atol=0.05)


def test_envelope_insensitive_to_phase_rotation():
    cos = gabor(phase=0.0).reshape(1, 1, -1)
    sin = gabor(phase=math.pi / 2).reshape(1, 1, -1)
    shifted = gabor(shift=20.0).reshape(1, 1, -1)
    rotated = float(envelope(sin, cos))
    moved = float(envelope(shifted, cos))
    assert rotated < 1e-3 * moved
    assert float(l2(sin, cos)) > 0.3 * float(l2(shifted, cos))  # l2 does see the rotation


def test_weci_weight_and_blend():
    fn = WeciMisfit(100, normalize="none")
    assert fn.weight(50) == pytest.approx(0.5)
    assert fn.weight(0) < 1e-20 and 1 - fn.weight(100) < 1e-20
    assert fn.weight(45) < 0.01 and fn.weight(55) > 0.99
    assert fn.weight(-10_000) == 0.0 and fn.weight(10_000) == 1.0  # no overflow
    weights = [fn.weight(i) for i in range(101)]
    assert all(b >= a for a, b in zip(weights, weights[1:]))
    assert WeciMisfit(100, steepness=0.1).weight(40) == pytest.approx(1 / (1 + math.e))
    pred, obs = pair(8)
    w = fn.weight(52)
    expected = w * float(global_correlation(pred, obs)) + (1 - w) * float(envelope(pred, obs))
    assert float(fn(pred, obs, iteration=52)) == pytest.approx(expected, rel=1e-12)
    assert float(fn.at(52)(pred, obs)) == pytest.approx(expected, rel=1e-12)
    assert float(fn(pred, obs, iteration=0)) == pytest.approx(float(envelope(pred, obs)), rel=1e-12)
    with pytest.raises(TypeError):
        fn(pred, obs)  # the iteration is required, never a hidden counter
    with pytest.raises(ValueError):
        WeciMisfit(0)
    with pytest.raises(ValueError, match="normalize"):
        WeciMisfit(10, normalize="grad")


def _shot_gradient_norms(fn, pred, obs, iteration):
    p = pred.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(p, obs, iteration=iteration), p)
    return grad.flatten(1).norm(dim=1)


def test_weci_normalised_terms_send_unit_adjoint_sources_per_shot():
    """Each shot's term reaches the adjoint solve with norm 1 (× its blend weight), whatever the
    data amplitude: the envelope half and the correlation half move the model at one rate."""
    fn = WeciMisfit(20)  # default: normalize="adjoint"
    pred, obs = pair(12, shape=(3, 4, 64))
    for iteration in (0, 19):  # w = 4.5e-5, 1 − 1.2e-4: essentially one unit-norm term each
        norms = _shot_gradient_norms(fn, pred, obs, iteration)
        assert norms.tolist() == pytest.approx([1.0] * 3, abs=3e-4)
        # amplitudes 1e3 times larger: the unnormalised envelope gradient grows 1e6-fold, these don't
        scaled = _shot_gradient_norms(fn, 1e3 * pred, 1e3 * obs, iteration)
        assert scaled.tolist() == pytest.approx(norms.tolist(), rel=1e-6)
    raw = WeciMisfit(20, normalize="none")
    ratio = (_shot_gradient_norms(raw, pred, obs, 0) / _shot_gradient_norms(raw, pred, obs, 19))
    assert float(ratio.min()) > 1.5  # the unnormalised halves differ in scale (here ~10)


def test_weci_normalised_gradient():
    """J = Σ_s [w·GC'_s/‖∂GC'_s/∂p_s‖ + (1−w)·Env_s/‖∂Env_s/∂p_s‖], scales without gradient; sums
    over shots (so shot chunks add up) and is a function of the data only (stateless)."""
    fn = WeciMisfit(10)
    pred, obs = pair(13, shape=(2, 3, 48))
    w = fn.weight(5)
    expected = torch.zeros_like(pred)
    value = 0.0
    for s in range(2):
        for weight, term in ((w, lambda p: global_correlation(p, obs[s:s + 1]) + 3.0),
                             (1 - w, lambda p: envelope(p, obs[s:s + 1]))):
            p = pred[s:s + 1].clone().requires_grad_(True)
            v = term(p)
            (g,) = torch.autograd.grad(v, p)
            expected[s] += weight * g[0] / g.norm()
            value += weight * float(v.detach()) / float(g.norm())
    p = pred.clone().requires_grad_(True)
    total = fn(p, obs, iteration=5)
    (grad,) = torch.autograd.grad(total, p)
    assert float(total.detach()) == pytest.approx(value, rel=1e-10)
    assert torch.allclose(grad, expected, rtol=1e-8, atol=1e-12)
    by_shot = sum(float(fn(pred[s:s + 1], obs[s:s + 1], iteration=5)) for s in range(2))
    assert by_shot == pytest.approx(float(total.detach()), rel=1e-12)
    assert float(fn(pred, obs, iteration=5)) == float(total.detach())  # no hidden state
    # a perfectly fitted shot contributes nothing (finite, zero gradient)
    p = obs.clone().requires_grad_(True)
    value = fn(p, obs, iteration=5)
    (grad,) = torch.autograd.grad(value, p)
    assert torch.isfinite(grad).all() and float(grad.abs().max()) == 0.0


def test_adfwi_l2_by_hand():
    """ADFWI's misfit: Σ_traces √(Σ_t (p̂ − ô)² dt) on peak-normalised traces."""
    pred, obs = pair(14)
    dt = 0.002
    p_hat = pred / pred.abs().amax(dim=-1, keepdim=True)
    o_hat = obs / obs.abs().amax(dim=-1, keepdim=True)
    expected = ((p_hat - o_hat) ** 2 * dt).sum(dim=-1).sqrt().sum()
    assert float(misfits.adfwi_l2(pred, obs, dt=dt)) == pytest.approx(float(expected), rel=1e-9)
    # trace normalisation: any positive gain per trace changes nothing
    gain = torch.rand(*SHAPE[:2], 1, dtype=torch.float64) * 1e4 + 1.0
    assert float(misfits.adfwi_l2(gain * pred, obs, dt=dt)) == pytest.approx(float(expected), rel=1e-9)
    raw = ((pred - obs) ** 2 * dt).sum(dim=-1).sqrt().sum()
    assert float(misfits.adfwi_l2(pred, obs, dt=dt, normalize=False)) == pytest.approx(float(raw))
    p = obs.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(misfits.adfwi_l2(p, obs, dt=dt), p)
    assert torch.isfinite(grad).all()
    with pytest.raises(ValueError, match="dt"):
        misfits.adfwi_l2(pred, obs, dt=0.0)


def test_multiscale_bands_rule():
    # a preset: the paper's bands times the scale's frequency ratio
    assert misfits.multiscale_bands(8.0, ratio=1.0) == misfits.PAPER_BANDS
    assert misfits.multiscale_bands(4.0, ratio=0.5) == (2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
    # no preset: the paper's bands in Hz, those below 2.5 x the source frequency
    assert misfits.multiscale_bands(15.0) == misfits.PAPER_BANDS
    assert misfits.multiscale_bands(4.0) == (4.0, 6.0, 8.0)
    assert misfits.multiscale_bands(2.0) == (4.0,)
    with pytest.raises(ValueError, match="usable band"):
        misfits.multiscale_bands(1.5)


def test_registry():
    names = misfits.available()
    assert set(names) == {"l2", "envelope", "global_correlation", "ncc", "weci"}
    for name in names:
        if name != "weci":
            assert callable(misfits.get(name))
    with pytest.raises(ValueError, match="total_iterations"):
        misfits.get("weci")
    with pytest.raises(ValueError, match="valid: .*l2"):
        misfits.get("nope")
    with pytest.raises(ValueError, match="valid"):
        misfits.build("nope")
    weci = misfits.build("weci", total_iterations=30, power=2.0)
    assert isinstance(weci, WeciMisfit) and weci.needs_iteration and weci.power == 2.0
    pred, obs = pair(9)
    env2 = misfits.build("envelope", power=2.0)
    assert float(env2(pred, obs)) == pytest.approx(float(envelope(pred, obs, power=2.0)))
    assert float(misfits.get("envelope")(pred, obs)) == pytest.approx(float(envelope(pred, obs)))
    assert misfits.build("l2") is l2
    with pytest.raises(TypeError):
        misfits.build("l2", power=2)


def test_shape_validation():
    pred, obs = pair(10)
    with pytest.raises(ValueError, match="same shape"):
        envelope(pred, obs[:, :2])
    with pytest.raises(ValueError, match="3-D"):
        global_correlation(pred[0], obs[0])
    with pytest.raises(ValueError, match="power"):
        envelope_misfit(0.0)


def test_float32_runs():
    pred, obs = (x.float() for x in pair(11))
    for fn in PLAIN.values():
        assert np.isfinite(float(fn(pred, obs)))
