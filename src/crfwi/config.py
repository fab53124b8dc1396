"""Run configuration: TOML in, typed dataclasses out, every key checked.

Every field's type and range are checked when a config is loaded (ranges and checks between
fields: :mod:`crfwi.config_rules`); a mistake raises :class:`ConfigError` naming the key.

A config file has the sections below (all optional; defaults shown by ``crfwi invert --help`` and
in README). ``--set section.key=value`` overrides any field, the value parsed as a TOML literal
(``--set inversion.iterations=50``, ``--set model.name=marmousi``).

    seed = 0
    name = "demo"
    preset = ""       # a paper setup (crfwi.presets): fills model/survey/initial/bounds
    scale = "paper"   # the preset's scale: paper | cpu
    note = ""         # free text carried into every output (presets mark stand-ins here)
    [model]           # the true model: zoo name, grid, crop origin
    [survey]          # acquisition and wavelet
    [data]            # degraded observed data: noise, low-cut, fewer shots
    [initial]         # the initial model m0
    [physics]         # solver options (accuracy, max_vel, storage…)
    [representation]  # options of the representation ([representation.options])
    [inversion]       # method, iterations, learning rates, shot batches, bounds
    [output]          # how often to record metrics and checkpoints, figures
    [field]           # a user's own survey (SEG-Y) instead of a synthetic true model
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RunConfig", "ConfigError", "load_config", "config_from_dict", "config_to_dict",
           "apply_overrides", "expand_preset", "merge_config", "check_user_input"]


class ConfigError(ValueError):
    """A configuration mistake; the message names the key and what to change."""


@dataclass
class ModelSection:
    """The true model. ``name`` is a zoo name (``crfwi models`` lists them).

    ``nz``/``nx``/``spacing`` request a grid (0 = the benchmark file's own); ``origin`` = (z, x)
    in metres is the top-left corner of the window cut from a benchmark file; ``window`` =
    (depth, width) in metres of the file resampled onto the grid (the geology is then scaled to
    the grid's spacing, as the paper's grids are; empty = the grid's own extent, no scaling);
    ``options`` go to a procedural generator; ``data_dir`` overrides $CRFWI_DATA_DIR.

    3-D (issue 15): ``ny`` > 0 cells along the crossline y makes the run 3-D, on a
    ``[nz, ny, nx]`` grid of one ``spacing`` on every axis; it needs a 3-D ``name``
    (``thrust_fold3d``, ``overthrust3d``: crfwi.models.zoo3d) and ``nz``/``nx``/``spacing``;
    ``origin`` and ``window`` then read [z, y, x] and [depth, y width, x width].
    """

    name: str = "layered"
    nz: int = 0
    ny: int = 0
    nx: int = 0
    spacing: float = 0.0
    origin: list = field(default_factory=lambda: [0.0, 0.0])
    window: list = field(default_factory=list)
    data_dir: str = ""
    options: dict = field(default_factory=dict)


@dataclass
class SurveySection:
    """Surface acquisition (metres, seconds, Hz). ``n_shots`` span the width unless
    ``shot_spacing`` is set (then centred, or from ``first_shot``; -1 = centred); ``shots`` lists
    the source positions instead (leave it out for the even spread; an empty list is refused);
    receivers every ``receiver_spacing`` m (0 = every column); ``source_depth`` and
    ``receiver_depth`` -1 = one cell below the top; ``delay`` (time of the wavelet's peak)
    -1 = 1.5 / ``freq``.

    3-D (``model.ny`` > 0): ``shot_grid`` = [n_y, n_x] shots on a surface grid (numbered x
    fastest), ``shot_spacing`` apart along both axes and centred (0 = spanning the surface);
    receivers every ``receiver_spacing`` m along y and x; ``n_shots``, ``shots`` and
    ``first_shot`` are 2-D only. [] = a 2-D survey."""

    n_shots: int = 8
    shot_spacing: float = 0.0
    first_shot: float = -1.0
    shots: list = field(default_factory=list)
    shot_grid: list = field(default_factory=list)
    receiver_spacing: float = 0.0
    source_depth: float = -1.0
    receiver_depth: float = -1.0
    freq: float = 8.0
    delay: float = -1.0
    dt: float = 0.002
    nt: int = 800
    free_surface: bool = True
    pml_width: int = 20


@dataclass
class DataSection:
    """Degraded observed data (PAPER.md §4.1's Marmousi scenarios), applied to the observed data
    only and recorded in the run folder (``data.json``).

    ``noise`` k: add white Gaussian noise of standard deviation k·σ0, σ0 = the clean data's
    standard deviation (paper: 4 and 8), seeded by ``noise_seed`` (-1 = the run's seed).
    ``highpass``: remove the low frequencies below this many Hz (paper: 4 and 6) with a
    zero-phase Butterworth of ``highpass_order`` (``highpass`` 0 = off); the predicted data keep
    theirs.
    ``shots``: keep this many of the survey's shots, spread evenly with the first and last
    (paper: 9 and 5 of 13; 0 = all); the receivers stay.
    """

    noise: float = 0.0
    noise_seed: int = -1
    highpass: float = 0.0
    highpass_order: int = 6
    shots: int = 0


@dataclass
class InitialSection:
    """The initial model m0: ``kind`` = smooth | linear | constant | file (see crfwi.models.zoo);
    ``sigma`` (smooth) in metres; ``v_top``/``v_bottom`` (linear) 0 = from the true model;
    ``constant`` = mean | minimum: which velocity a ``constant`` m0 takes when ``value`` is 0
    (the true model's mean, the default, or its minimum; crfwi.models.zoo.CONSTANT_READINGS);
    ``path`` (file): a ``.npy`` of real numbers, shape [nz, nx], finite and positive (m/s)."""

    kind: str = "smooth"
    sigma: float = 250.0
    v_top: float = 0.0
    v_bottom: float = 0.0
    value: float = 0.0
    constant: str = "mean"
    path: str = ""


@dataclass
class PhysicsSection:
    """Wave-solver options; ``max_vel`` 0 = the upper velocity bound, ``pml_freq`` 0 = the wavelet's
    peak frequency, ``courant_number`` 0 = deepwave's default (0.6; see
    :class:`crfwi.physics.solver.SolverOptions`)."""

    accuracy: int = 8
    max_vel: float = 0.0
    pml_freq: float = 0.0
    storage: str = "device"
    storage_compression: bool = False
    gradient_sampling_interval: int = 1
    checkpoint_segments: int = 0
    shot_chunk: int = 0
    min_points_per_wavelength: float = 5.0
    courant_number: float = 0.0


@dataclass
class RepresentationSection:
    """Options of the representation named by ``inversion.method``, its output scale (m/s per
    unit output; 0 = the representation's default) and how m_θ starts: ``start = "centred"``
    subtracts the network's initial output so that m_θ0 = m0 exactly (the NTK is unchanged),
    ``"raw"`` is the literal m0 + F_θ (see crfwi.representations.VelocityModel)."""

    options: dict = field(default_factory=dict)
    output_scale: float = 0.0
    start: str = "centred"


@dataclass
class InversionSection:
    """The optimisation: Adam on the ``misfit`` for ``iterations`` steps.

    ``method``: a name from ``crfwi methods`` (a representation such as ``ig``, or a baseline
    such as ``adfwi-tv``; the paper's names work too). Empty ``misfit``, ``regularizer`` and
    ``bands`` mean the method's own (l2, none and none except for WECI-FWI, ADFWI-TV and
    MS-FWI); ``misfit_options`` / ``regularizer_options`` are keyword options of the misfit
    (crfwi.methods.misfits.build) and of the TV schedule (crfwi.methods.regularizers.TVSchedule).
    ``bands``: MS-FWI low-pass cut-offs (Hz) fitted one after the other, ``band_iterations``
    each (0 = ``iterations`` split evenly; the last band runs to the end).
    ``lr`` 0 = the method's default (5 for pixel, 1e-4 for networks); ``grid_lr`` 0 = ``lr``.
    ``shots_per_iteration`` 0 = all shots every step, else a random batch per step.
    ``vmin``/``vmax`` 0 = 0.9 × / 1.1 × the range of the true and initial models;
    ``bound_gradient``: "inward" (default: a cell outside the bounds keeps the gradient that
    brings it back, not one that pushes it further out), "straight-through" (keeps every gradient;
    let networks run away on the salt stand-in) or "zero" (a plain clamp, which freezes cells
    outside the bounds); crfwi.representations.bound.
    ``fix_water`` keeps the water layer (cells of water velocity at the top) at m0.
    ``max_depth`` (m, 0 = none) keeps every cell deeper than it at m0: a depth limit on the
    update, for data that do not constrain the deep model (no diving waves reach it and the
    reflections hold physics the solver lacks, e.g. elastic data fitted acoustically).
    """

    method: str = "pixel"
    iterations: int = 100
    lr: float = 0.0
    grid_lr: float = 0.0
    shots_per_iteration: int = 0
    misfit: str = ""
    misfit_options: dict = field(default_factory=dict)
    regularizer: str = ""
    regularizer_options: dict = field(default_factory=dict)
    bands: list = field(default_factory=list)
    band_iterations: int = 0
    vmin: float = 0.0
    vmax: float = 0.0
    bound_gradient: str = "inward"
    fix_water: bool = False
    max_depth: float = 0.0


@dataclass
class OutputSection:
    """``metrics_every`` k >= 1: metrics vs the true model every k iterations (and the last);
    ``checkpoint_every`` k >= 1: how often the run becomes resumable; ``ntk_every`` k > 0: record the
    wave-based NTK's top ``ntk_eigs`` eigenvalues and its relative change since iteration 0 every
    k iterations (matrix-free estimates, :class:`crfwi.analysis.ntk.KernelMonitor`; each costs a few
    dozen Born + adjoint solves) into ``ntk_drift.json``; 0 = off. ``models_every`` k > 0: keep
    the model every k iterations as ``models/iteration_NNNNNN.npy`` (m/s; iteration 0 = m0), for
    judging a run after the fact (e.g. its misfit on shots it never used); 0 = off."""

    metrics_every: int = 10
    checkpoint_every: int = 10
    ntk_every: int = 0
    ntk_eigs: int = 5
    models_every: int = 0
    figures: bool = True
    progress: bool = True


@dataclass
class FieldSection:
    """A user's own survey (issue 13): ``data`` = a SEG-Y line (``.sgy``/``.segy``) or an
    ``.npz`` (``data`` [S, R, nt], ``dt``, ``source_x`` [S], ``receiver_x`` [R] or [S, R],
    optional ``source_depth``/``receiver_depth``/``t0``); "" = a synthetic run. Paths are
    relative to the working directory. With ``data`` set there is no true model: ``[model]``
    gives only the grid (``nz``, ``nx``, ``spacing``), the geometry comes from the file,
    ``[survey]`` keeps ``freq`` (the dominant frequency: PML, grid sampling check, the Ricker),
    ``delay``, ``free_surface`` and ``pml_width``, ``data.shots`` keeps that many shots.

    Reading (crfwi.field.segy): ``zero_scalar_as_one``, ``endian`` (big | little),
    ``sample_interval`` (s; 0 = from the headers). ``origin`` = [z0, x0]: depth below the datum
    and inline position (m, line coordinates) of cell (0, 0); [] = automatic: the survey centred
    laterally (on a whole number of cells from its first position) and, with a free surface,
    z0 = min(dz, the shallowest source or receiver depth): deepwave's free surface lies one cell
    above row 0, so it falls on the datum (crfwi.field.survey.automatic_origin); without one,
    z0 = min(0, that depth). The run's data.json records ``free_surface_depth_m``.

    Modelling time axis: ``dt`` (s; 0 = the file's), ``nt`` or ``record_length`` (s; both 0 = the
    file's record); ``pad_record`` pads a shorter record with zeros. Preprocessing, applied to
    observed and predicted data alike (crfwi.field.preprocess): band ``f_low``/``f_high`` (Hz;
    0 = open), top mute at ``mute_velocity`` (m/s; 0 = none) from ``mute_t0`` with a
    ``mute_taper`` (s), bottom mute (keep what arrives before the line) likewise with
    ``bottom_mute_velocity``/``_t0``/``_taper``, offset window ``min_offset``/``max_offset`` (m;
    0 = open), trace normalisation ``normalise`` = "" | max | rms.

    Wavelet: "" = the Ricker of survey.freq, ``"estimate"`` = least squares at m0 (Pratt 1999;
    ``wavelet_damping``, traces within ``wavelet_max_offset`` m, 0 = all), or a file (.npy
    sampled at ``wavelet_dt`` s, 0 = the modelling dt; .sgy/.segy: its first trace).
    ``wavelet_every`` k > 0 (with "estimate"): estimate it again at the current model every k
    iterations (the estimate at m0 absorbs m0's errors; wavelets.json records each estimate).

    ``well_log``: a two-column text/CSV file, depth below the datum (m) and velocity (m/s), at
    inline ``well_x`` (m): m0 of ``initial.kind = "well"`` and the QC comparison; the history
    scores the model at the well (``well_rms``) every ``output.metrics_every`` iterations.
    ``keep_best_well``: also keep the model of the lowest ``well_rms`` so far as
    ``best_well_model.npy`` (a stopping rule from the survey's own well: acoustic runs of
    elastic data semi-converge, BENCHMARKS.md §12); metrics.json's ``best_well`` says where.
    ``water_depth`` (m, 0 = none): cells above it take ``water_velocity`` in m0 (and are the cells
    ``inversion.fix_water`` keeps).

    ``true_model``: a ``.npy`` [nz, nx] (m/s) on the inversion grid, for a benchmark whose truth
    is known (crfwi make-data's ``truth_vp.npy``): the history and metrics.json then score every
    iteration against it as a synthetic run's do; "" (real data) = scored on the data only.
    """

    data: str = ""
    zero_scalar_as_one: bool = False
    endian: str = "big"
    sample_interval: float = 0.0
    origin: list = field(default_factory=list)
    dt: float = 0.0
    nt: int = 0
    record_length: float = 0.0
    pad_record: bool = False
    f_low: float = 0.0
    f_high: float = 0.0
    mute_velocity: float = 0.0
    mute_t0: float = 0.0
    mute_taper: float = 0.05
    bottom_mute_velocity: float = 0.0
    bottom_mute_t0: float = 0.0
    bottom_mute_taper: float = 0.05
    min_offset: float = 0.0
    max_offset: float = 0.0
    normalise: str = ""
    wavelet: str = ""
    wavelet_dt: float = 0.0
    wavelet_damping: float = 1e-3
    wavelet_max_offset: float = 0.0
    wavelet_every: int = 0
    well_log: str = ""
    well_x: float = 0.0
    keep_best_well: bool = False
    water_depth: float = 0.0
    water_velocity: float = 1500.0
    true_model: str = ""


@dataclass
class RunConfig:
    seed: int = 0
    name: str = "run"
    preset: str = ""
    scale: str = "paper"
    note: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    survey: SurveySection = field(default_factory=SurveySection)
    data: DataSection = field(default_factory=DataSection)
    initial: InitialSection = field(default_factory=InitialSection)
    physics: PhysicsSection = field(default_factory=PhysicsSection)
    representation: RepresentationSection = field(default_factory=RepresentationSection)
    inversion: InversionSection = field(default_factory=InversionSection)
    output: OutputSection = field(default_factory=OutputSection)
    field: FieldSection = field(default_factory=FieldSection)


# Top-level tables the loader accepts but does not turn into fields (written by crfwi itself).
_IGNORED_TABLES = ("meta",)


_KIND_NAMES = {bool: "true or false", str: "a string", list: "a list", dict: "a table"}


def _coerce(value: Any, kind: Any, where: str) -> Any:
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"`{where}` must be a number, got {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"`{where}` must be an integer, got {value!r}")
        return value
    if not isinstance(value, kind):
        raise ConfigError(f"`{where}` must be {_KIND_NAMES[kind]}, got {value!r}")
    return value


def _build(cls: type, data: dict, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields and not (prefix == "" and k in _IGNORED_TABLES)]
    if unknown:
        where = f"[{prefix.rstrip('.')}]" if prefix else "the top level"
        raise ConfigError(f"unknown config key `{prefix}{unknown[0]}`; valid keys in {where}: "
                          f"{', '.join(fields)}")
    kwargs = {}
    for name, value in data.items():
        if name in _IGNORED_TABLES and prefix == "":
            continue
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise ConfigError(f"`{prefix}{name}` must be a table [{prefix}{name}]")
            kwargs[name] = _build(kind, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, kind, prefix + name)
    return cls(**kwargs)


def merge_config(base: dict, top: dict) -> dict:
    """Config data ``top`` over ``base``, table by table, at any depth (a new dict; neither
    argument is modified, and the result shares no table with them)."""
    import copy

    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def expand_preset(data: dict) -> dict:
    """Fill the fields of the preset ``data`` names (``preset``, ``scale``) under the fields it
    sets itself; data without a preset is returned unchanged. A preset's stand-in note is kept
    even when ``data`` has a note of its own."""
    name = data.get("preset") or ""
    if not name:
        return data
    if not isinstance(name, str):
        raise ConfigError(f"`preset` must be a string, got {name!r}")
    from . import presets

    scale = data.get("scale") or "paper"
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    # The preset reads model.data_dir before the fields are built and checked.
    data_dir = _coerce(model.get("data_dir", ""), str, "model.data_dir")
    base = presets.preset_data(name, scale, data_dir=data_dir or None)
    merged = merge_config(base, data)
    if base["note"] and base["note"] not in str(merged.get("note", "")):
        merged["note"] = "; ".join(n for n in (base["note"], str(data.get("note", ""))) if n)
    merged["scale"] = scale
    return merged


def _check_ranges(config: Any, prefix: str = "") -> None:
    """Every field of ``config`` against its rule in config_rules.RULES, section by section in
    the dataclasses' order; the first refused field is reported."""
    from . import config_rules

    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            _check_ranges(value, f"{prefix}{f.name}.")
            continue
        message = config_rules.problem(prefix + f.name, value)
        if message:
            raise ConfigError(message)


def config_from_dict(data: dict) -> RunConfig:
    """Build and check a :class:`RunConfig` from nested dicts (as parsed from TOML), after
    filling in the preset it names (:func:`expand_preset`): types, then each field's range,
    then the checks between fields (:mod:`crfwi.config_rules`)."""
    from . import config_rules

    # The preset is expanded before the fields are built: check its name (and scale) first so
    # that a typo is reported against the key, like any other field.
    for key in ("preset", "scale"):
        if data.get(key):
            message = config_rules.problem(key, _coerce(data[key], str, key))
            if message:
                raise ConfigError(message)
    config = _build(RunConfig, expand_preset(data), "")
    _check_ranges(config)
    for check in config_rules.CROSS_CHECKS:
        message = check(config)
        if message:
            raise ConfigError(message)
    return config


def check_user_input(data: dict) -> None:
    """Checks of what a user wrote (a config file, ``--set``, a sweep) that do not apply to
    configs crfwi writes itself: ``survey.shots = []`` is how a resolved config records the
    default spread, but written by hand it is a mistake (an empty survey), not a request for
    the default."""
    survey = data.get("survey")
    if isinstance(survey, dict) and survey.get("shots") == []:
        raise ConfigError("`survey.shots` is an empty list; give source positions in metres, "
                          "or leave survey.shots out for survey.n_shots spread evenly")


def config_to_dict(config: RunConfig) -> dict:
    return dataclasses.asdict(config)


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word is a string: --set model.name=marmousi


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``section.key=value`` overrides to parsed TOML data (a new dict is returned)."""
    import copy

    data = copy.deepcopy(data)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: `{part}` is not a table")
        node[parts[-1]] = _parse_value(text.strip())
    return data


# Command-line shorthands and the config keys they set (`crfwi invert`, `crfwi ntk`).
SHORTHANDS = {"preset": "preset", "scale": "scale", "init": "initial.kind",
              "method": "inversion.method", "iterations": "inversion.iterations"}


def shorthand_overrides(**values: Any) -> list[str]:
    """``--set`` overrides for the shorthand options given (None = not given), e.g.
    ``shorthand_overrides(preset="marmousi", init=None)`` → ``['preset="marmousi"']``. Put them
    before the user's ``--set`` items so that an explicit ``--set`` wins."""
    out = []
    for flag, value in values.items():
        if flag not in SHORTHANDS:
            raise KeyError(f"no shorthand {flag!r}; known: {', '.join(SHORTHANDS)}")
        if value is not None:
            text = f'"{value}"' if isinstance(value, str) else str(value)
            out.append(f"{SHORTHANDS[flag]}={text}")
    return out


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file; a missing or unreadable file, one that is not UTF-8 text or a syntax
    error raises ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"malformed TOML in {path}: {err}") from None
    except UnicodeDecodeError as err:  # tomllib decodes the whole file first; it names no file
        raise ConfigError(f"{path} is not a TOML text file (not UTF-8: byte "
                          f"0x{err.object[err.start]:02x} at offset {err.start})") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror or err}") from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Read a TOML config (or start from the defaults when ``path`` is None), apply overrides.

    A run folder's ``config.resolved.toml`` (crfwi wrote it: it has a ``[meta]`` table) loads as
    written, so a finished run can be re-run or analysed from it; :func:`check_user_input` applies
    to configs a user wrote."""
    raw = read_toml(path) if path is not None else {}
    data = apply_overrides(raw, overrides or [])
    if "meta" not in raw:
        check_user_input(data)
    return config_from_dict(data)
