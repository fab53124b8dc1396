"""The report's opening: title and conventions, the machines and software, the budget."""

from __future__ import annotations

import time

from ..context import ReportContext
from ..markdown import DASH, escape, link_path, markdown_table
from ..runs import number


def header(ctx: ReportContext) -> list[str]:
    """Title, how to regenerate, what was read, and how to read a cell."""
    from ... import __version__

    cmd = ctx.command or f"crfwi report {ctx.results}"
    n_groups = len(ctx.groups())
    return [
        "# crfwi results report: the paper's tables, ours beside theirs",
        "",
        f"Regenerate with: `{cmd}`"
        + (" (run from the repository root; benchmark models need `CRFWI_DATA_DIR`, "
           "e.g. `export CRFWI_DATA_DIR=../shared/models` as the Makefile does)"),
        "",
        f"* Generated: {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by crfwi {__version__}",
        f"* Results folder: `{link_path(ctx.results, ctx.base)}` — {len(ctx.records)} complete "
        f"run folders in {n_groups} group(s)"
        + (f"; {len(ctx.incomplete)} incomplete (no metrics.json, left out)"
           if ctx.incomplete else "")
        + (f"; {len(ctx.ignored)} metrics.json outside the layout ignored" if ctx.ignored
           else ""),
        "* Paper: Chen et al., \"Unveiling the Mechanism of Continuous Representation "
        "Full-Waveform Inversion\", ICLR 2026 — numbers from `crfwi.study.paper_results` "
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
    ]


def machine_and_software(ctx: ReportContext) -> list[str]:
    """Which device and versions ran how many of the runs."""
    lines = ["## Machine and software", ""]
    machines: dict[tuple, int] = {}
    for r in ctx.records:
        m = r.meta
        key = (m.get("device", "?"), m.get("crfwi_version", "?"), m.get("torch_version", "?"),
               m.get("deepwave_version", "?"), m.get("python_version", "?"),
               m.get("numpy_version", "?"))
        machines[key] = machines.get(key, 0) + 1
    lines += markdown_table(["device", "crfwi", "torch", "deepwave", "python", "numpy", "runs"],
                            [[escape(str(v)) for v in k] + [str(n)] for k, n in machines.items()])
    lines += ["", "(from `[meta]` of each run's `config.resolved.toml`)", ""]
    return lines


def budget(ctx: ReportContext) -> list[str]:
    """Per group and initial model: scenarios, iterations, shots, seeds, compute."""
    lines = ["## Budget", ""]
    per_case: dict[tuple, dict] = {}
    for r in ctx.records:
        b = per_case.setdefault((r.group, r.init), {"scenarios": [], "iterations": set(),
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
    for (group, init), b in per_case.items():
        batch = ", ".join(sorted("all" if v == 0 else str(v) for v in b["batch"]))
        rows.append([group, init, ", ".join(b["scenarios"]), join(b["iterations"]), batch,
                     join(b["shots"]), join(b["seeds"]), str(len(b["methods"])),
                     str(b["runs"]), join(b["sampling"]), f"{b['seconds'] / 3600:.2f}"])
    total = sum(b["seconds"] for b in per_case.values()) / 3600
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
    return lines
