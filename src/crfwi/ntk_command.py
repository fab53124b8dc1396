"""The ``crfwi ntk`` command: the wave-based NTK spectra of several methods on one setup.

For each method, its velocity model at initialisation (m0, bounds and water mask of the config,
seeded as a run is) and the config's solver give a :class:`~crfwi.analysis.ntk.WaveNTK`; its top-k
eigenvalues (:func:`crfwi.analysis.ntk.spectrum`), their normalised decay and the timings are written to
``spectrum.json``, with one figure of all decay curves (with and without the leading mode).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import torch

from . import io
from .analysis.ntk import SPACES, spectrum

__all__ = ["run_ntk", "add_ntk_parser"]


def _spectra_figures(methods: dict[str, dict], out: Path, title: str) -> list[Path]:
    from .plotting import plot_spectra

    paths = []
    with_mean = {m: r["eigenvalues"] for m, r in methods.items()}
    paths.append(plot_spectra(with_mean, out / "spectra.png",
                              title=f"{title}: Θ eigenvalues / λ1"))
    without = {m: v[1:] for m, v in with_mean.items() if len(v) > 2}
    if without:
        paths.append(plot_spectra(without, out / "spectra_without_mean.png",
                                  title=f"{title}: Θ, leading mode removed (λk / λ2, k ≥ 2)"))
    tm = {m: r["theta_m_eigenvalues"] for m, r in methods.items() if "theta_m_eigenvalues" in r}
    if tm:
        paths.append(plot_spectra(tm, out / "theta_m_spectra.png", title=f"{title}: Θ_m eigenvalues / λ1"))
    return paths


def _velocity_model(experiment, method: str):
    """The velocity model of ``method`` at initialisation on ``experiment``'s grid, m0, bounds
    and water mask, seeded by ``config.seed`` as a run is. A method name maps to its
    representation (``crfwi.methods.registry``; e.g. ``adfwi-tv`` → pixel); the config's representation
    options and output scale apply only to the config's own method, others use their defaults."""
    from .methods import registry as method_table
    from . import representations

    config = experiment.config
    rep_name = method_table.resolve(method).representation
    own = method == config.inversion.method
    options = dict(config.representation.options) if own else {}
    scale = (config.representation.output_scale or None) if own else None
    torch.manual_seed(config.seed)
    rep = representations.build(rep_name, experiment.grid, **options)
    fixed = None if experiment.fixed_mask is None else torch.as_tensor(experiment.fixed_mask)
    model = representations.VelocityModel(rep, torch.as_tensor(experiment.initial_model), experiment.grid,
                                          bounds=experiment.bounds, fixed_mask=fixed, output_scale=scale,
                                          start=config.representation.start,
                                          bound_gradient=config.inversion.bound_gradient)
    return model.to(experiment.device)


def run_ntk(config, out: str | Path, *, methods: Sequence[str] | None = None, k: int = 20,
            space: str = "auto", shots: Sequence[int] | None = None, tol: float = 1e-6,
            device: str = "cpu", log=print) -> dict:
    """The ``crfwi ntk`` command: the spectra of Θ and Θ_m at initialisation for several methods.

    Builds the experiment of ``config`` (a :class:`~crfwi.config.RunConfig`) once; for each method
    (``crfwi.methods.registry`` names; default: the config's own) builds its velocity model at initialisation (seeded by
    ``config.seed``), computes the top-``k`` eigenvalues of Θ (matrix-free, ``space``) and of Θ_m,
    and writes into ``out``: ``spectrum.json`` ({method: [{iteration, eigenvalues, decay,
    theta_m_eigenvalues, cost}]}, plus the normalisation used) and ``spectra.png``,
    ``spectra_without_mean.png``, ``theta_m_spectra.png``. Returns the JSON payload.
    """
    from .methods import registry as method_table
    from .experiment import build_experiment

    methods = list(methods) if methods else [config.inversion.method]
    known = method_table.available()
    for m in methods:
        if m not in known:
            raise ValueError(f"unknown method {m!r}; valid: {', '.join(known)}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"`k` must be a positive integer, got {k!r}")
    if space not in SPACES:
        raise ValueError(f"`space` must be one of {', '.join(SPACES)}, got {space!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} exists and is not a folder")
    experiment = build_experiment(config, device=device)
    substeps = experiment.solver.time_substeps
    exactness = ("exact: deepwave steps at the recording dt, so its adjoint is the transpose of "
                 "its Born operator" if substeps == 1 else
                 f"approximate: dt = {experiment.survey.dt:g} s exceeds deepwave's stability "
                 f"limit, it takes {substeps} internal steps per sample and resamples in time, "
                 "and its adjoint is then a coarser quadrature than the transpose of its Born "
                 "operator; an outside check measured up to 5e-4 relative error on the top 5 "
                 "eigenvalues and 1e-3 at k = 10 on the cpu-scale presets (decay ratios are "
                 "unaffected at the precision reported). Lower survey.dt for an exact kernel.")
    if substeps > 1:
        log(f"note: the kernel is {exactness}")
    results: dict[str, list[dict]] = {}
    for method in methods:
        model = _velocity_model(experiment, method)
        res = spectrum(model, experiment.solver, k=k, space=space, shots=shots, tol=tol)
        res = {"iteration": 0, **res}
        results[method] = [res]
        info = res["info"]
        log(f"{method:10s} space={info['space']:9s} λ1={res['eigenvalues'][0]:.3e} "
            f"λk/λ1={res['decay']['last_over_first'] or float('nan'):.2e} "
            f"λk/λ2={res['decay']['last_over_second'] or float('nan'):.2e} "
            f"products={info['matvecs']} wave solves={info['wave_solves']} {info['seconds']:.1f} s")
    payload = {
        "config": config.name, "k": k, "space": space, "tol": tol,
        "shots": None if shots is None else list(shots),
        "grid": experiment.grid.to_dict(), "survey": experiment.survey.to_dict(),
        "normalisation": "decay curves are λ_k/λ_1; 'without mean' curves drop the leading "
                         "(output-bias/mean) mode and are λ_k/λ_2 for k >= 2",
        "definitions": {"kernel": "Θ = J_G Θ_m J_Gᵀ, J_G = Born operator of the selected shots, "
                                  "J_m = ∂m_θ/∂θ incl. output_scale and the clamp; Θ_m in (m/s)²",
                        "wave_solves": "Born + adjoint propagations counted per shot"},
        "time_substeps": substeps, "exactness": exactness,
        "methods": results,
    }
    io.save_json(out / "spectrum.json", payload)
    _spectra_figures({m: r[0] for m, r in results.items()}, out, config.name)
    return payload


def add_ntk_parser(subparsers, *, device_choices: Sequence[str] = ("auto", "cpu", "cuda")) -> None:
    """Add ``crfwi ntk [CONFIG.toml] [--preset NAME --scale S --init K] [--methods a,b] [--k 20]
    [--out DIR] [--device D]`` to an argparse ``subparsers`` object; the handler is
    :func:`_cmd_ntk` (set as ``func``)."""
    p = subparsers.add_parser("ntk", help="eigenvalue spectra of the wave-based NTK at initialisation")
    p.add_argument("config", nargs="?", help="CONFIG.toml (the experiment: model, survey, initial model)")
    p.add_argument("--preset", help="a paper setup instead of (or under) CONFIG (see `crfwi presets`)")
    p.add_argument("--scale", choices=["paper", "cpu"], help="the preset's scale (default paper)")
    p.add_argument("--init", choices=["smooth", "linear", "constant"], help="initial model kind")
    p.add_argument("--methods", help="comma-separated methods (default: the config's inversion.method)")
    p.add_argument("--k", type=int, default=20, help="number of top eigenvalues (default 20)")
    p.add_argument("--space", default="auto", choices=list(SPACES),
                   help="Lanczos space (default auto: the smallest)")
    p.add_argument("--shots", help="comma-separated shot indices entering the kernel (default all)")
    p.add_argument("--tol", type=float, default=1e-6, help="ARPACK tolerance (default 1e-6)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config field, e.g. --set survey.n_shots=4 (repeatable)")
    p.add_argument("--out", help="output folder (default runs/NAME-ntk-TIMESTAMP)")
    p.add_argument("--device", default="auto", choices=list(device_choices),
                   help="where to simulate (default: CUDA when available)")
    p.set_defaults(func=_cmd_ntk)


def _csv(text: str | None, name: str, kind=str) -> list | None:
    if not text:
        return None
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name} expects a comma-separated list, got {text!r}") from None


def _cmd_ntk(args) -> int:
    from .config import load_config, shorthand_overrides

    if not args.config and not args.preset:
        raise ValueError("give a CONFIG.toml or --preset NAME (see `crfwi ntk --help`)")
    shorthands = shorthand_overrides(preset=args.preset, scale=args.scale, init=args.init)
    config = load_config(args.config, shorthands + list(args.set or []))
    methods = _csv(args.methods, "--methods")
    shots = _csv(args.shots, "--shots", int)
    if args.k < 1:
        raise ValueError(f"--k must be >= 1, got {args.k}")
    out = Path(args.out) if args.out else Path("runs") / f"{config.name}-ntk-{time.strftime('%Y%m%d-%H%M%S')}"
    run_ntk(config, out, methods=methods, k=args.k, space=args.space, shots=shots, tol=args.tol,
            device=args.device)
    print(f"results: {out}")
    return 0
