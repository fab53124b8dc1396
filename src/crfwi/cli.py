"""The ``crfwi`` command: parse → build → call → report. ``main(argv) -> exit code``.

A user's mistake (bad config, unknown name, missing file, unusable folder) prints one line on
stderr, ``crfwi: error: …``, and exits with code 2; nothing is written before the input is
validated, and no existing run folder is changed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage mistakes in the same one-line form as everything else."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


class _UsageError(ValueError):
    pass


def _default_out(name: str, method: str) -> Path:
    return Path("runs") / f"{name}-{method}-{time.strftime('%Y%m%d-%H%M%S')}"


def _print_metrics(result) -> None:
    stream = sys.stdout
    m, m0 = result.metrics, result.initial_metrics
    if "ssim" not in m:  # a field run: no true model; data fit and the well (qc.json)
        print(f"{'':12s}{'data misfit':>12s}{'well RMS':>10s}", file=stream)
        for label, row in (("initial", m0), ("inverted", m)):
            well = "-" if row.get("well_rms") is None else f"{row['well_rms']:.0f} m/s"
            print(f"{label:12s}{row['data_misfit_relative']:12.4f}{well:>10s}", file=stream)
    else:
        print(f"{'':12s}{'SSIM':>8s}{'MSE':>10s}{'MAE':>9s}{'PSNR':>8s}", file=stream)
        for label, row in (("initial", m0), ("inverted", m)):
            print(f"{label:12s}{row['ssim']:8.4f}{row['mse']:10.4f}{row['mae']:9.4f}"
                  f"{row['psnr']:8.2f}", file=stream)
    print(f"results: {result.folder}  ({m['iterations']} iterations, {m['seconds']:.1f} s)", file=stream)


# ------------------------------------------------------------------------------------------------
def _cmd_invert(args: argparse.Namespace) -> int:
    from .config import load_config, shorthand_overrides
    from .runner import resume_inversion, run_inversion

    from .inversion import distributed
    from .resources import parse_size

    overrides = shorthand_overrides(preset=args.preset, scale=args.scale, init=args.init,
                                    method=args.method, iterations=args.iterations)
    overrides += list(args.set or [])
    progress = not args.quiet
    budget = parse_size(args.max_memory) if args.max_memory else None
    if args.nproc < 1:
        raise _UsageError(f"--nproc must be >= 1, got {args.nproc}")
    if args.resume:
        if args.config or args.out or args.method or args.preset or args.scale or args.init:
            raise _UsageError("--resume takes the run folder only (no CONFIG, --out, --preset, "
                              "--scale, --init or --method)")
    elif not args.config and not args.preset:
        raise _UsageError("give a CONFIG.toml or --preset NAME to run, or --resume RUN_DIR")
    if distributed.in_worker():
        if args.nproc > 1:
            raise _UsageError("--nproc starts its own ranks; under torchrun leave it out")
        return _invert_as_rank(args, overrides, budget)
    if args.nproc > 1:
        return _launch_ranks(args, overrides, budget)
    if args.resume:
        result = resume_inversion(args.resume, overrides=overrides, device=args.device,
                                  progress=progress, max_memory=budget)
    else:
        config = load_config(args.config, overrides)
        out = Path(args.out) if args.out else _default_out(config.name, config.inversion.method)
        result = run_inversion(config, out, device=args.device, progress=progress,
                               max_memory=budget)
    _print_metrics(result)
    return 0


def _invert_as_rank(args: argparse.Namespace, overrides: list[str], budget: int | None) -> int:
    """One rank of a shot-parallel run (torchrun or --nproc). Rank 0 reads the input and
    reports; a failure agreed on by all ranks is printed once, by rank 0."""
    from .inversion import distributed
    from .config import load_config
    from .runner import RunInterrupted, resume_inversion, run_inversion

    try:
        ranks = distributed.init(args.device)
    except distributed.RankFailed as err:
        print(f"crfwi: error: {err}", file=sys.stderr)
        return 1
    common = dict(device=args.device, progress=not args.quiet, ranks=ranks, max_memory=budget)
    try:
        if args.resume:
            result = resume_inversion(args.resume, overrides=overrides, **common)
        else:
            def read() -> tuple:
                config = load_config(args.config, overrides)
                return config, (Path(args.out) if args.out else
                                _default_out(config.name, config.inversion.method))

            config, out = ranks.on_root(read)
            result = run_inversion(config, out, **common)
    except distributed.RankFailed as err:
        if err.report:
            print(f"crfwi: error: {err}", file=sys.stderr)
        return 1
    except (Exception, KeyboardInterrupt) as err:
        if ranks.is_root:
            raise  # main() reports it as for one process
        if isinstance(err, (RunInterrupted, KeyboardInterrupt)):
            return EXIT_INTERRUPTED
        return EXIT_USAGE if isinstance(err, (ValueError, FileNotFoundError)) else 1
    finally:
        ranks.close()
    if result is not None:
        _print_metrics(result)
    return 0


def _launch_ranks(args: argparse.Namespace, overrides: list[str], budget: int | None) -> int:
    """``--nproc N``: check everything a run checks, then start N ranks on this machine."""
    import torch

    from . import io
    from .inversion import distributed
    from .config import load_config
    from .run_plan import check_run
    from .runner import resume_config

    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        if torch.cuda.device_count() < args.nproc:
            raise _UsageError(f"--nproc {args.nproc} needs one GPU per rank and this machine has "
                              f"{torch.cuda.device_count()}; use fewer ranks or --device cpu")
    if args.resume:
        config, _, _ = resume_config(args.resume, overrides, max_memory=budget,
                                     device=args.device, ranks=args.nproc)
        out = Path(args.resume)
    else:
        config = load_config(args.config, overrides)
        out = Path(args.out) if args.out else _default_out(config.name, config.inversion.method)
        io.RunFolder(out).check_new()
    check_run(config, max_memory=budget, device=args.device, ranks=args.nproc)
    argv = ["invert", "--resume", str(out)] if args.resume else \
        ["invert", *([str(args.config)] if args.config else []), "--out", str(out)]
    for name in ("preset", "scale", "init", "method", "iterations", "max_memory"):
        if getattr(args, name) is not None:
            argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    for item in args.set or []:
        argv += ["--set", item]
    argv += ["--device", args.device] + (["--quiet"] if args.quiet else [])
    return distributed.launch(argv, args.nproc)


def _cmd_models(args: argparse.Namespace) -> int:
    from .models.datadir import resolve_data_dir
    from .models.zoo import list_models

    data_dir = resolve_data_dir(args.data_dir)
    print(f"data directory: {data_dir or '(not set: use --data-dir or CRFWI_DATA_DIR)'}")
    print(f"{'name':12s} {'kind':11s} {'shape (nz x nx)':>16s} {'spacing (m)':>12s}  present  description")
    for info in list_models(args.data_dir):
        shape = f"{info.shape[0]} x {info.shape[1]}" if info.shape else "any"
        spacing = f"{info.spacing[0]:g} x {info.spacing[1]:g}" if info.spacing else "any"
        present = "yes" if info.present else "no"
        print(f"{info.name:12s} {info.kind:11s} {shape:>16s} {spacing:>12s}  {present:7s}  {info.description}")
    return 0


def _parse_grid(text: str) -> tuple[int, ...]:
    """``NZxNX`` (2-D) or ``NZxNYxNX`` (3-D) → the sizes."""
    try:
        sizes = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        sizes = ()
    if len(sizes) not in (2, 3):
        raise _UsageError(f"--grid expects NZxNX such as 94x288 or NZxNYxNX such as 60x160x160, "
                          f"got {text!r}")
    if min(sizes) < 1:
        raise _UsageError(f"--grid expects positive sizes, got {text!r}")
    return sizes


def _cmd_methods(args: argparse.Namespace) -> int:
    from . import representations
    from .methods import registry as methods
    from .physics.geometry import Grid
    from .physics.geometry3d import Grid3D

    sizes = _parse_grid(args.grid)
    grid = Grid(*sizes, 10.0) if len(sizes) == 2 else Grid3D(*sizes, 10.0)
    print(f"methods on a {' x '.join(str(n) for n in sizes)} grid "
          f"(crfwi's name or the paper's works in inversion.method):")
    print(f"{'name':10s} {'paper':9s} {'parameters':>11s} {'lr':>8s}  representation options")
    counts = {}
    for method in methods.METHODS.values():
        name = method.representation
        info = representations.describe(name)
        if name not in counts:
            counts[name] = representations.build(name, grid).n_parameters()
        if method.name == name:
            options = ", ".join(f"{k}={v}" for k, v in info["options"].items()) or "-"
        else:
            options = f"{method.summary}"
        print(f"{method.name:10s} {method.paper:9s} {counts[name]:11,d} "
              f"{info['learning_rate']:8g}  {options}")
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from . import presets

    print("presets (crfwi invert --preset NAME [--scale paper|cpu] [--init smooth|linear|constant]):")
    for preset in (presets.get(name) for name in presets.available()):  # 2-D, then 3-D
        print(f"\n{preset.name}: {preset.title}")
        data = presets.preset_data(preset.name, "paper", data_dir=args.data_dir)
        source = data["model"]["name"]
        window = preset.window
        if any(window):
            cut = (f"file window {' x '.join(f'{w:g}' for w in window)} m from "
                   f"{tuple(preset.origin)} scaled onto the grid")
        elif source.startswith("openfwi:"):
            cut = "one map on its own grid; choose it with --set model.name=openfwi:<family>:<k>"
        else:
            cut = "cropped at the grid's spacing"
        print(f"  model      {source} ({cut})" if not data["note"] else f"  model      {data['note']}")
        for scale in presets.SCALES:
            s = preset.scale(scale)
            print(f"  {scale:10s} {s.describe()}")
        if preset.cpu_note:
            print(f"  {'':10s} cpu: {preset.cpu_note}")
        sides = 2 * getattr(preset, "dimensions", 2) - 1
        boundary = (f"free surface on top, PML on {sides} sides" if preset.free_surface
                    else "PML on all sides")
        bounds = ("bounds " + "–".join(f"{b:g}" for b in preset.bounds) + " m/s"
                  if any(preset.bounds) else "default bounds")
        print(f"  {'':10s} {boundary}; {bounds}; water fixed: {'yes' if preset.fix_water else 'no'}; "
              f"smooth σ = {preset.smooth_cells * preset.paper.spacing:g} m")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .study.sweep import load_sweep, parse_devices, run_state, run_sweep

    if args.jobs < 1:
        raise _UsageError(f"--jobs must be >= 1, got {args.jobs}")
    devices = parse_devices(args.devices) if args.devices is not None else None
    sweep = load_sweep(args.sweep, out=args.out, summaries=args.summaries, overrides=args.set or [])
    if args.dry_run:
        for run in sweep.runs:
            if not args.only or args.only in run.key:
                done, stale = run_state(sweep, run)
                state = "to run" if done is None else ("STALE: " + "; ".join(stale) if stale else "done")
                print(f"{run.key}  ({run.iterations} iterations; {state})")
        return 0
    status = run_sweep(sweep, jobs=args.jobs, device=args.device, progress=not args.quiet,
                       only=args.only, devices=devices)
    failed = [key for key, value in status["runs"].items() if value["state"] == "failed"]
    done = sum(value["state"] == "done" for value in status["runs"].values())
    print(f"sweep {sweep.name}: {done} done, {len(failed)} failed; status in {sweep.out / 'sweep.json'}")
    for key in failed:
        print(f"  failed: {key}")
    return 1 if failed else 0


def _cmd_make_data(args: argparse.Namespace) -> int:
    from .field.make_data import make_data, spec_for

    spec = spec_for(args.scale, seed=args.seed, noise=args.noise, n_shots=args.shots,
                    record_length=args.record_length)
    r = make_data(args.out, spec, data_dir=args.data_dir, device=args.device,
                  progress=not args.quiet)
    a, band = r["acquisition"], r["energy_below_f_low"]
    print(f"wrote {args.out}: {a['shots']} shots x {a['channels']} channels, {r['nt']} samples at "
          f"{1e3 * spec.dt:g} ms; elastic modelling {r['timings_s']['elastic']:.1f} s on {r['device']}")
    print(f"energy below {spec.f_low:g} Hz: {100 * band['recorded']:.2f} % of the recorded data; "
          f"wavelet vs elastic source in water: {100 * r['wavelet']['calibration_rel_error']:.2f} %")
    print(f"invert: cd {args.out} && {r['inversion']['commands'][-1]}  (all three in make_data.json)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(out=args.out, device=args.device, progress=not args.quiet)


# ------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="crfwi", description="Full-waveform inversion with continuous representations "
                     "of the subsurface model (Chen et al., ICLR 2026).")
    parser.add_argument("--version", action="version", version=f"crfwi {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    device = dict(default="auto", choices=["auto", "cpu", "cuda"],
                  help="where to simulate (default: CUDA when available)")

    p = sub.add_parser("invert", help="run an inversion from a TOML config, or resume one")
    p.add_argument("config", nargs="?", help="CONFIG.toml")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config field, e.g. --set inversion.iterations=50 (repeatable)")
    p.add_argument("--out", help="run folder (default runs/NAME-METHOD-TIMESTAMP)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument("--preset", help="a paper setup (see `crfwi presets`); CONFIG becomes optional")
    p.add_argument("--scale", choices=["paper", "cpu"], help="the preset's scale (default paper)")
    p.add_argument("--init", choices=["smooth", "linear", "constant", "file", "well"],
                   help="shorthand for --set initial.kind=KIND")
    p.add_argument("--method", help="shorthand for --set inversion.method=NAME")
    p.add_argument("--iterations", type=int, help="shorthand for --set inversion.iterations=N")
    p.add_argument("--device", **device)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="run the shots on N processes of this machine (one GPU each on CUDA); "
                        "several machines: torchrun -m crfwi invert (README)")
    p.add_argument("--max-memory", metavar="SIZE",
                   help="memory one process may use, e.g. 8GiB: sets physics.shot_chunk to the "
                        "most shots per solver call that fit (refused if one shot does not)")
    p.set_defaults(func=_cmd_invert)

    p = sub.add_parser("models", help="list the model zoo (benchmark files and generators)")
    p.add_argument("--data-dir", help="folder holding models.json (default $CRFWI_DATA_DIR)")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("methods", help="list the methods (representations) with parameter counts")
    p.add_argument("--grid", default="94x288",
                   help="NZxNX (2-D) or NZxNYxNX (3-D) grid for the counts (default 94x288)")
    p.set_defaults(func=_cmd_methods)

    p = sub.add_parser("bench", help="run a sweep of runs (a SWEEP.toml or a named sweep)")
    # The named sweeps are the files shipped there (read here, not from crfwi.study, to keep the
    # CLI's start free of torch).
    named = sorted(f.stem for f in (Path(__file__).parent / "study" / "sweeps").glob("*.toml"))
    p.add_argument("sweep", help=f"SWEEP.toml, or a named sweep (src/crfwi/study/sweeps/: {', '.join(named)})")
    p.add_argument("--out", help="folder of the run folders (default: the sweep's, results/NAME)")
    p.add_argument("--summaries", help="copy each finished run's small files here (commit them)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a field of every run, e.g. --set scale=paper (repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="runs at once, one process each (default 1)")
    p.add_argument("--only", metavar="TEXT", help="only the runs whose key contains TEXT")
    p.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    p.add_argument("--device", **device)
    p.add_argument("--devices", metavar="D1,D2",
                   help="spread the runs over these devices, one run at a time per entry "
                   "(e.g. cuda:0,cuda:1; cuda:0,cuda:0 = two at once on one GPU); replaces "
                   "--device and --jobs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_bench)

    from .field.inspect import add_inspect_parser
    from .ntk_command import add_ntk_parser
    from .report import add_report_parser

    add_report_parser(sub)  # crfwi report RESULTS_DIR
    add_ntk_parser(sub)  # crfwi ntk CONFIG.toml | --preset NAME
    add_inspect_parser(sub)  # crfwi inspect FILE.segy [--plot OUT.png] [--shot K]

    p = sub.add_parser("presets", help="list the paper's setups (both scales)")
    p.add_argument("--data-dir", help="folder holding models.json (default $CRFWI_DATA_DIR)")
    p.set_defaults(func=_cmd_presets)

    p = sub.add_parser("make-data", help="simulate an elastic Chevron-2014-style streamer line on "
                       "Marmousi2 to invert as field data")
    p.add_argument("out", metavar="OUT", help="a new (or empty) folder for the line and field.toml")
    p.add_argument("--scale", choices=["paper", "cpu"], default="cpu",
                   help="cpu (default): lengths x3, frequencies /3; paper: Chevron's acquisition")
    p.add_argument("--seed", type=int, help="noise seed (default 0)")
    p.add_argument("--noise", type=float, help="noise std / clean data std (default 0.1)")
    p.add_argument("--shots", type=int, help="keep this many shots, spread evenly (default all)")
    p.add_argument("--record-length", type=float, metavar="SECONDS", help="default 8 s")
    p.add_argument("--data-dir", help="folder holding models.json (default $CRFWI_DATA_DIR)")
    p.add_argument("--device", **device)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_make_data)

    p = sub.add_parser("demo", help="the main job: conventional FWI vs IG-FWI on an embedded model")
    p.add_argument("--out", help="folder for the demo's runs (default runs/demo-TIMESTAMP)")
    p.add_argument("--device", **device)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .io import RunFolderError
    from .runner import RunInterrupted

    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except RunInterrupted as err:
        print(f"crfwi: {err}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("crfwi: aborted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, FileNotFoundError, RunFolderError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"crfwi: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except FloatingPointError as err:
        print(f"crfwi: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
