"""What each part of every method does, literal reading against crfwi's default (issue 11).

For each method on a preset's grid and initial model, at initialisation (seeded as a run is):

* ``start``: RMS and maximum of m_θ0 − m0 (m/s) and the fraction of free cells whose unbounded
  value m0 + s·F_θ0 lies outside the velocity bounds;
* ``reach``: the fraction of free cells through which the model gradient reaches θ (a plain clamp
  gives 0 outside the bounds, the straight-through bound 1 everywhere);
* for IG-FWI and LRG-FWI: each branch's share of the fusion input (squared RMS of its weighted
  feature block) and of the NTK trace, tr Θ_m and -- with ``--wave`` -- tr Θ (Hutchinson);

under two settings: ``literal`` (start = raw m0 + F_θ0, a plain clamp, grid tables U(±1e-4)) and
``default`` (crfwi's: centred start, straight-through bound, balanced grid). ``--runs`` adds the
branch shares at the trained θ of finished IG-FWI / LRG-FWI run folders (with ``checkpoint.pt``).

    python benchmarks/method_audit.py --preset marmousi --init constant
    python benchmarks/method_audit.py --preset bp2004 --init constant --wave
    python benchmarks/method_audit.py --runs results/paper-marmousi/marmousi-cpu/*-clean/ig-seed0
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP
import torch

from crfwi import io
from crfwi.analysis import diagnostics
from crfwi.config import load_config
from crfwi.experiment import build_experiment

METHODS = ["siren", "gabor", "lowrank", "hashgrid", "ig", "lrg"]
LITERAL = ['representation.start="raw"', 'inversion.bound_gradient="zero"']
GRID_METHODS = ("hashgrid", "ig", "lrg")


def _overrides(preset: str, scale: str, init: str, method: str, literal: bool) -> list[str]:
    out = [f'preset="{preset}"', f'scale="{scale}"', f'initial.kind="{init}"', f'inversion.method="{method}"']
    if literal:
        out += LITERAL
        if method in GRID_METHODS:
            out.append('representation.options={grid_normalisation="literal"}')
    return out


def _shares(model, solver, wave: bool, probes: int) -> dict:
    out = {"features": {b: v["feature_share"] for b, v in diagnostics.branch_report(model).items()}}
    traces = diagnostics.ntk_trace_shares(model, solver if wave else None, probes=probes)
    for space, groups in traces.items():
        out[f"ntk_{space}"] = {b: v["share"] for b, v in groups.items()}
    return out


def audit(preset: str, scale: str, init: str, methods: list[str], *, wave: bool, probes: int) -> list[dict]:
    rows = []
    for method in methods:
        for setting in ("literal", "default"):
            config = load_config(None, _overrides(preset, scale, init, method, setting == "literal"))
            experiment = build_experiment(config)
            model = experiment.velocity_model()
            row = {"method": method, "setting": setting, **diagnostics.start_report(model),
                   "reach": diagnostics.gradient_reach(model)}
            if hasattr(model.representation, "branch_features"):
                row.update(_shares(model, experiment.solver, wave, probes))
            rows.append(row)
    return rows


def trained(run_dir: Path, *, wave: bool, probes: int) -> dict:
    config = load_config(run_dir / "config.resolved.toml")
    experiment = build_experiment(config)
    model = experiment.velocity_model()
    initial = _shares(model, experiment.solver, wave, probes)
    checkpoint = io.load_checkpoint(run_dir / "checkpoint.pt")
    model.load_state_dict(checkpoint["model"])
    return {"run": str(run_dir), "iterations": int(checkpoint["iteration"]), "initial": initial,
            "trained": _shares(model, experiment.solver, wave, probes)}


def _fmt_shares(shares: dict | None) -> str:
    if not shares:
        return ""
    return " / ".join(f"{name} {value:.3g}" for name, value in shares.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="marmousi")
    parser.add_argument("--scale", default="cpu", choices=["cpu", "paper"])
    parser.add_argument("--init", default="constant", choices=["smooth", "linear", "constant"])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--wave", action="store_true", help="also the wave-based NTK trace (simulates)")
    parser.add_argument("--probes", type=int, default=8, help="Hutchinson probes (default 8)")
    parser.add_argument("--runs", nargs="*", type=Path, default=[], help="trained IG/LRG run folders")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result: dict = {}
    if not args.runs:
        rows = audit(args.preset, args.scale, args.init, args.methods.split(","), wave=args.wave,
                     probes=args.probes)
        result["initialisation"] = rows
        print(f"{args.preset} ({args.scale}), {args.init} start, at initialisation\n")
        print("| method | setting | m_θ0 − m0 RMS (m/s) | max (m/s) | cells outside bounds | "
              "cells the gradient reaches | feature shares | tr Θ_m shares | tr Θ shares |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['method']} | {r['setting']} | {r['perturbation_rms']:.1f} | {r['perturbation_max']:.0f} | "
                  f"{r['outside_bounds_fraction']:.1%} | {r['reach']:.1%} | {_fmt_shares(r.get('features'))} | "
                  f"{_fmt_shares(r.get('ntk_model'))} | {_fmt_shares(r.get('ntk_wave'))} |")
    else:
        runs = [trained(run, wave=args.wave, probes=args.probes) for run in args.runs]
        result["trained"] = runs
        print("| run | iterations | when | feature shares | tr Θ_m shares | tr Θ shares |")
        print("|---|---|---|---|---|---|")
        for r in runs:
            for when in ("initial", "trained"):
                s = r[when]
                print(f"| `{r['run']}` | {r['iterations']} | {when} | {_fmt_shares(s['features'])} | "
                      f"{_fmt_shares(s['ntk_model'])} | {_fmt_shares(s.get('ntk_wave'))} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
