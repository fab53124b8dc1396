"""Small building blocks shared by the continuous representations.

* :class:`SineLayer` and :func:`sine_network`: SIREN layers (Sitzmann et al., NeurIPS 2020), used by
  IFWI (``siren``), the 1-D factor networks of LR-FWI (``lowrank``) and the sine branch of IG-FWI.
* :func:`siren_linear`: SIREN's linear output layer (``outermost_linear=True`` in the SIREN code).
* :func:`relu_mlp`: the compact ReLU decoder of MPE-FWI / the fusion MLP of IG-FWI.
* :func:`points_of` / :func:`compute_dtype`: flatten ``[nz, nx, 2]`` (2-D) or ``[nz, ny, nx, 3]``
  (3-D) coordinates to one batch of points in the parameters' precision.
* :func:`coord_dim`: the spatial dimension (2 or 3) of such a coordinate tensor.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SineLayer", "sine_network", "siren_linear", "relu_mlp", "zero_linear_",
           "points_of", "coord_dim", "compute_dtype"]


class SineLayer(nn.Module):
    """``sin(ω0 · (W x + b))`` with the SIREN initialisation.

    Weights: the first layer ``U(-1/in, 1/in)``, the others ``U(±sqrt(6/in)/ω0)``, so that the
    pre-activations stay ~N(0, 1)-distributed through depth (Sitzmann et al. 2020, Sec. 3.2).
    Biases keep PyTorch's default ``U(±1/sqrt(in))``, as in the SIREN reference code.

    Args:
        in_features, out_features: widths.
        omega0: frequency factor ω0.
        is_first: use the first-layer initialisation.
    """

    def __init__(self, in_features: int, out_features: int, *, omega0: float, is_first: bool) -> None:
        super().__init__()
        self.omega0 = float(omega0)
        self.is_first = bool(is_first)
        self.linear = nn.Linear(in_features, out_features)
        bound = 1.0 / in_features if is_first else math.sqrt(6.0 / in_features) / self.omega0
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega0 * self.linear(x))

    def extra_repr(self) -> str:
        return f"omega0={self.omega0:g}, is_first={self.is_first}"


def sine_network(in_features: int, hidden_features: int, n_layers: int, *, omega0: float) -> nn.Sequential:
    """``n_layers`` SIREN sine layers ``in → hidden → … → hidden`` (no output layer)."""
    if n_layers < 1:
        raise ValueError(f"a sine network needs at least one layer, got {n_layers}")
    layers = [SineLayer(in_features, hidden_features, omega0=omega0, is_first=True)]
    layers += [SineLayer(hidden_features, hidden_features, omega0=omega0, is_first=False)
               for _ in range(n_layers - 1)]
    return nn.Sequential(*layers)


def siren_linear(in_features: int, out_features: int, *, omega0: float) -> nn.Linear:
    """A linear output layer with SIREN's hidden-layer weight bound ``sqrt(6/in)/ω0``."""
    layer = nn.Linear(in_features, out_features)
    bound = math.sqrt(6.0 / in_features) / float(omega0)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound)
    return layer


def relu_mlp(in_features: int, hidden_features: int, hidden_layers: int, out_features: int = 1) -> nn.Sequential:
    """``in → hidden (ReLU) → … → hidden (ReLU) → out`` with PyTorch's default initialisation."""
    if hidden_layers < 0:
        raise ValueError(f"`hidden_layers` must be >= 0, got {hidden_layers}")
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_features), nn.ReLU()]
        width = hidden_features
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


@torch.no_grad()
def zero_linear_(layer: nn.Linear) -> None:
    """Zero a linear layer's weight and bias in place (so the network's output is 0 at init)."""
    layer.weight.zero_()
    if layer.bias is not None:
        layer.bias.zero_()


def coord_dim(coords: torch.Tensor, expected: int | None = None) -> int:
    """The spatial dimension d of grid coordinates ``[nz, nx, 2]`` (d = 2) or ``[nz, ny, nx, 3]``
    (d = 3): a tensor of ``d + 1`` axes whose last axis has length d.

    Raises ``ValueError`` naming the argument when the shape is neither, or when ``expected`` is
    given and differs (a representation built on a 2-D grid given 3-D coordinates, or the reverse).
    """
    d = coords.shape[-1] if coords.dim() > 0 else 0
    if d not in (2, 3) or coords.dim() != d + 1:
        raise ValueError(f"`coords` must be [nz, nx, 2] or [nz, ny, nx, 3], got shape {tuple(coords.shape)}")
    if expected is not None and d != expected:
        want = "[nz, nx, 2]" if expected == 2 else "[nz, ny, nx, 3]"
        raise ValueError(f"`coords` must be {want} for a representation built on a {expected}-D grid, "
                         f"got shape {tuple(coords.shape)}")
    return d


def points_of(coords: torch.Tensor, dtype: torch.dtype, dim: int | None = None) -> torch.Tensor:
    """``[nz, nx, 2]`` coordinates → ``[nz*nx, 2]`` points in ``dtype`` (one batch); in 3-D
    ``[nz, ny, nx, 3]`` → ``[nz*ny*nx, 3]``.

    Raises ``ValueError`` naming the argument when the shape is wrong (or not of dimension ``dim``).
    """
    d = coord_dim(coords, dim)
    return coords.reshape(-1, d).to(dtype)


def compute_dtype(module: nn.Module) -> torch.dtype:
    """The real floating dtype of ``module``'s parameters (float32 unless cast with ``.double()``)."""
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
        if p.is_complex():
            return p.real.dtype
    return torch.get_default_dtype()
