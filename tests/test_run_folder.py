"""A run killed at any write leaves a folder that resumes (or restarts) to the complete run.

The kill is simulated in-process at each call of :func:`crfwi.io.atomic_write` in turn: the
wrapper leaves the write's temporary file behind, as a kill -9 between writing it and renaming
it would, and raises an exception no handler of crfwi catches (a ``BaseException``), so nothing
after that point runs -- the same state a killed process leaves on disk.
"""

import numpy as np
import pytest

from crfwi import io
from crfwi.config import config_from_dict
from crfwi.runner import resume_inversion, run_inversion

TINY = {
    "name": "tiny", "seed": 1,
    "model": {"name": "layered", "nz": 12, "nx": 24, "spacing": 20.0},
    "survey": {"n_shots": 3, "freq": 8.0, "dt": 0.004, "nt": 120},
    "initial": {"kind": "smooth", "sigma": 200.0},
    "inversion": {"method": "pixel", "iterations": 4, "shots_per_iteration": 2},
    "output": {"metrics_every": 2, "checkpoint_every": 2, "progress": False, "figures": False},
}
FILES = ("config.resolved.toml", "data.json", "history.csv", "checkpoint.pt", "metrics.json",
         "model.npy", "initial.npy", "true.npy")


class Killed(BaseException):
    """The simulated kill (not an Exception, so no ``except Exception`` swallows it)."""


def _counting_writes(monkeypatch):
    calls = []
    original = io.atomic_write

    def counted(path, data):
        calls.append(path)
        return original(path, data)

    monkeypatch.setattr(io, "atomic_write", counted)
    return calls


def _kill_at(monkeypatch, k):
    original = io.atomic_write
    count = [0]

    def write(path, data):
        count[0] += 1
        if count[0] == k:  # killed mid-write: the temporary is on disk, the target is not
            path.parent.mkdir(parents=True, exist_ok=True)
            (path.parent / f".{path.name}.killed.tmp").write_bytes(data[: len(data) // 2])
            raise Killed(f"write {k}: {path.name}")
        return original(path, data)

    monkeypatch.setattr(io, "atomic_write", write)


def _history(folder):
    return [(r["iteration"], r["loss"], r["mse"]) for r in io.load_csv(folder / "history.csv")]


def _same_history(ours, theirs):
    """Same iterations, and the same loss and MSE wherever recorded (not the timings)."""
    if [r[0] for r in ours] != [r[0] for r in theirs]:
        return False
    return all((a is None and b is None) or a == pytest.approx(b, rel=1e-6)
               for row_a, row_b in zip(ours, theirs) for a, b in zip(row_a[1:], row_b[1:]))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference") / "run"
    run_inversion(config_from_dict(TINY), folder, device="cpu", progress=False)
    return folder


def test_a_kill_at_every_write_resumes_to_the_complete_identical_run(reference, tmp_path, monkeypatch):
    with monkeypatch.context() as patch:
        writes = _counting_writes(patch)
        run_inversion(config_from_dict(TINY), tmp_path / "count", device="cpu", progress=False)
    assert len(writes) >= len(FILES)  # every file of the folder, checkpoints more than once
    expected_history = _history(reference)
    for k in range(1, len(writes) + 1):
        folder = tmp_path / f"killed-at-{k}"
        with monkeypatch.context() as patch:
            _kill_at(patch, k)
            with pytest.raises(Killed):
                run_inversion(config_from_dict(TINY), folder, device="cpu", progress=False)
        assert io.RunFolder(folder).temporaries(), k
        if io.RunFolder(folder).holds_run():
            resume_inversion(folder, device="cpu", progress=False)
        else:  # killed before the run existed: the same command starts it again
            run_inversion(config_from_dict(TINY), folder, device="cpu", progress=False)
        missing = [name for name in FILES if not (folder / name).is_file()]
        assert not missing, f"kill at write {k} ({writes[k - 1].name}): missing {missing}"
        assert not io.RunFolder(folder).temporaries(), k
        assert _same_history(_history(folder), expected_history), k
        assert np.array_equal(np.load(folder / "model.npy"), np.load(reference / "model.npy")), k


def test_a_folder_with_a_users_file_is_still_refused(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ".notes.tmp").write_text("not ours: no random part")
    (folder / ".model.npy.abc123.tmp").write_bytes(b"ours")
    with pytest.raises(io.RunFolderError, match="other files"):
        io.RunFolder(folder).check_new()
    assert (folder / ".notes.tmp").exists() and (folder / ".model.npy.abc123.tmp").exists()


def test_written_files_have_ordinary_permissions(tmp_path):
    """0666 less the umask, like any new file (mkstemp's temporaries are owner-only)."""
    path = io.save_json(tmp_path / "x.json", {"a": 1})
    assert (path.stat().st_mode & 0o777) == 0o666 & ~io._UMASK
