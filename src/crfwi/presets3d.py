"""The paper's 3-D setup (PAPER.md §4.3, Table 6) as the preset ``overthrust3d``, at two scales.

:mod:`crfwi.presets` lists and dispatches it with the 2-D presets (``crfwi presets``,
``crfwi invert --preset overthrust3d --scale cpu``); a config overrides any field it sets.

**Paper scale**: 60 × 160 × 160 cells at 50 m, 36 shots on a 6 × 6 grid 1.2 km apart (PAPER.md
[I]: "36 shots 1.2 km apart" read as a square grid), receivers on every surface cell (50 m),
12 Hz Ricker, dt 2.5 ms, 1000 samples, the smooth start, 500 iterations.

**Which part of the volume.** As for the 2-D presets (see :mod:`crfwi.presets`), our reading is
that the paper's grid is the whole benchmark resampled: the 801 × 801 × 187 SEG/EAGE volume at
25 m (20 × 20 × 4.65 km) scaled onto the grid (``model.window``), the grid's own spacing then
used by the solver. The volume is not shipped and was not obtainable here; without an
``overthrust3d`` entry in the data directory's ``models.json`` the preset uses the procedural
``thrust_fold3d`` stand-in (:mod:`crfwi.models.zoo3d`, the same geology at any resolution) and says so
in ``note``, which every run output carries, as the salt preset does. The stand-in has no
near-surface low-velocity layer: that layer is the paper's failure case (App. C.4, "the
Overthrust model with a near-surface low-velocity layer"), not Table 6's model, and with it the
networks' first updates become a shift of the whole volume (BENCHMARKS.md §14, stop 26);
``--set model.options.low_velocity_layer=true`` runs the failure case.

**cpu scale** (the 2-D presets' rules): the same extent, aperture and record length on a grid
2.5 × coarser -- 24 × 64 × 64 at 125 m (7.9 × 7.9 × 2.9 km; the paper's 7.95 × 7.95 × 2.95) --
with the frequency 2.5 × lower (4.8 Hz) and dt 2.5 × longer (6.25 ms, 400 samples = 2.5 s), so the
wavelength keeps its 3.7 cells at 2200 m/s. Half the paper's resolution (30 × 80 × 80 at 100 m)
would cost ~2 × more per shot. The survey is the paper's: 6 × 6 shots 1.2 km apart. A 3-D shot
is costly on a CPU (measured on one thread of a 2-core machine shared with other work: 3.2 s
forward and 10.9 s backward a shot with PML 20 cells on 5 faces, 52 × 112 × 112 padded cells;
a whole iteration of 4 shots took 60-68 s on one thread beside another run, BENCHMARKS.md §14),
so the cpu scale inverts one random shot an iteration (~10-15 s). An iteration's cost does not
depend on the number of shots, and the shots' number is what constrains the model: with 2 × 2
shots 6 km apart (this scale until stop 24) the data misfit fell 5× while the model error rose
(ADFWI nmse 0.1187 → 0.1220, SSIM 0.664 → 0.461 in 200 iterations); with the paper's 36 ADFWI's
model error falls with its data misfit (nmse 0.1187 → 0.0919; both on the stand-in with the
low-velocity layer it then had; without it 0.1153 → 0.0675, BENCHMARKS.md §14).

The cpu scale's PML is 10 cells, not deepwave's 20: ``benchmarks/pml_width.py`` measured, on
this grid, data within 5e-5 (2200 m/s) and 7e-5 (6200 m/s) of an unbounded domain's with 10
cells (5e-6 / 1.4e-4 with 20) at 0.46× the forward time (the padded volume 240k cells instead of
476k). The paper scale keeps 20 (the paper gives no width).

**Sampling.** The paper's own grid has 3.7 points per wavelength at the lowest velocity and the
peak frequency (2200 m/s / (12 Hz × 50 m)), below crfwi's default check of 5; the preset sets
``physics.min_points_per_wavelength = 3.5`` so that the paper's setup runs (at both scales, as
the cells per wavelength are the same). Bounds 2200-6200 m/s as the 2-D Overthrust preset;
smooth start σ = 10 paper cells = 500 m, as the 2-D presets.

**Budget.** Paper scale: the paper's 500 iterations, every shot each step (the paper draws
random shot mini-batches, PAPER.md §4.3, of a size it does not give). cpu scale: 200 iterations
of one random shot of the 36, ~10-15 s an iteration on one thread, 35-50 min a method; 500
iterations of every shot would be days of a core. ``--set inversion.shots_per_iteration=0
--set inversion.iterations=500`` gives the paper's schedule at either scale.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ConfigError
from .models.datadir import DataAbsent, resolve_data_dir

__all__ = ["Scale3D", "Preset3D", "PRESETS3D", "preset_data3d"]


@dataclass(frozen=True)
class Scale3D:
    """Grid and survey of one scale of a 3-D preset (metres, seconds, Hz). ``n_shots`` shots
    along each surface axis (an ``n_shots × n_shots`` grid), ``shot_spacing`` apart."""

    nz: int
    ny: int
    nx: int
    spacing: float
    freq: float
    dt: float
    nt: int
    n_shots: int
    shot_spacing: float
    pml_width: int = 20  # cells
    iterations: int | None = None  # None: the preset's (the paper's) iterations
    shots_per_iteration: int = 0  # 0: every shot each iteration

    def describe(self) -> str:
        text = (f"{self.nz}x{self.ny}x{self.nx} @ {self.spacing:g} m, "
                f"{self.n_shots}x{self.n_shots} shots {self.shot_spacing:.4g} m apart, {self.freq:g} Hz, dt "
                f"{1e3 * self.dt:g} ms, {self.nt} samples, PML {self.pml_width} cells")
        if self.iterations is not None:
            text += f", {self.iterations} iterations"
        if self.shots_per_iteration:
            text += f" of {self.shots_per_iteration} random shot(s)"
        return text


@dataclass(frozen=True)
class Preset3D:
    """A 3-D setup; the fields mean what :class:`crfwi.presets.Preset`'s do, with ``window`` =
    (depth, y width, x width) and ``origin`` = (z, y, x) in metres of the file."""

    name: str
    title: str
    model: str
    window: tuple[float, float, float]
    paper: Scale3D
    cpu: Scale3D
    free_surface: bool
    bounds: tuple[float, float]
    stand_in: str
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    fix_water: bool = False
    cpu_note: str = ""
    smooth_cells: float = 10.0
    iterations: int = 500
    min_points_per_wavelength: float = 3.5
    dimensions: int = 3

    def scale(self, name: str) -> Scale3D:
        from .presets import SCALES

        if name not in SCALES:
            raise ConfigError(f"unknown scale {name!r}; valid: {', '.join(SCALES)}")
        return self.paper if name == "paper" else self.cpu


PRESETS3D: dict[str, Preset3D] = {p.name: p for p in (
    Preset3D(
        name="overthrust3d", title="3-D SEG/EAGE Overthrust, the whole 20 x 20 x 4.65 km volume "
                                   "scaled (Table 6)",
        model="overthrust3d", window=(4650.0, 20000.0, 20000.0), stand_in="thrust_fold3d",
        paper=Scale3D(60, 160, 160, 50.0, 12.0, 0.0025, 1000, 6, 1200.0),
        cpu=Scale3D(24, 64, 64, 125.0, 4.8, 0.00625, 400, 6, 1200.0, pml_width=10,
                    iterations=200, shots_per_iteration=1),
        free_surface=True, bounds=(2200.0, 6200.0),
        cpu_note="the paper's 6 x 6 shots 1.2 km apart, one random shot an iteration"),
)}


def _volume_available(data_dir: str | None) -> bool:
    """Whether the data directory names the real volume. A present but broken entry counts as
    present, so that building the run reports what is wrong with it instead of a stand-in."""
    from .models import zoo3d

    try:
        zoo3d._overthrust_entry(resolve_data_dir(data_dir))
    except DataAbsent:
        return False
    except ValueError:
        return True
    return True


def preset_data3d(preset: Preset3D, scale: str, *, data_dir: str | None = None) -> dict:
    """The config fields ``preset`` sets at ``scale``, as nested dicts in config-file form."""
    s = preset.scale(scale)
    grid = {"nz": s.nz, "ny": s.ny, "nx": s.nx, "spacing": s.spacing}
    if _volume_available(data_dir):
        model = {"name": preset.model, **grid, "origin": list(preset.origin),
                 "window": list(preset.window)}
        note = ""
    else:
        model = {"name": preset.stand_in, **grid}
        note = (f"STAND-IN: the {preset.model!r} volume is not in the data directory; procedural "
                f"{preset.stand_in!r} thrust-and-fold volume used instead (not the SEG/EAGE 3-D "
                "Overthrust model)")
    return {
        "name": f"{preset.name}-{scale}",
        "note": note,
        "model": model,
        "survey": {"shot_grid": [s.n_shots, s.n_shots], "shot_spacing": s.shot_spacing,
                   "freq": s.freq, "dt": s.dt, "nt": s.nt, "free_surface": preset.free_surface,
                   "pml_width": s.pml_width},
        "initial": {"kind": "smooth", "sigma": preset.smooth_cells * preset.paper.spacing},
        "physics": {"min_points_per_wavelength": preset.min_points_per_wavelength},
        "inversion": {"vmin": preset.bounds[0], "vmax": preset.bounds[1],
                      "iterations": preset.iterations if s.iterations is None else s.iterations,
                      "shots_per_iteration": s.shots_per_iteration},
    }
