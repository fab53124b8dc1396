"""What each part of a method does: measurements that catch a component whose effect is below noise.

A method can run, pass shape tests and still not be the method: a branch whose features are
1e-5 of the other's, a regulariser 1e8 times weaker than the misfit, a bound that freezes a third
of the cells. These functions measure, for a :class:`~crfwi.representations.VelocityModel` at its
current θ:

* :func:`start_report` -- how far m_θ is from m0 and how many cells sit outside the bounds;
* :func:`gradient_reach` -- the fraction of free cells whose model gradient reaches θ;
* :func:`branch_report` -- for a multi-branch representation (IG-FWI, LRG-FWI: ``branches()``),
  each branch's share of the fusion input (RMS of its weighted feature block) and of the first
  fusion layer's pre-activation, which is linear in the concatenated blocks and so splits exactly;
* :func:`ntk_trace_shares` -- each group's share of the NTK trace: tr Θ_m = ‖J_m‖_F² (model space)
  and, with a solver, tr Θ = ‖J_G J_m‖_F² (the wave-based NTK), both by Hutchinson's estimator
  E‖Aᵀz‖² = ‖A‖_F² with Rademacher probes z; the trace splits exactly over parameter groups.

``benchmarks/method_audit.py`` prints these for every method on a preset; the tests assert them.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..representations.base import bound

__all__ = ["start_report", "gradient_reach", "branch_report", "ntk_trace_shares", "parameter_branches"]


def _free(model) -> torch.Tensor:
    return ~model.fixed_mask


def start_report(model) -> dict[str, float]:
    """m_θ − m0 at the current θ (m/s) over the free cells, and the fraction of free cells whose
    unbounded value m0 + s·F lies outside ``model.bounds``."""
    with torch.no_grad():
        free = _free(model)
        raw = model.unbounded()[free].double()
        diff = model()[free].double() - model.initial[free].double()
        vmin, vmax = model.bounds
        outside = ((raw < vmin) | (raw > vmax)).double().mean()
    return {"perturbation_rms": float(diff.square().mean().sqrt()),
            "perturbation_max": float(diff.abs().max()),
            "outside_bounds_fraction": float(outside)}


def gradient_reach(model) -> float:
    """Fraction of the free cells through which a model gradient that would bring them back
    inside the bounds (any gradient, for cells inside) reaches θ: 1.0 under the straight-through
    and the inward bounds; a plain clamp gives 0 to every cell outside the bounds."""
    unbounded = model.unbounded().detach().requires_grad_(True)
    out = bound(unbounded, *model.render_bounds, gradient=model.bound_gradient)
    low, high = model.render_bounds
    # ∂loss/∂m = +1 above vmax and inside, −1 below vmin: a descent step moves every cell inwards
    inwards = torch.where(unbounded.detach() < low, -1.0, 1.0).to(out.dtype)
    (grad,) = torch.autograd.grad((out * inwards).sum(), unbounded)
    free = _free(model)
    return float((grad[free] != 0).double().mean())


def parameter_branches(model) -> dict[str, list[torch.nn.Parameter]]:
    """The representation's named parameter groups: its ``branches()`` when it has them (IG-FWI:
    grid / inr / fusion), else grid tables vs the rest (``parameter_groups()``)."""
    rep = model.representation
    if hasattr(rep, "branches"):
        return rep.branches()
    return rep.parameter_groups()


def branch_report(model) -> dict[str, dict[str, float]]:
    """Share of each feature block in the fusion input of a hybrid (``rep.branch_features`` and
    ``rep.mlp[0]``): RMS of the weighted block and RMS of its part of the first fusion layer's
    pre-activation, with each block's share of the summed squares."""
    rep = model.representation
    with torch.no_grad():
        blocks = rep.branch_features(model.coords)
        first = rep.mlp[0]
        out, start = {}, 0
        for name, block in blocks.items():
            width = block.shape[-1]
            weight = first.weight[:, start:start + width]
            start += width
            out[name] = {"feature_rms": float(block.double().square().mean().sqrt()),
                         "preactivation_rms": float((block @ weight.T).double().square().mean().sqrt())}
    for key in ("feature_rms", "preactivation_rms"):
        total = sum(v[key] ** 2 for v in out.values()) or 1.0
        for v in out.values():
            v[key.replace("_rms", "_share")] = v[key] ** 2 / total
    return out


def _squared_norms(groups: dict[str, list[torch.nn.Parameter]], grads: Sequence) -> dict[str, float]:
    out, i = {}, 0
    for name, ps in groups.items():
        sq = 0.0
        for g in grads[i:i + len(ps)]:
            if g is not None:
                sq += float((torch.view_as_real(g) if g.is_complex() else g).double().square().sum())
        i += len(ps)
        out[name] = sq
    return out


def ntk_trace_shares(model, solver=None, *, probes: int = 8, seed: int = 0,
                     shots: Sequence[int] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """Each parameter group's share of tr Θ_m (``"model"``) and, with ``solver``, of tr Θ
    (``"wave"``, the wave-based NTK of ``shots``, default all): Hutchinson estimates with
    ``probes`` Rademacher vectors (the shares are ratios of estimates from the same probes)."""
    groups = parameter_branches(model)
    params = [p for ps in groups.values() for p in ps]
    gen = torch.Generator().manual_seed(seed)
    free = _free(model)
    result: dict[str, dict[str, dict[str, float]]] = {}
    sums = {name: 0.0 for name in groups}
    velocity = model()  # rendered once; every probe back-propagates through the same graph
    for _ in range(probes):
        z = (torch.randint(0, 2, tuple(free.shape), generator=gen) * 2 - 1).float().to(model.initial.device)
        grads = torch.autograd.grad(velocity, params, grad_outputs=z * free, allow_unused=True,
                                    retain_graph=True)
        for name, sq in _squared_norms(groups, grads).items():
            sums[name] += sq / probes
    result["model"] = _shares(sums)
    if solver is not None:
        sums = {name: 0.0 for name in groups}
        velocity0 = velocity.detach()
        index = solver.shot_index(shots)
        for _ in range(probes):
            leaf = velocity0.clone().requires_grad_(True)
            data = solver.simulate(leaf, index, check=False)
            u = (torch.randint(0, 2, tuple(data.shape), generator=gen) * 2 - 1).to(data)
            (g_m,) = torch.autograd.grad(data, leaf, grad_outputs=u)
            grads = torch.autograd.grad(velocity, params, grad_outputs=g_m, allow_unused=True,
                                        retain_graph=True)
            for name, sq in _squared_norms(groups, grads).items():
                sums[name] += sq / probes
        result["wave"] = _shares(sums)
    return result


def _shares(sums: dict[str, float]) -> dict[str, dict[str, float]]:
    total = sum(sums.values()) or 1.0
    return {name: {"trace": value, "share": value / total} for name, value in sums.items()}
