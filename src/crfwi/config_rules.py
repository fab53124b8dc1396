"""The allowed range of every config field, checked when a config is loaded.

:data:`RULES` maps each field, by its full key (``"inversion.iterations"``), to a rule; the
loader (:func:`crfwi.config.config_from_dict`) first checks types (``_coerce``), then every rule,
then the checks that involve two fields (:data:`CROSS_CHECKS`). A refused value raises
:class:`~crfwi.config.ConfigError` whose message starts with the key the user wrote, so that a
mistake is reported where it was made rather than as a traceback or a message about an internal
name (``dz`` for ``model.spacing``) hours later. Every field needs a rule: a new field without
one is a programming error (``tests/test_config_validation.py`` walks the dataclasses).

Sentinels: where a section's docstring gives 0 or -1 a meaning ("0 = the method's default",
"-1 = one cell below the top"), the rule accepts exactly that value besides the range.
Every float must be finite (TOML allows ``nan`` and ``inf``).

The kinds of rule (:class:`Int`, :class:`Float`, …) live in :mod:`crfwi.config_rule_kinds` and the
3-D fields' rules and checks in :mod:`crfwi.config_rules3d`; both are re-exported or used here.

Names are checked against the modules that own them (zoo, methods, misfits…), imported only when
a config is checked, so that importing :mod:`crfwi.config` stays cheap.
"""

from __future__ import annotations

from typing import Any, Callable

from .config_rule_kinds import (Choice, FileName, Flag, Float, Int, Numbers, Resolves, Table,
                                Text)
from .config_rules3d import SHOT_GRID, check_dimensions

__all__ = ["RULES", "CROSS_CHECKS", "Int", "Float", "Numbers", "Choice", "Resolves", "Text", "Flag",
           "Table", "FileName", "problem"]


# Names owned by other modules, imported when a config is checked.
def _presets() -> list[str]:
    from . import presets

    return presets.available()


def _scales() -> tuple[str, ...]:
    from . import presets

    return presets.SCALES


def _check_model_name(name: Any) -> str:
    """A zoo name or an OpenFWI map ``openfwi:<family>:<k>`` (its family is checked on reading)."""
    from .models import zoo

    if not isinstance(name, str):
        raise ValueError(f"must be a model name (text), got {name!r}")
    if name.startswith("openfwi:"):
        return zoo._check_name(name)  # the form openfwi:<family>:<k>
    if name in _models3d():
        return name
    if name not in zoo._known_names():
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(zoo._known_names())}, "
                         "or an OpenFWI map openfwi:<family>:<k>")
    return name


def _models3d() -> tuple[str, ...]:
    from .models import zoo3d

    return zoo3d.MODELS3D


def _initial_kinds() -> tuple[str, ...]:
    from .models import zoo

    return zoo.INITIAL_KINDS + FIELD_INITIAL_KINDS


# Initial models a field run adds (crfwi.field.survey): a well log, smoothed and extended.
FIELD_INITIAL_KINDS = ("well",)


def _constant_readings() -> list[str]:
    from .models import zoo

    return list(zoo.CONSTANT_READINGS)


def _storage_modes() -> tuple[str, ...]:
    from .physics import solver as physics

    return physics.STORAGE_MODES


def _starts() -> tuple[str, ...]:
    from .representations import base

    return base.STARTS


def _bound_gradients() -> tuple[str, ...]:
    from .representations import base

    return base.BOUND_GRADIENTS


def _misfits() -> list[str]:
    from .methods import misfits

    return misfits.available()


def _resolve_method(name: str) -> Any:
    from .methods import registry as methods

    return methods.resolve(name)


POSITIVE = Int(min=1)
COUNT = Int(min=0)  # a count or an interval where 0 is meaningful (see the note)
SEED = Int(min=0, max=2**63 - 1)

RULES: dict[str, Any] = {
    "seed": SEED,
    # The default run folder is runs/NAME-METHOD-TIMESTAMP: a separator would nest it.
    "name": Text(nonempty=True, forbid="/\\"),
    "preset": Choice(_presets, "preset", empty=True),
    "scale": Choice(_scales, "scale"),
    "note": Text(),

    "model.name": Resolves(_check_model_name),
    "model.nz": Int(min=0, note="0 = the benchmark file's own"),
    "model.ny": Int(min=0, note="0 = a 2-D model; > 0 = cells along y, a 3-D run"),
    "model.nx": Int(min=0, note="0 = the benchmark file's own"),
    "model.spacing": Float(min=0, unit="m", note="0 = the benchmark file's own"),
    "model.origin": Numbers(lengths=(2, 3), min=0, unit="m", note="[z, x]; 3-D: [z, y, x]"),
    "model.window": Numbers(lengths=(0, 2, 3), min=0, strict=True, unit="m",
                            note="[depth, width]; 3-D: [depth, y, x]; empty = the grid's own extent"),
    "model.data_dir": Text(),
    "model.options": Table(),

    "survey.n_shots": POSITIVE,
    "survey.shot_spacing": Float(min=0, unit="m", note="0 = shots span the width"),
    "survey.first_shot": Float(min=0, sentinel=-1, unit="m", note="centred"),
    # [] = n_shots spread evenly: the form crfwi writes for the default (config.resolved.toml);
    # an explicitly empty list in a user's file is refused by config.check_user_input.
    "survey.shots": Numbers(min=0, unit="m", note="source positions"),
    "survey.shot_grid": SHOT_GRID,
    "survey.receiver_spacing": Float(min=0, unit="m", note="0 = every column"),
    "survey.source_depth": Float(min=0, sentinel=-1, unit="m", note="one cell below the top"),
    "survey.receiver_depth": Float(min=0, sentinel=-1, unit="m", note="one cell below the top"),
    "survey.freq": Float(min=0, strict=True, unit="Hz"),
    "survey.delay": Float(min=0, sentinel=-1, unit="s", note="1.5 / survey.freq"),
    "survey.dt": Float(min=0, strict=True, unit="s"),
    "survey.nt": POSITIVE,
    "survey.free_surface": Flag(),
    "survey.pml_width": Int(min=0, note="cells"),

    "data.noise": Float(min=0, note="multiples of the clean data's standard deviation"),
    "data.noise_seed": Int(min=0, max=2**63 - 1, sentinel=-1, note="the run's seed"),
    "data.highpass": Float(min=0, unit="Hz", note="0 = off"),
    "data.highpass_order": POSITIVE,
    "data.shots": Int(min=0, note="0 = all"),

    "initial.kind": Choice(_initial_kinds, "initial model kind"),
    "initial.sigma": Float(min=0, unit="m"),
    "initial.v_top": Float(min=0, unit="m/s", note="0 = the true model's minimum"),
    "initial.v_bottom": Float(min=0, unit="m/s", note="0 = the mean of the true model's bottom row"),
    "initial.value": Float(min=0, unit="m/s", note="0 = read from the true model as initial.constant says"),
    "initial.constant": Choice(_constant_readings, "reading of the constant start"),
    "initial.path": Text(),

    "physics.accuracy": Choice((2, 4, 6, 8)),
    "physics.max_vel": Float(min=0, unit="m/s", note="0 = the upper velocity bound"),
    "physics.pml_freq": Float(min=0, unit="Hz", note="0 = survey.freq"),
    "physics.storage": Choice(_storage_modes, "storage mode"),
    "physics.storage_compression": Flag(),
    "physics.gradient_sampling_interval": POSITIVE,
    "physics.checkpoint_segments": Int(min=0, note="0 = off"),
    "physics.shot_chunk": Int(min=0, note="0 = all shots of a step at once"),
    "physics.min_points_per_wavelength": Float(min=0, strict=True),
    "physics.courant_number": Float(min=0, max=1, unit="",
                                    note="0 = deepwave's default; at most the critical number"),

    "representation.options": Table(),
    "representation.output_scale": Float(min=0, note="0 = the representation's default"),
    "representation.start": Choice(_starts, "start"),

    "inversion.method": Resolves(_resolve_method),
    "inversion.iterations": POSITIVE,
    "inversion.lr": Float(min=0, note="0 = the method's default"),
    "inversion.grid_lr": Float(min=0, note="0 = inversion.lr"),
    "inversion.shots_per_iteration": Int(min=0, note="0 = all shots"),
    "inversion.misfit": Choice(_misfits, "misfit", empty=True),
    "inversion.misfit_options": Table(),
    "inversion.regularizer": Choice(("none", "tv"), "regularizer", empty=True),
    "inversion.regularizer_options": Table(),
    "inversion.bands": Numbers(min=0, strict=True, unit="Hz", note="empty = the method's own"),
    "inversion.band_iterations": Int(min=0, note="0 = inversion.iterations split evenly"),
    "inversion.vmin": Float(min=0, unit="m/s", note="0 = 0.9 x the models' minimum"),
    "inversion.vmax": Float(min=0, unit="m/s", note="0 = 1.1 x the models' maximum"),
    "inversion.bound_gradient": Choice(_bound_gradients, "bound_gradient"),
    "inversion.fix_water": Flag(),
    "inversion.max_depth": Float(min=0, unit="m", note="0 = update every depth"),

    "output.metrics_every": POSITIVE,
    "output.checkpoint_every": POSITIVE,
    "output.ntk_every": Int(min=0, note="0 = off"),
    "output.ntk_eigs": POSITIVE,
    "output.models_every": Int(min=0, note="0 = off"),
    "output.figures": Flag(),
    "output.progress": Flag(),

    "field.data": FileName((".sgy", ".segy", ".npz")),
    "field.zero_scalar_as_one": Flag(),
    "field.endian": Choice(("big", "little"), "byte order"),
    "field.sample_interval": Float(min=0, unit="s", note="0 = from the SEG-Y headers"),
    "field.origin": Numbers(lengths=(0, 2), note="[z0, x0] in metres; empty = automatic"),
    "field.dt": Float(min=0, unit="s", note="0 = the file's sample interval"),
    "field.nt": Int(min=0, note="0 = from field.record_length"),
    "field.record_length": Float(min=0, unit="s", note="0 = the file's record"),
    "field.pad_record": Flag(),
    "field.f_low": Float(min=0, unit="Hz", note="0 = no low cut"),
    "field.f_high": Float(min=0, unit="Hz", note="0 = no high cut"),
    "field.mute_velocity": Float(min=0, unit="m/s", note="0 = no mute"),
    "field.mute_t0": Float(min=0, unit="s"),
    "field.mute_taper": Float(min=0, unit="s"),
    "field.bottom_mute_velocity": Float(min=0, unit="m/s", note="0 = no bottom mute"),
    "field.bottom_mute_t0": Float(min=0, unit="s"),
    "field.bottom_mute_taper": Float(min=0, unit="s"),
    "field.min_offset": Float(min=0, unit="m", note="0 = from zero offset"),
    "field.max_offset": Float(min=0, unit="m", note="0 = no upper limit"),
    "field.normalise": Choice(("max", "rms"), "trace normalisation", empty=True),
    "field.wavelet": FileName((".npy", ".sgy", ".segy"), words=("estimate",)),
    "field.wavelet_dt": Float(min=0, unit="s", note="0 = the modelling dt"),
    "field.wavelet_damping": Float(min=0, unit=""),
    "field.wavelet_max_offset": Float(min=0, unit="m", note="0 = all traces"),
    "field.wavelet_every": Int(min=0, note="0 = estimate once, at m0"),
    "field.well_log": FileName((".txt", ".csv", ".dat", ".tsv")),
    "field.well_x": Float(unit="m"),
    "field.water_depth": Float(min=0, unit="m", note="0 = no water layer"),
    "field.water_velocity": Float(min=0, strict=True, unit="m/s"),
    "field.true_model": FileName((".npy",)),
    "field.keep_best_well": Flag(),
}


def problem(key: str, value: Any) -> str | None:
    """Why ``value`` (already of the field's type) is refused for ``key``, or None if it is fine.
    The message starts with the key: "`inversion.iterations` must be an integer >= 1, got -1"."""
    rule = RULES[key]
    why = rule.problem(value)
    if why is None:
        return None
    if why.startswith("must"):
        return f"`{key}` {why}, got {value!r}"
    return f"`{key}`: {why}"


# ------------------------------------------------------------------------------------------------
# Checks between fields: each takes the RunConfig and returns a message naming both keys, or None.

def _bounds(c) -> str | None:
    inv = c.inversion
    if inv.vmin and inv.vmax and inv.vmin >= inv.vmax:
        return f"`inversion.vmin` = {inv.vmin:g} m/s must be below `inversion.vmax` = {inv.vmax:g} m/s"
    return None


def _time_axis(c) -> tuple[float, int, str, str]:
    """The modelling (dt, nt) and the keys that set them: [survey]'s, or for a field run
    [field]'s (0 where the file decides: checked when the run is built)."""
    if not c.field.data:
        return c.survey.dt, c.survey.nt, "survey.dt", "survey.nt"
    f = c.field
    nt = f.nt or (int(f.record_length / f.dt + 1e-6) + 1 if f.record_length and f.dt else 0)
    return f.dt, nt, "field.dt", "field.nt" if f.nt else "field.record_length"


def _sampling(c) -> str | None:
    # Survey's own check, here with the keys the user wrote: the Ricker's band reaches ~2.5 f_peak.
    dt, _, key, _ = _time_axis(c)
    freq = c.survey.freq
    if dt and 0.5 / dt < 2.5 * freq:
        return (f"`{key}` = {dt:g} s cannot sample the `survey.freq` = {freq:g} Hz wavelet "
                f"(Nyquist {0.5 / dt:g} Hz < 2.5 x peak); use {key} <= {1 / (5 * freq):.4g} s")
    return None


def _first_shot(c) -> str | None:
    s = c.survey
    if s.first_shot >= 0 and not s.shot_spacing:
        return ("`survey.first_shot` needs `survey.shot_spacing` (without it the shots span the "
                "width from the first column to the last)")
    return None


def _highpass(c) -> str | None:
    nyquist = 0.5 / c.survey.dt
    if c.data.highpass >= nyquist:
        return (f"`data.highpass` = {c.data.highpass:g} Hz must be below the Nyquist frequency "
                f"{nyquist:g} Hz of `survey.dt` = {c.survey.dt:g} s")
    return None


def _bands(c) -> str | None:
    dt, _, key, _ = _time_axis(c)
    bands = [("inversion.bands", b) for b in c.inversion.bands]
    if c.field.data:
        bands += [(f"field.{k}", getattr(c.field, k)) for k in ("f_low", "f_high")]
    above = [(k, b) for k, b in bands if dt and b >= 0.5 / dt]
    if above:
        return (f"`{above[0][0]}` = {above[0][1]:g} Hz must be below the Nyquist frequency "
                f"{0.5 / dt:g} Hz of `{key}` = {dt:g} s")
    return None


def _shots(c) -> str | None:
    s = c.survey
    if c.field.data:
        return None  # the file's shots are counted when the run is built
    count, where = (len(s.shots), "survey.shots") if s.shots else (s.n_shots, "survey.n_shots")
    if c.data.shots > count:
        return f"`data.shots` = {c.data.shots} exceeds the survey's {count} shots (`{where}`)"
    return None


def _time_steps(c) -> str | None:
    # deepwave refuses a gradient stride that does not divide nt, and more segments than steps.
    _, nt, _, key = _time_axis(c)
    phys = c.physics
    if nt and nt % phys.gradient_sampling_interval:
        return (f"`physics.gradient_sampling_interval` = {phys.gradient_sampling_interval} must "
                f"divide `{key}` = {nt}" + (" samples" if key != "survey.nt" else ""))
    if nt and phys.checkpoint_segments > nt:
        return (f"`physics.checkpoint_segments` = {phys.checkpoint_segments} exceeds the "
                f"`{key}` = {nt} time steps")
    return _courant(c)


def _courant(c) -> str | None:
    # deepwave would refuse an unstable Courant number only when the run simulates.
    if not c.physics.courant_number:
        return None
    from deepwave.discretisation import critical_courant_number

    critical = critical_courant_number(c.physics.accuracy, propagator="scalar")
    if c.physics.courant_number > critical:
        return (f"`physics.courant_number` = {c.physics.courant_number:g} exceeds the critical "
                f"{critical:.3f} of deepwave's scalar scheme at accuracy {c.physics.accuracy} "
                "(unstable)")
    return None


# Which options each initial model kind takes (crfwi.models.zoo.initial_model refuses the others by their
# bare names; here the user reads the key and the kind). Not initial.constant: run folders from
# before the mean became its default record "minimum" with every kind, and must still load.
_INITIAL_OPTIONS = {"v_top": ("linear",), "v_bottom": ("linear",), "value": ("constant",),
                    "path": ("file",)}


def _initial(c) -> str | None:
    init = c.initial
    for option, kinds in _INITIAL_OPTIONS.items():
        if getattr(init, option) and init.kind not in kinds:
            return (f"`initial.{option}` applies to initial.kind = {kinds[0]!r} only, "
                    f"not {init.kind!r}")
    if init.kind == "file" and not init.path:
        return "initial.kind = 'file' needs `initial.path` (a .npy of shape [nz, nx] in m/s)"
    return None


# ------------------------------------------------------------------------------------------------
# A field run ([field] data = a file): no true model, the geometry and time axis from the file.

# Keys of other sections that a field run does not use, with what replaces them.
_NOT_IN_FIELD_RUNS = {
    "preset": "a preset is a synthetic setup", "model.name": "[model] gives only the grid",
    "model.origin": "use field.origin", "model.window": "[model] gives only the grid",
    "model.options": "[model] gives only the grid", "model.data_dir": "[model] gives only the grid",
    **{f"survey.{k}": "the geometry comes from field.data" for k in (
        "n_shots", "shot_spacing", "first_shot", "shots", "receiver_spacing", "source_depth",
        "receiver_depth")},
    "survey.dt": "use field.dt", "survey.nt": "use field.nt or field.record_length",
    "data.noise": "field data bring their own", "data.noise_seed": "field data bring their own",
    "data.highpass": "use field.f_low", "data.highpass_order": "use field.f_low",
}
# [field] options that mean something only with another [field] key set.
_FIELD_NEEDS = {"mute_t0": "mute_velocity", "mute_taper": "mute_velocity",
                "bottom_mute_t0": "bottom_mute_velocity",
                "bottom_mute_taper": "bottom_mute_velocity", "well_x": "well_log",
                "keep_best_well": "well_log",
                "water_velocity": "water_depth", "wavelet_dt": "wavelet",
                "wavelet_damping": "wavelet", "wavelet_max_offset": "wavelet"}


def _changed(c, key: str) -> bool:
    """Whether ``key`` differs from its default (the dataclasses' own defaults)."""
    from . import config

    section, _, name = key.rpartition(".")
    node, default = (getattr(c, section), getattr(config.RunConfig(), section)) if section else (
        c, config.RunConfig())
    return getattr(node, name) != getattr(default, name)


def _field(c) -> str | None:
    f = c.field
    if not f.data:
        changed = [k for k in RULES if k.startswith("field.") and _changed(c, k)]
        if changed:
            return f"`{changed[0]}` needs `field.data` (the survey's SEG-Y or .npz file)"
        if c.initial.kind in FIELD_INITIAL_KINDS:
            return "initial.kind = 'well' needs `field.data` and `field.well_log`"
        return None
    for key, why in _NOT_IN_FIELD_RUNS.items():
        if _changed(c, key):
            return f"`{key}` does not apply to a field run (`field.data` is set): {why}"
    if not (c.model.nz and c.model.nx and c.model.spacing):
        return ("a field run (`field.data`) needs `model.nz`, `model.nx` and `model.spacing`: "
                "the grid to invert on")
    if f.nt and f.record_length:
        return "give `field.nt` or `field.record_length`, not both"
    if f.f_low and f.f_high and f.f_low >= f.f_high:
        return f"`field.f_low` = {f.f_low:g} Hz must be below `field.f_high` = {f.f_high:g} Hz"
    if f.max_offset and f.max_offset <= f.min_offset:
        return (f"`field.max_offset` = {f.max_offset:g} m must be above `field.min_offset` = "
                f"{f.min_offset:g} m (0 = no upper limit)")
    for option, needs in _FIELD_NEEDS.items():
        if _changed(c, f"field.{option}") and not getattr(f, needs):
            return f"`field.{option}` needs `field.{needs}`"
    if f.wavelet_dt and not f.wavelet.lower().endswith(".npy"):
        return "`field.wavelet_dt` applies to a .npy `field.wavelet` (SEG-Y gives its own)"
    if (f.wavelet_damping != 1e-3 or f.wavelet_max_offset or f.wavelet_every) \
            and f.wavelet != "estimate":
        return ("`field.wavelet_damping`/`wavelet_max_offset`/`wavelet_every` need "
                "`field.wavelet` = \"estimate\"")
    if c.inversion.fix_water and not f.water_depth:
        return "`inversion.fix_water` in a field run needs `field.water_depth` (the water layer)"
    if f.normalise and c.output.ntk_every:
        return ("`output.ntk_every` needs linear preprocessing (Born data); drop "
                "`field.normalise` or the NTK")
    return _field_initial(c)


def _field_initial(c) -> str | None:
    init = c.initial
    needs = {"linear": ("v_top", "v_bottom"), "constant": ("value",), "file": (), "well": ()}
    if init.kind not in needs:
        return (f"initial.kind = {init.kind!r} reads the true model; a field run has none: use "
                "`initial.kind` = file, linear, constant or well")
    missing = [k for k in needs[init.kind] if not getattr(init, k)]
    if missing:
        return (f"initial.kind = {init.kind!r} in a field run needs `initial.{missing[0]}` "
                "(there is no true model to read it from)")
    if init.kind == "well" and not c.field.well_log:
        return "initial.kind = 'well' needs `field.well_log`"
    return None


CROSS_CHECKS: tuple[Callable[[Any], str | None], ...] = (
    check_dimensions, _field, _bounds, _sampling, _first_shot, _highpass, _bands, _shots,
    _time_steps, _initial)
