"""Tests of the representations: a contract every registered representation meets, the paper's
parameter counts, the hash encoding against its slow twin, and fitting a layered model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.interpolate import RegularGridInterpolator
from torch.func import functional_call, jvp

from crfwi.physics.geometry import Grid
from crfwi.representations import VelocityModel, available, build, options
from crfwi.representations.hashgrid import HashEncoding, level_resolutions

# torch's forward-mode AD scripts its decompositions with the deprecated torch.jit.script.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

NAMES = available()
GRIDS = [(7, 11), (1, 5), (5, 1), (1, 1), (16, 16)]

# Tiny float64 instances (few parameters) for gradcheck and jvp; unknown names use defaults.
_TINY_HASH = dict(n_levels=3, base_resolution=2, per_level_scale=2.0, log2_hashmap_size=4,
                  hidden_features=6)  # resolutions 2, 4, 8: level 0 dense, levels 1-2 hashed
TINY = {
    "pixel": {},
    "siren": dict(hidden_features=6, hidden_layers=2),
    "gabor": dict(hidden_features=8, hidden_layers=1),  # complex width 5
    "lowrank": dict(rank_z=2, rank_x=3, hidden_features=6),
    "hashgrid": dict(_TINY_HASH),
    "ig": dict(_TINY_HASH, sine_features=5),
    "lrg": dict(_TINY_HASH, rank_z=2, rank_x=3, lr_hidden_features=5),
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These problems are tiny (at most 1,152 points): one intra-op thread is as fast as two, and it
    avoids the OpenMP spin-wait collapse (10-100x) seen when other jobs share the CPU cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def grid(nz: int, nx: int) -> Grid:
    return Grid(nz, nx, 10.0)


def make(name: str, g: Grid, seed: int = 0, **opts):
    torch.manual_seed(seed)
    return build(name, g, **opts)


def tiny64(name: str, g: Grid, seed: int = 0):
    return make(name, g, seed, **TINY.get(name, {})).double()


def supports_zero_init(name: str) -> bool:
    return "zero_init_output" in options(name)


def layered(nz: int = 24, nx: int = 48) -> torch.Tensor:
    """A smooth three-interface layered model with undulating interfaces, scaled to [-1, 1]."""
    z = torch.linspace(0, 1, nz, dtype=torch.float64)[:, None]
    x = torch.linspace(0, 1, nx, dtype=torch.float64)[None, :]
    v = torch.zeros(nz, nx, dtype=torch.float64)
    for depth, amp, jump in [(0.25, 0.05, 0.6), (0.5, 0.08, 0.8), (0.75, 0.04, 0.7)]:
        interface = depth + amp * torch.sin(2 * math.pi * x + 5 * depth)
        v = v + jump * torch.sigmoid((z - interface) / 0.03)
    return ((v - v.min()) / (v.max() - v.min()) * 2 - 1).float()


# ------------------------------------------------------------------------------------------
# The contract, for every registered representation
# ------------------------------------------------------------------------------------------


def test_all_paper_methods_registered():
    assert {"pixel", "siren", "gabor", "lowrank", "hashgrid", "ig", "lrg"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_finite_on_grids(name):
    for nz, nx in GRIDS:
        g = grid(nz, nx)
        rep = make(name, g)
        out = rep(g.coords())
        assert out.shape == (nz, nx), (name, nz, nx)
        assert out.dtype == torch.float32
        assert torch.isfinite(out).all()
    g = grid(3, 4)
    rep = make(name, g).double()
    out = rep(g.coords(dtype=torch.float64))
    assert out.dtype == torch.float64 and out.shape == (3, 4)


@pytest.mark.parametrize("name", NAMES)
def test_class_attributes_and_groups(name):
    g = grid(6, 9)
    rep = make(name, g)
    assert rep.output_scale > 0 and rep.learning_rate > 0
    if name != "pixel":
        assert rep.output_scale == 1000.0 and rep.learning_rate == 1e-4
    groups = rep.parameter_groups()
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids)), "parameter groups overlap"
    assert set(ids) == {id(p) for p in rep.parameters()}, "parameter groups miss parameters"
    if name in ("hashgrid", "ig", "lrg"):
        assert [p.shape for p in groups["grid"]] == [rep.encoding.table.shape]


@pytest.mark.parametrize("name", NAMES)
def test_zero_init_gives_initial_model_exactly(name):
    g = grid(7, 11)
    opts = {"zero_init_output": True} if supports_zero_init(name) else {}
    if not opts and name != "pixel":
        pytest.skip(f"{name} has no zero_init_output option")
    rep = make(name, g, **opts)
    torch.manual_seed(1)
    m0 = 1500.0 + 2000.0 * torch.rand(g.shape)
    model = VelocityModel(rep, m0, g, bounds=(1000.0, 5000.0))
    assert torch.equal(model(), m0)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter(name):
    g = grid(7, 11)
    rep = make(name, g)
    torch.manual_seed(2)
    weights = torch.randn(g.shape)
    (rep(g.coords()) * weights).sum().backward()
    for pname, p in rep.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, f"{name}: no gradient reaches {pname}"


def _check_params(rep) -> dict[str, torch.Tensor]:
    named = dict(rep.named_parameters())
    keys = list(named)
    matrices = [k for k in keys if named[k].dim() >= 2]
    chosen = dict.fromkeys([keys[0], keys[len(keys) // 2], (matrices or keys)[-1]])
    return {k: named[k] for k in chosen}


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_float64(name):
    g = grid(3, 4)
    rep = tiny64(name, g)
    coords = g.coords(dtype=torch.float64)
    params = {k: v.detach() for k, v in rep.named_parameters()}
    chosen = _check_params(rep)

    def f(*values):
        return functional_call(rep, {**params, **dict(zip(chosen, values))}, (coords,))

    inputs = tuple(v.detach().clone().requires_grad_(True) for v in chosen.values())
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_jvp_matches_finite_difference_and_vjp(name):
    """torch.func.jvp w.r.t. all parameters (what a model-space NTK needs) equals a central
    difference along the tangent, and passes the dot test <u, J v> = <Jᵀ u, v>."""
    g = grid(4, 5)
    rep = tiny64(name, g)
    coords = g.coords(dtype=torch.float64)
    names = [k for k, _ in rep.named_parameters()]
    primal = tuple(p.detach() for _, p in rep.named_parameters())
    torch.manual_seed(3)
    tangent = tuple(torch.randn_like(p) for p in primal)

    def f(*values):
        return functional_call(rep, dict(zip(names, values)), (coords,))

    out, jv = jvp(f, primal, tangent)
    h = 1e-6
    plus = f(*(p + h * t for p, t in zip(primal, tangent)))
    minus = f(*(p - h * t for p, t in zip(primal, tangent)))
    fd = (plus - minus) / (2 * h)
    assert torch.allclose(jv, fd, rtol=1e-5, atol=1e-7 * max(1.0, fd.abs().max().item()))
    assert torch.equal(out, f(*primal))

    u = torch.randn_like(out)
    values = tuple(p.clone().requires_grad_(True) for p in primal)
    grads = torch.autograd.grad((f(*values) * u).sum(), values)
    adjoint = sum((gr.conj() * t).real.sum() for gr, t in zip(grads, tangent))
    assert torch.allclose((u * jv).sum(), adjoint, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_seed(name):
    g = grid(5, 8)
    a, b = make(name, g, seed=7), make(name, g, seed=7)
    for (ka, pa), (kb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert ka == kb and torch.equal(pa, pb)
    assert torch.equal(a(g.coords()), b(g.coords()))
    if name != "pixel":
        c = make(name, g, seed=8)
        assert not torch.equal(a(g.coords()), c(g.coords()))


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_rejected_with_valid_list(name):
    with pytest.raises(ValueError, match="valid:") as info:
        build(name, grid(3, 3), no_such_option=1)
    assert "no_such_option" in str(info.value)
    for opt in options(name):
        assert opt in str(info.value)


# Fitting a smooth layered 24x48 model (values in [-1, 1]) by direct regression: Adam with a
# cosine-decayed rate. Measured relative L2 errors (5 seeds): pixel 0.007, siren 0.001,
# gabor (40 steps) 0.019, hashgrid 0.017-0.022, ig 0.005, lowrank 0.012-0.018, lrg 0.010-0.014;
# the bound 0.05 leaves a margin of 2x or more.
FIT_LR = {"pixel": 0.05, "hashgrid": 1e-2}
FIT_STEPS = {"gabor": 40}  # the complex network fits fastest and costs most per step on CPU
FIT_BOUND = 0.05


@pytest.mark.parametrize("name", NAMES)
def test_fits_layered_model(name):
    g = grid(24, 48)
    target = layered(24, 48)
    coords = g.coords()
    rep = make(name, g, seed=0)
    steps = FIT_STEPS.get(name, 100)
    opt = torch.optim.Adam(rep.parameters(), lr=FIT_LR.get(name, 1e-3))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    start = ((rep(coords) - target).norm() / target.norm()).item()
    for _ in range(steps):
        opt.zero_grad()
        (rep(coords) - target).pow(2).mean().backward()
        opt.step()
        schedule.step()
    with torch.no_grad():
        error = ((rep(coords) - target).norm() / target.norm()).item()
    assert error < FIT_BOUND, f"{name}: relative L2 error {error:.4f} (from {start:.3f})"


# ------------------------------------------------------------------------------------------
# Parameter counts (PAPER.md §3, Table 1)
# ------------------------------------------------------------------------------------------

MARMOUSI, BP = Grid(94, 288, 25.0), Grid(188, 500, 12.5)


@pytest.mark.parametrize("g", [MARMOUSI, BP], ids=["marmousi", "bp"])
def test_parameter_counts(g):
    count = {name: make(name, g).n_parameters() for name in ("siren", "gabor", "hashgrid", "ig")}
    assert count["siren"] == 50_049  # Table 1: IFWI 50.05K
    assert count["gabor"] == 60_631  # Table 1: WinFWI 60.63K (a complex entry counts once)
    assert count["hashgrid"] == 16 * 2 ** 8 * 2 + (32 * 64 + 64) + (64 * 64 + 64) + 65  # 14,529 (~14.26K)
    # Sine branch 2→128→128 (16,896) + 128·64 widened fusion weights (8,192) = 25,088; Table 1's
    # 39.34K − 14.26K = 25.08K is a difference of rounded numbers (±0.01K).
    assert count["ig"] - count["hashgrid"] == 25_088


@pytest.mark.parametrize("name", [n for n in NAMES if n != "pixel"])
@pytest.mark.parametrize("g", [MARMOUSI, BP], ids=["marmousi", "bp"])
def test_initial_perturbation_is_small_on_paper_grids(name, g):
    # A perturbation of ~1 km/s at init pins m_θ to the velocity bounds (zero gradient): LR-FWI's
    # LRTFR core init did that on the paper's grids (BENCHMARKS.md). Networks output km/s.
    torch.manual_seed(0)
    rep = build(name, g)
    with torch.no_grad():
        rms = float(rep(g.coords()).square().mean().sqrt())
    assert 1e-3 < rms < 0.3, rms


def test_lowrank_count_matches_table1_without_core():
    rep = make("lowrank", BP)
    core = rep.core.numel()
    assert rep.core.shape == (94, 250)  # rank = half the model dimensions (App. B.1)
    assert rep.n_parameters() - core == 77_912  # Table 1: LR-FWI 77.91K (networks only)
    assert rep.n_parameters() == 101_412


def test_lrg_design_sum_of_features_is_lowrank():
    """LRG's low-rank features sum to A(z) C B(x)ᵀ: a rank ≤ r1 matrix over the grid."""
    g = grid(12, 20)
    rep = make("lrg", g, rank_z=3, rank_x=7).double()
    coords = g.coords(dtype=torch.float64)
    feats = rep.lowrank_features(coords)
    assert feats.shape == (12 * 20, 7)
    total = feats.sum(dim=1).reshape(12, 20)
    assert torch.linalg.matrix_rank(total).item() <= 3
    per_channel = feats[:, 0].reshape(12, 20)
    assert torch.linalg.matrix_rank(per_channel).item() == 1


# ------------------------------------------------------------------------------------------
# Variants and details of single representations
# ------------------------------------------------------------------------------------------


def test_siren_sine_output_layer_is_bounded_and_zero_init():
    g = grid(9, 9)
    rep = make("siren", g, outermost_linear=False)
    assert rep(g.coords()).abs().max() <= 1.0
    assert rep.n_parameters() == 50_049
    assert torch.equal(make("siren", g, outermost_linear=False, zero_init_output=True)(g.coords()),
                       torch.zeros(9, 9))


def test_gabor_precision_conversions_keep_complex_weights():
    g = grid(4, 6)
    rep = make("gabor", g, hidden_features=8, hidden_layers=1)
    ref = rep(g.coords()).double()
    weight = rep.hidden[0].weight.detach().clone()
    for convert in (lambda m: m.double(), lambda m: m.to(torch.float64)):
        m = make("gabor", g, hidden_features=8, hidden_layers=1)
        convert(m)
        assert m.hidden[0].weight.dtype == torch.complex128
        assert torch.equal(m.hidden[0].weight, weight.to(torch.complex128))
        assert torch.allclose(m(g.coords(dtype=torch.float64)), ref, atol=1e-5)
    m.float()
    assert m.hidden[0].weight.dtype == torch.complex64


def test_lowrank_ranks_default_to_half_the_grid():
    rep = make("lowrank", grid(9, 14))
    assert rep.core.shape == (4, 7)
    assert make("lowrank", grid(1, 1)).core.shape == (1, 1)
    assert make("lowrank", grid(9, 14), rank_z=3, rank_x=5).core.shape == (3, 5)


def test_hybrid_alpha_validated():
    for name in ("ig", "lrg"):
        with pytest.raises(ValueError, match="alpha"):
            make(name, grid(3, 3), alpha=1.5)


# ------------------------------------------------------------------------------------------
# Hash encoding: fast path vs slow twin
# ------------------------------------------------------------------------------------------


def _test_points(n: int = 60, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    pts = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1
    edges = torch.tensor([[-1, -1], [1, 1], [-1, 1], [1, -1], [0, 0], [0.5, -0.25], [1, 0.3]],
                         dtype=torch.float64)  # corners, edges and points on vertices
    return torch.cat([pts, edges])


def _mixed_encoding(**kw) -> HashEncoding:
    torch.manual_seed(0)
    enc = HashEncoding(n_levels=5, base_resolution=3, per_level_scale=1.6, features_per_level=3,
                       log2_hashmap_size=6, init_scale=1.0, **kw).double()
    assert enc.resolutions == [3, 4, 7, 12, 19]
    assert enc.dense == [True, True, True, False, False]  # (N+1)^2 <= 64 for N <= 7
    return enc


def test_paper_hash_levels():
    res = level_resolutions(16, 50, 1.05)
    assert res[0] == 50 and res[-1] == 103  # floor(50 * 1.05^15) = floor(103.9)
    assert all(b >= a for a, b in zip(res, res[1:]))
    enc = HashEncoding()
    assert not any(enc.dense)  # T = 2^8 < 51^2: every level of the paper's grid is hashed
    assert enc.table.shape == (16 * 256, 2) and enc.out_features == 32
    assert enc.table.abs().max() <= 1e-4  # Instant-NGP's U(-1e-4, 1e-4)


def test_hash_encoding_equals_slow_reference():
    enc = _mixed_encoding()
    pts = _test_points()
    assert torch.allclose(enc(pts), enc.reference(pts), rtol=0, atol=1e-12)


def test_dense_level_is_bilinear_interpolation():
    enc = _mixed_encoding()
    pts = _test_points(seed=1)
    out = enc(pts).detach().numpy()
    for level in range(3):  # the dense levels
        n = enc.resolutions[level]
        rows = enc.table.detach()[enc.offsets[level]:enc.offsets[level] + (n + 1) ** 2].numpy()
        values = rows.reshape(n + 1, n + 1, 3).transpose(1, 0, 2)  # [i0, i1, F]
        axis = np.linspace(-1.0, 1.0, n + 1)
        interp = RegularGridInterpolator((axis, axis), values, method="linear")
        np.testing.assert_allclose(out[:, 3 * level:3 * level + 3], interp(pts.numpy()), atol=1e-12)


def test_hashed_index_golden_value():
    """Vertex (3, 5) hashes to ((3·1) XOR (5·2654435761 mod 2^32)) mod 2^8 = 118."""
    assert ((3 * 1) ^ ((5 * 2654435761) & 0xFFFFFFFF)) % 256 == 118
    enc = HashEncoding(n_levels=1, base_resolution=20, log2_hashmap_size=8)  # 21^2 > 256: hashed
    point = torch.tensor([[3 / 20 * 2 - 1 + 1e-9, 5 / 20 * 2 - 1 + 1e-9]], dtype=torch.float64)
    index, weights = enc.corners(point)
    assert index[0, 0, 0].item() == 118  # corner (0, 0) is the vertex itself
    assert torch.allclose(weights[0, 0], torch.tensor([1.0, 0, 0, 0], dtype=torch.float64), atol=1e-7)
    assert (index >= 0).all() and (index < 256).all()


def test_grid_sample_backend_equals_gather():
    gather, sample = _mixed_encoding(), _mixed_encoding(dense_backend="grid_sample")
    pts = _test_points(seed=2)
    a, b = gather(pts), sample(pts)
    assert torch.allclose(a, b, rtol=0, atol=1e-12)
    weights = torch.randn_like(a)
    (ga,) = torch.autograd.grad((a * weights).sum(), gather.table)
    (gb,) = torch.autograd.grad((b * weights).sum(), sample.table)
    assert torch.allclose(ga, gb, rtol=0, atol=1e-12)
    g = grid(6, 7)
    rep_a = make("hashgrid", g, base_resolution=4, log2_hashmap_size=14)
    rep_b = make("hashgrid", g, base_resolution=4, log2_hashmap_size=14, dense_backend="grid_sample")
    assert torch.allclose(rep_a(g.coords()), rep_b(g.coords()), atol=1e-6)


def test_hash_encoding_rejects_bad_options():
    with pytest.raises(ValueError, match="dense_backend"):
        HashEncoding(dense_backend="cuda")
    with pytest.raises(ValueError, match="points"):
        HashEncoding()(torch.zeros(3, 3))


# ------------------------------------------------------------------------------------------
# CUDA (runs only where a GPU is present)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_runs_on_meta_device(name):
    """Every tensor follows the input's device: forward and backward run on the "meta" device, so
    no index or constant is created on the CPU (a CPU-side proxy for CUDA)."""
    g = grid(5, 7)
    rep = make(name, g).to("meta")
    out = rep(g.coords(device="meta"))
    assert out.device.type == "meta" and out.shape == (5, 7)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in rep.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu(name):
    g = grid(9, 13)
    cpu = tiny64(name, g)
    gpu = tiny64(name, g).cuda()
    out_cpu = cpu(g.coords(dtype=torch.float64))
    out_gpu = gpu(g.coords(dtype=torch.float64, device="cuda"))
    assert out_gpu.device.type == "cuda"
    assert torch.allclose(out_gpu.cpu(), out_cpu, atol=1e-10)
    out_gpu.sum().backward()
    assert all(p.grad is not None for p in gpu.parameters())
