"""The 3-D forward operator (issue 15), proven per storage option and against physics.

deepwave's 3-D storage paths are newer than its 2-D ones, so each option WaveSolver3D accepts is
proven on its own: the exact ones by gradcheck, a Taylor test and the Born dot test (float64, dt
below the CFL limit, as tests/test_physics.py does in 2-D); the lossy ones (8-bit compression,
a coarser gradient time sampling) against the exact gradient, within deepwave's documented bounds.
"""

import numpy as np
import pytest
import torch

from crfwi.physics import solver3d as physics3d
from crfwi.physics.geometry import Grid, Survey
from crfwi.physics.geometry3d import Grid3D, Survey3D
from crfwi.physics.solver import SolverOptions, WaveSolver
from crfwi.physics.solver3d import WaveSolver3D, make_solver

# The exact options: the gradient is the discrete adjoint. On a CPU device deepwave stores "cpu"
# exactly as "device"; test_cuda_storage_options_match_device checks it for real on a GPU.
EXACT = [dict(storage="device"), dict(storage="cpu"), dict(storage="disk"),
         dict(checkpoint_segments=2), dict(storage="disk", checkpoint_segments=3)]
LOSSY = [dict(storage_compression=True), dict(storage="disk", storage_compression=True),
         dict(gradient_sampling_interval=2)]


def ids(options):
    return "-".join(f"{k}={v}" for k, v in options.items())


def tiny_solver(nt=40, dtype=torch.float64, **options):
    # 5 x 6 x 6 cells at 10 m, 2 shots, a 3 x 3 receiver patch; dt = 1 ms is below the 3-D CFL
    # limit at 2600 m/s (1.33 ms), so deepwave does not sub-step.
    grid = Grid3D(5, 6, 6, 10.0)
    survey = Survey3D(source_y=(10.0, 40.0), source_x=(20.0, 30.0),
                      receiver_y=tuple(np.repeat([0.0, 20.0, 50.0], 3)),
                      receiver_x=tuple(np.tile([0.0, 30.0, 50.0], 3)), freq=25.0, dt=0.001,
                      nt=nt, source_depth=10.0, receiver_depth=10.0, pml_width=3)
    return WaveSolver3D(grid, survey, max_vel=2600.0, dtype=dtype,
                        options=SolverOptions(accuracy=4, **options))


def layered(grid, top=1800.0, bottom=2300.0):
    v = torch.full(grid.shape, top, dtype=torch.float64)
    v[grid.nz // 2:] = bottom
    return v


def backward_gradient(function, m):
    """d function / dm by ``loss.backward()`` (deepwave's checkpointing refuses autograd.grad)."""
    leaf = m.detach().clone().requires_grad_()
    value = function(leaf)
    value.backward()
    return value.detach(), leaf.grad


def weights(solver, seed=0):
    shape = (solver.n_shots, solver.survey.n_receivers, solver.survey.nt)
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("options", [o for o in EXACT if not o.get("checkpoint_segments")],
                         ids=ids)
def test_gradcheck_simulated_data_wrt_velocity(options):
    solver = tiny_solver(**options)
    w = weights(solver)
    assert torch.autograd.gradcheck(
        lambda m: (solver.simulate(m) * w).sum(dim=(1, 2)),
        (layered(solver.grid).requires_grad_(),), eps=1e-3, atol=1e-6, rtol=1e-4)


def test_checkpointed_gradient_matches_finite_differences_everywhere():
    """gradcheck's own check, through ``backward()``: the checkpointed gradient of a weighted
    sum of the data against central differences in every cell."""
    solver = tiny_solver(checkpoint_segments=2)
    w = weights(solver)
    v = layered(solver.grid)
    with pytest.raises(RuntimeError, match="use_reentrant"):  # deepwave's documented limit
        leaf = v.clone().requires_grad_()
        torch.autograd.grad((solver.simulate(leaf) * w).sum(), leaf)
    _, g = backward_gradient(lambda m: (solver.simulate(m) * w).sum(), v)
    fd = torch.zeros(v.numel(), dtype=torch.float64)
    eps = 1e-2
    with torch.no_grad():
        for i in range(v.numel()):
            e = torch.zeros(v.numel(), dtype=torch.float64)
            e[i] = eps
            e = e.view_as(v)
            fd[i] = ((solver.simulate(v + e) - solver.simulate(v - e)) * w).sum() / (2 * eps)
    fd = fd.view_as(v)
    assert float((g - fd).norm() / fd.norm()) < 1e-6  # measured 4.8e-10


@pytest.mark.parametrize("options", EXACT[1:], ids=ids)
def test_exact_options_give_the_device_gradient(options):
    """The exact options reproduce the proven "device" gradient (and Born adjoint) to rounding,
    so what gradcheck proves for one holds for all, checkpointed ones included."""
    device, other = tiny_solver(nt=80), tiny_solver(nt=80, **options)
    w = weights(device)
    v = layered(device.grid)
    g = [backward_gradient(lambda m: (s.simulate(m) * w).sum(), v)[1] for s in (device, other)]
    assert float((g[1] - g[0]).norm() / g[0].norm()) < 1e-12  # measured 0 or <= 1e-15
    a = [_born_dot(s)[2] for s in (device, other)]
    assert float((a[1] - a[0]).norm() / a[0].norm()) < 1e-12


def _misfit(solver, observed):
    return lambda m: 0.5 * (solver.simulate(m) - observed).square().sum()


def _taylor_slopes(solver):
    grid = solver.grid
    observed = solver.simulate(layered(grid, 1800.0, 2400.0)).detach()
    misfit = _misfit(solver, observed)
    m = layered(grid, 1850.0, 2250.0)
    j0, g = backward_gradient(misfit, m)
    rng = torch.Generator().manual_seed(1)
    dm = 2.0 * torch.randn(grid.shape, dtype=torch.float64, generator=rng)
    hs = [1.0, 0.5, 0.25, 0.125, 0.0625]
    r1, r2 = [], []
    with torch.no_grad():
        for h in hs:
            jh = misfit(m + h * dm)
            r1.append(abs(float(jh - j0)))
            r2.append(abs(float(jh - j0 - h * (g * dm).sum())))
    return np.polyfit(np.log(hs), np.log(r1), 1)[0], np.polyfit(np.log(hs), np.log(r2), 1)[0]


@pytest.mark.parametrize("options", EXACT, ids=ids)
def test_taylor_remainders_have_slopes_one_and_two(options):
    slope1, slope2 = _taylor_slopes(tiny_solver(nt=80, **options))
    assert slope1 == pytest.approx(1.0, abs=0.1)  # measured 1.005
    assert slope2 == pytest.approx(2.0, abs=0.1)  # measured 2.000


def _born_dot(solver, seed=2):
    rng = torch.Generator().manual_seed(seed)
    v = layered(solver.grid)
    dm = torch.randn(solver.grid.shape, dtype=torch.float64, generator=rng)
    y = torch.randn(solver.n_shots, solver.survey.n_receivers, solver.survey.nt,
                    dtype=torch.float64, generator=rng)
    jdm, adjoint_y = backward_gradient(lambda d: (solver.born(v, d) * y).sum(), dm)
    return float(jdm), float((dm * adjoint_y).sum()), adjoint_y


@pytest.mark.parametrize("options", EXACT, ids=ids)
def test_born_dot_test(options):
    lhs, rhs, _ = _born_dot(tiny_solver(nt=80, **options))
    assert lhs == pytest.approx(rhs, rel=1e-10)  # measured <= 5e-16


@pytest.mark.parametrize("options", LOSSY, ids=ids)
def test_lossy_options_stay_within_their_documented_error(options):
    """8-bit compression and a coarser gradient time sampling change the model gradient by
    design (deepwave: compression 0.2-8 % relative L2 in 3-D), never the data. Measured here:
    compression 0.6 % on the misfit gradient and 2.1 % on the Born adjoint (of white noise),
    gradient_sampling_interval = 2: 3.4e-4 and 1.9 % (a 2-D case of the same kind: 0.25 % and
    4e-4 on the misfit gradient)."""
    exact, lossy = tiny_solver(nt=80), tiny_solver(nt=80, **options)
    v = layered(exact.grid, 1850.0, 2250.0)
    observed = exact.simulate(layered(exact.grid, 1800.0, 2400.0))
    assert torch.equal(lossy.simulate(v), exact.simulate(v))
    g_exact = backward_gradient(_misfit(exact, observed), v)[1]
    g_lossy = backward_gradient(_misfit(lossy, observed), v)[1]
    error = float((g_lossy - g_exact).norm() / g_exact.norm())
    a_exact, a_lossy = _born_dot(exact)[2], _born_dot(lossy)[2]
    adjoint_error = float((a_lossy - a_exact).norm() / a_exact.norm())
    bound = 0.08 if options.get("storage_compression") else 0.01
    assert 0 < error < bound and 0 < adjoint_error < 0.08
    assert _taylor_slopes(lossy)[0] == pytest.approx(1.0, abs=0.1)  # still a descent direction


def test_storage_none_is_forward_only():
    exact, none = tiny_solver(), tiny_solver(storage="none")
    v = layered(exact.grid)
    assert torch.equal(none.simulate(v), exact.simulate(v))
    with pytest.raises(RuntimeError, match='storage_mode="none"'):
        backward_gradient(lambda m: none.simulate(m).sum(), v)


def test_refused_options_are_refused_in_one_line(monkeypatch):
    """Every entry of REFUSED_3D (none on deepwave 0.1.0: every option passed above) is refused
    when the solver is built, naming the option; the mechanism is checked with a stand-in."""
    for (name, value), _ in physics3d.REFUSED_3D.items():
        with pytest.raises(ValueError, match=f"physics.{name}"):
            tiny_solver(**{name: value})
    monkeypatch.setitem(physics3d.REFUSED_3D, ("storage", "disk"), "its 3-D gradient is wrong")
    with pytest.raises(ValueError, match=r"^`physics.storage` = 'disk' is not supported in 3-D: "
                                         r"its 3-D gradient is wrong$"):
        tiny_solver(storage="disk")
    tiny_solver(storage="device")


def test_point_source_arrival_time_and_spherical_spreading():
    """Homogeneous 1500 m/s, absorbing on all sides: the 3-D Green's function is a delayed
    spike δ(t - r/c) / 4πr, so each trace peaks at the wavelet delay + r/c and the amplitude
    falls as 1/r (2-D: 1/sqrt(r) and a tail)."""
    c = 1500.0
    grid = Grid3D(12, 12, 16, 5.0)
    survey = Survey3D(source_y=(30.0,), source_x=(10.0,), receiver_y=(30.0, 30.0),
                      receiver_x=(30.0, 70.0), freq=30.0, dt=0.001, nt=100, source_depth=30.0,
                      receiver_depth=30.0, free_surface=False, pml_width=10)
    solver = WaveSolver3D(grid, survey, max_vel=c, dtype=torch.float64)
    assert solver.time_substeps == 1
    traces = solver.simulate(torch.full(grid.shape, c, dtype=torch.float64))[0].numpy()
    delay = 1.5 / survey.freq
    peaks = []
    for distance, trace in zip((20.0, 60.0), traces):
        k = int(np.argmax(np.abs(trace)))
        a, b, d = np.abs(trace[k - 1:k + 2])
        peaks.append((k + 0.5 * (a - d) / (a - 2 * b + d)) * survey.dt)
        assert peaks[-1] == pytest.approx(delay + distance / c, abs=1.0 * survey.dt)
    assert peaks[1] - peaks[0] == pytest.approx(40.0 / c, abs=0.5 * survey.dt)
    ratio = np.abs(traces[1]).max() / np.abs(traces[0]).max()
    assert ratio == pytest.approx(20.0 / 60.0, rel=0.05)


def test_solver_rejects_bad_models_and_geometry():
    solver = tiny_solver()
    shape = solver.grid.shape
    with pytest.raises(ValueError, match="non-finite"):
        solver.simulate(torch.full(shape, float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="positive"):
        solver.simulate(torch.zeros(shape, dtype=torch.float64))
    with pytest.raises(ValueError, match="max_vel"):
        solver.simulate(torch.full(shape, 3000.0, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"3-D \[nz, ny, nx\]"):
        solver.simulate(torch.full(shape[:2], 2000.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="has shape"):
        solver.simulate(torch.full((5, 6, 7), 2000.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="points per wavelength"):
        solver.simulate(torch.full(shape, 200.0, dtype=torch.float64))
    far = Survey3D(source_y=(0.0, 90.0), source_x=(0.0, 0.0), receiver_y=(0.0,),
                   receiver_x=(0.0,), freq=25.0, dt=0.002, nt=10)
    with pytest.raises(ValueError, match="source of shot 1: position y = 90 m lies outside"):
        WaveSolver3D(solver.grid, far, max_vel=3000.0)
    with pytest.raises(ValueError, match="needs a Grid3D"):
        WaveSolver3D(Grid(5, 6, 10.0), solver.survey, max_vel=3000.0)
    with pytest.raises(ValueError, match="needs a Survey3D"):
        WaveSolver3D(solver.grid, Survey(source_x=(0.0,), receiver_x=(0.0,), freq=25.0,
                                         dt=0.002, nt=10), max_vel=3000.0)


def test_shot_subsets_batched_born_and_description():
    solver = tiny_solver(nt=30)
    v = layered(solver.grid)
    full = solver.simulate(v)
    assert full.shape == (2, 9, 30)
    assert torch.allclose(solver.simulate(v, [1]), full[1:2], rtol=1e-12, atol=1e-15)
    rng = torch.Generator().manual_seed(3)
    dms = torch.randn(2, *solver.grid.shape, dtype=torch.float64, generator=rng)
    batched = solver.born(v, dms)
    for shot in range(2):
        assert torch.allclose(batched[shot], solver.born(v, dms[shot], [shot])[0], rtol=1e-10,
                              atol=1e-14 * float(batched.abs().max()))
    about = solver.describe()
    assert about["dimensions"] == 3 and about["boundary"] == ["free"] + ["pml"] * 5
    assert about["pml_width"] == [0, 3, 3, 3, 3, 3]
    assert isinstance(make_solver(solver.grid, solver.survey, max_vel=2600.0), WaveSolver3D)
    grid2d = Grid(5, 6, 10.0)
    survey2d = Survey.surface(grid2d, n_shots=1, freq=25.0, dt=0.001, nt=10)
    assert type(make_solver(grid2d, survey2d, max_vel=2600.0)) is WaveSolver


def test_the_3d_stability_limit_is_stricter_than_the_2d_one():
    """At the same spacing and max_vel, 3-D needs sqrt(3/2) shorter steps than 2-D: a dt that
    2-D takes in one step, 3-D sub-steps (and its gradient is then the coarser quadrature)."""
    solver = tiny_solver()
    dt = 0.0015  # 2-D limit 0.6 * 10 / (2600 sqrt 2) = 1.63 ms; 3-D 1.33 ms
    survey = Survey3D(source_y=(0.0,), source_x=(0.0,), receiver_y=(0.0,), receiver_x=(0.0,),
                      freq=25.0, dt=dt, nt=10, pml_width=3)
    grid2d = Grid(5, 6, 10.0)
    survey2d = Survey(source_x=(0.0,), receiver_x=(0.0,), freq=25.0, dt=dt, nt=10)
    assert WaveSolver3D(solver.grid, survey, max_vel=2600.0).time_substeps == 2
    assert WaveSolver(grid2d, survey2d, max_vel=2600.0).time_substeps == 1


def _per_shot(solver, cells, mask=None):
    survey = Survey3D(source_y=solver.survey.source_y, source_x=solver.survey.source_x,
                      receiver_y=solver.survey.receiver_y[:4],
                      receiver_x=solver.survey.receiver_x[:4], freq=25.0, dt=0.001,
                      nt=solver.survey.nt, source_depth=10.0, receiver_depth=10.0, pml_width=3)
    return WaveSolver3D(solver.grid, survey, max_vel=2600.0, options=solver.options,
                        dtype=torch.float64, receiver_locations=cells, receiver_mask=mask)


def test_a_spread_per_shot_and_masked_receivers_in_3d():
    solver = tiny_solver(nt=30)
    v = layered(solver.grid)
    fixed = solver.receiver_locations.cpu()
    cells = torch.stack([fixed[0, 0:4], fixed[1, 5:9]])  # shot 1 records on receivers 5-8
    moving = _per_shot(solver, cells)
    data, full = moving.simulate(v), solver.simulate(v)
    assert torch.allclose(data[0], full[0, 0:4], rtol=1e-12, atol=1e-15)
    assert torch.allclose(data[1], full[1, 5:9], rtol=1e-12, atol=1e-15)
    mask = torch.ones(2, 4, dtype=torch.bool)
    mask[1, 3] = False
    padded = cells.clone()
    padded[1, 3] = padded[1, 2]  # padding on a live receiver's cell is allowed when masked
    masked = _per_shot(solver, padded, mask).simulate(v)
    assert float(masked[1, 3].abs().max()) == 0.0 and torch.equal(masked[0], data[0])
    with pytest.raises(ValueError, match=r"shape \[2, 4, 3\] \(shot, receiver, z/y/x index\)"):
        _per_shot(solver, cells[..., :2])
    outside = cells.clone()
    outside[1, 3, 1] = 6
    with pytest.raises(ValueError, match="receiver 3 of shot 1 lies outside the 5 x 6 x 6 grid"):
        _per_shot(solver, outside)
    with pytest.raises(ValueError, match="two receivers of shot 1 fall on the same grid node"):
        _per_shot(solver, padded)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
@pytest.mark.parametrize("options", EXACT + LOSSY[:1], ids=ids)
def test_cuda_storage_options_match_device(options):
    """On a GPU "cpu" and "disk" really move the history off the device: the gradient must still
    equal the CPU's exact one (compression: the same lossy one, bit for bit independent of mode)."""
    cpu = tiny_solver(nt=80, **({"storage_compression": True}
                                if options.get("storage_compression") else {}))
    gpu = WaveSolver3D(cpu.grid, cpu.survey, max_vel=2600.0, dtype=torch.float64, device="cuda",
                       options=SolverOptions(accuracy=4, **options))
    observed = cpu.simulate(layered(cpu.grid, 1800.0, 2400.0))
    v = layered(cpu.grid, 1850.0, 2250.0)
    g_cpu = backward_gradient(_misfit(cpu, observed), v)[1]
    g_gpu = backward_gradient(_misfit(gpu, observed.cuda()), v.cuda())[1].cpu()
    # Compression quantises GPU and CPU fields that differ by rounding: allow a level's flip.
    tolerance = 1e-3 if options.get("storage_compression") else 1e-9
    assert float((g_gpu - g_cpu).norm() / g_cpu.norm()) < tolerance
