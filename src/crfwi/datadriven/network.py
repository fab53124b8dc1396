"""An InversionNet-style encoder–decoder (Wu & Lin 2019; OpenFWI's ``InversionNet``), any width.

The layout follows OpenFWI's ``network.InversionNet`` block for block (read from lanl/OpenFWI,
``network.py``), with the sizes derived from the data instead of hard-coded for 1000 × 70:

* input ``[batch, shots, time, receivers]`` (OpenFWI: 5 × 1000 × 70);
* **time squeeze**: a 7×1 convolution with stride 2 in time, then (3×1 stride 2, 3×1) pairs,
  until the time axis is no longer than the receiver axis (1000 → 500 → 250 → 125 → 63);
* three (3×3 stride 2, 3×3) pairs over time and receivers (63 × 70 → 32 × 35 → 16 × 18 → 8 × 9);
* **bottleneck**: one convolution whose kernel covers what is left (8 × 9) → ``[batch, C, 1, 1]``;
* **decoder**: a 5×5 transposed convolution (1 → 5), then (4×4 stride-2 transposed convolution,
  3×3 convolution) pairs doubling the size until it covers the map (5 → 80 for 70 × 70), a
  centre crop to the map, a 3×3 convolution to one channel with batch norm and **tanh**: the
  velocity normalised to [-1, 1] (:mod:`crfwi.datadriven.dataset`).

Every convolution but the last is followed by batch norm and LeakyReLU(0.2), as in OpenFWI.
Channel widths are ``width × (1, 2, 4, 8, 16)``: OpenFWI's full network is ``width = 32``
(24.4 M parameters for 5 × 1000 × 70 → 70 × 70); the CPU default here is ``width = 8``
(1.53 M parameters, :func:`parameter_count`), a scaled-down InversionNet.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["InversionNet", "parameter_count", "OPENFWI_WIDTH", "DEFAULT_WIDTH"]

OPENFWI_WIDTH = 32  # OpenFWI's dim1 (dims 32, 64, 128, 256, 512)
DEFAULT_WIDTH = 8  # the CPU-sized default: a quarter of OpenFWI's channels, 1/16 of its cost


def _conv(c_in: int, c_out: int, kernel=3, stride=1, padding=1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding), nn.BatchNorm2d(c_out),
                         nn.LeakyReLU(0.2, inplace=True))


def _deconv(c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding),
                         nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


def _halve(n: int) -> int:
    """Output length of a stride-2 convolution with 'same' padding: ceil(n / 2)."""
    return (n + 1) // 2


class InversionNet(nn.Module):
    """Seismic data ``[batch, n_shots, nt, n_receivers]`` → velocity ``[batch, 1, nz, nx]`` in
    [-1, 1].

    Args:
        n_shots: input channels (OpenFWI: 5 sources).
        nt: time samples per trace (OpenFWI: 1000).
        n_receivers: receivers per shot (OpenFWI: 70).
        out_shape: ``(nz, nx)`` of the velocity map (OpenFWI: 70 × 70).
        width: channels of the first block; the others are 2, 4, 8 and 16 times it.
    """

    def __init__(self, *, n_shots: int = 5, nt: int = 1000, n_receivers: int = 70,
                 out_shape: tuple[int, int] = (70, 70), width: int = DEFAULT_WIDTH) -> None:
        super().__init__()
        for name, value in (("n_shots", n_shots), ("nt", nt), ("n_receivers", n_receivers),
                            ("width", width)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
        nz, nx = (int(n) for n in out_shape)
        if nz < 1 or nx < 1:
            raise ValueError(f"`out_shape` must be two positive sizes, got {out_shape!r}")
        self.config = dict(n_shots=int(n_shots), nt=int(nt), n_receivers=int(n_receivers),
                           out_shape=(nz, nx), width=int(width))
        d1, d2, d3, d4, d5 = (int(width) * m for m in (1, 2, 4, 8, 16))

        # Time squeeze: OpenFWI's convblock1 .. convblock4_2 (channels d1, d2, d2, d3).
        time, layers = _halve(nt), [_conv(n_shots, d1, (7, 1), (2, 1), (3, 0))]
        channels, c = [d2, d2, d3], d1
        stage = 0
        while time > n_receivers:
            c_out = channels[min(stage, len(channels) - 1)]
            layers += [_conv(c, c_out, (3, 1), (2, 1), (1, 0)), _conv(c_out, c_out, (3, 1), 1, (1, 0))]
            time, c, stage = _halve(time), c_out, stage + 1
        # Space and time together: convblock5 .. convblock7 (channels d3, d4, d4).
        space = n_receivers
        for c_out in (d3, d4, d4):
            layers += [_conv(c, c_out, 3, 2, 1), _conv(c_out, c_out)]
            time, space, c = _halve(time), _halve(space), c_out
        # Bottleneck: convblock8, a kernel over all that is left (8 x 9 for OpenFWI's input).
        layers.append(_conv(c, d5, (time, space), 1, 0))
        self.encoder = nn.Sequential(*layers)

        # Decoder: deconv1 (1 -> 5), then doublings to cover the map (OpenFWI: 4, 5 -> 80).
        ups = max(0, math.ceil(math.log2(max(nz, nx) / 5.0)))
        layers, c, size = [_deconv(d5, d5, 5, 1, 0), _conv(d5, d5)], d5, 5
        for i in range(ups):
            c_out = (d4, d3, d2, d1)[min(i, 3)]  # OpenFWI's deconv2 .. deconv5
            layers += [_deconv(c, c_out, 4, 2, 1), _conv(c_out, c_out)]
            c, size = c_out, 2 * size
        self.decoder = nn.Sequential(*layers)
        self.crop = ((size - nz) // 2, (size - nx) // 2)
        self.head = nn.Sequential(nn.Conv2d(c, 1, 3, 1, 1), nn.BatchNorm2d(1), nn.Tanh())

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        expected = (cfg["n_shots"], cfg["nt"], cfg["n_receivers"])
        if data.ndim != 4 or tuple(data.shape[1:]) != expected:
            raise ValueError(f"InversionNet expects data [batch, {expected[0]}, {expected[1]}, "
                             f"{expected[2]}] (shot, time, receiver), got {tuple(data.shape)}")
        x = self.decoder(self.encoder(data))
        nz, nx = cfg["out_shape"]
        top, left = self.crop
        # OpenFWI crops 80 -> 70 with F.pad(-5); a slice is the same centre crop.
        x = x[..., top:top + nz, left:left + nx]
        return self.head(x)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters (batch-norm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

