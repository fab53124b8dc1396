"""The benchmark data directory: where it is, and its manifest ``models.json``.

Real benchmark models (Marmousi, BP 2004, the OpenFWI stacks, a 3-D Overthrust volume) are never
shipped with crfwi; a user points ``$CRFWI_DATA_DIR`` (or a ``data_dir`` setting) at a folder
holding them and a ``models.json`` that maps each key to an entry (``file``, ``shape``,
``dz_m``, ``dx_m``, …; ``null`` for a model known but absent). This module reads that manifest
for every loader (:mod:`crfwi.models.zoo`, :mod:`crfwi.models.zoo3d`, :mod:`crfwi.models.openfwi`), which add what
to do instead (a procedural stand-in, a download address) to its messages.

Two kinds of failure are kept apart: :class:`DataAbsent` (no directory, no manifest, no entry or
no file: a loader may fall back to its stand-in) and plain ``ValueError`` (present but broken:
never silently replaced).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "MANIFEST", "DataAbsent", "resolve_data_dir", "read_manifest",
           "manifest_entry"]

DATA_DIR_ENV = "CRFWI_DATA_DIR"
MANIFEST = "models.json"


class DataAbsent(ValueError):
    """What was asked for is not in the data directory (as opposed to present but broken)."""


def resolve_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """The benchmark data directory: ``data_dir`` if given, else ``$CRFWI_DATA_DIR``, else ``None``.

    The directory is not checked here (it may not exist); loading a benchmark checks it.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else None


def read_manifest(data_dir: Path | None) -> dict:
    """The manifest of ``data_dir`` as a dict. :class:`DataAbsent` when no directory is set or it
    holds no manifest; ``ValueError`` when the manifest cannot be read or is not an object."""
    if data_dir is None:
        raise DataAbsent(f"no data directory is set: set {DATA_DIR_ENV} (or the `data_dir` "
                         f"setting) to the folder holding {MANIFEST}")
    path = data_dir / MANIFEST
    if not path.is_file():
        raise DataAbsent(f"no {MANIFEST} found at {path}: set {DATA_DIR_ENV} or the `data_dir` "
                         "setting to the folder holding the benchmark files")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path} must hold a JSON object mapping model names to entries")
    return manifest


def manifest_entry(data_dir: Path | None, key: str,
                   fields: tuple[str, ...] = ("file", "shape", "dz_m", "dx_m")
                   ) -> tuple[dict, Path | None]:
    """Entry ``key`` of the manifest, checked to hold ``fields``, and the path of its ``file``
    (None when ``fields`` names no file). :class:`DataAbsent` when the manifest lacks the key,
    lists it as ``null``, or names a file that is not there; ``ValueError`` for an entry that
    is not an object or lacks a field."""
    manifest = read_manifest(data_dir)
    assert data_dir is not None  # read_manifest raised otherwise
    where = data_dir / MANIFEST
    if key not in manifest:
        raise DataAbsent(f"{where} has no entry {key!r}")
    entry = manifest[key]
    if entry is None:
        raise DataAbsent(f"{where} lists no file for {key!r}")
    if not isinstance(entry, dict):
        raise ValueError(f"entry {key!r} in {where} must be a JSON object")
    for field in fields:
        if field not in entry:
            raise ValueError(f"entry {key!r} in {where} lacks the field {field!r}")
    if "file" not in fields:
        return entry, None
    path = data_dir / entry["file"]
    if not path.is_file():
        raise DataAbsent(f"{where} names {entry['file']!r} under {key!r} but {path} does not exist")
    return entry, path
