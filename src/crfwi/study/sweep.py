"""Sweeps: many runs from one file — methods × presets × initial models × data scenarios × seeds.

A sweep file (TOML)::

    name = "paper-marmousi"
    [base]                      # config fields every run shares (any RunConfig field)
    scale = "cpu"
    [base.inversion]
    iterations = 300
    shots_per_iteration = 4
    [scenarios.noise4]          # named data scenarios: config fields (usually [data])
    data = { noise = 4.0 }
    [[block]]                   # each block is a product of its lists; the sweep is their union
    presets = ["marmousi"]
    methods = ["pixel", "siren", "ig"]
    inits = ["smooth", "linear", "constant"]
    scenarios = ["clean"]       # "clean" = no degradation (always defined)
    seeds = [0]
    set = { inversion = { iterations = 500 } }   # optional: fields of this block only

Every run is an ordinary run folder ``OUT/<preset>-<scale>/<init>-<scenario>/<method>-seed<N>``.
The runner skips complete runs, resumes interrupted ones (and extends shorter complete ones
when the sweep asks for more iterations), records a failed run's error in ``sweep.json`` and
goes on, and can run several runs at once in separate processes (``jobs``).

``summaries``: a folder where each finished run's small files (metrics, history, resolved
config, data record and the final model) are copied as soon as it ends, laid out like ``OUT``.
Commit that folder; a later session (or machine) with an empty ``OUT`` treats a run whose
summary is complete as done, so a long sweep can go on across sessions.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..methods import registry as methods
from ..config import (ConfigError, apply_overrides, check_user_input, config_from_dict, merge_config,
                     read_toml)
from ..runner import RunInterrupted

__all__ = ["Sweep", "SweepRun", "load_sweep", "run_sweep", "run_state", "stale_fields",
           "parse_devices", "SUMMARY_FILES", "NAMED_SWEEPS"]

SUMMARY_FILES = ("metrics.json", "history.csv", "config.resolved.toml", "data.json", "model.npy")
_BLOCK_KEYS = {"presets", "scales", "methods", "inits", "scenarios", "seeds", "set"}
_NAMED_DIR = Path(__file__).with_name("sweeps")
NAMED_SWEEPS = sorted(p.stem for p in _NAMED_DIR.glob("*.toml")) if _NAMED_DIR.is_dir() else []


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: where it goes and its config (as config-file data)."""

    key: str
    preset: str
    scale: str
    init: str
    scenario: str
    method: str
    seed: int
    data: dict = field(compare=False, hash=False, repr=False)

    @property
    def path(self) -> Path:
        return Path(self.key)

    @property
    def iterations(self) -> int:
        return int(self.data["inversion"]["iterations"])


@dataclass
class Sweep:
    name: str
    runs: list[SweepRun]
    out: Path
    summaries: Path | None = None


def _as_list(block: dict, key: str, default: list) -> list:
    value = block.get(key, default)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"sweep block `{key}` must be a non-empty list, got {value!r}")
    return value


def load_sweep(source: str | Path, *, out: str | Path | None = None,
               summaries: str | Path | None = None, overrides: list[str] | None = None) -> Sweep:
    """Read a sweep file (or a named sweep shipped with crfwi, see ``NAMED_SWEEPS``) and expand
    it into runs; every run's config is checked before anything runs.

    ``overrides`` (``section.key=value``, as ``crfwi invert --set``) apply to every run, over the
    sweep's own fields: e.g. ``scale=paper`` and ``inversion.shots_per_iteration=0`` turn the
    cpu-scale study into the paper-scale one (its runs then live under ``<preset>-paper/``).
    """
    path = Path(source)
    if not path.suffix and str(source) in NAMED_SWEEPS:
        path = _NAMED_DIR / f"{source}.toml"
    data = read_toml(path)
    unknown = set(data) - {"name", "base", "scenarios", "block", "out", "summaries"}
    if unknown:
        raise ConfigError(f"unknown sweep key `{sorted(unknown)[0]}`; valid: name, out, summaries, "
                          "base, scenarios, block")
    name = str(data.get("name", path.stem))
    base = data.get("base", {})  # merge_config copies, so runs never share a table
    scenarios = {"clean": {}, **data.get("scenarios", {})}
    blocks = data.get("block", [])
    if not isinstance(blocks, list) or not blocks:
        raise ConfigError(f"{path}: a sweep needs at least one [[block]]")
    runs: dict[str, SweepRun] = {}
    for number, block in enumerate(blocks, 1):
        bad = set(block) - _BLOCK_KEYS
        if bad:
            raise ConfigError(f"unknown key `{sorted(bad)[0]}` in [[block]] {number}; valid: "
                              f"{', '.join(sorted(_BLOCK_KEYS))}")
        axes = [_as_list(block, "presets", [base.get("preset", "")]),
                _as_list(block, "scales", [base.get("scale", "paper")]),
                _as_list(block, "inits", [base.get("initial", {}).get("kind", "smooth")]),
                _as_list(block, "scenarios", ["clean"]),
                _as_list(block, "methods", [base.get("inversion", {}).get("method", "pixel")]),
                _as_list(block, "seeds", [base.get("seed", 0)])]
        for preset, scale, init, scenario, method, seed in itertools.product(*axes):
            if scenario not in scenarios:
                raise ConfigError(f"[[block]] {number}: unknown scenario {scenario!r}; defined: "
                                  f"{', '.join(scenarios)}")
            config = merge_config(base, block.get("set", {}))
            config = merge_config(config, scenarios[scenario])
            config = merge_config(config, {"seed": int(seed), "initial": {"kind": init},
                                     "inversion": {"method": method}})
            if preset:
                config = merge_config(config, {"preset": preset, "scale": scale})
            config = apply_overrides(config, overrides or [])
            scale = config.get("scale", scale)
            group = f"{preset}-{scale}" if preset else "custom"
            key = f"{group}/{init}-{scenario}/{method}-seed{int(seed)}"
            config.setdefault("name", key.replace("/", "_"))
            check_user_input(config)
            checked = config_from_dict(config)  # validate now, not hours into the sweep
            try:
                methods.resolve(checked.inversion.method)
            except ValueError as err:
                raise ConfigError(f"[[block]] {number}: {err}") from None
            config.setdefault("inversion", {})["iterations"] = checked.inversion.iterations
            runs[key] = SweepRun(key, preset, scale, init, scenario, method, int(seed), config)
    out_path = Path(out or data.get("out") or Path("results") / name)
    summaries = summaries if summaries is not None else data.get("summaries")
    return Sweep(name, list(runs.values()), out_path, Path(summaries) if summaries else None)


# ----------------------------------------------------------------------------------------------
def _completed(folder: Path, run: SweepRun) -> dict | None:
    """The metrics in ``folder`` if they are ``run``'s, complete (its iterations reached), else None."""
    metrics = folder / run.path / "metrics.json"
    if not metrics.is_file():
        return None
    values = json.loads(metrics.read_text())
    return values if values.get("iterations") == run.iterations else None


# Fields that may differ between a done run and the sweep's run without changing what it computed:
# its label, where files went, how often it reported, where the data lived, what it recorded
# about its machine; ``inversion.iterations`` is the extension the sweep handles itself.
_NOT_COMPARED = {"name", "meta", "output", "model.data_dir", "inversion.iterations"}


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if name in _NOT_COMPARED:
            continue
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def stale_fields(folder: Path, run: SweepRun) -> list[str]:
    """How a done run's recorded config differs from what the sweep would run now.

    A default that changed after a run (e.g. ``inversion.bound_gradient``) leaves the run "done"
    under the old setting; this names each such field as ``key: recorded -> now``. Empty when the
    run is current or records no config.
    """
    recorded_path = folder / run.path / "config.resolved.toml"
    if not recorded_path.is_file():
        return []
    from ..config import config_to_dict, load_config

    current = config_from_dict(run.data)
    written = _flatten(read_toml(recorded_path))
    recorded = _flatten(config_to_dict(load_config(recorded_path)))
    now = _flatten(config_to_dict(current))
    unread = _unread(current)
    # A field the record lacks was written by a crfwi before the field existed; such a run is
    # taken to have run the field's default (a new option keeps the old behaviour unless the
    # CHANGELOG says otherwise), so only fields the record holds are compared.
    return [f"{key}: {recorded[key]!r} -> {now.get(key)!r}"
            for key in sorted(recorded)
            if key in written and key not in unread and recorded[key] != now.get(key)]


def _unread(config) -> set[str]:
    """Fields a run never reads, so that a change in them leaves it current."""
    unread = set()
    if config.initial.kind != "constant":
        unread.add("initial.constant")  # which constant: read by constant starts only
    if methods.resolve(config.inversion.method).representation == "pixel":
        # Pixel cells are projected inside the bounds after every step: the bound's derivative
        # is never taken outside them.
        unread.add("inversion.bound_gradient")
    return unread


def run_state(sweep: Sweep, run: SweepRun) -> tuple[dict | None, list[str]]:
    """``(metrics, stale fields)`` of a done run (its summary first, else its run folder), or
    ``(None, [])`` when it is still to run."""
    for folder in (sweep.summaries, sweep.out):
        if folder is not None:
            done = _completed(folder, run)
            if done is not None:
                return done, stale_fields(folder, run)
    return None, []


def _copy_summary(folder: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in SUMMARY_FILES:
        if (folder / name).is_file():
            shutil.copy2(folder / name, target / name)


def _execute(run: SweepRun, out: str, device: str, threads: int) -> tuple[dict, float]:
    """Run (or resume/extend) one run in this process; returns its final metrics and the wall
    time it took here (measured in the worker, so a queued run's wait does not count)."""
    start = time.perf_counter()
    if threads:
        import torch

        torch.set_num_threads(threads)
    from ..io import RunFolder
    from ..runner import resume_inversion, run_inversion

    folder = RunFolder(Path(out) / run.path)
    if folder.holds_run():
        result = resume_inversion(folder.path, overrides=[f"inversion.iterations={run.iterations}"],
                                  device=device, progress=False)
    else:
        if folder.path.is_dir() and any(folder.path.iterdir()):
            # Leftovers of a run that died before writing its config: nothing to resume.
            shutil.rmtree(folder.path)
        result = run_inversion(config_from_dict(run.data), folder.path, device=device,
                               progress=False)
    return result.metrics, time.perf_counter() - start


def parse_devices(text: str) -> list[str]:
    """``"cuda:0,cuda:1"`` → the devices a sweep spreads its runs over; ``cpu`` and ``cuda:N``
    (N below this machine's GPU count), each may repeat (two runs at once on one device).
    ConfigError (one line) otherwise."""
    import torch

    devices = [d.strip() for d in str(text).split(",") if d.strip()]
    if not devices:
        raise ConfigError("--devices needs a comma-separated list, e.g. cuda:0,cuda:1")
    count = torch.cuda.device_count()
    for device in devices:
        index = device.partition(":")[2]
        if device == "cpu":
            continue
        if not (device.startswith("cuda:") and index.isdigit()):
            raise ConfigError(f"--devices: {device!r} is not cpu or cuda:N")
        if int(index) >= count:
            raise ConfigError(f"--devices: {device} does not exist here ({count} CUDA "
                              f"device{'s' if count != 1 else ''})")
    return devices


def _execute_on(run: SweepRun, out: str, free, threads: int) -> tuple[dict, float, str]:
    """:func:`_execute` on a device taken from the shared queue ``free`` and given back after,
    so that each device runs as many runs at once as it is listed in ``--devices``."""
    device = free.get()
    try:
        return (*_execute(run, out, device, threads), device)
    finally:
        free.put(device)


def run_sweep(sweep: Sweep, *, jobs: int = 1, device: str = "auto", progress: bool = True,
              only: str | None = None, log=print, devices: list[str] | None = None) -> dict:
    """Run every run of ``sweep`` not yet done; returns the status of each run (also written to
    ``OUT/sweep.json`` after every run).

    ``devices``: spread the runs over these devices (:func:`parse_devices`), one run at a time per
    entry (``jobs`` becomes their number); each run's status records its device.
    """
    if devices:
        jobs = len(devices)
    sweep.out.mkdir(parents=True, exist_ok=True)
    status_path = sweep.out / "sweep.json"
    status: dict = {"name": sweep.name, "runs": {}}
    todo = []
    for run in sweep.runs:
        if only and only not in run.key:
            continue
        done, stale = run_state(sweep, run)
        if done is not None:
            status["runs"][run.key] = {"state": "done", "ssim": done.get("ssim"), "mse": done.get("mse")}
            if stale:
                # Kept, not re-run: the user decides (remove its folder and summary to re-run it).
                status["runs"][run.key]["stale"] = stale
                log(f"stale  {run.key}: done under {'; '.join(stale)}")
        else:
            todo.append(run)
    total = len(todo)
    log(f"sweep {sweep.name}: {len(sweep.runs)} runs, {len(sweep.runs) - total if not only else 'some'} "
        f"already done, {total} to run with {jobs} job(s) -> {sweep.out}")
    bar = None
    if progress and total:
        import sys

        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=sweep.name, unit="run", file=sys.stderr, dynamic_ncols=True)
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0

    def finished(run: SweepRun, metrics: dict | None, seconds: float, error: str | None,
                 on: str | None = None) -> None:
        if error is None:
            status["runs"][run.key] = {"state": "done", "ssim": metrics["ssim"], "mse": metrics["mse"],
                                       "seconds": round(seconds, 1)}
            if on is not None:
                status["runs"][run.key]["device"] = on
            if sweep.summaries is not None:
                _copy_summary(sweep.out / run.path, sweep.summaries / run.path)
            log(f"done   {run.key}: SSIM {metrics['ssim']:.4f} MSE {metrics['mse']:.4f} "
                f"({seconds:.0f} s)")
        else:
            status["runs"][run.key] = {"state": "failed", "error": error}
            log(f"FAILED {run.key}: {error.strip().splitlines()[-1]}")
        status_path.write_text(json.dumps(status, indent=1))
        if bar is not None:
            bar.update(1)

    try:
        if devices and todo:
            import multiprocessing

            # Each process takes a free device from the queue for one run, then gives it back.
            with multiprocessing.Manager() as manager, \
                    ProcessPoolExecutor(max_workers=jobs) as pool:
                free = manager.Queue()
                for name in devices:
                    free.put(name)
                pending = {pool.submit(_execute_on, run, str(sweep.out), free, threads): run
                           for run in todo}
                while pending:
                    ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in ready:
                        run = pending.pop(future)
                        try:
                            metrics, seconds, on = future.result()
                            finished(run, metrics, seconds, None, on)
                        except Exception:  # noqa: BLE001
                            finished(run, None, 0.0, traceback.format_exc())
        elif jobs <= 1:
            for run in todo:
                start = time.perf_counter()
                try:
                    finished(run, *_execute(run, str(sweep.out), device, 0), None)
                except (KeyboardInterrupt, RunInterrupted):
                    raise  # Ctrl-C / SIGTERM stop the sweep (the run is resumable), not just one run
                except Exception:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
                    finished(run, None, time.perf_counter() - start, traceback.format_exc())
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                pending = {}
                for run in todo:
                    pending[pool.submit(_execute, run, str(sweep.out), device, threads)] = run
                while pending:
                    ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in ready:
                        run = pending.pop(future)
                        try:
                            finished(run, *future.result(), None)
                        except Exception:  # noqa: BLE001
                            finished(run, None, 0.0, traceback.format_exc())
    finally:
        if bar is not None:
            bar.close()
        status_path.write_text(json.dumps(status, indent=1))
    return status
