"""The "Interpretation" section: the human-written text given with ``--notes`` (its numbers are
the author's), or a marked placeholder asking for it."""

from __future__ import annotations

from ..context import ReportContext


def interpretation(ctx: ReportContext) -> list[str]:
    """The notes as given, or the placeholder."""
    lines = ["## Interpretation", ""]
    if ctx.interpretation:
        lines += [ctx.interpretation.strip(), ""]
    else:
        lines += ["> **[PLACEHOLDER — human-written interpretation goes here]** (pass it with "
                  "`--notes FILE`): what the numbers above do and do not support, how the "
                  "reduced (CPU-scale) budget and grids limit the comparison with the paper, "
                  "and where ours and the paper's disagree.", ""]
    return lines
