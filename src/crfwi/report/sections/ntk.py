"""The NTK eigenvalue decay: plotted from a ``crfwi ntk`` spectrum.json, or copied PNGs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..context import ReportContext
from ..markdown import DASH, link_path, markdown_table


def ntk_decay(ctx: ReportContext) -> list[str]:
    """The decay figures and a table of λ1, λk/λ1, λk/λ2 per method; a hint when none given."""
    lines = ["## NTK eigenvalue decay", ""]
    if ctx.ntk is None:
        return lines + ["No NTK spectrum given. Compute one with `crfwi ntk CONFIG.toml "
                        "--methods pixel,siren,ig --out DIR` and pass `--ntk "
                        "DIR/spectrum.json` (or a PNG) to include it.", ""]
    source = Path(ctx.ntk)
    if source.is_dir():
        source = source / "spectrum.json" if (source / "spectrum.json").is_file() else source
    if source.suffix.lower() == ".json":
        lines += _from_spectrum(ctx, source)
    elif source.is_dir():
        pngs = sorted(source.glob("*.png"))
        for png in pngs:
            target = ctx.fig_dir / f"ntk_{png.name}"
            _copy(png, target)
            lines += [f"![{png.stem}]({link_path(target, ctx.base)})", ""]
        lines += [f"Copied from `{link_path(source, ctx.base)}`." if pngs
                  else f"No spectrum.json or PNG in `{source}`.", ""]
    else:
        target = ctx.fig_dir / "ntk_decay.png"
        _copy(source, target)
        lines += [f"![NTK decay]({link_path(target, ctx.base)})", "",
                  f"Copied from `{link_path(source, ctx.base)}`.", ""]
    return lines


def _from_spectrum(ctx: ReportContext, source: Path) -> list[str]:
    """Plot the spectra (and again without the leading mode, which hides the rest) and tabulate."""
    from ...plotting import plot_spectra

    curves = ntk_curves(json.loads(source.read_text()))
    out = plot_spectra(curves, ctx.fig_dir / "ntk_decay.png",
                       title="wave-based NTK: eigenvalues / λ1")
    lines = [f"![NTK decay]({link_path(out, ctx.base)})", ""]
    without = {m: v[1:] for m, v in curves.items() if len(v) > 2}
    if without:
        out2 = plot_spectra(without, ctx.fig_dir / "ntk_decay_without_mean.png",
                            title="leading mode removed: λk / λ2, k ≥ 2")
        lines += [f"![NTK decay without the leading mode]({link_path(out2, ctx.base)})", ""]
    rows = []
    for m, v in curves.items():
        v = sorted((float(x) for x in v), reverse=True)
        rows.append([m, str(len(v)), f"{v[0]:.3e}",
                     f"{v[-1] / v[0]:.2e}" if v[0] else DASH,
                     f"{v[-1] / v[1]:.2e}" if len(v) > 2 and v[1] else DASH])
    lines += markdown_table(["method", "k", "λ1", "λk/λ1", "λk/λ2"], rows)
    lines += ["", f"Source: `{link_path(source, ctx.base)}`.", ""]
    return lines


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)


def ntk_curves(payload: dict) -> dict[str, list[float]]:
    """Eigenvalues per method from a ``crfwi ntk`` spectrum.json ({"methods": {m: [{"eigenvalues":
    [...]}, ...]}}, the first record = initialisation), or a plain {method: [eigenvalues]}."""
    methods = payload.get("methods", payload) if isinstance(payload, dict) else None
    if not isinstance(methods, dict):
        raise ValueError("NTK spectrum JSON: expected {\"methods\": {method: ...}}")
    curves = {}
    for name, value in methods.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0].get("eigenvalues")
        elif isinstance(value, dict):
            value = value.get("eigenvalues")
        if isinstance(value, list) and value:
            curves[str(name)] = [float(v) for v in value]
    if not curves:
        raise ValueError("NTK spectrum JSON holds no eigenvalues")
    return curves
