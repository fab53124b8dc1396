"""The data-driven baseline of PAPER.md §4.4 (Table 2, issue 16): an InversionNet-style network.

**What the paper compared.** Table 2 scores CR-FWI against InversionNet (Wu & Lin 2019), the
OpenFWI baseline, run from *the pretrained checkpoints released by its authors* (trained on
OpenFWI's own ~24 000 maps per family and their data) on noisy OpenFWI data.

**What this is.** Those checkpoints, and OpenFWI's training data, are not available here. This
subpackage rebuilds the baseline from its published recipe and trains it on crfwi's own material:

* :mod:`.network` — InversionNet's layout block for block (an encoder of strided convolutions over
  (shots, time, receivers) that squeezes time first, a 1×1 bottleneck, a decoder of transposed
  convolutions to the 70 × 70 map, batch norm + LeakyReLU, tanh output on velocities normalised
  to [-1, 1]). At OpenFWI's width (32) it has OpenFWI's 24.4 M parameters; the CPU default is
  width 8, 1.53 M parameters: a **scaled-down** InversionNet.
* :mod:`.dataset` — the training maps are crfwi's procedural OpenFWI-*like* generators
  (:func:`crfwi.models.zoo.flatvel`, ``curvevel``, ``flatfault``, ``curvefault``), not OpenFWI's maps;
  their data come from crfwi's own solver with OpenFWI's acquisition, the same operator as the
  CR-FWI OpenFWI runs; noise is drawn at training time with the CR-FWI runs' definition (k·σ0).
* :mod:`.train` — L1 loss and AdamW as OpenFWI, sized for a CPU (batch 32, lr 1e-3, cosine
  decay); a checkpoint every epoch, bit-identical resume, held-out procedural validation.
* :mod:`.evaluate` — predictions on a stack of maps (the real OpenFWI maps, their data simulated
  with the same acquisition and noise) scored with :mod:`crfwi.analysis.metrics`.

**What it is not.** Not the authors' network weights, not trained on OpenFWI's data, and smaller
and trained for far fewer steps than OpenFWI's (its numbers are not Table 2's InversionNet
column). It answers a different, stated question: how a data-driven inverter trained on a prior
of procedural maps does on *held-out maps of that prior* versus on *real OpenFWI maps* — the
generalisation gap between the two is the point, and ``evaluate`` reports both.

Run it with ``benchmarks/inversionnet.py`` (subcommands ``data``, ``train``, ``evaluate``).
"""

__all__ = ["network", "dataset", "train", "evaluate"]
