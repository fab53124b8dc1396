"""Tests for crfwi.regularizers: TV by hand, its gradient and the StepLR schedule."""

from __future__ import annotations

import crfwi  # noqa: F401  first: sets OMP_WAIT_POLICY before torch loads (see crfwi/__init__.py)

import pytest
import torch

from crfwi.regularizers import TVSchedule, total_variation


def test_constant_model_is_zero():
    m = torch.full((5, 7), 2500.0, dtype=torch.float64)
    assert float(total_variation(m, dz=15.0, dx=15.0)) == 0.0


def test_step_across_one_column_boundary_by_hand():
    nz, nx, dx = 6, 8, 15.0
    m = torch.full((nz, nx), 2000.0, dtype=torch.float64)
    m[:, 4:] += 100.0
    expected = 2e-9 * 100.0 / (dx / 1000.0) * nz
    assert float(total_variation(m, dz=10.0, dx=dx)) == pytest.approx(expected, rel=1e-12)
    # the same step across a row boundary is weighted by alpha_z and dz
    assert float(total_variation(m.T.contiguous(), dz=dx, dx=10.0, alpha_x=0.0, alpha_z=3e-9)) \
        == pytest.approx(3e-9 * 100.0 / (dx / 1000.0) * nz, rel=1e-12)
    assert float(total_variation(m, dz=10.0, dx=dx, alpha_x=0.0)) == 0.0


def test_gradcheck_away_from_zero_differences():
    g = torch.Generator().manual_seed(0)
    # strictly increasing in both directions: no difference is zero
    m = (torch.arange(12, dtype=torch.float64).reshape(4, 3) * 37.0
         + torch.rand(4, 3, generator=g, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda v: total_variation(v, dz=10.0, dx=15.0, alpha_x=0.3, alpha_z=0.7), (m,))


def test_gradient_is_sign_of_differences():
    m = torch.tensor([[1.0, 3.0, 2.0]], dtype=torch.float64, requires_grad=True)
    total_variation(m, dz=1000.0, dx=1000.0, alpha_x=1.0, alpha_z=1.0).backward()
    # |m1 - m0| + |m2 - m1|: d/dm = (-1, 1 + 1, -1)
    assert m.grad.tolist() == [[-1.0, 2.0, -1.0]]


def test_schedule_scale_and_penalty():
    s = TVSchedule()
    assert all(s.scale(i) == 1.0 for i in range(20))
    assert all(s.scale(i) == pytest.approx(0.9) for i in range(20, 40))
    assert s.scale(40) == pytest.approx(0.81)
    m = torch.full((3, 4), 2000.0, dtype=torch.float64)
    m[:, 2:] = 2100.0
    base = float(total_variation(m, dz=15.0, dx=15.0))
    assert float(s.penalty(m, 45, dz=15.0, dx=15.0)) == pytest.approx(0.81 * base, rel=1e-12)
    assert float(s.at(25, dz=15.0, dx=15.0)(m)) == pytest.approx(0.9 * base, rel=1e-12)
    assert s.needs_iteration


def test_validation():
    with pytest.raises(ValueError, match="2-D"):
        total_variation(torch.zeros(2, 3, 4), dz=1.0, dx=1.0)
    with pytest.raises(ValueError, match="spacings"):
        total_variation(torch.zeros(2, 3), dz=0.0, dx=1.0)
    with pytest.raises(ValueError, match="step_size"):
        TVSchedule(step_size=0)
    with pytest.raises(ValueError, match="gamma"):
        TVSchedule(gamma=1.5)
