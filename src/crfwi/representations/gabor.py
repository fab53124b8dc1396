"""WinFWI (Yang & Ma 2025, Geophysics): a WIRE Gabor-wavelet coordinate network.

Paper App. B.1 / Table 3 (PAPER.md §3.1–3.2): Gabor wavelet activation, ω0 = 5, s0 = 5, "depth 4,
200 neurons". Table 1 gives 60.63K parameters, which is exactly the official WIRE ``INR`` with
``hidden_features=200`` (WIRE divides by sqrt(2) for complex layers: int(200/sqrt(2)) = 141) and
``hidden_layers=3``: a real 2→141 first Gabor layer (423), three complex 141→141 Gabor layers
(3·20,022) and a complex 141→1 linear layer (142) = 60,631, counting a complex entry once as
``numel`` does.

3-D (issue 15, PAPER.md §4.3): the same network with 3 inputs, a real 3→141 first layer (564):
60,772 parameters.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..physics.geometry import Grid
from ..physics.geometry3d import Grid3D
from .base import Representation, register
from .layers import compute_dtype, points_of, zero_linear_

__all__ = ["Gabor", "ComplexLinear", "GaborActivation"]

_COMPLEX_OF = {torch.float16: torch.complex32, torch.float32: torch.complex64,
               torch.float64: torch.complex128}


class ComplexLinear(nn.Linear):
    """A complex ``nn.Linear`` (PyTorch's default init: real and imaginary parts each
    ``U(±1/sqrt(in))``, as in WIRE) that follows the module's *real* precision.

    ``Module.double()``/``.float()`` leave complex parameters alone, and ``.to(torch.float64)``
    would drop their imaginary parts; here any such conversion maps the complex parameters to the
    complex dtype of the converted real precision (float64 → complex128), on the new device.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, dtype=torch.complex64)

    def _apply(self, fn, recurse=True):  # noqa: D401 - torch hook
        def convert(t: torch.Tensor) -> torch.Tensor:
            if not t.is_complex():
                return fn(t)
            # What would ``fn`` do to this tensor's real precision (and device)?
            probe = fn(torch.zeros((), dtype=t.real.dtype, device=t.device))
            if probe.is_complex():
                target = probe.dtype
            elif probe.dtype in _COMPLEX_OF:
                target = _COMPLEX_OF[probe.dtype]
            else:
                raise TypeError(f"complex Gabor layers have no complex counterpart of {probe.dtype}")
            return t.to(device=probe.device, dtype=target)

        return super()._apply(convert, recurse)


class GaborActivation(nn.Module):
    """WIRE's complex Gabor wavelet ``exp(1j·ω0·y − |s0·y|²)`` of a (real or complex) input ``y``.

    ``|s0·y|²`` is written as ``Re² + Im²`` -- the same function as WIRE's
    ``(s0*y).abs().square()`` but smooth at ``y = 0`` (``abs`` of a complex number is not).
    """

    def __init__(self, omega0: float, sigma0: float) -> None:
        super().__init__()
        self.omega0 = float(omega0)
        self.sigma0 = float(sigma0)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        scaled = self.sigma0 * y
        if y.is_complex():
            gauss = scaled.real.square() + scaled.imag.square()
        else:
            gauss = scaled.square()
        return torch.exp(1j * self.omega0 * y - gauss)

    def extra_repr(self) -> str:
        return f"omega0={self.omega0:g}, sigma0={self.sigma0:g}"


@register("gabor", paper="WinFWI")
class Gabor(Representation):
    """WIRE Gabor INR: real first layer, complex hidden Gabor layers, complex linear output; the
    perturbation is the real part of the output (as WIRE returns ``output.real``).

    Output: the velocity perturbation in km/s (``output_scale = 1000`` turns it into m/s).

    Args:
        grid: the model grid (2-D or 3-D; gives the input dimension).
        hidden_features: the *nominal* width (paper: 200, Table 3); the complex layers have
            ``int(hidden_features / sqrt(2))`` features, as WIRE does to keep the real count close.
        hidden_layers: complex Gabor layers after the first (paper "depth 4" → 3, WIRE convention,
            checked by the 60,631 count).
        omega0: ω0 of the Gabor wavelets (paper: 5, Table 3).
        sigma0: s0, the Gaussian width factor (paper: 5, Table 3).
        zero_init_output: zero the complex output layer so F ≡ 0 at init (m_θ = m0); reachable.
            The paper does not say it does this.

    WIRE's ω0/s0 are non-trainable buffers here (WIRE stores them as frozen ``nn.Parameter``s,
    which the paper's count excludes).
    """

    output_scale = 1000.0  # km/s → m/s; PAPER.md §9.1 (to be tuned)
    learning_rate = 1e-4  # paper App. B.1: Adam lr 1e-4 for every CR-FWI method

    def __init__(self, grid: Grid | Grid3D, *, hidden_features: int = 200, hidden_layers: int = 3,
                 omega0: float = 5.0, sigma0: float = 5.0, zero_init_output: bool = False) -> None:
        super().__init__(grid)
        width = int(hidden_features / math.sqrt(2))  # WIRE: complex width = nominal / sqrt(2)
        if width < 1:
            raise ValueError(f"`hidden_features` must be >= 2, got {hidden_features}")
        self.first = nn.Linear(self.spatial_dim, width)  # real → the first Gabor activation makes it complex
        self.hidden = nn.ModuleList(ComplexLinear(width, width) for _ in range(hidden_layers))
        self.out = ComplexLinear(width, 1)
        self.activation = GaborActivation(omega0, sigma0)
        if zero_init_output:
            zero_linear_(self.out)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        points = points_of(coords, compute_dtype(self), self.spatial_dim)
        h = self.activation(self.first(points))
        for layer in self.hidden:
            h = self.activation(layer(h))
        out = self.out(h).real
        return out.reshape(coords.shape[:-1]).to(coords.dtype)
