"""Real OpenFWI velocity maps, one at a time: ``openfwi:<family>:<k>``.

OpenFWI (Deng et al., 2022) publishes families of 70 × 70 velocity maps at 10 m. A data directory
may hold stacks of them (``models.json`` entry ``openfwi``: ``kind = "stack"``, one ``.npy`` of
shape ``(n_maps, 70, 70)`` per family, see the shared ``PROVENANCE.md``). A run names one map as
a model: ``model.name = "openfwi:flatvel_a:17"`` is map 17 (counting from 0) of the FlatVel-A
stack. The map is used on its own 10 m grid, as OpenFWI simulated it (the ``openfwi`` preset
holds OpenFWI's acquisition).

Stacks are memory-mapped: reading one map does not read the whole file. The maps are for local
benchmarking under OpenFWI's licence; crfwi never ships them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .datadir import MANIFEST, DataAbsent, manifest_entry, resolve_data_dir
from ..physics.geometry import Grid

__all__ = ["PREFIX", "is_map_name", "parse_map_name", "map_name", "families", "map_count", "load_map"]

PREFIX = "openfwi"
MANIFEST_KEY = "openfwi"
_NAME = re.compile(r"^openfwi:([a-z0-9_]+):(\d+)$")


def is_map_name(name: object) -> bool:
    """Whether ``name`` has the form ``openfwi:<family>:<k>`` (the family is not checked)."""
    return isinstance(name, str) and name.startswith(PREFIX + ":")


def parse_map_name(name: str) -> tuple[str, int]:
    """``"openfwi:flatvel_a:17"`` → ``("flatvel_a", 17)``; a malformed name raises one line."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"OpenFWI map {name!r} must be written openfwi:<family>:<k>, "
                         "e.g. openfwi:flatvel_a:17 (k counts from 0)")
    return match.group(1), int(match.group(2))


def map_name(family: str, index: int) -> str:
    return f"{PREFIX}:{family}:{int(index)}"


def _entry(data_dir: Path | None) -> tuple[dict, Path]:
    """The ``openfwi`` stack entry (``files``: family -> stack file) and the data directory."""
    try:
        entry, _ = manifest_entry(data_dir, MANIFEST_KEY, fields=("files", "dz_m", "dx_m"))
    except DataAbsent as why:
        raise DataAbsent(f"OpenFWI maps are not available: {why}") from None
    if not isinstance(entry["files"], dict):
        raise ValueError(f"entry {MANIFEST_KEY!r} in {data_dir / MANIFEST}: 'files' must map "
                         "each family to its stack file")
    return entry, data_dir


def families(data_dir: str | Path | None = None) -> list[str]:
    """The families the data directory holds (e.g. ``flatvel_a``); ``[]`` when it holds none."""
    try:
        entry, _ = _entry(resolve_data_dir(data_dir))
    except ValueError:
        return []
    return sorted(entry["files"])


def _stack(family: str, data_dir: str | Path | None) -> tuple[np.ndarray, dict, Path]:
    entry, root = _entry(resolve_data_dir(data_dir))
    files = entry["files"]
    if family not in files:
        raise ValueError(f"unknown OpenFWI family {family!r}; this data directory holds: "
                         f"{', '.join(sorted(files)) or 'none'}")
    path = root / files[family]
    try:
        stack = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read OpenFWI stack {path}: {err}") from None
    if stack.ndim != 3:
        raise ValueError(f"OpenFWI stack {path} must hold (n_maps, nz, nx), got shape {stack.shape}")
    return stack, entry, path


def map_count(family: str, data_dir: str | Path | None = None) -> int:
    """How many maps the family's stack holds."""
    return int(_stack(family, data_dir)[0].shape[0])


def load_map(name: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, Grid]:
    """Map ``openfwi:<family>:<k>`` as ``(model [nz, nx] float32 m/s, its 10 m grid)``."""
    family, index = parse_map_name(name)
    stack, entry, path = _stack(family, data_dir)
    if not 0 <= index < stack.shape[0]:
        raise ValueError(f"OpenFWI map {name!r}: the {family} stack holds maps 0 to "
                         f"{stack.shape[0] - 1}")
    model = np.array(stack[index], dtype=np.float32)  # copies just this map out of the mmap
    if not np.all(np.isfinite(model)) or not np.all(model > 0):
        raise ValueError(f"OpenFWI map {name!r} in {path} holds non-finite or non-positive values")
    grid = Grid(model.shape[0], model.shape[1], float(entry["dz_m"]), float(entry["dx_m"]))
    return model, grid
