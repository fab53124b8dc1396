"""Issue 6: the paper's numbers as data (crfwi.study.paper_results) and the report writer
(crfwi report)."""

import importlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from crfwi.study import paper_results as paper
from crfwi import report
from crfwi.config import config_from_dict
from crfwi.runner import run_inversion

table2_section = importlib.import_module("crfwi.report.sections.table2")  # the package exports the function

PAPER_MD = Path(__file__).resolve().parents[2] / "shared" / "PAPER.md"

TINY = {"model": {"name": "layered", "nz": 12, "nx": 24, "spacing": 10.0},
        "survey": {"n_shots": 2, "freq": 15.0, "dt": 0.002, "nt": 80},
        "inversion": {"method": "pixel", "iterations": 2, "shots_per_iteration": 1},
        "output": {"figures": False, "progress": False, "metrics_every": 1}}


# ----------------------------------------------------------------------------------------------
# The paper's numbers
# ----------------------------------------------------------------------------------------------
def test_paper_values_spot_checks_and_sources():
    v = paper.lookup("marmousi", "constant", "ig", "mse")
    assert (v.value, v.text) == (0.2961, "0.2961")
    assert "Table 4" in v.source and "Constant" in v.source and "IG-FWI" in v.source
    assert paper.lookup("marmousi", "shots5", "IG-FWI", "ssim").value == 0.6808
    assert paper.lookup("bp2004", "constant", "hashgrid", "mse").text == "1.6024"
    assert paper.lookup("bp2004", "constant", "hashgrid", "mse", table="1").text == "1.602"
    # Each table keeps its own values where the paper contradicts itself.
    assert paper.lookup("overthrust", "smooth", "ms-fwi", "mse").value == 0.0752
    assert paper.lookup("overthrust", "smooth", "ms-fwi", "mse", table="1").value == 0.0612
    assert paper.lookup("marmousi", "shots5", "hashgrid", "mse", table="1").value == 0.3338
    assert paper.lookup("marmousi", "shots5", "hashgrid", "mse").value == 0.3393
    assert len(paper.INCONSISTENCIES) == 4
    assert paper.lookup("salt", "smooth", "gabor", "mae").value == 0.2152
    assert paper.lookup("salt", "constant", "lrg", "mse").source.startswith("Table 7")
    assert paper.lookup("marmousi", "noise4", "lrg", "mse") is None
    assert {k: v.text for k, v in paper.compute("siren").items()} == {
        "time_s_per_epoch": "1.88", "params_k": "50.05", "memory_gb": "17.48"}
    assert paper.best("marmousi", "constant", "mse") == ["LR-FWI"]  # Table 4 only, not Table 7
    assert paper.best("marmousi", "constant", "ssim") == ["IG-FWI"]
    assert paper.best("marmousi", "constant", "mse", among=["pixel", "siren"]) == ["IFWI"]
    with pytest.raises(ValueError, match="unknown method"):
        paper.lookup("marmousi", "constant", "nope", "mse")


def test_method_names_match_crfwi_methods():
    from crfwi.methods.registry import METHODS

    assert {name: m.paper for name, m in METHODS.items()} == paper.METHOD_NAMES


@pytest.mark.skipif(not PAPER_MD.is_file(), reason="PAPER.md not available")
def test_every_value_matches_paper_md_as_printed():
    """Every transcribed value equals the text printed in PAPER.md §5, cell by cell."""
    printed = {}
    table = metric = header = None
    for line in PAPER_MD.read_text().splitlines():
        found = re.match(r"### Table (\d)", line)
        if found:
            table, metric, header = found.group(1), None, None
        found = re.match(r"\*\*(SSIM|MSE|MAE)", line)
        if found:
            metric = found.group(1).lower()
        if table not in ("1", "4", "5", "7") or not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("Method", "Model", "Column"):
            header = cells
            continue
        if header[0] == "Column":  # PAPER.md's own summary of winners, not the paper's
            continue
        for col, value in zip(header[1:], cells[1:]):
            printed[(table, metric if table in "45" else "", cells[0], col)] = value
    rows = paper.table_rows()
    assert len(rows) == 9 * 14 + 2 * 3 * 9 * 9 + 3 * 4 == len(printed)
    for table, _dataset, _column, _method, metric, value in rows:
        col, row = re.search(r"column '([^']+)', row '([^']+)'", value.source).groups()
        assert value.source.startswith(f"Table {table}")
        assert printed[(table, metric if table in "45" else "", row, col)] == value.text
        assert float(value.text) == value.value


# ----------------------------------------------------------------------------------------------
# A results folder: real tiny runs + hand-made summaries
# ----------------------------------------------------------------------------------------------
def _real_run(root: Path, key: str, **changes) -> Path:
    data = json.loads(json.dumps(TINY))
    for section, values in changes.items():
        data.setdefault(section, {}).update(values)
    run_inversion(config_from_dict(data), root / key, device="cpu", progress=False)
    return root / key


def _fake_run(root: Path, key: str, *, ssim, mse, mae, method=None, note="", seconds=0.5,
              peak=None, initial=None) -> Path:
    folder = root / key
    folder.mkdir(parents=True)
    name = method or key.split("/")[-1].rpartition("-seed")[0]
    metrics = {"ssim": ssim, "mse": mse, "mae": mae, "iterations": 10, "seconds": 10 * seconds,
               "seconds_per_iteration": seconds, "params": 1234, "method": name, "note": note,
               "initial": initial or {"ssim": 0.1, "mse": 1.5, "mae": 1.0}}
    if peak is not None:
        metrics["peak_memory_mib"] = peak
    (folder / "metrics.json").write_text(json.dumps(metrics))
    config = {"seed": 0, "note": note, "model": {"name": "no-such-model"},
              "survey": {"n_shots": 13, "freq": 4.0},
              "inversion": {"method": name, "iterations": 10, "shots_per_iteration": 2},
              "meta": {"device": "cpu", "crfwi_version": "0.1.0", "torch_version": "x",
                       "n_shots": 13}}
    (folder / "config.resolved.toml").write_text(tomli_w.dumps(config))
    (folder / "data.json").write_text(json.dumps({"n_shots": 13, "highpass_hz": 2.0}
                                                 if "lowcut4" in key else {"n_shots": 13}))
    (folder / "history.csv").write_text("iteration,loss,mse\n0,,1.5\n5,1.0,0.9\n10,0.5,%r\n" % mse)
    np.save(folder / "model.npy", np.full((4, 5), 2000.0, dtype=np.float32))
    return folder


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    _real_run(root, "custom/linear-clean/pixel-seed0")
    _real_run(root, "custom/linear-clean/ig-seed0", inversion={"method": "ig"})
    _real_run(root, "custom/constant-clean/pixel-seed0", initial={"kind": "constant"})
    m = "marmousi-cpu"
    for seed, mse in enumerate((0.1, 0.2, 0.3)):
        _fake_run(root, f"{m}/constant-clean/ig-seed{seed}", ssim=0.6, mse=mse, mae=0.3,
                  peak=512.0)
    _fake_run(root, f"{m}/constant-clean/pixel-seed0", ssim=0.2, mse=1.1, mae=0.9)
    _fake_run(root, f"{m}/constant-clean/siren-seed0", ssim=0.5, mse=0.9, mae=0.6)
    _fake_run(root, f"{m}/constant-clean/hashgrid-seed0", ssim=0.1, mse=2.0, mae=1.2)
    _fake_run(root, f"{m}/linear-lowcut4/ig-seed0", ssim=0.55, mse=0.25, mae=0.3)
    _fake_run(root, f"{m}/linear-odd/ig-seed0", ssim=0.5, mse=0.5, mae=0.5)  # not a paper column
    _fake_run(root, "salt-cpu/smooth-clean/ig-seed0", ssim=0.4, mse=0.3, mae=0.3,
              note="STAND-IN: procedural 'salt_body' model used instead")
    (root / f"{m}/smooth-clean/ig-seed0").mkdir(parents=True)  # incomplete: config only
    (root / f"{m}/smooth-clean/ig-seed0/config.resolved.toml").write_text("seed = 0\n")
    return root


def test_collect_and_aggregate(results):
    records = report.collect(results)
    keys = [r.key for r in records]
    assert len(records) == 12
    # the paper's order: dataset, initial model (smooth, linear, constant), scenario, method
    assert keys[:3] == ["marmousi-cpu/linear-lowcut4/ig-seed0", "marmousi-cpu/linear-odd/ig-seed0",
                        "marmousi-cpu/constant-clean/pixel-seed0"]
    r = next(r for r in records if r.key == "marmousi-cpu/constant-clean/ig-seed1")
    assert (r.dataset, r.scale, r.init, r.scenario, r.method, r.seed) == (
        "marmousi", "cpu", "constant", "clean", "ig", 1)
    assert r.seconds_per_epoch == pytest.approx(0.5 * 13 / 2)
    assert r.peak_memory_mib == 512.0
    custom = next(r for r in records if r.group == "custom")
    assert (custom.dataset, custom.scale) == ("custom", "")
    cells = report.aggregate(records)
    cell = cells[("marmousi-cpu", "constant", "clean", "ig")]
    mean, std, n = cell.stat("mse")
    assert (n, mean, std) == (3, pytest.approx(0.2), pytest.approx(0.1))
    assert cell.keys == [f"marmousi-cpu/constant-clean/ig-seed{s}" for s in range(3)]


def test_verify_recomputes_and_catches_tampering(results, tmp_path):
    result = report.verify(results, sample=100)
    real = [c for c in result["checked"] if c["key"].startswith("custom/")]
    assert len(real) == 3 and all(c["max_rel_diff"] <= 1e-9 for c in real)
    assert {s["key"] for s in result["skipped"]} == {r.key for r in report.collect(results)
                                                     if not r.key.startswith("custom/")}
    assert result["ok"]
    # a tampered copy
    copy = tmp_path / "tampered"
    shutil.copytree(results / "custom", copy / "custom")
    path = copy / "custom/linear-clean/ig-seed0/metrics.json"
    metrics = json.loads(path.read_text())
    metrics["mse"] *= 1.5
    path.write_text(json.dumps(metrics))
    result = report.verify(copy, sample=3, seed=1)
    assert not result["ok"]
    assert result["mismatches"] == ["custom/linear-clean/ig-seed0"]
    bad = next(c for c in result["checked"] if c["key"] == "custom/linear-clean/ig-seed0")
    assert bad["worst"] == "mse" and bad["max_rel_diff"] == pytest.approx(1 / 3, rel=1e-6)
    assert report.verify(copy, sample=0)["checked"] == []


def _row(text: str, table_heading: str, method_label: str) -> list[str]:
    part = text[text.index(table_heading):]
    line = next(line for line in part.splitlines() if line.startswith(f"| {method_label} "))
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_report_layout_numbers_and_traces(results, tmp_path):
    spectrum = tmp_path / "spectrum.json"
    spectrum.write_text(json.dumps({"methods": {
        "pixel": [{"iteration": 0, "eigenvalues": [1.0, 0.5, 0.1, 0.01]}],
        "ig": [{"iteration": 0, "eigenvalues": [1.0, 0.3, 0.2, 0.15]}]}}))
    out = tmp_path / "rep" / "report.md"
    path = report.write_report(results, out, ntk=spectrum, verify=50)
    text = path.read_text()
    assert text.startswith("# crfwi results report")
    assert f"crfwi report {results} --out {out} --ntk {spectrum} --verify 50" in text
    for heading in ("## Table 4", "## Table 5", "## Table 1", "## Other runs", "## Verification",
                    "## Analysis", "## Interpretation", "PLACEHOLDER", "## Runs",
                    "## Machine and software", "## Budget"):
        assert heading in text, heading
    # Table 4 MSE: ours mean ± std with n, the paper's number beside it, best bold, paper best †
    t4_mse = "## Table 4 — Marmousi, all metrics (`marmousi-cpu`)"
    header = _row(text, t4_mse, "Method")
    constant = header.index("Constant")
    ig = _row(text, "### MSE ↓", "IG-FWI (ig)")
    assert ig[constant] == "**0.2000 ± 0.1000, n=3** (0.2961)"
    lr = _row(text, "### MSE ↓", "LR-FWI (lowrank)")
    assert lr[constant] == "– (0.2893†)"
    pixel = _row(text, "### MSE ↓", "ADFWI (pixel)")
    assert pixel[constant] == "1.1000 (1.1522)"
    assert pixel[header.index("Smooth")] == "– (0.2132)"
    assert ig[header.index("4 Hz")] == "**0.2500** (0.1653†)"
    ssim = _row(text, "### SSIM ↑", "IG-FWI (ig)")
    assert ssim[constant] == "**0.6000 ± 0.0000, n=3** (0.6773†)"
    assert "low-cut below 2 Hz" in text
    # Table 5: salt stand-in marked, note shown
    assert "Salt-S‡" in text and "STAND-IN: procedural 'salt_body'" in text
    # Table 1 keeps its own values
    t1 = text[text.index("## Table 1"):]
    assert "(0.3338)" in _row(t1, "| Method", "MPE-FWI (hashgrid)")[5]
    # generic tables for datasets and scenarios outside the paper's
    other = text[text.index("## Other runs"):text.index("## Models")]
    assert "### `custom`" in other and "linear-clean" in other and "linear-odd" in other
    # every run folder is listed (with a relative link) in the appendix
    appendix = text[text.index("## Runs"):]
    for r in report.collect(results):
        assert f"[`{r.key}`](../" in appendix
    rows = {line.split("`")[1]: [c.strip() for c in line.strip().strip("|").split("|")]
            for line in appendix.splitlines() if line.startswith("| [`")}
    assert len(rows) == 12 and all(row[1] != "–" for row in rows.values())  # every run in a cell
    assert rows["marmousi-cpu/constant-clean/ig-seed1"][1] == (
        "Table 4 · Constant; Table 1 · Marm Constant; Table 7 · Marmousi; Table 1 · compute")
    assert rows["marmousi-cpu/linear-lowcut4/ig-seed0"][1].startswith("Table 4 · 4 Hz")
    assert rows["salt-cpu/smooth-clean/ig-seed0"][1] == "Table 5 · Salt-S‡; Table 1 · Salt Smooth‡"
    assert rows["custom/linear-clean/ig-seed0"][1] == "Other runs · linear-clean"
    assert "marmousi-cpu/smooth-clean/ig-seed0" in appendix  # incomplete, stated
    # figures: panels + convergence for the real runs, NTK; all cited files exist
    cited = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "figures/models_custom_linear-clean.png" in cited
    assert "figures/convergence_custom_linear-clean.png" in cited
    assert "figures/ntk_decay.png" in cited
    for rel in cited:
        assert (out.parent / rel).is_file(), rel
    assert "no panels — true model not rebuilt" in text  # the hand-made runs
    # verification stated, analysis computed
    assert "all agree" in text
    assert "IG-FWI is best or second" in text
    assert "MPE-FWI final MSE 2.0000" in text and "fewer than 3 seeds" in text
    assert "drop in the last quarter" in text  # the budget's convergence is stated, not assumed


def test_tail_drop_states_how_far_a_curve_still_falls():
    xs = [0, 20, 40, 60, 80, 100]
    assert report._tail_drop(xs, [4, 3, 2, 1.5, 1.0, 0.5]) == (1.0, 0.5, 0.5)  # from it 80 on
    assert report._tail_drop(xs, [4, 3, 2, 1, 1, 1])[2] == 0.0
    assert report._tail_drop([0, 100], [2.0, 1.0]) == (2.0, 1.0, 0.5)
    assert report._tail_drop([0], [1.0]) is None


def test_cli_wiring(results, tmp_path, capsys):
    import argparse

    from crfwi.cli import _Parser

    parser = _Parser(prog="crfwi")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    report.add_report_parser(sub)
    out = tmp_path / "r.md"
    shutil.copytree(results / "custom", tmp_path / "res" / "custom")
    args = parser.parse_args(["report", str(tmp_path / "res"), "--out", str(out),
                              "--verify", "0"])
    assert args.func(args) == 0
    assert out.is_file() and f"report: {out}" in capsys.readouterr().out
    assert "Not run (`--verify 0`)" in out.read_text()
    args = parser.parse_args(["report", str(tmp_path / "res"), "--out", str(out), "--verify", "0",
                              "--before", str(tmp_path / "res"), "--changed-methods", "pixel,ig",
                              "--ablations", str(tmp_path / "none-yet")])
    assert args.func(args) == 0
    text = out.read_text()
    assert "--changed-methods pixel,ig" in text and "(pixel, ig)" in text
    assert "No ablation runs yet." in text
    args = parser.parse_args(["report", str(tmp_path / "missing")])
    with pytest.raises(ValueError, match="results folder not found"):
        args.func(args)
    args = parser.parse_args(["report", str(results), "--ntk", str(tmp_path / "none.json")])
    with pytest.raises(ValueError, match="not found"):
        args.func(args)
    assert isinstance(parser, argparse.ArgumentParser)


def test_notes_replace_the_placeholder(results, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("IG-FWI trails IFWI here because of the short budget.\n")
    path = report.write_report(results, tmp_path / "r.md", verify=0, notes=notes)
    text = path.read_text()
    assert "IG-FWI trails IFWI here" in text and "PLACEHOLDER" not in text
    assert f"--verify 0 --notes {notes}`" in text  # the regenerate command names the notes
    with pytest.raises(ValueError, match="--notes 'missing.md' not found"):
        report.write_report(results, tmp_path / "r2.md", verify=0, notes="missing.md")


# ----------------------------------------------------------------------------------------------
# Issue 11: before/after, Table 7, ablations, MSE/MAE as the evidence
# ----------------------------------------------------------------------------------------------
def _section(text: str, heading: str) -> str:
    part = text[text.index(heading):]
    end = part.find("\n## ", 1)
    return part if end < 0 else part[:end]


def _table_row(section: str, *first_cells: str) -> list[str]:
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[:len(first_cells)] == list(first_cells):
            return cells
    raise AssertionError(f"no row {first_cells}")


def test_before_table_shows_changed_and_stale_cells(tmp_path):
    before, now = tmp_path / "before", tmp_path / "now"
    m = "marmousi-cpu"
    for root, mse in ((before, 0.5), (now, 0.25)):
        _fake_run(root, f"{m}/constant-clean/ig-seed0", ssim=0.4, mse=mse, mae=0.4)
        _fake_run(root, f"{m}/constant-clean/pixel-seed0", ssim=0.2, mse=1.1, mae=0.9)  # a copy
    _fake_run(before, f"{m}/constant-clean/ig-seed1", ssim=0.4, mse=0.5, mae=0.4)  # 2 seeds
    _fake_run(before, f"{m}/smooth-clean/lowrank-seed0", ssim=0.6, mse=0.2, mae=0.3)
    # a method that did not change, but its initial model did (BP's smooth start)
    _fake_run(before, "bp2004-cpu/smooth-clean/pixel-seed0", ssim=0.5, mse=0.3, mae=0.3)
    _fake_run(now, "bp2004-cpu/smooth-clean/pixel-seed0", ssim=0.5, mse=0.2, mae=0.3,
              initial={"ssim": 0.3, "mse": 0.9, "mae": 0.7})
    text = report.write_report(now, tmp_path / "r.md", verify=0, before=before).read_text()
    assert f"--before {before}" in text
    part = _section(text, "## Before and after issue 11's fixes")
    assert "What changed: " in part
    ig = _table_row(part, m, "constant", "clean", "IG-FWI (ig)")
    assert ig[4:10] == ["2 → 1", "0.5000 → 0.2500", "-50.0 %", "0.4000 → 0.4000", "0.4000 → 0.4000",
                        "method changed"]
    stale = _table_row(part, m, "smooth", "clean", "LR-FWI (lowrank)")
    assert stale[4:7] == ["1 → 0", "0.2000 → not re-run yet", "–"]
    assert stale[-1] == "not re-run yet"
    bp = _table_row(part, "bp2004-cpu", "smooth", "clean", "ADFWI (pixel)")
    assert bp[-1] == "initial model changed" and bp[5] == "0.3000 → 0.2000"
    assert f"| {m} | constant | clean | ADFWI (pixel)" not in part  # unchanged: not listed
    assert "1 of 3 cells listed are not re-run yet" in part
    assert "1 re-run with fewer seeds so far than before" in part
    # the list of changed methods is a parameter
    text = report.write_report(now, tmp_path / "r2.md", verify=0, before=before,
                               changed_methods=["lowrank"]).read_text()
    assert "IG-FWI (ig)" not in _section(text, "## Before and after")
    with pytest.raises(ValueError, match="--before"):
        report.write_report(now, tmp_path / "r3.md", verify=0, before=tmp_path / "none")


def test_change_sentence_from_the_changelog(tmp_path):
    from crfwi.report.sections.before_after import GENERIC_CHANGE, change_sentence

    log = tmp_path / "CHANGELOG.md"
    log.write_text("# Changelog\n\n## [Unreleased]\n\n### Fixed\n- Other fix.\n"
                   "- Issue 11: centred starts and bounded velocities. More detail\n  here.\n\n"
                   "## [0.1.0]\n- issue 11 in an old release.\n")
    assert change_sentence(log) == "Issue 11: centred starts and bounded velocities."
    log.write_text("## [Unreleased]\n\n### Changed (issue 11: as the paper means it)\n"
                   "- **Bounds no longer freeze cells.** Straight-through.\n"
                   "- **MS-FWI** uses the paper's bands, scaled (cpu).\n"
                   "- A bullet without a lead.\n\n### Added\n- **Other.** Not this.\n")
    assert change_sentence(log) == ("issue 11: as the paper means it — bounds no longer freeze "
                                    "cells; MS-FWI uses the paper's bands "
                                    "(CHANGELOG, Unreleased).")
    log.write_text("## [Unreleased]\n- Something else.\n## [0.1.0]\n- issue 11 old.\n")
    assert change_sentence(log) == GENERIC_CHANGE
    assert change_sentence(tmp_path / "missing.md") == GENERIC_CHANGE


def test_table7_ours_beside_the_papers(tmp_path):
    root = tmp_path / "res"
    m = "marmousi-cpu"
    _fake_run(root, f"{m}/constant-clean/lrg-seed0", ssim=0.5, mse=0.3, mae=0.4)
    _fake_run(root, f"{m}/constant-clean/ig-seed0", ssim=0.5, mse=0.35, mae=0.45)
    _fake_run(root, "salt-cpu/constant-clean/ig-seed0", ssim=0.4, mse=0.5, mae=0.5,
              note="STAND-IN: procedural 'salt_body' model used instead")
    text = report.write_report(root, tmp_path / "r.md", verify=0).read_text()
    part = _section(text, "## Table 7")
    header = _table_row(part, "Method")
    assert header == ["Method", "Marmousi", "Overthrust", "Salt body‡"]
    lrg = _table_row(part, "LRG-FWI (lrg)")
    assert lrg[1:] == ["**0.3000** (0.1995†)", "– (0.1354†)", "– (0.2179)"]
    assert _table_row(part, "IG-FWI (ig)")[1] == "0.3500 (0.2961)"
    assert _table_row(part, "MPE-FWI (hashgrid)")[1] == "– (2.2266)"
    assert "STAND-IN: procedural 'salt_body'" in part
    appendix = _section(text, "## Runs")
    assert "Table 7 · Marmousi" in _table_row(appendix,
                                              f"[`{m}/constant-clean/lrg-seed0`](res/{m}/"
                                              "constant-clean/lrg-seed0)")[1]


def test_ablation_table_pairs_each_run_with_its_main_run(tmp_path):
    root, abl = tmp_path / "paper", tmp_path / "ablations"
    m = "marmousi-cpu"
    _fake_run(root, f"{m}/constant-clean/ig-seed0", ssim=0.5, mse=0.3, mae=0.4)
    _fake_run(root, f"{m}/constant-clean/ig-seed1", ssim=0.5, mse=0.9, mae=0.9)
    _fake_run(abl, f"{m}/constant-literal-grid/ig-seed0", ssim=0.45, mse=0.5, mae=0.45)
    _fake_run(abl, f"{m}/constant-constant-mean/siren-seed0", ssim=0.6, mse=0.2, mae=0.3)
    text = report.write_report(root, tmp_path / "r.md", verify=0, ablations=abl).read_text()
    part = _section(text, "## Ablations")
    row = _table_row(part, "`literal-grid`", m, "constant", "IG-FWI (ig)", "0")
    assert row[5:] == ["0.5000 / 0.3000", "+0.2000", "0.4500 / 0.4000", "+0.0500",
                       "0.4500 / 0.5000", "-0.0500"]
    row = _table_row(part, "`constant-mean`", m, "constant", "IFWI (siren)", "0")
    assert row[5:7] == ["0.2000 / –", "–"]
    assert "`literal-grid`: IG-FWI with Instant-NGP's U(±1e-4) tables" in part
    assert "`raw-start`" not in part  # only the scenarios run are explained
    # a folder the sweep has not created yet: the section says so
    text = report.write_report(root, tmp_path / "r2.md", verify=0,
                               ablations=tmp_path / "later").read_text()
    assert "No ablation runs yet." in text


def test_claims_use_mse_and_mae_and_state_the_measured_constant_ssim(tmp_path):
    root = tmp_path / "res"
    m = "marmousi-cpu"
    for method, mse, mae, ssim in (("pixel", 1.1, 0.9, 0.6), ("siren", 0.9, 1.0, 0.2),
                                   ("hashgrid", 2.0, 1.2, 0.3)):
        _fake_run(root, f"{m}/constant-clean/{method}-seed0", ssim=ssim, mse=mse, mae=mae,
                  initial={"ssim": 0.42, "mse": 2.7, "mae": 1.4})
    _fake_run(root, "bp2004-cpu/constant-clean/pixel-seed0", ssim=0.3, mse=1.0, mae=0.8,
              initial={"ssim": 0.54, "mse": 4.9, "mae": 2.0})
    text = report.write_report(root, tmp_path / "r.md", verify=0).read_text()
    analysis = _section(text, "## Analysis")
    assert ("Claims are checked on MSE/MAE; the ADFWI SSIM convention scores a constant model "
            "0.42–0.54") in analysis
    assert "so SSIM is shown but not used as evidence." in analysis
    # the paper's constant-start finals below 0.42: 5 of 9 per dataset, and Salt's IFWI 0.4189
    assert "above 21 of the paper's 36 constant-start final SSIMs" in analysis
    best = _table_row(analysis, m, "Constant")
    assert best[3:5] == ["IFWI", "ADFWI"]  # best by MSE, by MAE (SSIM shown last)
    assert best[-1] == "ADFWI"
    claim = _table_row(analysis, m, "IFWI")
    assert claim[5] == "yes" and claim[8:] == ["1.0000 / 0.9000", "no", "0.2000 / 0.6000"]
    assert "MAE 1.2000 (initial 1.4000, final / initial = 0.86)" in analysis
    assert "SSIM 0.3000 (initial 0.4200), shown, not evidence" in analysis


def _set_bound(folder: Path, bound: str) -> None:
    import tomllib

    path = folder / "config.resolved.toml"
    config = tomllib.loads(path.read_text())
    config["inversion"]["bound_gradient"] = bound
    path.write_text(tomli_w.dumps(config))


def test_bounds_section_names_cells_off_the_default_and_the_reruns(tmp_path):
    before, now = tmp_path / "before", tmp_path / "now"
    m = "marmousi-cpu"
    _set_bound(_fake_run(before, f"{m}/constant-clean/lowrank-seed0", ssim=0.3, mse=4.0, mae=1.0),
               "straight-through")
    _set_bound(_fake_run(now, f"{m}/constant-clean/lowrank-seed0", ssim=0.4, mse=0.4, mae=0.5), "inward")
    _set_bound(_fake_run(now, f"{m}/smooth-clean/siren-seed0", ssim=0.5, mse=0.1, mae=0.2),
               "straight-through")
    _fake_run(now, f"{m}/smooth-clean/pixel-seed0", ssim=0.5, mse=0.1, mae=0.2)  # never takes it
    text = report.write_report(now, tmp_path / "r.md", verify=0, bound_before=before).read_text()
    part = _section(text, "## The bound's derivative in these tables")
    assert "Network runs here: 1 `inward`, 1 `straight-through`." in part
    assert f"`{m}/smooth-clean/siren-seed0`" in part and "pixel-seed0" not in part
    row = _table_row(part, m, "constant", "clean", "LR-FWI (lowrank)")
    assert row[4:7] == ["straight-through → inward", "4.0000 → 0.4000", "-90.0 %"]
    assert f"--bound-before {before}" in text
    with pytest.raises(ValueError, match="--bound-before"):
        report.write_report(now, tmp_path / "r2.md", verify=0, bound_before=tmp_path / "none")


def _set_noise(folder: Path, noise: float) -> None:
    import tomllib

    path = folder / "config.resolved.toml"
    config = tomllib.loads(path.read_text())
    config["data"] = {"noise": noise}
    path.write_text(tomli_w.dumps(config))


def _openfwi_run(root: Path, key: str, *, budget_mse: float, final_mse: float) -> Path:
    """A fake 300-iteration OpenFWI run whose history has a metrics row every 20 iterations:
    ``budget_mse`` at its method's Table 2 budget, ``final_mse`` at the end."""
    method = key.split("/")[-1].rpartition("-seed")[0]
    folder = _fake_run(root, key, ssim=0.5, mse=final_mse, mae=0.1,
                       initial={"ssim": 0.7, "mse": 0.03, "mae": 0.1})
    rows = ["iteration,loss,ssim,mse", "0,,0.7,0.03"]
    for it in range(20, 301, 20):
        mse = budget_mse if it == table2_section.BUDGET[method] else (
            final_mse if it == 300 else 0.9)
        rows.append(f"{it},1.0,{0.8 if mse == budget_mse else 0.5},{mse!r}")
    (folder / "history.csv").write_text("\n".join(rows) + "\n")
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps({**metrics, "iterations": 300}))
    _set_noise(folder, 1.0)
    return folder


def test_table2_budget_rule_gives_the_budgets_used():
    """Table 2's budgets are the rule applied to the committed calibration runs."""
    path = (Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "openfwi-calibration"
            / "flatvel_a-1-noise4-budget.json")
    runs = {r["settings"][0].partition("=")[2]: r for r in json.loads(path.read_text())["runs"]}
    for method, budget in table2_section.BUDGET.items():
        along = {int(k): v for k, v in runs[method]["along"]["mse"].items()}
        assert table2_section.chosen_budget(along) == budget, method
    assert table2_section.chosen_budget({0: 1.0, 10: 0.1, 20: 0.5, 40: 0.4}) == 40
    with pytest.raises(ValueError, match="multiple of 20"):
        table2_section.chosen_budget({0: 1.0, 10: 0.5})


def test_table2_groups_the_maps_of_each_family(tmp_path):
    root = tmp_path / "runs"
    for k, mse in ((0, 0.010), (33, 0.020)):
        _openfwi_run(root, f"openfwi-cpu/smooth-flatvel_a-{k}/ig-seed0", budget_mse=mse,
                     final_mse=0.04)
        _openfwi_run(root, f"openfwi-cpu/smooth-flatvel_a-{k}/pixel-seed0", budget_mse=0.025,
                     final_mse=0.05)
    _openfwi_run(root, "openfwi-cpu/smooth-curvevel_a-0/ig-seed0", budget_mse=0.05,
                 final_mse=0.06)
    text = report.write_report(root, tmp_path / "r.md", verify=0).read_text()
    part = _section(text, "## Table 2")
    header = next(line for line in part.splitlines() if line.startswith("| method"))
    assert "FlatVel" in header and "CurveVel" in header and "FlatFault" not in header
    ig = _table_row(part, "IG-FWI (ig)")
    # ×10³ at IG-FWI's budget: mean of 10 and 20, the paper's beside it
    assert ig[1:3] == ["180", "15 ± 7.1 (n=2) (6.94)"]
    assert _table_row(part, "ADFWI (pixel)")[1:3] == ["120", "25 ± 0 (n=2) (21.3)"]
    assert _table_row(part, "initial model")[2] == "30 (–)"
    # SSIM at the budget, then the end of the runs (MSE, SSIM)
    ends = [_table_row(line, "IG-FWI (ig)") for line in part.split("\n\n") if "| IG-FWI" in line]
    assert [row[1] for row in ends] == ["180", "180", "300", "300"]
    assert ends[1][2] == "0.8 ± 0 (n=2)" and ends[2][2] == "40 ± 0 (n=2)"
    assert ends[3][2] == "0.5 ± 0 (n=2)"
    assert "Not run: FlatFault, CurveFault, Style" in part
    assert "## Other runs" not in text  # every OpenFWI cell is placed in Table 2
    assert "not shown: pass `--inversionnet" in part
    def entry(mse, trivial):
        return {"network": {"n": 3, "mse": {"mean": mse, "std": 0.1}},
                "mean_map": {"n": 3, "mse": {"mean": trivial, "std": 0.1}}}

    summary = {"openfwi/flatvel_a": {"k=1": entry(0.5, 0.6), "k=0": entry(0.9, 0.6)},
               "procedural-val/flatvel": {"k=1": entry(0.1, 0.4)},
               "_about": {"training_noise_k": [1.0, 1.0], "epoch": 7}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    text = report.write_report(root, tmp_path / "r2.md", verify=0,
                               inversionnet=tmp_path / "summary.json").read_text()
    row = _table_row(_section(text, "## Table 2"), "InversionNet-style (data-driven, trained here)")
    assert row[2] == "500 ± 1e+02 (n=3) (36.78)"  # at the runs' noise level (k = 1 here)
    part = _section(text, "## Table 2")
    assert "trained at k = 1–1, checkpoint of epoch 7" in part
    # held-out procedural beside real maps of the same family, the mean map's in brackets
    assert _table_row(part, "FlatVel", "k=1")[2:4] == ["100 ± 1e+02 [400] (n=3)",
                                                        "500 ± 1e+02 [600] (n=3)"]
    assert _table_row(part, "FlatVel", "k=0")[2:4] == ["–", "900 ± 1e+02 [600] (n=3)"]


def test_table6_sets_the_3d_runs_beside_the_papers(tmp_path):
    import tomllib

    root = tmp_path / "runs"
    for method, nmse in (("ig", 0.20), ("pixel", 0.30)):
        folder = _fake_run(root, f"overthrust3d-cpu/smooth-clean/{method}-seed0", ssim=0.5,
                           mse=0.1, mae=0.2, peak=2048.0,
                           initial={"ssim": 0.4, "mse": 0.2, "mae": 0.3, "nmse": 0.45})
        metrics = json.loads((folder / "metrics.json").read_text())
        (folder / "metrics.json").write_text(json.dumps({**metrics, "nmse": nmse}))
        assert tomllib.loads((folder / "config.resolved.toml").read_text())
    text = report.write_report(root, tmp_path / "r.md", verify=0).read_text()
    part = _section(text, "## Table 6")
    assert _table_row(part, "IG-FWI (ig)")[1:5] == ["0.2000 (0.1151)", "0.5000 (0.5729)",
                                                    "2.00 (22.84)", "0.50 (14.61)"]
    assert _table_row(part, "LR-FWI (lowrank)")[1] == "– (0.0968)"  # not run: the paper's only
    assert _table_row(part, "initial model")[1:3] == ["0.4500 (–)", "0.4000 (–)"]
    # the budget says what an iteration is: 2 random shots of 13, 0.5 s -> 3.25 s a pass
    assert ("Our budget: 10 iterations of 2 random shot(s) of the 13, i.e. 1.54 passes over the "
            "shots (3.25 s a pass).") in part


def test_chevron_section_reads_the_field_benchmark_summary(tmp_path):
    root = tmp_path / "runs"
    _fake_run(root, "marmousi-cpu/smooth-clean/pixel-seed0", ssim=0.5, mse=0.1, mae=0.2)
    text = report.write_report(root, tmp_path / "r.md", verify=0, chevron=tmp_path / "chev").read_text()
    assert "Not run yet: `python benchmarks/chevron_like.py" in _section(text, "## Chevron")
    (tmp_path / "chev").mkdir()
    run = {"method": "ig", "paper_method": "IG-FWI", "iterations": 500, "wavelet": "estimate",
           "data_misfit_relative": {"initial": 1.27, "final": 0.61},
           "well_rms": {"initial": 383.0, "final": 250.0},
           "well_rms_paper_window": {"initial": 413.0, "final": 335.0},
           "truth": {"initial": {"mse": 0.17, "mae": 0.3, "ssim": 0.52},
                     "final": {"mse": 0.09, "mae": 0.2, "ssim": 0.6}}}
    made = {"model": {"file": "marmousi2"}, "acquisition": {"shots": 17, "channels": 105},
            "wavelet": {"peak_hz": 2.76}, "noise": {"k": 0.1}, "energy_below_f_low": {},
            "initial_1d": {}}
    (tmp_path / "chev" / "summary.json").write_text(json.dumps({"scale": "cpu", "make_data": made,
                                                                "runs": [run]}))
    text = report.write_report(root, tmp_path / "r.md", verify=0, chevron=tmp_path / "chev").read_text()
    row = _table_row(_section(text, "## Chevron"), "IG-FWI (ig)")
    assert row[1:7] == ["estimate", "500", "1.270 → 0.610", "383 → 250", "413 → 335",
                        "0.1700 → 0.0900"]
    assert row[7] == row[8] == row[10] == "–"  # summarised before the truth was scored on
    # the way, before the well's stop and before the depth bands were recorded
    run["mse_by_depth"] = {"initial": {"2250-inf": 0.276}, "final": {"2250-inf": 0.25}}
    run["lowest_mse_on_the_way"] = {"mse": 0.0812, "iteration": 130}
    run["stopped_at_the_well"] = {"iteration": 90, "well_rms": 240.0, "mse": 0.0850, "ssim": 0.61}
    (tmp_path / "chev" / "summary.json").write_text(json.dumps({"scale": "cpu", "make_data": made,
                                                                "runs": [run]}))
    text = report.write_report(root, tmp_path / "r.md", verify=0, chevron=tmp_path / "chev").read_text()
    row = _table_row(_section(text, "## Chevron"), "IG-FWI (ig)")
    assert row[7] == "0.0812 (it. 130)" and row[10] == "0.2760 → 0.2500"
    assert row[8] == "0.0850, SSIM 0.610 (it. 90)"
    # a run that kept its best-well model: the kept file's own scores, with its MAE
    run["truth"]["best_well"] = {"mse": 0.0850, "mae": 0.19, "ssim": 0.61}
    (tmp_path / "chev" / "summary.json").write_text(json.dumps({"scale": "cpu", "make_data": made,
                                                                "runs": [run]}))
    text = report.write_report(root, tmp_path / "r.md", verify=0, chevron=tmp_path / "chev").read_text()
    row = _table_row(_section(text, "## Chevron"), "IG-FWI (ig)")
    assert row[8] == "0.0850, MAE 0.1900, SSIM 0.610 (it. 90)"
