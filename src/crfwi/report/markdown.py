"""Markdown text pieces the sections share: numbers, "ours (paper)" cells, tables, links."""

from __future__ import annotations

import math
import os
from pathlib import Path

#: What a table shows where there is no number (no run of ours, or none printed in the paper).
DASH = "–"


def fixed(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals; nan/inf spelled out, :data:`DASH` for none."""
    if value is None:
        return DASH
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def ours_text(stat, digits: int = 4) -> str:
    """Our side of a cell from a (mean, std, n) stat: the mean, or "mean ± std, n=N" over
    several seeds."""
    if stat is None:
        return DASH
    mean, std, n = stat
    if n > 1 and std is not None:
        return f"{fixed(mean, digits)} ± {fixed(std, digits)}, n={n}"
    return fixed(mean, digits)


def escape(text: str) -> str:
    """``text`` safe inside a table cell (a "|" would split it, a newline end the row)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a pipe table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def best_indices(values: list[float | None], higher: bool) -> set[int]:
    """The positions of the best finite value (all of them on a tie: each gets the bold)."""
    finite = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not finite:
        return set()
    target = (max if higher else min)(v for _, v in finite)
    return {i for i, v in finite if v == target}


def link_path(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` with "/" separators: a link that works from the report."""
    return Path(os.path.relpath(path, start)).as_posix()

