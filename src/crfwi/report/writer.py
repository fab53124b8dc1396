"""Writing the report: :func:`write_report` (checks its options, builds the context, runs the
sections, writes the file) and the ``crfwi report`` command that calls it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .context import CHANGED_METHODS, ReportContext
from .sections import SECTIONS


def write_report(results_dir: str | Path, out_md: str | Path | None = None, *,
                 ntk: str | Path | None = None, verify: int = 5, seed: int = 0,
                 command: str | None = None, notes: str | Path | None = None,
                 before: str | Path | None = None, ablations: str | Path | None = None,
                 changed_methods: list[str] | tuple[str, ...] | None = None,
                 bound_before: str | Path | None = None,
                 inversionnet: str | Path | None = None,
                 chevron: str | Path | None = None) -> Path:
    """Write the Markdown report of ``results_dir`` to ``out_md`` (default
    ``RESULTS_DIR/report.md``) and its figures to ``figures/`` next to it; returns the path.

    ``ntk``: a ``crfwi ntk`` spectrum.json, a folder holding one (or PNGs), or a PNG, shown as
    the NTK decay figure. ``verify``: how many randomly chosen runs (``seed``) to recompute
    (0 = none). ``command``: the command line printed as the way to regenerate the report
    (default: the equivalent ``crfwi report`` call). ``notes``: a Markdown file with the
    human-written interpretation, placed under "Interpretation" (its numbers are the author's;
    keep them in step with the tables). ``before``: an earlier results folder of the same study;
    the report compares the cells of ``changed_methods`` (default
    :data:`~.context.CHANGED_METHODS`) and of every changed initial model with it.
    ``ablations``: a folder of ablation runs, each set beside the run of the same group, initial
    model, method and seed here (a folder not there yet = no ablation runs so far).
    ``bound_before``: the earlier runs, under another bound derivative, of cells re-run here.
    ``inversionnet``: the data-driven baseline's ``summary.json`` (Table 2's InversionNet row).
    ``chevron``: the Chevron-style line's summaries (``benchmarks/chevron_like.py``; a folder not
    there yet = not run yet).
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
    if before is not None and not Path(before).is_dir():
        raise ValueError(f"--before {str(before)!r} not found")
    if bound_before is not None and not Path(bound_before).is_dir():
        raise ValueError(f"--bound-before {str(bound_before)!r} not found")
    if inversionnet is not None and not Path(inversionnet).is_file():
        raise ValueError(f"--inversionnet {str(inversionnet)!r} not found")
    notes_text = Path(notes).read_text() if notes is not None else None
    if command is None:
        command = (f"crfwi report {results} --out {out}" + (f" --ntk {ntk}" if ntk else "")
                   + f" --verify {int(verify)}" + (f" --seed {seed}" if seed else "")
                   + (f" --notes {notes}" if notes is not None else "")
                   + (f" --before {before}" if before is not None else "")
                   + (f" --ablations {ablations}" if ablations is not None else "")
                   + (f" --changed-methods {','.join(changed_methods)}" if changed_methods
                      else "")
                   + (f" --bound-before {bound_before}" if bound_before is not None else "")
                   + (f" --inversionnet {inversionnet}" if inversionnet is not None else "")
                   + (f" --chevron {chevron}" if chevron is not None else ""))
    ctx = ReportContext(results, out, ntk=ntk, verify_k=int(verify), seed=seed, command=command,
                        notes=notes_text, before=None if before is None else Path(before),
                        ablations=None if ablations is None else Path(ablations),
                        changed_methods=tuple(changed_methods or CHANGED_METHODS),
                        bound_before=None if bound_before is None else Path(bound_before),
                        inversionnet=None if inversionnet is None else Path(inversionnet),
                        chevron=None if chevron is None else Path(chevron))
    return _write(ctx)


def _write(ctx: ReportContext) -> Path:
    """Run the sections in order and write the report in one go (no half-written report)."""
    lines: list[str] = []
    for section in SECTIONS:
        lines += section(ctx)
    ctx.out_md.parent.mkdir(parents=True, exist_ok=True)
    tmp = ctx.out_md.with_name(f".{ctx.out_md.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines).rstrip() + "\n")
    os.replace(tmp, ctx.out_md)
    return ctx.out_md


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``crfwi report RESULTS_DIR [--out report.md] [--ntk PATH] [--verify K] [--before DIR]
    [--ablations DIR]`` to an argparse
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
    p.add_argument("--before", metavar="DIR",
                   help="an earlier results folder of the same study: a table of the changed "
                   "cells before and now, and of those not re-run yet")
    p.add_argument("--changed-methods", metavar="M1,M2",
                   help="the methods whose cells --before compares (default: "
                   + ",".join(CHANGED_METHODS) + "; cells whose initial model changed always)")
    p.add_argument("--ablations", metavar="DIR",
                   help="a folder of ablation runs, each set beside the main run of the same "
                   "group, initial model, method and seed")
    p.add_argument("--bound-before", metavar="DIR",
                   help="earlier runs, under another bound derivative, of cells re-run here: "
                   "a table of each before and now")
    p.add_argument("--inversionnet", metavar="SUMMARY.json",
                   help="the data-driven baseline's evaluation (benchmarks/inversionnet.py "
                   "evaluate): Table 2's InversionNet row")
    p.add_argument("--chevron", metavar="DIR",
                   help="the Chevron-style field line's summaries (benchmarks/chevron_like.py "
                   "--summaries DIR)")
    p.set_defaults(func=_cmd_report)
    return p


def _cmd_report(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(args.results_dir) / "report.md"
    changed = [m.strip() for m in args.changed_methods.split(",") if m.strip()] \
        if args.changed_methods else None
    path = write_report(args.results_dir, out, ntk=args.ntk, verify=args.verify, seed=args.seed,
                        notes=args.notes, before=args.before, ablations=args.ablations,
                        changed_methods=changed, bound_before=args.bound_before,
                        inversionnet=args.inversionnet, chevron=args.chevron)
    print(f"report: {path}")
    return 0
