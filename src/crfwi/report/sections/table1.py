"""Table 1 of the paper: the MSE columns of all four datasets, then the compute columns (time per
epoch, parameters, peak memory) and the paper's own inconsistencies between its tables."""

from __future__ import annotations

from ...study import paper_results as paper
from ..context import ReportContext
from ..markdown import DASH, markdown_table, ours_text
from ..paper_columns import metric_table, paper_column
from ..runs import group_name, mean_std_n, split_group


def table1(ctx: ReportContext, scale: str) -> list[str]:
    """Table 1 at ``scale``: its MSE columns (with its own paper values), then its compute."""
    lines = ["## Table 1 — MSE ↓ and computing resources"
             + (f" (scale `{scale}`)" if scale else ""), ""]
    groups = [group_name(ds, scale) for ds in paper.DATASETS]
    methods = ctx.methods_in(groups)
    columns = []
    t4 = {c.key: c for c in paper.TABLE4_COLUMNS}
    for printed, ds, key in paper.TABLE1_COLUMNS:
        group = group_name(ds, scale)
        mark = "‡" if group in ctx.notes else ""
        columns.append(paper_column(ctx, group, ds, t4[key], methods, "mse", table="1",
                                    header=printed + mark, where="Table 1"))
    lines += metric_table(columns, methods, "mse", initial_row=False)
    lines += ["", "Paper values here are Table 1's own (see the inconsistencies below).", ""]
    lines += _compute_columns(ctx, scale, methods)
    lines += ["Inconsistencies of the paper between Table 1 and Tables 4/5 (each table keeps "
              "its own values here):", ""]
    lines += [f"* {text}" for text in paper.INCONSISTENCIES]
    lines.append("")
    lines += ctx.note_marks(groups)
    return lines + [""]


def _compute_columns(ctx: ReportContext, scale: str, methods: list[str]) -> list[str]:
    """Time per epoch, parameters and peak memory per method, from one group's runs (BP like the
    paper, else the group with the most runs); the runs used are recorded for the appendix."""
    present = ctx.groups()
    ref = group_name("bp2004", scale)
    if ref not in present:
        candidates = [g for g in present if split_group(g)[1] == scale] or present
        ref = max(candidates, key=lambda g: sum(r.group == g for r in ctx.records))
    rows = []
    devices = set()
    for method in methods:
        runs = [r for r in ctx.records if r.group == ref and r.method == method]
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
            ctx.compute_runs.add(r.key)
    lines = [f"Compute columns, ours from the runs of `{ref}` "
             f"(device: {', '.join(sorted(devices)) or '?'}); the paper's from one BP shot "
             "on an RTX 3090.", ""]
    lines += markdown_table(["Method", "Time (s/epoch)", "Params (K)", "Peak memory (GB)"], rows)
    lines += ["", "Seconds per epoch = seconds_per_iteration × n_shots / shots_per_iteration "
              "(mean ± std over the runs); params = trainable parameters / 1000 (all values "
              "seen); peak memory = the largest `peak_memory_mib` / 1024 (CUDA: peak "
              "allocation; CPU: the process's peak resident set, which includes the Python "
              "runtime and, in a process that ran several runs, the largest of them). "
              "`–` where a run does not record it.", ""]
    return lines
