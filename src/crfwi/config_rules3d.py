"""The config rules of 3-D runs (issue 15): the two 3-D fields and the checks between fields.

A run is 3-D when ``model.ny`` > 0: the grid is ``[nz, ny, nx]`` (one ``model.spacing`` on every
axis), the model a 3-D one (:data:`crfwi.models.zoo3d.MODELS3D`) and the survey a ``survey.shot_grid``
of shots recorded on the surface (:meth:`crfwi.physics.geometry3d.Survey3D.surface_grid`). The 2-D rules
(:mod:`crfwi.config_rules`) apply unchanged; :func:`check_dimensions` adds what only makes sense
in one dimension or the other, and places shots and receivers inside the 3-D model before anything
is built, each refusal one line naming the key. Points per wavelength and the time step are
checked as in 2-D, by the solver (:meth:`crfwi.physics.solver.WaveSolver.check_sampling`, deepwave's CFL
sub-steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Counts", "SHOT_GRID", "NOT_IN_3D", "is_3d", "check_dimensions"]


@dataclass(frozen=True)
class Counts:
    """A list of ``lengths`` positive integers (``[]`` when 0 is one of the lengths)."""

    lengths: tuple[int, ...]
    note: str = ""

    def describe(self) -> str:
        count = " or ".join(str(n) for n in self.lengths if n)
        text = f"a list of {count} integers >= 1" + (", or []" if 0 in self.lengths else "")
        return f"{text} ({self.note})" if self.note else text

    def problem(self, value: Any) -> str | None:
        ok = len(value) in self.lengths and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
        return None if ok else f"must be {self.describe()}"


SHOT_GRID = Counts(lengths=(0, 2), note="[n_y, n_x] shots of a 3-D survey; [] = 2-D")

# Keys of a 2-D run that a 3-D run refuses when changed from their defaults, and why.
NOT_IN_3D = {
    "survey.n_shots": "give the shots as `survey.shot_grid` = [n_y, n_x]",
    "survey.shots": "give the shots as `survey.shot_grid` = [n_y, n_x]",
    "survey.first_shot": "a 3-D shot grid is centred on the surface",
    "data.shots": "it decimates a line of shots; use a smaller survey.shot_grid or "
                  "inversion.shots_per_iteration",
    "inversion.fix_water": "the water mask is 2-D (crfwi.models.zoo.water_mask) and the 3-D models have "
                           "no water layer",
    "inversion.max_depth": "the depth limit on the update is built for 2-D grids",
    "output.ntk_every": "the wave-based NTK monitor (crfwi.analysis.ntk) is written for 2-D models",
}


def is_3d(config) -> bool:
    """Whether ``config`` describes a 3-D run (``model.ny`` > 0)."""
    return config.model.ny > 0


def _two_d(c, models3d) -> str | None:
    m = c.model
    if m.name in models3d:
        return (f"3-D model {m.name!r} needs `model.ny` (cells along y), with model.nz, model.nx "
                "and model.spacing")
    if c.survey.shot_grid:
        return ("`survey.shot_grid` applies to a 3-D run (model.ny > 0); a 2-D survey takes "
                "survey.n_shots or survey.shots")
    if len(m.origin) == 3 or len(m.window) == 3:
        key = "model.origin" if len(m.origin) == 3 else "model.window"
        return f"`{key}` has 3 entries, for a 3-D run (model.ny > 0); a 2-D model takes 2"
    return None


def _positions(c) -> str | None:
    """Shots and receivers inside the ``[nz, ny, nx]`` model, as the user wrote them."""
    m, s = c.model, c.survey
    depth, width_y, width_x = ((n - 1) * m.spacing for n in (m.nz, m.ny, m.nx))
    if s.shot_spacing:
        for axis, n, width in (("y", s.shot_grid[0], width_y), ("x", s.shot_grid[1], width_x)):
            span = (n - 1) * s.shot_spacing
            if span > width + 1e-6 * m.spacing:
                return (f"`survey.shot_spacing` = {s.shot_spacing:g} m: {n} shots along {axis} "
                        f"span {span:g} m, wider than the model ({width:g} m); use a smaller spacing "
                        "or survey.shot_grid")
    if s.receiver_spacing and s.receiver_spacing < m.spacing:
        return (f"`survey.receiver_spacing` = {s.receiver_spacing:g} m is below `model.spacing` = "
                f"{m.spacing:g} m: two receivers would share a grid node")
    for key in ("source_depth", "receiver_depth"):
        value = getattr(s, key)
        if value > depth:
            return f"`survey.{key}` = {value:g} m lies below the model's bottom ({depth:g} m)"
    return None


def check_dimensions(c) -> str | None:
    """The checks between fields that tell 2-D and 3-D runs apart (a CROSS_CHECKS entry)."""
    from .methods import registry as methods
    from .config_rules import _changed
    from .models.zoo3d import INITIAL_KINDS3D, MODELS3D

    m = c.model
    if not is_3d(c):
        return _two_d(c, MODELS3D)
    if c.field.data:
        return ("`field.data` does not apply to a 3-D run (model.ny > 0): field surveys are read "
                "as 2-D lines")
    if m.name not in MODELS3D:
        return (f"`model.ny` applies to 3-D models ({', '.join(MODELS3D)}), not {m.name!r}; "
                "leave model.ny at 0 for a 2-D run")
    for key in ("nz", "nx", "spacing"):
        if not getattr(m, key):
            return f"a 3-D run needs `model.{key}` (the [nz, ny, nx] grid, one spacing on all axes)"
    if len(m.origin) != 3 and any(m.origin):
        return "`model.origin` in a 3-D run is [z, y, x] in metres"
    if m.window and len(m.window) != 3:
        return "`model.window` in a 3-D run is [depth, y width, x width] in metres"
    if not c.survey.shot_grid:
        return "a 3-D run needs `survey.shot_grid` = [n_y, n_x] (its shots on a surface grid)"
    for key, why in NOT_IN_3D.items():
        if _changed(c, key):
            return f"`{key}` does not apply to a 3-D run: {why}"
    if c.initial.kind not in INITIAL_KINDS3D:
        return (f"initial.kind = {c.initial.kind!r} does not apply to a 3-D run; use one of "
                f"{', '.join(INITIAL_KINDS3D)}")
    inv = c.inversion
    if (inv.regularizer or methods.resolve(inv.method).regularizer) == "tv":
        return (f"total variation (`inversion.method` = {inv.method!r} or `inversion.regularizer` "
                "= \"tv\") is 2-D only (crfwi.methods.regularizers); use a method without it in 3-D")
    return _positions(c)
