"""The demo's machinery at toy size (the full demo is `make demo`)."""

import numpy as np

from crfwi.config import merge_config
from crfwi.demo import DEMO_CONFIG, DEMO_RUNS, run_demo


def test_demo_runs_every_method_and_prints_the_table(tmp_path, capsys):
    toy = merge_config(DEMO_CONFIG, {"model": {"nz": 12, "nx": 30}, "survey": {"n_shots": 3, "nt": 120},
                               "inversion": {"iterations": 2, "shots_per_iteration": 2},
                               "output": {"progress": False}})
    assert run_demo(out=tmp_path, runs=DEMO_RUNS, base=toy, device="cpu") == 0
    out = capsys.readouterr().out
    for folder, label, _ in DEMO_RUNS:
        assert label in out
        assert (tmp_path / folder / "metrics.json").is_file()
    assert (tmp_path / "comparison.png").is_file() and str(tmp_path / "comparison.png") in out
    # The poor start really is poor: the linear model is laterally invariant.
    linear = np.load(tmp_path / "pixel-linear" / "initial.npy")
    below_water = linear[linear[:, 0] > 1500.0 + 1e-3]
    assert np.allclose(below_water, below_water[:, :1])


def test_demo_default_is_cpu_affordable():
    # 3 runs x iterations x shots per iteration bounds the demo's cost (≈ 0.7 s per iteration here).
    iterations = DEMO_CONFIG["inversion"]["iterations"] * len(DEMO_RUNS)
    assert iterations * DEMO_CONFIG["inversion"]["shots_per_iteration"] <= 1200
