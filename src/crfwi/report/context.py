"""What the report's sections share: the runs and their cells, where the report and its figures
go, the options, and the questions several sections ask of the runs (which groups, scales,
methods; which cell fills a column of the paper's).

It also carries what an earlier section leaves for a later one: the table sections mark the
cells they show (:meth:`ReportContext.mark_placed`), so that "Other runs" shows only the rest and
the "Runs" appendix says where each run entered.
"""

from __future__ import annotations

from pathlib import Path

from ..study import paper_results as paper
from .markdown import escape
from .runs import INITS, METHOD_ORDER, Cell, aggregate, method_rank, scan
from .true_models import TrueModels

#: Which initial model's runs fill a degraded-data column when several exist (the paper's text and
#: figure captions disagree, its numbers point to the linear start; PAPER.md §4.1).
DEGRADED_INIT_PREFERENCE = ("linear", "constant", "smooth")
#: The methods whose code issue 11 changed: the "before" table compares their cells (and any cell
#: whose initial model changed) with an earlier results folder (``--before``).
CHANGED_METHODS = ("adfwi-tv", "weci-fwi", "siren", "gabor", "lowrank", "hashgrid", "ig", "lrg")

#: Datasets of the paper's other tables (2: OpenFWI maps, 6: the 3-D Overthrust).
OTHER_PAPER_DATASETS = ("openfwi", "overthrust3d")

CellKey = tuple[str, str, str, str]  # (group, init, scenario, method)


class ReportContext:
    """The report of one results folder while its sections are written."""

    def __init__(self, results_dir: Path, out_md: Path, *, ntk, verify_k: int, seed: int,
                 command: str | None, notes: str | None = None, before: Path | None = None,
                 ablations: Path | None = None,
                 changed_methods: tuple[str, ...] = CHANGED_METHODS,
                 bound_before: Path | None = None, inversionnet: Path | None = None,
                 chevron: Path | None = None) -> None:
        self.interpretation = notes
        self.results = results_dir
        self.out_md = out_md
        self.base = out_md.parent
        self.fig_dir = self.base / "figures"
        self.records, self.ignored, self.incomplete = scan(results_dir)
        if not self.records:
            raise ValueError(f"no run folders (<group>/<init>-<scenario>/<method>-seed<N>/"
                             f"metrics.json) under {results_dir}")
        self.cells = aggregate(self.records)
        self.ntk = ntk
        self.verify_k = verify_k
        self.seed = seed
        self.command = command
        # One cache for the panels and the verification: a true model is rebuilt once.
        self.models = TrueModels()
        # Filled by the sections as they are written (see the module docstring).
        self.placed: set[CellKey] = set()
        self.where: dict[CellKey, list[str]] = {}
        self.compute_runs: set[str] = set()
        self.notes = self._group_notes()
        # Other results folders set beside this one: an earlier study (``before``) and
        # ablation runs, each read the same way (an absent ablation folder = none run yet).
        self.before = before
        self.before_cells = aggregate(scan(before)[0]) if before is not None else {}
        self.changed_methods = tuple(changed_methods)
        self.ablations = ablations
        # The cells' earlier runs under another bound derivative (sections/bounds.py).
        self.bound_before = bound_before
        # The data-driven baseline's evaluation (Table 2), a summary.json or None.
        self.inversionnet = inversionnet
        # The Chevron-style field line's summaries (sections/chevron.py), or None.
        self.chevron = chevron
        self.ablation_records = (scan(ablations)[0] if ablations is not None
                                 and ablations.is_dir() else [])

    def _group_notes(self) -> dict[str, list[str]]:
        """Each group's run notes (e.g. "not the paper's model"), for the ‡ marks."""
        notes: dict[str, list[str]] = {}
        for r in self.records:
            if r.note and r.note not in notes.setdefault(r.group, []):
                notes[r.group].append(r.note)
        return {g: n for g, n in notes.items() if n}

    def groups(self, dataset: str | None = None) -> list[str]:
        """The groups run (of ``dataset``, or all), in the paper's order."""
        seen: list[str] = []
        for r in self.records:
            if (dataset is None or r.dataset == dataset) and r.group not in seen:
                seen.append(r.group)
        return seen

    def scales(self) -> list[str]:
        """The scales at which one of the paper's datasets was run: one set of tables each."""
        scales = []
        for r in self.records:
            if (r.dataset in paper.DATASETS or r.dataset in OTHER_PAPER_DATASETS) \
                    and r.scale not in scales:
                scales.append(r.scale)
        return scales

    def methods_in(self, groups: list[str]) -> list[str]:
        """A table's rows: the paper's nine methods (run or not), then any other method run."""
        ran = {c.method for c in self.cells.values() if c.group in groups}
        rows = [m for m in METHOD_ORDER[:9]]
        rows += sorted((m for m in ran if m not in rows), key=method_rank)
        return rows

    def degraded_init(self, group: str, scenario: str) -> str | None:
        """The initial model whose runs fill ``scenario``'s column of ``group``."""
        inits = {c.init for c in self.cells.values() if c.group == group and c.scenario == scenario}
        for init in DEGRADED_INIT_PREFERENCE:
            if init in inits:
                return init
        return sorted(inits)[0] if inits else None

    def cell_for(self, group: str, column: paper.Column, method: str) -> Cell | None:
        """Our cell for one of the paper's columns, or None where we have no run."""
        init = column.init or self.degraded_init(group, column.scenario)
        if init is None:
            return None
        return self.cells.get((group, init, column.scenario, method))

    def clean_inits(self, group: str) -> list[str]:
        """The initial models with clean-data runs in ``group`` (smooth, linear, constant, rest)."""
        inits = {c.init for c in self.cells.values() if c.group == group and c.scenario == "clean"}
        return sorted(inits, key=lambda i: (INITS.index(i) if i in INITS else 9, i))

    def mark_placed(self, cell: Cell | None, where: str = "") -> None:
        """Record that a paper table shows ``cell`` (at ``where``, for the "Runs" appendix)."""
        if cell is not None:
            key = (cell.group, cell.init, cell.scenario, cell.method)
            self.placed.add(key)
            if where and where not in self.where.setdefault(key, []):
                self.where[key].append(where)

    def note_marks(self, groups: list[str]) -> list[str]:
        """The ‡ lines under a table for its groups that carry a run note."""
        return [f"> ‡ **{g}**: {escape(note)} — the paper's number beside ours is for the "
                "paper's model, not this one." for g in groups for note in self.notes.get(g, [])]
