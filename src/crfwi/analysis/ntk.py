"""The wave-based neural tangent kernel (NTK) of a velocity model and a survey: spectra and drift.

The paper's theory (PAPER.md §2; arXiv 2603.22362, Props. 2.1/3.1) in discrete form. At one iterate
θ, with m_θ the rendered velocity model ``[nz, nx]`` (m/s) and d the data ``[shot, receiver, time]``:

* J_G = ∂d/∂m, the Born operator (N_d × N_m): :meth:`WaveNTK.wave_jvp` is one Born solve
  (``WaveSolver.born``) and :meth:`WaveNTK.wave_vjp`, its adjoint J_Gᵀ, is back-propagation through
  that Born solve (the graph is kept, so each adjoint is one backward propagation).
* J_m = ∂m/∂θ, the representation's Jacobian (N_m × P), by ``torch.func.jvp``/``vjp`` through the
  whole :class:`~crfwi.representations.VelocityModel` -- i.e. of the map the optimiser actually
  differentiates: ``output_scale`` is included (Θ_m is in (m/s)²), and so are the derivative of the
  velocity bounds (identity under the default straight-through bound; zero outside the bounds with
  ``bound_gradient = "zero"``) and of a fixed (water) mask (rows of fixed cells are zero). So the
  pixel representation has Θ_m = I exactly and Θ is the wave kernel.
* Θ_m = J_m J_mᵀ (model-space NTK), Θ_wave = J_G J_Gᵀ, and the wave-based NTK
  Θ = J_G Θ_m J_Gᵀ = (J_G J_m)(J_G J_m)ᵀ (N_d × N_d).

Θ, (J_G J_m)ᵀ(J_G J_m) = J_mᵀ H J_m and Θ_m^{1/2} H Θ_m^{1/2} (H = J_Gᵀ J_G) share their non-zero
eigenvalues (METHODS.md §1.1), so the top-k are computed by Lanczos (ARPACK ``eigsh``) in the
smallest of the data (N_d), parameter (P) and model (N_m) spaces; every product costs one Born and
one adjoint solve of the selected shots plus a network jvp/vjp. The model space needs Θ_m^{1/2},
i.e. Θ_m built explicitly (N_m network products, N_m² memory), so it is only chosen up to
``max_model_space`` cells. Small problems can be done exactly from explicit Jacobians
(:meth:`WaveNTK.explicit`), which is how the matrix-free path is tested.

Normalisation for comparing methods (their kernels differ by orders of magnitude in scale and
units): every decay curve is λ_k/λ_1. Network kernels are dominated by one "mean" mode -- the
output bias (and any near-constant feature) moves the whole model at once, λ_1/λ_2 is 10–10⁴
(METHODS.md §1.5) -- so each curve is also reported *without its leading mode*: λ_k/λ_2 for
k ≥ 2. Only the top-k eigenvalues are computed, so the trace is unknown and no trace
normalisation is offered.

:class:`KernelMonitor` records cheap estimates of the top eigenvalues and of the relative change
‖Θ(τ) − Θ(0)‖_F / ‖Θ(0)‖_F (Rademacher probes) during an inversion, and :func:`run_ntk` is the
``crfwi ntk`` command (:mod:`crfwi.ntk_command`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .. import io

__all__ = [
    "WaveNTK", "SPACES", "spectrum", "theta_m_spectrum", "lanczos_top", "decay_summary",
    "normalised_decay", "dot_test", "KernelMonitor",
]

SPACES = ("auto", "data", "parameter", "model")
MAX_MODEL_SPACE = 1024  # explicit Θ_m costs N_m network products: worth it on small grids only


# --------------------------------------------------------------------------------------------
# Flat parameter vectors (complex parameters count as two real ones: real and imaginary part)
# --------------------------------------------------------------------------------------------
def _real_view(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(t) if t.is_complex() else t


class _ParamLayout:
    """Flattens a dict of parameter tensors to one real vector and back."""

    def __init__(self, params: dict[str, torch.Tensor]) -> None:
        self.names = list(params)
        self.shapes = [p.shape for p in params.values()]
        self.complex = [p.is_complex() for p in params.values()]
        self.dtypes = [p.dtype for p in params.values()]
        self.sizes = [_real_view(p).numel() for p in params.values()]
        self.size = int(sum(self.sizes))

    def flatten(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([_real_view(tensors[n]).reshape(-1) for n in self.names])

    def unflatten(self, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        out, start = {}, 0
        for name, shape, cplx, dtype, size in zip(self.names, self.shapes, self.complex, self.dtypes,
                                                   self.sizes):
            chunk = vector[start:start + size]
            start += size
            if cplx:
                real_dtype = torch.empty((), dtype=dtype).real.dtype
                out[name] = torch.view_as_complex(chunk.to(real_dtype).reshape(*shape, 2).clone())
            else:
                out[name] = chunk.to(dtype).reshape(shape)
        return out


# --------------------------------------------------------------------------------------------
# The operators at one iterate
# --------------------------------------------------------------------------------------------
class WaveNTK:
    """J_m, J_G and their products at the current iterate of ``velocity_model`` (frozen copy).

    Args:
        velocity_model: a :class:`~crfwi.representations.VelocityModel`; its trainable parameters
            are θ (copied, detached: later optimiser steps do not change this object).
        solver: the :class:`~crfwi.physics.solver.WaveSolver` defining J_G.
        shots: indices of the shots whose data make up d (default all). The kernel of a subset of
            shots is the corresponding diagonal block of the full data-space kernel.

    Vectors are flat ``torch`` tensors in float64 on the CPU: model ``[nz·nx]`` (row-major
    ``[nz, nx]``), data ``[len(shots)·n_receivers·nt]`` and parameters ``[P]``. ``cost`` counts
    Born and adjoint calls (each propagates all selected shots once) and network products.
    """

    def __init__(self, velocity_model: nn.Module, solver, *, shots: Sequence[int] | None = None) -> None:
        if not hasattr(velocity_model, "representation"):
            raise TypeError("`velocity_model` must be a crfwi VelocityModel")
        self.velocity_model = velocity_model
        self.solver = solver
        self.shots = solver.shot_index(shots)
        params = {n: p.detach() for n, p in velocity_model.named_parameters() if p.requires_grad}
        if not params:
            raise ValueError("`velocity_model` has no trainable parameters")
        self.params = params
        self._device = next(iter(params.values())).device
        self.layout = _ParamLayout(params)
        self._param_dtype = self.layout.dtypes[0] if not self.layout.complex[0] else \
            torch.empty((), dtype=self.layout.dtypes[0]).real.dtype
        with torch.no_grad():
            self.model = velocity_model().detach()
        self.model_shape = tuple(self.model.shape)
        n_shots = int(self.shots.numel())
        self.data_shape = (n_shots, solver.survey.n_receivers, solver.survey.nt)
        self.n_model = int(self.model.numel())
        self.n_params = self.layout.size
        self.n_data = int(np.prod(self.data_shape))
        self.cost = {"born": 0, "adjoint": 0, "network_jvp": 0, "network_vjp": 0, "seconds": 0.0}
        self._born_graph = None
        self._vjp_fn = None

    # --- sizes ---------------------------------------------------------------------------
    def sizes(self) -> dict[str, int]:
        """``{"data": N_d, "parameter": P, "model": N_m}``."""
        return {"data": self.n_data, "parameter": self.n_params, "model": self.n_model}

    def shot_solves(self) -> int:
        """Born + adjoint propagations counted per shot (the unit of wave-solve cost)."""
        return (self.cost["born"] + self.cost["adjoint"]) * int(self.shots.numel())

    # --- J_m ------------------------------------------------------------------------------
    def _model_fn(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.func.functional_call(self.velocity_model, params, ())

    def model_jvp(self, w: torch.Tensor) -> torch.Tensor:
        """J_m w: parameter direction ``[P]`` → model perturbation ``[N_m]`` (m/s)."""
        tangents = self.layout.unflatten(w.to(device=self._device, dtype=self._param_dtype))
        _, out = torch.func.jvp(self._model_fn, (self.params,), (tangents,))
        self.cost["network_jvp"] += 1
        return out.detach().reshape(-1).cpu().double()

    def model_vjp(self, g: torch.Tensor) -> torch.Tensor:
        """J_mᵀ g: model cotangent ``[N_m]`` → parameter space ``[P]``."""
        if self._vjp_fn is None:
            _, self._vjp_fn = torch.func.vjp(self._model_fn, self.params)
        (grads,) = self._vjp_fn(g.reshape(self.model_shape).to(device=self.model.device,
                                                                dtype=self.model.dtype))
        self.cost["network_vjp"] += 1
        return self.layout.flatten(grads).detach().cpu().double()

    def theta_m_matvec(self, v: torch.Tensor) -> torch.Tensor:
        """Θ_m v = J_m J_mᵀ v (model space; no wave solve)."""
        return self.model_jvp(self.model_vjp(v))

    # --- J_G -----------------------------------------------------------------------------
    def wave_jvp(self, dm: torch.Tensor) -> torch.Tensor:
        """J_G δm: one Born solve of the selected shots, ``[N_m]`` → ``[N_d]``."""
        out = self.solver.born(self.model, dm.reshape(self.model_shape), self.shots)
        self.cost["born"] += 1
        return out.detach().reshape(-1).cpu().double()

    def wave_vjp(self, u: torch.Tensor) -> torch.Tensor:
        """J_Gᵀ u: back-propagation through the (kept) Born graph, ``[N_d]`` → ``[N_m]``."""
        solver = self.solver
        if self._born_graph is None:
            dv = torch.zeros(self.model_shape, dtype=solver.dtype, device=solver.device, requires_grad=True)
            with torch.enable_grad():
                out = solver.born(self.model, dv, self.shots)
            self._born_graph = (dv, out)
            self.cost["born"] += 1  # the one forward the adjoints reuse
        dv, out = self._born_graph
        cot = u.reshape(self.data_shape).to(device=out.device, dtype=out.dtype)
        (g,) = torch.autograd.grad(out, dv, cot, retain_graph=True)
        self.cost["adjoint"] += 1
        return g.detach().reshape(-1).cpu().double()

    def release(self) -> None:
        """Drop the kept Born graph (its wavefield history) and the cached network vjp."""
        self._born_graph = None
        self._vjp_fn = None

    # --- the kernel in each space ----------------------------------------------------------
    def kernel_matvec(self, u: torch.Tensor) -> torch.Tensor:
        """Θ u = J_G Θ_m J_Gᵀ u (data space)."""
        return self.wave_jvp(self.theta_m_matvec(self.wave_vjp(u)))

    def gauss_newton_matvec(self, dm: torch.Tensor) -> torch.Tensor:
        """H δm = J_Gᵀ J_G δm (model space)."""
        return self.wave_vjp(self.wave_jvp(dm))

    def parameter_matvec(self, w: torch.Tensor) -> torch.Tensor:
        """J_mᵀ H J_m w (parameter space)."""
        return self.model_vjp(self.gauss_newton_matvec(self.model_jvp(w)))

    # --- explicit matrices (tiny problems; the slow twin of the matrix-free path) -----------
    def model_jacobian(self) -> torch.Tensor:
        """J_m, ``[N_m, P]`` float64, by one vjp per model cell (tiny problems only)."""
        eye = torch.eye(self.n_model, dtype=torch.float64)
        return torch.stack([self.model_vjp(e) for e in eye])

    def wave_jacobian(self, *, batch: int = 16) -> torch.Tensor:
        """J_G, ``[N_d, N_m]`` float64, by Born solves of unit perturbations (``batch`` per call,
        each as extra shots of one batched ``born``); N_m Born solves of all selected shots."""
        n_shots = int(self.shots.numel())
        cols = []
        for start in range(0, self.n_model, batch):
            idx = torch.arange(start, min(start + batch, self.n_model))
            dv = torch.zeros(len(idx), self.n_model, dtype=self.solver.dtype)
            dv[torch.arange(len(idx)), idx] = 1.0
            dv = dv.reshape(len(idx), 1, *self.model_shape).expand(-1, n_shots, -1, -1)
            dv = dv.reshape(len(idx) * n_shots, *self.model_shape)
            out = self.solver.born(self.model, dv, self.shots.repeat(len(idx)))
            self.cost["born"] += len(idx)
            cols.append(out.detach().reshape(len(idx), -1).cpu().double())
        return torch.cat(cols).T.contiguous()

    def explicit(self) -> dict[str, torch.Tensor]:
        """Explicit ``J_G``, ``J_m``, ``theta_m`` = J_m J_mᵀ, ``wave`` = J_G J_Gᵀ and
        ``kernel`` = J_G Θ_m J_Gᵀ (float64). Costs N_m Born solves and N_m network vjps."""
        jg = self.wave_jacobian()
        jm = self.model_jacobian()
        theta_m = jm @ jm.T
        return {"J_G": jg, "J_m": jm, "theta_m": theta_m, "wave": jg @ jg.T,
                "kernel": jg @ theta_m @ jg.T}

    def explicit_theta_m(self) -> torch.Tensor:
        """Θ_m ``[N_m, N_m]`` by NTK-vector products on identity columns (no J_m stored)."""
        cols = [self.theta_m_matvec(e) for e in torch.eye(self.n_model, dtype=torch.float64)]
        theta = torch.stack(cols, dim=1)
        return 0.5 * (theta + theta.T)

    # --- eigenvalues -----------------------------------------------------------------------
    def choose_space(self, space: str = "auto", *, max_model_space: int = MAX_MODEL_SPACE) -> str:
        """The space Lanczos runs in: ``auto`` = the smallest of data and parameter space, or the
        model space when it is smaller still and has at most ``max_model_space`` cells."""
        if space not in SPACES:
            raise ValueError(f"`space` must be one of {', '.join(SPACES)}, got {space!r}")
        if space != "auto":
            return space
        candidates = {"data": self.n_data, "parameter": self.n_params}
        if self.n_model <= max_model_space:
            candidates["model"] = self.n_model
        return min(candidates, key=lambda s: (candidates[s], s != "parameter"))

    def operator(self, space: str) -> tuple[int, Any]:
        """``(n, matvec)`` of the symmetric PSD form of Θ in ``space`` (not "auto")."""
        if space == "data":
            return self.n_data, self.kernel_matvec
        if space == "parameter":
            return self.n_params, self.parameter_matvec
        if space == "model":
            root = _psd_sqrt(self.explicit_theta_m())
            return self.n_model, lambda x: root @ self.gauss_newton_matvec(root @ x)
        raise ValueError(f"`space` must be data, parameter or model, got {space!r}")

    def eigenvalues(self, k: int = 20, *, space: str = "auto", tol: float = 1e-8,
                    max_model_space: int = MAX_MODEL_SPACE, seed: int = 0) -> tuple[np.ndarray, dict]:
        """Top-``k`` eigenvalues of Θ (decreasing) and an info dict (space, sizes, matvecs, cost)."""
        chosen = self.choose_space(space, max_model_space=max_model_space)
        start = time.perf_counter()
        before = dict(self.cost)
        n, matvec = self.operator(chosen)
        values, matvecs = lanczos_top(matvec, n, k, tol=tol, seed=seed)
        seconds = time.perf_counter() - start
        self.cost["seconds"] += seconds
        n_shots = int(self.shots.numel())
        born = self.cost["born"] - before["born"]
        adjoint = self.cost["adjoint"] - before["adjoint"]
        info = {"space": chosen, "sizes": self.sizes(), "k": len(values), "matvecs": matvecs,
                "born_calls": born, "adjoint_calls": adjoint, "shots": n_shots,
                "wave_solves": (born + adjoint) * n_shots, "seconds": round(seconds, 3),
                "tol": tol}
        return values, info


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a PSD matrix (negative round-off eigenvalues set to 0)."""
    w, q = torch.linalg.eigh(0.5 * (matrix + matrix.T))
    return (q * w.clamp(min=0).sqrt()) @ q.T


def lanczos_top(matvec, n: int, k: int, *, tol: float = 1e-8, seed: int = 0,
                dense_below: int = 64) -> tuple[np.ndarray, int]:
    """Top-``k`` eigenvalues (decreasing) of a symmetric PSD operator of size ``n``.

    ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``, ``which="LA"``) on a
    ``LinearOperator``; when ``k >= n - 1`` or ``n <= dense_below`` the matrix is built from ``n``
    products and decomposed densely instead (ARPACK needs k < n). ``seed`` fixes the start vector.
    Returns ``(eigenvalues, number of products)``.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"`k` must be a positive integer, got {k!r}")
    k = int(k)
    count = [0]

    def mv(x: np.ndarray) -> np.ndarray:
        count[0] += 1
        return matvec(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).reshape(-1))).numpy()

    if k >= n - 1 or n <= dense_below:
        cols = [mv(e) for e in np.eye(n)]
        mat = np.stack(cols, axis=1)
        values = np.linalg.eigvalsh(0.5 * (mat + mat.T))[::-1][:k]
        return values.copy(), count[0]
    v0 = np.random.default_rng(seed).standard_normal(n)
    op = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    values = eigsh(op, k=k, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
    return np.sort(values)[::-1].copy(), count[0]


def dot_test(ntk: WaveNTK, *, seed: int = 0) -> dict[str, float]:
    """⟨J_G x, y⟩ vs ⟨x, J_Gᵀ y⟩ (and the same for J_m) with random x, y; relative differences."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(ntk.n_model, generator=gen, dtype=torch.float64)
    y = torch.randn(ntk.n_data, generator=gen, dtype=torch.float64)
    lhs = float(ntk.wave_jvp(x) @ y)
    rhs = float(x @ ntk.wave_vjp(y))
    w = torch.randn(ntk.n_params, generator=gen, dtype=torch.float64)
    g = torch.randn(ntk.n_model, generator=gen, dtype=torch.float64)
    lhs_m = float(ntk.model_jvp(w) @ g)
    rhs_m = float(w @ ntk.model_vjp(g))
    return {"wave": abs(lhs - rhs) / max(abs(lhs), abs(rhs), 1e-300),
            "model": abs(lhs_m - rhs_m) / max(abs(lhs_m), abs(rhs_m), 1e-300)}


# --------------------------------------------------------------------------------------------
# Spectra and their normalised decay
# --------------------------------------------------------------------------------------------
def normalised_decay(eigenvalues: Sequence[float], *, drop_leading: int = 0) -> np.ndarray:
    """λ_k / λ_{1+drop} for k > drop (decreasing order): ``drop_leading=1`` removes the mean mode."""
    values = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
    if values.size <= drop_leading:
        raise ValueError(f"need more than {drop_leading} eigenvalue(s), got {values.size}")
    values = values[drop_leading:]
    if values[0] <= 0:
        raise ValueError("the leading eigenvalue is not positive; nothing to normalise by")
    return values / values[0]


def decay_summary(eigenvalues: Sequence[float]) -> dict[str, float | None]:
    """Scale-free decay statistics of a top-k spectrum: ``lambda1_over_lambda2`` (dominance of the
    leading, usually mean, mode), ``last_over_first`` = λ_k/λ_1, ``last_over_second`` = λ_k/λ_2
    (the decay without the mean mode), and ``slope`` / ``slope_without_mean``: least-squares
    slopes of log λ against log index over k = 1…K and k = 2…K."""
    values = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
    out: dict[str, float | None] = {"k": int(values.size)}
    if values.size < 3 or values[1] <= 0:
        out.update(lambda1_over_lambda2=None, last_over_first=None, last_over_second=None, slope=None,
                   slope_without_mean=None)
        return out
    positive = values > 0
    idx = np.arange(1, values.size + 1)

    def slope(i: np.ndarray, v: np.ndarray) -> float:
        return float(np.polyfit(np.log(i), np.log(v), 1)[0])

    out["lambda1_over_lambda2"] = float(values[0] / values[1])
    out["last_over_first"] = float(values[-1] / values[0])
    out["last_over_second"] = float(values[-1] / values[1])
    out["slope"] = slope(idx[positive], values[positive])
    sel = positive & (idx >= 2)
    out["slope_without_mean"] = slope(idx[sel], values[sel])
    return out


def spectrum(velocity_model: nn.Module, solver, *, k: int = 20, space: str = "auto",
             shots: Sequence[int] | None = None, tol: float = 1e-8, theta_m: bool = True,
             max_model_space: int = MAX_MODEL_SPACE, seed: int = 0) -> dict:
    """Top-``k`` eigenvalues of the wave-based NTK Θ (and of Θ_m) at the current iterate.

    Returns a JSON-able dict: ``eigenvalues`` (Θ, decreasing), ``decay`` (:func:`decay_summary`),
    ``info`` (space, sizes, products, Born/adjoint calls, wave solves per shot, seconds) and, with
    ``theta_m``, ``theta_m_eigenvalues`` (Θ_m, model space, by network products only).
    """
    op = WaveNTK(velocity_model, solver, shots=shots)
    values, info = op.eigenvalues(k, space=space, tol=tol, max_model_space=max_model_space, seed=seed)
    result = {"eigenvalues": values.tolist(), "decay": decay_summary(values), "info": info}
    op.release()
    if theta_m:
        tm, tm_info = theta_m_spectrum(op, k=k, tol=tol, seed=seed)
        result["theta_m_eigenvalues"] = tm.tolist()
        result["theta_m_decay"] = decay_summary(tm)
        result["theta_m_info"] = tm_info
    return result


def theta_m_spectrum(op: WaveNTK, *, k: int = 20, tol: float = 1e-8, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Top-``k`` eigenvalues of Θ_m (in (m/s)²), Lanczos in the smaller of model and parameter
    space (no wave solves)."""
    start = time.perf_counter()
    if op.n_model <= op.n_params:
        values, matvecs = lanczos_top(op.theta_m_matvec, op.n_model, k, tol=tol, seed=seed)
        space = "model"
    else:
        values, matvecs = lanczos_top(lambda w: op.model_vjp(op.model_jvp(w)), op.n_params, k, tol=tol,
                                      seed=seed)
        space = "parameter"
    return values, {"space": space, "matvecs": matvecs, "seconds": round(time.perf_counter() - start, 3)}


# --------------------------------------------------------------------------------------------
# Drift during training
# --------------------------------------------------------------------------------------------
class KernelMonitor:
    """Cheap estimates of the wave-based NTK during an inversion: top eigenvalues and drift.

    How the runner uses it: build one monitor per run, and every ``every`` iterations (and at
    iteration 0, *before* the first step, which defines Θ(0)) call
    ``record = monitor(velocity_model, solver, iteration)``; then ``monitor.save(run_folder)``
    writes all records so far to ``ntk_drift.json`` (and ``figures/ntk_drift.png``). The call
    does not change the model, its ``.grad`` fields, or the global RNG; its cost is
    ``n_probes`` + (Lanczos products for ``n_eigs``) kernel products, each one Born and one adjoint
    solve of ``shots`` (default all shots), plus one kept Born forward.

    Each record (JSON-able):
        ``iteration``; ``eigenvalues`` (top ``n_eigs`` of Θ, decreasing, ARPACK at ``tol``);
        ``relative_change`` = ‖Θ(τ) − Θ(0)‖_F / ‖Θ(0)‖_F, estimated with ``n_probes`` fixed
        Rademacher vectors z in data space (E‖(Θ_τ − Θ_0)z‖² = ‖Θ_τ − Θ_0‖_F², the same z at every
        call; the ratio of two estimates, biased but consistent); ``frobenius`` ≈ ‖Θ(τ)‖_F from
        the same probes; ``cost`` (Born/adjoint calls, per-shot wave solves, seconds).

    Θ(0) is the kernel at the first call. :meth:`state_dict` / :meth:`load_state_dict` carry the
    records and Θ(0)'s probe images through a checkpoint, so a resumed run keeps its reference.

    Args:
        every: call period in iterations (the runner checks :meth:`due`).
        n_eigs: number of top eigenvalues (0 = none, only the drift).
        n_probes: Rademacher probes for the drift estimate (0 = no drift).
        shots: fixed shot indices for the kernel (default all; keep it fixed for the whole run).
        tol: ARPACK tolerance of the eigenvalue estimates (loose is cheap).
        seed: seed of the probes and Lanczos start vector.
    """

    FILE = "ntk_drift.json"

    def __init__(self, *, every: int = 10, n_eigs: int = 5, n_probes: int = 4,
                 shots: Sequence[int] | None = None, tol: float = 1e-3, seed: int = 0) -> None:
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise ValueError(f"`every` must be a positive integer, got {every!r}")
        if int(n_eigs) != n_eigs or n_eigs < 0:
            raise ValueError(f"`n_eigs` must be an integer >= 0, got {n_eigs!r}")
        if int(n_probes) != n_probes or n_probes < 0:
            raise ValueError(f"`n_probes` must be an integer >= 0, got {n_probes!r}")
        if n_eigs == 0 and n_probes == 0:
            raise ValueError("`n_eigs` and `n_probes` are both 0: the monitor would record nothing")
        self.every = int(every)
        self.n_eigs = int(n_eigs)
        self.n_probes = int(n_probes)
        self.shots = None if shots is None else [int(s) for s in shots]
        self.tol = float(tol)
        self.seed = int(seed)
        self.records: list[dict] = []
        self._probes: torch.Tensor | None = None
        self._reference: torch.Tensor | None = None

    def state_dict(self) -> dict:
        return {"records": list(self.records), "reference": self._reference}

    def load_state_dict(self, state: dict) -> None:
        self.records = list(state.get("records", []))
        self._reference = state.get("reference")

    def due(self, iteration: int) -> bool:
        """True when ``iteration`` is a multiple of ``every`` (iteration 0 included)."""
        return int(iteration) % self.every == 0

    def __call__(self, velocity_model: nn.Module, solver, iteration: int) -> dict:
        start = time.perf_counter()
        op = WaveNTK(velocity_model, solver, shots=self.shots)
        record: dict[str, Any] = {"iteration": int(iteration)}
        if self.n_probes:
            if self._probes is None:
                gen = torch.Generator().manual_seed(self.seed)
                signs = torch.randint(0, 2, (self.n_probes, op.n_data), generator=gen)
                self._probes = signs.to(torch.float64) * 2 - 1
            if self._probes.shape[1] != op.n_data:
                raise ValueError("the monitored data size changed; keep `shots` and the survey fixed")
            images = torch.stack([op.kernel_matvec(z) for z in self._probes])
            if self._reference is None:
                self._reference = images
            ref_norm = float(self._reference.pow(2).sum(1).mean().sqrt())
            diff = float((images - self._reference).pow(2).sum(1).mean().sqrt())
            record["frobenius"] = float(images.pow(2).sum(1).mean().sqrt())
            record["relative_change"] = diff / ref_norm if ref_norm > 0 else None
        if self.n_eigs:
            values, info = op.eigenvalues(self.n_eigs, tol=self.tol, seed=self.seed)
            record["eigenvalues"] = values.tolist()
            record["space"] = info["space"]
        n_shots = int(op.shots.numel())
        record["cost"] = {"born_calls": op.cost["born"], "adjoint_calls": op.cost["adjoint"],
                          "wave_solves": op.shot_solves(), "shots": n_shots,
                          "seconds": round(time.perf_counter() - start, 3)}
        op.release()
        self.records.append(record)
        return record

    def save(self, folder: str | Path) -> Path:
        """Write ``ntk_drift.json`` (and ``figures/ntk_drift.png`` when there are ≥ 2 records)
        into the run folder; returns the JSON path."""
        folder = Path(folder)
        path = io.save_json(folder / self.FILE, {
            "every": self.every, "n_eigs": self.n_eigs, "n_probes": self.n_probes, "shots": self.shots,
            "definition": "relative_change = ||Θ(τ) - Θ(0)||_F / ||Θ(0)||_F, Rademacher probe estimate "
                          "in data space; eigenvalues = top of Θ = J_G Θ_m J_Gᵀ (ARPACK)",
            "records": self.records})
        if len(self.records) >= 2:
            _drift_figure(self.records, folder / "figures" / "ntk_drift.png")
        return path


# --------------------------------------------------------------------------------------------
# The drift figure
# --------------------------------------------------------------------------------------------
def _drift_figure(records: Sequence[dict], path: Path) -> Path:
    from ..plotting import _new_figure, _save

    fig = _new_figure(9.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    its = [r["iteration"] for r in records]
    if any("relative_change" in r for r in records):
        ax1.plot(its, [r.get("relative_change") or 0.0 for r in records], "o-")
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("‖Θ(τ) − Θ(0)‖ / ‖Θ(0)‖")
    ax1.grid(alpha=0.3)
    if any("eigenvalues" in r for r in records):
        eigs = np.array([r["eigenvalues"] for r in records])
        for j in range(eigs.shape[1]):
            ax2.semilogy(its, eigs[:, j], lw=1.2, label=f"λ{j + 1}")
        ax2.legend(fontsize=7)
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("eigenvalue of Θ")
    ax2.grid(alpha=0.3, which="both")
    return _save(fig, path, 120)
