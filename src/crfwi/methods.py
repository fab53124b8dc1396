"""The paper's methods by name: a representation plus the misfit, regulariser and data bands
that make it the method (PAPER.md §3).

The CR-FWI methods are their representations with the L2 misfit; the conventional baselines
are the pixel representation with something added:

=========  ==========  ==============  ========================================================
name       paper       representation  what else
=========  ==========  ==============  ========================================================
pixel      ADFWI       pixel           Adam lr 5 on the velocity grid
adfwi-tv   ADFWI-TV    pixel           + anisotropic TV, α = 2e-9, ×0.9 every 20 iterations
weci-fwi   WECI-FWI    pixel           misfit: logistic blend of global correlation / envelope
ms-fwi     MS-FWI      pixel           data low-passed at 4, 6, … 14 Hz, band after band
siren      IFWI        siren
gabor      WinFWI      gabor
lowrank    LR-FWI      lowrank
hashgrid   MPE-FWI     hashgrid
ig         IG-FWI      ig
lrg        LRG-FWI     lrg
=========  ==========  ==============  ========================================================

:func:`resolve` accepts either column, in any letter case (``"IG-FWI"``, ``"adfwi"``).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import representations

__all__ = ["Method", "METHODS", "available", "resolve"]


@dataclass(frozen=True)
class Method:
    """One method: ``representation`` with its default ``misfit``, ``regularizer`` ("none" or
    "tv") and whether it fits the data in frequency bands (``multiscale``)."""

    name: str
    paper: str
    representation: str
    misfit: str = "l2"
    regularizer: str = "none"
    multiscale: bool = False
    summary: str = ""


_BASELINES = (
    Method("adfwi-tv", "ADFWI-TV", "pixel", regularizer="tv",
           summary="pixel FWI + anisotropic total variation with a decaying weight"),
    Method("weci-fwi", "WECI-FWI", "pixel", misfit="weci",
           summary="pixel FWI, misfit blends global correlation and envelope (logistic weight)"),
    Method("ms-fwi", "MS-FWI", "pixel", multiscale=True,
           summary="pixel FWI on low-passed data, 4 to 14 Hz in 2 Hz bands"),
)


def _table() -> dict[str, Method]:
    table = {}
    for name in representations.available():
        info = representations.describe(name)
        table[name] = Method(name, str(info["paper"]), name)
    table.update({m.name: m for m in _BASELINES})
    return table


METHODS: dict[str, Method] = _table()


def available() -> list[str]:
    """crfwi's method names: the representations, then the baselines."""
    return list(METHODS)


def resolve(name: str) -> Method:
    """The method called ``name`` (crfwi's name or the paper's, any letter case)."""
    key = str(name).strip().lower()
    for method in METHODS.values():
        if key in (method.name, method.paper.lower()):
            return method
    valid = ", ".join(f"{m.name} ({m.paper})" for m in METHODS.values())
    raise ValueError(f"unknown method {name!r}; valid: {valid}")
