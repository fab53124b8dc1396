"""The data directory's manifest: absent (a loader may fall back) kept apart from broken (never
silently replaced)."""

from __future__ import annotations

import json

import pytest

from crfwi.models.datadir import DataAbsent, manifest_entry, read_manifest


def _write(folder, manifest) -> None:
    (folder / "models.json").write_text(json.dumps(manifest))


def test_absent_is_told_apart_from_broken(tmp_path):
    with pytest.raises(DataAbsent, match="CRFWI_DATA_DIR"):
        read_manifest(None)
    with pytest.raises(DataAbsent, match="no models.json"):
        read_manifest(tmp_path)
    (tmp_path / "models.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read") as err:
        read_manifest(tmp_path)
    assert not isinstance(err.value, DataAbsent)
    _write(tmp_path, {"gone": None, "half": {"file": "m.npy"}, "missing": {
        "file": "m.npy", "shape": [2, 2], "dz_m": 1.0, "dx_m": 1.0}})
    for key, words in (("nothing", "has no entry"), ("gone", "lists no file"),
                       ("missing", "does not exist")):
        with pytest.raises(DataAbsent, match=words):
            manifest_entry(tmp_path, key)
    with pytest.raises(ValueError, match="lacks the field 'shape'") as err:
        manifest_entry(tmp_path, "half")
    assert not isinstance(err.value, DataAbsent)
    (tmp_path / "m.npy").write_bytes(b"")
    entry, path = manifest_entry(tmp_path, "missing")
    assert path == tmp_path / "m.npy" and entry["shape"] == [2, 2]
    assert manifest_entry(tmp_path, "half", fields=("file",))[0] == {"file": "m.npy"}
