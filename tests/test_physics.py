"""The forward operator, proven three ways (gradcheck, Taylor test, dot test) and against physics."""

import math

import numpy as np
import pytest
import torch

from crfwi.physics.geometry import Grid, Survey
from crfwi.physics.solver import SolverOptions, WaveSolver


def tiny_solver(dtype=torch.float64, free_surface=True, nt=80):
    # dt is below the CFL limit, so deepwave does not sub-step: with sub-steps its model gradient
    # is a coarser time quadrature than the discrete adjoint (deepwave's documented behaviour).
    grid = Grid(8, 10, 10.0)
    survey = Survey(source_x=(20.0, 70.0), receiver_x=tuple(10.0 * np.arange(10)), freq=25.0,
                    dt=0.001, nt=nt, source_depth=10.0, receiver_depth=10.0,
                    free_surface=free_surface, pml_width=4)
    return WaveSolver(grid, survey, max_vel=2600.0, options=SolverOptions(accuracy=4),
                      dtype=dtype)


def layered(grid, top=1800.0, bottom=2300.0):
    v = torch.full(grid.shape, top, dtype=torch.float64)
    v[grid.nz // 2:] = bottom
    return v


def test_gradcheck_simulated_data_wrt_velocity():
    solver = tiny_solver(nt=40)
    v = layered(solver.grid).requires_grad_()
    # Fixed random weights turn the data into a scalar-rich output with few Jacobian columns.
    weights = torch.randn(2, 10, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.autograd.gradcheck(
        lambda m: (solver.simulate(m) * weights).sum(dim=(1, 2)), (v,), eps=1e-3, atol=1e-6,
        rtol=1e-4)


def _objective(solver, observed, v):
    return 0.5 * (solver.simulate(v) - observed).square().sum()


def test_taylor_remainders_have_slopes_one_and_two():
    solver = tiny_solver()
    grid = solver.grid
    observed = solver.simulate(layered(grid, 1800.0, 2400.0))
    m = layered(grid, 1850.0, 2250.0).requires_grad_()
    j0 = _objective(solver, observed, m)
    (g,) = torch.autograd.grad(j0, m)
    rng = torch.Generator().manual_seed(1)
    # Small enough that the first-order term dominates J(m + h dm) - J(m) over the range of h.
    dm = 2.0 * torch.randn(grid.shape, dtype=torch.float64, generator=rng)
    hs = [1.0, 0.5, 0.25, 0.125, 0.0625]
    r1, r2 = [], []
    for h in hs:
        jh = _objective(solver, observed, m.detach() + h * dm)
        r1.append(abs(float(jh - j0.detach())))
        r2.append(abs(float(jh - j0.detach() - h * (g * dm).sum())))
    slope1 = np.polyfit(np.log(hs), np.log(r1), 1)[0]
    slope2 = np.polyfit(np.log(hs), np.log(r2), 1)[0]
    assert slope1 == pytest.approx(1.0, abs=0.1)
    assert slope2 == pytest.approx(2.0, abs=0.1)


def test_born_dot_test():
    solver = tiny_solver()
    v = layered(solver.grid)
    rng = torch.Generator().manual_seed(2)
    dm = torch.randn(solver.grid.shape, dtype=torch.float64, generator=rng).requires_grad_()
    y = torch.randn(2, 10, 80, dtype=torch.float64, generator=rng)
    jdm = solver.born(v, dm)
    lhs = float((jdm * y).sum().detach())
    (adjoint_y,) = torch.autograd.grad((jdm * y).sum(), dm)
    rhs = float((dm * adjoint_y).sum().detach())
    assert lhs == pytest.approx(rhs, rel=1e-8)


def test_born_matches_finite_difference_of_simulate():
    solver = tiny_solver()
    v = layered(solver.grid)
    dm = torch.zeros(solver.grid.shape, dtype=torch.float64)
    dm[4:6, 3:7] = 1.0
    h = 1.0
    fd = (solver.simulate(v + h * dm) - solver.simulate(v - h * dm)) / (2 * h)
    born = solver.born(v, dm)
    assert float((born - fd).norm() / fd.norm()) < 1e-4


def test_direct_wave_moveout_matches_distance_over_velocity():
    # Constant 2000 m/s, absorbing on all sides; receivers on a line through the source.
    # The lag between two far-field traces is (r2 - r1) / v whatever the 2-D waveform shape.
    grid = Grid(60, 160, 5.0)
    velocity = 2000.0
    survey = Survey(source_x=(100.0,), receiver_x=(400.0, 700.0), freq=20.0, dt=0.0005, nt=900,
                    source_depth=150.0, receiver_depth=150.0, free_surface=False, pml_width=20)
    solver = WaveSolver(grid, survey, max_vel=velocity)
    data = solver.simulate(torch.full(grid.shape, velocity))[0].double().numpy()
    near, far = data[0], data[1]
    # Cross-correlate with a parabolic sub-sample peak.
    corr = np.correlate(far, near, mode="full")
    k = int(np.argmax(corr))
    shift = 0.5 * (corr[k - 1] - corr[k + 1]) / (corr[k - 1] - 2 * corr[k] + corr[k + 1])
    lag = (k + shift - (len(near) - 1)) * survey.dt
    assert lag == pytest.approx(300.0 / velocity, rel=0.01)
    # Far-field amplitude of a 2-D point source decays as 1/sqrt(r).
    ratio = np.abs(far).max() / np.abs(near).max()
    assert ratio == pytest.approx(math.sqrt(300.0 / 600.0), rel=0.05)


def test_source_receiver_reciprocity_in_heterogeneous_model():
    grid = Grid(30, 50, 10.0)
    a, b = 80.0, 390.0
    survey = Survey(source_x=(a, b), receiver_x=(a, b), freq=15.0, dt=0.001, nt=500,
                    source_depth=30.0, receiver_depth=30.0, free_surface=True)
    rng = np.random.default_rng(3)
    v = 2000.0 + 600.0 * np.linspace(0, 1, 30)[:, None] + 150.0 * rng.standard_normal((30, 50))
    solver = WaveSolver(grid, survey, max_vel=3200.0)
    data = solver.simulate(torch.tensor(v, dtype=torch.float32))
    forward, backward = data[0, 1], data[1, 0]  # a → b and b → a
    assert float((forward - backward).norm() / forward.norm()) < 1e-4


def test_solver_rejects_bad_models_and_geometry():
    solver = tiny_solver()
    grid = solver.grid
    with pytest.raises(ValueError, match="non-finite"):
        solver.simulate(torch.full(grid.shape, float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="positive"):
        solver.simulate(torch.zeros(grid.shape, dtype=torch.float64))
    with pytest.raises(ValueError, match="max_vel"):
        solver.simulate(torch.full(grid.shape, 3000.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="2-D"):
        solver.simulate(torch.full((2, *grid.shape), 2000.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="points per wavelength"):
        solver.simulate(torch.full(grid.shape, 200.0, dtype=torch.float64))
    outside = Survey(source_x=(500.0,), receiver_x=(0.0,), freq=25.0, dt=0.002, nt=10)
    with pytest.raises(ValueError, match="source of shot 0.*outside"):
        WaveSolver(grid, outside, max_vel=3000.0)
    deep = Survey(source_x=(0.0,), receiver_x=(0.0,), freq=25.0, dt=0.002, nt=10, receiver_depth=900.0)
    with pytest.raises(ValueError, match="receiver 0.*outside"):
        WaveSolver(grid, deep, max_vel=3000.0)
    with pytest.raises(ValueError, match="cannot sample"):
        Survey(source_x=(0.0,), receiver_x=(0.0,), freq=25.0, dt=0.01, nt=10)


def test_shot_subsets_equal_the_full_survey():
    solver = tiny_solver(dtype=torch.float32)
    v = layered(solver.grid).float()
    full = solver.simulate(v)
    assert torch.allclose(solver.simulate(v, [1]), full[1:2], rtol=1e-5, atol=1e-7)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
def test_cuda_data_and_gradient_match_cpu():
    cpu = tiny_solver(dtype=torch.float64)
    grid, survey = cpu.grid, cpu.survey
    gpu = WaveSolver(grid, survey, max_vel=2600.0, options=SolverOptions(accuracy=4),
                     dtype=torch.float64, device="cuda")
    observed = cpu.simulate(layered(grid, 1800.0, 2400.0))
    results = []
    for solver in (cpu, gpu):
        v = layered(grid).to(solver.device).requires_grad_()
        data = solver.simulate(v)
        loss = 0.5 * (data - observed.to(solver.device)).square().sum()
        loss.backward()
        results.append((data.detach().cpu(), v.grad.cpu()))
    (d_cpu, g_cpu), (d_gpu, g_gpu) = results
    assert torch.allclose(d_gpu, d_cpu, rtol=1e-9, atol=1e-12 * d_cpu.abs().max())
    assert torch.allclose(g_gpu, g_cpu, rtol=1e-7, atol=1e-9 * g_cpu.abs().max())


@needs_cuda
def test_cuda_born_matches_cpu():
    cpu = tiny_solver(dtype=torch.float64)
    gpu = WaveSolver(cpu.grid, cpu.survey, max_vel=2600.0, options=SolverOptions(accuracy=4),
                     dtype=torch.float64, device="cuda")
    v = layered(cpu.grid)
    dv = torch.randn(cpu.grid.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    born_cpu = cpu.born(v, dv)
    born_gpu = gpu.born(v.cuda(), dv.cuda()).cpu()
    assert torch.allclose(born_gpu, born_cpu, rtol=1e-9, atol=1e-12 * born_cpu.abs().max())


def test_a_given_wavelet_is_the_source_and_is_validated():
    """Field data bring their own wavelet (issue 13): the data are linear in it, so twice the
    Ricker gives twice the data; a wavelet of the wrong length, NaN or zeros is refused."""
    solver = tiny_solver(nt=80)
    ricker = solver.survey.wavelet()
    doubled = WaveSolver(solver.grid, solver.survey, max_vel=solver.max_vel, wavelet=2 * ricker,
                         options=solver.options, dtype=solver.dtype)
    velocity = torch.full(solver.grid.shape, 2000.0, dtype=solver.dtype)
    assert torch.allclose(doubled.simulate(velocity, [0]), 2 * solver.simulate(velocity, [0]),
                          rtol=1e-6, atol=1e-12)
    assert doubled.describe()["wavelet"] == "given" and solver.describe()["wavelet"] == "ricker"
    for bad, message in ((ricker[:-1], r"shape \[80\]"), (ricker * float("nan"), "NaN"),
                         (0 * ricker, "all zeros"), (ricker.numpy().astype(complex), "real numbers")):
        with pytest.raises(ValueError, match=message):
            WaveSolver(solver.grid, solver.survey, max_vel=solver.max_vel, wavelet=bad)


def _moving_spread(solver):
    """Per-shot cells of a spread that moves with the shot: shot 0 records on columns 0-5, shot 1
    on columns 4-9, R = 6 (the tiny survey's first 6 receivers stand for the count)."""
    rows = torch.ones(2, 6, dtype=torch.long)
    cols = torch.stack([torch.arange(0, 6), torch.arange(4, 10)])
    return torch.stack([rows, cols], dim=-1)


def _per_shot_solver(solver, cells, mask=None):
    survey = Survey(source_x=solver.survey.source_x, receiver_x=solver.survey.receiver_x[:6],
                    freq=solver.survey.freq, dt=solver.survey.dt, nt=solver.survey.nt,
                    source_depth=10.0, receiver_depth=10.0, pml_width=4)
    return WaveSolver(solver.grid, survey, max_vel=solver.max_vel, options=solver.options,
                      dtype=solver.dtype, receiver_locations=cells, receiver_mask=mask)


def test_a_spread_per_shot_records_what_the_fixed_spread_records_there():
    """Field spreads move from shot to shot (issue 13): each shot's traces are the fixed spread's
    traces at the same cells; the fixed-spread path is unchanged (no mask, same data)."""
    solver = tiny_solver(nt=60)
    v = layered(solver.grid)
    full = solver.simulate(v)
    moving = _per_shot_solver(solver, _moving_spread(solver))
    data = moving.simulate(v)
    assert data.shape == (2, 6, 60)
    assert torch.allclose(data[0], full[0, 0:6], rtol=1e-9, atol=1e-12)
    assert torch.allclose(data[1], full[1, 4:10], rtol=1e-9, atol=1e-12)
    assert torch.allclose(moving.simulate(v, [1]), data[1:], rtol=1e-9, atol=1e-12)
    assert moving.describe()["receivers"] == "per shot"
    assert solver.describe()["receivers"] == "fixed spread"
    assert solver.describe()["masked_receivers"] == 0


def test_masked_receivers_predict_zeros_and_carry_no_gradient():
    """A padded or dead receiver (mask False) predicts zeros, so whatever the observed data hold
    there (here garbage) changes neither the misfit's gradient nor the Born data. A padded
    receiver may repeat a live one's cell (FieldData.padded does) without deepwave refusing it."""
    solver = tiny_solver(nt=60)
    cells = _moving_spread(solver)
    cells[1, 5] = cells[1, 4]  # shot 1's last slot is padding, on its last real receiver's cell
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 5] = False
    mask[0, 2] = False  # a dead trace
    moving = _per_shot_solver(solver, cells, mask)
    v0 = layered(moving.grid, 1850.0, 2250.0)
    observed = moving.simulate(layered(moving.grid))
    assert float(observed[1, 5].abs().max()) == 0.0 and float(observed[0, 2].abs().max()) == 0.0
    garbage = observed.clone()
    garbage[1, 5] = 1e3 * torch.randn(60, dtype=garbage.dtype)
    garbage[0, 2] = 1e3
    grads = []
    for obs in (observed, garbage):
        v = v0.clone().requires_grad_()
        predicted = moving.simulate(v)
        residual = (predicted - obs) * mask.unsqueeze(-1)  # observed masked the same way
        (0.5 * residual.square().sum()).backward()
        grads.append(v.grad)
    assert torch.equal(grads[0], grads[1])
    # The masked trace adds nothing: the gradient of that trace alone is exactly zero.
    v = v0.clone().requires_grad_()
    moving.simulate(v)[0, 2].square().sum().backward()
    assert float(v.grad.abs().max()) == 0.0
    born = moving.born(v0, torch.ones(moving.grid.shape, dtype=torch.float64))
    assert float(born[0, 2].abs().max()) == 0.0 and float(born[0, 1].abs().max()) > 0
    assert moving.describe()["masked_receivers"] == 2


def test_per_shot_geometry_is_validated():
    solver = tiny_solver(nt=20)
    cells = _moving_spread(solver)
    with pytest.raises(ValueError, match=r"receiver_locations.*shape \[2, 6, 2\]"):
        _per_shot_solver(solver, cells[:, :5])
    outside = cells.clone()
    outside[1, 3, 1] = 10
    with pytest.raises(ValueError, match="receiver 3 of shot 1 lies outside"):
        _per_shot_solver(solver, outside)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 3] = False  # a masked receiver may sit anywhere: it is ignored
    _per_shot_solver(solver, outside, mask)
    twice = cells.clone()
    twice[0, 1] = twice[0, 0]
    with pytest.raises(ValueError, match="two receivers of shot 0 fall on the same grid node"):
        _per_shot_solver(solver, twice)
    with pytest.raises(ValueError, match="receiver_mask"):
        _per_shot_solver(solver, cells, torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="whole cell indices"):
        _per_shot_solver(solver, cells + 0.5)
    with pytest.raises(ValueError, match="source of shot 1 lies outside"):
        WaveSolver(solver.grid, solver.survey, max_vel=solver.max_vel,
                   source_locations=torch.tensor([[[1, 2]], [[1, 12]]]))


@needs_cuda
def test_cuda_per_shot_spread_and_mask_match_cpu():
    cpu = tiny_solver(nt=60)
    cells = _moving_spread(cpu)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 5] = False
    moving = _per_shot_solver(cpu, cells, mask)
    gpu = WaveSolver(moving.grid, moving.survey, max_vel=moving.max_vel, options=moving.options,
                     dtype=torch.float64, device="cuda", receiver_locations=cells,
                     receiver_mask=mask)
    v = layered(moving.grid)
    data_cpu, data_gpu = moving.simulate(v), gpu.simulate(v.cuda()).cpu()
    assert float(data_gpu[1, 5].abs().max()) == 0.0
    assert torch.allclose(data_gpu, data_cpu, rtol=1e-9, atol=1e-12 * data_cpu.abs().max())


def test_a_larger_courant_number_takes_fewer_internal_steps():
    """physics.courant_number: on a grid where deepwave's default target (0.6) needs 2 internal
    steps per dt, 0.7 needs 1; the data stay within a fraction of a percent."""
    grid = Grid(24, 40, 10.0)
    survey = Survey.surface(grid, n_shots=2, freq=15.0, dt=0.001, nt=300, free_surface=False)
    model = torch.full(grid.shape, 2000.0)
    model[12:] = 3000.0
    solvers = [WaveSolver(grid, survey, max_vel=4900.0, options=SolverOptions(courant_number=c))
               for c in (0.0, 0.7)]
    assert [s.time_substeps for s in solvers] == [2, 1]
    with torch.no_grad():
        a, b = (s.simulate(model) for s in solvers)
    assert 0 < float((a - b).norm() / a.norm()) < 0.02  # measured 1.0 %
    with pytest.raises(ValueError, match="courant_number"):
        SolverOptions(courant_number=-1.0)


def test_an_unstable_courant_number_is_refused_in_the_config():
    from crfwi.config import ConfigError, config_from_dict

    with pytest.raises(ConfigError, match=r"`physics.courant_number` = 0.9 exceeds the critical 0.784"):
        config_from_dict({"model": {"name": "layered", "nz": 20, "nx": 30, "spacing": 10.0},
                          "physics": {"courant_number": 0.9}})
