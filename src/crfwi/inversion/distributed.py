"""Shot-parallel inversion on torch.distributed: ranks, the gradient sum, agreement, the launcher.

One inversion runs as N identical processes ("ranks"). Every rank holds the same m_θ and Adam
state; each iteration's shot batch (:func:`crfwi.inversion.loop.shot_batch`, the same on every rank) is
split into N contiguous, balanced blocks (:func:`partition`); each rank computes the misfit and
∂J/∂m of its block, and one ``all_reduce`` (SUM) of ``[∂J/∂m, loss, failed]`` gives every rank
the full-batch gradient of the velocity grid. Every rank then back-propagates that gradient
through its own copy of m_θ and takes the same Adam step, so θ never has to be sent: the model
gradient is nz·nx numbers however large the network is. A regulariser is added after the sum,
on every rank's own copy, so it counts once.

Why agreement everywhere: a collective that one rank never reaches hangs the others until the
process-group timeout. So every stage that may fail on one rank only is run as a *phase* that all
ranks finish and then agree on (:meth:`Ranks.together`, :meth:`Ranks.on_root`, the ``failed``
entry of the gradient sum, :meth:`Ranks.end_iteration`): if any rank failed, every rank raises
:class:`RankFailed` naming the first failing rank and its error, rank 0 prints that one line and
all exit (``CRFWI_DIST_TRACEBACK=1``: the failing rank also prints its traceback). The
process-group timeout (``CRFWI_DIST_TIMEOUT`` seconds, default 1800) is only the backstop for a
rank that dies without a word where gloo/NCCL do not notice the closed connection: it must exceed
the longest gap between two collectives (rank 0's data simulation, figures or NTK records).

Roles: only rank 0 reads the config and writes the run folder, progress bar, metrics and
checkpoints; the others never touch the folder (they get the config, the checkpoint and the
observed data from rank 0; like rank 0 they read the model zoo's files to build the experiment).

Observed data: rank 0 makes them as one process does (noise and filters need every shot, and
the data then do not depend on the rank count) and sends them: every shot when the batches
change every iteration (a rank may need any shot), else each rank only its fixed block. Measured
on 2 CPU ranks (48 × 96 grid, 16 shots, nt 400): simulating on rank 0 and broadcasting took
0.26 s, every rank simulating all 0.38 s (the ranks compete for cores) and needs every shot's
forward wavefields on every rank; simulating blocks and gathering them (0.22 s) would save
little and need the noise, low-cut and data record redone outside crfwi.experiment. It happens
once per run; the cost kept is rank 0's memory for all shots' forward wavefields, once.

:func:`launch` is ``crfwi invert --nproc N``: it starts N ``python -m crfwi`` processes with the
environment torchrun gives its workers (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT), so a
local launch and ``torchrun -m crfwi`` run the same code. It is a small subprocess launcher rather
than torch.multiprocessing (nothing is pickled; the workers are what torchrun would start) or
the elastic agent (which restarts workers and prints multi-line failure reports, where crfwi
wants one line and a resumable checkpoint).
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Sequence

import torch

__all__ = ["Ranks", "RankFailed", "partition", "in_worker", "init", "launch", "optimizer_tensors",
           "tensor_checksum", "ENV_TIMEOUT", "DEFAULT_TIMEOUT_S"]

ENV_TIMEOUT = "CRFWI_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0
# Errors the CLI reports in one line as they are (exit 2, or 1 for FloatingPointError): raised
# unchanged on rank 0 when rank 0 is the one that failed.
_REPORTED_AS_IS = (ValueError, FileNotFoundError, FloatingPointError)


class RankFailed(RuntimeError):
    """A rank failed; raised on every rank. ``rank`` is the first failing rank; ``report`` is
    True on the one rank that should print the line (rank 0, or a rank that lost contact)."""

    def __init__(self, rank: int, message: str, *, report: bool) -> None:
        super().__init__(f"rank {rank} failed: {message}")
        self.rank = rank
        self.report = report


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = re.sub(r"^\[[^\]]*\]\s*", "", text[0]) if text else ""  # gloo's "[file.cc:537]"
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def partition(shots: Sequence[int], rank: int, world_size: int) -> list[int]:
    """Rank ``rank``'s block of ``shots``: contiguous blocks whose sizes differ by at most one,
    the larger first (deterministic; a rank gets no shot when there are fewer shots than ranks)."""
    shots = list(shots)
    base, extra = divmod(len(shots), world_size)
    start = rank * base + min(rank, extra)
    return shots[start:start + base + (1 if rank < extra else 0)]


def in_worker() -> bool:
    """True in a process started by torchrun or :func:`launch` with more than one rank."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


class Ranks:
    """This process's place in the group, and the few collectives an inversion needs.

    ``Ranks()`` is the single-process group: every method then runs its argument directly and
    no torch.distributed call is made, so the runner has one code path.
    """

    def __init__(self, rank: int = 0, world_size: int = 1, *, local_rank: int = 0,
                 device: torch.device | None = None, backend: str = "",
                 timeout_s: float = 0.0) -> None:
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.device = device  # None: the caller's device (single process)
        self.backend = backend
        self.timeout_s = timeout_s
        # Seconds this rank spent in the gradient's all_reduce: the transfer plus the wait for
        # the slowest rank (what shot parallelism costs beyond the simulations).
        self.reduce_seconds = 0.0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def describe(self) -> dict:
        return {"ranks": self.world_size, "backend": self.backend or None,
                "timeout_s": self.timeout_s or None}

    def my_shots(self, shots: Sequence[int]) -> list[int]:
        return partition(shots, self.rank, self.world_size)

    # --- collectives (all ranks call each one, in the same order) ------------------------------
    def _comm(self) -> torch.device:
        return self.device if self.backend == "nccl" else torch.device("cpu")

    def _call(self, collective: Callable, *args, **kwargs):
        """A collective; a failure of the transport itself (a peer died) becomes one line."""
        try:
            return collective(*args, **kwargs)
        except RuntimeError as err:
            raise RankFailed(self.rank, f"lost contact with the other ranks ({_describe(err)})",
                             report=True) from err

    def _fail(self, own: BaseException | None) -> None:
        """Every rank knows that some rank failed: share the messages and raise everywhere."""
        import torch.distributed as dist

        messages: list = [None] * self.world_size
        self._call(dist.all_gather_object, messages, None if own is None else _describe(own))
        first = next(r for r, m in enumerate(messages) if m is not None)
        if own is not None and os.environ.get("CRFWI_DIST_TRACEBACK"):
            import traceback

            traceback.print_exception(own, file=sys.stderr)
        if own is not None and self.is_root and first == 0 and isinstance(own, _REPORTED_AS_IS):
            raise own
        raise RankFailed(first, messages[first], report=self.is_root) from own

    def _any(self, flags: list[float]) -> list[float]:
        import torch.distributed as dist

        values = torch.tensor(flags, dtype=torch.float64, device=self._comm())
        self._call(dist.all_reduce, values, op=dist.ReduceOp.MAX)
        return values.tolist()

    def together(self, fn: Callable[[], object]):
        """Run ``fn`` on every rank (it may do nothing on some); if it raises on any rank, raise
        on all (:class:`RankFailed`). ``fn`` must not call collectives itself."""
        if not self.distributed:
            return fn()
        own, value = None, None
        try:
            value = fn()
        except Exception as err:  # noqa: BLE001 - every failure must be agreed on
            own = err
        if self._any([own is not None])[0]:
            self._fail(own)
        return value

    def on_root(self, fn: Callable[[], object]):
        """Run ``fn`` on rank 0 only and give its (picklable) result to every rank."""
        if not self.distributed:
            return fn()
        import torch.distributed as dist

        payload: list = [None]
        own = None
        if self.is_root:
            try:
                payload[0] = ("ok", fn())
            except Exception as err:  # noqa: BLE001
                own, payload[0] = err, ("failed", _describe(err))
        self._call(dist.broadcast_object_list, payload, src=0)
        status, value = payload[0]
        if status == "failed":
            if own is not None and isinstance(own, _REPORTED_AS_IS):
                raise own
            raise RankFailed(0, value, report=self.is_root) from own
        return value

    def sum_gradient(self, compute: Callable[[], tuple[float, torch.Tensor]],
                     shape: tuple[int, ...]) -> tuple[float, torch.Tensor]:
        """``compute()`` → (loss, ∂J/∂m) of this rank's shots, summed over the ranks by one
        all_reduce (float64, so the sum does not depend on how the shots were split beyond
        float32 rounding of each part). A rank whose ``compute`` raises adds zeros and a failure
        flag; then every rank raises."""
        if not self.distributed:
            return compute()
        import torch.distributed as dist

        numel = int(torch.Size(shape).numel())
        own = None
        try:
            loss, grad = compute()
            tail = torch.tensor([float(loss), 0.0], dtype=torch.float64, device=self._comm())
            buffer = torch.cat([grad.detach().reshape(-1).to(self._comm(), torch.float64), tail])
        except Exception as err:  # noqa: BLE001
            own = err
            buffer = torch.zeros(numel + 2, dtype=torch.float64, device=self._comm())
            buffer[-1] = 1.0
        start = time.perf_counter()
        self._call(dist.all_reduce, buffer, op=dist.ReduceOp.SUM)
        self.reduce_seconds += time.perf_counter() - start
        if float(buffer[-1]) > 0:
            self._fail(own)
        grad = buffer[:numel].to(device=self.device, dtype=torch.float32).reshape(shape)
        return float(buffer[-2]), grad

    def end_iteration(self, *, stop: bool, error: Exception | None,
                      checksum: tuple[float, float] = (0.0, 0.0)) -> tuple[bool, bool]:
        """The iteration's last word, one all_reduce (MAX) of a few flags: stop if any rank was
        asked to (Ctrl-C / SIGTERM reach all ranks; rank 0 then writes the checkpoint), raise
        everywhere if any rank failed after the gradient sum (e.g. rank 0's bookkeeping), and
        whether θ's ``checksum`` agrees on every rank. Returns ``(stop, identical)``."""
        if not self.distributed:
            if error is not None:
                raise error
            return stop, True
        a, b = checksum
        flags = self._any([float(stop), float(error is not None), a, -a, b, -b])
        if flags[1]:
            self._fail(error)
        return bool(flags[0]), flags[2] == -flags[3] and flags[4] == -flags[5]

    def share_shots(self, data: torch.Tensor | None, shape: tuple[int, ...], *,
                    mine: list[int] | None) -> torch.Tensor:
        """Rank 0's observed data ``[shot, receiver, time]`` on every rank: all of them
        (``mine`` None: the batches change every iteration, so a rank may need any shot), or
        only the rank's own block ``mine`` of a fixed :func:`partition` (rank 0 keeps all)."""
        if not self.distributed:
            return data
        import torch.distributed as dist

        comm, dtype = self._comm(), torch.float32
        if mine is None:
            buffer = data.to(comm) if self.is_root else torch.empty(shape, dtype=dtype, device=comm)
            self._call(dist.broadcast, buffer, src=0)
            return buffer.to(self.device)
        blocks = [partition(range(shape[0]), r, self.world_size) for r in range(self.world_size)]
        size = max(len(b) for b in blocks)
        receive = torch.empty((size, *shape[1:]), dtype=dtype, device=comm)
        pieces = None
        if self.is_root:
            pieces = []
            for block in blocks:  # scatter needs equal sizes: pad the shorter blocks
                piece = torch.zeros_like(receive)
                if block:
                    piece[:len(block)] = data[block[0]:block[-1] + 1].to(comm)
                pieces.append(piece)
        self._call(dist.scatter, receive, pieces, src=0)
        return data if self.is_root else receive[:len(mine)].to(self.device)

    def share_state(self, tensors: Sequence[torch.Tensor]) -> None:
        """Copy rank 0's tensors (θ and the optimiser state) into every rank's, in place."""
        if self.distributed:
            import torch.distributed as dist

            for tensor in tensors:
                self._call(dist.broadcast, tensor.data, src=0)

    def close(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """θ and the optimiser's state tensors: what must be the same on every rank."""
    tensors = [p for group in optimizer.param_groups for p in group["params"]]
    for param in list(tensors):
        for value in optimizer.state.get(param, {}).values():
            if torch.is_tensor(value) and value.device == param.device and value.ndim:
                tensors.append(value)
    return tensors


def tensor_checksum(tensors: Sequence[torch.Tensor]) -> tuple[float, float]:
    """Σ and Σ|·| over ``tensors`` in float64: equal on every rank unless they diverged."""
    with torch.no_grad():
        sums = torch.stack([torch.stack([t.double().sum(), t.double().abs().sum()])
                            for t in tensors]).sum(0).tolist()
    return sums[0], sums[1]


def init(device: str = "auto") -> Ranks:
    """Join the process group described by torchrun's environment variables (single process
    when WORLD_SIZE is 1 or unset). gloo on the CPU; nccl with one GPU per rank,
    ``cuda:{LOCAL_RANK}``, for ``device`` "cuda" (or "auto" on a machine with GPUs)."""
    if not in_worker():
        return Ranks()
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    if not dist.is_available():
        raise ValueError("this torch build has no torch.distributed; run with one process")
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        # Every rank of the node checks the node's count (not just its own index), so all of
        # them refuse together instead of the others waiting for the one that cannot start.
        count = torch.cuda.device_count()
        need = max(local + 1, int(os.environ.get("LOCAL_WORLD_SIZE", local + 1)))
        if need > count:
            raise ValueError(f"{need} ranks on this node need one GPU each and it has {count}; "
                             "start at most one process per GPU, or use --device cpu")
        where, backend = torch.device(f"cuda:{local}"), "nccl"
        torch.cuda.set_device(where)
    elif device in ("cpu", "auto"):
        where, backend = torch.device("cpu"), "gloo"
    else:
        raise ValueError(f"--device {device} with several ranks: use cpu, cuda or auto "
                         "(each rank takes the GPU cuda:LOCAL_RANK)")
    try:
        timeout = float(os.environ.get(ENV_TIMEOUT, DEFAULT_TIMEOUT_S))
    except ValueError:
        raise ValueError(f"{ENV_TIMEOUT} must be a number of seconds") from None
    try:
        dist.init_process_group(backend, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout))
    except RuntimeError as err:  # no rendezvous (MASTER_ADDR/PORT unreachable, port taken…)
        raise RankFailed(rank, f"cannot join the process group ({_describe(err)})",
                         report=True) from err
    return Ranks(rank, world, local_rank=local, device=where, backend=backend, timeout_s=timeout)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(argv: Sequence[str], nproc: int, *, grace_s: float = 10.0) -> int:
    """Run ``python -m crfwi ARGV`` as ranks 0..nproc-1 of one group on this machine; return
    rank 0's exit code (1 if another rank failed while rank 0 did not).

    The ranks run in their own session, so a terminal's Ctrl-C reaches only this launcher,
    which forwards each SIGINT/SIGTERM once to every rank (the first asks them to stop after
    the iteration, the second to abort; a third kills them). A rank that exits with an error
    (other than "interrupted", 130) or dies gives the others ``grace_s`` to follow before they
    are killed, so a lost rank never leaves the rest waiting. OMP_NUM_THREADS, when unset,
    becomes the CPU count over ``nproc`` (as torchrun, which sets 1, avoids oversubscription).
    """
    env = dict(os.environ, WORLD_SIZE=str(nproc), LOCAL_WORLD_SIZE=str(nproc),
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    procs = [subprocess.Popen([sys.executable, "-m", "crfwi", *argv], start_new_session=True,
                              env=dict(env, RANK=str(r), LOCAL_RANK=str(r)))
             for r in range(nproc)]
    received = 0

    def forward(signum, frame) -> None:
        nonlocal received
        received += 1
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum if received <= 2 else signal.SIGKILL)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    failed_at, killed = None, set()
    try:
        while any(proc.poll() is None for proc in procs):
            codes = [proc.poll() for proc in procs]
            if failed_at is None and any(c not in (None, 0, 130) for c in codes):
                failed_at = time.monotonic()
            if failed_at is not None and time.monotonic() - failed_at > grace_s:
                killed |= {r for r, proc in enumerate(procs) if proc.poll() is None}
                for rank in killed:
                    procs[rank].kill()
            time.sleep(0.05)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    codes = [proc.returncode for proc in procs]
    for rank, code in enumerate(codes):
        if code < 0 and rank not in killed and received < 3:
            print(f"crfwi: error: rank {rank} was killed by {signal.Signals(-code).name}",
                  file=sys.stderr)
    if codes[0] == 0 and any(codes):
        return 1
    return codes[0] if codes[0] >= 0 else 128 - codes[0]
