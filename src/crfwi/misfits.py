"""Data misfits: one signature, ``misfit(predicted, observed) -> scalar``, both ``[shot, receiver, time]``.

Every misfit sums over the shots it is given, so the loss of a shot batch is the sum of its shots'
losses and gradients from several batches (or processes) simply add up.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["l2", "get", "available", "Misfit"]

Misfit = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check(predicted: torch.Tensor, observed: torch.Tensor) -> None:
    if predicted.shape != observed.shape:
        raise ValueError(f"`predicted` {tuple(predicted.shape)} and `observed` "
                         f"{tuple(observed.shape)} must have the same shape [shot, receiver, time]")


def l2(predicted: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """½ Σ (predicted − observed)², the paper's objective (eq. 2 and eq. 6)."""
    _check(predicted, observed)
    return 0.5 * (predicted - observed).square().sum()


_MISFITS: dict[str, Misfit] = {"l2": l2}


def available() -> list[str]:
    return sorted(_MISFITS)


def get(name: str) -> Misfit:
    """The misfit registered as ``name``; unknown names raise ValueError listing the valid ones."""
    try:
        return _MISFITS[name]
    except KeyError:
        raise ValueError(f"unknown misfit {name!r}; valid: {', '.join(available())}") from None
