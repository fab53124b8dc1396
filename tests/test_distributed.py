"""Shot-parallel inversion (crfwi.inversion.distributed, issue 14) at toy size, 2 ranks on gloo/CPU.

The multi-process tests start real processes (``crfwi invert --nproc 2``, torchrun, or ranks
started here with torchrun's environment and a free port, so a failure or a signal can be
injected into one rank); every one runs under a deadline, so a hang fails the test instead of
stalling the suite.
"""

import crfwi  # noqa: F401  (before torch: OMP_WAIT_POLICY)

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch.distributed as dist

from crfwi import io
from crfwi.cli import main
from crfwi.config import ConfigError, load_config
from crfwi.inversion.distributed import partition
from crfwi.resources import parse_size
from crfwi.run_plan import plan_shot_chunk
from toy import TOY_HEAD

TOY = TOY_HEAD + """[initial]
kind = "smooth"
sigma = 200.0
[inversion]
method = "adfwi-tv"
iterations = 6
shots_per_iteration = 3
[output]
metrics_every = 2
checkpoint_every = 2
progress = false
figures = false
"""

DEADLINE_S = 120  # per multi-process run; a hang fails here
needs_gloo = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="torch.distributed with the gloo backend is not available")

# A rank started by _ranks(): torchrun's environment, plus one injected event on one rank.
WORKER = r"""
import crfwi, json, os, signal, sys
from crfwi import io, runner
from crfwi.cli import main
from crfwi.inversion.loop import Inversion

spec = json.loads(os.environ.get("CRFWI_TEST_INJECT", "{}"))
if spec and int(os.environ["RANK"]) == spec["rank"]:
    what, at = spec["what"], spec.get("at", 0)
    if what == "sigint":
        step = Inversion.step
        def patched(self):
            state = step(self)
            if state.iteration == at:
                os.kill(os.getpid(), signal.SIGINT)
            return state
        Inversion.step = patched
    elif what == "raise":
        gradient = Inversion.model_gradient
        def patched(self, *args, **kwargs):
            if self.iteration + 1 == at:
                raise RuntimeError("injected failure")
            return gradient(self, *args, **kwargs)
        Inversion.model_gradient = patched
    elif what == "metrics":
        record = runner._Run.record_metrics
        def patched(self, row):
            if row["iteration"] == at:
                raise OSError("disk full")
            return record(self, row)
        runner._Run.record_metrics = patched
    elif what == "no_disk":  # this rank must never read or write the run folder
        def refuse(*args, **kwargs):
            raise AssertionError("a rank other than 0 touched the run folder")
        for name in ("atomic_write", "load_checkpoint", "save_checkpoint", "load_csv"):
            setattr(io, name, refuse)
        for name in ("open_for_resume", "check_new", "create"):
            setattr(io.RunFolder, name, refuse)
        runner.read_toml = refuse
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def toy_config(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(TOY)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", **extra)
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    env.update(extra)
    return env


def _run(command, cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=DEADLINE_S)
    return proc


def _ranks(argv, cwd, *, n=2, inject=None) -> list[tuple[int, str]]:
    """Start ``n`` ranks of ``crfwi ARGV`` as torchrun would; (exit code, stderr) of each."""
    port = str(_free_port())
    procs = [subprocess.Popen(
        [sys.executable, "-c", WORKER, *map(str, argv)], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_env(RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(n), MASTER_ADDR="127.0.0.1",
                 MASTER_PORT=port, CRFWI_TEST_INJECT=json.dumps(inject or {})))
        for r in range(n)]
    deadline = time.monotonic() + DEADLINE_S
    results = []
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append((proc.returncode, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def _history(path):
    return [(r["iteration"], r["loss"], r["mse"]) for r in io.load_csv(path / "history.csv")]


def assert_same_run(ours, theirs, rtol=1e-5):
    a, b = _history(ours), _history(theirs)
    assert [r[0] for r in a] == [r[0] for r in b]
    for (it, loss_a, mse_a), (_, loss_b, mse_b) in zip(a, b):
        assert (loss_a is None) == (loss_b is None), it
        if loss_a is not None:
            assert loss_a == pytest.approx(loss_b, rel=rtol), it
        if mse_b is not None:  # a run stopped at k also has the metrics of iteration k
            assert mse_a == pytest.approx(mse_b, rel=rtol), it
    np.testing.assert_allclose(np.load(ours / "model.npy"), np.load(theirs / "model.npy"), rtol=rtol)


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("crfwi: error")]


def test_partition_is_balanced_contiguous_and_complete():
    for n in range(0, 9):
        for world in (1, 2, 3, 4):
            shots = list(range(10, 10 + n))
            blocks = [partition(shots, r, world) for r in range(world)]
            assert sum(blocks, []) == shots  # every shot once, in order
            sizes = [len(b) for b in blocks]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    assert partition([3, 5, 8], 1, 2) == [8]


def test_block_gradients_sum_to_the_batch_gradient(toy_config):
    """What the all_reduce relies on: each rank's block, scaled as the whole batch, adds up to
    the batch's misfit and ∂J/∂m, also from a rank that holds only its own shots' data."""
    import torch

    from crfwi.experiment import build_experiment
    from crfwi.inversion.loop import Inversion

    experiment = build_experiment(load_config(toy_config), device="cpu")
    observed = experiment.observed_data()
    model = experiment.velocity_model()
    velocity = model().detach()
    batch = [0, 2, 3]
    whole = Inversion(model, experiment.solver, observed)
    loss, grad = whole.model_gradient(velocity, batch)
    parts = []
    for rank in range(2):
        mine = partition(batch, rank, 2)
        held = Inversion(model, experiment.solver, observed[mine], observed_shots=mine)
        parts.append(held.model_gradient(velocity, mine, scale=4 / len(batch)))
    assert sum(p[0] for p in parts) == pytest.approx(loss, rel=1e-6)
    torch.testing.assert_close(parts[0][1] + parts[1][1], grad, rtol=1e-5,
                               atol=1e-6 * grad.abs().max().item())
    held = Inversion(model, experiment.solver, observed[[2, 3]], observed_shots=[2, 3])
    with pytest.raises(ValueError, match="no observed data for shot 0"):
        held.model_gradient(velocity, [0])
    with pytest.raises(ValueError, match="observed_shots"):
        Inversion(model, experiment.solver, observed[[2, 3]], observed_shots=[2, 2])
    assert whole.model_gradient(velocity, [])[0] == 0.0  # a rank without shots adds nothing


def test_parse_size():
    assert parse_size("8GiB") == 8 * 2**30 == parse_size("8G") == parse_size("8 gib")
    assert parse_size("16GB") == 16 * 10**9 and parse_size("512MiB") == 512 * 2**20
    assert parse_size("2e9") == 2 * 10**9 and parse_size(1024) == 1024
    for bad in ("lots", "8 parsecs", "-1GB", "0", ""):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_plan_shot_chunk_fits_the_budget_or_names_what_would(toy_config):
    config = load_config(toy_config, ["inversion.shots_per_iteration=0"])  # 4 shots a step
    assert plan_shot_chunk(config, parse_size("1GiB")) == 0  # everything at once fits
    # The toy's wavefield history: (16+20+8)·(32+40+8) cells · 200 steps · 4 B = 2.8 MB a shot.
    chunks = [plan_shot_chunk(config, int(mb * 1e6)) for mb in (4.0, 7.0, 10.0)]
    assert chunks == [1, 2, 3]
    assert plan_shot_chunk(config, int(7e6), ranks=2) == 0  # 2 shots per rank a step: all fit
    with pytest.raises(ConfigError) as err:
        plan_shot_chunk(config, int(1.5e6))
    message = str(err.value)
    assert "physics.shot_chunk = 1" in message and "physics.storage_compression = true" in message
    assert "physics.gradient_sampling_interval = 4" in message  # 2.8 MB / 4 fits 1.5 MB
    assert "physics.checkpoint_segments =" in message
    with pytest.raises(ConfigError, match="observed data|forward wavefields|velocity models"):
        plan_shot_chunk(config, 1000)  # not even the data fit: nothing about the chunk helps


def test_max_memory_sets_the_shot_chunk_and_refuses_what_cannot_fit(toy_config, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["invert", str(toy_config), "--out", str(out), "--iterations", "1",
                 "--set", "inversion.shots_per_iteration=0", "--max-memory", "7MB", "--quiet"])
    assert code == 0, capsys.readouterr().err
    resolved = load_config(out / "config.resolved.toml")
    assert resolved.physics.shot_chunk == 2
    # Resuming with another budget changes only the chunk (recorded in the resolved config).
    code = main(["invert", "--resume", str(out), "--max-memory", "4MB", "--set",
                 "inversion.iterations=2", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert load_config(out / "config.resolved.toml").physics.shot_chunk == 1
    capsys.readouterr()
    refused = tmp_path / "refused"
    code = main(["invert", str(toy_config), "--out", str(refused), "--max-memory", "1.5MB"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--max-memory" in err and "physics.storage_compression = true" in err
    assert not refused.exists()
    assert main(["invert", str(toy_config), "--out", str(refused), "--max-memory", "lots"]) == 2
    assert "cannot read the size" in capsys.readouterr().err


def test_bad_input_is_refused_before_any_rank_starts(toy_config, tmp_path, capsys, monkeypatch):
    import crfwi.inversion.distributed as distributed

    def no_process(*args, **kwargs):
        raise AssertionError("a rank was started")

    monkeypatch.setattr(distributed.subprocess, "Popen", no_process)
    out = tmp_path / "run"
    cases = [
        (["--set", "survey.nt=-5"], "survey.nt"),
        (["--method", "nonsense"], "nonsense"),
        (["--set", "representation.options={bogus=1}"], "representation.options"),
        (["--max-memory", "1kB"], "--max-memory"),
        (["--nproc", "0"], "--nproc"),
    ]
    for extra, needle in cases:
        code = main(["invert", str(toy_config), "--out", str(out), "--nproc", "2", *extra])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, (extra, err)
        assert not out.exists()
    code = main(["invert", "--resume", str(tmp_path / "missing"), "--nproc", "2"])
    assert code == 2 and "not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The one-process run every multi-rank run must reproduce."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "toy.toml").write_text(TOY)
    assert main(["invert", str(folder / "toy.toml"), "--out", str(folder / "run"), "--quiet",
                 "--device", "cpu"]) == 0
    return folder / "run"


@needs_gloo
@pytest.mark.slow
def test_two_ranks_give_the_one_rank_history(toy_config, tmp_path, reference):
    """--nproc 2 (the local launcher): 3 shots a step split 2 + 1, ADFWI-TV's regulariser added
    once; history and final model as one process's, θ identical on both ranks throughout."""
    out = tmp_path / "two"
    proc = _run([sys.executable, "-m", "crfwi", "invert", toy_config, "--out", out, "--nproc",
                 "2", "--device", "cpu", "--quiet"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("inverted") == 1  # rank 0 reports, once
    assert_same_run(out, reference)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ranks"] == 2 and metrics["theta_resyncs"] == 0
    assert 0 <= metrics["all_reduce_seconds"] < metrics["seconds"]
    assert load_config(out / "config.resolved.toml") == load_config(reference / "config.resolved.toml")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())


@needs_gloo
@pytest.mark.slow
def test_a_distributed_run_resumes_with_any_number_of_ranks(toy_config, tmp_path, reference):
    """3 iterations on 2 ranks (torchrun -m crfwi), then to 6 on 1 rank and on 2 ranks; rank 1
    never reads or writes the run folder."""
    first = tmp_path / "first"
    proc = _run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 "--nproc-per-node", "2", "-m", "crfwi", "invert", toy_config, "--out", first,
                 "--iterations", "3", "--device", "cpu", "--quiet"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(first, one)
    shutil.copytree(first, two)
    assert main(["invert", "--resume", str(one), "--iterations", "6", "--quiet"]) == 0
    results = _ranks(["invert", "--resume", two, "--iterations", "6", "--device", "cpu",
                      "--quiet"], tmp_path, inject={"rank": 1, "what": "no_disk"})
    assert [code for code, _ in results] == [0, 0], results
    assert_same_run(one, reference)
    assert_same_run(two, reference)


@needs_gloo
@pytest.mark.slow
def test_ctrl_c_on_rank_0_stops_every_rank_with_a_resumable_checkpoint(toy_config, tmp_path,
                                                                        capsys):
    """MS-FWI on all shots every step (a fixed partition: rank 1 holds only its 2 shots)."""
    sets = ["--method", "ms-fwi", "--set", "inversion.shots_per_iteration=0"]
    reference = tmp_path / "reference"
    assert main(["invert", str(toy_config), "--out", str(reference), "--quiet", *sets]) == 0
    out = tmp_path / "stopped"
    results = _ranks(["invert", toy_config, "--out", out, "--device", "cpu", "--quiet", *sets],
                     tmp_path, inject={"rank": 0, "what": "sigint", "at": 3})
    assert [code for code, _ in results] == [130, 130], results
    assert "--resume" in results[0][1] and not _errors(results[1][1])
    assert [r[0] for r in _history(out)] == [0, 1, 2, 3] and not (out / "metrics.json").exists()
    capsys.readouterr()
    assert main(["invert", "--resume", str(out), "--quiet"]) == 0
    assert_same_run(out, reference)


@needs_gloo
@pytest.mark.slow
@pytest.mark.parametrize("inject, line", [
    ({"rank": 1, "what": "raise", "at": 2}, "rank 1 failed: RuntimeError: injected failure"),
    ({"rank": 0, "what": "metrics", "at": 2}, "rank 0 failed: OSError: disk full"),
])
def test_a_failing_rank_stops_every_rank_with_one_line(toy_config, tmp_path, inject, line):
    out = tmp_path / "run"
    results = _ranks(["invert", toy_config, "--out", out, "--device", "cpu", "--quiet"],
                     tmp_path, inject=inject)
    assert all(code == 1 for code, _ in results), results
    assert _errors(results[0][1]) == [f"crfwi: error: {line}"]
    assert not _errors(results[1][1]) and "Traceback" not in results[1][1]
    assert not (out / "metrics.json").exists()
    assert io.load_checkpoint(out / "checkpoint.pt")["iteration"] in (0, 2)  # resumable


@needs_gloo
@pytest.mark.slow
def test_sigterm_to_the_launcher_stops_the_ranks_cleanly(toy_config, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crfwi", "invert", str(toy_config), "--out", str(out), "--nproc",
         "2", "--device", "cpu", "--quiet", "--iterations", "1000", "--set",
         "output.checkpoint_every=1"], cwd=tmp_path, env=_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and proc.poll() is None:
            history = out / "history.csv"
            if history.is_file() and len(history.read_text().splitlines()) >= 4:  # iteration 2
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "--resume" in err and not _errors(err)
    stopped = io.load_checkpoint(out / "checkpoint.pt")["iteration"]
    assert 2 <= stopped < 1000 and _history(out)[-1][0] == stopped
    assert not (out / "metrics.json").exists()
