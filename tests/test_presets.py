"""Issue 4: the paper's setups as presets, at both scales, from a config or the command line."""

import json

import numpy as np
import pytest

from crfwi import presets

from crfwi.models import zoo
from crfwi.cli import main
from crfwi.config import ConfigError, config_from_dict, config_to_dict, load_config
from crfwi.experiment import build_experiment

# A toy size for each preset: the same window, survey aperture and physics on a few cells.
TOY = ["--set", "model.nz=12", "--set", "model.nx=40", "--set", "survey.nt=60",
       "--set", "survey.n_shots=2", "--set", "output.figures=false", "--set", "output.progress=false"]


def test_the_four_paper_setups_at_paper_scale():
    table = {name: presets.get(name).paper for name in presets.available()}
    assert (table["marmousi"].nz, table["marmousi"].nx, table["marmousi"].spacing) == (94, 288, 15.0)
    assert (table["marmousi"].n_shots, table["marmousi"].shot_spacing, table["marmousi"].freq,
            table["marmousi"].dt, table["marmousi"].nt) == (13, 300.0, 8.0, 0.0019, 1000)
    assert (table["salt"].nz, table["salt"].nx, table["salt"].n_shots, table["salt"].nt) == (75, 250, 24, 2500)
    assert (table["overthrust"].nx, table["overthrust"].shot_spacing, table["overthrust"].dt) == (401, 270.0, 0.004)
    assert (table["bp2004"].nz, table["bp2004"].nx, table["bp2004"].nt) == (188, 500, 2000)
    assert not presets.get("bp2004").free_surface and presets.get("marmousi").free_surface


@pytest.mark.parametrize("name", presets.available())
def test_cpu_scale_keeps_the_survey_in_proportion(name):
    p = presets.get(name)
    paper, cpu = p.paper, p.cpu
    # Same physical aperture and record length; same cells per wavelength.
    assert (cpu.nx - 1) * cpu.spacing == pytest.approx((paper.nx - 1) * paper.spacing, rel=0.02)
    assert (cpu.n_shots - 1) * cpu.shot_spacing == pytest.approx((paper.n_shots - 1) * paper.shot_spacing)
    assert cpu.dt * cpu.nt == pytest.approx(paper.dt * paper.nt)
    assert cpu.freq * cpu.spacing == pytest.approx(paper.freq * paper.spacing)


@pytest.mark.parametrize("name", presets.available(2))  # 3-D: tests/test_3d_runs.py
@pytest.mark.parametrize("scale", presets.SCALES)
def test_every_preset_builds_at_both_scales(name, scale, benchmark_data):
    config = config_from_dict({"preset": name, "scale": scale})
    exp = build_experiment(config)
    s = presets.get(name).scale(scale)
    assert exp.grid.shape == (s.nz, s.nx) and exp.grid.dz == s.spacing
    assert exp.survey.n_shots == s.n_shots and exp.survey.nt == s.nt and exp.survey.freq == s.freq
    assert np.isfinite(exp.true_model).all()
    for kind in ("smooth", "linear", "constant"):
        build_experiment(config_from_dict({"preset": name, "scale": scale, "initial": {"kind": kind}}))


def test_the_scaled_window_is_the_whole_file_resampled(benchmark_data):
    config = config_from_dict({"preset": "marmousi", "scale": "cpu"})
    exp = build_experiment(config)
    full, _ = zoo.load_model("marmousi")
    # Corners of the grid are the corners of the file; the geology is scaled, not cropped.
    assert exp.true_model[0, 0] == pytest.approx(full[0, 0], rel=0.02)
    assert abs(exp.true_model[-1].mean() - full[-1].mean()) < 0.05 * full[-1].mean()


def test_config_fields_override_the_preset_and_expansion_is_stable(benchmark_data, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('preset = "marmousi"\nscale = "cpu"\n[survey]\nn_shots = 5\n[inversion]\nmethod = "ig"\n')
    config = load_config(path)
    assert config.survey.n_shots == 5 and config.survey.freq == 4.0 and config.model.nz == 47
    assert config.inversion.method == "ig" and config.inversion.vmax == 5600.0
    # A resolved config (as saved in a run folder) expands to itself.
    assert config_from_dict(config_to_dict(config)) == config


def test_unknown_preset_and_scale_are_one_line_errors():
    with pytest.raises(ConfigError, match="unknown preset 'marmosi'; valid: marmousi, salt"):
        config_from_dict({"preset": "marmosi"})
    with pytest.raises(ConfigError, match="unknown scale 'gpu'; valid: paper, cpu"):
        config_from_dict({"preset": "marmousi", "scale": "gpu"})


def test_salt_without_its_file_is_a_marked_stand_in(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CRFWI_DATA_DIR", raising=False)
    config = config_from_dict({"preset": "salt", "scale": "cpu"})
    assert config.model.name == "salt_body" and "STAND-IN" in config.note
    out = tmp_path / "salt"
    code = main(["invert", "--preset", "salt", "--scale", "cpu", "--iterations", "2", "--out", str(out),
                 "--quiet", *TOY])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "STAND-IN" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert "STAND-IN" in metrics["note"] and metrics["preset"] == "salt" and metrics["scale"] == "cpu"
    assert "STAND-IN" in (out / "config.resolved.toml").read_text()


def test_presets_command_lists_both_scales(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in presets.available():
        assert f"\n{name}:" in out
    n = len(presets.available())
    assert out.count("  paper      ") == n and out.count("  cpu        ") == n
    assert "STAND-IN" in out or "salt (file window" in out


@pytest.mark.parametrize("name", ["marmousi", "overthrust", "bp2004"])
def test_each_preset_runs_two_iterations_at_toy_size(name, benchmark_data, tmp_path, capsys):
    out = tmp_path / name
    code = main(["invert", "--preset", name, "--scale", "cpu", "--init", "constant", "--method", "ig",
                 "--iterations", "2", "--out", str(out), "--quiet", *TOY])
    _, err = capsys.readouterr()
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 2 and metrics["method"] == "ig" and metrics["preset"] == name
    resolved = (out / "config.resolved.toml").read_text()
    assert 'kind = "constant"' in resolved and f'preset = "{name}"' in resolved
