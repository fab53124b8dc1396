"""``crfwi report RESULTS_DIR``: a Markdown report of a results folder in the paper's layout.

Input: a folder laid out as the sweep runner writes it (:mod:`crfwi.sweep`), one run folder per
``<preset>-<scale>/<init>-<scenario>/<method>-seed<N>/`` holding at least ``metrics.json`` and
``config.resolved.toml`` (``history.csv``, ``data.json`` and ``model.npy`` are used when present).
Output: ``report.md`` plus the figures it cites (``figures/`` next to it):

* Table 4 (Marmousi: SSIM, MSE, MAE for every initial model and data scenario), Table 5 (2004 BP,
  salt, Overthrust × smooth / linear / constant) and Table 1 (the MSE columns plus the compute
  columns), each cell "ours (paper)": ours is the mean over seeds, "mean ± std, n=N" when there
  is more than one seed (std = sample standard deviation, ddof 1); the paper's number as printed,
  with its source in :mod:`crfwi.paper_results`. Our best per column is **bold**, the paper's best
  carries a †; "–" marks a run we do not have (or a number the paper does not print).
* Datasets, initial models or scenarios outside the paper's tables go to generic tables.
* An appendix lists the run folders behind every cell (relative links), with their own numbers.
* Model panels (true / initial / every method, one colour scale) and velocity-MSE convergence
  curves per dataset and initial model (clean data), and the NTK decay figure when given.
* :func:`verify` recomputes the metrics of a random sample of runs from their saved ``model.npy``
  and the rebuilt true model; the report states the result.
* An "Analysis" section of statements computed from the numbers (no hand-written conclusions),
  and a marked placeholder for the human-written interpretation.

Everything is read from the run folders; nothing is re-run. The true model is rebuilt from each
run's resolved config (benchmark files need ``$CRFWI_DATA_DIR``); where it cannot be built the
report says so and skips the panels and the verification of those runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import paper_results as paper
from .markdown import (DASH, best_indices, escape, fixed, link_path, markdown_table,
                       ours_text)
from .runs import (INITS, METHOD_ORDER, SCENARIOS, Cell, RunRecord, aggregate, collect,
                   mean_std_n, method_rank, number, scan, split_group)
from .true_models import TrueModels
from .verification import VERIFIED_KEYS, VERIFY_TOLERANCE, verify

__all__ = ["RunRecord", "Cell", "collect", "aggregate", "verify", "write_report",
           "add_report_parser", "SCENARIOS", "VERIFY_TOLERANCE"]

#: Which initial model's runs fill a degraded-data column when several exist (the paper's text and
#: figure captions disagree, its numbers point to the linear start; PAPER.md §4.1).
DEGRADED_INIT_PREFERENCE = ("linear", "constant", "smooth")
CR_METHODS = ("siren", "gabor", "lowrank", "ig")


# ----------------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------------
@dataclass
class _Column:
    """One column of a metric table: our cells (by method) and the paper's values (by method)."""

    header: str
    cells: dict[str, Cell]
    paper: dict[str, paper.PaperValue]
    paper_best: set[str]
    dataset: str = ""
    key: str = ""


class _Report:
    def __init__(self, results_dir: Path, out_md: Path, *, ntk, verify_k: int, seed: int,
                 command: str | None, notes: str | None = None) -> None:
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
        self.models = TrueModels()
        self.placed: set[tuple[str, str, str, str]] = set()
        self.traced: dict[tuple[str, str, str, str], list[str]] = {}
        self.where: dict[tuple[str, str, str, str], list[str]] = {}
        self.compute_runs: set[str] = set()
        self.lines: list[str] = []
        self.figures: list[Path] = []
        self.notes = self._group_notes()

    # ------------------------------------------------------------------ helpers
    def _group_notes(self) -> dict[str, list[str]]:
        notes: dict[str, list[str]] = {}
        for r in self.records:
            if r.note and r.note not in notes.setdefault(r.group, []):
                notes[r.group].append(r.note)
        return {g: n for g, n in notes.items() if n}

    def groups(self, dataset: str | None = None) -> list[str]:
        seen: list[str] = []
        for r in self.records:
            if (dataset is None or r.dataset == dataset) and r.group not in seen:
                seen.append(r.group)
        return seen

    def scales(self) -> list[str]:
        scales = []
        for r in self.records:
            if r.dataset in paper.DATASETS and r.scale not in scales:
                scales.append(r.scale)
        return scales

    def methods_in(self, groups: list[str]) -> list[str]:
        ran = {c.method for c in self.cells.values() if c.group in groups}
        rows = [m for m in METHOD_ORDER[:9]]
        rows += sorted((m for m in ran if m not in rows), key=method_rank)
        return rows

    def degraded_init(self, group: str, scenario: str) -> str | None:
        inits = {c.init for c in self.cells.values() if c.group == group and c.scenario == scenario}
        for init in DEGRADED_INIT_PREFERENCE:
            if init in inits:
                return init
        return sorted(inits)[0] if inits else None

    def cell_for(self, group: str, column: paper.Column, method: str) -> Cell | None:
        init = column.init or self.degraded_init(group, column.scenario)
        if init is None:
            return None
        return self.cells.get((group, init, column.scenario, method))

    def _mark_placed(self, cell: Cell | None, where: str = "") -> None:
        if cell is not None:
            key = (cell.group, cell.init, cell.scenario, cell.method)
            self.placed.add(key)
            self.traced[key] = cell.keys
            if where and where not in self.where.setdefault(key, []):
                self.where[key].append(where)

    def column(self, group: str, dataset: str, column: paper.Column, methods: list[str],
               metric: str, *, table: str | None = None, header: str | None = None,
               where: str = "") -> _Column:
        cells, values = {}, {}
        for method in methods:
            cell = self.cell_for(group, column, method)
            if cell is not None:
                cells[method] = cell
                self._mark_placed(cell, f"{where} · {header or column.label}" if where else "")
        for method in methods:
            try:
                value = paper.lookup(dataset, column.key, method, metric, table=table)
            except ValueError:
                value = None
            if value is not None:
                values[method] = value
        best = set(paper.best(dataset, column.key, metric, table=table))
        best_methods = {m for m in methods if m in paper.METHOD_NAMES
                        and paper.METHOD_NAMES[m] in best}
        return _Column(header or column.label, cells, values, best_methods, dataset, column.key)

    def metric_table(self, columns: list[_Column], methods: list[str], metric: str, *,
                     initial_row: bool = True) -> list[str]:
        higher = paper.HIGHER_IS_BETTER.get(metric, False)
        means = {}
        for j, col in enumerate(columns):
            for m in methods:
                stat = col.cells[m].stat(metric) if m in col.cells else None
                means[(j, m)] = stat
        best = [best_indices([means[(j, m)][0] if means[(j, m)] else None for m in methods],
                              higher) for j in range(len(columns))]
        rows = []
        for i, method in enumerate(methods):
            label = paper.METHOD_NAMES.get(method, method)
            row = [f"{label} ({method})"]
            for j, col in enumerate(columns):
                ours = ours_text(means[(j, method)])
                if i in best[j]:
                    ours = f"**{ours}**"
                value = col.paper.get(method)
                mark = "†" if method in col.paper_best else ""
                theirs = DASH if value is None else value.text + mark
                row.append(f"{ours} ({theirs})")
            rows.append(row)
        if initial_row:
            row = ["initial model"]
            for col in columns:
                stats = [c.initial_stat(metric) for c in col.cells.values()]
                stats = [s for s in stats if s is not None]
                row.append(f"{fixed(stats[0][0])} ({DASH})" if stats else f"{DASH} ({DASH})")
            rows.append(row)
        return markdown_table(["Method"] + [c.header for c in columns], rows)

    def _note_marks(self, groups: list[str]) -> list[str]:
        out = []
        for g in groups:
            for note in self.notes.get(g, []):
                out.append(f"> ‡ **{g}**: {escape(note)} — the paper's number beside ours is for "
                           "the paper's model, not this one.")
        return out

    # ------------------------------------------------------------------ sections
    def header(self) -> None:
        from .. import __version__

        cmd = self.command or f"crfwi report {self.results}"
        n_groups = len(self.groups())
        lines = [
            "# crfwi results report: the paper's tables, ours beside theirs",
            "",
            f"Regenerate with: `{cmd}`"
            + (" (run from the repository root; benchmark models need `CRFWI_DATA_DIR`, "
               "e.g. `export CRFWI_DATA_DIR=../shared/models` as the Makefile does)"),
            "",
            f"* Generated: {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by crfwi {__version__}",
            f"* Results folder: `{link_path(self.results, self.base)}` — {len(self.records)} complete "
            f"run folders in {n_groups} group(s)"
            + (f"; {len(self.incomplete)} incomplete (no metrics.json, left out)"
               if self.incomplete else "")
            + (f"; {len(self.ignored)} metrics.json outside the layout ignored" if self.ignored
               else ""),
            "* Paper: Chen et al., \"Unveiling the Mechanism of Continuous Representation "
            "Full-Waveform Inversion\", ICLR 2026 — numbers from `crfwi.paper_results` "
            "(PAPER.md §5, as printed).",
            "",
            "**Conventions.** A cell reads `ours (paper)`. Ours is one run's value, or "
            "`mean ± std, n=N` over N seeds (std: sample standard deviation, ddof 1). "
            "**Bold** = our best in the column (among the methods we ran); † = the paper's best in "
            "the column (among all methods of its own table). `–` = no run of ours / no number in "
            "the paper. SSIM higher is better; MSE ((km/s)²) and MAE (km/s) lower is better. "
            "The row *initial model* gives our initial model's metrics. The paper reports single "
            "runs. Every cell's run folders are listed in the appendix [Runs](#runs).",
            "",
            "## Machine and software",
            "",
        ]
        machines: dict[tuple, int] = {}
        for r in self.records:
            m = r.meta
            key = (m.get("device", "?"), m.get("crfwi_version", "?"), m.get("torch_version", "?"),
                   m.get("deepwave_version", "?"), m.get("python_version", "?"),
                   m.get("numpy_version", "?"))
            machines[key] = machines.get(key, 0) + 1
        lines += markdown_table(["device", "crfwi", "torch", "deepwave", "python", "numpy", "runs"],
                        [[escape(str(v)) for v in k] + [str(n)] for k, n in machines.items()])
        lines += ["", "(from `[meta]` of each run's `config.resolved.toml`)", "",
                  "## Budget", ""]
        budget: dict[tuple, dict] = {}
        for r in self.records:
            b = budget.setdefault((r.group, r.init), {"scenarios": [], "iterations": set(),
                                                      "batch": set(), "shots": set(),
                                                      "seeds": set(), "runs": 0, "methods": set(),
                                                      "sampling": set(), "seconds": 0.0})
            if r.scenario not in b["scenarios"]:
                b["scenarios"].append(r.scenario)
            b["iterations"].add(r.iterations)
            b["batch"].add(r.shots_per_iteration)
            b["shots"].add(r.n_shots)
            b["seeds"].add(r.seed)
            b["methods"].add(r.method)
            b["sampling"].add(int(r.config.get("physics", {}).get("gradient_sampling_interval", 1)))
            b["runs"] += 1
            b["seconds"] += number(r.metrics.get("seconds")) or 0.0

        def join(values):
            return ", ".join(DASH if v is None else str(v)
                             for v in sorted(values, key=lambda v: (v is None, v)))

        rows = []
        for (group, init), b in budget.items():
            batch = ", ".join(sorted("all" if v == 0 else str(v) for v in b["batch"]))
            rows.append([group, init, ", ".join(b["scenarios"]), join(b["iterations"]), batch,
                         join(b["shots"]), join(b["seeds"]), str(len(b["methods"])),
                         str(b["runs"]), join(b["sampling"]), f"{b['seconds'] / 3600:.2f}"])
        total = sum(b["seconds"] for b in budget.values()) / 3600
        lines += markdown_table(["group", "initial model", "scenarios", "iterations",
                         "shots per iteration", "shots (after decimation)", "seeds", "methods",
                         "runs", "gradient sampling interval", "compute (h)"], rows)
        lines += ["", "One epoch = n_shots / shots_per_iteration iterations (shots per iteration "
                  "0 = all shots). The paper's only stated budget is 500 (smooth) and 1500 "
                  "(constant) epochs on BP. Gradient sampling interval k = deepwave records the "
                  "wavefield for the model gradient every k-th time step (`physics."
                  "gradient_sampling_interval`). Compute = the runs' own wall time (`seconds` in "
                  f"metrics.json, summed), {total:.2f} h in all; runs that shared the machine "
                  "ran slower.", ""]
        self.lines += lines

    def scenario_facts(self, group: str) -> list[str]:
        """What each degraded scenario did, read from data.json and the config."""
        out = []
        for scenario in SCENARIOS[1:]:
            runs = [r for r in self.records if r.group == group and r.scenario == scenario]
            if not runs:
                continue
            freq = {r.config.get("survey", {}).get("freq") for r in runs}
            facts = set()
            for r in runs:
                d = r.data
                if number(d.get("highpass_hz")):
                    facts.add(f"low-cut below {d['highpass_hz']:g} Hz")
                if number(d.get("noise_k")):
                    facts.add(f"noise std {d['noise_k']:g}σ0")
                if d.get("shots_kept"):
                    facts.add(f"{len(d['shots_kept'])} of {d.get('n_shots', '?')} shots")
            src = ", ".join(f"{f:g} Hz" for f in sorted(f for f in freq if f is not None))
            init = self.degraded_init(group, scenario)
            out.append(f"`{scenario}`: {'; '.join(sorted(facts)) or 'see data.json'} "
                       f"(source {src or '?'}; initial model: {init})")
        return out

    def table4(self, scale: str) -> None:
        group = f"marmousi-{scale}" if scale else "marmousi"
        methods = self.methods_in([group])
        title = f"## Table 4 — Marmousi, all metrics (`{group}`)"
        lines = [title, ""]
        if group not in self.groups():
            lines += [f"No runs of `{group}`: only the paper's numbers are shown.", ""]
        for metric in paper.METRICS:
            columns = [self.column(group, "marmousi", c, methods, metric, where="Table 4")
                       for c in paper.TABLE4_COLUMNS]
            lines += [f"### {paper.METRIC_LABELS[metric]}", ""]
            lines += self.metric_table(columns, methods, metric)
            lines.append("")
        facts = self.scenario_facts(group)
        if facts:
            lines += ["Our degraded-data columns (from each run's data.json and config): "
                      + "; ".join(facts) + ". The paper: noise 4σ0/8σ0, low-cut 4/6 Hz under an "
                      "8 Hz source, 9/5 of 13 shots; its initial model for these columns is "
                      "ambiguous (PAPER.md §4.1; its numbers point to the linear start).", ""]
        lines += self._note_marks([group])
        self.lines += lines + [""]

    def table5(self, scale: str) -> None:
        lines = ["## Table 5 — 2004 BP, Salt and Overthrust, all metrics"
                 + (f" (scale `{scale}`)" if scale else ""), ""]
        groups = {ds: (f"{ds}-{scale}" if scale else ds) for ds in ("bp2004", "salt", "overthrust")}
        methods = self.methods_in(list(groups.values()))
        for metric in paper.METRICS:
            columns = []
            for ds, group in groups.items():
                mark = "‡" if group in self.notes else ""
                for c in paper.TABLE5_COLUMNS[ds]:
                    columns.append(self.column(group, ds, c, methods, metric,
                                               header=c.printed + mark, where="Table 5"))
            label = ("SSIM ↑ (printed \"SSIM ↓\" in the paper, a typo)" if metric == "ssim"
                     else paper.METRIC_LABELS[metric])
            lines += [f"### {label}", ""]
            lines += self.metric_table(columns, methods, metric)
            lines.append("")
        missing = [g for g in groups.values() if g not in self.groups()]
        if missing:
            lines += [f"No runs of {', '.join(f'`{g}`' for g in missing)}: only the paper's "
                      "numbers are shown there.", ""]
        lines += self._note_marks(list(groups.values()))
        self.lines += lines + [""]

    def table1(self, scale: str) -> None:
        lines = ["## Table 1 — MSE ↓ and computing resources"
                 + (f" (scale `{scale}`)" if scale else ""), ""]
        groups = [f"{ds}-{scale}" if scale else ds for ds in paper.DATASETS]
        methods = self.methods_in(groups)
        columns = []
        t4 = {c.key: c for c in paper.TABLE4_COLUMNS}
        for printed, ds, key in paper.TABLE1_COLUMNS:
            group = f"{ds}-{scale}" if scale else ds
            mark = "‡" if group in self.notes else ""
            columns.append(self.column(group, ds, t4[key], methods, "mse", table="1",
                                       header=printed + mark, where="Table 1"))
        lines += self.metric_table(columns, methods, "mse", initial_row=False)
        lines += ["", "Paper values here are Table 1's own (see the inconsistencies below).", ""]
        # compute columns
        present = self.groups()
        ref = (f"bp2004-{scale}" if scale else "bp2004")
        if ref not in present:
            candidates = [g for g in present if split_group(g)[1] == scale] or present
            ref = max(candidates, key=lambda g: sum(r.group == g for r in self.records))
        rows = []
        devices = set()
        for method in methods:
            runs = [r for r in self.records if r.group == ref and r.method == method]
            devices.update(r.device for r in runs)
            try:
                theirs = paper.compute(method)
            except ValueError:
                theirs = {}
            spe = mean_std_n([v for v in (r.seconds_per_epoch for r in runs) if v is not None])
            params = sorted({r.params for r in runs if r.params is not None})
            mem = [r.peak_memory_mib for r in runs if r.peak_memory_mib is not None]
            params_text = (DASH if not params else "/".join(f"{p / 1000:.2f}" for p in params))
            mem_text = DASH if not mem else f"{max(mem) / 1024:.2f}"

            def their(key):
                return theirs[key].text if key in theirs else DASH

            rows.append([f"{paper.METHOD_NAMES.get(method, method)} ({method})",
                         f"{ours_text(spe, 3)} ({their('time_s_per_epoch')})",
                         f"{params_text} ({their('params_k')})",
                         f"{mem_text} ({their('memory_gb')})"])
            for r in runs:
                self.compute_runs.add(r.key)
        lines += [f"Compute columns, ours from the runs of `{ref}` "
                  f"(device: {', '.join(sorted(devices)) or '?'}); the paper's from one BP shot "
                  "on an RTX 3090.", ""]
        lines += markdown_table(["Method", "Time (s/epoch)", "Params (K)", "Peak memory (GB)"], rows)
        lines += ["", "Seconds per epoch = seconds_per_iteration × n_shots / shots_per_iteration "
                  "(mean ± std over the runs); params = trainable parameters / 1000 (all values "
                  "seen); peak memory = the largest `peak_memory_mib` / 1024 (CUDA: peak "
                  "allocation; CPU: the process's peak resident set, which includes the Python "
                  "runtime and, in a process that ran several runs, the largest of them). "
                  "`–` where a run does not record it.", ""]
        lines += ["Inconsistencies of the paper between Table 1 and Tables 4/5 (each table keeps "
                  "its own values here):", ""]
        lines += [f"* {text}" for text in paper.INCONSISTENCIES]
        lines.append("")
        lines += self._note_marks(groups)
        self.lines += lines + [""]

    def other_runs(self) -> None:
        rest = [c for k, c in self.cells.items() if k not in self.placed]
        if not rest:
            return
        lines = ["## Other runs", "",
                 "Runs outside the paper's tables (datasets, initial models or scenarios it does "
                 "not report); ours only, best per column in bold.", ""]
        groups: list[str] = []
        for c in rest:
            if c.group not in groups:
                groups.append(c.group)
        for group in groups:
            cells = [c for c in rest if c.group == group]
            combos: list[tuple[str, str]] = []
            for c in cells:
                if (c.init, c.scenario) not in combos:
                    combos.append((c.init, c.scenario))
            methods = sorted({c.method for c in cells}, key=method_rank)
            lines += [f"### `{group}`", ""]
            for metric in paper.METRICS:
                header = ["Method"] + [f"{i}-{s}" for i, s in combos]
                higher = paper.HIGHER_IS_BETTER[metric]
                grid = {(m, combo): self.cells.get((group, *combo, m)) for m in methods
                        for combo in combos}
                best = {combo: best_indices(
                    [(grid[(m, combo)].stat(metric) or (None,))[0] if grid[(m, combo)] else None
                     for m in methods], higher) for combo in combos}
                rows = []
                for i, m in enumerate(methods):
                    row = [f"{paper.METHOD_NAMES.get(m, m)} ({m})"]
                    for combo in combos:
                        cell = grid[(m, combo)]
                        text = ours_text(cell.stat(metric)) if cell else DASH
                        row.append(f"**{text}**" if i in best[combo] else text)
                    rows.append(row)
                lines += [f"{paper.METRIC_LABELS[metric]}:", ""] + markdown_table(header, rows) + [""]
            for c in cells:
                self.traced[(c.group, c.init, c.scenario, c.method)] = c.keys
                self.where.setdefault((c.group, c.init, c.scenario, c.method), []).append(
                    f"Other runs · {c.init}-{c.scenario}")
            lines += self._note_marks([group])
        self.lines += lines + [""]

    # ------------------------------------------------------------------ figures
    def model_panels(self) -> list[str]:
        from ..plotting import plot_models

        lines = ["## Models (clean data)", "",
                 "True model, initial model and each method's final model (lowest seed) on one "
                 "colour scale (the true model's range), like the paper's Figs. 6/13.", ""]
        any_figure = False
        for group in self.groups():
            for init in self._inits(group):
                cells = [c for c in self.cells.values()
                         if c.group == group and c.init == init and c.scenario == "clean"]
                cells.sort(key=lambda c: method_rank(c.method))
                first = min((r for c in cells for r in c.runs), key=lambda r: r.seed)
                title = f"{group}, {init} initial model, clean data"
                try:
                    grid, true, initial, _ = self.models.true_and_initial(first)
                except ValueError as err:
                    lines += [f"* {title}: no panels — {escape(str(err))}.", ""]
                    continue
                panels = {"true": true, "initial": initial}
                skipped = []
                for c in cells:
                    run = min(c.runs, key=lambda r: r.seed)
                    path = run.path / "model.npy"
                    if not path.is_file():
                        skipped.append(f"{c.method} (no model.npy)")
                        continue
                    model = np.load(path, allow_pickle=False)
                    if model.shape != true.shape:
                        skipped.append(f"{c.method} (shape {model.shape} ≠ {true.shape})")
                        continue
                    panels[f"{run.paper_method} ({run.method}, seed {run.seed})"] = model
                name = f"models_{group}_{init}-clean.png"
                note = "; ".join(self.notes.get(group, []))
                plot_models(panels, grid, self.fig_dir / name, vmin=float(true.min()),
                            vmax=float(true.max()), title=title + (f"\n{note}" if note else ""))
                self.figures.append(self.fig_dir / name)
                any_figure = True
                lines += [f"### {title}", "", f"![{title}]({link_path(self.fig_dir / name, self.base)})",
                          ""]
                if note:
                    lines += [f"> ‡ {escape(note)}", ""]
                if skipped:
                    lines += [f"Not shown: {', '.join(skipped)}.", ""]
        if not any_figure and len(lines) == 4:
            lines += ["No clean-data runs.", ""]
        return lines

    def _inits(self, group: str) -> list[str]:
        inits = {c.init for c in self.cells.values() if c.group == group and c.scenario == "clean"}
        return sorted(inits, key=lambda i: (INITS.index(i) if i in INITS else 9, i))

    def convergence(self) -> list[str]:
        from ..plotting import _new_figure, _save

        lines = ["## Convergence (velocity MSE, clean data)", "",
                 "Velocity MSE against the true model vs iteration, from each run's "
                 "`history.csv` (metrics are recorded every k iterations), one line per run, "
                 "one colour per method (like the paper's Fig. 7).", ""]
        colours = [f"C{i}" for i in range(10)]
        for group in self.groups():
            for init in self._inits(group):
                cells = sorted((c for c in self.cells.values()
                                if c.group == group and c.init == init and c.scenario == "clean"),
                               key=lambda c: method_rank(c.method))
                fig = _new_figure(7.0, 4.2)
                ax = fig.subplots()
                drawn = 0
                for k, c in enumerate(cells):
                    for j, run in enumerate(sorted(c.runs, key=lambda r: r.seed)):
                        xs, ys = _history_series(run.path / "history.csv", "mse")
                        if not xs:
                            continue
                        ax.plot(xs, ys, color=colours[k % 10], lw=1.4 if j == 0 else 0.8,
                                alpha=1.0 if j == 0 else 0.6,
                                label=f"{run.paper_method} ({run.method})" if j == 0 else None)
                        drawn += 1
                title = f"{group}, {init} initial model, clean data"
                if not drawn:
                    lines += [f"* {title}: no history.csv with MSE values.", ""]
                    continue
                ax.set_yscale("log")
                ax.set_xlabel("iteration")
                ax.set_ylabel("velocity MSE ((km/s)²)")
                ax.grid(True, which="both", alpha=0.3)
                ax.legend(fontsize=7)
                note = "; ".join(self.notes.get(group, []))
                ax.set_title(title + (" ‡" if note else ""), fontsize=9)
                name = f"convergence_{group}_{init}-clean.png"
                _save(fig, self.fig_dir / name, 120)
                self.figures.append(self.fig_dir / name)
                lines += [f"![{title}]({link_path(self.fig_dir / name, self.base)})", ""]
                if note:
                    lines += [f"> ‡ {escape(note)}", ""]
                lines += self._tail_table(cells)
        return lines

    @staticmethod
    def _tail_table(cells: list) -> list[str]:
        """How far each method still fell in the last quarter of its budget: the evidence for
        (or against) calling the budget converged."""
        rows = []
        for c in cells:
            tails = [tail for run in c.runs
                     if (tail := _tail_drop(*_history_series(run.path / "history.csv", "mse")))]
            if not tails:
                continue
            then, final, drop = (sum(values) / len(tails) for values in zip(*tails))
            verdict = ("still falling" if drop > TAIL_FLAT else
                       "rising" if drop < -TAIL_FLAT else "flat")
            rows.append([f"{c.runs[0].paper_method} ({c.method})", str(len(tails)),
                         fixed(then), fixed(final), f"{100 * drop:.1f} %", verdict])
        if not rows:
            return []
        return (["MSE drop over the last quarter of the budget (mean over seeds; "
                 f"'flat' = within ±{100 * TAIL_FLAT:.0f} %):", ""]
                + markdown_table(["method", "runs", "MSE at 3/4 of the budget", "final MSE",
                          "drop in the last quarter", "verdict"], rows) + [""])

    def ntk_section(self) -> list[str]:
        lines = ["## NTK eigenvalue decay", ""]
        if self.ntk is None:
            return lines + ["No NTK spectrum given. Compute one with `crfwi ntk CONFIG.toml "
                            "--methods pixel,siren,ig --out DIR` and pass `--ntk "
                            "DIR/spectrum.json` (or a PNG) to include it.", ""]
        source = Path(self.ntk)
        if source.is_dir():
            source = source / "spectrum.json" if (source / "spectrum.json").is_file() else source
        if source.suffix.lower() == ".json":
            curves = _ntk_curves(json.loads(source.read_text()))
            from ..plotting import plot_spectra

            out = plot_spectra(curves, self.fig_dir / "ntk_decay.png",
                               title="wave-based NTK: eigenvalues / λ1")
            self.figures.append(out)
            lines += [f"![NTK decay]({link_path(out, self.base)})", ""]
            without = {m: v[1:] for m, v in curves.items() if len(v) > 2}
            if without:
                out2 = plot_spectra(without, self.fig_dir / "ntk_decay_without_mean.png",
                                    title="leading mode removed: λk / λ2, k ≥ 2")
                self.figures.append(out2)
                lines += [f"![NTK decay without the leading mode]({link_path(out2, self.base)})", ""]
            rows = []
            for m, v in curves.items():
                v = sorted((float(x) for x in v), reverse=True)
                rows.append([m, str(len(v)), f"{v[0]:.3e}",
                             f"{v[-1] / v[0]:.2e}" if v[0] else DASH,
                             f"{v[-1] / v[1]:.2e}" if len(v) > 2 and v[1] else DASH])
            lines += markdown_table(["method", "k", "λ1", "λk/λ1", "λk/λ2"], rows)
            lines += ["", f"Source: `{link_path(source, self.base)}`.", ""]
        elif source.is_dir():
            pngs = sorted(source.glob("*.png"))
            for png in pngs:
                target = self.fig_dir / f"ntk_{png.name}"
                self._copy(png, target)
                lines += [f"![{png.stem}]({link_path(target, self.base)})", ""]
            lines += [f"Copied from `{link_path(source, self.base)}`." if pngs
                      else f"No spectrum.json or PNG in `{source}`.", ""]
        else:
            target = self.fig_dir / "ntk_decay.png"
            self._copy(source, target)
            lines += [f"![NTK decay]({link_path(target, self.base)})", "",
                      f"Copied from `{link_path(source, self.base)}`.", ""]
        return lines

    def _copy(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        self.figures.append(target)

    # ------------------------------------------------------------------ verification
    def verification(self) -> list[str]:
        lines = ["## Verification", ""]
        if self.verify_k <= 0:
            return lines + ["Not run (`--verify 0`).", ""]
        result = verify(self.records, self.verify_k, self.seed, _models=self.models)
        self.verify_result = result
        n_checked = len(result["checked"])
        lines.append(f"Recomputed the metrics of {n_checked} of a random sample of "
                     f"{min(self.verify_k, len(self.records))} runs (seed {self.seed}) from their "
                     "`model.npy` and the true model rebuilt from their config "
                     "(`crfwi.metrics.evaluate`), against their `metrics.json` "
                     f"(keys {', '.join(VERIFIED_KEYS)}).")
        lines.append("")
        if n_checked:
            verdict = ("**all agree**" if result["ok"] else
                       f"**{len(result['mismatches'])} disagree**: "
                       + ", ".join(f"`{k}`" for k in result["mismatches"]))
            lines += [f"Largest relative difference: {result['max_rel_diff']:.3g} "
                      f"(tolerance {result['tolerance']:g}) — {verdict}.", ""]
            rows = [[f"`{c['key']}`", f"{c['max_rel_diff']:.3g}", c["worst"] or DASH]
                    for c in result["checked"]]
            lines += markdown_table(["run", "max relative difference", "metric"], rows) + [""]
        reasons: dict[str, list[str]] = {}
        for item in result["skipped"]:
            reasons.setdefault(item["reason"], []).append(item["key"])
        for reason, keys in reasons.items():
            lines.append(f"* skipped {len(keys)} run(s) — {escape(reason)}: "
                         + ", ".join(f"`{k}`" for k in keys))
        if reasons:
            lines.append("")
        return lines

    # ------------------------------------------------------------------ analysis
    def analysis(self) -> list[str]:
        lines = ["## Analysis (computed from the numbers above)", "",
                 "Every statement here is generated from the tables; none is hand-written. "
                 "Means over seeds are compared.", ""]
        rows = []
        ig_rows = []
        for scale in self.scales():
            for ds in paper.DATASETS:
                group = f"{ds}-{scale}" if scale else ds
                cols = paper.TABLE4_COLUMNS if ds == "marmousi" else paper.TABLE5_COLUMNS[ds]
                for col in cols:
                    cells = {m: self.cell_for(group, col, m) for m in METHOD_ORDER}
                    cells = {m: c for m, c in cells.items() if c is not None and c.stat("mse")}
                    if len(cells) < 2:
                        continue
                    ran = list(cells)
                    ours = sorted(ran, key=lambda m: cells[m].stat("mse")[0])
                    ours_ssim = max(ran, key=lambda m: cells[m].stat("ssim")[0]
                                    if cells[m].stat("ssim") else -math.inf)
                    p_all = paper.best(ds, col.key, "mse")
                    p_ran = paper.best(ds, col.key, "mse", among=ran)
                    p_values = paper.column_values(ds, col.key, "mse",
                                                   table=paper.primary_table(ds))
                    p_sorted = sorted((m for m in ran if paper.METHOD_NAMES.get(m) in p_values),
                                      key=lambda m: p_values[paper.METHOD_NAMES[m]].value)
                    agree = ("yes" if p_ran and paper.METHOD_NAMES.get(ours[0]) in p_ran else "no")
                    ig = (f"{ours.index('ig') + 1}/{len(ours)}" if "ig" in ours else DASH)
                    ig_p = (f"{p_sorted.index('ig') + 1}/{len(p_sorted)}" if "ig" in p_sorted
                            else DASH)
                    rows.append([group, col.label, str(len(ran)),
                                 f"{paper.METHOD_NAMES.get(ours[0], ours[0])}",
                                 paper.METHOD_NAMES.get(ours_ssim, ours_ssim),
                                 ", ".join(p_all) or DASH, ", ".join(p_ran) or DASH, agree,
                                 ig, ig_p])
                    if "ig" in ours:
                        ig_rows.append((group, col.label, ours.index("ig") + 1, len(ours)))
        if rows:
            lines += ["### Best method per column", ""]
            lines += markdown_table(["group", "column", "methods compared", "our best (MSE)",
                             "our best (SSIM)", "paper's best (MSE, all methods)",
                             "paper's best (MSE, among the methods we ran)", "same best",
                             "IG-FWI rank, ours (MSE)", "IG-FWI rank, paper (same methods)"], rows)
            lines.append("")
        if ig_rows:
            held = [r for r in ig_rows if r[2] <= 2]
            failed = [f"{g} {c} (rank {k}/{n})" for g, c, k, n in ig_rows if k > 2]
            lines += ["### Claim: IG-FWI is best or second in every column (paper: best in 7 of "
                      "Table 1's 11 columns, second in the other 4)", "",
                      f"Ours (MSE): holds in {len(held)} of {len(ig_rows)} columns with IG-FWI and "
                      "at least one other method"
                      + (f"; not in: {', '.join(failed)}." if failed else "."), ""]
        lines += self._claim_constant()
        lines += self._claim_seeds()
        lines += ["## Interpretation", ""]
        if self.interpretation:
            lines += [self.interpretation.strip(), ""]
        else:
            lines += ["> **[PLACEHOLDER — human-written interpretation goes here]** (pass it with "
                      "`--notes FILE`): what the numbers above do and do not support, how the "
                      "reduced (CPU-scale) budget and grids limit the comparison with the paper, "
                      "and where ours and the paper's disagree.", ""]
        return lines

    def _constant_cells(self):
        for scale in self.scales():
            for ds in paper.DATASETS:
                group = f"{ds}-{scale}" if scale else ds
                cells = {m: self.cells.get((group, "constant", "clean", m)) for m in METHOD_ORDER}
                cells = {m: c for m, c in cells.items() if c is not None and c.stat("mse")}
                if cells:
                    yield ds, group, cells

    def _claim_constant(self) -> list[str]:
        lines = []
        rows = []
        mpe = []
        for ds, group, cells in self._constant_cells():
            pixel = cells.get("pixel")
            p_pixel = paper.lookup(ds, "constant", "pixel", "mse")
            for m in CR_METHODS:
                if m not in cells or pixel is None:
                    continue
                mean, std, n = cells[m].stat("mse")
                pm, ps, pn = pixel.stat("mse")
                p_m = paper.lookup(ds, "constant", m, "mse")
                overlap = DASH
                if std is not None and ps is not None:
                    overlap = "yes" if abs(mean - pm) <= std + ps else "no"
                rows.append([group, paper.METHOD_NAMES[m], ours_text((mean, std, n)),
                             ours_text((pm, ps, pn)), f"{mean / pm:.2f}" if pm else DASH,
                             "yes" if mean < pm else "no", overlap,
                             f"{p_m.value / p_pixel.value:.2f}" if p_m and p_pixel else DASH])
            if "hashgrid" in cells:
                c = cells["hashgrid"]
                mean = c.stat("mse")[0]
                init = c.initial_stat("mse")
                p_h = paper.lookup(ds, "constant", "hashgrid", "mse")
                facts = [f"{group}: MPE-FWI final MSE {fixed(mean)}"]
                if init:
                    facts.append(f"initial model MSE {fixed(init[0])} (final / initial = "
                                 f"{mean / init[0]:.2f})")
                if pixel is not None:
                    pm = pixel.stat("mse")[0]
                    facts.append(f"ADFWI {fixed(pm)} (MPE-FWI {'worse' if mean > pm else 'better'})")
                if p_h and p_pixel:
                    facts.append(f"paper: MPE-FWI {p_h.text} vs ADFWI {p_pixel.text} "
                                 f"({'worse' if p_h.value > p_pixel.value else 'better'})")
                mpe.append("* " + "; ".join(facts) + ".")
        if rows:
            lines += ["### Claim: CR-FWI is far better than pixel FWI (ADFWI) from a constant "
                      "initial model", ""]
            lines += markdown_table(["group", "method", "MSE", "ADFWI MSE", "ratio to ADFWI",
                             "lower than ADFWI", "mean ± std ranges overlap",
                             "paper's ratio to ADFWI"], rows)
            lines.append("")
        if mpe:
            lines += ["### Claim: MPE-FWI (hash grid) fails from a constant initial model", ""]
            lines += mpe + [""]
        return lines

    def _claim_seeds(self) -> list[str]:
        lines = []
        for ds, group, cells in self._constant_cells():
            counts = {m: c.n for m, c in cells.items()}
            few = [f"{paper.METHOD_NAMES.get(m, m)} (n={n})" for m, n in counts.items() if n < 3]
            lines.append(f"* `{group}` constant start: seeds per method "
                         + ", ".join(f"{paper.METHOD_NAMES.get(m, m)} {n}"
                                     for m, n in counts.items())
                         + (f"; fewer than 3 seeds: {', '.join(few)}." if few else
                            "; every method has at least 3 seeds."))
        if lines:
            lines = ["### Seeds in the constant-start column (the paper reports single runs)",
                     ""] + lines + [""]
        return lines

    # ------------------------------------------------------------------ appendix
    def appendix(self) -> list[str]:
        lines = ['<a id="runs"></a>', "", "## Runs", "",
                 "Every cell of ours traces to the run folders below: the cell of group G, "
                 "column (initial model I, scenario S) and method M is the mean over the folders "
                 "`G/I-S/M-seed*` listed here (a degraded-data column of Table 4 uses the initial "
                 "model stated under the table). Folder links are relative to this report.", ""]
        rows = []
        for key, cell in self.cells.items():
            where = list(self.where.get(key, []))
            for r in cell.runs:
                spe = r.seconds_per_epoch
                used = where + (["Table 1 · compute"] if r.key in self.compute_runs else [])
                rows.append([f"[`{r.key}`]({link_path(r.path, self.base)})",
                             escape("; ".join(used)) or DASH,
                             str(r.seed),
                             DASH if r.iterations is None else str(r.iterations),
                             fixed(r.value("ssim")), fixed(r.value("mse")), fixed(r.value("mae")),
                             fixed(spe, 3), DASH if r.params is None else str(r.params),
                             fixed(r.peak_memory_mib, 0), "‡" if r.note else ""])
        lines += markdown_table(["run folder", "cells of ours it enters (mean over its seeds)", "seed",
                         "iterations", "SSIM", "MSE", "MAE", "s/epoch",
                         "params", "peak MiB", "note"], rows)
        lines.append("")
        if self.incomplete:
            lines += ["Incomplete run folders (no metrics.json; not in any table): "
                      + ", ".join(f"`{k}`" for k in self.incomplete), ""]
        if self.ignored:
            lines += ["Ignored: " + "; ".join(escape(s) for s in self.ignored), ""]
        return lines

    # ------------------------------------------------------------------ all
    def write(self) -> Path:
        self.verify_result: dict | None = None
        self.header()
        for scale in self.scales():
            self.table4(scale)
            self.table5(scale)
            self.table1(scale)
        self.other_runs()
        body = self.lines
        self.lines = []
        body += self.model_panels()
        body += self.convergence()
        body += self.ntk_section()
        body += self.verification()
        body += self.analysis()
        body += self.appendix()
        self.out_md.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out_md.with_name(f".{self.out_md.name}.{os.getpid()}.tmp")
        tmp.write_text("\n".join(body).rstrip() + "\n")
        os.replace(tmp, self.out_md)
        return self.out_md


def _history_series(path: Path, key: str) -> tuple[list[float], list[float]]:
    if not path.is_file():
        return [], []
    xs, ys = [], []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            it, value = number(row.get("iteration")), number(row.get(key))
            if it is not None and value is not None and math.isfinite(value) and value > 0:
                xs.append(it)
                ys.append(value)
    return xs, ys


TAIL_FLAT = 0.02  # a relative MSE change below 2 % over the last quarter counts as flat


def _tail_drop(xs: list[float], ys: list[float], fraction: float = 0.25
               ) -> tuple[float, float, float] | None:
    """(MSE at the last ``fraction`` of the iterations, final MSE, relative drop between them)."""
    if len(xs) < 2:
        return None
    start = xs[-1] - fraction * (xs[-1] - xs[0])
    k = next(i for i, x in enumerate(xs) if x >= start)
    if k == len(xs) - 1:
        k -= 1
    then, final = ys[k], ys[-1]
    return then, final, (then - final) / then


def _ntk_curves(payload: dict) -> dict[str, list[float]]:
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


def write_report(results_dir: str | Path, out_md: str | Path | None = None, *,
                 ntk: str | Path | None = None, verify: int = 5, seed: int = 0,
                 command: str | None = None, notes: str | Path | None = None) -> Path:
    """Write the Markdown report of ``results_dir`` to ``out_md`` (default
    ``RESULTS_DIR/report.md``) and its figures to ``figures/`` next to it; returns the path.

    ``ntk``: a ``crfwi ntk`` spectrum.json, a folder holding one (or PNGs), or a PNG, shown as
    the NTK decay figure. ``verify``: how many randomly chosen runs (``seed``) to recompute
    (0 = none). ``command``: the command line printed as the way to regenerate the report
    (default: the equivalent ``crfwi report`` call). ``notes``: a Markdown file with the
    human-written interpretation, placed under "Interpretation" (its numbers are the author's;
    keep them in step with the tables).
    """
    results = Path(results_dir)
    out = Path(out_md) if out_md is not None else results / "report.md"
    if out.suffix.lower() != ".md":
        raise ValueError(f"the report must be a .md file, got {str(out)!r}")
    if ntk is not None and not Path(ntk).exists():
        raise ValueError(f"--ntk {str(ntk)!r} not found")
    if (ntk is not None and Path(ntk).is_file()
            and Path(ntk).suffix.lower() not in (".json", ".png")):
        raise ValueError(f"--ntk expects a spectrum .json, a .png or a folder, got {str(ntk)!r}")
    if isinstance(verify, bool) or int(verify) != verify or verify < 0:
        raise ValueError(f"--verify must be a whole number >= 0, got {verify!r}")
    if notes is not None and not Path(notes).is_file():
        raise ValueError(f"--notes {str(notes)!r} not found")
    notes_text = Path(notes).read_text() if notes is not None else None
    if command is None:
        command = (f"crfwi report {results} --out {out}" + (f" --ntk {ntk}" if ntk else "")
                   + f" --verify {int(verify)}" + (f" --seed {seed}" if seed else "")
                   + (f" --notes {notes}" if notes is not None else ""))
    report = _Report(results, out, ntk=ntk, verify_k=int(verify), seed=seed, command=command,
                     notes=notes_text)
    return report.write()


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``crfwi report RESULTS_DIR [--out report.md] [--ntk PATH] [--verify K]`` to an argparse
    ``subparsers`` object (handler set as ``func``)."""
    p = subparsers.add_parser("report", help="write a Markdown report of a results folder "
                              "(the paper's tables, ours beside theirs, figures)")
    p.add_argument("results_dir", metavar="RESULTS_DIR",
                   help="folder of run folders <preset>-<scale>/<init>-<scenario>/<method>-seed<N>")
    p.add_argument("--out", help="the report (default RESULTS_DIR/report.md); figures go to "
                   "figures/ next to it")
    p.add_argument("--ntk", metavar="PATH",
                   help="NTK spectrum: a `crfwi ntk` spectrum.json, its folder, or a PNG")
    p.add_argument("--verify", type=int, default=5, metavar="K",
                   help="recompute the metrics of K random runs from their saved models "
                   "(default 5; 0 = skip)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the verification sample (default 0)")
    p.add_argument("--notes", metavar="FILE.md",
                   help="the human-written interpretation to place in the report")
    p.set_defaults(func=_cmd_report)
    return p


def _cmd_report(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(args.results_dir) / "report.md"
    path = write_report(args.results_dir, out, ntk=args.ntk, verify=args.verify, seed=args.seed,
                        notes=args.notes)
    print(f"report: {path}")
    return 0

