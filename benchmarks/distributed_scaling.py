"""Shot parallelism and memory planning measured (issue 14), in one run.

**Scaling.** The same preset run for ``--iterations`` with every shot each iteration, three ways,
each a fresh ``crfwi invert`` process (so each starts alike): 1 process × 1 thread (the
reference), 1 process × 2 threads, and 2 processes × 1 thread (``--nproc 2``, gloo). Printed:
seconds per iteration (the runs' own mean), the speed-up and parallel efficiency against the
reference (speed-up / 2), the all_reduce's share of an iteration (``all_reduce_seconds`` /
``seconds`` of rank 0: the transfer plus the wait for the slower rank), and the largest relative
difference of the loss histories of the 2-process and 1-process runs (float summation order).

**Memory.** For each of ``--memory-presets``: crfwi's estimate of one iteration's peak
(:func:`crfwi.experiment.memory_estimate`) against the measured growth of the resident set while
one full-survey gradient is computed in a fresh process (``ru_maxrss`` after the gradient minus
before it), and the refusal of a run that cannot fit (``--max-memory`` far below the estimate:
exit 2, one line naming the option).

Timings need an otherwise idle machine (the script says the load average it saw).

    OMP_NUM_THREADS=1 CRFWI_DATA_DIR=../shared/models python benchmarks/distributed_scaling.py \\
        --preset marmousi --iterations 10 --memory-presets marmousi,overthrust,bp2004
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_MEASURE = r"""
import resource, sys, json
import crfwi, torch
from crfwi.config import config_from_dict
from crfwi.experiment import build_experiment, memory_estimate
config = config_from_dict({"preset": sys.argv[1], "scale": sys.argv[2]})
exp = build_experiment(config, device="cpu")
observed = exp.observed_data()
velocity = torch.as_tensor(exp.initial_model).requires_grad_(True)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
predicted = exp.solver.simulate(velocity)
(0.5 * ((predicted - observed) ** 2).sum()).backward()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
estimate = memory_estimate(config, exp.grid, exp.survey.n_shots, exp.survey.n_receivers,
                           nt=exp.survey.nt).total()
print(json.dumps({"estimate": estimate, "measured": after - before}))
"""


def _env(threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def _invert(preset: str, scale: str, iterations: int, out: Path, threads: int,
            nproc: int = 1) -> dict:
    command = [sys.executable, "-m", "crfwi", "invert", "--preset", preset, "--scale", scale,
               "--method", "pixel", "--iterations", str(iterations), "--out", str(out), "--quiet",
               "--device", "cpu", "--set", "inversion.shots_per_iteration=0",
               "--set", "output.figures=false", "--set", f"output.metrics_every={iterations}"]
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    proc = subprocess.run(command, env=_env(threads), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"distributed_scaling: {' '.join(command)} failed: "
                         f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
    return json.loads((out / "metrics.json").read_text())


def _losses(folder: Path) -> list[float]:
    lines = (folder / "history.csv").read_text().splitlines()
    column = lines[0].split(",").index("loss")
    return [float(row.split(",")[column]) for row in lines[2:]]


def scaling(preset: str, scale: str, iterations: int, root: Path) -> dict:
    runs = {"1 process x 1 thread": (1, 1), "1 process x 2 threads": (2, 1),
            "2 processes x 1 thread": (1, 2)}
    results = {}
    for label, (threads, nproc) in runs.items():
        out = root / label.replace(" ", "_")
        results[label] = {**_invert(preset, scale, iterations, out, threads, nproc), "folder": out}
    reference = results["1 process x 1 thread"]["seconds_per_iteration"]
    rows = []
    for label, metrics in results.items():
        per_it = metrics["seconds_per_iteration"]
        speedup = reference / per_it
        share = metrics.get("all_reduce_seconds")
        rows.append({"run": label, "seconds_per_iteration": per_it, "speedup": speedup,
                     "efficiency": speedup / 2 if label != "1 process x 1 thread" else 1.0,
                     "all_reduce_share": None if share is None else share / metrics["seconds"]})
    one = _losses(results["1 process x 1 thread"]["folder"])
    two = _losses(results["2 processes x 1 thread"]["folder"])
    difference = max(abs(a - b) / abs(a) for a, b in zip(one, two))
    return {"rows": rows, "loss_relative_difference": difference}


def memory(preset: str, scale: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _MEASURE, preset, scale], env=_env(1),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"distributed_scaling: memory of {preset} failed: {proc.stderr[-300:]}")
    values = json.loads(proc.stdout.strip().splitlines()[-1])
    refusal = subprocess.run([sys.executable, "-m", "crfwi", "invert", "--preset", preset,
                              "--scale", scale, "--max-memory", "1MiB", "--out",
                              str(Path(tempfile.mkdtemp()) / "never"), "--quiet"],
                             env=_env(1), capture_output=True, text=True)
    return {"preset": f"{preset}-{scale}", **values, "ratio": values["estimate"] / values["measured"],
            "refused": refusal.returncode == 2, "refusal": refusal.stderr.strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="marmousi")
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--memory-presets", default="marmousi,overthrust,bp2004")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    result: dict = {"load_average": load}
    print(f"load average at the start: {load:.2f} on {os.cpu_count()} cores")
    if not args.skip_scaling:
        with tempfile.TemporaryDirectory() as tmp:
            result["scaling"] = scaling(args.preset, args.scale, args.iterations, Path(tmp))
        print(f"\n{args.preset} {args.scale}, {args.iterations} iterations, every shot each:")
        print("| run | s/iteration | speed-up | efficiency | all_reduce share |")
        print("|---|---|---|---|---|")
        for r in result["scaling"]["rows"]:
            share = "–" if r["all_reduce_share"] is None else f"{100 * r['all_reduce_share']:.1f} %"
            print(f"| {r['run']} | {r['seconds_per_iteration']:.3f} | {r['speedup']:.2f} | "
                  f"{r['efficiency']:.2f} | {share} |")
        print(f"loss histories, 2 processes vs 1: max relative difference "
              f"{result['scaling']['loss_relative_difference']:.1e}")
    result["memory"] = [memory(p, args.scale) for p in args.memory_presets.split(",") if p]
    print("\n| preset | estimate (MiB) | measured (MiB) | estimate / measured | too-large run |")
    print("|---|---|---|---|---|")
    for m in result["memory"]:
        print(f"| {m['preset']} | {m['estimate'] / 2**20:.0f} | {m['measured'] / 2**20:.0f} | "
              f"{m['ratio']:.2f} | {'refused (exit 2)' if m['refused'] else 'NOT refused'} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
