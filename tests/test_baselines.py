"""Issue 4: the baselines through the loop (ADFWI-TV, WECI-FWI, MS-FWI), the method names, and
the degraded-data options of the observed data."""

import json

import numpy as np
import pytest
import torch

from crfwi.methods import registry as methods, misfits, regularizers
from crfwi.physics import signal
from crfwi.cli import main
from crfwi.config import ConfigError, config_from_dict
from crfwi.experiment import build_experiment
from crfwi.physics.geometry import Grid, Survey
from crfwi.inversion.loop import Inversion
from crfwi.physics.solver import SolverOptions, WaveSolver
from crfwi.representations import VelocityModel, build

TOY = {
    "seed": 1, "name": "toy",
    "model": {"name": "layered", "nz": 16, "nx": 32, "spacing": 10.0},
    "survey": {"n_shots": 5, "freq": 15.0, "dt": 0.002, "nt": 150},
    "initial": {"kind": "smooth", "sigma": 60.0},
    "inversion": {"method": "pixel", "iterations": 4},
    "output": {"metrics_every": 2, "checkpoint_every": 2, "progress": False, "figures": False},
}


def toy(**sections):
    data = json.loads(json.dumps(TOY))
    for section, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    return config_from_dict(data)


# ------------------------------------------------------------------------------------------
# Method names
# ------------------------------------------------------------------------------------------
def test_methods_resolve_crfwi_and_paper_names():
    assert methods.resolve("IG-FWI").name == "ig"
    assert methods.resolve("adfwi").representation == "pixel"
    assert methods.resolve("ADFWI-TV").regularizer == "tv"
    assert methods.resolve("weci-fwi").misfit == "weci"
    assert methods.resolve("MS-FWI").multiscale
    assert methods.resolve("ifwi").name == "siren"
    with pytest.raises(ValueError, match="unknown method 'nope'; valid: .*ig \\(IG-FWI\\)"):
        methods.resolve("nope")


def test_every_paper_method_is_registered():
    papers = {m.paper for m in methods.METHODS.values()}
    assert {"ADFWI", "ADFWI-TV", "WECI-FWI", "MS-FWI", "IFWI", "WinFWI", "LR-FWI", "MPE-FWI",
            "IG-FWI", "LRG-FWI"} <= papers


# ------------------------------------------------------------------------------------------
# MS-FWI
# ------------------------------------------------------------------------------------------
def test_multiscale_band_schedule():
    ms = misfits.Multiscale(dt=0.002, iterations_per_band=10)
    assert ms.bands == misfits.PAPER_BANDS == (4.0, 6.0, 8.0, 10.0, 12.0, 14.0)
    assert [ms.band(i) for i in (0, 9, 10, 25, 59, 60, 500)] == [4, 4, 6, 8, 14, 14, 14]
    with pytest.raises(ValueError, match="Nyquist"):
        misfits.Multiscale(dt=0.05, iterations_per_band=1)
    with pytest.raises(ValueError, match="increasing"):
        misfits.Multiscale(dt=0.002, iterations_per_band=1, bands=[6, 4])


def _trace_pair(nt=400, dt=0.002):
    t = torch.arange(nt, dtype=torch.float64) * dt
    low = torch.sin(2 * torch.pi * 3.0 * t) * torch.exp(-((t - 0.4) / 0.15) ** 2)
    high = torch.sin(2 * torch.pi * 30.0 * t) * torch.exp(-((t - 0.4) / 0.15) ** 2)
    return low, high


def test_multiscale_ignores_what_lies_above_the_band():
    low, high = _trace_pair()
    ms = misfits.Multiscale(dt=0.002, iterations_per_band=5, bands=[6.0, 40.0])
    obs = low[None, None]
    pred = (low + high)[None, None]
    # Band 1 (6 Hz) barely sees the 30 Hz difference; band 2 (40 Hz) sees it fully.
    first = float(ms(pred, obs, iteration=0))
    second = float(ms(pred, obs, iteration=5))
    full = float(misfits.l2(pred, obs))
    assert first < 1e-3 * full and second > 0.5 * full


def test_multiscale_gradcheck():
    ms = misfits.Multiscale(dt=0.004, iterations_per_band=3, bands=[8.0, 20.0])
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 3, 40, dtype=torch.float64, generator=gen, requires_grad=True)
    obs = torch.randn(2, 3, 40, dtype=torch.float64, generator=gen)
    for it in (0, 4):
        assert torch.autograd.gradcheck(lambda p: ms(p, obs, iteration=it), (pred,))


# ------------------------------------------------------------------------------------------
# The loop evaluates iteration-dependent misfits and regularisers at the right iteration
# ------------------------------------------------------------------------------------------
class _Recorder:
    needs_iteration = True

    def __init__(self):
        self.seen = []

    def at(self, iteration):
        self.seen.append(iteration)
        return misfits.l2


def _tiny_inversion(**kwargs):
    grid = Grid(10, 12, 10.0)
    survey = Survey.surface(grid, n_shots=2, freq=20.0, dt=0.001, nt=60)
    solver = WaveSolver(grid, survey, max_vel=2600.0, options=SolverOptions(accuracy=4))
    true = torch.full(grid.shape, 2000.0)
    true[5:] = 2400.0
    observed = solver.simulate(true)
    model = VelocityModel(build("pixel", grid), torch.full(grid.shape, 2100.0), grid,
                          bounds=(1500.0, 2600.0))
    return Inversion(model, solver, observed, **kwargs), grid


def test_loop_asks_iteration_dependent_misfits_for_each_iteration():
    recorder = _Recorder()
    inversion, _ = _tiny_inversion(misfit=recorder)
    list(inversion.run(3))
    assert recorder.seen == [0, 1, 2]


def test_tv_schedule_in_the_loop_adds_the_decayed_penalty():
    schedule = regularizers.TVSchedule(alpha_x=1e-3, alpha_z=2e-3, step_size=2, gamma=0.5,
                                       alpha_units="literal")
    plain, grid = _tiny_inversion()
    with_tv, _ = _tiny_inversion(regularizer=schedule.bind(dz=grid.dz, dx=grid.dx))
    for i in range(3):
        m = with_tv.model().detach()
        expected_penalty = float(schedule.penalty(m, i, dz=grid.dz, dx=grid.dx))
        plain.model.load_state_dict(with_tv.model.state_dict())
        plain.optimizer.load_state_dict(with_tv.optimizer.state_dict())
        plain.iteration = with_tv.iteration
        loss_plain = plain.step().loss
        loss_tv = with_tv.step().loss
        assert loss_tv - loss_plain == pytest.approx(expected_penalty, rel=1e-4)
    assert schedule.scale(2) == 0.5


# ------------------------------------------------------------------------------------------
# The experiment builds each baseline's misfit and regulariser from the method name
# ------------------------------------------------------------------------------------------
def test_experiment_builds_the_method_parts():
    exp = build_experiment(toy(inversion={"method": "adfwi-tv"}))
    reg = exp.regularizer()
    assert isinstance(reg, regularizers.BoundTVSchedule) and reg.schedule.alpha_x == 2e-9
    assert reg.schedule.alpha_units == "adfwi" and "first iteration" in repr(reg)
    assert reg.schedule.gain == regularizers.EFFECT_GAIN == 1000.0
    literal = build_experiment(toy(inversion={
        "method": "adfwi-tv", "regularizer_options": {"alpha_units": "literal"}})).regularizer()
    assert literal.conversion == 1.0
    assert exp.misfit() is misfits.l2
    exp = build_experiment(toy(inversion={"method": "WECI-FWI", "iterations": 40}))
    weci = exp.misfit()
    assert isinstance(weci, misfits.WeciMisfit) and weci.total_iterations == 40
    assert weci.normalize == "adjoint"
    assert exp.regularizer() is None
    exp = build_experiment(toy(inversion={"method": "ms-fwi", "iterations": 12}))
    ms = exp.misfit()
    # No preset: the paper's bands in Hz, all below the usable band of a 15 Hz Ricker (37.5 Hz).
    assert ms.bands == misfits.PAPER_BANDS
    assert ms.iterations_per_band == 2
    exp = build_experiment(toy(inversion={"method": "ig", "bands": [5.0, 10.0], "band_iterations": 3,
                                          "regularizer": "tv",
                                          "regularizer_options": {"alpha_x": 1e-8}}))
    assert exp.misfit().bands == (5.0, 10.0) and exp.regularizer().schedule.alpha_x == 1e-8


@pytest.mark.parametrize("preset, scale, bands", [
    ("marmousi", "paper", [4, 6, 8, 10, 12, 14]),   # the paper's bands on every dataset
    ("overthrust", "paper", [4, 6, 8, 10, 12, 14]),  # (10 Hz source: no longer 5-17.5 Hz)
    ("marmousi", "cpu", [2, 3, 4, 5, 6, 7]),         # x 4/8 Hz
    ("overthrust", "cpu", [2, 3, 4, 5, 6, 7]),       # x 5/10 Hz
])
def test_ms_fwi_bands_of_the_presets(preset, scale, bands, benchmark_data):
    exp = build_experiment(config_from_dict({"preset": preset, "scale": scale,
                                             "inversion": {"method": "ms-fwi", "iterations": 60}}))
    ms = exp.misfit()
    assert list(ms.bands) == bands and ms.iterations_per_band == 10


def _run_models(config, iterations):
    exp = build_experiment(config)
    model = exp.velocity_model()
    inversion = Inversion(model, exp.solver, exp.observed_data(), misfit=exp.misfit(),
                          regularizer=exp.regularizer(), seed=config.seed)
    models = [model().detach().double().clone()]
    for _ in inversion.run(iterations):
        models.append(model().detach().double().clone())
    return exp, inversion, models


def test_adfwi_tv_acts_with_adfwis_weight():
    """ADFWI-TV's α = 2e-9 is set against ADFWI's misfit; converted, the TV has the share of the
    gradient it has in ADFWI's units (1e4 times the literal one here), times the effect gain
    (1000), and changes the model: lower TV than ADFWI's, unlike the literal weight."""
    exp, inversion, tv_models = _run_models(toy(inversion={"method": "adfwi-tv"}), 6)
    reg = inversion.regularizer
    m0 = torch.as_tensor(exp.initial_model)
    observed = inversion.observed
    leaf = m0.clone().float().requires_grad_(True)
    predicted = exp.solver.simulate(leaf)
    (ours,) = torch.autograd.grad(misfits.l2(predicted, observed), leaf, retain_graph=True)
    (theirs,) = torch.autograd.grad(misfits.adfwi_l2(predicted, observed, dt=exp.survey.dt), leaf)

    def tv_norm(penalty):
        m = m0.clone().double().requires_grad_(True)
        penalty(m).backward()
        return float(m.grad.norm())

    literal = regularizers.TVSchedule(alpha_units="literal").at(0, dz=exp.grid.dz, dx=exp.grid.dx)
    share = tv_norm(reg.at(0)) / float(ours.norm())
    share_adfwi = tv_norm(literal) / float(theirs.norm())
    share_literal = tv_norm(literal) / float(ours.norm())
    assert share == pytest.approx(regularizers.EFFECT_GAIN * share_adfwi, rel=1e-3)
    assert share > 1e3 * share_literal
    _, _, pixel = _run_models(toy(inversion={"method": "pixel"}), 6)
    _, _, lit = _run_models(toy(inversion={"method": "adfwi-tv",
                                           "regularizer_options": {"alpha_units": "literal"}}), 6)

    def tv(m):
        return float(regularizers.total_variation(m, dz=exp.grid.dz, dx=exp.grid.dx,
                                                  alpha_x=1.0, alpha_z=1.0))

    moved = float((tv_models[-1] - pixel[-1]).abs().mean())
    moved_literal = float((lit[-1] - pixel[-1]).abs().mean())
    assert tv(tv_models[-1]) < tv(pixel[-1]) and moved > 100 * moved_literal


def test_weci_keeps_moving_after_the_switch():
    """Normalised, both halves of WECI-FWI move the model at the same rate: the steps after the
    logistic switch (i ≥ N/2 + 5) stay the size of those before; ADFWI's raw blend slows down."""
    n = 20

    def steps(normalize):
        config = toy(inversion={"method": "weci-fwi", "iterations": n,
                                "misfit_options": {"normalize": normalize}})
        _, _, models = _run_models(config, n)
        return [float((b - a).abs().mean()) for a, b in zip(models, models[1:])]

    normalised, raw = steps("adjoint"), steps("none")
    before = np.mean(normalised[: n // 2 - 5])
    assert np.mean(normalised[n // 2 + 5:]) > 0.6 * before
    assert normalised[-1] > 0.6 * before and normalised[-1] > 1.5 * raw[-1]


@pytest.mark.parametrize("inversion, message", [
    ({"method": "nope"}, "`inversion.method`: unknown method"),
    ({"misfit": "weci", "bands": [4.0]}, "cannot be combined"),
    ({"regularizer": "l1"}, "`inversion.regularizer`: unknown regularizer 'l1'"),
    ({"regularizer_options": {"alpha_x": 1.0}}, "need inversion.regularizer"),
    ({"regularizer": "tv", "regularizer_options": {"alpha": 1.0}}, "regularizer_options"),
    ({"misfit": "envelope", "misfit_options": {"pow": 2}}, "inversion.misfit = 'envelope'"),
])
def test_bad_method_settings_are_one_clear_error(inversion, message):
    with pytest.raises(ConfigError, match=message):
        exp = build_experiment(toy(inversion=inversion))
        exp.misfit()
        exp.regularizer()


# ------------------------------------------------------------------------------------------
# Degraded data
# ------------------------------------------------------------------------------------------
def test_noise_has_the_requested_level_and_seed():
    clean, _ = build_experiment(toy()).observed_data_and_record()
    noisy, record = build_experiment(toy(data={"noise": 4.0})).observed_data_and_record()
    again, _ = build_experiment(toy(data={"noise": 4.0})).observed_data_and_record()
    other, _ = build_experiment(toy(data={"noise": 4.0, "noise_seed": 7})).observed_data_and_record()
    sigma0 = float(clean.double().std(unbiased=False))
    assert record["clean_std"] == pytest.approx(sigma0)
    assert float((noisy - clean).double().std()) == pytest.approx(4.0 * sigma0, rel=0.01)
    assert record["noise_std"] == pytest.approx(4.0 * sigma0, rel=0.01)
    assert record["noise_seed"] == 1 and record["snr_db"] == pytest.approx(-20 * np.log10(4), abs=0.1)
    assert torch.equal(noisy, again) and not torch.equal(noisy, other)


def test_highpass_removes_the_low_frequencies_of_the_observed_data_only():
    exp = build_experiment(toy(data={"highpass": 10.0}, survey={"nt": 500}))
    observed, record = exp.observed_data_and_record()
    clean = exp.clean_data()
    dt = exp.survey.dt
    freqs = np.fft.rfftfreq(clean.shape[-1], dt)
    # Hann-tapered spectra: without the taper the strong band's leakage floods the low bins.
    taper = np.hanning(clean.shape[-1])
    power_clean = (np.abs(np.fft.rfft(clean.numpy() * taper, axis=-1)) ** 2).sum(axis=(0, 1))
    power_obs = (np.abs(np.fft.rfft(observed.numpy() * taper, axis=-1)) ** 2).sum(axis=(0, 1))
    low, high = freqs < 5.0, (freqs > 20.0) & (freqs < 40.0)
    assert power_obs[low].sum() < 1e-3 * power_clean[low].sum()
    assert power_obs[high].sum() == pytest.approx(power_clean[high].sum(), rel=0.01)
    assert record["highpass_hz"] == 10.0 and "Butterworth" in record["highpass_filter"]


def test_sparse_acquisition_keeps_evenly_spread_shots():
    full = build_experiment(toy(survey={"n_shots": 13}))
    sparse = build_experiment(toy(survey={"n_shots": 13}, data={"shots": 5}))
    assert sparse.kept_shots == [0, 3, 6, 9, 12] == signal.decimate_shots(13, 5)
    assert sparse.survey.source_x == tuple(full.survey.source_x[i] for i in sparse.kept_shots)
    assert sparse.survey.receiver_x == full.survey.receiver_x
    observed, record = sparse.observed_data_and_record()
    assert observed.shape[0] == 5 and record["shots_kept"] == [0, 3, 6, 9, 12]
    assert torch.allclose(observed, full.clean_data()[sparse.kept_shots])


def test_window_is_refused_for_procedural_models():
    with pytest.raises(ConfigError, match="`model.window` applies to benchmark files only"):
        build_experiment(toy(model={"window": [100.0, 300.0]}))


@pytest.mark.parametrize("data, message", [
    ({"shots": 20}, "exceeds the survey's 5 shots"),
    ({"highpass": 400.0}, "Nyquist"),
    ({"noise": -1.0}, "`data.noise` must be a finite number >= 0"),
])
def test_bad_data_options(data, message):
    with pytest.raises(ConfigError, match=message):
        build_experiment(toy(data=data))


# ------------------------------------------------------------------------------------------
# Every baseline runs through the CLI into a run folder with its record
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["adfwi-tv", "weci-fwi", "ms-fwi"])
def test_each_baseline_runs_into_a_run_folder(method, tmp_path, capsys):
    import tomli_w

    path = tmp_path / "toy.toml"
    path.write_text(tomli_w.dumps(TOY))
    out = tmp_path / method
    code = main(["invert", str(path), "--method", method, "--out", str(out), "--device", "cpu",
                 "--set", "data.noise=1.0", "--set", "data.shots=3"])
    _, err = capsys.readouterr()
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == method and metrics["iterations"] == 4
    assert np.isfinite(metrics["mse"])
    record = json.loads((out / "data.json").read_text())
    assert record["shots_kept"] == [0, 2, 4] and record["noise_k"] == 1.0
