"""Tests of the representations on a 3-D grid (issue 15): every method over (z, y, x), the 3-D hash
encoding against its slow twin, LR-FWI's Tucker form against its pointwise definition, every
branch's Jacobian, the centred start -- and a checksum that the 2-D representations are unchanged."""

from __future__ import annotations

import hashlib
import math

import pytest
import torch
from torch.func import functional_call, jvp

from crfwi.analysis import diagnostics
from crfwi.physics.geometry import Grid
from crfwi.physics.geometry3d import Grid3D
from crfwi.representations import VelocityModel, available, build
from crfwi.representations.hashgrid import PRIMES_3D, HashEncoding

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

NAMES = available()
G3 = Grid3D(6, 8, 8, 10.0)

# Tiny float64 instances for jvp (levels 2, 4, 8 over 3 axes: 27 and 125 vertices dense in T = 2^7,
# 729 hashed), as in tests/test_representations.py.
_TINY_HASH = dict(n_levels=3, base_resolution=2, per_level_scale=2.0, log2_hashmap_size=7, hidden_features=6)
TINY = {
    "pixel": {},
    "siren": dict(hidden_features=6, hidden_layers=2),
    "gabor": dict(hidden_features=8, hidden_layers=1),
    "lowrank": dict(rank_z=2, rank_y=3, rank_x=2, hidden_features=6),
    "hashgrid": dict(_TINY_HASH),
    "ig": dict(_TINY_HASH, sine_features=5),
    "lrg": dict(_TINY_HASH, rank_z=2, rank_y=2, rank_x=3, lr_hidden_features=5),
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(name: str, g, seed: int = 0, **opts):
    torch.manual_seed(seed)
    return build(name, g, **opts)


# --- every method over (z, y, x) ---------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_shape_and_finite_on_a_3d_grid(name):
    rep = make(name, G3)
    assert rep.spatial_dim == 3
    out = rep(G3.coords())
    assert out.shape == G3.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    if name != "pixel":  # a random network is not constant over the grid
        assert out.detach().std() > 0
    # 2-D coordinates are refused by a 3-D representation (and the reverse), naming the argument.
    with pytest.raises(ValueError, match="coord"):
        rep(Grid(6, 8, 10.0).coords())
    with pytest.raises(ValueError, match="coord"):
        make(name, Grid(6, 8, 10.0))(G3.coords())


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter_in_3d(name):
    """∂(Σ w·F)/∂θ is non-zero for every parameter tensor, so every branch enters J_m = ∂m/∂θ."""
    rep = make(name, G3)
    torch.manual_seed(2)
    (rep(G3.coords()) * torch.randn(G3.shape)).sum().backward()
    for pname, p in rep.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, f"{name}: no gradient reaches {pname}"


@pytest.mark.parametrize("name", NAMES)
def test_jvp_passes_the_dot_test_in_3d(name):
    """Forward mode (what the model-space NTK uses) works in 3-D: <u, J v> = <Jᵀ u, v>, J v ≠ 0."""
    g = Grid3D(3, 4, 5, 10.0)
    rep = make(name, g, **TINY[name]).double()
    coords = g.coords(dtype=torch.float64)
    names = [k for k, _ in rep.named_parameters()]
    primal = tuple(p.detach() for _, p in rep.named_parameters())
    torch.manual_seed(3)
    tangent = tuple(torch.randn_like(p) for p in primal)

    def f(*values):
        return functional_call(rep, dict(zip(names, values)), (coords,))

    out, jv = jvp(f, primal, tangent)
    assert out.shape == g.shape and jv.abs().max() > 0
    u = torch.randn_like(out)
    values = tuple(p.clone().requires_grad_(True) for p in primal)
    grads = torch.autograd.grad((f(*values) * u).sum(), values)
    adjoint = sum((gr.conj() * t).real.sum() for gr, t in zip(grads, tangent))
    assert torch.allclose((u * jv).sum(), adjoint, rtol=1e-10, atol=1e-12)


def test_parameter_counts_in_3d():
    """The networks gain one input (SIREN 3→128: +128; WIRE 3→141: +141; IG's sine branch +128);
    the hash grid's count does not change; LR-FWI's Tucker core is r1·r2·r3 at half ranks."""
    cpu, paper = Grid3D(30, 40, 40, 10.0), Grid3D(60, 160, 160, 50.0)
    expected = {"siren": 50_177, "gabor": 60_772, "hashgrid": 14_529, "ig": 39_745}
    for name, count in expected.items():
        assert make(name, G3).n_parameters() == count, name
    assert make("pixel", cpu).n_parameters() == 48_000
    factor_nets = 3 * (256 + 16_512)
    assert make("lowrank", cpu).n_parameters() == factor_nets + 129 * (15 + 20 + 20) + 15 * 20 * 20 == 63_399
    lr = make("lowrank", paper)
    assert lr.core.shape == (30, 80, 80)
    assert lr.n_parameters() == factor_nets + 129 * (30 + 80 + 80) + 30 * 80 * 80 == 266_814
    lrg = make("lrg", paper)
    assert lrg.core.shape == (30, 80, 128)
    assert lrg.n_parameters() == 410_927


# --- the 3-D hash encoding ---------------------------------------------------------------------
def _encoding3d(**kw) -> HashEncoding:
    """Levels 2, 4, 8, 16: (N+1)³ = 27, 125 dense in T = 2^7 = 128; 729, 4913 hashed."""
    torch.manual_seed(0)
    return HashEncoding(n_levels=4, base_resolution=2, per_level_scale=2.0, features_per_level=3,
                        log2_hashmap_size=7, init_scale=1.0, n_dims=3, **kw).double()


def _points3d(n: int = 40) -> torch.Tensor:
    torch.manual_seed(1)
    pts = torch.rand(n, 3, dtype=torch.float64) * 2 - 1
    corners = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], [1.0, -1.0, 0.3], [0.0, 0.0, 0.0]],
                           dtype=torch.float64)
    return torch.cat([pts, corners])


def test_hash_encoding_3d_equals_slow_reference():
    enc = _encoding3d()
    assert enc.dense == [True, True, False, False]
    assert enc.primes == PRIMES_3D == (1, 2654435761, 805459861)
    pts = _points3d()
    torch.testing.assert_close(enc(pts), enc.reference(pts), rtol=0, atol=1e-12)
    sample = _encoding3d(dense_backend="grid_sample")
    torch.testing.assert_close(sample(pts), enc.reference(pts), rtol=0, atol=1e-12)


def test_hash_encoding_3d_gradient_reaches_the_table():
    """∂(Σ features)/∂table is the sum of each row's trilinear weights (× c): every level's rows are
    reached, and the 8 weights of a point sum to 1 at every level."""
    enc = _encoding3d(feature_scale=3.0)
    pts = _points3d()
    enc(pts).sum().backward()
    index, weights = enc.corners(pts)
    assert index.shape == weights.shape == (len(pts), 4, 8)
    torch.testing.assert_close(weights.sum(-1), torch.ones(len(pts), 4, dtype=torch.float64))
    expected = torch.zeros(enc.table.shape[0], dtype=torch.float64).index_add_(0, index.reshape(-1),
                                                                               weights.reshape(-1))
    torch.testing.assert_close(enc.table.grad, 3.0 * expected[:, None].expand_as(enc.table.grad))
    for level, (start, rows) in enumerate(zip(enc.offsets, enc.rows)):
        assert enc.table.grad[start:start + rows].abs().sum() > 0, level


def test_hashed_index_3d_golden_value():
    """Vertex (3, 5, 7) hashes to (3·1 XOR 5·2654435761 XOR 7·805459861, each mod 2^32) mod 2^8."""
    expected = ((3 * 1) ^ ((5 * 2654435761) & 0xFFFFFFFF) ^ ((7 * 805459861) & 0xFFFFFFFF)) % 256
    enc = HashEncoding(n_levels=1, base_resolution=20, log2_hashmap_size=8, n_dims=3)  # 21³ > 256
    point = torch.tensor([[v / 20 * 2 - 1 + 1e-9 for v in (3, 5, 7)]], dtype=torch.float64)
    index, weights = enc.corners(point)
    assert index[0, 0, 0].item() == expected  # corner (0, 0, 0) is the vertex itself
    assert weights[0, 0, 0].item() == pytest.approx(1.0, abs=1e-6)


def test_dense_3d_level_interpolates_a_trilinear_function_exactly():
    """Table entries a + b·i0 + c·i1 + d·i2 on a dense level give features linear in the point."""
    enc = HashEncoding(n_levels=1, base_resolution=4, log2_hashmap_size=8, features_per_level=1,
                       n_dims=3).double()  # 5³ = 125 ≤ 256: dense
    n = 4
    i = torch.arange(n + 1, dtype=torch.float64)
    i2, i1, i0 = torch.meshgrid(i, i, i, indexing="ij")  # row i0 + 5·i1 + 25·i2
    with torch.no_grad():
        enc.table.copy_((0.5 + 1.0 * i0 + 2.0 * i1 - 3.0 * i2).reshape(-1, 1))
    pts = _points3d()
    u = (pts + 1) / 2 * n
    torch.testing.assert_close(enc(pts)[:, 0], 0.5 + u[:, 0] + 2 * u[:, 1] - 3 * u[:, 2])


def test_hash_encoding_rejects_wrong_dimension():
    with pytest.raises(ValueError, match="n_dims"):
        HashEncoding(n_dims=4)
    with pytest.raises(ValueError, match="points"):
        HashEncoding(n_dims=3)(torch.zeros(5, 2))


# --- LR-FWI and LRG-FWI in 3-D -----------------------------------------------------------------
def test_lowrank_3d_equals_its_pointwise_tucker_definition():
    """On the tensor-product grid, F[i, j, k] = Σ_abc C_abc A_a(z_i) B_b(y_j) X_c(x_k), each factor
    network evaluated at the single point's own coordinate."""
    g = Grid3D(5, 6, 7, 10.0)
    rep = make("lowrank", g, rank_z=3, rank_y=4, rank_x=2).double()
    assert rep.core.shape == (3, 4, 2)
    coords = g.coords(dtype=torch.float64)
    out = rep(coords)
    assert out.shape == g.shape
    with torch.no_grad():
        for i, j, k in [(0, 0, 0), (4, 5, 6), (2, 1, 3), (1, 5, 0), (3, 2, 6)]:
            z, y, x = (coords[i, j, k, d].reshape(1) for d in range(3))
            a, b, c = rep.factor_z(z)[0], rep.factor_y(y)[0], rep.factor_x(x)[0]
            value = torch.einsum("abc,a,b,c->", rep.core, a, b, c)
            torch.testing.assert_close(out[i, j, k], value, rtol=1e-12, atol=1e-14)
    # default ranks: half of each model dimension
    assert make("lowrank", Grid3D(30, 40, 40, 10.0)).core.shape == (15, 20, 20)
    with pytest.raises(ValueError, match="rank_y"):
        make("lowrank", Grid(6, 8, 10.0), rank_y=3)


def test_lrg_3d_features_sum_to_a_lowrank_output():
    """LRG's low-rank block, summed over its rank_x features, is the LR-FWI Tucker form of its own
    factors and core: Σ_j L_j(z, y, x) = C ×1 A ×2 B ×3 X (1 …)."""
    g = Grid3D(4, 5, 6, 10.0)
    rep = make("lrg", g, rank_z=2, rank_y=3, rank_x=7).double()
    coords = g.coords(dtype=torch.float64)
    feats = rep.lowrank_features(coords)
    assert feats.shape == (g.size, 7)
    with torch.no_grad():
        a = rep.factor_z(coords[:, 0, 0, 0])
        b = rep.factor_y(coords[0, :, 0, 1])
        x = rep.factor_x(coords[0, 0, :, 2])
        tucker = torch.einsum("abc,za,yb,xc->zyx", rep.core, a, b, x)
    torch.testing.assert_close(feats.sum(1).reshape(g.shape), tucker, rtol=1e-12, atol=1e-13)


# --- the hybrids' branches: the balanced normalisation's premise in 3-D ------------------------
def _linear_m0(g: Grid3D) -> torch.Tensor:
    return torch.linspace(1500.0, 4000.0, g.nz)[:, None, None].expand(g.shape).clone()


@pytest.mark.parametrize("name, floor", [("ig", 0.25), ("lrg", 0.1)])
def test_hybrid_branches_share_the_ntk_trace_in_3d(name, floor):
    """Each branch holds a real share of ‖∂m/∂θ‖² = tr Θ_m at init (Hutchinson, 4 probes). Measured
    on 8×12×12 and 30×40×40, seeds 0-1: IG grid 0.38-0.49, sine 0.50-0.61; LRG grid 0.65-0.80,
    low-rank 0.19-0.35 (its feature share is lower, 0.07-0.12: a product of three factors)."""
    g = Grid3D(8, 12, 12, 10.0)
    torch.manual_seed(0)
    model = VelocityModel(build(name, g), _linear_m0(g), g, bounds=(1400.0, 5000.0))
    trace = diagnostics.ntk_trace_shares(model, probes=4)["model"]
    other = "inr" if name == "ig" else "lowrank"
    assert trace["grid"]["share"] > floor, trace
    assert trace[other]["share"] > floor, trace
    features = diagnostics.branch_report(model)
    assert set(features) == {"grid", other}
    assert all(v["feature_share"] > 0.05 for v in features.values()), features


# --- the velocity model in 3-D -----------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_centred_start_gives_m0_in_3d(name):
    m0 = _linear_m0(G3)
    fixed = torch.zeros(G3.shape, dtype=torch.bool)
    fixed[0] = True  # a water layer: the top depth slice
    model = VelocityModel(make(name, G3), m0, G3, bounds=(1400.0, 5000.0), fixed_mask=fixed)
    assert model.start_offset.shape == G3.shape
    assert torch.equal(model(), m0)
    # After a step, fixed cells keep m0 and everything stays inside the bounds.
    with torch.no_grad():
        for p in model.representation.parameters():
            p.add_(torch.randn_like(p) * (50.0 if name == "pixel" else 0.05))
    out = model().detach()
    assert out.shape == G3.shape
    assert torch.equal(out[0], m0[0])
    assert out.min() >= 1400.0 and out.max() <= 5000.0
    model.project_()
    assert torch.isfinite(model()).all()


def test_velocity_model_checks_3d_shapes():
    rep = make("siren", G3)
    with pytest.raises(ValueError, match="initial"):
        VelocityModel(rep, torch.full((6, 8), 2000.0), G3, bounds=(1400.0, 5000.0))
    with pytest.raises(ValueError, match="fixed_mask"):
        VelocityModel(rep, _linear_m0(G3), G3, bounds=(1400.0, 5000.0),
                      fixed_mask=torch.zeros(6, 8, dtype=torch.bool))


def test_pixel_projection_keeps_3d_cells_inside_bounds():
    m0 = _linear_m0(G3)
    model = VelocityModel(make("pixel", G3), m0, G3, bounds=(1400.0, 5000.0))
    with torch.no_grad():
        model.representation.delta.fill_(1e4)
    model.project_()
    assert float(model.unbounded().detach().max()) <= 5000.0


# --- the 2-D representations are unchanged -----------------------------------------------------
# Computed with crfwi at 26292cf (before the 3-D representations), Grid(12, 20, 10.0), seed 3, one
# thread: sha256 of the state dict (names and bytes; first 16 hex digits), sha256 of the float32
# output bytes, and the float64 sum and absolute sum of the output. The 3-D commit reproduced all
# of them bit for bit; the test asserts the parameters exactly (the seed's draws: a 3-D edit that
# changes what or in which order a 2-D constructor draws breaks it) and the output to 1e-6 (a
# different BLAS may round differently; a changed computation moves the sums far more).
_CASES_2D = {
    "pixel": {}, "siren": {}, "gabor": {}, "lowrank": {}, "hashgrid": {}, "ig": {}, "lrg": {},
    "lowrank/lrtfr": {"core_init": "lrtfr"},
    "hashgrid/literal": {"grid_normalisation": "literal"},
    "hashgrid/mixed": dict(n_levels=4, base_resolution=3, per_level_scale=2.0, log2_hashmap_size=6),
    "hashgrid/mixed-grid_sample": dict(n_levels=4, base_resolution=3, per_level_scale=2.0,
                                       log2_hashmap_size=6, dense_backend="grid_sample"),
    "ig/mixed": dict(n_levels=4, base_resolution=3, per_level_scale=2.0, log2_hashmap_size=6),
    "lrg/mixed": dict(n_levels=4, base_resolution=3, per_level_scale=2.0, log2_hashmap_size=6),
}
_CHECKSUMS_2D = {
    'pixel': ('706515a6ecb26cd7', '3dc463a76fc17060', 0.0, 0.0),
    'siren': ('7bb92cdf3a6cfb1f', '70c06377f427a68d', 27.43008193001151, 27.43008193001151),
    'gabor': ('8ea70c7a09b42c71', 'b21556ccffa331a1', -17.231491684913635, 42.787718668580055),
    'lowrank': ('c75ab499ba9cd671', '056727546dbf3d81', 2.394507631775923, 14.241740290890448),
    'hashgrid': ('c9267617f80d5ff9', 'b318c2f274a4072a', 19.59529005177319, 20.036215828731656),
    'ig': ('87118aedaa222fda', '5d23438338dd0142', -31.30793345719576, 31.30793345719576),
    'lrg': ('a5604ad43b603859', 'db7439686588f192', 18.994977856054902, 19.135832084342837),
    'lowrank/lrtfr': ('3078461bfb87fec0', 'e69762814e725706', 7.57209902186878, 45.03633991186507),
    'hashgrid/literal': ('5aba26f5efc3cb28', '51b339724ab72830', 21.40818289667368, 21.40818289667368),
    'hashgrid/mixed': ('2c84b5bae0c6993f', 'c03f31b7f364e8ae', -39.2325689420104, 39.2325689420104),
    'hashgrid/mixed-grid_sample': ('2c84b5bae0c6993f', 'cac512fca1ddea04', -39.23256903886795, 39.23256903886795),
    'ig/mixed': ('8c0f54bad4d96bbc', '642cceea6ca14c4a', 0.549215929582715, 6.821055358275771),
    'lrg/mixed': ('124f235e9cdee9fb', '4d36478a1deab093', 24.341200955212116, 24.341200955212116),
}


def _checksum_2d(case: str) -> tuple[str, str, float, float]:
    g = Grid(12, 20, 10.0)
    torch.manual_seed(3)
    rep = build(case.split("/")[0], g, **_CASES_2D[case])
    h = hashlib.sha256()
    for key, value in rep.state_dict().items():
        value = torch.view_as_real(value) if value.is_complex() else value
        h.update(key.encode())
        h.update(value.detach().contiguous().numpy().tobytes())
    with torch.no_grad():
        out = rep(g.coords()).detach()
    return (h.hexdigest()[:16], hashlib.sha256(out.numpy().tobytes()).hexdigest()[:16],
            float(out.double().sum()), float(out.double().abs().sum()))


@pytest.mark.parametrize("case", list(_CASES_2D))
def test_2d_representations_unchanged_for_a_fixed_seed(case):
    params, _, total, absolute = _checksum_2d(case)
    want_params, _, want_total, want_abs = _CHECKSUMS_2D[case]
    assert params == want_params, f"{case}: the 2-D parameters drawn from seed 3 changed"
    assert math.isclose(total, want_total, rel_tol=1e-6, abs_tol=1e-6), (case, total, want_total)
    assert math.isclose(absolute, want_abs, rel_tol=1e-6, abs_tol=1e-6), (case, absolute, want_abs)


# --- crfwi methods --grid NZxNYxNX -------------------------------------------------------------
def test_methods_command_counts_on_a_3d_grid(capsys):
    from crfwi.cli import main

    assert main(["methods", "--grid", "6x8x8"]) == 0
    out = capsys.readouterr().out
    assert "6 x 8 x 8 grid" in out and "50,177" in out and "384" in out  # SIREN 3-D; 6·8·8 pixels
    assert main(["methods", "--grid", "6x8"]) == 0
    assert "50,049" in capsys.readouterr().out
    for bad in ("6x8x8x8", "6", "axb", "0x4x4"):
        assert main(["methods", "--grid", bad]) == 2
        assert "--grid" in capsys.readouterr().err
