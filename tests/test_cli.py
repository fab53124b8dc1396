"""The CLI end to end at toy size: runs, run folders, resume, and every bad input."""

import hashlib
import json
import os
import signal

import numpy as np
import pytest

from crfwi import io
from crfwi.cli import main
from crfwi.inversion.loop import Inversion
from toy import TOY_HEAD

TOY = TOY_HEAD + """[initial]
kind = "smooth"
sigma = 200.0
[inversion]
method = "pixel"
iterations = 6
shots_per_iteration = 2
[output]
metrics_every = 2
checkpoint_every = 2
progress = false
"""


@pytest.fixture
def toy_config(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(TOY)
    return path


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def folder_digest(path):
    """Content hash of every file below ``path`` (to prove a folder was not touched)."""
    digest = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            digest[os.path.relpath(full, path)] = hashlib.sha256(open(full, "rb").read()).hexdigest()
    return digest


def test_invert_writes_a_complete_run_folder(toy_config, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(["invert", toy_config, "--out", out, "--device", "cpu"], capsys)
    assert code == 0, err
    assert "inverted" in stdout and str(out) in stdout
    for name in ("config.resolved.toml", "metrics.json", "history.csv", "model.npy",
                 "checkpoint.pt", "figures/models.png", "figures/convergence.png", "figures/shot.png"):
        assert (out / name).is_file(), name
    import json
    import tomllib

    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("ssim", "mse", "mae", "psnr", "rel_error", "iterations", "seconds", "params"):
        assert key in metrics
    assert metrics["peak_memory_mib"] > 10 and metrics["method"] == "pixel"
    assert metrics["paper_method"] == "ADFWI" and metrics["note"] == ""
    record = json.loads((out / "data.json").read_text())
    assert record["shots_kept"] == list(range(4)) and record["noise_k"] == 0.0 and record["clean_std"] > 0
    assert metrics["iterations"] == 6 and metrics["params"] == 16 * 32
    resolved = tomllib.loads((out / "config.resolved.toml").read_text())
    assert resolved["seed"] == 3
    for key in ("crfwi_version", "torch_version", "deepwave_version", "device", "seed"):
        assert key in resolved["meta"]
    history = io.load_csv(out / "history.csv")
    assert [r["iteration"] for r in history] == list(range(7))
    assert history[0]["loss"] is None and history[0]["mse"] is not None  # the initial model
    assert all(r["mse"] is not None for r in history if r["iteration"] % 2 == 0)
    assert all(r["mse"] is None for r in history if r["iteration"] % 2 == 1)
    model = np.load(out / "model.npy")
    assert model.shape == (16, 32) and np.isfinite(model).all()
    # The saved final model reproduces the recorded metrics.
    from crfwi.analysis.metrics import evaluate

    again = evaluate(model, np.load(out / "true.npy"))
    assert again["mse"] == pytest.approx(metrics["mse"], rel=1e-6)


def test_loss_decreases_on_full_batches(toy_config, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(["invert", toy_config, "--out", out, "--set", "inversion.shots_per_iteration=0",
                        "--set", "inversion.iterations=12", "--set", "inversion.lr=20"],
                       capsys)
    assert code == 0, err
    losses = [r["loss"] for r in io.load_csv(out / "history.csv") if r["loss"] is not None]
    assert losses[-1] < 0.9 * losses[0]


def _interrupt_at(monkeypatch, iteration, how):
    """Make Inversion.step raise ``how`` (or send SIGINT) when it reaches ``iteration``."""
    original = Inversion.step

    def step(self):
        state = original(self)
        if state.iteration == iteration:
            if how == "sigint":
                os.kill(os.getpid(), signal.SIGINT)  # the handler asks to stop after this step
            else:
                raise how
        return state

    monkeypatch.setattr(Inversion, "step", step)


def _history(path):
    return [(r["iteration"], r["loss"], r["mse"]) for r in io.load_csv(path / "history.csv")]


@pytest.mark.parametrize("how", ["sigint", RuntimeError("killed")])
def test_resume_after_interruption_gives_the_uninterrupted_history(toy_config, tmp_path, capsys,
                                                                   monkeypatch, how):
    reference = tmp_path / "reference"
    assert run(["invert", toy_config, "--out", reference], capsys)[0] == 0

    interrupted = tmp_path / "interrupted"
    with monkeypatch.context() as patch:
        _interrupt_at(patch, 3, how)
        if how == "sigint":
            code, _, err = run(["invert", toy_config, "--out", interrupted], capsys)
            assert code == 130 and "--resume" in err
            assert len(io.load_csv(interrupted / "history.csv")) == 4  # stopped cleanly after it 3
        else:
            with pytest.raises(RuntimeError):  # a crash: the last checkpoint (it 2) survives
                main(["invert", str(toy_config), "--out", str(interrupted)])
    assert not (interrupted / "metrics.json").exists()
    code, _, err = run(["invert", "--resume", interrupted], capsys)
    assert code == 0, err
    ours, theirs = _history(interrupted), _history(reference)
    assert [r[0] for r in ours] == [r[0] for r in theirs]
    for (it, loss_a, mse_a), (_, loss_b, mse_b) in zip(ours, theirs):
        if loss_a is not None:
            assert loss_a == pytest.approx(loss_b, rel=1e-5), it
        if mse_a is not None:
            assert mse_a == pytest.approx(mse_b, rel=1e-5), it
    assert np.allclose(np.load(interrupted / "model.npy"), np.load(reference / "model.npy"), rtol=1e-5)


def test_resume_can_extend_a_finished_run(toy_config, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(["invert", toy_config, "--out", out], capsys)[0] == 0
    code, _, err = run(["invert", "--resume", out, "--set", "inversion.iterations=8"], capsys)
    assert code == 0, err
    assert [r["iteration"] for r in io.load_csv(out / "history.csv")][-1] == 8
    code, _, err = run(["invert", "--resume", out, "--set", "inversion.method=siren"], capsys)
    assert code == 2 and "cannot change" in err


def test_resume_refuses_data_that_changed_since_the_run_began(toy_config, tmp_path, capsys):
    # e.g. a model generator whose default changed (the 3-D stand-in's low-velocity layer): the
    # rebuilt clean data no longer match data.json's σ0, and the folder is left as it was
    out = tmp_path / "run"
    assert run(["invert", toy_config, "--out", out], capsys)[0] == 0
    record = json.loads((out / "data.json").read_text())
    record["clean_std"] *= 1.01
    (out / "data.json").write_text(json.dumps(record))
    before = folder_digest(out)
    code, _, err = run(["invert", "--resume", out, "--set", "inversion.iterations=8"], capsys)
    assert code == 2 and "not the ones it began with" in err and "start a new run" in err
    assert folder_digest(out) == before
    record["clean_std"] /= 1.01  # within rounding of the record: resumes
    (out / "data.json").write_text(json.dumps(record))
    assert run(["invert", "--resume", out, "--set", "inversion.iterations=8"], capsys)[0] == 0


def test_models_lists_the_zoo(capsys):
    code, out, _ = run(["models"], capsys)
    assert code == 0
    for name in ("marmousi", "overthrust", "bp2004", "salt", "layered", "faulted", "salt_body",
                 "flatvel", "curvefault"):
        assert name in out


def test_methods_lists_parameter_counts(capsys):
    code, out, _ = run(["methods", "--grid", "10x20"], capsys)
    assert code == 0
    assert "pixel" in out and "200" in out


# ------------------------------------------------------------------------------------------------
# Bad input: exit code 2, one line on stderr, no traceback, nothing damaged.

def _bad(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


def _with(section_line, replacement):
    assert section_line in TOY
    return TOY.replace(section_line, replacement)


BAD_CONFIGS = {
    "malformed TOML": ("name = \"toy\n[model", "malformed TOML"),
    "unknown key": (_with("iterations = 6", "iteratons = 6"), "unknown config key `inversion.iteratons`"),
    "unknown section": (TOY + "\n[inverson]\nx = 1\n", "unknown config key `inverson`"),
    "wrong type": (_with("iterations = 6", "iterations = \"six\""), "must be an integer"),
    "unknown model": (_with('name = "layered"', 'name = "marmousy"'), "unknown model 'marmousy'; valid:"),
    "unknown method": (_with('method = "pixel"', 'method = "pixle"'), "unknown method 'pixle'; valid:"),
    "too coarse": (_with("spacing = 20.0", "spacing = 60.0"), "too coarse"),
    "unstable": (TOY + "\n[physics]\nmax_vel = 2000.0\n", "unstable"),
    "source outside": (_with("n_shots = 4", "n_shots = 4\nshots = [100.0, 5000.0]"), "outside the model"),
    "missing initial file": (_with('kind = "smooth"', 'kind = "file"\npath = "nowhere.npy"'), "nowhere.npy"),
    "bad initial kind": (_with('kind = "smooth"', 'kind = "smoth"'), "smoth"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_gives_one_line_and_exit_2(case, tmp_path, capsys):
    text, expected = BAD_CONFIGS[case]
    out = tmp_path / "never"
    code, stdout, err = run(["invert", _bad(tmp_path, text), "--out", out], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("crfwi: error:"), err
    assert expected in err, err
    assert "Traceback" not in err
    assert not out.exists()  # nothing written for a run that never started


@pytest.mark.parametrize("values", ["nan", "zero"])
def test_bad_velocities_in_a_file_are_rejected(values, tmp_path, capsys):
    init = np.full((16, 32), 2000.0, dtype=np.float32)
    init[3, 4] = np.nan if values == "nan" else 0.0
    np.save(tmp_path / "init.npy", init)
    text = _with('kind = "smooth"', f'kind = "file"\npath = "{tmp_path / "init.npy"}"')
    code, _, err = run(["invert", _bad(tmp_path, text), "--out", tmp_path / "x"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert ("finite" in err) if values == "nan" else ("positive" in err), err


def test_missing_config_and_usage_errors(tmp_path, capsys):
    code, _, err = run(["invert", tmp_path / "nope.toml"], capsys)
    assert code == 2 and "not found" in err and err.count("\n") == 1
    code, _, err = run(["invert"], capsys)
    assert code == 2 and "CONFIG" in err
    code, _, err = run(["invert", "--resume", tmp_path / "nothing"], capsys)
    assert code == 2 and "not found" in err
    code, _, err = run(["frobnicate"], capsys)
    assert code == 2 and err.count("\n") == 1
    code, _, err = run(["invert", tmp_path / "x.toml", "--set", "novalue"], capsys)
    assert code == 2


def test_a_folder_holding_another_run_is_refused_and_untouched(toy_config, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(["invert", toy_config, "--out", out], capsys)[0] == 0
    before = folder_digest(out)
    code, _, err = run(["invert", toy_config, "--out", out, "--set", "inversion.iterations=2"], capsys)
    assert code == 2 and "already holds a run" in err and err.count("\n") == 1
    assert folder_digest(out) == before


def test_a_non_empty_folder_is_refused_and_untouched(toy_config, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    code, _, err = run(["invert", toy_config, "--out", out], capsys)
    assert code == 2 and "other files" in err and err.count("\n") == 1
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    code, _, err = run(["invert", toy_config, "--out", out / "notes.txt"], capsys)
    assert code == 2 and "is a file" in err


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_invert_on_cuda_matches_cpu(toy_config, tmp_path, capsys):
    import json

    metrics = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / device
        code, _, err = run(["invert", toy_config, "--out", out, "--device", device, "--method", "ig"],
                           capsys)
        assert code == 0, err
        metrics[device] = json.loads((out / "metrics.json").read_text())
    # float32 on two devices: same trajectory up to rounding.
    assert metrics["cuda"]["mse"] == pytest.approx(metrics["cpu"]["mse"], rel=1e-3)
    assert metrics["cuda"]["ssim"] == pytest.approx(metrics["cpu"]["ssim"], abs=1e-3)


def test_ntk_drift_is_recorded_and_survives_a_resume(toy_config, tmp_path, capsys, monkeypatch):
    import json

    out = tmp_path / "run"
    common = ["--set", "output.ntk_every=3", "--set", "output.ntk_eigs=2", "--set", "survey.nt=60"]
    _interrupt_at(monkeypatch, 4, "sigint")
    code, _, err = run(["invert", toy_config, "--out", out, *common], capsys)
    assert code == 130, err
    monkeypatch.undo()
    code, _, err = run(["invert", "--resume", out], capsys)
    assert code == 0, err
    drift = json.loads((out / "ntk_drift.json").read_text())
    records = drift["records"]
    assert [r["iteration"] for r in records] == [0, 3, 6]
    assert records[0]["relative_change"] == 0.0 and records[2]["relative_change"] > 0
    assert all(len(r["eigenvalues"]) == 2 and r["eigenvalues"][0] >= r["eigenvalues"][1] for r in records)
    history = io.load_csv(out / "history.csv")
    assert [r["ntk_change"] is not None for r in history] == [i % 3 == 0 for i in range(7)]


def test_ntk_command_on_a_config(toy_config, tmp_path, capsys):
    import json

    out = tmp_path / "ntk"
    code, stdout, err = run(["ntk", toy_config, "--methods", "pixel,siren", "--k", "3", "--out", out,
                             "--set", "survey.nt=60", "--device", "cpu"], capsys)
    assert code == 0, err
    spectrum = json.loads((out / "spectrum.json").read_text())
    assert set(spectrum["methods"]) == {"pixel", "siren"}
    assert (out / "spectra.png").is_file()
    code, _, err = run(["ntk"], capsys)
    assert code == 2 and "CONFIG.toml or --preset" in err
