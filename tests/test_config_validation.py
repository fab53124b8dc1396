"""Issue 12: every config field's range is checked when a config is loaded, the message names the
key the user wrote; a run too large for memory is refused before anything is allocated; and each
bad input through the CLI exits 2 with one line naming the key or the file, writing nothing."""

import dataclasses
import math
import typing

import numpy as np
import pytest

from crfwi import config_rules, resources
from crfwi.cli import main
from crfwi.config import ConfigError, RunConfig, config_from_dict, load_config, read_toml
from toy import TOY_HEAD


def _fields():
    """(key, type) of every field of every section, read from the dataclasses, so that a new
    field is tested (and must have a rule and an entry in OUT_OF_RANGE) without being listed."""
    out = []
    for name, kind in typing.get_type_hints(RunConfig).items():
        if dataclasses.is_dataclass(kind):
            out += [(f"{name}.{sub}", subkind) for sub, subkind in typing.get_type_hints(kind).items()]
        else:
            out.append((name, kind))
    return out


FIELDS = dict(_fields())


def _data(key, value):
    """Config data setting ``key`` (``section.field`` or a top-level field) to ``value``."""
    section, _, name = key.rpartition(".")
    return {section: {name: value}} if section else {name: value}


def _refused(key, value):
    with pytest.raises(ConfigError) as info:
        config_from_dict(_data(key, value))
    message = str(info.value)
    assert f"`{key}`" in message, message
    assert "\n" not in message
    return message


# A value of the right type outside the field's range; None: every value of the type is valid
# (free text, flags, option tables checked by the code that takes them).
OUT_OF_RANGE = {
    "seed": -1, "name": "a/b", "preset": "nope", "scale": "huge", "note": None,
    "model.name": "marmousy", "model.nz": -1, "model.ny": -1, "model.nx": -1, "model.spacing": -5.0,
    "model.origin": [0.0], "model.window": [100.0, 0.0], "model.data_dir": None,
    "model.options": None,
    "survey.n_shots": 0, "survey.shot_spacing": -1.0, "survey.first_shot": -2.0,
    "survey.shots": [-10.0], "survey.shot_grid": [0, 2], "survey.receiver_spacing": -1.0, "survey.source_depth": -0.5,
    "survey.receiver_depth": -3.0, "survey.freq": 0.0, "survey.delay": -0.1, "survey.dt": 0.0,
    "survey.nt": 0, "survey.free_surface": None, "survey.pml_width": -1,
    "data.noise": -1.0, "data.noise_seed": -2, "data.highpass": -1.0, "data.highpass_order": 0,
    "data.shots": -1,
    "initial.kind": "smoth", "initial.sigma": -1.0, "initial.v_top": -1.0,
    "initial.v_bottom": -1.0, "initial.value": -1.0, "initial.constant": "median",
    "initial.path": None,
    "physics.accuracy": 5, "physics.max_vel": -1.0, "physics.pml_freq": -1.0,
    "physics.storage": "gpu", "physics.storage_compression": None,
    "physics.gradient_sampling_interval": 0, "physics.checkpoint_segments": -1,
    "physics.shot_chunk": -1, "physics.min_points_per_wavelength": 0.0,
    "representation.options": None, "representation.output_scale": -1.0,
    "representation.start": "centered",
    "inversion.method": "pixle", "inversion.iterations": -1, "inversion.lr": -1e-3,
    "inversion.grid_lr": -1.0, "inversion.shots_per_iteration": -1, "inversion.misfit": "l3",
    "inversion.misfit_options": None, "inversion.regularizer": "tikhonov",
    "inversion.regularizer_options": None, "inversion.bands": [0.0],
    "inversion.band_iterations": -1, "inversion.vmin": -1.0, "inversion.vmax": -1.0,
    "inversion.bound_gradient": "clamp", "inversion.fix_water": None,
    "inversion.max_depth": -1.0,
    "output.metrics_every": 0, "output.checkpoint_every": -3, "output.ntk_every": -1,
    "output.ntk_eigs": 0, "output.figures": None, "output.progress": None, "output.models_every": -1,
    "field.data": "line.txt", "field.zero_scalar_as_one": None, "field.endian": "middle",
    "field.sample_interval": -0.001, "field.origin": [1.0], "field.dt": -0.002, "field.nt": -1,
    "field.record_length": -1.0, "field.pad_record": None, "field.f_low": -1.0,
    "field.f_high": -1.0, "field.mute_velocity": -1.0, "field.mute_t0": -0.1,
    "field.mute_taper": -0.1, "field.bottom_mute_velocity": -1.0, "field.bottom_mute_t0": -0.1,
    "field.bottom_mute_taper": -0.1, "field.min_offset": -1.0, "field.max_offset": -1.0,
    "field.normalise": "l2", "field.wavelet": "ricker",
    "field.wavelet_dt": -1.0, "field.wavelet_damping": -1.0, "field.wavelet_max_offset": -1.0,
    "field.wavelet_every": -1, "physics.courant_number": -0.5,
    "field.well_log": "log.las", "field.well_x": None, "field.water_depth": -1.0,
    "field.water_velocity": 0.0, "field.true_model": "truth.segy", "field.keep_best_well": None,
}

WRONG_TYPE = {int: "x", float: "x", str: 3, bool: 1, list: "x", dict: [1]}

# Values that mean "the default" in a section's docstring: they must stay accepted.
SENTINELS = [
    ("model.nz", 0), ("model.ny", 0), ("survey.shot_grid", []), ("model.spacing", 0.0), ("model.window", []), ("survey.first_shot", -1.0),
    ("survey.shot_spacing", 0.0), ("survey.receiver_spacing", 0.0), ("survey.source_depth", -1.0),
    ("survey.receiver_depth", -1.0), ("survey.delay", -1.0), ("survey.shots", []),
    ("data.noise_seed", -1), ("data.highpass", 0.0), ("data.shots", 0), ("initial.v_top", 0.0),
    ("initial.value", 0.0), ("physics.max_vel", 0.0), ("physics.pml_freq", 0.0),
    ("physics.checkpoint_segments", 0), ("physics.shot_chunk", 0),
    ("representation.output_scale", 0.0), ("inversion.lr", 0.0), ("inversion.grid_lr", 0.0),
    ("inversion.shots_per_iteration", 0), ("inversion.misfit", ""), ("inversion.regularizer", ""),
    ("inversion.bands", []), ("inversion.band_iterations", 0), ("inversion.vmin", 0.0),
    ("inversion.vmax", 0.0), ("output.ntk_every", 0), ("preset", ""),
    ("field.data", ""), ("field.origin", []), ("field.wavelet", ""), ("field.normalise", ""),
]


def test_every_field_has_a_rule_and_an_out_of_range_entry():
    assert set(config_rules.RULES) == set(FIELDS), "a field without a rule, or a rule without a field"
    assert set(OUT_OF_RANGE) == set(FIELDS), "add the new field to OUT_OF_RANGE (None: no range)"


def test_the_defaults_pass_every_rule():
    assert config_from_dict({}) == RunConfig()


@pytest.mark.parametrize("key", sorted(FIELDS))
def test_a_wrong_type_names_the_key(key):
    _refused(key, WRONG_TYPE[FIELDS[key]])


@pytest.mark.parametrize("key", sorted(k for k, v in OUT_OF_RANGE.items() if v is not None))
def test_an_out_of_range_value_names_the_key(key):
    _refused(key, OUT_OF_RANGE[key])


def _non_finite(key):
    if FIELDS[key] in (int, float):
        return [math.nan, math.inf, -math.inf]
    if isinstance(config_rules.RULES[key], config_rules.Numbers):
        width = 2 if key in ("model.origin", "model.window", "field.origin") else 1
        return [[bad] + [1.0] * (width - 1) for bad in (math.nan, math.inf)]
    return []


NON_FINITE = [(key, value) for key in sorted(FIELDS) for value in _non_finite(key)]


@pytest.mark.parametrize("key, value", NON_FINITE, ids=[f"{k}={v}" for k, v in NON_FINITE])
def test_a_non_finite_value_names_the_key(key, value):
    _refused(key, value)


def test_every_number_field_is_checked_for_non_finite_values():
    numbers = {k for k, kind in FIELDS.items() if kind in (int, float)}
    lists = {k for k, rule in config_rules.RULES.items() if isinstance(rule, config_rules.Numbers)}
    assert numbers | lists == {k for k, _ in NON_FINITE}


@pytest.mark.parametrize("key, value", SENTINELS)
def test_documented_defaults_are_still_accepted(key, value):
    config_from_dict(_data(key, value))


_FIELD = {"field": {"data": "line.sgy"}, "model": {"nz": 20, "nx": 40, "spacing": 10.0},
          "initial": {"kind": "linear", "v_top": 1500.0, "v_bottom": 2500.0}}


@pytest.mark.parametrize("data, keys", [
    ({"inversion": {"vmin": 3000.0, "vmax": 2000.0}}, ["inversion.vmin", "inversion.vmax"]),
    ({"data": {"highpass": 130.0}, "survey": {"dt": 0.004}}, ["data.highpass", "survey.dt"]),
    ({"inversion": {"bands": [4.0, 300.0]}}, ["inversion.bands", "survey.dt"]),
    ({"survey": {"dt": 0.1}}, ["survey.dt", "survey.freq"]),
    ({"survey": {"first_shot": 100.0}}, ["survey.first_shot", "survey.shot_spacing"]),
    ({"physics": {"gradient_sampling_interval": 3}}, ["physics.gradient_sampling_interval", "survey.nt"]),
    ({"physics": {"checkpoint_segments": 900}}, ["physics.checkpoint_segments", "survey.nt"]),
    ({"data": {"shots": 9}}, ["data.shots", "survey.n_shots"]),
    ({"data": {"shots": 3}, "survey": {"shots": [10.0, 20.0]}}, ["data.shots", "survey.shots"]),
    ({"initial": {"path": "m0.npy"}}, ["initial.path", "initial.kind"]),
    ({"initial": {"kind": "linear", "value": 2000.0}}, ["initial.value", "initial.kind"]),
    ({"initial": {"kind": "file"}}, ["initial.kind", "initial.path"]),
    # A field run (issue 13): [field] keys need field.data; synthetic keys do not apply to it.
    ({"field": {"f_low": 3.0}}, ["field.f_low", "field.data"]),
    ({"initial": {"kind": "well"}}, ["initial.kind", "field.data"]),
    (dict(_FIELD, survey={"nt": 500}), ["survey.nt", "field.nt"]),
    (dict(_FIELD, model={"nz": 20, "nx": 40}), ["model.spacing", "field.data"]),
    (dict(_FIELD, data={"highpass": 3.0}), ["data.highpass", "field.f_low"]),
    (dict(_FIELD, field={"data": "a.sgy", "nt": 100, "record_length": 1.0}),
     ["field.nt", "field.record_length"]),
    (dict(_FIELD, field={"data": "a.sgy", "f_low": 9.0, "f_high": 5.0}),
     ["field.f_low", "field.f_high"]),
    (dict(_FIELD, field={"data": "a.sgy", "dt": 0.004, "f_high": 200.0}),
     ["field.f_high", "field.dt"]),
    (dict(_FIELD, field={"data": "a.sgy", "dt": 0.004, "nt": 301},
          physics={"gradient_sampling_interval": 2}), ["physics.gradient_sampling_interval",
                                                        "field.nt"]),
    (dict(_FIELD, field={"data": "a.sgy", "mute_t0": 0.1}), ["field.mute_t0", "field.mute_velocity"]),
    (dict(_FIELD, field={"data": "a.sgy", "bottom_mute_taper": 0.2}),
     ["field.bottom_mute_taper", "field.bottom_mute_velocity"]),
    (dict(_FIELD, field={"data": "a.sgy", "min_offset": 500.0, "max_offset": 400.0}),
     ["field.max_offset", "field.min_offset"]),
    (dict(_FIELD, field={"data": "a.sgy", "wavelet_max_offset": 500.0}),
     ["field.wavelet_max_offset", "field.wavelet"]),
    (dict(_FIELD, initial={"kind": "smooth"}), ["initial.kind"]),
    (dict(_FIELD, initial={"kind": "linear", "v_top": 1500.0}), ["initial.kind", "initial.v_bottom"]),
    (dict(_FIELD, initial={"kind": "well"}), ["initial.kind", "field.well_log"]),
    (dict(_FIELD, inversion={"fix_water": True}), ["inversion.fix_water", "field.water_depth"]),
])
def test_checks_between_fields_name_both_keys(data, keys):
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    for key in keys:
        assert key in str(info.value), str(info.value)


def test_a_field_run_config_loads():
    config = config_from_dict(dict(_FIELD, field={"data": "line.sgy", "wavelet": "estimate",
                                                  "f_low": 3.0, "mute_velocity": 1500.0,
                                                  "origin": [0.0, 250.0]}))
    assert config.field.data == "line.sgy" and config.field.origin == [0.0, 250.0]


def test_the_fields_a_preset_reads_are_checked_before_it_is_expanded():
    for data, key in (({"preset": "salt", "model": {"data_dir": 3}}, "model.data_dir"),
                      ({"preset": "salt", "scale": 3}, "scale"), ({"preset": ["salt"]}, "preset")):
        with pytest.raises(ConfigError, match=f"`{key}` must be a string"):
            config_from_dict(data)


def test_an_explicitly_empty_shot_list_is_refused_in_user_input(tmp_path):
    # The resolved config of every run records the default spread as [] (and must still load).
    assert config_from_dict({"survey": {"shots": []}}).survey.shots == []
    path = tmp_path / "c.toml"
    path.write_text("[survey]\nshots = []\n")
    with pytest.raises(ConfigError, match="`survey.shots` is an empty list"):
        load_config(path)
    with pytest.raises(ConfigError, match="`survey.shots` is an empty list"):
        load_config(None, ["survey.shots=[]"])


def test_a_run_folders_resolved_config_loads_as_written(tmp_path):
    """crfwi writes the default spread as [] with a [meta] table: re-running or analysing a run
    from its config.resolved.toml must work (benchmarks/method_audit.py, ig_branches.py do)."""
    from crfwi import io
    from crfwi.config import config_to_dict

    data = config_to_dict(config_from_dict({}))
    data["meta"] = {"crfwi_version": "x"}
    path = tmp_path / "config.resolved.toml"
    io.save_toml(path, data)
    assert load_config(path).survey.shots == []


def test_a_binary_config_file_is_named(tmp_path):
    path = tmp_path / "model.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ConfigError, match=f"{path} is not a TOML text file"):
        read_toml(path)


# ------------------------------------------------------------------------------------------------
# Memory: estimated from the sizes, refused before allocating

def test_the_history_term_is_deepwaves_backward_storage():
    deepwave = pytest.importorskip("deepwave")
    if not hasattr(deepwave, "estimate_memory"):
        pytest.skip("this deepwave has no estimate_memory")
    for free_surface, pml in ((True, [0, 20, 20, 20]), (False, 20)):
        ours = resources.estimate_memory_bytes(nz=40, nx=120, nt=500, n_shots=4, n_receivers=120,
                                               free_surface=free_surface, accuracy=8)
        theirs = deepwave.estimate_memory("scalar", (40, 120), 500, 4, accuracy=8, pml_width=pml,
                                          models_requiring_grad=["v"])
        history = {t.what: t.bytes for t in ours.terms}[resources.HISTORY]
        assert history == theirs["backward_storage_bytes"]


def test_the_estimate_follows_the_memory_levers():
    def history(**kw):
        args = dict(nz=40, nx=120, nt=600, n_shots=8, n_receivers=120) | kw
        return {t.what: t for t in resources.estimate_memory_bytes(**args).terms}.get(resources.HISTORY)

    full = history().bytes
    assert history(shots_at_once=2).bytes == full // 4
    assert history(checkpoint_segments=3).bytes == full // 3
    assert history(gradient_sampling_interval=2).bytes == full // 2
    assert history(storage_compression=True).bytes == full // 4
    assert history(storage="disk") is None and history(storage="none") is None
    assert history(storage="cpu", device="cuda").where == "host"
    assert history(device="cuda").where == "device"
    # Any size can be estimated, however absurd: plain integers, no overflow.
    huge = resources.estimate_memory_bytes(nz=10, nx=10, nt=10**20, n_shots=1, n_receivers=10)
    assert huge.total() > 10**21


def test_check_memory_names_the_largest_part_and_its_keys():
    estimate = resources.estimate_memory_bytes(nz=40, nx=120, nt=10**8, n_shots=8, n_receivers=120)
    with pytest.raises(ConfigError) as info:
        resources.check_memory(estimate, available={"host": 16 * 10**9})
    message = str(info.value)
    assert "16 GB is free" in message and "wavefield history" in message
    assert "survey.nt" in message and "physics.shot_chunk" in message and "\n" not in message
    resources.check_memory(estimate, available={"host": None})  # unknown: nothing refused
    small = resources.estimate_memory_bytes(nz=40, nx=120, nt=500, n_shots=8, n_receivers=120)
    resources.check_memory(small, available={"host": 10**9})


def test_available_memory_is_read():
    free = resources.available_memory_bytes()
    assert free is None or free > 0
    assert resources.available_memory_bytes("device", "cpu") is None


TOY = TOY_HEAD + """[inversion]
iterations = 2
[output]
figures = false
progress = false
"""


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(TOY)
    return path


def test_the_gradient_history_is_checked_before_the_first_simulation(toy, monkeypatch):
    from crfwi.experiment import build_experiment

    # 2 MB: enough for the models, data and forward wavefields (< 0.5 MB), not for the
    # 11 MB of wavefield history the gradient of 4 shots at once needs.
    monkeypatch.setattr(resources, "available_memory_bytes", lambda *a, **k: 2 * 10**6)
    experiment = build_experiment(load_config(toy), device="cpu")
    monkeypatch.setattr(type(experiment), "clean_data", lambda self: pytest.fail("simulated"))
    with pytest.raises(ConfigError, match="wavefield history.*physics.shot_chunk"):
        experiment.observed_data_and_record()
    experiment = build_experiment(load_config(toy, ["physics.shot_chunk=1",
                                                    "physics.checkpoint_segments=4"]), device="cpu")
    experiment.check_memory()  # 11 MB / 4 shots / 4 segments fits


# ------------------------------------------------------------------------------------------------
# The CLI: exit 2, one line naming the key or the file, no run folder

def _npy(tmp_path, name, array):
    np.save(tmp_path / name, array)
    return ["--set", 'initial.kind="file"', "--set", f'initial.path="{tmp_path / name}"']


CLI_CASES = {
    "negative iterations": (["--set", "inversion.iterations=-1"], "`inversion.iterations`"),
    "nt 1e12": (["--set", "survey.nt=1e12"], "survey.nt"),
    "nt 1e20": (["--set", "survey.nt=1e20"], "survey.nt"),
    "nt 1e8": (["--set", "survey.nt=1e8"], "survey.nt"),
    "huge grid": (["--set", "model.nz=1000000", "--set", "model.nx=1000000"], "model.nz"),
    "strings in the initial file": ("strings.npy", "strings.npy"),
    "complex initial file": ("complex.npy", "complex.npy"),
    "initial file of the wrong shape": ("shape.npy", "shape.npy"),
    "negative checkpoint_every": (["--set", "output.checkpoint_every=-3"], "`output.checkpoint_every`"),
    "empty shot list": (["--set", "survey.shots=[]"], "`survey.shots`"),
    "negative spacing": (["--set", "model.spacing=-5"], "`model.spacing`"),
    "a word as a shot": (["--set", 'survey.shots=["a"]'], "`survey.shots`"),
    "nan frequency": (["--set", "survey.freq=nan"], "`survey.freq`"),
    "unknown model option": (["--set", "model.options.depth=3"], "`model.options`"),
    "binary config": ("binary", "bad.toml"),
}
FILES = {"strings.npy": np.full((16, 32), "2000"), "complex.npy": np.full((16, 32), 2000 + 1j),
         "shape.npy": np.full((16, 31), 2000.0)}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_bad_input_exits_2_with_one_line(case, toy, tmp_path, capsys, monkeypatch):
    args, expected = CLI_CASES[case]
    # The run's memory need does not depend on the machine's: 16 GB free, as on a laptop.
    monkeypatch.setattr(resources, "available_memory_bytes",
                        lambda where="host", device="cpu": 16 * 10**9 if where == "host" else None)
    config = toy
    if args == "binary":
        config = tmp_path / "bad.toml"
        config.write_bytes(b"\xff\xfe\x00[model]\x80")
        args = []
    elif isinstance(args, str):
        args = _npy(tmp_path, args, FILES[args])
    out = tmp_path / "never"
    code = main(["invert", str(config), "--out", str(out), "--device", "cpu", *args])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("crfwi: error:"), err
    assert expected in err, err
    assert not out.exists()
