"""The paper's 1-D wave-based NTK study (App. B.4, Fig. 5; PAPER.md §2.3), computed exactly.

A 1-D acoustic problem u_tt = v(z)² u_zz + s on a Marmousi trace: 15 m spacing, 8 Hz Ricker,
dt = 1.9 ms, 1000 samples (all as printed). The kernel is small (N_m ≈ 200 cells, N_d = 1000
samples per receiver), so every Jacobian is explicit and every spectrum exact.

Why an own solver and not deepwave: deepwave 0.1.0 does run 1-D models, but :mod:`crfwi.physics.solver`
(the only module allowed to import it) is 2-D, and the 1-D study needs the *whole* Jacobian J_G
(N_d × N_m) at many models (10 seeds × 5 widths, and along training). A ~60-line torch
finite-difference solver gives it in one ``torch.func.jacfwd`` call (all N_m Born directions
batched), and its adjoint is autograd's exact discrete transpose. A laterally invariant 2-D model
would not be 1-D physics (a 2-D point source spreads cylindrically).

What the paper leaves open and what is chosen here (PAPER.md §2.3 "Not stated", §9.10):

* Source and receivers: one source and **one receiver at the surface** (z = 0), i.e. a
  zero-offset reflection seismogram, N_d = 1000. (:class:`Solver1D` takes any receiver depths.)
* Boundaries: the paper's Neumann condition (∂u/∂z = 0) at the surface; an absorbing sponge
  below the model (the half-space is truncated, not reflecting).
* Discretisation: 4th-order centred second derivative, 2nd-order leapfrog in time, stable for
  v·dt/dz < √3/2 (v < 5,900 m/s at the printed dt and spacing; Marmousi peaks at 5,500 m/s).
* The kernel size: Θ is 1000 × 1000; its non-zero spectrum (≤ N_m values) is taken from the
  N_m × N_m model-space form Θ_m^{1/2} H Θ_m^{1/2}, H = J_Gᵀ J_G.
* The theory network (eq. 5): F(x) = (1/√n) W¹ tanh(W⁰ x + b⁰) + b¹ with every weight and bias
  i.i.d. N(0, 1) (NTK parameterisation); tanh because Assumption D.1 needs a smooth activation
  with bounded derivatives. Input x = depth normalised to [-1, 1]. Output in units of
  ``output_scale`` = 100 m/s (the paper gives no unit; 1 km/s would make m_θ at initialisation a
  ±1 km/s random field).
* "Width 100,000" for MPE, LR and IG is undefined (PAPER.md §7); those use the registered
  representations at their paper defaults on an N_m × 1 grid (x ≡ 0), and eq. 5 is the INR of
  the width study.
* Training in Fig. 5b (unstated): full-batch gradient descent on ½‖d(m_θ) − d_obs‖² from a
  smoothed trace, step η = 1/λ_max(Θ(0)) (the largest stable step of the linearised dynamics, so
  widths compare at the same function-space speed).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..physics.geometry import Grid, ricker
from ..representations.base import Representation, VelocityModel

__all__ = ["Solver1D", "ShallowNTKNet", "marmousi_trace", "model_jacobian", "model_ntk",
           "wave_ntk_1d", "nonzero_spectrum", "train_and_track"]

# Paper App. B.4 (PAPER.md §2.3).
SPACING = 15.0
FREQ = 8.0
DT = 1.9e-3
NT = 1000


class Solver1D:
    """1-D acoustic finite differences, u_tt = v² u_zz + s, differentiable by torch autograd.

    Args:
        nz: model cells (depth).
        dz: spacing in metres.
        dt: time step = sample interval, seconds (no sub-stepping; CFL is checked).
        nt: number of samples.
        freq: Ricker peak frequency, Hz (delay 1.5/freq).
        source_index: cell of the point source (default 0, the surface).
        receiver_indices: cells of the receivers (default (0,)).
        n_absorb: cells of the absorbing sponge below the model.
        max_vel: velocity the sponge is tuned to and the largest accepted, m/s.

    The top boundary is Neumann (even reflection of ghost nodes), the bottom a sponge of
    quadratic damping (reflection ≈ 1e-4) then zero ghosts. Source term s = wavelet / dz.
    """

    def __init__(self, nz: int, dz: float = SPACING, *, dt: float = DT, nt: int = NT, freq: float = FREQ,
                 source_index: int = 0, receiver_indices: Sequence[int] = (0,), n_absorb: int = 80,
                 max_vel: float = 5800.0) -> None:
        if int(nz) != nz or nz < 3:
            raise ValueError(f"`nz` must be an integer >= 3, got {nz!r}")
        self.nz, self.dz, self.dt, self.nt = int(nz), float(dz), float(dt), int(nt)
        if not 0 <= source_index < nz:
            raise ValueError(f"`source_index` must be in 0..{nz - 1}, got {source_index}")
        rec = [int(r) for r in receiver_indices]
        if not rec or any(not 0 <= r < nz for r in rec):
            raise ValueError(f"`receiver_indices` must be cells in 0..{nz - 1}, got {receiver_indices!r}")
        self.source_index, self.receiver_indices = int(source_index), rec
        self.max_vel = float(max_vel)
        if self.max_vel * dt / dz >= math.sqrt(3) / 2:
            raise ValueError(f"unstable: max_vel·dt/dz = {self.max_vel * dt / dz:.3f} >= √3/2; "
                             "lower `dt` or `max_vel`")
        self.n_absorb = int(n_absorb)
        self.wavelet = ricker(freq, self.nt, self.dt)
        width = self.n_absorb * dz
        gamma_max = 1.5 * self.max_vel / width * math.log(1e4) if self.n_absorb else 0.0
        ramp = (torch.arange(1, self.n_absorb + 1, dtype=torch.float64) / max(1, self.n_absorb)) ** 2
        self.gamma = torch.cat([torch.zeros(self.nz, dtype=torch.float64), gamma_max * ramp])

    @property
    def n_data(self) -> int:
        return len(self.receiver_indices) * self.nt

    def check_velocity(self, velocity: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``velocity`` is ``[..., nz]``, finite, positive and within
        ``max_vel`` (the CFL limit the solver was built for)."""
        if velocity.shape[-1] != self.nz:
            raise ValueError(f"`velocity` must end in {self.nz} cells, got shape {tuple(velocity.shape)}")
        v = velocity.detach()
        if not bool(torch.isfinite(v).all()) or float(v.min()) <= 0:
            raise ValueError("`velocity` must be finite and positive (m/s)")
        if float(v.max()) > self.max_vel * (1 + 1e-9):
            raise ValueError(f"`velocity` reaches {float(v.max()):g} m/s, above max_vel = {self.max_vel:g} m/s")

    def simulate(self, velocity: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        """Receiver data ``[n_receivers, nt]`` for ``velocity`` ``[nz]`` m/s (or batched ``[B, nz]``
        → ``[B, n_receivers, nt]``); differentiable in both AD modes (``check=False`` inside
        torch.func transforms, where values cannot be inspected)."""
        if check:
            self.check_velocity(velocity)
        dtype = velocity.dtype
        pad = velocity[..., -1:].expand(*velocity.shape[:-1], self.n_absorb)
        v2dt2 = (torch.cat([velocity, pad], dim=-1) * self.dt) ** 2 / self.dz ** 2
        gamma = self.gamma.to(dtype) * self.dt / 2
        a, b = 1.0 / (1.0 + gamma), 1.0 - gamma
        force = (self.wavelet.to(dtype) * self.dt ** 2 / self.dz)
        n = self.nz + self.n_absorb
        src = torch.zeros(n, dtype=dtype)
        src[self.source_index] = 1.0
        shape = (*velocity.shape[:-1], n)
        u_prev = torch.zeros(shape, dtype=dtype)
        u = torch.zeros(shape, dtype=dtype)
        rec = self.receiver_indices
        traces = []
        for it in range(self.nt):
            traces.append(u[..., rec])
            # Ghosts: Neumann on top (u[-1] = u[1], u[-2] = u[2]), zero below the sponge.
            z = torch.zeros((*velocity.shape[:-1], 2), dtype=dtype)
            ext = torch.cat([u[..., 2:3], u[..., 1:2], u, z], dim=-1)
            lap = (-(ext[..., :-4] + ext[..., 4:]) / 12 + 4 * (ext[..., 1:-3] + ext[..., 3:-1]) / 3
                   - 2.5 * ext[..., 2:-2])
            u_next = a * (2 * u - b * u_prev + v2dt2 * lap + force[it] * src)
            u_prev, u = u, u_next
        return torch.stack(traces, dim=-1)

    def jacobian(self, velocity: torch.Tensor) -> torch.Tensor:
        """J_G = ∂d/∂v, ``[n_receivers·nt, nz]`` (float64; all N_m Born directions in one batched
        forward-mode pass: a batch of N_m copies of the model carrying the identity as tangents)."""
        import torch.autograd.forward_ad as fwad

        v = velocity.detach().double().reshape(self.nz)
        self.check_velocity(v)
        with fwad.dual_level():
            dual = fwad.make_dual(v.expand(self.nz, self.nz).contiguous(),
                                  torch.eye(self.nz, dtype=torch.float64))
            out = self.simulate(dual, check=False)
            tangent = fwad.unpack_dual(out).tangent  # [N_m, n_rec, nt]
        return tangent.reshape(self.nz, -1).T.contiguous()


class ShallowNTKNet(Representation):
    """The paper's eq. 5 network: F(x) = (1/√n) W¹ σ(W⁰x + b⁰) + b¹, all parameters N(0, 1).

    Input x is the depth coordinate (``coords[..., 0]``, in [-1, 1]); σ = tanh. ``ntk`` gives its
    NTK in closed form (the sum over the 3n + 1 parameters done analytically), which is exact and
    cheap at width 10⁵.

    Args:
        grid: the model grid (interface only).
        width: n, the hidden width.
        seed: seed of the N(0, 1) initialisation (independent of the global RNG).
    """

    output_scale = 100.0  # m/s per unit output (see the module docstring)
    learning_rate = 1.0

    def __init__(self, grid: Grid, *, width: int = 1000, seed: int = 0) -> None:
        super().__init__(grid)
        if int(width) != width or width < 1:
            raise ValueError(f"`width` must be a positive integer, got {width!r}")
        self.width = int(width)
        gen = torch.Generator().manual_seed(int(seed))
        self.w0 = nn.Parameter(torch.randn(self.width, generator=gen))
        self.b0 = nn.Parameter(torch.randn(self.width, generator=gen))
        self.w1 = nn.Parameter(torch.randn(self.width, generator=gen))
        self.b1 = nn.Parameter(torch.randn((), generator=gen))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        x = coords[..., 0].to(self.w0.dtype)
        h = torch.tanh(x[..., None] * self.w0 + self.b0)
        out = h @ self.w1 / math.sqrt(self.width) + self.b1
        return out.to(coords.dtype)

    @torch.no_grad()
    def ntk(self, coords: torch.Tensor) -> torch.Tensor:
        """Θ_F(x, x') = Σ_p ∂F(x)/∂θ_p ∂F(x')/∂θ_p for the points of ``coords``, ``[N, N]`` float64
        (unit: output units²): (1/n) Σ_i [σ_i σ'_i + (W¹_i)² σ̇_i σ̇'_i (x x' + 1)] + 1."""
        x = coords[..., 0].reshape(-1).double()
        w0, b0, w1 = self.w0.double(), self.b0.double(), self.w1.double()
        h = torch.tanh(x[:, None] * w0 + b0)
        dh = (1 - h ** 2) * w1
        n = self.width
        return (h @ h.T + (dh @ dh.T) * (x[:, None] * x[None, :] + 1)) / n + 1.0


def marmousi_trace(*, x: float = 5000.0, spacing: float = SPACING, data_dir=None) -> tuple[np.ndarray, Grid]:
    """One Marmousi column at lateral position ``x`` (m), resampled to ``spacing`` (m): the true
    model ``[nz]`` m/s and its ``Grid(nz, 1, spacing)``. Needs the benchmark file
    ($CRFWI_DATA_DIR); the paper does not say which trace, the default is the model's centre."""
    from ..models import zoo

    _, file_grid = zoo.load_model("marmousi", None, data_dir=data_dir)
    nz = int(file_grid.extent[0] // spacing) + 1
    grid = Grid(nz, 1, spacing)
    model, grid = zoo.load_model("marmousi", grid, data_dir=data_dir, origin=(0.0, float(x)))
    return np.asarray(model[:, 0], dtype=np.float64), grid


def model_jacobian(velocity_model: VelocityModel) -> torch.Tensor:
    """J_m = ∂m_θ/∂θ, ``[N_m, P]`` float64 (one vjp per cell; output_scale and bounds included,
    as in :class:`crfwi.analysis.ntk.WaveNTK`)."""
    params = {n: p.detach() for n, p in velocity_model.named_parameters() if p.requires_grad}
    _, vjp_fn = torch.func.vjp(lambda p: torch.func.functional_call(velocity_model, p, ()).reshape(-1),
                               params)
    with torch.no_grad():
        out = velocity_model().reshape(-1)
    eye = torch.eye(out.numel(), dtype=out.dtype)

    def flat(g: dict) -> torch.Tensor:
        return torch.cat([(torch.view_as_real(t) if t.is_complex() else t).reshape(*t.shape[:1], -1)
                          .reshape(t.shape[0], -1).double() for t in g.values()], dim=1)

    try:  # all cells at once; some operations have no batching rule, then one vjp per cell
        (g,) = torch.func.vmap(vjp_fn, chunk_size=32)(eye)
        return flat(g)
    except (RuntimeError, NotImplementedError):
        return torch.stack([flat({k: t[None] for k, t in vjp_fn(e)[0].items()})[0] for e in eye])


def model_ntk(velocity_model: VelocityModel) -> torch.Tensor:
    """Θ_m = J_m J_mᵀ ``[N_m, N_m]`` in (m/s)²; closed form for :class:`ShallowNTKNet`, else
    from :func:`model_jacobian`."""
    rep = velocity_model.representation
    if isinstance(rep, ShallowNTKNet):
        with torch.no_grad():
            m = velocity_model().reshape(-1).double()
        vmin, vmax = velocity_model.bounds
        live = ~velocity_model.fixed_mask.reshape(-1)
        if velocity_model.bound_gradient == "zero":  # a plain clamp freezes cells outside
            live = live & (m >= vmin) & (m <= vmax)
        live = live.double()
        s = velocity_model.output_scale
        return (s * s) * live[:, None] * rep.ntk(velocity_model.coords) * live[None, :]
    jm = model_jacobian(velocity_model)
    return jm @ jm.T


def wave_ntk_1d(velocity_model: VelocityModel, solver: Solver1D) -> dict[str, torch.Tensor]:
    """``{"model", "J_G", "theta_m", "kernel"}`` at the current θ: Θ = J_G Θ_m J_Gᵀ, ``[N_d, N_d]``."""
    with torch.no_grad():
        m = velocity_model().reshape(-1).double()
    jg = solver.jacobian(m)
    theta_m = model_ntk(velocity_model)
    return {"model": m, "J_G": jg, "theta_m": theta_m, "kernel": jg @ theta_m @ jg.T}


def nonzero_spectrum(jg: torch.Tensor, theta_m: torch.Tensor) -> np.ndarray:
    """Eigenvalues (decreasing) of Θ_m^{1/2} H Θ_m^{1/2}, H = J_Gᵀ J_G: the non-zero spectrum of
    J_G Θ_m J_Gᵀ in the (smaller) model space."""
    w, q = torch.linalg.eigh(0.5 * (theta_m + theta_m.T))
    root = (q * w.clamp(min=0).sqrt()) @ q.T
    a = jg @ root
    values = torch.linalg.eigvalsh(a.T @ a).flip(0)
    return values.numpy()


def train_and_track(velocity_model: VelocityModel, solver: Solver1D, observed: torch.Tensor, *,
                    steps: int = 200, every: int = 20, lr: float | None = None) -> dict:
    """Gradient descent on ½‖d(m_θ) − d_obs‖², recording ‖Θ(τ) − Θ(0)‖_F/‖Θ(0)‖_F (Fig. 5b),
    the same for Θ_m alone, and the loss, every ``every`` steps. ``lr`` default 1/λ_max(Θ(0))."""
    k0 = wave_ntk_1d(velocity_model, solver)
    kernel0, theta0 = k0["kernel"], k0["theta_m"]
    norm0, tnorm0 = float(kernel0.norm()), float(theta0.norm())
    lam_max = float(torch.linalg.eigvalsh(kernel0)[-1])
    lr = 1.0 / lam_max if lr is None else float(lr)
    params = [p for p in velocity_model.parameters() if p.requires_grad]
    record = {"step": [], "loss": [], "relative_change": [], "theta_m_relative_change": [], "lr": lr}
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            cur = k0 if step == 0 else wave_ntk_1d(velocity_model, solver)
            record["step"].append(step)
            record["relative_change"].append(float((cur["kernel"] - kernel0).norm()) / norm0)
            record["theta_m_relative_change"].append(float((cur["theta_m"] - theta0).norm()) / tnorm0)
        if step == steps:
            break
        residual = solver.simulate(velocity_model().reshape(-1).double()) - observed
        loss = 0.5 * residual.pow(2).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
        record["loss"].append(float(loss.detach()))
    return record
