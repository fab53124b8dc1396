"""Issue 15: 3-D runs from a config or the overthrust3d preset, through the same runner and loop."""

import json

import numpy as np
import pytest

from crfwi import presets, resources
from crfwi.cli import main
from crfwi.config import ConfigError, config_from_dict
from crfwi.experiment import build_experiment, memory_estimate
from crfwi.experiment3d import build_survey3d
from crfwi.physics.geometry3d import Grid3D
from crfwi.run_plan import plan_shot_chunk
from crfwi.runner import run_inversion

# A toy 3-D run: 8 x 10 x 10 cells of the stand-in, 2 shots, a thin PML, a short record.
TOY = {"name": "toy3d", "model": {"name": "thrust_fold3d", "nz": 8, "ny": 10, "nx": 10,
                                  "spacing": 100.0},
       "survey": {"shot_grid": [1, 2], "shot_spacing": 400.0, "freq": 4.0, "dt": 0.01, "nt": 60,
                  "pml_width": 4},
       "initial": {"kind": "smooth", "sigma": 300.0},
       "inversion": {"method": "pixel", "iterations": 3, "vmin": 2000.0, "vmax": 6400.0},
       "output": {"metrics_every": 1, "figures": True, "progress": False}}

# The preset at toy size from the command line (the same survey aperture is too wide for it).
TOY_FLAGS = ["--set", "model.nz=8", "--set", "model.ny=10", "--set", "model.nx=10",
             "--set", "survey.shot_grid=[2,2]", "--set", "survey.shot_spacing=500.0",
             "--set", "survey.nt=50",
             "--set", "survey.pml_width=4", "--set", "output.figures=false", "--quiet"]


def _toy(**sections):
    data = json.loads(json.dumps(TOY))
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return config_from_dict(data)


def test_a_toy_3d_run_goes_through_the_runner_and_improves(tmp_path):
    result = run_inversion(_toy(), tmp_path / "run", device="cpu", progress=False)
    out = result.folder
    for name in ("config.resolved.toml", "history.csv", "metrics.json", "model.npy",
                 "initial.npy", "true.npy", "figures/models.png", "figures/shot.png",
                 "figures/convergence.png"):
        assert (out / name).is_file(), name
    model, initial = np.load(out / "model.npy"), np.load(out / "initial.npy")
    assert model.shape == initial.shape == (8, 10, 10)
    # The 3-D gradient reaches every cell (no cell is fixed): Adam moved each one.
    assert np.all(model != initial)
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].split(",")[-1] == "nmse"
    losses = [float(row.split(",")[1]) for row in history[2:]]
    assert losses[2] < losses[1] < losses[0]  # the misfit falls at every step
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("mse", "mae", "ssim", "nmse"):
        assert np.isfinite(metrics[key]) and key in metrics["definitions"]
    # Three steps of 5 m/s on 2 shots need not lower the model error yet (the cpu preset's 20
    # iterations do: README); they must move it.
    assert metrics["nmse"] != metrics["initial"]["nmse"]
    resolved = (out / "config.resolved.toml").read_text()
    assert "ny = 10" in resolved and "shot_grid = [" in resolved and "source_y = [" in resolved


@pytest.mark.parametrize("method", ["ig", "siren", "lowrank", "hashgrid"])
def test_the_representations_take_a_3d_run(method, tmp_path):
    config = _toy(inversion={"method": method, "iterations": 1},
                  output={"figures": False, "metrics_every": 1})
    result = run_inversion(config, tmp_path / method, device="cpu", progress=False)
    assert result.metrics["iterations"] == 1 and np.isfinite(result.metrics["nmse"])
    assert not np.array_equal(np.load(result.folder / "model.npy"),
                              np.load(result.folder / "initial.npy"))


def test_the_preset_runs_from_the_command_line_with_its_stand_in_note(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.delenv("CRFWI_DATA_DIR", raising=False)
    out = tmp_path / "preset"
    code = main(["invert", "--preset", "overthrust3d", "--scale", "cpu", "--method", "ig",
                 "--iterations", "1", "--out", str(out), *TOY_FLAGS])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "STAND-IN" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert "STAND-IN" in metrics["note"] and metrics["preset"] == "overthrust3d"
    assert "STAND-IN" in (out / "config.resolved.toml").read_text()


def test_the_preset_is_listed_and_holds_the_papers_setup(capsys):
    assert presets.available(3) == ["overthrust3d"] and "overthrust3d" in presets.available()
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "\noverthrust3d:" in out and "60x160x160 @ 50 m, 6x6 shots 1200 m apart, 12 Hz" in out
    paper = config_from_dict({"preset": "overthrust3d"})
    m = paper.model
    assert (m.nz, m.ny, m.nx, m.spacing) == (60, 160, 160, 50.0)
    assert (paper.survey.freq, paper.survey.dt, paper.survey.nt) == (12.0, 0.0025, 1000)
    assert paper.initial.kind == "smooth" and paper.inversion.iterations == 500
    assert paper.inversion.shots_per_iteration == 0  # the paper's: every shot each iteration
    # cpu scale: 200 iterations of 1 random shot of the 36 (BENCHMARKS.md §14, stop 24)
    cpu = config_from_dict({"preset": "overthrust3d", "scale": "cpu"}).inversion
    assert (cpu.iterations, cpu.shots_per_iteration) == (200, 1)
    assert config_from_dict({"preset": "overthrust3d", "scale": "cpu",
                             "inversion": {"iterations": 7}}).inversion.iterations == 7
    survey = build_survey3d(paper, Grid3D(60, 160, 160, 50.0))
    assert survey.n_shots == 36 and survey.n_receivers == 160 * 160
    assert sorted(set(np.diff(sorted(set(survey.source_x))))) == [1200.0]


def test_the_cpu_scale_builds_with_the_same_aperture_and_record(benchmark_data):
    config = config_from_dict({"preset": "overthrust3d", "scale": "cpu"})
    exp = build_experiment(config)
    paper, cpu = presets.get("overthrust3d").paper, presets.get("overthrust3d").cpu
    assert exp.grid.shape == (cpu.nz, cpu.ny, cpu.nx) and exp.survey.n_shots == cpu.n_shots ** 2
    assert cpu.dt * cpu.nt == pytest.approx(paper.dt * paper.nt)
    assert cpu.freq * cpu.spacing == pytest.approx(paper.freq * paper.spacing)
    xs = sorted(set(exp.survey.source_x))
    assert xs[-1] - xs[0] == pytest.approx((paper.n_shots - 1) * paper.shot_spacing)
    assert exp.true_model.shape == exp.initial_model.shape == exp.grid.shape
    assert exp.solver.describe()["dimensions"] == 3


@pytest.mark.parametrize("change, message", [
    ({"model": {"ny": 0}}, "3-D model 'thrust_fold3d' needs `model.ny`"),
    ({"model": {"name": "layered"}}, "`model.ny` applies to 3-D models"),
    ({"survey": {"shot_grid": []}}, "a 3-D run needs `survey.shot_grid`"),
    ({"survey": {"shot_grid": [2, 0]}}, "`survey.shot_grid` must be a list of 2 integers >= 1"),
    ({"survey": {"n_shots": 3}}, "`survey.n_shots` does not apply to a 3-D run"),
    ({"survey": {"shot_spacing": 1200.0}}, "`survey.shot_spacing` = 1200 m: 2 shots along x"),
    ({"survey": {"receiver_spacing": 50.0}}, "`survey.receiver_spacing` = 50 m is below"),
    ({"survey": {"source_depth": 900.0}}, "`survey.source_depth` = 900 m lies below"),
    ({"field": {"data": "line.sgy"}}, "`field.data` does not apply to a 3-D run"),
    ({"data": {"shots": 1}}, "`data.shots` does not apply to a 3-D run"),
    ({"inversion": {"fix_water": True}}, "`inversion.fix_water` does not apply to a 3-D run"),
    ({"inversion": {"method": "adfwi-tv"}}, "total variation"),
    ({"output": {"ntk_every": 5}}, "`output.ntk_every` does not apply to a 3-D run"),
    ({"model": {"origin": [0.0, 100.0]}}, "`model.origin` in a 3-D run is [z, y, x]"),
])
def test_what_3d_cannot_take_is_refused_in_one_line(change, message):
    with pytest.raises(ConfigError) as err:
        _toy(**change)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_2d_configs_refuse_the_3d_fields():
    with pytest.raises(ConfigError, match="`survey.shot_grid` applies to a 3-D run"):
        config_from_dict({"survey": {"shot_grid": [2, 2]}})
    with pytest.raises(ConfigError, match="`model.origin` has 3 entries"):
        config_from_dict({"model": {"origin": [0.0, 0.0, 0.0]}})


def test_overthrust3d_by_name_without_the_volume_says_so(tmp_path):
    config = _toy(model={"name": "overthrust3d", "data_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="the 3-D Overthrust volume is absent.*thrust_fold3d"):
        build_experiment(config)


def test_the_low_velocity_layer_is_a_model_option_and_off_by_default():
    # Table 6's Overthrust has no near-surface low-velocity layer; the paper's failure case does
    plain = build_experiment(_toy()).true_model
    layered = build_experiment(_toy(model={"options": {"low_velocity_layer": True}})).true_model
    assert plain.min() > 2800.0 and layered.min() < 2500.0
    changed = layered != plain  # the top cells alone, now slower
    assert changed[0].all() and np.all(layered[changed] < 2500.0) and changed.mean() < 0.2
    with pytest.raises(ConfigError, match="`model.options`.*low_velocity_layer"):
        build_experiment(_toy(model={"options": {"low_velocity_layer": "yes"}}))


def test_the_memory_estimate_counts_the_third_axis():
    two = resources.estimate_memory_bytes(nz=10, nx=20, nt=100, n_shots=2, n_receivers=20)
    same = resources.estimate_memory_bytes(nz=10, nx=20, nt=100, n_shots=2, n_receivers=20, ny=0)
    assert two == same
    three = resources.estimate_memory_bytes(nz=10, ny=30, nx=20, nt=100, n_shots=2,
                                            n_receivers=600, pml_width=5, accuracy=4)
    padded = (10 + 5 + 4) * (30 + 10 + 4) * (20 + 10 + 4)
    terms = {t.what: t.bytes for t in three.terms}
    assert terms[resources.HISTORY] == 2 * padded * 100 * 4
    assert terms["forward wavefields"] == 2 * padded * 8 * 4
    assert terms["velocity models"] == 2 * 10 * 30 * 20 * 8
    # The run's own estimate counts its shot grid and surface receivers.
    config = _toy()
    estimate = memory_estimate(config, Grid3D(8, 10, 10, 100.0))
    assert {t.what: t.bytes for t in estimate.terms}["observed data"] == 2 * 100 * 60 * 4
    # --max-memory plans a chunk of one shot when two do not fit.
    one = memory_estimate(_toy(physics={"shot_chunk": 1}), Grid3D(8, 10, 10, 100.0))
    assert plan_shot_chunk(config, one.total("host") + 1, device="cpu") == 1


def test_a_3d_run_resumes_from_its_folder(tmp_path):
    from crfwi.runner import resume_inversion

    config = _toy(inversion={"iterations": 2}, output={"figures": False, "checkpoint_every": 1})
    run_inversion(config, tmp_path / "run", device="cpu", progress=False)
    result = resume_inversion(tmp_path / "run", overrides=["inversion.iterations=3"],
                              device="cpu", progress=False)
    assert result.metrics["iterations"] == 3 and np.isfinite(result.metrics["nmse"])


def test_the_report_draws_a_3d_group_as_orthogonal_slices(tmp_path):
    """A 3-D group in the report: its model figure is the slices figure (the 2-D panel plot
    refuses a Grid3D), and Table 6 reads the run."""
    from crfwi import report

    config = _toy(output={"figures": False, "metrics_every": 1})
    run_inversion(config, tmp_path / "results" / "toy3d" / "smooth-clean" / "pixel-seed0",
                  device="cpu", progress=False)
    text = report.write_report(tmp_path / "results", tmp_path / "r.md", verify=0).read_text()
    figure = tmp_path / "figures" / "models_toy3d_smooth-clean.png"
    assert figure.is_file() and "models_toy3d_smooth-clean.png" in text
