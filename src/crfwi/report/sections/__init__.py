"""The report's sections, one module each, in the order :data:`SECTIONS` lists them.

A section is a function ``section(ctx: ReportContext) -> list[str]``: it returns its Markdown
lines (the report is every section's lines joined by newlines) and may leave in ``ctx`` what a
later section needs (the paper's tables mark the cells they show; "Other runs" and the "Runs"
appendix read that, so they come after). A table of the paper's, written once per scale that
was run, is a function ``table(ctx, scale) -> list[str]`` listed in :data:`PAPER_TABLES`.

To add a section or a table: write such a function in a module of its own here (see
``table5.py`` for a table of the paper's, ``other_runs.py`` for one of ours only) and list it
below, where it is to appear.
"""

from __future__ import annotations

from collections.abc import Callable

from ..context import ReportContext
from .ablations import ablations
from .analysis import analysis
from .before_after import before_after
from .chevron import chevron
from .bounds import bounds
from .claims import constant_start_claims, seed_counts
from .convergence import convergence
from .header import budget, header, machine_and_software
from .interpretation import interpretation
from .ntk import ntk_decay
from .other_runs import other_runs
from .panels import model_panels
from .runs_appendix import runs_appendix
from .table1 import table1
from .table2 import table2
from .table4 import table4
from .table5 import table5
from .table6 import table6
from .table7 import table7
from .verification import verification

Section = Callable[[ReportContext], list[str]]
PaperTable = Callable[[ReportContext, str], list[str]]

#: The paper's tables, in the order they appear for each scale.
PAPER_TABLES: list[PaperTable] = [table4, table5, table1, table7, table2, table6]


def paper_tables(ctx: ReportContext) -> list[str]:
    """Every table of :data:`PAPER_TABLES`, scale by scale."""
    lines = []
    for scale in ctx.scales():
        for table in PAPER_TABLES:
            lines += table(ctx, scale)
    return lines


#: The report, top to bottom.
SECTIONS: list[Section] = [
    header,
    machine_and_software,
    budget,
    paper_tables,
    other_runs,  # after the paper's tables: shows the cells they did not
    before_after,  # with --before: the cells issue 11 changed, and those not re-run yet
    bounds,  # which bound derivative each network cell ran under (--bound-before: re-runs)
    ablations,  # with --ablations: each ablation run beside its main run
    chevron,  # with --chevron: the Chevron-style field line
    model_panels,
    convergence,
    ntk_decay,
    verification,
    analysis,
    constant_start_claims,
    seed_counts,
    interpretation,
    runs_appendix,  # last: lists where every run entered
]
