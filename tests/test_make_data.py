"""crfwi make-data (issue 13, the Chevron-2014-style benchmark) at toy size: a 30 x 60 window of
Marmousi2 at the cpu scale's 30 m, 3 shots of 13 channels, 251 samples (3 s at 12 ms).

What is checked: the SEG-Y and its geometry, the wavelet (not a Ricker, little energy below
f_low), the rock-physics relations and the fluid water, the free surface's place, the source
calibration, the 1-D initial model as crfwi builds it, reproducibility, a field run that lowers
the misfit, and one-line refusals of bad inputs.
"""

from __future__ import annotations

import csv
import json
import re
import warnings

import numpy as np
import pytest
import torch

from crfwi.cli import main
from crfwi.field import make_data as md
from crfwi.field.segy import read_segy
from crfwi.physics.geometry import ricker
from test_examples import shared_models

TOY = dict(window=(900.0, 1770.0), x0=9000.0, max_offset=1200.0, shot_spacing=150.0,
           edge_margin=90.0, well_x=9900.0, record_length=3.0)


def _data_dir():
    data = shared_models()
    if data is None:
        pytest.skip("benchmark models not found: set CRFWI_DATA_DIR to a folder with models.json")
    return data


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """(folder, spec, record) of the toy line, made once."""
    folder = tmp_path_factory.mktemp("line")
    spec = md.spec_for("cpu", **TOY)
    return folder, spec, md.make_data(folder, spec, data_dir=_data_dir(), device="cpu")


def test_toy_size(line):
    _, spec, record = line
    assert record["model"]["grid"][:2] == [30, 60] and spec.nt == 251
    assert record["acquisition"]["shots"] == 3 and record["acquisition"]["channels"] == 13


def test_segy_geometry_round_trips(line):
    folder, spec, record = line
    field = read_segy(folder / "data.sgy")
    sx, rx = md.streamer(spec, 1770.0)
    assert field.n_shots == 3 and list(field.receivers_per_shot) == [13] * 3
    assert field.dt == pytest.approx(spec.dt) and field.nt == spec.nt and field.t0 == 0.0
    np.testing.assert_allclose(field.source_inline, spec.x0 + sx)
    np.testing.assert_allclose(field.receiver_inline, (spec.x0 + rx).ravel())
    np.testing.assert_allclose(field.source_depth, 75.0)
    np.testing.assert_allclose(field.receiver_depth, 75.0)
    np.testing.assert_allclose(field.offset, (rx - sx[:, None]).ravel())  # one side: -300..-1200 m
    assert field.offset.max() == -300.0 and field.offset.min() == -1200.0
    assert np.isfinite(field.traces).all() and field.live.all()
    assert record["elastic_run"]["receivers"] == "hicks"  # channels at 75 m: every other off-node


def test_wavelet_is_not_a_ricker_and_is_minimum_phase_like(line):
    folder, spec, record = line
    w = np.load(folder / "wavelet.npy") / record["wavelet"]["file_scaled_by"]
    assert record["wavelet"]["file_scaled_by"] == pytest.approx((30.0 / 75.0) ** 2)
    best = 0.0
    for f in np.linspace(0.3, 16.0, 60):  # any Ricker, any delay, either polarity
        r = ricker(f, len(w), spec.dt, delay=0.0).numpy()
        c = np.correlate(np.pad(w, (len(w), len(w))), r, "valid")
        best = max(best, np.abs(c).max() / np.linalg.norm(w) / np.linalg.norm(r))
    assert best < 0.9, best  # measured 0.86
    # causal, front-loaded: starts at t = 0, half its energy within one period of its peak
    energy = np.cumsum(w ** 2) / np.sum(w ** 2)
    assert w[0] != 0 and energy[int(1 / record["wavelet"]["peak_hz"] / spec.dt)] >= 0.45


def test_little_energy_below_f_low(line):
    folder, spec, record = line
    data = read_segy(folder / "data.sgy").traces
    share = md.energy_below(data, spec.dt, spec.f_low)
    assert share == pytest.approx(record["energy_below_f_low"]["recorded"], rel=1e-3)
    assert share < 0.02  # measured 0.8 % on this toy, 0.35 % at cpu scale
    # the source's low cut: below f_low / 2 its spectrum stays 30 dB under its peak, where a
    # Ricker of the same peak frequency reaches -21 dB (measured -37 dB)
    w = np.load(folder / "wavelet.npy")
    f = np.fft.rfftfreq(8192, spec.dt)
    for trace in (w, ricker(record["wavelet"]["peak_hz"], spec.nt, spec.dt).numpy()):
        level = np.abs(np.fft.rfft(trace, 8192))
        level = 20 * np.log10(level[f <= spec.f_low / 2].max() / level.max())
        assert (level < -30) == (trace is w), level


def test_rock_physics_relations():
    vp = np.array([[1500.0, 1500.0], [1600.0, 3000.0], [1500.0, 4500.0]])
    water = np.array([[True, True], [False, False], [False, False]])
    vs, rho, record = md.elastic_parameters(vp, water, vs_min=540.0)
    np.testing.assert_allclose(vs[0], 0.0)
    np.testing.assert_allclose(rho[0], 1000.0)
    np.testing.assert_allclose(vs[1], [540.0, 0.8621 * 3000 - 1172], rtol=1e-6)  # floor, Castagna
    np.testing.assert_allclose(rho[1], 310.0 * vp[1] ** 0.25, rtol=1e-6)  # Gardner
    np.testing.assert_allclose(vs[2], [540.0, 0.8621 * 4500 - 1172], rtol=1e-6)
    assert record["rock_cells_raised_to_vs_min"] == 0.5
    capped, _, record = md.elastic_parameters(np.array([[1500.0]]), np.array([[False]]), 1200.0)
    assert capped[0, 0] == pytest.approx(0.7 * 1500.0) and record["rock_cells_capped"] == 1.0


def test_model_relations_and_fluid_water(line):
    folder, spec, record = line
    m = np.load(folder / "elastic_model.npz")
    vp, vs, rho, water = m["vp"], m["vs"], m["rho"], m["water"]
    depth = 15.0 + 30.0 * np.arange(vp.shape[0])
    np.testing.assert_array_equal(water, np.repeat((depth < 450.0)[:, None], vp.shape[1], 1))
    assert (vp[water] == 1500.0).all() and (vs[water] == 0).all() and (rho[water] == 1000).all()
    rock = ~water
    expected = np.minimum(np.maximum(0.8621 * vp[rock] - 1172.0, 540.0), 0.7 * vp[rock])
    np.testing.assert_allclose(vs[rock], expected, rtol=1e-5)
    np.testing.assert_allclose(rho[rock], 310.0 * vp[rock].astype(float) ** 0.25, rtol=1e-5)
    assert record["model"]["vs_min"] == 3 * 30.0 * 1.5 * 4.0


def test_source_matches_the_acoustic_wavelet(line):
    """wavelet.npy in deepwave.scalar = the elastic source in water (PML all round)."""
    assert line[2]["wavelet"]["calibration_rel_error"] < 0.01  # measured 0.1 %


def test_free_surface_lies_half_a_cell_above_the_first_water_row(line):
    """Elastic pressure in water under the vacuum surface, sources 2.5 cells below the first
    fluid row's top, matches deepwave.scalar with a "free" face (whose zero plane is one cell
    above row 0) on a grid of half the spacing at that depth, and not half a cell off it."""
    import deepwave

    spec = md.spec_for("cpu", **TOY)
    h, n = spec.spacing, 30
    ones = np.ones((n, 2 * n), np.float32)
    w = md.airgun_wavelet(spec.dt, spec.nt, spec.f_low, spec.f_high, spec.bubble_period)
    p, facts = md._simulate(1500 * ones, 0 * ones, 1000 * ones, spec, np.array([20 * h]),
                            np.array([[30 * h, 40 * h]]), w, 1500.0, "cpu")
    errors = {}
    for fine_row in (3, 4, 5):  # depth (row + 1) h/2: 2, 2.5, 3 cells
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = deepwave.scalar(torch.full((2 * n, 4 * n), 1500.0), h / 2, spec.dt, accuracy=8,
                                source_amplitudes=torch.tensor(w, dtype=torch.float32)[None, None],
                                source_locations=torch.tensor([[[fine_row, 40]]]),
                                receiver_locations=torch.tensor([[[fine_row, 60], [fine_row, 80]]]),
                                pml_width=[0, 40, 40, 40], boundary=["free", "pml", "pml", "pml"],
                                pml_freq=facts["pml_freq"]).receiver_amplitudes.double().numpy()
        q *= 4.0  # deepwave injects per cell: half the spacing, a quarter of the source strength
        errors[fine_row] = np.linalg.norm(p - q) / np.linalg.norm(q)
    assert errors[4] < 0.05 and errors[4] < 0.5 * min(errors[3], errors[5]), errors


def test_well_initial_model_and_config(line, tmp_path, monkeypatch):
    """well.csv is the model's column; initial_1d.csv is what field.toml's linear m0 with its
    water layer builds; a 3-iteration field run lowers the data misfit; scoring works."""
    folder, spec, record = line
    well = np.loadtxt(folder / "well.csv", delimiter=",", skiprows=1)
    vp = np.load(folder / "elastic_model.npz")["vp"]
    np.testing.assert_allclose(well[:, 1], vp[:, int((spec.well_x - spec.x0) / 30.0)], atol=0.01)
    table = np.loadtxt(folder / "initial_1d.csv", delimiter=",", skiprows=1)
    monkeypatch.chdir(folder)
    out = tmp_path / "run"
    code = main(["invert", "field.toml", "--iterations", "3", "--out", str(out), "--quiet",
                 "--set", "output.figures=false", "--device", "cpu"])
    assert code == 0
    # the table is water above the seabed and one straight line below it ...
    seabed = record["initial_1d"]["water_above_m"]
    wet = table[:, 0] < seabed
    assert seabed == 450.0 and (table[wet, 1] == 1500.0).all()
    line_fit = np.polyfit(table[~wet, 0], table[~wet, 1], 1)
    np.testing.assert_allclose(np.polyval(line_fit, table[~wet, 0]), table[~wet, 1], atol=0.01)
    # ... and the run's m0 is that rule at its rows (75 m, 150 m, ...)
    m0 = np.load(out / "initial.npy")
    depths = 75.0 * (1 + np.arange(m0.shape[0]))
    rule = np.where(depths < seabed, 1500.0, np.polyval(line_fit, depths))
    np.testing.assert_allclose(m0[:, 0], rule, atol=0.1)
    assert (m0 == m0[:, :1]).all()  # 1-D
    qc = json.loads((out / "qc.json").read_text())
    before, after = qc["data_fit_initial"]["total_relative"], qc["data_fit_final"]["total_relative"]
    assert after < before, (before, after)  # measured 0.849 -> 0.799
    data = json.loads((out / "data.json").read_text())
    assert data["mapping_error_m"]["sources"]["max"] == 0.0  # depth and x on the grid's nodes
    assert data["mapping_error_m"]["receivers"]["max"] == 0.0
    scores = md.score_against_truth(out, folder / "truth_vp.npy")
    # field.toml keeps the model of the best well fit; it is scored beside the end point
    assert set(scores) == {"initial", "final", "best_well"} and 0 < scores["final"]["mse"] < 1
    # ... written as SEG-Y too, and the QC's well comparison of it is the history's best row
    best = json.loads((out / "metrics.json").read_text())["best_well"]
    assert (out / "best_well_model.segy").is_file()
    assert qc["well_best"]["rms_final"] == pytest.approx(best["well_rms"], rel=1e-9)


def test_reproducible_with_a_seed(line, tmp_path):
    folder, spec, record = line
    again = md.make_data(tmp_path / "a", spec, data_dir=_data_dir(), device="cpu")
    other = md.make_data(tmp_path / "b", md.spec_for("cpu", **TOY, seed=1), data_dir=_data_dir(),
                         device="cpu")
    first = read_segy(folder / "data.sgy").traces
    np.testing.assert_array_equal(read_segy(tmp_path / "a" / "data.sgy").traces, first)
    noise = read_segy(tmp_path / "b" / "data.sgy").traces - first
    assert np.abs(noise).max() > 0
    # the difference of two noise draws: sqrt(2) x the stated noise level
    assert noise.std() == pytest.approx(np.sqrt(2) * record["noise"]["noise_std"], rel=0.05)
    assert again["noise"] == record["noise"] and other["noise"]["seed"] == 1


@pytest.mark.parametrize("changes, message", [
    (dict(noise=-1.0), "noise must be >= 0"),
    (dict(record_length=0.0), "record_length must be a positive number"),
    (dict(seed=-2), "seed must be an integer"),
    (dict(shot_spacing=100.0), "not a multiple of spacing"),
    (dict(inversion_spacing=60.0), "must be (k + 1/2) x spacing"),
    (dict(f_high=50.0), "need f_low < f_high"),
    (dict(colour="red"), "unknown parameter"),
])
def test_bad_specs_refused(changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        md.spec_for("cpu", **changes)


def test_bad_inputs_refused_in_one_line(line, tmp_path, capsys):
    folder, spec, _ = line
    cases = [["make-data", str(folder)],  # not empty
             ["make-data", str(tmp_path / "x"), "--noise", "-1"],
             ["make-data", str(tmp_path / "x"), "--scale", "huge"],
             ["make-data", str(tmp_path / "x"), "--shots", "1000"]]
    for argv in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("crfwi: error:") and "\n" not in err, err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="no shot fits"):
        md.streamer(md.spec_for("cpu", **{**TOY, "max_offset": 3000.0}), 1770.0)
    with pytest.raises(ValueError, match="unknown scale"):
        md.spec_for("gpu")


def test_a_regenerated_line_keeps_its_earlier_summary_rows():
    """make-data regenerated elsewhere differs by float32 noise, not by data: the committed
    summary's rows stay; a different acquisition replaces them."""
    from test_benchmarks import load

    same = load("chevron_like")._same
    record = {"noise": {"clean_std": 4.230409208739212}, "acquisition": {"shots": 17},
              "wavelet": {"calibration_rel_error": 4.2254e-05, "file": "wavelet.npy"}}
    again = {"noise": {"clean_std": 4.230409469902836}, "acquisition": {"shots": 17},
             "wavelet": {"calibration_rel_error": 4.3749e-05, "file": "wavelet.npy"}}
    assert same(record, again)
    assert not same(record, {**again, "acquisition": {"shots": 16}})
    assert not same(record, {**again, "noise": {"clean_std": 4.3}})
    assert not same(record, {**again, "wavelet": {**again["wavelet"], "file": "other.npy"}})


def test_held_out_shots_score_the_kept_models(line, tmp_path, capsys):
    """chevron_like.py --train-shots inverts 2 of the toy line's 3 shots and keeps its models;
    chevron_validation.py scores each on the shot it never used, beside the model's MSE."""
    from test_benchmarks import load

    import shutil

    folder = tmp_path / "line"  # a copy: the module's other tests count the runs of theirs
    shutil.copytree(line[0], folder, ignore=shutil.ignore_patterns("runs"))
    bench, validation = load("chevron_like"), load("chevron_validation")
    assert bench.main(["--folder", str(folder), "--methods", "ig", "--iterations", "10",
                       "--train-shots", "2", "--quiet"]) == 0
    run = folder / "runs" / "ig-train2"
    assert sorted(p.name for p in (run / "models").iterdir()) == [
        "iteration_000000.npy", "iteration_000010.npy"]
    assert validation.main([str(folder), "ig-train2", "--json", str(tmp_path / "v.json")]) == 0
    [curve] = json.loads((tmp_path / "v.json").read_text())
    assert curve["trained_shots"] == [0, 2] and curve["held_out_shots"] == [1]
    rows = curve["rows"]
    assert [r["iteration"] for r in rows] == [0, 10]
    assert all(0 < r["held_out_misfit"] < 10 for r in rows)
    with open(run / "history.csv") as f:
        start = next(csv.DictReader(f))
    assert rows[0]["mse"] == pytest.approx(float(start["mse"]), rel=1e-6)
    lowest = bench.lowest_mse_on_the_way(run)  # the history's own scores (field.true_model)
    assert lowest["iteration"] in (0, 10) and lowest["mse"] <= float(start["mse"])
    # The well's stopping rule picks the row of lowest well_rms and reads its MSE there.
    with open(run / "history.csv") as f:
        scored = [r for r in csv.DictReader(f) if r["well_rms"]]
    best = min(scored, key=lambda r: float(r["well_rms"]))
    stop = bench.stopped_at_the_well(run)
    assert stop["iteration"] == int(best["iteration"])
    assert stop["well_rms"] == pytest.approx(float(best["well_rms"]))
    assert stop["mse"] == pytest.approx(float(best["mse"]))
    # A run that inverted every shot holds nothing out: one line, exit code 2.
    assert bench.main(["--folder", str(folder), "--methods", "ig", "--iterations", "1",
                       "--quiet"]) == 0
    capsys.readouterr()
    assert validation.main([str(folder), "ig"]) == 2
    assert "nothing is held out" in capsys.readouterr().err


def test_the_chevron_benchmark_runs_scores_and_resumes(line, tmp_path, capsys):
    """benchmarks/chevron_like.py on the toy line: MS-FWI and IG-FWI run through the field
    workflow, are scored against the truth, summarised; a second call skips the finished runs."""
    from test_benchmarks import load

    folder, _, _ = line
    bench = load("chevron_like")
    argv = ["--folder", str(folder), "--methods", "ms-fwi,ig", "--iterations", "2",
            "--ms-iterations", "5", "--summaries", str(tmp_path / "sum"), "--quiet"]
    assert bench.main(argv) == 0
    summary = json.loads((tmp_path / "sum" / "summary.json").read_text())
    assert [r["method"] for r in summary["runs"]] == ["ms-fwi", "ig"]
    for r in summary["runs"]:
        assert r["data_misfit_relative"]["final"] < r["data_misfit_relative"]["initial"]
        assert set(r["truth"]) == {"initial", "final", "best_well"} and r["truth"]["final"]["mse"] > 0
        assert set(r["mse_by_depth"]) == {"initial", "final", "best_well"}
    assert (tmp_path / "sum" / "ig" / "qc.json").is_file()
    # make-data's field.toml keeps the model of the best well fit (field.keep_best_well)
    assert (tmp_path / "sum" / "ig" / "best_well_model.npy").is_file()
    assert summary["runs"][1]["stopped_at_the_well"]["iteration"] in (0, 2)
    capsys.readouterr()
    assert bench.main(argv) == 0
    assert capsys.readouterr().out.count("done already") == 2
    # the estimated wavelet in its own folder; the summary then holds every finished run
    assert bench.main(["--folder", str(folder), "--methods", "ig", "--iterations", "2",
                       "--wavelet", "estimate", "--summaries", str(tmp_path / "sum"),
                       "--quiet"]) == 0
    summary = json.loads((tmp_path / "sum" / "summary.json").read_text())
    assert [(r["run"], r["wavelet"]) for r in summary["runs"]] == [
        ("ms-fwi", "file"), ("ig", "file"), ("ig-estimate", "estimate")]
    names = dict(wavelet="file", normalise=None, early=None, max_offset=0.0, max_depth="",
                 train_shots=0, tag="")
    assert bench._run_name("ig", bench.argparse.Namespace(**{**names, "normalise": "rms"})) == "ig-rms"
    assert bench._run_name("ig", bench.argparse.Namespace(
        **{**names, "early": [2600.0, 1.5, 0.4], "max_offset": 6000.0})) == "ig-early-offset6000"
    assert bench._run_name("ig", bench.argparse.Namespace(**{**names, "max_depth": "diving"})) \
        == "ig-depth-diving"
    assert bench._run_name("ig", bench.argparse.Namespace(**{**names, "train_shots": 12})) \
        == "ig-train12"
    assert bench._run_name("ig", bench.argparse.Namespace(**{**names, "train_shots": 12,
                                                            "tag": "it200"})) == "ig-train12-it200"
    assert (tmp_path / "sum" / "ig-estimate" / "qc.json").is_file()
    assert (tmp_path / "sum" / "ig-estimate" / "model.npy").is_file()
    depth = summary["runs"][2]["mse_by_depth"]
    assert set(depth["final"]) == {"0-450", "450-1500", "1500-2250", "2250-inf"}
    # Run folders are scratch: the committed summary keeps the rows of runs no longer there.
    import shutil
    shutil.rmtree(folder / "runs" / "ig-estimate")
    assert bench.main(["--folder", str(folder), "--methods", "ig", "--iterations", "2",
                       "--early", "1500", "0.3", "0.1", "--summaries", str(tmp_path / "sum"),
                       "--quiet"]) == 0
    summary = json.loads((tmp_path / "sum" / "summary.json").read_text())
    assert [r["run"] for r in summary["runs"]] == ["ms-fwi", "ig", "ig-early", "ig-estimate"]
    early = json.loads((tmp_path / "sum" / "ig-early" / "data.json").read_text())
    assert early["preprocessing"]["bottom_mute"] == {"velocity": 1500.0, "t0": 0.3, "taper": 0.1}
    assert bench.main(["--folder", str(folder), "--methods", "pixle"]) == 2
    # --max-depth diving reads the folder's 1-D start; a line longer than its deepest ray: one line
    record = json.loads((folder / "make_data.json").read_text())
    table = np.loadtxt(folder / "initial_1d.csv", delimiter=",", skiprows=1)
    try:
        expected = bench.turning_depth(table[:, 0], table[:, 1],
                                       max(record["acquisition"]["offsets_m"]))
    except ValueError:
        expected = None
    capsys.readouterr()
    code = bench.main(["--folder", str(folder), "--methods", "ig", "--iterations", "1",
                       "--max-depth", "diving", "--quiet"])
    if expected is None:
        assert code == 2 and "short of" in capsys.readouterr().err
    else:
        assert code == 0
        resolved = (folder / "runs" / "ig-depth-diving" / "config.resolved.toml").read_text()
        assert f"max_depth = {expected}" in resolved


def test_the_well_rms_of_the_papers_window():
    """The paper judges its Chevron result from 1 to 2.5 km: only those depths count."""
    from test_benchmarks import load

    bench = load("chevron_like")
    well = {"depth": [500.0, 1000.0, 2000.0, 2500.0, 3000.0], "log": [1, 2000, 3000, None, 9],
            "initial": [0, 2100, 2700, 0, 0], "final": [0, 2000, 3040, 0, 0]}
    rms = bench.well_rms_within({"well": well}, bench.PAPER_WELL_WINDOW_M)
    assert rms["initial"] == pytest.approx(((100**2 + 300**2) / 2) ** 0.5)
    assert rms["final"] == pytest.approx(40 / 2**0.5)
    assert bench.well_rms_within({}, (0, 1)) == {"initial": None, "final": None}


def test_the_turning_depth_of_a_diving_ray():
    """--max-depth diving: in a linear gradient v0 + g z the ray that emerges at X turns where
    X = (2/g) √(v_t² − v0²) (a circle), plus the straight legs through a constant top layer."""
    from test_benchmarks import load

    bench = load("chevron_like")
    z = np.arange(30.0, 6000.0, 30.0)
    v = 2000.0 + 0.8 * z
    for turn in (500.0, 1500.0, 3000.0):
        vt, v0 = 2000.0 + 0.8 * turn, 2024.0  # v0: the first sample's, constant up to z = 0
        offset = 2 / 0.8 * np.sqrt(vt ** 2 - v0 ** 2) + 2 * 30.0 * (v0 / vt) / np.sqrt(
            1 - (v0 / vt) ** 2)
        assert bench.turning_depth(z, v, offset) == pytest.approx(turn, abs=1.0)
    with pytest.raises(ValueError, match="short of"):
        bench.turning_depth(z, v, 1e6)
    with pytest.raises(ValueError, match="not decreasing"):
        bench.turning_depth(z, v[::-1], 1000.0)
