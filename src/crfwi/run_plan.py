"""What a run plans and checks before it simulates anything: the shot chunk that fits a memory
budget (``crfwi invert --max-memory``) and the whole build of a run on the CPU without its
observed data (``crfwi invert --nproc N`` refuses bad input this way before it starts a process).
"""

from __future__ import annotations

import dataclasses

import torch

from . import resources
from .config import RunConfig
from .experiment import build_experiment, build_grid_and_true_model, memory_estimate, shot_count
from .inversion.distributed import Ranks
from .inversion.loop import make_optimizer

__all__ = ["plan_shot_chunk", "batch_size", "with_budget", "check_run"]


def plan_shot_chunk(config: RunConfig, budget: int, *, device: str = "cpu", ranks: int = 1,
                    grid=None) -> int:
    """The largest ``physics.shot_chunk`` whose estimated memory fits ``budget`` bytes in one
    process (:func:`crfwi.resources.estimate_memory_bytes`: the observed data, the forward
    wavefields of the data simulation and the wavefield history of one chunk's gradient, on
    the GPU for ``device`` "cuda", else in host memory); 0 (all shots at once) when a whole
    share of a step fits. With ``ranks`` processes each simulates ⌈batch / ranks⌉ shots a
    step. Raises ConfigError naming the settings that would make the run fit when even one
    shot at a time does not (:func:`crfwi.resources.plan_shot_chunk`)."""
    if grid is None:
        grid, _ = build_grid_and_true_model(config)
    cuda = str(device).startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    share = -(-batch_size(config) // max(1, ranks))

    def estimate(physics: dict) -> resources.MemoryEstimate:
        changed = dataclasses.replace(config, physics=dataclasses.replace(config.physics, **physics))
        return memory_estimate(changed, grid, device="cuda" if cuda else "cpu")

    chunk = resources.plan_shot_chunk(estimate, budget, most=share, nt=shot_count(config)[2],
                                      physics=dataclasses.asdict(config.physics))
    return 0 if chunk >= share else chunk


def batch_size(config: RunConfig) -> int:
    inv = config.inversion
    n_shots = shot_count(config)[0]  # a field run's from the file's headers
    return inv.shots_per_iteration if 0 < inv.shots_per_iteration < n_shots else n_shots


def with_budget(config: RunConfig, max_memory: int | None, device: str, ranks: Ranks) -> RunConfig:
    if not max_memory:
        return config
    chunk = plan_shot_chunk(config, max_memory, device=device, ranks=ranks.world_size)
    return dataclasses.replace(config, physics=dataclasses.replace(config.physics, shot_chunk=chunk))


def check_run(config: RunConfig, *, max_memory: int | None = None, device: str = "auto",
              ranks: int = 1) -> RunConfig:
    """What a run checks before it simulates anything (model, survey, method, representation,
    misfit, regulariser, memory, the ``max_memory`` plan), built on the CPU without the observed
    data: ``crfwi invert --nproc N`` refuses bad input this way before it starts a process.
    Returns ``config`` with the planned ``physics.shot_chunk``."""
    config = with_budget(config, max_memory, device, Ranks(world_size=ranks))
    experiment = build_experiment(config, device="cpu", estimate=False)
    model = experiment.velocity_model()
    make_optimizer(model, lr=config.inversion.lr or None, grid_lr=config.inversion.grid_lr or None)
    experiment.misfit()
    experiment.regularizer()
    return config
