"""Conventional FWI (the paper's ADFWI baseline): the model grid itself is the parameter."""

from __future__ import annotations

import torch
from torch import nn

from ..physics.geometry import Grid
from ..physics.geometry3d import Grid3D
from .base import Representation, register


@register("pixel", paper="ADFWI")
class Pixel(Representation):
    """One free perturbation per cell, in m/s, initialised to zero so that m_θ = m0; ``[nz, nx]``
    on a 2-D grid, ``[nz, ny, nx]`` on a 3-D one (the coordinates only give the shape).

    Adam with lr 5 on m/s values is the paper's (and ADFWI's) setting for conventional FWI
    (PAPER.md §3.1), hence ``output_scale = 1`` and ``learning_rate = 5``.
    """

    output_scale = 1.0
    learning_rate = 5.0

    def __init__(self, grid: Grid | Grid3D) -> None:
        super().__init__(grid)
        self.delta = nn.Parameter(torch.zeros(grid.shape))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        if coords.dim() != self.delta.dim() + 1 or tuple(coords.shape[:-1]) != tuple(self.delta.shape):
            raise ValueError(f"pixel representation was built for grid {tuple(self.delta.shape)}, "
                             f"got coordinates of shape {tuple(coords.shape)}")
        return self.delta.to(coords.dtype)

    def grid_tables(self) -> list[nn.Parameter]:
        return [self.delta]

    @torch.no_grad()
    def clip_(self, low: torch.Tensor, high: torch.Tensor) -> None:
        self.delta.copy_(torch.maximum(torch.minimum(self.delta, high), low))
