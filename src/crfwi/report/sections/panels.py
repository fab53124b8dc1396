"""Model panels (clean data): the true model, the initial model and every method's final model on
one colour scale, per group and initial model, like the paper's Figs. 6/13 (3-D groups: the
orthogonal slices of :func:`crfwi.plotting.plot_models3d`)."""

from __future__ import annotations

import numpy as np

from ..context import ReportContext
from ..markdown import escape, link_path
from ..runs import Cell, method_rank


def model_panels(ctx: ReportContext) -> list[str]:
    """One figure per group and initial model; says why where the true model cannot be rebuilt."""
    from ...physics.geometry3d import Grid3D
    from ...plotting import plot_models, plot_models3d

    lines = ["## Models (clean data)", "",
             "True model, initial model and each method's final model (lowest seed) on one "
             "colour scale (the true model's range), like the paper's Figs. 6/13.", ""]
    any_figure = False
    for group in ctx.groups():
        for init in ctx.clean_inits(group):
            cells = [c for c in ctx.cells.values()
                     if c.group == group and c.init == init and c.scenario == "clean"]
            cells.sort(key=lambda c: method_rank(c.method))
            first = min((r for c in cells for r in c.runs), key=lambda r: r.seed)
            title = f"{group}, {init} initial model, clean data"
            try:
                grid, true, initial, _ = ctx.models.true_and_initial(first)
            except ValueError as err:
                lines += [f"* {title}: no panels — {escape(str(err))}.", ""]
                continue
            finals, skipped = _final_models(cells, true.shape)
            panels = {"true": true, "initial": initial, **finals}
            name = f"models_{group}_{init}-clean.png"
            note = "; ".join(ctx.notes.get(group, []))
            # A 3-D group: orthogonal slices (inline, crossline, depth), a row per model.
            plot = plot_models3d if isinstance(grid, Grid3D) else plot_models
            plot(panels, grid, ctx.fig_dir / name, vmin=float(true.min()),
                 vmax=float(true.max()), title=title + (f"\n{note}" if note else ""))
            any_figure = True
            lines += [f"### {title}", "", f"![{title}]({link_path(ctx.fig_dir / name, ctx.base)})",
                      ""]
            if note:
                lines += [f"> ‡ {escape(note)}", ""]
            if skipped:
                lines += [f"Not shown: {', '.join(skipped)}.", ""]
    if not any_figure and len(lines) == 4:
        lines += ["No clean-data runs.", ""]
    return lines


def _final_models(cells: list[Cell], shape: tuple) -> tuple[dict[str, np.ndarray], list[str]]:
    """Each method's final model (its lowest seed) by panel title, and the methods left out
    (no model.npy, or not on the true model's grid) with the reason."""
    panels, skipped = {}, []
    for c in cells:
        run = min(c.runs, key=lambda r: r.seed)
        path = run.path / "model.npy"
        if not path.is_file():
            skipped.append(f"{c.method} (no model.npy)")
            continue
        model = np.load(path, allow_pickle=False)
        if model.shape != shape:
            skipped.append(f"{c.method} (shape {model.shape} ≠ {shape})")
            continue
        panels[f"{run.paper_method} ({run.method}, seed {run.seed})"] = model
    return panels, skipped
