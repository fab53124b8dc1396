"""Building a run's objects from a config: windows of benchmark files, bounds, masks."""

import numpy as np
import pytest

from crfwi.config import config_from_dict
from crfwi.experiment import build_experiment, build_grid_and_true_model, with_depth_limit


def test_benchmark_window_from_an_origin_runs_to_the_far_edges(benchmark_data):
    config = config_from_dict({"model": {"name": "marmousi", "spacing": 40.0, "origin": [1000.0, 6000.0]}})
    grid, true = build_grid_and_true_model(config)
    # marmousi.npy covers 0-3000 m x 0-9200 m at 20 m.
    assert grid.shape == (int(2000 // 40) + 1, int(3200 // 40) + 1)
    full = np.load(benchmark_data / "marmousi.npy")
    assert true.shape == grid.shape and full.min() <= true.min() and true.max() <= full.max()


def test_benchmark_file_as_stored_and_derived_bounds(benchmark_data):
    config = config_from_dict({"model": {"name": "marmousi"},
                               "survey": {"n_shots": 2, "freq": 5.0, "dt": 0.004, "nt": 10},
                               "inversion": {"fix_water": True}})
    exp = build_experiment(config, device="cpu")
    assert exp.grid.shape == (151, 461) and exp.grid.dz == 20.0
    lo, hi = float(exp.true_model.min()), float(exp.true_model.max())
    assert exp.bounds == pytest.approx((0.9 * min(lo, exp.initial_model.min()), 1.1 * hi))
    assert exp.solver.max_vel == pytest.approx(exp.bounds[1])
    assert exp.fixed_mask is not None and exp.fixed_mask[0].all()
    assert np.array_equal(exp.initial_model[exp.fixed_mask], exp.true_model[exp.fixed_mask])


def test_a_run_folder_from_the_minimum_era_still_builds():
    """Before the default became "mean", every resolved config recorded constant = "minimum",
    whatever the kind; such a smooth-start run must still build (to resume or analyse it)."""
    config = config_from_dict({"model": {"name": "layered", "nz": 12, "nx": 20, "spacing": 20.0},
                               "survey": {"n_shots": 2, "nt": 50},
                               "initial": {"kind": "smooth", "constant": "minimum"}})
    exp = build_experiment(config, device="cpu")
    assert exp.initial_model.shape == (12, 20)


def test_max_depth_keeps_the_deep_cells_at_m0_and_they_get_no_gradient():
    """inversion.max_depth: the cells deeper than it are fixed at m0 (with or without the water
    layer), the rest are updated; every metric still covers the whole model."""
    import torch

    from crfwi.config import ConfigError

    base = {"model": {"name": "layered", "nz": 12, "nx": 20, "spacing": 20.0},
            "survey": {"n_shots": 2, "nt": 60}, "initial": {"kind": "smooth"}}
    exp = build_experiment(config_from_dict({**base, "inversion": {"max_depth": 100.0}}),
                           device="cpu")
    assert exp.fixed_mask[6:].all() and not exp.fixed_mask[:6].any()  # rows at 120 m and deeper
    unlimited = build_experiment(config_from_dict(base), device="cpu")
    assert np.array_equal(exp.initial_model, unlimited.initial_model)  # m0 itself unchanged
    for method in ("pixel", "ig"):
        model = build_experiment(config_from_dict(
            {**base, "inversion": {"max_depth": 100.0, "method": method}}), device="cpu"
        ).velocity_model()
        velocity = model()
        np.testing.assert_array_equal(velocity.detach().numpy()[6:], exp.initial_model[6:])
        grads = torch.autograd.grad(velocity.square().sum(),
                                    [p for p in model.parameters() if p.requires_grad],
                                    allow_unused=True)
        assert any(g is not None and float(g.abs().max()) > 0 for g in grads)
    # A field grid whose first row lies below the limit would update nothing: refused.
    with pytest.raises(ConfigError, match="inversion.max_depth = 50 m keeps every cell"):
        with_depth_limit(None, exp.grid, 50.0, z0=100.0)
    assert with_depth_limit(None, exp.grid, 0.0) is None
