"""Tests for crfwi.methods.regularizers: TV by hand, its gradient and the StepLR schedule."""

from __future__ import annotations

import crfwi  # noqa: F401  first: sets OMP_WAIT_POLICY before torch loads (see crfwi/__init__.py)

import pytest
import torch

from crfwi.methods.regularizers import TVSchedule, total_variation


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
    gain = s.gain  # 1000 in ADFWI's units (EFFECT_GAIN), 1 for the paper's α as written
    assert gain == 1000.0 and TVSchedule(alpha_units="literal").gain == 1.0
    assert float(s.penalty(m, 45, dz=15.0, dx=15.0)) == pytest.approx(0.81 * gain * base, rel=1e-12)
    assert float(s.at(25, dz=15.0, dx=15.0)(m)) == pytest.approx(0.9 * gain * base, rel=1e-12)
    assert float(TVSchedule(gain=1.0).penalty(m, 0, dz=15.0, dx=15.0)) == pytest.approx(base)
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
    with pytest.raises(ValueError, match="gain"):
        TVSchedule(gain=-1.0)
    with pytest.raises(ValueError, match="alpha_units"):
        TVSchedule(alpha_units="km")


def test_alpha_units_and_the_deferred_conversion():
    m = torch.full((3, 4), 2000.0, dtype=torch.float64)
    m[:, 2:] = 2100.0
    base = float(total_variation(m, dz=15.0, dx=15.0))
    with pytest.raises(ValueError, match="needs the conversion"):
        TVSchedule().bind(dz=15.0, dx=15.0)  # default alpha_units = "adfwi"
    with pytest.raises(ValueError, match="takes no `conversion`"):
        TVSchedule(alpha_units="literal").bind(dz=15.0, dx=15.0, conversion=2.0)
    assert float(TVSchedule(alpha_units="literal").bind(dz=15.0, dx=15.0).at(0)(m)) \
        == pytest.approx(base, rel=1e-12)
    calls = []

    def conversion():
        calls.append(1)
        return 1e5

    bound = TVSchedule(gain=1.0).bind(dz=15.0, dx=15.0, conversion=conversion)
    assert calls == [] and "first iteration" in repr(bound)  # deferred
    assert float(bound.at(0)(m)) == pytest.approx(1e5 * base, rel=1e-12)
    assert float(bound.at(25)(m)) == pytest.approx(0.9e5 * base, rel=1e-12)
    assert calls == [1] and "conversion=100000" in repr(bound)  # computed once
    with pytest.raises(ValueError, match="finite number > 0"):
        TVSchedule().bind(dz=15.0, dx=15.0, conversion=lambda: float("nan")).at(0)


def test_adfwi_alpha_conversion_is_the_ratio_of_misfit_gradient_norms():
    from crfwi.methods import misfits
    from crfwi.physics.geometry import Grid, Survey
    from crfwi.physics.solver import SolverOptions, WaveSolver
    from crfwi.methods.regularizers import adfwi_alpha_conversion

    grid = Grid(10, 12, 10.0)
    survey = Survey.surface(grid, n_shots=3, freq=20.0, dt=0.001, nt=60)
    solver = WaveSolver(grid, survey, max_vel=2600.0, options=SolverOptions(accuracy=4))
    true = torch.full(grid.shape, 2000.0)
    true[5:] = 2400.0
    observed = solver.simulate(true)
    m0 = torch.full(grid.shape, 2100.0)
    free = torch.ones(grid.shape, dtype=torch.bool)
    free[:2] = False
    leaf = m0.clone().requires_grad_(True)
    predicted = solver.simulate(leaf)
    (ours,) = torch.autograd.grad(misfits.l2(predicted, observed), leaf, retain_graph=True)
    (theirs,) = torch.autograd.grad(misfits.adfwi_l2(predicted, observed, dt=0.001), leaf)
    expected = float(ours[free].norm() / theirs[free].norm())
    c = adfwi_alpha_conversion(solver, m0, observed, misfits.l2, free=free)
    assert c == pytest.approx(expected, rel=1e-4)
    # shot chunks add up to the same gradients; an iteration-dependent misfit is taken at i = 0
    assert adfwi_alpha_conversion(solver, m0, observed, misfits.l2, free=free, shot_chunk=2) \
        == pytest.approx(c, rel=1e-4)
    weci = misfits.WeciMisfit(10, normalize="none")
    assert adfwi_alpha_conversion(solver, m0, observed, weci) == pytest.approx(
        adfwi_alpha_conversion(solver, m0, observed, weci.at(0)), rel=1e-6)
    with pytest.raises(ValueError, match="alpha_units = 'literal'"):
        adfwi_alpha_conversion(solver, true, observed, misfits.l2)  # no residual, no gradient
