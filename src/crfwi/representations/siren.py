"""IFWI (Sun et al. 2023, JGR): a SIREN coordinate network F_θ(z, x).

Paper App. B.1 / Table 3 (PAPER.md §3.1–3.2): sine activation, ω0 = 30, "depth 4, 128 neurons".
Table 1 gives 50.05K parameters, which is exactly 4 hidden sine layers 2→128→128→128→128 plus a
128→1 output layer: 384 + 3·16,512 + 129 = 50,049.

3-D (issue 15; PAPER.md §4.3 "the same hyper-parameters and neural structure as 2-D"): the same
network with 3 inputs (z, y, x), 3→128 first layer: 50,177 parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from ..physics.geometry import Grid
from ..physics.geometry3d import Grid3D
from .base import Representation, register
from .layers import SineLayer, compute_dtype, points_of, sine_network, siren_linear, zero_linear_

__all__ = ["Siren"]


@register("siren", paper="IFWI")
class Siren(Representation):
    """SIREN: ``hidden_layers`` sine layers of width ``hidden_features``, then a 1-wide output layer;
    the input dimension is the grid's (2 or 3).

    Output: the velocity perturbation in km/s (``output_scale = 1000`` turns it into m/s).

    Args:
        grid: the model grid (2-D or 3-D; gives the input dimension, the network is resolution-free).
        hidden_features: width of the sine layers (paper: 128, Table 3).
        hidden_layers: number of sine layers (paper: depth 4, Table 3; checked by the 50,049 count).
        omega0: ω0 of every sine layer (paper: 30, Table 3).
        outermost_linear: if True (default) the output layer is linear, SIREN's regression setting
            (Sitzmann et al.), initialised ``U(±sqrt(6/in)/ω0)``; if False it is a sine layer, as in
            ADFWI's ``IRN`` (output bounded to ±1). The parameter count (Table 1) does not tell
            them apart. A linear output lets the perturbation grow without a saturation, which
            suits a perturbation of unknown amplitude.
        zero_init_output: zero the output layer's weight and bias so F ≡ 0 at init (m_θ = m0).
            Reachable with either output type (sin 0 = 0). The paper does not say it does this.
    """

    output_scale = 1000.0  # km/s → m/s; PAPER.md §9.1 (to be tuned)
    learning_rate = 1e-4  # paper App. B.1: Adam lr 1e-4 for every CR-FWI method

    def __init__(self, grid: Grid | Grid3D, *, hidden_features: int = 128, hidden_layers: int = 4,
                 omega0: float = 30.0, outermost_linear: bool = True,
                 zero_init_output: bool = False) -> None:
        super().__init__(grid)
        self.body = sine_network(self.spatial_dim, hidden_features, hidden_layers, omega0=omega0)
        if outermost_linear:
            self.head: nn.Module = siren_linear(hidden_features, 1, omega0=omega0)
            last = self.head
        else:
            self.head = SineLayer(hidden_features, 1, omega0=omega0, is_first=False)
            last = self.head.linear
        if zero_init_output:
            zero_linear_(last)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        points = points_of(coords, compute_dtype(self), self.spatial_dim)
        out = self.head(self.body(points))
        return out.reshape(coords.shape[:-1]).to(coords.dtype)
