"""Files: atomic writes, run folders, TOML/JSON/CSV/NPY in and out.

Every file a run writes goes through :func:`atomic_write` (temporary file in the same folder,
fsync, ``os.replace``), so an interrupted or killed run never leaves a half-written checkpoint,
history or metrics file behind. A kill in the middle of a write can leave that temporary file
(``.NAME.XXXX.tmp``); :class:`RunFolder` removes such leftovers when a run is resumed or a new
run is created in the folder.
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import tomli_w
import torch

__all__ = ["atomic_write", "save_json", "save_toml", "save_npy", "load_npy", "save_csv",
           "load_csv", "save_checkpoint", "load_checkpoint", "RunFolder", "RunFolderError"]


class RunFolderError(ValueError):
    """The output folder cannot be used as asked (holds another run, or no run to resume)."""


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import: reading it means setting it, which is not safe while other threads
# create files.
_UMASK = _read_umask()


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (readers see the old or the new file, never a mix).

    The file gets the permissions of an ordinary new file (0666 less the umask): mkstemp makes
    its temporary owner-only, which would leave run folders unreadable to a group sharing them.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _plain(value: Any) -> Any:
    """JSON/TOML-safe copy: numpy scalars and arrays → Python, tuples → lists, None dropped from
    dicts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return value


def save_json(path: str | Path, data: dict) -> Path:
    def finite(v: Any) -> Any:  # JSON has no inf/nan: write them as strings
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list):
            return [finite(x) for x in v]
        return v

    text = json.dumps(finite(_plain(data)), indent=2, sort_keys=False) + "\n"
    return atomic_write(path, text.encode())


def save_toml(path: str | Path, data: dict) -> Path:
    return atomic_write(path, tomli_w.dumps(_plain(data)).encode())


def save_npy(path: str | Path, array: np.ndarray) -> Path:
    buffer = _io.BytesIO()
    np.save(buffer, np.asarray(array))
    return atomic_write(path, buffer.getvalue())


def load_npy(path: str | Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    return np.load(path, allow_pickle=False)


def save_csv(path: str | Path, rows: Iterable[dict], columns: list[str]) -> Path:
    buffer = _io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return atomic_write(path, buffer.getvalue().encode())


def load_csv(path: str | Path) -> list[dict]:
    """Rows of a CSV written by :func:`save_csv`, numbers parsed, empty cells → None."""
    def parse(text: str) -> Any:
        if text == "":
            return None
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "." not in text and "e" not in text else number

    with open(path, newline="") as fh:
        return [{k: parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def save_checkpoint(path: str | Path, state: dict) -> Path:
    buffer = _io.BytesIO()
    torch.save(state, buffer)
    return atomic_write(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise RunFolderError(f"no checkpoint in {path.parent}: nothing to resume")
    return torch.load(path, map_location="cpu", weights_only=False)


# The temporary files of atomic_write (".NAME.RANDOM.tmp") and of the figure writer
# (".NAME.PID.tmp"): what a kill during a write leaves behind, and nothing a user would name.
_TEMPORARY = re.compile(r"^\.[^/]+\.[^./]+\.tmp$")


class RunFolder:
    """The files of one run, by name.

    A folder holds one run: creating a run in a folder that already has ``config.resolved.toml``
    is refused (resume it instead, or choose another folder), so no run's results are overwritten.
    The config file is the run's marker and is written first; every other file of a new run can
    be re-made from it, so a run killed at any point either holds no run yet (the folder may be
    reused for a new one) or resumes to a complete folder.
    """

    CONFIG = "config.resolved.toml"
    CHECKPOINT = "checkpoint.pt"
    METRICS = "metrics.json"
    HISTORY = "history.csv"
    MODEL = "model.npy"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    def model_at(self, iteration: int) -> Path:
        """Where ``output.models_every`` keeps the model of ``iteration``."""
        return self.path / "models" / f"iteration_{iteration:06d}.npy"

    def holds_run(self) -> bool:
        return (self.path / self.CONFIG).is_file()

    def temporaries(self) -> list[Path]:
        """Leftovers of writes interrupted by a kill, in the folder and its figures folder."""
        found = []
        for folder in (self.path, self.figures):
            if folder.is_dir():
                found += [p for p in folder.iterdir() if p.is_file() and _TEMPORARY.match(p.name)]
        return sorted(found)

    def remove_temporaries(self) -> list[Path]:
        """Delete :meth:`temporaries` (a run is never writing while this is called: it runs
        before a new or resumed run starts). Returns what was removed."""
        removed = self.temporaries()
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    def is_complete(self) -> bool:
        return (self.path / self.METRICS).is_file()

    def check_new(self) -> None:
        """Refuse a file, a folder holding another run, or a non-empty folder (so a run never
        overwrites another or mixes its files with anything else)."""
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"--out {self.path} is a file, not a folder")
        if self.holds_run():
            raise RunFolderError(f"{self.path} already holds a run; resume it with "
                                 f"`crfwi invert --resume {self.path}` or choose another --out")
        leftovers = set(self.temporaries())
        if self.path.is_dir() and any(p not in leftovers for p in self.path.iterdir()):
            raise RunFolderError(f"--out {self.path} is a folder with other files in it; "
                                 "choose a new or empty folder for the run")

    def create(self) -> "RunFolder":
        """Prepare a new run folder (see :meth:`check_new`; a folder that holds only the
        temporaries of a run killed before its config was written counts as empty)."""
        self.check_new()
        self.path.mkdir(parents=True, exist_ok=True)
        self.remove_temporaries()
        return self

    def open_for_resume(self) -> "RunFolder":
        if not self.path.is_dir():
            raise RunFolderError(f"run folder not found: {self.path}")
        if not self.holds_run():
            raise RunFolderError(f"{self.path} holds no run ({self.CONFIG} is missing); a run "
                                 "killed before writing it can be started again with the same --out")
        self.remove_temporaries()
        return self
