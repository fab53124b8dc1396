"""Memory a run needs, estimated from its sizes before anything large is allocated.

:func:`estimate_memory_bytes` adds up the arrays a run cannot do without, from the grid, survey
and solver settings alone; :func:`check_memory` compares them with the memory available and
refuses a run that cannot fit, naming the config keys that shrink the largest part. Without the
check a run with ``survey.nt = 1e8`` spends tens of seconds allocating before it fails with an
allocator traceback, and ``nt = 1e20`` overflows inside torch.

The estimate is deliberately a *lower bound*: it counts only the large arrays (float32 data and
wavefields, float64 models) and none of the solver's working buffers, caches or the autograd
graph, so a refusal is certain to be right (the run could not have fitted) while a run near the
limit may still run out of memory. The terms:

* velocity models: the true and the initial model, float64 while they are built (nz·nx·8 each,
  nz·ny·nx·8 in 3-D);
* receiver locations: deepwave's int64 ``[shot, receiver, 2]`` index tensor (16 bytes a pair;
  3-D: ``[shot, receiver, 3]``);
* source wavelet: ``nt`` float64 samples;
* observed data: ``n_shots × n_receivers × nt`` float32, kept for the whole run;
* forward wavefields: the observed data are simulated with every shot at once; deepwave's
  scalar propagator keeps 6 padded wavefields per shot in 2-D, 8 in 3-D
  (deepwave.estimate_memory's count);
* wavefield history: what deepwave stores for the backward pass of one solver call, per shot
  of a chunk (``physics.shot_chunk``, else the shots of a step): one padded wavefield
  (nz + PML + FD halo) × (nx + …) (× (ny + …) in 3-D) every
  ``physics.gradient_sampling_interval`` steps of ``survey.nt``, divided by
  ``physics.checkpoint_segments``; float32, or 1 byte a value with
  ``physics.storage_compression``; kept in device memory (``storage = "device"``), host memory
  (``"cpu"``) or neither (``"disk"``, ``"none"``). This is the term deepwave.estimate_memory
  calls ``backward_storage_bytes``.

:mod:`crfwi.experiment` checks all but the wavefield history when it builds an experiment,
before the models are made (so ``nt = 1e8`` is refused at once rather than after seconds of
building a 0.8 GB wavelet), and everything before the run's first simulation. The history is
left out of the first check because only computing a gradient needs it: tests and reports build
paper-scale experiments on machines where that history would not fit.

:func:`plan_shot_chunk` turns a memory budget (``crfwi invert --max-memory 8GiB``) into the most
shots per solver call that fit it, or a refusal that names the setting that would make the run
fit; :func:`parse_size` reads the budget.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["MemoryTerm", "MemoryEstimate", "estimate_memory_bytes", "available_memory_bytes",
           "check_memory", "GRADIENT_TERMS", "parse_size", "plan_shot_chunk"]

FLOAT32 = 4
FLOAT64 = 8
FORWARD_WAVEFIELDS = 6  # deepwave's 2-D scalar propagator: 2 + 2 * ndim wavefields per shot


def forward_wavefields(ndim: int) -> int:
    """Padded wavefields deepwave's scalar propagator keeps per shot: 2 + 2 * ndim (2-D: 6,
    3-D: 8; deepwave.estimate_memory's table)."""
    return 2 + 2 * ndim

HISTORY = "wavefield history for the gradient"
GRADIENT_TERMS = (HISTORY,)  # needed only when a gradient is computed


@dataclass(frozen=True)
class MemoryTerm:
    """One part of the estimate: what it is, its size, where it lives ("host" or "device") and
    which config keys make it smaller (``advice``, for the message)."""

    what: str
    bytes: int
    where: str
    advice: str


@dataclass(frozen=True)
class MemoryEstimate:
    terms: tuple[MemoryTerm, ...]

    def total(self, where: str | None = None) -> int:
        return sum(t.bytes for t in self.terms if where is None or t.where == where)

    def without(self, names: tuple[str, ...]) -> "MemoryEstimate":
        return MemoryEstimate(tuple(t for t in self.terms if t.what not in names))


def estimate_memory_bytes(*, nz: int, nx: int, nt: int, n_shots: int, n_receivers: int,
                          ny: int = 0, shots_at_once: int | None = None, pml_width: int = 20,
                          free_surface: bool = True, accuracy: int = 8,
                          gradient_sampling_interval: int = 1, checkpoint_segments: int = 0,
                          storage: str = "device", storage_compression: bool = False,
                          device: str = "cpu") -> MemoryEstimate:
    """A lower bound on the memory of a run (see the module docstring for each term).

    ``shots_at_once`` is the most shots in one gradient computation (default ``n_shots``);
    ``device`` "cpu" or "cuda" decides which terms live in device memory (on "cpu" everything
    is host memory). ``ny`` > 0: a 3-D grid ``[nz, ny, nx]`` (issue 15): every wavefield is
    padded along y as along x, the scalar propagator keeps 8 of them per shot (2-D: 6) and a
    receiver's location is 3 indices. Plain integer arithmetic: any size can be estimated,
    however absurd.
    """
    on_gpu = str(device).startswith("cuda")
    data_where = "device" if on_gpu else "host"
    at_once = n_shots if not shots_at_once else min(shots_at_once, n_shots)
    ndim = 3 if ny else 2
    cells = nz * nx * (ny or 1)
    # Padding as deepwave adds it: the PML on every side but a free surface, plus the
    # finite-difference halo of accuracy / 2 cells on each side.
    pml_z = pml_width * (1 if free_surface else 2)
    padded = (nz + pml_z + accuracy) * (nx + 2 * pml_width + accuracy)
    if ny:
        padded *= ny + 2 * pml_width + accuracy
    stored_steps = math.ceil(nt / gradient_sampling_interval)
    history = at_once * padded * stored_steps * (1 if storage_compression else FLOAT32)
    history //= max(1, checkpoint_segments)
    history_where = {"device": data_where, "cpu": "host"}.get(storage)
    shots = "fewer shots (survey.n_shots, survey.shots or data.shots)"
    grid = (f"a smaller grid (model.nz, {'model.ny, ' if ny else ''}model.nx, or a larger "
            "model.spacing)")
    terms = [
        MemoryTerm("velocity models", 2 * cells * FLOAT64, "host", f"use {grid}"),
        MemoryTerm("receiver locations", n_shots * n_receivers * ndim * 8, data_where,
                   f"use {shots} or a larger survey.receiver_spacing"),
        MemoryTerm("source wavelet", nt * FLOAT64, "host", "lower survey.nt"),
        MemoryTerm("observed data", n_shots * n_receivers * nt * FLOAT32, data_where,
                   f"lower survey.nt, or use {shots} or a larger survey.receiver_spacing"),
        MemoryTerm("forward wavefields", n_shots * padded * forward_wavefields(ndim) * FLOAT32,
                   data_where, f"use {shots}, {grid} or a smaller survey.pml_width"),
    ]
    if history_where is not None:
        terms.append(MemoryTerm(
            HISTORY, history, history_where,
            "lower survey.nt, simulate fewer shots at once (physics.shot_chunk, "
            "inversion.shots_per_iteration), or raise physics.checkpoint_segments or "
            "physics.gradient_sampling_interval"))
    return MemoryEstimate(tuple(terms))


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory_bytes(where: str = "host", device: str = "cpu") -> int | None:
    """Memory free for a new run: host memory (psutil if installed, else /proc/meminfo's
    MemAvailable) or, for ``where = "device"``, the CUDA device's free memory. None when it
    cannot be told (then nothing is refused)."""
    if where == "device":
        import torch

        if not (str(device).startswith("cuda") and torch.cuda.is_available()):
            return None
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        import psutil  # type: ignore[import-not-found]
    except ImportError:
        return _meminfo_available()
    return int(psutil.virtual_memory().available)


def _size(n: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            value = n / scale
            if value < 1e3:
                return f"{value:.3g} {unit}"
            return f"{value:,.0f} {unit}" if value < 1e6 else f"{value:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"


def check_memory(estimate: MemoryEstimate, device: str = "cpu", *,
                 available: dict[str, int | None] | None = None) -> None:
    """Raise ConfigError (one line) when the estimate exceeds the memory available, in host or
    device memory, naming the largest part and the keys that shrink it. ``available``
    overrides the measured free memory per place (for tests)."""
    from .config import ConfigError

    for where in ("device", "host"):
        need = estimate.total(where)
        if not need:
            continue
        free = available.get(where) if available is not None else \
            available_memory_bytes(where, device)
        if free is None or need <= free:
            continue
        largest = max((t for t in estimate.terms if t.where == where), key=lambda t: t.bytes)
        place = "GPU" if where == "device" else "host"
        raise ConfigError(
            f"not enough memory: the run needs at least {_size(need)} of {place} memory and "
            f"{_size(free)} is free; the {largest.what} alone takes {_size(largest.bytes)}: "
            f"{largest.advice}")


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str | int | float) -> int:
    """Bytes of a size such as ``8GiB``, ``512 MiB``, ``16GB``, ``8G`` or ``2e9``: KiB/MiB/GiB/TiB
    and the bare K/M/G/T (as SLURM's ``--mem``) are powers of 1024, kB/MB/GB/TB of 1000."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(f"cannot read the size {text!r}; write it as 8GiB, 512MiB, 16GB or "
                             "a number of bytes")
        value, unit = float(match.group(1)), match.group(2).lower()
    size = value * _UNITS[unit]
    if not (math.isfinite(size) and size >= 1):
        raise ValueError(f"a size must be at least one byte, got {text!r}")
    return int(size)


def _first(candidates: list[int], fits: Callable[[int], bool]) -> int | None:
    """The first candidate that fits, for ``fits`` false then true along ``candidates``."""
    lo, hi = 0, len(candidates)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(candidates[mid]) else (mid + 1, hi)
    return candidates[lo] if lo < len(candidates) else None


def plan_shot_chunk(estimate: Callable[[dict], MemoryEstimate], budget: int, *, most: int,
                    nt: int, physics: dict) -> int:
    """The most shots per solver call, 1..``most``, whose estimate fits ``budget`` bytes.

    ``estimate(changes)`` is the run's :class:`MemoryEstimate` with the ``physics`` settings in
    ``changes`` (e.g. ``{"shot_chunk": 4}``); the budget holds where the wavefield history
    lives (the GPU, or the host with ``storage = "cpu"``; the data's place when nothing is
    stored). ``physics`` holds the current settings, ``nt`` the time steps. When one shot does
    not fit either, raise ConfigError naming a setting that would make it fit: 8-bit storage
    compression, the smallest gradient sampling interval (a divisor of nt) or number of
    checkpoint segments that fits, else the largest part that cannot shrink with the chunk.
    """
    from .config import ConfigError

    probe = estimate({"shot_chunk": 1})
    history = [t.where for t in probe.terms if t.what == HISTORY]
    where = history[0] if history else ("device" if probe.total("device") else "host")

    def fits(**changes) -> bool:
        return estimate({"shot_chunk": 1, **changes}).total(where) <= budget

    if estimate({"shot_chunk": most}).total(where) <= budget:
        return most
    if fits():
        return _first(list(range(most, 0, -1)),
                      lambda c: estimate({"shot_chunk": c}).total(where) <= budget)
    options = []
    if not physics.get("storage_compression") and history and fits(storage_compression=True):
        options.append("physics.storage_compression = true")
    interval = [k for k in range(int(physics.get("gradient_sampling_interval", 1)) + 1, nt + 1)
                if nt % k == 0]
    segments = list(range(max(2, int(physics.get("checkpoint_segments", 0)) + 1), nt + 1))
    for key, candidates in (("gradient_sampling_interval", interval),
                            ("checkpoint_segments", segments)):
        found = _first(candidates, lambda k: fits(**{key: k})) if history else None
        if found is not None:
            options.append(f"physics.{key} = {found}")
    place = "GPU" if where == "device" else "host"
    need = probe.total(where)
    head = (f"--max-memory {_size(budget)} is too small: even one shot per solver call "
            f"(physics.shot_chunk = 1) needs at least {_size(need)} of {place} memory")
    if options:
        raise ConfigError(f"{head}; it fits with {', '.join(options[:-1])}"
                          f"{' or ' if len(options) > 1 else ''}{options[-1]} (--set KEY=VALUE), "
                          "or with a smaller survey.nt or grid")
    fixed = [t for t in probe.terms if t.where == where and t.what != HISTORY]
    largest = max(fixed, key=lambda t: t.bytes) if fixed else None
    tail = (f"; the {largest.what} alone take {_size(largest.bytes)}: {largest.advice}"
            if largest else "")
    raise ConfigError(f"{head}{tail}")
