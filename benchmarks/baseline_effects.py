"""Do the conventional baselines act? ADFWI-TV vs ADFWI, WECI-FWI after its switch, MS-FWI bands.

Three checks on one preset, printed as markdown tables:

1. **ADFWI-TV.** At the initial model m0 (and at ADFWI's final model, where the TV gradient is not
   degenerate): the TV-to-misfit gradient-norm ratio as crfwi runs it, next to the same ratio in
   ADFWI's units (ADFWI's per-trace √(Σ r² dt) misfit on peak-normalised traces with the literal
   α = 2e-9, :func:`crfwi.methods.misfits.adfwi_l2`), and the share of free cells where the TV gradient
   outweighs the misfit's (what Adam, per cell, responds to). Then ``pixel`` (ADFWI) and
   ``adfwi-tv`` run for ``--iterations`` with the same seed: their final TV (unit weights), MSE
   below the water and mean difference.
2. **WECI-FWI.** The gradient norm of the misfit of the first and of the last iteration at m0, and
   mean |Δm| per iteration (free cells) before the logistic switch (i < N/2 − 5) and after it
   (i ≥ N/2 + 5) of a ``weci-fwi`` run of ``--iterations``.
3. **MS-FWI.** The band list crfwi builds for the marmousi and overthrust presets at both scales.

    OMP_NUM_THREADS=1 CRFWI_DATA_DIR=/work/shared/models python benchmarks/baseline_effects.py \\
        --preset marmousi --scale cpu --init linear --iterations 40
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP
import numpy as np  # noqa: E402
import torch  # noqa: E402

from crfwi.methods import misfits, regularizers  # noqa: E402
from crfwi.analysis import metrics  # noqa: E402
from crfwi.config import config_from_dict  # noqa: E402
from crfwi.experiment import build_experiment  # noqa: E402
from crfwi.inversion.loop import Inversion, make_optimizer  # noqa: E402


def config(args, method: str, **inversion):
    return config_from_dict({
        "preset": args.preset, "scale": args.scale, "seed": args.seed, "name": f"effects-{method}",
        "initial": {"kind": args.init},
        "inversion": {"method": method, "iterations": args.iterations, **inversion},
        "output": {"progress": False, "figures": False},
    })


def free_cells(exp) -> np.ndarray:
    return np.ones(exp.grid.shape, bool) if exp.fixed_mask is None else ~exp.fixed_mask


def run(exp, observed, iterations: int) -> list[np.ndarray]:
    """The models m_0 … m_N of ``iterations`` steps of ``exp``'s method."""
    model = exp.velocity_model()
    inversion = Inversion(model, exp.solver, observed, optimizer=make_optimizer(model),
                          misfit=exp.misfit(), regularizer=exp.regularizer(),
                          seed=exp.config.seed)
    models = [model().detach().cpu().numpy().astype(np.float64)]
    for _ in inversion.run(iterations):
        models.append(model().detach().cpu().numpy().astype(np.float64))
    return models


def gradients(exp, observed, velocity, fns: dict) -> dict:
    """∂f/∂m over the free cells (flat, float64) for each data misfit f(predicted, observed)."""
    leaf = torch.as_tensor(velocity, dtype=torch.float32, device=exp.device).requires_grad_(True)
    predicted = exp.solver.simulate(leaf)
    keep = torch.as_tensor(free_cells(exp))
    out = {}
    for name, fn in fns.items():
        (grad,) = torch.autograd.grad(fn(predicted, observed), leaf, retain_graph=True)
        out[name] = grad.detach().cpu()[keep].double()
    return out


def tv_gradient(penalty_fn, velocity, keep) -> torch.Tensor:
    leaf = torch.as_tensor(velocity, dtype=torch.float64).requires_grad_(True)
    penalty_fn(leaf).backward()
    return leaf.grad[torch.as_tensor(keep)]


def unit_tv(m, grid) -> float:
    return float(regularizers.total_variation(torch.as_tensor(m), dz=grid.dz, dx=grid.dx,
                                              alpha_x=1.0, alpha_z=1.0))


def check_tv(args) -> None:
    exp = build_experiment(config(args, "adfwi-tv"))
    observed = exp.observed_data()
    keep = free_cells(exp)
    dt = exp.survey.dt
    started = time.perf_counter()
    pixel = run(build_experiment(config(args, "pixel")), observed, args.iterations)
    tv_models = run(exp, observed, args.iterations)
    seconds = time.perf_counter() - started
    regularizer = exp.regularizer()
    literal = regularizers.TVSchedule(**_literal_options())

    print(f"\n### ADFWI-TV vs ADFWI ({args.preset}, {args.scale}, {args.init} start, "
          f"{args.iterations} iterations, seed {args.seed}; {seconds:.0f} s)\n")
    print(f"regulariser: `{regularizer!r}`\n")
    print("| model | ‖∇TV‖/‖∇misfit‖ crfwi | same, ADFWI units | cells with \\|∇TV\\| > "
          "\\|∇misfit\\| crfwi | same, ADFWI units | ‖∇misfit‖ crfwi / ADFWI |")
    print("|---|---|---|---|---|---|")
    for label, m in (("m0", pixel[0]), ("ADFWI final", pixel[-1])):
        g = gradients(exp, observed, m, {
            "crfwi": exp.misfit(), "adfwi": lambda p, o: misfits.adfwi_l2(p, o, dt=dt)})
        tv_ours = tv_gradient(regularizer.at(0), m, keep)
        tv_adfwi = tv_gradient(literal.at(0, dz=exp.grid.dz, dx=exp.grid.dx), m, keep)
        share = [float(t.norm() / x.norm()) for t, x in ((tv_ours, g["crfwi"]), (tv_adfwi, g["adfwi"]))]
        wins = [100.0 * float((t.abs() > x.abs()).double().mean())
                for t, x in ((tv_ours, g["crfwi"]), (tv_adfwi, g["adfwi"]))]
        print(f"| {label} | {share[0]:.3g} | {share[1]:.3g} | {wins[0]:.2f} % | {wins[1]:.2f} % | "
              f"{float(g['crfwi'].norm() / g['adfwi'].norm()):.3g} |")
    print("\n| method | TV(final) (m/s)/km·cells | MSE below water (km/s)² | "
          "mean \\|m − m_ADFWI\\| m/s |")
    print("|---|---|---|---|")
    for label, models in (("pixel (ADFWI)", pixel), ("adfwi-tv (ADFWI-TV)", tv_models)):
        final = models[-1]
        print(f"| {label} | {unit_tv(final, exp.grid):.4g} | "
              f"{metrics.mse(final, exp.true_model, mask=keep):.5f} | "
              f"{np.abs(final - pixel[-1])[keep].mean():.3g} |")


def _literal_options() -> dict:
    """TVSchedule options that weigh α = 2e-9 literally (ADFWI's units when used with adfwi_l2)."""
    import inspect

    if "alpha_units" in inspect.signature(regularizers.TVSchedule).parameters:
        return {"alpha_units": "literal"}
    return {}


def check_weci(args) -> None:
    exp = build_experiment(config(args, "weci-fwi"))
    observed = exp.observed_data()
    weci = exp.misfit()
    n = args.iterations
    g = {k: float(v.norm()) for k, v in gradients(
        exp, observed, exp.initial_model, {"first": weci.at(0), "last": weci.at(n - 1)}).items()}
    started = time.perf_counter()
    models = run(exp, observed, n)
    seconds = time.perf_counter() - started
    keep = free_cells(exp)
    steps = [np.abs(b - a)[keep].mean() for a, b in zip(models, models[1:])]
    before = [s for i, s in enumerate(steps) if i < n / 2 - 5]
    after = [s for i, s in enumerate(steps) if i >= n / 2 + 5]
    print(f"\n### WECI-FWI ({n} iterations, switch at {n / 2:g}; {seconds:.0f} s)\n")
    print(f"misfit: `{weci!r}`\n")
    print("| ‖∇J_0‖ at m0 | ‖∇J_N−1‖ at m0 | mean \\|Δm\\|/iteration before switch (m/s) | "
          "after switch (m/s) | last iteration (m/s) | MSE final (km/s)² |")
    print("|---|---|---|---|---|---|")
    print(f"| {g['first']:.3g} | {g['last']:.3g} | {np.mean(before):.3g} | {np.mean(after):.3g} | "
          f"{steps[-1]:.3g} | {metrics.mse(models[-1], exp.true_model, mask=keep):.5f} |")


def check_bands(args) -> None:
    print("\n### MS-FWI bands\n")
    print("| preset | scale | source Hz | bands (Hz) |")
    print("|---|---|---|---|")
    for preset in ("marmousi", "overthrust"):
        for scale in ("paper", "cpu"):
            exp = build_experiment(config_from_dict({
                "preset": preset, "scale": scale, "inversion": {"method": "ms-fwi",
                                                                "iterations": 60}}))
            bands = ", ".join(f"{b:g}" for b in exp.misfit().bands)
            print(f"| {preset} | {scale} | {exp.survey.freq:g} | {bands} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="marmousi")
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--init", default="linear")
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checks", default="tv,weci,bands",
                        help="comma-separated subset of tv, weci, bands")
    args = parser.parse_args()
    torch.set_num_threads(1)
    checks = {"tv": check_tv, "weci": check_weci, "bands": check_bands}
    for name in args.checks.split(","):
        checks[name.strip()](args)


if __name__ == "__main__":
    main()
