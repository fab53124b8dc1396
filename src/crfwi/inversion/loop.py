"""The inversion loop: Adam on θ of m_θ, one generator of immutable states.

Each step renders the model once, simulates a batch of shots, and back-propagates in two stages:

1. the data misfit to the *model* gradient ∂J/∂m, shot chunk by shot chunk, into a detached leaf
   copy of m (so chunks — or processes each holding some shots — just add their parts: with
   ``ranks`` (:class:`crfwi.inversion.distributed.Ranks`) each process takes its block of the batch and one
   ``all_reduce`` sums the parts);
2. ∂J/∂m through the representation to ∂J/∂θ, once (on every process, each holding the same m_θ,
   so all take the same step; the regulariser is added here, once).

The representation (pixel grid or network) is one pluggable part: the loop only sees a
:class:`~crfwi.representations.VelocityModel`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from ..methods import misfits
from ..physics.solver import WaveSolver
from ..representations import VelocityModel

__all__ = ["State", "Inversion", "shot_batch", "make_optimizer"]


@dataclass(frozen=True)
class State:
    """What one completed iteration produced.

    iteration: number of completed iterations (1 after the first step).
    loss: the misfit of this step's shots, scaled by n_shots / batch so batches estimate the
        full-survey objective ½‖G(m) − d‖².
    seconds: wall time of this step.
    shots: the shot indices used.
    """

    iteration: int
    loss: float
    seconds: float
    shots: tuple[int, ...]


def shot_batch(n_shots: int, batch: int, *, seed: int, iteration: int) -> list[int]:
    """The shots of one iteration: all of them, or ``batch`` drawn without replacement.

    The draw depends only on ``(seed, iteration)``, so a resumed run draws exactly the batches
    the uninterrupted run would have, with no random state to save.
    """
    if batch <= 0 or batch >= n_shots:
        return list(range(n_shots))
    rng = np.random.default_rng([seed, iteration])
    return sorted(int(s) for s in rng.choice(n_shots, size=batch, replace=False))


def make_optimizer(model: VelocityModel, *, lr: float | None = None,
                   grid_lr: float | None = None) -> torch.optim.Adam:
    """Adam with one parameter group per kind ("grid" tables, "network" weights).

    ``lr`` defaults to the representation's learning rate (the paper's: 5 for pixel, 1e-4 for
    networks); ``grid_lr`` defaults to ``lr``.
    """
    base = model.representation.learning_rate if not lr else float(lr)
    groups = []
    for name, params in model.parameter_groups().items():
        if params:
            rate = float(grid_lr) if (name == "grid" and grid_lr) else base
            groups.append({"params": params, "lr": rate, "name": name})
    for group in groups:
        if not group["lr"] > 0:
            raise ValueError(f"learning rate of the {group['name']} parameters must be > 0")
    return torch.optim.Adam(groups)


class Inversion:
    """Full-waveform inversion of ``observed`` data for the parameters of ``model``.

    Args:
        model: m_θ (representation + m0 + bounds).
        solver: the forward operator.
        observed: observed data ``[shot, receiver, time]`` on the solver's device.
        optimizer: default :func:`make_optimizer` (Adam).
        misfit: a name from :mod:`crfwi.methods.misfits`, a callable ``(pred, obs) -> scalar``, or an
            iteration-dependent misfit (``needs_iteration = True`` and ``at(i)``: WECI-FWI's
            blend, MS-FWI's bands), evaluated with the iteration's plain misfit.
        shots_per_iteration: 0 = all shots every step; else a random batch per step.
        shot_chunk: simulate at most this many shots per solver call (memory lever; 0 = all).
        seed: seeds the shot batches.
        regularizer: optional ``f(m) -> scalar`` added to the loss, or an iteration-dependent
            one (``needs_iteration = True`` and ``at(i)``, e.g. ADFWI-TV's decaying
            :class:`~crfwi.methods.regularizers.TVSchedule` bound to the grid spacing).
        observed_shots: the shot indices the rows of ``observed`` hold (default all, in order):
            a process of a shot-parallel run may hold only the shots it simulates.
        ranks: a :class:`crfwi.inversion.distributed.Ranks` for shot-parallel runs (None: one process).
    """

    def __init__(self, model: VelocityModel, solver: WaveSolver, observed: torch.Tensor, *,
                 optimizer: torch.optim.Optimizer | None = None,
                 misfit: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = "l2",
                 shots_per_iteration: int = 0, shot_chunk: int = 0, seed: int = 0,
                 regularizer: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 observed_shots: Sequence[int] | None = None, ranks=None) -> None:
        held = None if observed_shots is None else [int(s) for s in observed_shots]
        if held is not None and (len(set(held)) != len(held)
                                 or any(not 0 <= s < solver.n_shots for s in held)):
            raise ValueError(f"`observed_shots` must be distinct indices in 0..{solver.n_shots - 1}")
        count = solver.n_shots if held is None else len(held)
        expected = (count, solver.survey.n_receivers, solver.survey.nt)
        if tuple(observed.shape) != expected:
            raise ValueError(f"`observed` must have shape {expected} [shot, receiver, time], "
                             f"got {tuple(observed.shape)}")
        if not bool(torch.isfinite(observed).all()):
            raise ValueError("`observed` data hold non-finite values")
        if shots_per_iteration < 0 or shot_chunk < 0:
            raise ValueError("`shots_per_iteration` and `shot_chunk` must be >= 0")
        self.model = model
        self.solver = solver
        self.observed = observed
        self.optimizer = optimizer or make_optimizer(model)
        self.misfit = misfits.get(misfit) if isinstance(misfit, str) else misfit
        self.shots_per_iteration = shots_per_iteration
        self.shot_chunk = shot_chunk
        self.seed = seed
        self.regularizer = regularizer
        self.ranks = ranks if ranks is not None and ranks.distributed else None
        self._rows = None if held is None else {s: i for i, s in enumerate(held)}
        self.iteration = 0

    def _misfit_now(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The plain misfit of the current iteration (iteration-dependent ones are stateless, so a
        resumed run evaluates exactly what the uninterrupted one did)."""
        if getattr(self.misfit, "needs_iteration", False):
            return self.misfit.at(self.iteration)
        return self.misfit

    def _regularizer_now(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        if self.regularizer is not None and getattr(self.regularizer, "needs_iteration", False):
            return self.regularizer.at(self.iteration)
        return self.regularizer

    # -----------------------------------------------------------------------------------------
    def model_gradient(self, velocity: torch.Tensor, shots: Sequence[int], *,
                       scale: float | None = None) -> tuple[float, torch.Tensor]:
        """Misfit over ``shots`` (times ``scale``, default n_shots / len(shots): the full
        survey) and its gradient w.r.t. the model.

        The velocity is a plain tensor; this is the unit of work a shot-parallel worker does (on
        its block of a batch, with the batch's scale; no shots gives 0 and a zero gradient).
        """
        leaf = velocity.detach().requires_grad_(True)
        if not shots:
            return 0.0, torch.zeros_like(leaf)
        scale = self.solver.n_shots / len(shots) if scale is None else scale
        size = self.shot_chunk or len(shots)
        misfit = self._misfit_now()
        total = 0.0
        for start in range(0, len(shots), size):
            chunk = list(shots[start:start + size])
            predicted = self.solver.simulate(leaf, chunk, check=False)
            loss = scale * misfit(predicted, self.observed[self._observed_rows(chunk)])
            loss.backward()
            total += float(loss.detach())
            # deepwave keeps a call's wavefield history until its graph node is released; without
            # this the next chunk's simulation runs while it is alive (two chunks' histories at
            # the peak: measured 847 vs 650 MiB on a 3-D toy whose history is 201 MiB).
            del predicted, loss
        return total, leaf.grad

    def _observed_rows(self, shots: list[int]) -> list[int]:
        if self._rows is None:
            return shots
        missing = [s for s in shots if s not in self._rows]
        if missing:
            raise ValueError(f"this process holds no observed data for shot {missing[0]}")
        return [self._rows[s] for s in shots]

    def step(self) -> State:
        """One optimisation step; returns the new (immutable) state."""
        start = time.perf_counter()
        shots = shot_batch(self.solver.n_shots, self.shots_per_iteration, seed=self.seed,
                           iteration=self.iteration)
        self.optimizer.zero_grad(set_to_none=True)
        mine = shots if self.ranks is None else self.ranks.my_shots(shots)
        rendered = []

        def local() -> tuple[float, torch.Tensor]:
            velocity = self.model()
            self.solver.check_velocity(velocity, "the current model")
            rendered.append(velocity)
            return self.model_gradient(velocity, mine, scale=self.solver.n_shots / len(shots))

        if self.ranks is None:
            loss, grad = local()
        else:  # one all_reduce of [∂J/∂m, loss]; every process gets the batch's sum
            loss, grad = self.ranks.sum_gradient(local, tuple(self.solver.grid.shape))
        velocity = rendered[0]
        grad = grad.to(velocity.dtype)
        if not math.isfinite(loss):
            raise FloatingPointError(f"the misfit became {loss} at iteration {self.iteration + 1}; "
                                     "lower the learning rate")
        regularizer = self._regularizer_now()
        if regularizer is not None:
            penalty = regularizer(velocity)
            loss += float(penalty.detach())
            (velocity * grad).sum().add(penalty).backward()
        else:
            velocity.backward(grad)
        self.optimizer.step()
        self.model.project_()
        self.iteration += 1
        return State(iteration=self.iteration, loss=loss, seconds=time.perf_counter() - start,
                     shots=tuple(shots))

    def run(self, iterations: int) -> Iterator[State]:
        """Yield a :class:`State` after each step until ``iterations`` steps are completed in total."""
        while self.iteration < iterations:
            yield self.step()

    # -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"iteration": self.iteration, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
