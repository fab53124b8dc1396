"""Each part of a method does its job (issue 11): the start is m0, the bounds pass gradients, both
branches of IG-FWI / LRG-FWI carry a real share of the features and of the NTK, the readings of
the paper's unstated choices are selectable. A component whose effect is below noise is a bug."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crfwi.analysis import diagnostics

from crfwi.models import zoo
from crfwi.config import load_config
from crfwi.physics.geometry import Grid
from crfwi.representations import VelocityModel, available, build
from crfwi.representations.base import bound, float32_bounds
from crfwi.representations.hashgrid import GRID_NORMALISATIONS, HashEncoding

NETWORKS = [n for n in available() if n != "pixel"]
MARMOUSI = Grid(94, 288, 15.0)
CPU_MARMOUSI = Grid(47, 144, 30.0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(name: str, g: Grid, *, m0: float = 2000.0, bounds=(1500.0, 5000.0), seed: int = 0,
           **kw) -> VelocityModel:
    torch.manual_seed(seed)
    options = kw.pop("options", {})
    return VelocityModel(build(name, g, **options), torch.full(g.shape, m0), g, bounds=bounds, **kw)


# --- where a network starts ------------------------------------------------------------------
@pytest.mark.parametrize("name", NETWORKS)
def test_centred_start_is_exactly_m0_and_keeps_the_jacobian(name, g=MARMOUSI):
    model = _model(name, g)
    report = diagnostics.start_report(model)
    assert report["perturbation_max"] == 0.0
    # The NTK is unchanged by centring: the raw and centred models have the same J_m (one vjp,
    # through the bound's identity derivative: the inward bound's reverse mode is one-sided for
    # the raw model's cells outside the bounds, its J_m -- forward mode -- is the identity too).
    model.bound_gradient = "straight-through"
    raw = _model(name, g, start="raw", bound_gradient="straight-through")
    cot = torch.randn(g.shape, generator=torch.Generator().manual_seed(1))
    grads = [torch.autograd.grad((m() * cot).sum(), list(m.representation.parameters()))
             for m in (model, raw)]
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6 * float(b.abs().max()))


def test_checkpoint_without_start_offset_resumes_as_the_raw_start_it_ran_with():
    g = Grid(5, 6, 10.0)
    old = _model("siren", g, start="raw", options={"hidden_features": 8, "hidden_layers": 2})
    state = {k: v for k, v in old.state_dict().items() if k != "start_offset"}  # an old checkpoint
    model = _model("siren", g, seed=3, options={"hidden_features": 8, "hidden_layers": 2})
    model.load_state_dict(state)
    assert model.start == "raw"
    assert torch.equal(model().detach(), old().detach())


@pytest.mark.parametrize("name", NETWORKS)
def test_raw_start_perturbation_is_bounded_on_the_paper_grid(name):
    # The literal m0 + F_θ0: every network's initial output stays below 0.3 km/s RMS (LR-FWI's
    # LRTFR core once gave 1.07 km/s and pinned m_θ to its bounds).
    report = diagnostics.start_report(_model(name, MARMOUSI, start="raw", bounds=(100.0, 9000.0)))
    assert report["perturbation_rms"] < 300.0, report


# --- bounds ----------------------------------------------------------------------------------
def test_cells_outside_the_bounds_still_receive_a_gradient():
    g = Grid(4, 5, 10.0)
    model = _model("siren", g, m0=1500.0, bounds=(1400.0, 3000.0), start="raw",
                   options={"hidden_features": 8, "hidden_layers": 2})
    with torch.no_grad():
        model.start_offset.fill_(1.0)  # push every cell 1 km/s down: all below vmin
    assert diagnostics.start_report(model)["outside_bounds_fraction"] == 1.0
    assert float(model().detach().min()) >= 1400.0  # the value is bounded ...
    assert diagnostics.gradient_reach(model) == 1.0  # ... the gradient that brings them back is not
    loss = -model().sum()  # a descent step raises every cell: back inside
    grads = torch.autograd.grad(loss, list(model.representation.parameters()))
    assert sum(float(gr.abs().sum()) for gr in grads) > 0
    model.bound_gradient = "inward"  # the inward bound lets every one of them come back
    assert diagnostics.gradient_reach(model) == 1.0
    model.bound_gradient = "zero"  # the literal clamp freezes all of them
    assert diagnostics.gradient_reach(model) == 0.0


def test_straight_through_bound_has_identity_derivative_in_both_modes():
    u = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64, requires_grad=True)
    out = bound(u, 1.0, 2.0, gradient="straight-through")
    assert out.tolist() == [1.0, 1.5, 2.0]
    (g,) = torch.autograd.grad(out.sum(), u)
    assert g.tolist() == [1.0, 1.0, 1.0]
    _, tangent = torch.func.jvp(lambda x: bound(x, 1.0, 2.0, gradient="straight-through"),
                                (u.detach(),), (torch.ones(3, dtype=torch.float64),))
    assert tangent.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="bound_gradient"):
        bound(u, 1.0, 2.0, gradient="soft")


@pytest.mark.parametrize("vmax", [4000.1, 3999.9, 4400.0000001, 5600.3])
def test_rendered_model_never_exceeds_a_bound_that_is_not_float32_exact(vmax):
    lo, hi = float32_bounds(1499.93, vmax)
    assert hi <= vmax and lo >= 1499.93
    assert float(np.float32(hi)) == hi and float(np.float32(lo)) == lo
    g = Grid(3, 4, 10.0)
    model = _model("pixel", g, m0=2000.0, bounds=(1499.93, vmax))
    with torch.no_grad():
        model.representation.delta.fill_(1e4)
    assert float(model().detach().max()) <= vmax
    model.project_()
    assert float(model().detach().max()) <= vmax


# --- IG-FWI and LRG-FWI: both branches act (Theorem 5.2's premise) ----------------------------
@pytest.mark.parametrize("name", ["ig", "lrg"])
def test_balanced_hybrid_branches_share_features_and_ntk(name):
    model = _model(name, CPU_MARMOUSI)
    features = diagnostics.branch_report(model)
    trace = diagnostics.ntk_trace_shares(model, probes=4)["model"]
    branches = [b for b in features]
    assert len(branches) == 2
    for b in branches:
        assert features[b]["feature_share"] > 0.1, features
        assert trace[b]["share"] > 0.1, trace


def test_literal_ig_grid_is_silent_as_the_review_found():
    model = _model("ig", CPU_MARMOUSI, options={"grid_normalisation": "literal"})
    features = diagnostics.branch_report(model)
    trace = diagnostics.ntk_trace_shares(model, probes=4)["model"]
    assert features["grid"]["feature_share"] < 1e-6
    assert trace["grid"]["share"] < 1e-4


def test_grid_normalisation_is_validated_and_named():
    assert set(GRID_NORMALISATIONS) == {"literal", "balanced"}
    with pytest.raises(ValueError, match="grid_normalisation"):
        build("ig", CPU_MARMOUSI, grid_normalisation="loud")


def test_feature_scale_encoding_equals_its_slow_twin_and_scales_the_jacobian():
    torch.manual_seed(0)
    enc = HashEncoding(n_levels=3, base_resolution=3, per_level_scale=2.0, log2_hashmap_size=5,
                       init_scale=1.5, feature_scale=64.0).double()
    pts = torch.rand(40, 2, dtype=torch.float64) * 2 - 1
    assert torch.allclose(enc(pts), enc.reference(pts), atol=1e-12)
    assert float(enc.table.abs().max()) <= 1.5 / 64.0
    (g,) = torch.autograd.grad(enc(pts).sum(), enc.table)
    torch.manual_seed(0)
    plain = HashEncoding(n_levels=3, base_resolution=3, per_level_scale=2.0, log2_hashmap_size=5).double()
    (g1,) = torch.autograd.grad(plain(pts).sum(), plain.table)
    assert torch.allclose(g, 64.0 * g1)


# --- initial models ----------------------------------------------------------------------------
def test_constant_readings():
    g = Grid(4, 5, 10.0)
    true = np.linspace(1500.0, 3500.0, 20, dtype=np.float32).reshape(4, 5)
    assert np.allclose(zoo.initial_model(true, g, "constant"), true.mean())  # the default
    assert np.all(zoo.initial_model(true, g, "constant", constant="minimum") == 1500.0)
    assert np.all(zoo.initial_model(true, g, "constant", value=2000.0, constant="minimum") == 2000.0)
    with pytest.raises(ValueError, match="constant"):
        zoo.initial_model(true, g, "constant", constant="median")
    with pytest.raises(ValueError, match="applies to initial model 'constant'"):
        zoo.initial_model(true, g, "smooth", constant="minimum")


def test_bp_smooth_start_is_not_better_than_the_papers_finals():
    config = load_config(None, ['preset="bp2004"', 'scale="cpu"'])
    assert config.initial.sigma == 300.0
    assert load_config(None, ['preset="marmousi"']).initial.sigma == 150.0


def test_inward_bound_passes_only_the_gradient_that_brings_a_cell_back():
    """A cell outside the bounds is never frozen on its way back, never pushed further out (the
    straight-through bound let LR-FWI's salt run end with values of −58 to +390 km/s)."""
    u = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64, requires_grad=True)
    out = bound(u, 1.0, 2.0, gradient="inward")
    assert out.tolist() == [1.0, 1.5, 2.0]
    # loss = Σ m: a descent step lowers every cell -- back in for the cell above, out for the one below
    (g,) = torch.autograd.grad(bound(u, 1.0, 2.0, gradient="inward").sum(), u)
    assert g.tolist() == [0.0, 1.0, 1.0]
    (g,) = torch.autograd.grad(-bound(u, 1.0, 2.0, gradient="inward").sum(), u)
    assert g.tolist() == [-1.0, -1.0, 0.0]
    # the kernel's J_m is the identity, as the straight-through bound's (forward mode and vmap)
    _, tangent = torch.func.jvp(lambda x: bound(x, 1.0, 2.0, gradient="inward"), (u.detach(),),
                                (torch.ones(3, dtype=torch.float64),))
    assert tangent.tolist() == [1.0, 1.0, 1.0]
    batched = torch.func.vmap(lambda x: bound(x, 1.0, 2.0, gradient="inward"))(u.detach()[None].repeat(2, 1))
    assert batched.tolist() == [[1.0, 1.5, 2.0]] * 2


def test_inward_bound_stops_a_runaway_that_straight_through_allows():
    """Pixel cells driven outward by the loss: straight-through lets them leave without limit;
    inward stops them (Adam's momentum carries them a little past the bound, then they stay)."""
    results = {}
    for gradient in ("straight-through", "inward"):
        u = torch.full((10,), 1.9, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([u], lr=0.1)
        trace = []
        for _ in range(200):
            optimizer.zero_grad()
            (-bound(u, 1.0, 2.0, gradient=gradient).sum()).backward()  # wants every cell higher
            optimizer.step()
            trace.append(float(u.detach().max()))
        results[gradient] = trace
    assert results["straight-through"][-1] > 15.0  # ran away, and still running
    assert results["inward"][-1] < 3.0 and results["inward"][-1] - results["inward"][99] < 1e-3


def test_the_default_bound_is_inward():
    from crfwi.config import RunConfig

    assert _model("siren", Grid(4, 5, 10.0), options={"hidden_features": 8}).bound_gradient == "inward"
    assert RunConfig().inversion.bound_gradient == "inward"
