"""Every example config runs (at toy length) from the command line."""

from pathlib import Path

import pytest

from crfwi.models import zoo
from crfwi.cli import main

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml"))


def shared_models() -> Path | None:
    candidates = [zoo.resolve_data_dir(), Path(__file__).resolve().parents[2] / "shared" / "models"]
    return next((c for c in candidates if c is not None and (c / "models.json").is_file()), None)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(example, tmp_path, monkeypatch, capsys):
    if "marmousi" in example.read_text():
        data = shared_models()
        if data is None:
            pytest.skip("benchmark models not found: set CRFWI_DATA_DIR to a folder with models.json")
        monkeypatch.setenv("CRFWI_DATA_DIR", str(data))
    if "[field]" in example.read_text():  # its survey file is made by examples/make_field_line.py
        import runpy

        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr("sys.argv", ["make_field_line.py", str(tmp_path)])
        runpy.run_path(str(example.parent / "make_field_line.py"), run_name="__main__")
    code = main(["invert", str(example), "--out", str(tmp_path / "run"), "--quiet",
                 "--set", "inversion.iterations=2", "--set", "output.figures=false"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "metrics.json").is_file()
