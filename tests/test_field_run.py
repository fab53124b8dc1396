"""A field run end to end (issue 13): a SEG-Y line written with segyio from data crfwi simulated
in a model the run does not know, inverted through the same loop as a synthetic run.

The line has what field files have: a spread that moves with the shot (the last shot has fewer
receivers), a dead trace full of noise, coordinates in centimetres (scalar -100) far from the
origin, and a source wavelet that is not a Ricker. The truth is known here, so the tests can
check that the run reads, places, masks and fits the data as it should.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import segyio
import tomli_w
import torch
import torch.distributed as dist

from crfwi import io
from crfwi.config import ConfigError, config_from_dict
from crfwi.experiment import build_experiment, memory_estimate
from crfwi.field import qc
from crfwi.field.segy import read_model_segy, read_segy
from crfwi.physics.geometry import Grid, Survey, ricker
from crfwi.inversion.loop import Inversion, make_optimizer
from crfwi.physics.solver import SolverOptions, WaveSolver

T = segyio.TraceField
GRID = Grid(20, 40, 10.0)
DT, NT, FREQ = 0.002, 200, 12.0
LINE_X0 = 5000.0  # the grid's x = 0 in line coordinates
SOURCES = (50.0, 130.0, 210.0, 290.0)  # grid metres
COUNTS = (14, 14, 14, 12)  # receivers per shot, every 10 m from 40 m behind the source
DEAD = (1, 5)  # (shot, receiver) flagged dead and filled with noise
WELL_X = 200.0


def true_model() -> np.ndarray:
    v = np.full(GRID.shape, 1500.0, np.float32)
    v[6:12] = 1900.0
    v[12:] = 2300.0
    v[8:12, 15:25] = 2100.0  # a lateral anomaly the 1-D start does not have
    return v


def true_wavelet() -> np.ndarray:
    """A Ricker rotated by 70 degrees (Hilbert transform), delayed: not a Ricker."""
    import scipy.signal

    w = ricker(FREQ, NT, DT, 0.1).numpy()
    analytic = scipy.signal.hilbert(w)
    rotated = np.real(analytic * np.exp(1j * np.deg2rad(70.0)))
    return (rotated / np.abs(rotated).max())[:120]  # a file shorter than the record


def _receivers(k: int) -> np.ndarray:
    return SOURCES[k] - 40.0 + 10.0 * np.arange(COUNTS[k])


def _simulate() -> np.ndarray:
    """Data [S, R, nt] of the true model on the moving spread, R = 14 (the last shot padded)."""
    cells = np.zeros((len(SOURCES), max(COUNTS), 2), np.int64)
    mask = np.zeros((len(SOURCES), max(COUNTS)), bool)
    for k in range(len(SOURCES)):
        cells[k, :, 0] = 1
        cells[k, :COUNTS[k], 1] = np.round(_receivers(k) / GRID.dx)
        mask[k, :COUNTS[k]] = True
    survey = Survey(source_x=SOURCES, receiver_x=tuple(10.0 * np.arange(max(COUNTS))), freq=FREQ,
                    dt=DT, nt=NT, source_depth=10.0, receiver_depth=10.0, pml_width=10)
    wavelet = np.pad(true_wavelet(), (0, NT - 120))
    solver = WaveSolver(GRID, survey, max_vel=2600.0, options=SolverOptions(accuracy=4),
                        wavelet=wavelet, receiver_locations=cells, receiver_mask=mask)
    with torch.no_grad():
        return solver.simulate(torch.as_tensor(true_model())).numpy()


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """The SEG-Y line, the wavelet file and a well log, written once for the module."""
    folder = tmp_path_factory.mktemp("field")
    data = _simulate()
    rng = np.random.default_rng(0)
    spec = segyio.spec()
    spec.samples, spec.tracecount, spec.format = np.arange(NT) * DT * 1e3, sum(COUNTS), 5
    path = folder / "line.sgy"
    with segyio.create(str(path), spec) as f:
        f.bin.update({segyio.BinField.Interval: int(DT * 1e6)})
        i = 0
        for k, x in enumerate(SOURCES):
            for j, gx in enumerate(_receivers(k)):
                f.header[i] = {
                    T.FieldRecord: 100 + k, T.TraceNumber: j + 1, T.TraceIdentificationCode: 1,
                    T.SourceGroupScalar: -100, T.SourceX: int(round((LINE_X0 + x) * 100)),
                    T.GroupX: int(round((LINE_X0 + gx) * 100)), T.ElevationScalar: 1,
                    T.SourceDepth: 10, T.ReceiverGroupElevation: -10,
                    T.offset: int(gx - x), T.TRACE_SAMPLE_INTERVAL: int(DT * 1e6)}
                trace = data[k, j]
                if (k, j) == DEAD:
                    f.header[i] = {T.TraceIdentificationCode: 2}
                    trace = 50 * np.abs(data).max() * rng.standard_normal(NT)
                f.trace[i] = np.asarray(trace, np.float32)
                i += 1
    np.save(folder / "wavelet.npy", true_wavelet())
    depth = np.arange(0.0, 200.0, 5.0)
    column = true_model()[:, int(WELL_X / GRID.dx)]
    (folder / "well.csv").write_text(
        "depth_m,velocity_ms\n" + "".join(f"{z},{column[min(int(z / 10), 19)]}\n" for z in depth))
    return folder, data


def field_config(folder, **field) -> dict:
    """A field run's config: [model] gives only the grid, the rest from [field]."""
    return {
        "seed": 0,
        "model": {"nz": GRID.nz, "nx": GRID.nx, "spacing": GRID.dx},
        "survey": {"freq": FREQ, "pml_width": 10},
        "physics": {"accuracy": 4},
        "initial": {"kind": "linear", "v_top": 1500.0, "v_bottom": 2300.0},
        "inversion": {"iterations": 5, "vmin": 1400.0, "vmax": 2600.0},
        "field": {"data": str(folder / "line.sgy"), "wavelet": str(folder / "wavelet.npy"),
                  "origin": [0.0, LINE_X0], **field},
    }


def experiment_of(folder, **overrides):
    data = field_config(folder)
    for section, values in overrides.items():
        data[section] = {**data.get(section, {}), **values}
    return build_experiment(config_from_dict(data))


def test_the_line_is_read_placed_and_masked(line):
    folder, data = line
    exp = experiment_of(folder)
    record = exp.observed_data_and_record()[1]
    assert exp.true_model is None and exp.survey.n_shots == 4 and exp.survey.n_receivers == 14
    assert record["traces"] == sum(COUNTS) and record["masked_traces"] == 1
    assert record["padded_slots"] == 2 and record["origin"] == [0.0, LINE_X0]
    assert record["mapping_error_m"]["receivers"]["max"] == pytest.approx(0.0, abs=1e-6)
    assert record["free_surface_depth_m"] == -10.0  # this line's depths count from row 0
    # Without field.origin the survey (10 to 360 m) is centred on the 390 m grid, on a node, and
    # row 0 lies one cell (10 m) below the datum, deepwave's free surface (a cell above) on it.
    automatic = experiment_of(folder, field={"origin": []}).observed_data_and_record()[1]
    assert automatic["origin"] == [10.0, LINE_X0 - 10.0] and automatic["origin_from"] == "automatic"
    assert automatic["free_surface_depth_m"] == 0.0
    assert automatic["mapping_error_m"]["sources"]["max"] == pytest.approx(0.0, abs=1e-6)
    assert record["wavelet"]["source"] == "file" and record["preprocessing"]["nt"] == NT
    observed = exp.observed_data()
    assert not exp.field.mask[1, 5] and not exp.field.mask[3, 12:].any()
    assert float(observed[1, 5].abs().max()) == 0.0  # the dead trace's noise is not fitted
    # With the file's wavelet the true model predicts the file's data (same solver settings).
    with torch.no_grad():
        predicted = exp.solver.simulate(torch.as_tensor(true_model()))
    live = torch.as_tensor(exp.field.mask)
    expected = torch.as_tensor(data) * live.unsqueeze(-1)
    assert float((predicted - expected).norm() / expected.norm()) < 1e-4


@pytest.mark.parametrize("method, lr", [("pixel", 10.0), ("siren", 1e-4)])
def test_five_iterations_lower_the_data_misfit(line, method, lr):
    folder, _ = line
    exp = experiment_of(folder, inversion={"method": method})
    model = exp.velocity_model()
    inversion = Inversion(model, exp.solver, exp.observed_data(),
                          optimizer=make_optimizer(model, lr=lr), misfit=exp.misfit())
    losses = [state.loss for state in inversion.run(5)]
    assert losses[-1] < 0.9 * losses[0], losses


def test_masked_traces_carry_no_gradient(line):
    folder, _ = line
    exp = experiment_of(folder, field={"f_low": 3.0, "mute_velocity": 3000.0})
    velocity = torch.as_tensor(exp.initial_model).requires_grad_()
    predicted = exp.solver.simulate(velocity)
    values = predicted.detach()
    assert float(values[1, 5].abs().max()) == 0.0 and float(values[3, 12:].abs().max()) == 0.0
    predicted[1, 5].square().sum().add(predicted[3, 13].square().sum()).backward()
    assert float(velocity.grad.abs().max()) == 0.0
    # Whatever the observed data hold at masked traces, the misfit's gradient is the same.
    grads = []
    for garbage in (0.0, 1e3):
        observed = exp.observed_data().clone()
        observed[1, 5] = garbage
        velocity = torch.as_tensor(exp.initial_model).requires_grad_()
        predicted = exp.solver.simulate(velocity) * torch.as_tensor(exp.field.mask).unsqueeze(-1)
        (0.5 * (predicted - observed * torch.as_tensor(exp.field.mask).unsqueeze(-1)).square().sum()
         ).backward()
        grads.append(velocity.grad)
    assert torch.equal(grads[0], grads[1])


def test_a_window_in_the_config_masks_both_sides(line):
    """field.bottom_mute_* and field.max_offset reach the run: observed and predicted data are zero
    past the line and beyond the offset, and the run folder records the window."""
    folder, _ = line
    exp = experiment_of(folder, field={"bottom_mute_velocity": 1500.0, "bottom_mute_t0": 0.2,
                                       "bottom_mute_taper": 0.02, "max_offset": 60.0})
    offsets = np.abs(exp.field.offsets)
    t = np.arange(NT) * DT
    after = t[None, None, :] >= 0.22 + offsets[..., None] / 1500.0 + 1e-9
    with torch.no_grad():
        predicted = exp.solver.simulate(torch.as_tensor(exp.initial_model)).numpy()
    observed, record = exp.observed_data_and_record()
    observed = observed.numpy()
    for data in (observed, predicted):
        assert np.abs(data[np.broadcast_to(after, data.shape)]).max() == 0.0
        assert np.abs(data[offsets > 60.0]).max() == 0.0
        assert np.abs(data[(offsets <= 60.0) & exp.field.mask]).max() > 0
    assert record["preprocessing"]["bottom_mute"]["velocity"] == 1500.0
    assert record["preprocessing"]["offset_window"]["max_offset"] == 60.0


def test_max_depth_in_a_field_run_counts_from_the_grids_origin(line):
    """Row k of a field grid lies at z0 + k·dz (z0 = field.origin[0]): inversion.max_depth fixes
    the rows below it, with the water rows of fix_water."""
    folder, _ = line
    water = {"origin": [10.0, LINE_X0], "water_depth": 30.0}
    exp = experiment_of(folder, field=water, inversion={"max_depth": 100.0, "fix_water": True})
    water_only = experiment_of(folder, field=water, inversion={"fix_water": True}).fixed_mask
    depth = 10.0 + np.arange(GRID.nz) * GRID.dz
    assert water_only.any() and not water_only[depth > 100.0].any()
    assert np.array_equal(exp.fixed_mask, water_only | (depth > 100.0)[:, None])


def test_the_estimated_wavelet_matches_the_files(line):
    folder, _ = line
    exp = experiment_of(folder, field={"wavelet": "estimate", "well_log": str(folder / "well.csv"),
                                       "well_x": LINE_X0 + WELL_X},
                        initial={"kind": "well", "v_top": 0.0, "v_bottom": 0.0, "sigma": 20.0})
    estimated = exp.solver.wavelet.double().numpy()
    truth = np.pad(true_wavelet(), (0, NT - 120))
    correlation = float(estimated @ truth / np.linalg.norm(estimated) / np.linalg.norm(truth))
    record = exp.observed_data_and_record()[1]["wavelet"]
    assert correlation > 0.95, (correlation, record)
    assert record["source"] == "estimate" and record["misfit_after"] < record["misfit_before"]


def test_qc_writes_segy_figures_and_the_well_comparison(line, tmp_path):
    folder, _ = line
    exp = experiment_of(folder, field={"well_log": str(folder / "well.csv"),
                                       "well_x": LINE_X0 + WELL_X})
    truth = true_model()
    summary = qc.write_field_outputs(exp, truth, tmp_path)
    for name in ("model.segy", "predicted.segy", "wavelet.npy", "figures/gathers.png",
                 "figures/well.png"):
        assert (tmp_path / name).is_file() and name in summary["files"]
    fit = summary["data_fit_final"]
    assert fit["total_relative"] < 1e-4 < summary["data_fit_initial"]["total_relative"]
    assert len(fit["l2"]) == 4
    well = summary["well"]
    assert well["rms_final"] < 1e-3 < well["rms_initial"]
    assert well["column"] == int(WELL_X / GRID.dx)
    # The model comes back on the survey's coordinates; the predicted data on its geometry.
    back = read_model_segy(tmp_path / "model.segy")
    np.testing.assert_array_equal(back.model, truth)
    assert back.origin == (0.0, LINE_X0) and back.grid == GRID
    predicted = read_segy(tmp_path / "predicted.segy")
    original = read_segy(folder / "line.sgy")
    np.testing.assert_allclose(predicted.receiver_inline, original.receiver_inline)
    assert list(np.flatnonzero(~predicted.live)) == list(np.flatnonzero(~original.live))
    live = original.live
    np.testing.assert_allclose(predicted.traces[live], original.traces[live], rtol=0,
                               atol=1e-4 * np.abs(original.traces[live]).max())


def test_memory_is_counted_from_the_files_headers(line):
    folder, _ = line
    config = config_from_dict(field_config(folder))
    estimate = memory_estimate(config, GRID)
    counted = memory_estimate(config, GRID, 4, 14, nt=NT)
    assert estimate.total() == counted.total()
    assert memory_estimate(config_from_dict({**field_config(folder), "data": {"shots": 2}}),
                           GRID).total() < estimate.total()


def _refusal(config: dict, *words: str) -> str:
    with pytest.raises((ConfigError, ValueError)) as info:
        build_experiment(config_from_dict(config))
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_bad_inputs_name_the_key_or_the_file(line, tmp_path):
    folder, _ = line
    base = field_config(folder)
    missing = tmp_path / "nowhere.sgy"
    _refusal({**base, "field": {**base["field"], "data": str(missing)}}, "field.data", str(missing))
    # A wavelet with signal past the record, and one that is not 1-D.
    long = np.sin(np.arange(3 * NT) / 5.0)
    np.save(tmp_path / "long.npy", long)
    _refusal({**base, "field": {**base["field"], "wavelet": str(tmp_path / "long.npy")}},
             "field.wavelet", "long.npy", f"nt = {NT}")
    np.save(tmp_path / "flat.npy", np.ones((2, 30)))
    _refusal({**base, "field": {**base["field"], "wavelet": str(tmp_path / "flat.npy")}},
             "field.wavelet", "flat.npy")
    _refusal({**base, "field": {**base["field"], "wavelet": str(tmp_path / "none.npy")}},
             "field.wavelet", "none.npy")
    # Sources outside the grid: an origin that leaves the survey's far end off the model, and
    # a grid too narrow for the survey (automatic origin).
    _refusal({**base, "field": {**base["field"], "origin": [0.0, LINE_X0 + 100.0]}},
             "field.origin", "outside the model", "line.sgy")
    _refusal({**base, "model": {"nx": 30, "nz": 20, "spacing": 10.0},
              "field": {**base["field"], "origin": []}}, "model.nx", "line.sgy")
    _refusal({**base, "field": {**base["field"], "well_log": str(tmp_path / "no.csv"),
                                "well_x": 1.0}}, "field.well_log", "no.csv")
    (tmp_path / "bad.csv").write_text("depth,velocity\n0,1500\n10,1600,3\n")
    _refusal({**base, "field": {**base["field"], "well_log": str(tmp_path / "bad.csv"),
                                "well_x": 1.0}}, "field.well_log", "bad.csv", "line 3")
    _refusal({**base, "data": {"shots": 9}}, "data.shots", "line.sgy")
    _refusal({**base, "field": {**base["field"], "keep_best_well": True}},
             "`field.keep_best_well` needs `field.well_log`")
    _refusal({**base, "field": {**base["field"], "nt": 400}}, "field.nt", "pad_record")
    # The file's 2 ms cannot sample a 120 Hz wavelet (known only once the file is read).
    _refusal({**base, "survey": {"freq": 120.0}}, "field.dt", "survey.freq")


def test_an_npz_survey_and_a_well_start(line, tmp_path):
    """The same survey as arrays (.npz), started from the smoothed well log with a water layer."""
    folder, data = line
    receivers = np.stack([np.pad(_receivers(k), (0, 14 - COUNTS[k]), mode="edge")
                          for k in range(4)])
    np.savez(tmp_path / "line.npz", data=data[:3], dt=DT, source_x=np.array(SOURCES[:3]),
             receiver_x=receivers[:3], source_depth=10.0, receiver_depth=10.0)
    config = field_config(folder, data=str(tmp_path / "line.npz"), origin=[0.0, 0.0],
                          well_log=str(folder / "well.csv"), well_x=WELL_X, water_depth=45.0)
    config["initial"] = {"kind": "well", "sigma": 30.0}
    exp = build_experiment(config_from_dict(config))
    assert exp.survey.n_shots == 3 and exp.observed_data().shape == (3, 14, NT)
    m0 = exp.initial_model
    assert np.all(m0[:5] == 1500.0) and np.all(m0 == m0[:, :1])  # water, then 1-D
    assert 1900.0 < m0[-1, 0] <= 2300.0
    assert exp.bounds == (1400.0, 2600.0)


def test_a_field_run_folder(line, tmp_path):
    """Through the runner: no true model, the QC files written, resumable."""
    from crfwi.runner import resume_inversion, run_inversion

    folder, _ = line
    config = config_from_dict({**field_config(folder, well_log=str(folder / "well.csv"),
                                              well_x=LINE_X0 + WELL_X, keep_best_well=True),
                               "output": {"metrics_every": 1, "checkpoint_every": 1,
                                          "models_every": 1}})
    result = run_inversion(config, tmp_path / "run", device="cpu", progress=False)
    for name in ("qc.json", "model.segy", "predicted.segy", "wavelet.npy", "figures/gathers.png",
                 "figures/well.png", "figures/models.png", "data.json", "best_well_model.segy"):
        assert (result.folder / name).is_file(), name
    assert not (result.folder / "true.npy").exists()
    assert result.metrics["data_misfit_relative"] < result.initial_metrics["data_misfit_relative"]
    longer = resume_inversion(tmp_path / "run", overrides=["inversion.iterations=6"],
                              device="cpu", progress=False)
    assert longer.metrics["iterations"] == 6
    # With a well log the history scores the model at the well every metrics row, and its first
    # and last rows are the QC's initial and final misfits.
    with open(longer.folder / "history.csv") as f:
        well_rms = [float(r["well_rms"]) for r in csv.DictReader(f)]
    well = json.loads((longer.folder / "qc.json").read_text())["well"]
    assert len(well_rms) == 7 and len(set(well_rms)) > 1
    assert well_rms[0] == pytest.approx(well["rms_initial"])
    assert well_rms[-1] == pytest.approx(well["rms_final"])
    # field.keep_best_well: the model of the lowest well_rms (across the resume) is kept
    best = longer.metrics["best_well"]
    assert best["iteration"] == int(np.argmin(well_rms)) and best["well_rms"] == min(well_rms)
    np.testing.assert_array_equal(np.load(longer.folder / "best_well_model.npy"),
                                  np.load(io.RunFolder(longer.folder).model_at(best["iteration"])))


def test_a_known_truth_scores_a_field_run_without_changing_it(line, tmp_path):
    """``field.true_model`` (a benchmark's truth) adds MSE / SSIM to every history row and to
    metrics.json beside the QC; the data, the loss and the model are the same as without it."""
    from crfwi.runner import run_inversion

    folder, _ = line
    np.save(tmp_path / "truth.npy", true_model())
    base = {**field_config(folder), "output": {"metrics_every": 1, "figures": False}}
    base["inversion"] = {**base["inversion"], "iterations": 3}
    plain = run_inversion(config_from_dict(base), tmp_path / "plain", device="cpu",
                          progress=False)
    scored_config = {**base, "field": {**base["field"], "true_model": str(tmp_path / "truth.npy")},
                     "output": {**base["output"], "models_every": 2}}
    scored = run_inversion(config_from_dict(scored_config), tmp_path / "scored", device="cpu",
                           progress=False)
    assert np.array_equal(np.load(plain.folder / "model.npy"), np.load(scored.folder / "model.npy"))
    with open(scored.folder / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and all(float(r["mse"]) > 0 for r in rows)  # m0 and every iteration
    assert scored.metrics["mse"] < scored.initial_metrics["mse"]
    assert scored.metrics["data_misfit_relative"] == pytest.approx(
        plain.metrics["data_misfit_relative"])
    assert "mse" not in plain.metrics and (scored.folder / "qc.json").is_file()
    # output.models_every = 2 kept m0 and iteration 2 (not 1 or 3), each as the run saw it.
    kept = sorted(p.name for p in (scored.folder / "models").iterdir())
    assert kept == ["iteration_000000.npy", "iteration_000002.npy"]
    folder_of = io.RunFolder(scored.folder)
    assert np.allclose(np.load(folder_of.model_at(0)), np.load(scored.folder / "initial.npy"))
    assert not (plain.folder / "models").exists()
    np.save(tmp_path / "small.npy", true_model()[:10])
    _refusal({**base, "field": {**base["field"], "true_model": str(tmp_path / "small.npy")}},
             "field.true_model", "small.npy")


def test_the_automatic_origin_puts_the_free_surface_on_the_datum():
    from crfwi.field.survey import automatic_origin

    class Line:  # the FieldData fields automatic_origin reads
        name = "line"
        source_inline = np.array([100.0, 200.0])
        receiver_inline = np.array([150.0, 250.0])

    grid = Grid(20, 40, 25.0)
    for depths, free, z0 in [((30.0, 40.0), True, 25.0),   # deeper than a cell: surface on datum
                             ((6.0, 8.0), True, 6.0),      # shallower: row 0 at the source
                             ((6.0, 8.0), False, 0.0),
                             ((-20.0, 8.0), False, -20.0)]:  # above the datum (land elevation)
        line = Line()
        line.source_depth, line.receiver_depth = np.array([depths[0]] * 2), np.array([depths[1]] * 2)
        assert automatic_origin(line, grid, free_surface=free)[0] == z0


def test_the_free_surface_is_one_cell_above_row_0():
    """The fact the automatic origin rests on: crfwi's free-surface run equals an unbounded run
    with a negative image source mirrored about the plane one cell above row 0."""
    import deepwave

    h, dt, nt, nx, d = 10.0, 0.001, 400, 80, 3
    wavelet = deepwave.wavelets.ricker(15.0, nt, dt, 0.1)

    def record(nz, sources, amplitudes, row, free):
        v = torch.full((nz, nx), 1500.0)
        kwargs = dict(boundary=["free", "pml", "pml", "pml"], pml_width=[0, 20, 20, 20]) if free \
            else dict(pml_width=[20, 20, 20, 20])
        out = deepwave.scalar(v, h, dt, source_amplitudes=torch.stack(
            [a * wavelet for a in amplitudes]).unsqueeze(0),
            source_locations=torch.tensor([[[r, 20] for r in sources]]),
            receiver_locations=torch.tensor([[[row, 60]]]), accuracy=8, pml_freq=15.0, **kwargs)
        return out[-1][0, 0]

    free = record(40, [d], [1.0], d, True)
    top = 30  # row 0 of the free-surface model, inside a larger unbounded one
    image = record(70, [top + d, top - 2 - d], [1.0, -1.0], top + d, False)
    assert float((free - image).abs().max() / free.abs().max()) < 1e-4


def test_the_wavelet_is_re_estimated_every_k_iterations_and_resumes(line, tmp_path):
    """field.wavelet_every: an estimate at the current model every k iterations, kept in the
    checkpoint, so an interrupted run goes on exactly as an uninterrupted one."""
    import json

    from crfwi.runner import resume_inversion, run_inversion

    folder, _ = line
    data = {**field_config(folder, wavelet="estimate", wavelet_every=2),
            "output": {"metrics_every": 1, "checkpoint_every": 1, "figures": False}}
    data["inversion"] = {**data["inversion"], "iterations": 6}
    whole = run_inversion(config_from_dict(data), tmp_path / "whole", device="cpu", progress=False)
    estimates = json.loads((whole.folder / "wavelets.json").read_text())
    assert [e["iteration"] for e in estimates] == [2, 4]
    assert all(e["misfit_after"] < e["misfit_before"] for e in estimates)
    first = np.load(whole.folder / "wavelet.npy")
    at_m0 = experiment_of(folder, field={"wavelet": "estimate"}).solver.wavelet.numpy()
    assert not np.allclose(first, at_m0)  # the run ends with the last estimate, not m0's
    data["inversion"]["iterations"] = 3
    run_inversion(config_from_dict(data), tmp_path / "parts", device="cpu", progress=False)
    parts = resume_inversion(tmp_path / "parts", overrides=["inversion.iterations=6"],
                             device="cpu", progress=False)
    read = lambda run: (run.folder / "history.csv").read_text().splitlines()  # noqa: E731
    column = read(whole)[0].split(",").index("loss")
    assert [r.split(",")[column] for r in read(whole)] == [r.split(",")[column] for r in read(parts)]
    np.testing.assert_array_equal(np.load(parts.folder / "wavelet.npy"), first)
    assert [e["iteration"] for e in json.loads((parts.folder / "wavelets.json").read_text())] == [2, 4]
    with pytest.raises(ConfigError, match="wavelet_every"):
        config_from_dict({**field_config(folder, wavelet_every=2)})


@pytest.fixture(scope="module")
def line_with_a_zero_trace(line, tmp_path_factory):
    """The line with one more dead trace that only its samples reveal (all zero, header
    unflagged), in shot 2, which rank 1 of two simulates: a rank that does not read the
    samples must still mask it."""
    folder, _ = line
    copy = tmp_path_factory.mktemp("zero-trace")
    for name in ("line.sgy", "wavelet.npy", "well.csv"):
        shutil.copy(folder / name, copy / name)
    with segyio.open(str(copy / "line.sgy"), "r+", ignore_geometry=True) as f:
        f.trace[33] = np.zeros(NT, np.float32)
    return copy


def test_a_rank_without_the_samples_builds_the_same_experiment(line_with_a_zero_trace,
                                                               monkeypatch):
    """A shot-parallel run's other ranks: the headers, plus rank 0's SampleFacts (dead traces,
    the estimated wavelet), give the same solver without reading a sample."""
    from crfwi.field import survey

    config = config_from_dict(field_config(line_with_a_zero_trace, wavelet="estimate"))
    reader = build_experiment(config)
    facts = reader.field.sample_facts(reader.solver.wavelet)
    assert facts.all_zero.sum() == 1 and facts.wavelet is not None

    def no_samples(*args, **kwargs):
        raise AssertionError("read the samples")

    monkeypatch.setattr(survey, "load_traces", no_samples)
    other = build_experiment(config, field_facts=facts)
    assert other.field.observed is None and reader.field.observed is not None
    assert torch.equal(other.solver.wavelet, reader.solver.wavelet)
    assert torch.equal(other.solver.receiver_mask, reader.solver.receiver_mask)
    assert int((~reader.solver.receiver_mask).sum()) > int((~reader.solver.receiver_mask[:, :1]).sum())
    with torch.no_grad():
        m0 = torch.as_tensor(reader.initial_model)
        assert torch.equal(other.solver.simulate(m0), reader.solver.simulate(m0))


@pytest.mark.slow
def test_two_ranks_invert_a_field_line_as_one(line_with_a_zero_trace, tmp_path):
    """--nproc 2 on a field line (wavelet estimated, shots split over the ranks): the history
    and model of one process."""
    if not (dist.is_available() and dist.is_gloo_available()):
        pytest.skip("torch.distributed with the gloo backend is not available")
    data = {**field_config(line_with_a_zero_trace, wavelet="estimate"),
            "output": {"metrics_every": 1, "checkpoint_every": 5, "figures": False,
                       "progress": False}}
    data["inversion"] = {**data["inversion"], "iterations": 2}
    path = tmp_path / "field.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    from crfwi.runner import run_inversion

    runs = {1: run_inversion(config_from_dict(data), tmp_path / "ranks1", device="cpu",
                             progress=False).folder, 2: tmp_path / "ranks2"}
    proc = subprocess.run([sys.executable, "-m", "crfwi", "invert", str(path), "--out",
                           str(runs[2]), "--nproc", "2", "--device", "cpu", "--quiet"],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    one, two = (io.load_csv(runs[n] / "history.csv") for n in (1, 2))
    assert [r["iteration"] for r in one] == [r["iteration"] for r in two]
    for a, b in zip(one, two):
        if a["loss"] is not None:
            assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
    np.testing.assert_allclose(np.load(runs[2] / "model.npy"), np.load(runs[1] / "model.npy"),
                               rtol=1e-5)
