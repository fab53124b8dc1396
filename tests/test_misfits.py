"""Tests for crfwi.misfits: gradients, minima, invariances, the WECI schedule and the registry."""

from __future__ import annotations

import math

import crfwi  # noqa: F401  first: sets OMP_WAIT_POLICY before torch loads (see crfwi/__init__.py)

import numpy as np
import pytest
import torch

from crfwi import misfits
from crfwi.misfits import (WeciMisfit, envelope, envelope_misfit, global_correlation, hilbert,
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
    fn = WeciMisfit(10)
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
    fn = WeciMisfit(100)
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
