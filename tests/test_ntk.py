"""The wave-based NTK (crfwi.analysis.ntk, crfwi.analysis.ntk1d): matrix-free against explicit, identities, monitor, CLI.

Everything runs on a tiny 8 × 12 grid with 2 shots in float64 (explicit Jacobians cost one Born
solve per cell), and on a short 1-D problem.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from crfwi import Grid, RunConfig, Survey, VelocityModel, WaveSolver, build_representation
from crfwi import ntk_command
from crfwi.analysis import ntk, ntk1d

SIREN = dict(hidden_features=16, hidden_layers=2)
HASH = dict(n_levels=3, base_resolution=4, per_level_scale=1.5, log2_hashmap_size=6)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    grid = Grid(8, 12, 10.0)
    survey = Survey.surface(grid, n_shots=2, freq=15.0, dt=0.002, nt=90, pml_width=8)
    solver = WaveSolver(grid, survey, max_vel=3000.0, dtype=torch.float64)
    m0 = 2000.0 + 300.0 * torch.linspace(0, 1, grid.nz)[:, None].expand(grid.shape)
    return grid, solver, m0


def _model(setup, name, scale=100.0, **options):
    grid, _, m0 = setup
    torch.manual_seed(1)
    rep = build_representation(name, grid, **options)
    return VelocityModel(rep, m0, grid, bounds=(1000.0, 3000.0),
                         output_scale=1.0 if name == "pixel" else scale).double()


@pytest.fixture(scope="module")
def siren_case(setup):
    op = ntk.WaveNTK(_model(setup, "siren", **SIREN), setup[1])
    return op, op.explicit()


@pytest.fixture(scope="module")
def pixel_case(setup):
    op = ntk.WaveNTK(_model(setup, "pixel"), setup[1])
    return op, op.explicit()


# ---------------------------------------------------------------------------------------------
def test_born_adjoint_and_network_dot_tests(siren_case):
    op, _ = siren_case
    errors = ntk.dot_test(op, seed=3)
    # deepwave's adjoint is not bit-for-bit the transpose of its Born solve (measured ~6e-6 in
    # float64 on this grid, the same through scalar's and scalar_born's backward).
    assert errors["wave"] < 1e-4
    assert errors["model"] < 1e-10


def test_explicit_jacobians_match_the_matrix_free_products(siren_case):
    op, ex = siren_case
    gen = torch.Generator().manual_seed(0)
    dm = torch.randn(op.n_model, generator=gen, dtype=torch.float64)
    w = torch.randn(op.n_params, generator=gen, dtype=torch.float64)
    assert torch.allclose(ex["J_G"] @ dm, op.wave_jvp(dm), rtol=1e-10, atol=1e-12 * float(ex["J_G"].abs().max()))
    assert torch.allclose(ex["J_m"] @ w, op.model_jvp(w), rtol=1e-10, atol=1e-10)


def test_kernel_is_symmetric_positive_semidefinite(siren_case):
    op, ex = siren_case
    k = ex["kernel"]
    assert float((k - k.T).abs().max()) <= 1e-12 * float(k.abs().max())
    eig = torch.linalg.eigvalsh(k)
    assert float(eig.min()) >= -1e-10 * float(eig.max())
    # the matrix-free product too: symmetric up to deepwave's adjoint accuracy, and u·Θu >= 0
    gen = torch.Generator().manual_seed(1)
    u, v = (torch.randn(op.n_data, generator=gen, dtype=torch.float64) for _ in range(2))
    ku, kv = op.kernel_matvec(u), op.kernel_matvec(v)
    assert abs(float(u @ kv - v @ ku)) < 1e-4 * abs(float(u @ kv))
    assert float(u @ ku) > 0


@pytest.mark.parametrize("space", ["data", "parameter", "model"])
def test_matrix_free_eigenvalues_equal_explicit(siren_case, space):
    op, ex = siren_case
    exact = np.linalg.eigvalsh(ex["kernel"].numpy())[::-1][:6]
    values, info = op.eigenvalues(6, space=space, tol=1e-10)
    assert info["space"] == space
    assert np.max(np.abs(values - exact) / exact) < 1e-4
    # each product costs one Born and one adjoint solve (plus, once, the Born forward they reuse)
    assert info["matvecs"] <= info["born_calls"] <= info["matvecs"] + 1
    assert info["adjoint_calls"] == info["matvecs"]


def test_kernel_spectrum_equals_model_space_form(siren_case):
    _, ex = siren_case
    jg, theta_m = ex["J_G"], ex["theta_m"]
    exact = np.linalg.eigvalsh(ex["kernel"].numpy())[::-1]
    model_form = ntk1d.nonzero_spectrum(jg, theta_m)  # eig(Θ_m^{1/2} H Θ_m^{1/2}), H = J_Gᵀ J_G
    n = 20
    assert np.max(np.abs(model_form[:n] - exact[:n])) < 1e-8 * exact[0]
    a = jg @ ex["J_m"]  # and the parameter-space form (J_G J_m)ᵀ(J_G J_m)
    param_form = np.linalg.eigvalsh((a.T @ a).numpy())[::-1]
    assert np.max(np.abs(param_form[:n] - exact[:n])) < 1e-8 * exact[0]


def test_pixel_gives_exactly_the_wave_kernel(pixel_case):
    op, ex = pixel_case
    assert torch.equal(ex["theta_m"], torch.eye(op.n_model, dtype=torch.float64))
    assert torch.equal(ex["kernel"], ex["wave"])
    exact = np.linalg.eigvalsh(ex["wave"].numpy())[::-1][:5]
    values, info = op.eigenvalues(5, tol=1e-10)
    assert info["space"] == "parameter"  # P = N_m < N_d
    assert np.max(np.abs(values - exact) / exact) < 1e-4


def test_bounded_cells_keep_their_kernel_unless_the_clamp_is_literal(setup):
    grid, solver, m0 = setup
    model = _model(setup, "pixel")
    with torch.no_grad():
        model.representation.delta[0, :] = 5000.0  # first row pushed above vmax
    row = torch.zeros(grid.shape, dtype=torch.float64)
    row[0] = 1.0
    # Straight-through bound (default): Θ_m = I on those cells too.
    op = ntk.WaveNTK(model, solver)
    assert torch.allclose(op.theta_m_matvec(row.reshape(-1)), row.reshape(-1))
    # The literal clamp: clamped cells have no kernel (they are frozen).
    model.bound_gradient = "zero"
    op = ntk.WaveNTK(model, solver)
    assert float(op.theta_m_matvec(row.reshape(-1)).abs().max()) == 0.0


def test_hashgrid_matrix_free_top_eigenvalue(setup):
    op = ntk.WaveNTK(_model(setup, "hashgrid", **HASH), setup[1])
    ex = op.explicit()
    exact = np.linalg.eigvalsh(ex["kernel"].numpy())[::-1][:3]
    values, info = op.eigenvalues(3, tol=1e-10)
    assert info["space"] == "model"  # 96 cells < 2,160 data < 4,949 parameters
    assert np.max(np.abs(values - exact) / exact) < 1e-4


# ---------------------------------------------------------------------------------------------
def test_lanczos_top_matches_dense_and_rejects_bad_k():
    gen = np.random.default_rng(0)
    q, _ = np.linalg.qr(gen.standard_normal((120, 120)))
    lam = 1.0 / np.arange(1, 121) ** 2
    mat = torch.from_numpy((q * lam) @ q.T)
    values, count = ntk.lanczos_top(lambda x: mat @ x, 120, 8, tol=1e-12)
    assert np.allclose(values, lam[:8], rtol=1e-8)
    assert count < 120
    with pytest.raises(ValueError, match="`k` must be a positive integer"):
        ntk.lanczos_top(lambda x: x, 10, 0)


def test_decay_normalisations():
    eig = [100.0, 1.0, 0.5, 0.25]
    assert np.allclose(ntk.normalised_decay(eig), [1, 0.01, 0.005, 0.0025])
    assert np.allclose(ntk.normalised_decay(eig, drop_leading=1), [1, 0.5, 0.25])
    summary = ntk.decay_summary(eig)
    assert summary["lambda1_over_lambda2"] == pytest.approx(100.0)
    assert summary["last_over_second"] == pytest.approx(0.25)
    assert summary["slope_without_mean"] == pytest.approx(np.polyfit(np.log([2, 3, 4]), np.log(eig[1:]), 1)[0])
    with pytest.raises(ValueError, match="need more than 1"):
        ntk.normalised_decay([1.0], drop_leading=1)


def test_choose_space_picks_the_smallest(siren_case):
    op, _ = siren_case
    assert op.choose_space() == "model"  # 96 cells < 337 parameters < 2,160 data
    assert op.choose_space(max_model_space=10) == "parameter"
    with pytest.raises(ValueError, match="`space` must be one of"):
        op.choose_space("eigen")


# ---------------------------------------------------------------------------------------------
def test_kernel_monitor_drift(setup):
    _, solver, _ = setup
    model = _model(setup, "siren", **SIREN)
    monitor = ntk.KernelMonitor(every=5, n_eigs=2, n_probes=2, shots=[0])
    assert monitor.due(0) and monitor.due(10) and not monitor.due(3)
    first = monitor(model, solver, 0)
    assert first["relative_change"] == 0.0 and len(first["eigenvalues"]) == 2
    again = monitor(model, solver, 5)
    assert again["relative_change"] < 1e-12
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    moved = monitor(model, solver, 10)
    assert moved["relative_change"] > 1e-3
    assert moved["cost"]["wave_solves"] > 0
    json.dumps(monitor.records)  # JSON-able
    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        ntk.KernelMonitor(every=0)


def test_kernel_monitor_save(tmp_path, setup):
    _, solver, _ = setup
    model = _model(setup, "pixel")
    monitor = ntk.KernelMonitor(every=1, n_eigs=1, n_probes=1, shots=[1])
    monitor(model, solver, 0)
    monitor(model, solver, 1)
    path = monitor.save(tmp_path)
    data = json.loads(path.read_text())
    assert [r["iteration"] for r in data["records"]] == [0, 1]
    assert (tmp_path / "figures" / "ntk_drift.png").stat().st_size > 0


# ---------------------------------------------------------------------------------------------
def _tiny_config() -> RunConfig:
    from crfwi.config import config_from_dict

    return config_from_dict({
        "name": "tiny", "seed": 0,
        "model": {"name": "layered", "nz": 10, "nx": 16, "spacing": 20.0},
        "survey": {"n_shots": 2, "freq": 8.0, "dt": 0.004, "nt": 120, "pml_width": 8},
        "inversion": {"method": "pixel"},
    })


def test_run_ntk_writes_spectrum_and_figures(tmp_path):
    payload = ntk_command.run_ntk(_tiny_config(), tmp_path / "out", methods=["pixel", "siren"], k=4,
                          log=lambda *_: None)
    data = json.loads((tmp_path / "out" / "spectrum.json").read_text())
    assert set(data["methods"]) == {"pixel", "siren"}
    for method, records in data["methods"].items():
        values = records[0]["eigenvalues"]
        assert len(values) == 4 and values == sorted(values, reverse=True) and values[-1] > 0
        assert records[0]["info"]["wave_solves"] > 0
    assert data["methods"]["pixel"][0]["theta_m_eigenvalues"] == pytest.approx([1.0] * 4)
    for name in ("spectra.png", "spectra_without_mean.png", "theta_m_spectra.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert payload["normalisation"].startswith("decay curves")
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        ntk_command.run_ntk(_tiny_config(), tmp_path / "x", methods=["nope"])


def test_ntk_parser_wires_into_a_cli(tmp_path):
    parser = argparse.ArgumentParser(prog="crfwi")
    sub = parser.add_subparsers(dest="command", required=True)
    ntk_command.add_ntk_parser(sub)
    args = parser.parse_args(["ntk", "c.toml", "--methods", "pixel,siren", "--k", "5", "--out", "d"])
    assert args.func is ntk_command._cmd_ntk and args.k == 5 and args.methods == "pixel,siren"
    with pytest.raises(ValueError, match="--k must be >= 1"):
        toml = tmp_path / "c.toml"
        toml.write_text('[model]\nname = "layered"\nnz = 10\nnx = 16\nspacing = 20.0\n')
        ntk_command._cmd_ntk(parser.parse_args(["ntk", str(toml), "--k", "0"]))


# ---------------------------------------------------------------------------------------------
def test_1d_solver_adjoint_and_jacobian():
    solver = ntk1d.Solver1D(30, nt=200, n_absorb=20)
    v = torch.linspace(1500.0, 3000.0, 30, dtype=torch.float64)
    jg = solver.jacobian(v)
    gen = torch.Generator().manual_seed(0)
    dm = torch.randn(30, generator=gen, dtype=torch.float64)
    u = torch.randn(solver.n_data, generator=gen, dtype=torch.float64)
    vv = v.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(solver.simulate(vv).reshape(-1), vv, u)
    assert float(jg @ dm @ u) == pytest.approx(float(dm @ g), rel=1e-10)  # exact discrete adjoint
    eps = 1e-3
    fd = (solver.simulate(v + eps * dm) - solver.simulate(v - eps * dm)).reshape(-1) / (2 * eps)
    assert float((fd - jg @ dm).norm() / (jg @ dm).norm()) < 1e-6
    with pytest.raises(ValueError, match="unstable"):
        ntk1d.Solver1D(30, max_vel=8000.0)


def test_shallow_network_closed_form_ntk():
    grid = Grid(25, 1, 15.0)
    net = ntk1d.ShallowNTKNet(grid, width=40, seed=3)
    vm = VelocityModel(net, torch.full(grid.shape, 2500.0), grid, bounds=(1000.0, 4000.0)).double()
    jm = ntk1d.model_jacobian(vm)
    assert torch.allclose(ntk1d.model_ntk(vm), jm @ jm.T, rtol=1e-10, atol=1e-8)
    # the 1-D kernel: Θ = J_G Θ_m J_Gᵀ, its non-zero spectrum from the model-space form
    solver = ntk1d.Solver1D(25, nt=150, n_absorb=20)
    k = ntk1d.wave_ntk_1d(vm, solver)
    exact = np.linalg.eigvalsh(k["kernel"].numpy())[::-1][:10]
    assert np.allclose(ntk1d.nonzero_spectrum(k["J_G"], k["theta_m"])[:10], exact, rtol=1e-6)


@pytest.mark.skipif(not (Path(os.environ.get("CRFWI_DATA_DIR", "../shared/models")) / "models.json").exists(),
                    reason="benchmark models not found: set CRFWI_DATA_DIR")
def test_marmousi_trace_for_the_1d_study():
    model, grid = ntk1d.marmousi_trace(data_dir=os.environ.get("CRFWI_DATA_DIR", "../shared/models"))
    assert grid.dz == 15.0 and grid.nx == 1 and model.shape == (grid.nz,)
    assert 1400.0 <= model.min() and model.max() <= 5600.0


@pytest.mark.parametrize("dt, exact", [(0.004, False), (0.001, True)])
def test_run_ntk_says_whether_the_kernel_is_exact(tmp_path, dt, exact):
    """Above deepwave's stability limit the adjoint is not the Born operator's transpose; the
    command says so in its output and in spectrum.json (issue 12)."""
    from crfwi.config import apply_overrides, config_from_dict, config_to_dict

    data = apply_overrides(config_to_dict(_tiny_config()), [f"survey.dt={dt}", "survey.nt=60"])
    lines = []
    payload = ntk_command.run_ntk(config_from_dict(data), tmp_path / "out", methods=["pixel"], k=2,
                          log=lines.append)
    assert (payload["time_substeps"] == 1) is exact
    assert payload["exactness"].startswith("exact" if exact else "approximate")
    assert any(line.startswith("note: the kernel is approximate") for line in lines) is not exact
