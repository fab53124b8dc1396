"""The Chevron-2014-style field benchmark (PAPER.md §4.2) end to end, resumable.

1. ``crfwi make-data`` (elastic Marmousi2 line, towed streamer, airgun-like wavelet, noise, little
   energy below 3 Hz at paper scale; :mod:`crfwi.field.make_data`) into ``--folder`` unless it is
   there already;
2. the field workflow (``field.toml``: the SEG-Y read, the given wavelet, the 1-D initial model
   from the well's trend, the water fixed) inverted acoustically by multiscale ADFWI (``ms-fwi``,
   the paper's 3–11 Hz in 2 Hz steps scaled by the data's frequency ratio), IFWI (``siren``) and
   IG-FWI (``ig``): each run folder under ``FOLDER/runs/<method>`` is resumed if interrupted and
   skipped if complete; ``--wavelet estimate`` runs the same with the least-squares wavelet
   instead of the given one (``runs/<method>-estimate``), ``--normalise rms`` with each trace
   scaled to unit RMS on both sides (``runs/<method>-rms``);
3. every finished run of the folder scored: the data misfit and the well-log RMS (the QC a
   field run writes) and, since the truth is known here, MSE / MAE / SSIM against
   ``truth_vp.npy`` (:func:`crfwi.field.make_data.score_against_truth`), initial and final, and
   along the run: the lowest MSE, and the MSE where the model fitted the well log best (the
   history's ``well_rms``: a stopping rule a survey with a well can apply);
4. their small files and ``summary.json`` copied to ``--summaries`` (commit them; the report's
   "Chevron-style field line" section reads them: ``crfwi report --chevron DIR``).

    OMP_NUM_THREADS=1 CRFWI_DATA_DIR=../shared/models python benchmarks/chevron_like.py \\
        --folder runs/chevron-like --summaries benchmarks/results/chevron-like

One method per process spreads the runs over cores (``--methods ig``, ``--methods siren`` …);
the last invocation's summary holds them all. Stop 20 ran 6 of the 17 shots an iteration
(``--shots-per-iteration 6``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP

import numpy as np

from crfwi.config import ConfigError, load_config
from crfwi.field.make_data import make_data, score_against_truth, scored_models, spec_for
from crfwi.field.tracking import BEST_WELL_MODEL
from crfwi.io import RunFolder
from crfwi.runner import resume_inversion, run_inversion

METHODS = ("ms-fwi", "siren", "ig")
KEPT = ("metrics.json", "qc.json", "history.csv", "config.resolved.toml", "data.json", "model.npy",
        BEST_WELL_MODEL)
#: Depth bands (m below the datum) of the MSE-by-depth rows: the water, then the zones the
#: diving waves reach well, barely and not at all (their turning depth at 8.1 km offset ~2.3 km).
DEPTH_BANDS_M = ((0.0, 450.0), (450.0, 1500.0), (1500.0, 2250.0), (2250.0, float("inf")))


def _overrides(method: str, record: dict, args) -> list[str]:
    """The run's settings over field.toml's: the method, its budget, the wavelet and, for
    MS-FWI, the bands make-data chose (the paper's 3–11 Hz scaled to the data)."""
    iterations = args.ms_iterations if method == "ms-fwi" else args.iterations
    sets = [f"inversion.method={method}", f"inversion.iterations={iterations}",
            f"inversion.shots_per_iteration={args.shots_per_iteration}",
            "output.figures=true", "output.metrics_every=10", "output.checkpoint_every=10",
            "field.true_model=truth_vp.npy",  # known here: MSE / SSIM in every history row
            "output.models_every=10"]  # for chevron_validation.py: misfits after the fact
    if method == "ms-fwi":
        sets.append(f"inversion.bands={record['inversion']['bands_hz']}")
    if args.wavelet == "estimate":
        sets.append("field.wavelet=estimate")
    if args.normalise:
        sets.append(f"field.normalise={args.normalise}")
    if args.early:
        velocity, t0, taper = args.early
        sets += [f"field.bottom_mute_velocity={velocity}", f"field.bottom_mute_t0={t0}",
                 f"field.bottom_mute_taper={taper}"]
    if args.max_offset:
        sets.append(f"field.max_offset={args.max_offset}")
    if args.max_depth:
        sets.append(f"inversion.max_depth={max_depth_of(args.max_depth, record, args.folder)}")
    if args.train_shots:
        sets.append(f"data.shots={args.train_shots}")
    return sets


def turning_depth(depth: np.ndarray, velocity: np.ndarray, offset: float) -> float:
    """Depth (m) at which the ray that emerges at ``offset`` turns in the 1-D model
    ``velocity(depth)``, linear between the samples and constant above the first (source and
    receiver at the surface). Each linear piece bends a ray along a circle, so the horizontal
    distance X(p) of ray parameter p is exact piece by piece (Δx = (√(1−p²v_a²) − √(1−p²v_b²))
    / (p g), constant pieces p v dz / √(1−p²v²)) and continuous; p is found by bisection.
    ValueError when the deepest ray emerges short of ``offset``."""
    z = np.concatenate([[0.0], np.asarray(depth, float)])
    v = np.concatenate([[float(velocity[0])], np.asarray(velocity, float)])
    if np.any(np.diff(v) < 0) or np.any(np.diff(z) <= 0):
        raise ValueError("turning_depth needs depths increasing and velocity not decreasing")

    def travel(p: float) -> tuple[float, float]:
        """(X, turning depth) of ray parameter p; X = inf when it never turns in the model."""
        x = 0.0
        for k in range(len(z) - 1):
            va, vb, dz = v[k], v[k + 1], z[k + 1] - z[k]
            ca = np.sqrt(max(0.0, 1 - (p * va) ** 2))
            if vb == va:
                if p * va >= 1:
                    return 2 * x, z[k]
                x += p * va * dz / ca
                continue
            g = (vb - va) / dz
            if p * vb >= 1:  # turns inside this piece
                return 2 * (x + ca / (p * g)), z[k] + (1 / p - va) / g
            x += (ca - np.sqrt(1 - (p * vb) ** 2)) / (p * g)
        return np.inf, z[-1]

    lo, hi = 1.0 / v.max(), 1.0 / v.min()  # X(lo) deepest ray, X(hi) = 0
    if travel(lo * (1 + 1e-12))[0] < offset:
        raise ValueError(f"the deepest ray of the 1-D model emerges short of {offset:.0f} m")
    for _ in range(200):  # X falls as p rises
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if travel(mid)[0] > offset else (lo, mid)
    return float(travel(hi)[1])


def max_depth_of(text: str, record: dict, folder: Path) -> float:
    """``--max-depth``: metres, or ``diving`` = the turning depth of the longest offset's diving
    ray in the 1-D initial model (``initial_1d.csv``), the deepest the transmitted waves reach."""
    if text != "diving":
        return float(text)
    table = np.loadtxt(Path(folder) / "initial_1d.csv", delimiter=",", skiprows=1)
    return turning_depth(table[:, 0], table[:, 1], max(record["acquisition"]["offsets_m"]))


def _run_name(method: str, args) -> str:
    """The run folder's (and summary's) name: the method, then ``-estimate`` with the estimated
    wavelet, ``-rms`` / ``-max`` with trace normalisation, ``-early`` with the early-arrival
    window, ``-offsetX`` with a maximum offset, ``-depth-D`` with a depth limit, ``-trainN``
    with N of the shots inverted and ``-TAG`` with ``--tag TAG`` (a budget other than the
    default's, say, so that the summary keeps both)."""
    return (method + ("-estimate" if args.wavelet == "estimate" else "")
            + (f"-{args.normalise}" if args.normalise else "")
            + ("-early" if args.early else "")
            + (f"-offset{args.max_offset:g}" if args.max_offset else "")
            + (f"-depth-{args.max_depth}" if args.max_depth else "")
            + (f"-train{args.train_shots}" if args.train_shots else "")
            + (f"-{args.tag}" if args.tag else ""))


def _run_order(name: str) -> tuple[int, str] | None:
    """Sort key of a run folder's name: its method's place in :data:`METHODS`, then the name;
    None for a folder that is no method's run."""
    index = next((i for i, m in enumerate(METHODS) if name == m or name.startswith(m + "-")), None)
    return None if index is None else (index, name)


def _finished_runs(folder: Path) -> list[str]:
    """The names of the finished runs under ``folder/runs``, the methods' order first."""
    names = [p.name for p in (folder / "runs").iterdir() if (p / "metrics.json").is_file()] \
        if (folder / "runs").is_dir() else []
    return sorted((n for n in names if _run_order(n)), key=_run_order)


def run_method(folder: Path, method: str, record: dict, args) -> Path:
    """Run (or resume, or skip) one method's inversion; returns its run folder."""
    out = folder / "runs" / _run_name(method, args)
    overrides = _overrides(method, record, args)
    iterations = int(overrides[1].split("=")[1])
    if RunFolder(out).holds_run():
        metrics = out / "metrics.json"
        if metrics.is_file() and json.loads(metrics.read_text()).get("iterations") == iterations:
            print(f"{method}: done already ({out})")
            return out
        print(f"{method}: resuming {out}")
        resume_inversion(out, overrides=[f"inversion.iterations={iterations}"], device=args.device,
                         progress=not args.quiet)
        return out
    config = load_config(folder / "field.toml", overrides=overrides)
    run_inversion(config, out, device=args.device, progress=not args.quiet)
    return out


#: The depths over which the paper judges its Chevron result: "the velocity profile agrees with
#: the well log from 1 to 2.5 km" (PAPER.md §4.2).
PAPER_WELL_WINDOW_M = (1000.0, 2500.0)


def well_rms_within(qc: dict, window: tuple[float, float]) -> dict:
    """RMS (m/s) of the inverted and initial profiles against the log at the well, over the
    depths of ``window`` only; None without a well comparison."""
    well = qc.get("well")
    if not well:
        return {"initial": None, "final": None}
    rows = [k for k, z in enumerate(well["depth"])
            if window[0] <= z <= window[1] and well["log"][k] is not None]
    if not rows:
        return {"initial": None, "final": None}
    rms = lambda key: float(np.sqrt(np.mean([(well[key][k] - well["log"][k]) ** 2  # noqa: E731
                                             for k in rows])))
    return {"initial": rms("initial"), "final": rms("final")}


def _depth_axis(run: Path) -> tuple[float, float]:
    """(depth of row 0, spacing) in metres from the run's resolved config."""
    import tomllib

    config = tomllib.loads((run / "config.resolved.toml").read_text())
    spacing = float(config["model"]["spacing"])
    origin = config.get("field", {}).get("origin") or [spacing]
    return float(origin[0]), spacing


def mse_by_depth(run: Path, truth: Path) -> dict:
    """MSE ((km/s)²) of the initial and final models (and the one kept at the well's best fit,
    when the run kept it) against the truth in each of :data:`DEPTH_BANDS_M` (row k at depth
    z0 + k·spacing, from the run's config)."""
    true = np.load(truth, allow_pickle=False).astype(np.float64) / 1000.0
    z0, spacing = _depth_axis(run)
    depth = z0 + np.arange(true.shape[0]) * spacing
    out = {}
    for label, path in scored_models(run).items():
        model = np.load(path, allow_pickle=False).astype(np.float64) / 1000.0
        bands = {f"{lo:g}-{hi:g}": (depth > lo) & (depth <= hi) for lo, hi in DEPTH_BANDS_M}
        out[label] = {key: float(np.mean((model - true)[rows] ** 2)) if rows.any() else None
                      for key, rows in bands.items()}  # None: the grid does not reach the band
    return out


def summarise(run: Path, truth: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    qc = json.loads((run / "qc.json").read_text()) if (run / "qc.json").is_file() else {}
    scores = score_against_truth(run, truth)
    keep = ("mse", "mae", "ssim")
    wavelet = json.loads((run / "data.json").read_text())["wavelet"]["source"]
    return {"method": metrics.get("method"), "paper_method": metrics.get("paper_method"),
            "wavelet": wavelet,
            "iterations": metrics.get("iterations"), "seconds": metrics.get("seconds"),
            "data_misfit_relative": {"initial": metrics["initial"].get("data_misfit_relative"),
                                     "final": metrics.get("data_misfit_relative")},
            "well_rms": {"initial": metrics["initial"].get("well_rms"),
                         "final": metrics.get("well_rms")},
            "well_rms_paper_window": well_rms_within(qc, PAPER_WELL_WINDOW_M),
            "mse_by_depth": mse_by_depth(run, truth),
            "lowest_mse_on_the_way": lowest_mse_on_the_way(run),
            "stopped_at_the_well": stopped_at_the_well(run),
            "truth": {label: {k: scores[label][k] for k in keep} for label in scores}}


def lowest_mse_on_the_way(run: Path) -> dict | None:
    """{"mse", "iteration"} of the history's lowest MSE (a run scored with ``field.true_model``
    every ``metrics_every`` iterations: the runs semi-converge, BENCHMARKS.md §12); None for a
    run whose history holds no MSE."""
    from crfwi.report.sections.convergence import history_series

    iterations, values = history_series(run / "history.csv", "mse")
    if not values:
        return None
    mse, iteration = min(zip(values, iterations))
    return {"mse": mse, "iteration": int(iteration)}


def stopped_at_the_well(run: Path) -> dict | None:
    """A stopping rule a field survey can give: the history row (every ``metrics_every``
    iterations) whose model fits the well log best (``well_rms``), with that row's MSE and SSIM
    against the truth, i.e. how close to the earth the run would be, stopped there
    (:func:`crfwi.field.qc.best_well_row`, the rule ``field.keep_best_well`` applies during a
    run). None for a run whose history holds no well misfit (before it was recorded, or no log)."""
    import csv

    from crfwi.field.qc import best_well_row

    with (run / "history.csv").open(newline="") as fh:
        return best_well_row(list(csv.DictReader(fh)), ("mse", "ssim"))


def _same(a, b, rel: float = 1e-5, tiny: float = 1e-5) -> bool:
    """Whether two make-data records agree: equal, numbers within ``rel`` or ``tiny`` (the
    elastic modelling is float32; regenerated on a differently loaded machine its statistics
    move by ~1e-7 and its 4e-5 wavelet-calibration error by ~2e-6)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rel, tiny) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, rel, tiny) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and abs(a - b) <= rel * max(abs(a), abs(b)) + tiny
    return a == b


def _with_earlier_rows(path: Path, rows: list[dict], record: dict) -> list[dict]:
    """``rows`` and the rows of an earlier summary at ``path`` whose run folders are not here any
    more (run folders are scratch; their summaries are committed), when that summary was made
    from the same data (the same make-data record) — otherwise ``rows`` alone."""
    if not path.is_file():
        return rows
    earlier = json.loads(path.read_text())
    same = all(_same(earlier.get("make_data", {}).get(k), record.get(k))
               for k in ("model", "acquisition", "wavelet", "noise"))
    if not same:
        print(f"chevron_like: {path} was made from other data; its rows are replaced")
        return rows
    here = {r["run"] for r in rows}
    kept = [r for r in earlier.get("runs", []) if r["run"] not in here]
    return sorted(rows + kept, key=lambda r: _run_order(r["run"]) or (len(METHODS), r["run"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=Path("runs/chevron-like"),
                        help="where make-data writes the line and the runs go")
    parser.add_argument("--scale", default="cpu", help="make-data scale (cpu | paper)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--iterations", type=int, default=500, help="IFWI and IG-FWI")
    parser.add_argument("--ms-iterations", type=int, default=250, help="MS-FWI, all bands")
    parser.add_argument("--shots-per-iteration", type=int, default=0, help="0 = every shot")
    parser.add_argument("--wavelet", choices=("file", "estimate"), default="file",
                        help="the given wavelet file (the paper's setting) or the least-squares "
                             "estimate at the start (runs/<method>-estimate)")
    parser.add_argument("--normalise", choices=("rms", "max"), default=None,
                        help="trace normalisation of observed and predicted data "
                             "(field.normalise; runs/<method>-rms); default none, the paper's")
    parser.add_argument("--early", nargs=3, type=float, metavar=("VELOCITY", "T0", "TAPER"),
                        help="keep only the early arrivals: a bottom mute along t = T0 + "
                             "|offset|/VELOCITY with a TAPER s cosine ramp, on both sides "
                             "(field.bottom_mute_*; runs/<method>-early)")
    parser.add_argument("--max-offset", type=float, default=0.0,
                        help="drop traces beyond this |offset| (m) on both sides (field.max_offset)")
    parser.add_argument("--max-depth", default="",
                        help="keep the model below this depth (m) at the start "
                             "(inversion.max_depth), or 'diving': the turning depth of the "
                             "longest offset's ray in the 1-D start (runs/<method>-depth-…)")
    parser.add_argument("--train-shots", type=int, default=0,
                        help="invert only this many of the line's shots, spread evenly "
                             "(data.shots); the rest are held out for chevron_validation.py "
                             "(runs/<method>-trainN)")
    parser.add_argument("--tag", default="",
                        help="appended to the run's name (e.g. it200 for a shorter run)")
    parser.add_argument("--summaries", type=Path, help="copy each run's small files here")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        print(f"chevron_like: unknown method {unknown[0]!r}; valid: {', '.join(METHODS)}",
              file=sys.stderr)
        return 2
    folder = args.folder = args.folder.resolve()  # the runs chdir into it
    if not (folder / "make_data.json").is_file():
        start = time.perf_counter()
        try:
            make_data(folder, spec_for(args.scale), device=args.device)
        except ValueError as err:
            print(f"chevron_like: {err}", file=sys.stderr)
            return 2
        print(f"make-data: {time.perf_counter() - start:.0f} s -> {folder}")
    record = json.loads((folder / "make_data.json").read_text())
    summaries = args.summaries.resolve() if args.summaries else None
    here = Path.cwd()
    os.chdir(folder)  # field.toml names its files relative to its folder
    try:
        for method in methods:
            run_method(folder, method, record, args)
        # Every finished run of the folder (any variant), so that separate invocations (one
        # method or variant each, on several cores) add up to one summary.
        rows = []
        for name in _finished_runs(folder):
            run = folder / "runs" / name
            rows.append({"run": name, **summarise(run, folder / "truth_vp.npy")})
            if summaries is not None:
                target = summaries / name
                target.mkdir(parents=True, exist_ok=True)
                for kept in KEPT:
                    if (run / kept).is_file():
                        shutil.copy2(run / kept, target / kept)
    except (ConfigError, ValueError) as err:
        print(f"chevron_like: {err}", file=sys.stderr)
        return 2
    finally:
        os.chdir(here)
    summary = {"scale": args.scale, "make_data": {k: record[k] for k in
                                                  ("model", "acquisition", "wavelet", "noise",
                                                   "energy_below_f_low", "initial_1d")},
               "runs": rows}
    if summaries is not None:
        summary["runs"] = _with_earlier_rows(summaries / "summary.json", rows, record)
        rows = summary["runs"]
        (summaries / "summary.json").write_text(json.dumps(summary, indent=1))
    print("| run | wavelet | data misfit (relative) | well RMS (m/s) | well RMS 1–2.5 km | "
          "MSE (km/s)² | SSIM |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        t, w = r["truth"], r["well_rms_paper_window"]
        window = (f"{w['initial']:.0f} → {w['final']:.0f}" if w["final"] is not None else "–")
        print(f"| {r['paper_method']} ({r['run']}) | {r['wavelet']} | "
              f"{r['data_misfit_relative']['initial']:.3f} → "
              f"{r['data_misfit_relative']['final']:.3f} | {r['well_rms']['initial']:.0f} → "
              f"{r['well_rms']['final']:.0f} | {window} | "
              f"{t['initial']['mse']:.4f} → {t['final']['mse']:.4f} | "
              f"{t['initial']['ssim']:.3f} → {t['final']['ssim']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
