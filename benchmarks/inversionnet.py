"""The data-driven baseline of PAPER.md §4.4 / Table 2 (issue 16): an InversionNet-style network
trained here on crfwi's procedural OpenFWI-like maps (:mod:`crfwi.datadriven`).

    python benchmarks/inversionnet.py data DATA_DIR --train-per-family 1000 --val-per-family 50
    python benchmarks/inversionnet.py train DATA_DIR RUN_DIR --epochs 40 --noise 4 [--resume]
    CRFWI_DATA_DIR=/work/shared/models python benchmarks/inversionnet.py evaluate RUN_DIR --noise 0 4 8
    python benchmarks/inversionnet.py curve RUN_DIR [--out FILE.png]

``data`` is resumable (run it again to continue), ``train --resume`` continues from the last
epoch's checkpoint, ``train`` ends by drawing the training curve (``RUN_DIR/training_curve.png``; ``curve`` redraws it
from ``history.csv`` at any time), ``evaluate`` scores the real OpenFWI maps when ``$CRFWI_DATA_DIR`` (or
``--data-dir``) holds them and the held-out procedural maps always. Bad input stops with one line
and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP

import torch

from crfwi.datadriven import dataset as ds
from crfwi.datadriven.curve import plot_training_curve
from crfwi.datadriven import evaluate as ev
from crfwi.datadriven import train as tr
from crfwi.datadriven.network import InversionNet, parameter_count


def _log(quiet: bool):
    start = time.perf_counter()

    def log(message: str) -> None:
        if not quiet:
            print(f"[{time.perf_counter() - start:7.0f} s] {message}", flush=True)
    return log


def _noise_range(text: str) -> tuple[float, float]:
    """``K`` or ``KMIN:KMAX`` → (min, max)."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"noise must be K or KMIN:KMAX, got {text!r}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"noise must be K or KMIN:KMAX, got {text!r}")
    return parts[0], parts[1]


def _acquisition(args) -> ds.Acquisition:
    return ds.Acquisition(nz=args.grid, nx=args.grid, nt=args.nt)


def cmd_data(args) -> None:
    spec = ds.DatasetSpec(n_train=args.train_per_family, n_val=args.val_per_family,
                          families=tuple(args.families), seed=args.seed, chunk=args.chunk,
                          acquisition=_acquisition(args))
    ds.generate(args.data, spec, log=_log(args.quiet))


def cmd_train(args) -> None:
    if not (Path(args.data) / ds.SPEC_FILE).is_file():
        raise ValueError(f"{args.data} holds no data set ({ds.SPEC_FILE} missing); make one with "
                         "the `data` command")
    noise = args.noise
    settings = tr.TrainSettings(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        width=args.width, noise_min=noise[0], noise_max=noise[1],
        val_noise=args.val_noise if args.val_noise is not None else (noise[0] + noise[1]) / 2,
        seed=args.seed, data_dtype=args.data_dtype)
    try:
        tr.train(args.data, args.run, settings, resume=args.resume, threads=args.threads,
                 log=_log(args.quiet))
    except KeyboardInterrupt:
        print(f"interrupted; continue with: train {args.data} {args.run} ... --resume",
              file=sys.stderr)
        raise SystemExit(130) from None
    print(f"training curve: {plot_training_curve(Path(args.run) / 'history.csv', Path(args.run) / CURVE)}")


CURVE = "training_curve.png"


def cmd_curve(args) -> None:
    out = Path(args.out) if args.out else Path(args.run) / CURVE
    print(f"training curve: {plot_training_curve(Path(args.run) / 'history.csv', out)}")


def cmd_evaluate(args) -> None:
    if args.maps is not None and args.maps < 1:
        raise ValueError(f"--maps must be >= 1, got {args.maps}")
    if args.maps is not None and args.indices is not None:
        raise ValueError("give --maps or --indices, not both")
    if not (Path(args.run) / args.checkpoint).is_file():
        raise ValueError(f"{args.run} holds no {args.checkpoint}; train first")
    if args.threads:
        torch.set_num_threads(args.threads)
    ev.evaluate_run(args.run, noise=tuple(args.noise), data_dir=args.data_dir,
                    families=args.families, n_maps=args.maps, indices=args.indices, seed=args.seed,
                    checkpoint=args.checkpoint, out=args.out, heldout=not args.no_heldout,
                    log=_log(False))


def cmd_params(args) -> None:
    acq = _acquisition(args)
    net = InversionNet(n_shots=acq.n_shots, nt=acq.nt, n_receivers=acq.nx,
                       out_shape=(acq.nz, acq.nx), width=args.width)
    print(f"width {args.width}: {parameter_count(net):,} parameters")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def acquisition(q):
        q.add_argument("--grid", type=int, default=70, help="map side in cells (OpenFWI: 70)")
        q.add_argument("--nt", type=int, default=1000, help="time samples (OpenFWI: 1000)")

    q = sub.add_parser("data", help="simulate (or continue) the procedural training set")
    q.add_argument("data", help="folder of the data set (made if absent; continued if partial)")
    q.add_argument("--train-per-family", type=int, default=1000)
    q.add_argument("--val-per-family", type=int, default=50)
    q.add_argument("--families", nargs="+", default=list(ds.FAMILIES), choices=list(ds.FAMILIES))
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--chunk", type=int, default=50, help="maps per cached chunk file")
    q.add_argument("--quiet", action="store_true")
    acquisition(q)
    q.set_defaults(func=cmd_data)

    q = sub.add_parser("curve", help="draw the training curve of a run from its history.csv")
    q.add_argument("run", help="a run folder of `train`")
    q.add_argument("--out", default=None, help=f"PNG (default RUN/{CURVE})")
    q.set_defaults(func=cmd_curve)

    q = sub.add_parser("train", help="train (or --resume) the network")
    q.add_argument("data", help="a folder made by `data`")
    q.add_argument("run", help="run folder (checkpoints, history.csv)")
    q.add_argument("--epochs", type=int, default=40)
    q.add_argument("--batch-size", type=int, default=32)
    q.add_argument("--lr", type=float, default=1e-3)
    q.add_argument("--weight-decay", type=float, default=1e-4)
    q.add_argument("--width", type=int, default=8, help="first block's channels (OpenFWI: 32)")
    q.add_argument("--noise", type=_noise_range, default=(4.0, 4.0),
                   help="training noise k (std k*sigma0): K or KMIN:KMAX drawn per map; default 4, "
                        "the paper-openfwi sweep's level; 0 = clean, as OpenFWI trained")
    q.add_argument("--val-noise", type=float, default=None, help="validation k (default mid-range)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--data-dtype", choices=["float32", "float16"], default="float32")
    q.add_argument("--threads", type=int, default=1)
    q.add_argument("--resume", action="store_true")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_train)

    q = sub.add_parser("evaluate", help="score a run on the OpenFWI maps and held-out maps")
    q.add_argument("run")
    q.add_argument("--noise", type=float, nargs="+", default=[0.0], help="levels k to score at")
    q.add_argument("--data-dir", default=None, help="default $CRFWI_DATA_DIR")
    q.add_argument("--families", nargs="+", default=None, help="OpenFWI stacks (default all)")
    q.add_argument("--maps", type=int, default=None, help="first N maps of each stack")
    q.add_argument("--indices", type=int, nargs="+", default=None,
                   help="these maps of each stack (paper-openfwi sweep: 0 33 66)")
    q.add_argument("--seed", type=int, default=0, help="noise seed of map 0 (map i: seed + i)")
    q.add_argument("--checkpoint", default="best.pt", choices=["best.pt", "checkpoint.pt"])
    q.add_argument("--out", default=None, help="default RUN/eval")
    q.add_argument("--no-heldout", action="store_true", help="skip the procedural held-out maps")
    q.add_argument("--threads", type=int, default=1)
    q.set_defaults(func=cmd_evaluate)

    q = sub.add_parser("params", help="print the network's parameter count")
    q.add_argument("--width", type=int, default=8)
    acquisition(q)
    q.set_defaults(func=cmd_params)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"inversionnet {args.command}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
