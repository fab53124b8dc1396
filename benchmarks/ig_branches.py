"""How much each branch of a trained IG-FWI model contributes: the hash grid or the tiny INR?

IG-FWI concatenates √α·h(x) (hash-grid features) with √(1−α)·I(x) (sine features) before its
fusion MLP (paper eq. 14). For each finished IG-FWI run folder this script reports

* how far each branch's parameters moved from their initialisation, ‖θ−θ0‖/‖θ0‖;
* how large each branch's part of the first fusion layer's pre-activation is, at θ0 and after
  training: that layer is linear in the concatenated features, so W·v = W_grid·√α h + W_inr·√(1−α) I
  splits exactly, and the ratio of the two parts says which branch the fusion MLP listens to;
* how much of the model update each branch's *training* made: RMS of m(θ) − m(θ with that
  branch's parameters put back to θ0), over the RMS of the whole update m(θ) − m(θ0).

Usage (needs the raw run folders with checkpoint.pt, e.g. from `make study`):

    python benchmarks/ig_branches.py results/paper-marmousi/marmousi-cpu/*/ig-seed0 [--json OUT]
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP
import torch

from crfwi import io
from crfwi.config import load_config
from crfwi.experiment import build_experiment


def _branch_parameters(rep) -> dict[str, list[str]]:
    names = [name for name, _ in rep.named_parameters()]
    return {"grid": [n for n in names if n.startswith("encoding.")],
            "inr": [n for n in names if n.startswith("sine.")],
            "fusion": [n for n in names if not n.startswith(("encoding.", "sine."))]}


def _flat(state: dict, names: list[str]) -> torch.Tensor:
    return torch.cat([state[n].detach().flatten().double() for n in names])


def analyse(run_dir: Path) -> dict:
    config = load_config(run_dir / "config.resolved.toml")
    if config.inversion.method not in ("ig", "ig-fwi"):
        raise SystemExit(f"{run_dir}: not an IG-FWI run (method {config.inversion.method!r})")
    experiment = build_experiment(config, device="cpu")
    model = experiment.velocity_model()  # seeded: θ0 is the run's own initialisation
    initial_rep = copy.deepcopy(model.representation.state_dict())
    checkpoint = io.load_checkpoint(run_dir / "checkpoint.pt")
    model.load_state_dict(checkpoint["model"])
    trained_rep = copy.deepcopy(model.representation.state_dict())  # (state_dict aliases θ)
    branches = _branch_parameters(model.representation)

    moved = {}
    for branch, names in branches.items():
        before, after = _flat(initial_rep, names), _flat(trained_rep, names)
        moved[branch] = float((after - before).norm() / before.norm())

    def first_layer_shares() -> dict:
        """RMS over the grid points of each branch's part of the first fusion layer's
        pre-activation, W_grid·(√α h(x)) and W_inr·(√(1−α) I(x)): that layer is linear in the
        concatenated features, so the two parts add up exactly and can be compared."""
        rep = model.representation
        with torch.no_grad():
            blocks = rep.branch_features(model.coords)
            grid_features, inr_features = blocks["grid"], blocks["inr"]
            first = rep.mlp[0]
            n_grid = grid_features.shape[-1]
            w_grid, w_inr = first.weight[:, :n_grid], first.weight[:, n_grid:]
            return {"grid_feature_rms": float(grid_features.pow(2).mean().sqrt()),
                    "inr_feature_rms": float(inr_features.pow(2).mean().sqrt()),
                    "grid_preactivation_rms": float((grid_features @ w_grid.T).pow(2).mean().sqrt()),
                    "inr_preactivation_rms": float((inr_features @ w_inr.T).pow(2).mean().sqrt())}

    trained = first_layer_shares()
    model.representation.load_state_dict(initial_rep)
    initial = first_layer_shares()
    model.representation.load_state_dict(trained_rep)
    with torch.no_grad():
        update = model.perturbation().double()
        trained_model = model().double()
        model.representation.load_state_dict(initial_rep)
        whole = (trained_model - model().double()).pow(2).mean().sqrt()
        made = {}
        for branch, names in branches.items():
            mixed = dict(trained_rep)
            mixed.update({n: initial_rep[n] for n in names})
            model.representation.load_state_dict(mixed)
            made[branch] = float((trained_model - model().double()).pow(2).mean().sqrt() / whole)
        model.representation.load_state_dict(trained_rep)
    return {"run": str(run_dir), "iterations": int(checkpoint["iteration"]),
            "grid_lr": config.inversion.grid_lr or None, "lr": config.inversion.lr or None,
            "relative_parameter_change": moved,
            "update_rms_m_per_s": float(update.pow(2).mean().sqrt()),
            "update_made_by_branch": made,
            "initial": initial, "trained": trained}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="IG-FWI run folders")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = [analyse(run) for run in args.runs]
    print("| run | iterations | Δθ/θ0 grid | Δθ/θ0 INR | Δθ/θ0 fusion | update RMS (m/s) | "
          "grid/INR pre-activation at θ0 | grid/INR pre-activation trained | "
          "update made by grid / INR / fusion |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        m = r["relative_parameter_change"]
        ratio = {k: r[k]["grid_preactivation_rms"] / r[k]["inr_preactivation_rms"]
                 for k in ("initial", "trained")}
        print(f"| `{r['run']}` | {r['iterations']} | {m['grid']:.3g} | {m['inr']:.3g} | "
              f"{m['fusion']:.3g} | {r['update_rms_m_per_s']:.1f} | {ratio['initial']:.2e} | "
              f"{ratio['trained']:.2e} | " +
              " / ".join(f"{r['update_made_by_branch'][b]:.2f}" for b in ("grid", "inr", "fusion"))
              + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
