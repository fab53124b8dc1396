"""The paper's methods by name: a representation plus the misfit, regulariser and data bands
that make it the method (PAPER.md §3).

The CR-FWI methods are their representations with the L2 misfit; the conventional baselines
are the pixel representation with something added:

=========  ==========  ==============  ========================================================
name       paper       representation  what else
=========  ==========  ==============  ========================================================
pixel      ADFWI       pixel           Adam lr 5 on the velocity grid
adfwi-tv   ADFWI-TV    pixel           + anisotropic TV, α = 1000 × 2e-9 in ADFWI's misfit units, ×0.9
                                       every 20 iterations (α converted at m0, see below)
weci-fwi   WECI-FWI    pixel           misfit: logistic blend of global correlation / envelope,
                                       each term scaled by its own adjoint-source norm
ms-fwi     MS-FWI      pixel           data low-passed at 4, 6, … 14 Hz, band after band (cpu
                                       scale: × the preset's cpu/paper frequency ratio)
siren      IFWI        siren
gabor      WinFWI      gabor
lowrank    LR-FWI      lowrank
hashgrid   MPE-FWI     hashgrid
ig         IG-FWI      ig
lrg        LRG-FWI     lrg
=========  ==========  ==============  ========================================================

:func:`resolve` accepts either column, in any letter case (``"IG-FWI"``, ``"adfwi"``).

What makes the three added baselines act as in the paper's setup (each selectable back to the
literal form):

* **ADFWI-TV**: ADFWI sets α against its own misfit, Σ_traces √(Σ_t r² dt) on peak-normalised
  traces; against crfwi's ½Σr² the literal 2e-9 is ~1e8 times too weak and ADFWI-TV would equal
  ADFWI. α is multiplied by c = ‖∇J_crfwi(m0)‖/‖∇J_ADFWI(m0)‖, measured once per run at m0
  (:class:`crfwi.methods.regularizers.TVSchedule`); ``regularizer_options = {alpha_units = "literal"}``
  uses 2e-9 as it is. Even in ADFWI's units the paper's α barely acts (TV −0.2 %, MSE unchanged),
  unlike the paper's ADFWI-TV, so α is multiplied by ``gain`` = 1000, the measured weight at which
  TV lowers the error most (:data:`crfwi.methods.regularizers.EFFECT_GAIN`); ``gain = 1`` is the paper's α.
* **WECI-FWI**: the envelope and correlation gradients are 1e4–1e6 apart, so after the logistic
  switch Adam's second moment froze the model; each term is divided, shot by shot, by the norm
  of its adjoint source (:class:`crfwi.methods.misfits.WeciMisfit`); ``misfit_options = {normalize =
  "none"}`` is ADFWI's unnormalised blend.
* **MS-FWI**: the paper's 4–14 Hz bands at a preset's paper scale, × cpu/paper source frequency at
  its cpu scale, the paper's bands below 2.5 × the source frequency without a preset
  (:func:`crfwi.methods.misfits.multiscale_bands`); ``inversion.bands`` sets any.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import representations

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
           summary="pixel FWI + anisotropic total variation with a decaying weight "
                   "(ADFWI's α, converted to crfwi's misfit units)"),
    Method("weci-fwi", "WECI-FWI", "pixel", misfit="weci",
           summary="pixel FWI, misfit blends global correlation and envelope (logistic weight, "
                   "each term normalised)"),
    Method("ms-fwi", "MS-FWI", "pixel", multiscale=True,
           summary="pixel FWI on low-passed data, 4 to 14 Hz in 2 Hz bands (scaled at cpu scale)"),
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
