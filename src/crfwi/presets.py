"""The paper's 2-D experimental setups (PAPER.md §4.1) as named presets, at two scales.

A preset fills the ``[model]``, ``[survey]``, ``[initial]`` and bounds of a run config; a config
names one with ``preset = "marmousi"`` (and ``scale = "cpu"``) and overrides any field it sets.
``crfwi presets`` lists them; ``crfwi invert --preset marmousi --scale cpu --init constant``
runs one.

**How each model is cut from its file.** The paper does not say (PAPER.md §4.1). Our reading:
its grids are whole benchmark models resampled, then simulated at the stated spacing — 94 × 288
is exactly the 751 × 2301 Marmousi (4 m) taken every 8th sample, and 94 × 401 the 186 × 800
Overthrust slice (25 m) every 2nd, sizes no crop at the stated spacing explains — i.e. the
geology is *scaled* (9.2 × 3 km of Marmousi become 4.32 × 1.41 km). A preset therefore
names a window of the file (``model.origin`` + ``model.window``, metres of the file) that is
resampled onto the preset's grid (anti-aliased, bilinear; :func:`crfwi.models.zoo.load_model`), and
the grid's own spacing is what the wave solver uses.

**Scales.** ``paper``: the paper's grid, spacing, frequency, dt and samples. ``cpu``: the same
window and the same survey aperture and record length on a coarser grid with a proportionally
lower frequency and a longer dt, so the wavelength stays sampled as well as in the paper (same
cells per wavelength) and one epoch costs seconds on 2 CPU cores; where the paper's shot count
would make an epoch too slow, the cpu scale keeps the aperture with fewer, wider-spaced shots
(stated per preset). Marmousi keeps its 13 shots at both scales (its degraded-data scenarios
decimate them to 9 and 5).

**Initial models** (``initial.kind``; PAPER.md §9.6 leaves them open): ``smooth`` = the true
model convolved with a Gaussian of σ = 10 paper-scale cells (in metres, so the same at both
scales), 30 cells (300 m) on 2004 BP, whose 10-cell start (MSE 0.039 (km/s)²) was already better
than every final of the paper's BP-smooth column (0.048–0.100); at 300 m it starts at 0.146
(paper grid) / 0.135 (cpu grid), above all of them; ``linear`` = a 1-D gradient from the true model's minimum (the water or top velocity)
at the surface to the mean of its bottom row; ``constant`` = the true model's mean everywhere
(``initial.constant = "minimum"``: its minimum, the water velocity; the mean fits the paper's
numbers, crfwi.models.zoo.CONSTANT_READINGS). The water layer, where there is one, is kept fixed (``fix_water``).

**OpenFWI** (PAPER.md §4.4): OpenFWI's own acquisition (Deng et al. 2022): a 70 × 70 map at
10 m, 5 sources evenly from the first to the last column (cells 0, 17, 34, 52, 69) and 70
receivers every 10 m, both one cell deep, 15 Hz Ricker, 1 ms, 1000 samples, absorbing on all
sides. The map is named ``--set model.name=openfwi:curvevel_a:17`` (:mod:`crfwi.models.openfwi`); it is
used on its own grid. Bounds 1400–4900 m/s hold OpenFWI's 1500–4500 m/s range with margin.

**Salt.** The SEG/EAGE salt model is not freely redistributable and the data directory here has
no file for it; without ``salt`` in the data directory the preset uses the procedural
``salt_body`` generator as a stand-in and says so in ``note``, which every run output carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ConfigError

__all__ = ["Preset", "Scale", "PRESETS", "SCALES", "available", "get", "preset_data"]

SCALES = ("paper", "cpu")


@dataclass(frozen=True)
class Scale:
    """Grid and survey of one scale of a preset (metres, seconds, Hz)."""

    nz: int
    nx: int
    spacing: float
    freq: float
    dt: float
    nt: int
    n_shots: int
    shot_spacing: float

    def describe(self) -> str:
        return (f"{self.nz}x{self.nx} @ {self.spacing:g} m, {self.n_shots} shots "
                f"{self.shot_spacing:.4g} m apart, {self.freq:g} Hz, dt {1e3 * self.dt:g} ms, "
                f"{self.nt} samples")


@dataclass(frozen=True)
class Preset:
    """One of the paper's setups.

    model: the zoo name of the benchmark file; ``stand_in``: the procedural model used when the
    file is absent (``None``: the file is required). ``window``: (depth, width) in metres of the
    file, from ``origin``, resampled onto the grid. ``bounds``: velocity bounds (m/s) of the
    inversion (0 = crfwi's default 0.9 × min / 1.1 × max). ``smooth_cells``: σ of the smooth
    initial model in paper-scale cells.
    """

    name: str
    title: str
    model: str
    window: tuple[float, float]
    paper: Scale
    cpu: Scale
    free_surface: bool
    fix_water: bool
    bounds: tuple[float, float]
    origin: tuple[float, float] = (0.0, 0.0)
    stand_in: str | None = None
    cpu_note: str = ""
    smooth_cells: float = 10.0

    def scale(self, name: str) -> Scale:
        if name not in SCALES:
            raise ConfigError(f"unknown scale {name!r}; valid: {', '.join(SCALES)}")
        return self.paper if name == "paper" else self.cpu


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        name="marmousi", title="Marmousi (IFP), the whole 9.2 x 3.0 km model scaled",
        model="marmousi", window=(3000.0, 9200.0),
        paper=Scale(94, 288, 15.0, 8.0, 0.0019, 1000, 13, 300.0),
        cpu=Scale(47, 144, 30.0, 4.0, 0.0038, 500, 13, 300.0),
        free_surface=True, fix_water=True, bounds=(1400.0, 5600.0)),
    Preset(
        name="salt", title="2-D SEG/EAGE salt (75 x 250 slice)",
        model="salt", window=(0.0, 0.0), stand_in="salt_body",
        paper=Scale(75, 250, 10.0, 10.0, 0.0015, 2500, 24, 100.0),
        cpu=Scale(38, 125, 20.0, 5.0, 0.003, 1250, 12, 2300.0 / 11),
        free_surface=True, fix_water=False, bounds=(0.0, 0.0),
        cpu_note="12 shots 209 m apart span the 2.3 km of the paper's 24 at 100 m"),
    Preset(
        name="overthrust", title="2-D slice of SEG/EAGE Overthrust, the whole 20 x 4.65 km slice scaled",
        model="overthrust", window=(4625.0, 19975.0),
        paper=Scale(94, 401, 15.0, 10.0, 0.004, 1200, 20, 270.0),
        cpu=Scale(47, 201, 30.0, 5.0, 0.008, 600, 10, 570.0),
        free_surface=True, fix_water=False, bounds=(2200.0, 6200.0),
        cpu_note="10 shots 570 m apart span the 5.13 km of the paper's 20 at 270 m"),
    Preset(
        name="bp2004", title="2004 BP (salt body crop), 11.2 x 29.95 km scaled",
        model="bp2004", window=(11200.0, 29950.0),
        paper=Scale(188, 500, 10.0, 10.0, 0.004, 2000, 20, 200.0),
        cpu=Scale(47, 125, 40.0, 2.5, 0.016, 500, 10, 3800.0 / 9),
        free_surface=False, fix_water=True, bounds=(1400.0, 4900.0), smooth_cells=30.0,
        cpu_note="10 shots 422 m apart span the 3.8 km of the paper's 20 at 200 m"),
    Preset(
        name="openfwi", title="OpenFWI's acquisition on one real OpenFWI map (default FlatVel-A map 0)",
        model="openfwi:flatvel_a:0", window=(0.0, 0.0),
        paper=Scale(70, 70, 10.0, 15.0, 0.001, 1000, 5, 172.5),
        cpu=Scale(70, 70, 10.0, 15.0, 0.001, 1000, 5, 172.5),
        free_surface=False, fix_water=False, bounds=(1400.0, 4900.0),
        cpu_note="OpenFWI's maps are already CPU-sized: the cpu scale is the paper's"),
)}


def available(dimensions: int | None = None) -> list[str]:
    """The presets' names, 2-D then 3-D (crfwi.presets3d); ``dimensions`` 2 or 3: only those."""
    from .presets3d import PRESETS3D

    names = {2: list(PRESETS), 3: list(PRESETS3D)}
    return names[dimensions] if dimensions else names[2] + names[3]


def get(name: str):
    """The :class:`Preset` (or 3-D :class:`crfwi.presets3d.Preset3D`) called ``name``."""
    from .presets3d import PRESETS3D

    preset = PRESETS.get(name) or PRESETS3D.get(name)
    if preset is None:
        raise ConfigError(f"unknown preset {name!r}; valid: {', '.join(available())}")
    return preset


def _file_available(model: str, data_dir: str | None) -> bool:
    from .models import zoo

    try:
        return any(info.name == model and info.present for info in zoo.list_models(data_dir))
    except (ValueError, OSError):
        return False


def preset_data(name: str, scale: str = "paper", *, data_dir: str | None = None) -> dict:
    """The config fields a preset sets, as nested dicts in config-file form.

    The salt preset falls back to its procedural stand-in when the data directory has no salt
    file; ``note`` then says so.
    """
    preset = get(name)
    if getattr(preset, "dimensions", 2) == 3:
        from .presets3d import preset_data3d

        return preset_data3d(preset, scale, data_dir=data_dir)
    s = preset.scale(scale)
    model: dict = {"name": preset.model, "nz": s.nz, "nx": s.nx, "spacing": s.spacing,
                   "origin": list(preset.origin), "window": list(preset.window)}
    note = ""
    if preset.stand_in is not None and not _file_available(preset.model, data_dir):
        model = {"name": preset.stand_in, "nz": s.nz, "nx": s.nx, "spacing": s.spacing}
        note = (f"STAND-IN: the {preset.model!r} benchmark file is not in the data directory; "
                f"procedural {preset.stand_in!r} model used instead")
    elif not any(preset.window):
        model.pop("window")
    cells = preset.smooth_cells * preset.paper.spacing
    data = {
        "name": f"{name}-{scale}",
        "note": note,
        "model": model,
        "survey": {"n_shots": s.n_shots, "shot_spacing": s.shot_spacing, "freq": s.freq,
                   "dt": s.dt, "nt": s.nt, "free_surface": preset.free_surface},
        "initial": {"kind": "smooth", "sigma": cells},
        "inversion": {"fix_water": preset.fix_water, "vmin": preset.bounds[0],
                      "vmax": preset.bounds[1]},
    }
    return data
