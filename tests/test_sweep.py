"""Issue 6: the sweep runner (crfwi bench): expansion, skipping, resuming, failures, summaries."""

import json

import pytest

from crfwi.study import sweep as sweep_module
from crfwi.cli import main
from crfwi.config import ConfigError
from crfwi.study.sweep import NAMED_SWEEPS, load_sweep, run_sweep

TOY_SWEEP = """
name = "toy"
[base]
seed = 0
[base.model]
name = "layered"
nz = 12
nx = 24
spacing = 10.0
[base.survey]
n_shots = 2
freq = 15.0
dt = 0.002
nt = 80
[base.inversion]
iterations = 2
[base.output]
metrics_every = 1
checkpoint_every = 1
figures = false
progress = false
[scenarios.noisy]
data = { noise = 1.0 }

[[block]]
methods = ["pixel", "ig"]
inits = ["linear"]

[[block]]
methods = ["pixel"]
inits = ["linear", "constant"]
scenarios = ["clean", "noisy"]
set = { inversion = { iterations = 3 } }
"""


def write(tmp_path, text=TOY_SWEEP):
    path = tmp_path / "toy.toml"
    path.write_text(text)
    return path


def quiet(*_):
    pass


def test_blocks_expand_to_their_union(tmp_path):
    sweep = load_sweep(write(tmp_path), out=tmp_path / "out")
    keys = [r.key for r in sweep.runs]
    assert keys == ["custom/linear-clean/pixel-seed0", "custom/linear-clean/ig-seed0",
                    "custom/linear-noisy/pixel-seed0", "custom/constant-clean/pixel-seed0",
                    "custom/constant-noisy/pixel-seed0"]
    # The second block's linear/clean/pixel run overrides the first's (same key, later block).
    by_key = {r.key: r for r in sweep.runs}
    assert by_key["custom/linear-clean/pixel-seed0"].iterations == 3
    assert by_key["custom/linear-clean/ig-seed0"].iterations == 2
    assert by_key["custom/constant-noisy/pixel-seed0"].data["data"] == {"noise": 1.0}


@pytest.mark.parametrize("text, message", [
    (TOY_SWEEP.replace('scenarios = ["clean", "noisy"]', 'scenarios = ["loud"]'), "unknown scenario 'loud'"),
    (TOY_SWEEP.replace('inits = ["linear"]\n', 'inits = ["linear"]\nmodels = ["x"]\n', 1), "unknown key `models`"),
    (TOY_SWEEP.replace('methods = ["pixel", "ig"]', 'methods = ["pixel", "nope"]'), "unknown method 'nope'"),
    (TOY_SWEEP.replace('methods = ["pixel", "ig"]', 'methods = []'), "non-empty list"),
    ('name = "x"\n', "at least one"),
])
def test_bad_sweeps_are_refused_before_any_run(tmp_path, text, message):
    with pytest.raises((ConfigError, ValueError), match=message):
        load_sweep(write(tmp_path, text), out=tmp_path / "out")


def test_run_skip_extend_and_continue_from_summaries(tmp_path):
    out, summaries = tmp_path / "out", tmp_path / "summaries"
    text = TOY_SWEEP.split("[[block]]")[0] + '[[block]]\nmethods = ["pixel"]\ninits = ["linear", "constant"]\n'
    path = write(tmp_path, text)
    status = run_sweep(load_sweep(path, out=out, summaries=summaries), progress=False, log=quiet)
    assert [v["state"] for v in status["runs"].values()] == ["done", "done"]
    key = "custom/linear-clean/pixel-seed0"
    for name in ("metrics.json", "history.csv", "config.resolved.toml", "data.json", "model.npy"):
        assert (summaries / key / name).is_file(), name
    stamp = (out / key / "metrics.json").stat().st_mtime_ns
    run_sweep(load_sweep(path, out=out, summaries=summaries), progress=False, log=quiet)
    assert (out / key / "metrics.json").stat().st_mtime_ns == stamp  # complete: skipped
    # More iterations: the run folder is resumed and extended, not restarted.
    longer = path.read_text().replace("iterations = 2", "iterations = 4")
    path.write_text(longer)
    run_sweep(load_sweep(path, out=out, summaries=summaries), progress=False, log=quiet)
    history = (out / key / "history.csv").read_text().strip().splitlines()
    assert len(history) == 1 + 5  # header + iterations 0..4
    assert json.loads((summaries / key / "metrics.json").read_text())["iterations"] == 4
    # A later session without the raw folders continues from the committed summaries.
    import shutil

    shutil.rmtree(out)
    status = run_sweep(load_sweep(path, out=out, summaries=summaries), progress=False, log=quiet)
    assert not (out / key).exists() and status["runs"][key]["state"] == "done"


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    real = sweep_module._execute

    def flaky(run, *args):
        if "ig" in run.key:
            raise RuntimeError("boom")
        return real(run, *args)

    monkeypatch.setattr(sweep_module, "_execute", flaky)
    text = TOY_SWEEP.split("[[block]]")[0] + '[[block]]\nmethods = ["ig", "pixel"]\ninits = ["linear"]\n'
    out = tmp_path / "out"
    status = run_sweep(load_sweep(write(tmp_path, text), out=out), progress=False, log=quiet)
    runs = status["runs"]
    assert runs["custom/linear-clean/ig-seed0"]["state"] == "failed"
    assert "boom" in runs["custom/linear-clean/ig-seed0"]["error"]
    assert runs["custom/linear-clean/pixel-seed0"]["state"] == "done"
    assert json.loads((out / "sweep.json").read_text())["runs"] == runs


def test_an_interrupted_run_stops_the_sweep(tmp_path, monkeypatch):
    from crfwi.runner import RunInterrupted

    def interrupted(run, *args):
        raise RunInterrupted("stopped at iteration 1/2")

    monkeypatch.setattr(sweep_module, "_execute", interrupted)
    out = tmp_path / "out"
    with pytest.raises(RunInterrupted):
        run_sweep(load_sweep(write(tmp_path), out=out), progress=False, log=quiet)
    assert json.loads((out / "sweep.json").read_text())["runs"] == {}


def test_parallel_jobs_and_the_command(tmp_path, capsys):
    text = TOY_SWEEP.split("[[block]]")[0] + '[[block]]\nmethods = ["pixel"]\ninits = ["linear", "constant"]\n'
    out = tmp_path / "out"
    code = main(["bench", str(write(tmp_path, text)), "--out", str(out), "--jobs", "2", "--quiet",
                 "--device", "cpu"])
    stdout = capsys.readouterr().out
    assert code == 0 and "2 done, 0 failed" in stdout
    code = main(["bench", str(write(tmp_path, text)), "--out", str(out), "--dry-run"])
    assert code == 0 and "custom/constant-clean/pixel-seed0  (2 iterations; done)" in capsys.readouterr().out


def test_overrides_apply_to_every_run_over_the_sweep(tmp_path):
    sweep = load_sweep(write(tmp_path), out=tmp_path / "out",
                       overrides=["inversion.iterations=7", "survey.nt=90"])
    assert {r.iterations for r in sweep.runs} == {7}  # over the block's `set` too
    assert {r.data["survey"]["nt"] for r in sweep.runs} == {90}


def test_named_sweeps_expand(monkeypatch):
    from test_examples import shared_models

    if shared_models() is None:
        pytest.skip("benchmark models not found: set CRFWI_DATA_DIR")
    monkeypatch.setenv("CRFWI_DATA_DIR", str(shared_models()))
    assert {"paper-marmousi", "paper-others"} <= set(NAMED_SWEEPS)
    marmousi = load_sweep("paper-marmousi")
    # 9 methods x 3 starts, 3 x 6 degraded scenarios, 2 more seeds of the constant column, and
    # LRG-FWI from the constant start (Table 7).
    assert len(marmousi.runs) == 9 * 3 + 3 * 6 + 9 * 2 + 1
    assert {r.iterations for r in marmousi.runs if r.init == "constant"} == {800}
    assert len(load_sweep("paper-others").runs) == 18 + 2 * 3  # + Table 7 on Overthrust and salt
    ablations = load_sweep("ablations")
    assert {r.scenario for r in ablations.runs} == {"literal-grid", "table-2e12", "table-2e14",
                                                   "constant-minimum", "raw-start", "grid-lr-64",
                                                   "grid-lr-512", "inward-bound"}
    paper = load_sweep("paper-marmousi", overrides=["scale=paper"])
    assert {r.key.split("/")[0] for r in paper.runs} == {"marmousi-paper"}
    assert paper.runs[0].data["scale"] == "paper"


@pytest.mark.parametrize("name", ["paper-marmousi", "paper-others", "paper-openfwi", "paper-3d"])
def test_no_committed_paper_cell_is_stale(name, monkeypatch):
    """Every committed summary of the paper's sweeps ran under the sweep's current settings: a
    cell done under an old rate or default would be read into the paper's tables as if current
    (two such cells sat in Table 2 for a stop)."""
    from pathlib import Path

    from test_examples import shared_models

    if shared_models() is None:
        pytest.skip("benchmark models not found: set CRFWI_DATA_DIR")
    monkeypatch.setenv("CRFWI_DATA_DIR", str(shared_models()))
    summaries = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "paper"
    sweep = load_sweep(name, out=summaries / "no-such-run-folder", summaries=summaries)
    stale = [f"{run.key}: {fields}" for run in sweep.runs
             for _, fields in [sweep_module.run_state(sweep, run)] if fields]
    assert not stale, "stale cells (delete their summaries and re-run them):\n" + "\n".join(stale)


def test_a_done_run_whose_setting_changed_is_reported_stale_not_rerun(tmp_path, capsys):
    out = tmp_path / "out"
    text = TOY_SWEEP.split("[[block]]")[0] + '[[block]]\nmethods = ["ig", "pixel"]\ninits = ["linear"]\n'
    path = write(tmp_path, text)
    run_sweep(load_sweep(path, out=out), progress=False, log=quiet)
    ig, pixel = "custom/linear-clean/ig-seed0", "custom/linear-clean/pixel-seed0"
    stamp = (out / ig / "metrics.json").stat().st_mtime_ns
    # The bound's derivative changes: the network run is stale; the pixel run never takes that
    # derivative (its cells are projected inside the bounds), and the constant reading is unread
    # by a linear start, so neither is stale.
    changed = path.read_text().replace("iterations = 2", 'iterations = 2\nbound_gradient = "zero"')
    changed = changed.replace("[base.output]", '[base.initial]\nconstant = "minimum"\n[base.output]')
    path.write_text(changed)
    logged = []
    status = run_sweep(load_sweep(path, out=out), progress=False, log=logged.append)
    assert status["runs"][ig]["stale"] == ["inversion.bound_gradient: 'inward' -> 'zero'"]
    assert "stale" not in status["runs"][pixel]
    assert any(line.startswith(f"stale  {ig}: done under inversion.bound_gradient") for line in logged)
    assert (out / ig / "metrics.json").stat().st_mtime_ns == stamp  # kept, not re-run
    assert main(["bench", str(path), "--out", str(out), "--dry-run"]) == 0
    listing = capsys.readouterr().out
    assert f"{ig}  (2 iterations; STALE: inversion.bound_gradient: 'inward' -> 'zero')" in listing
    assert f"{pixel}  (2 iterations; done)" in listing


def test_runs_spread_over_listed_devices(tmp_path, capsys):
    text = TOY_SWEEP.split("[[block]]")[0] + '[[block]]\nmethods = ["pixel"]\ninits = ["linear", "constant"]\n'
    out = tmp_path / "out"
    code = main(["bench", str(write(tmp_path, text)), "--out", str(out), "--devices", "cpu,cpu",
                 "--quiet"])
    assert code == 0 and "2 done, 0 failed" in capsys.readouterr().out
    status = json.loads((out / "sweep.json").read_text())
    assert {run["device"] for run in status["runs"].values()} == {"cpu"}


@pytest.mark.parametrize("devices, message", [
    ("gpu0", "'gpu0' is not cpu or cuda:N"),
    ("cpu,cuda:99", "cuda:99 does not exist here"),
    (",", "needs a comma-separated list"),
])
def test_bad_devices_are_one_line_and_exit_2(tmp_path, capsys, devices, message):
    code = main(["bench", str(write(tmp_path)), "--out", str(tmp_path / "out"), "--devices", devices])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
