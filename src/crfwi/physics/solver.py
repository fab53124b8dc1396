"""Acoustic wave simulation through deepwave: the only module that imports deepwave.

:class:`WaveSolver` fixes everything that defines the forward operator G(m) — grid, survey,
accuracy, absorbing boundary, ``max_vel`` and ``pml_freq`` — once, so that the FWI objective is
the same function at every iteration (deepwave otherwise derives its internal time step from the
current model's maximum velocity and its PML frequency from the wavelet).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import deepwave
import numpy as np
import torch

from .geometry import Grid, Survey

__all__ = ["WaveSolver", "SolverOptions", "resolve_device"]

# Fewer cells than this per wavelength at the peak frequency (slowest velocity, coarsest axis)
# makes 8th-order finite differences visibly dispersive: the significant band of a Ricker
# reaches ~2.5 f_peak, where 5 points per peak wavelength leave 2 points per shortest wavelength.
MIN_POINTS_PER_WAVELENGTH = 5.0

STORAGE_MODES = ("device", "cpu", "disk", "none")


def _quiet_deepwave() -> None:
    """Silence deepwave's migration notes (about changes since 0.0.27); we pin pml_freq and
    max_vel explicitly and extend Born perturbations into the PML on purpose."""
    warnings.simplefilter("ignore", deepwave.MigrationWarning)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a GPU raises ValueError."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"`device` must be auto, cpu or cuda, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("`device` = cuda but no CUDA GPU is available; use --device cpu or auto")
    return torch.device(device)


@dataclass(frozen=True)
class SolverOptions:
    """Discretisation and storage options of the deepwave scalar propagator.

    Args:
        accuracy: spatial finite-difference order (2, 4, 6 or 8); the paper uses 8.
        storage: where deepwave keeps the wavefield history for the gradient:
            "device" (fastest), "cpu" (GPU runs that are short of GPU memory), "disk", "none".
        storage_compression: 8-bit lossy compression of that history (changes the gradient by
            ~0.2–4 % in 2-D, per deepwave's documentation); off by default.
        gradient_sampling_interval: deepwave's ``model_gradient_sampling_interval``: time steps
            between gradient contributions (memory lever; 1 = exact discrete adjoint).
        checkpoint_segments: run the time axis in this many checkpointed segments (0 = off);
            lowers peak memory at the cost of a second forward pass.
        min_points_per_wavelength: smallest allowed vmin / (f_peak · max(dz, dx)).
        courant_number: the Courant number deepwave's internal time step targets (0 = deepwave's
            default, 0.6); at most the scheme's critical number (0.784 at accuracy 8 in 2-D). A
            larger one can mean fewer internal steps per ``survey.dt`` (faster) where it crosses
            a step boundary (BENCHMARKS.md: speed options).
    """

    accuracy: int = 8
    storage: str = "device"
    storage_compression: bool = False
    gradient_sampling_interval: int = 1
    checkpoint_segments: int = 0
    min_points_per_wavelength: float = MIN_POINTS_PER_WAVELENGTH
    courant_number: float = 0.0

    def __post_init__(self) -> None:
        if self.accuracy not in (2, 4, 6, 8):
            raise ValueError(f"`accuracy` must be 2, 4, 6 or 8, got {self.accuracy!r}")
        if self.storage not in STORAGE_MODES:
            raise ValueError(f"`storage` must be one of {', '.join(STORAGE_MODES)}, got {self.storage!r}")
        if int(self.gradient_sampling_interval) != self.gradient_sampling_interval or self.gradient_sampling_interval < 1:
            raise ValueError("`gradient_sampling_interval` must be an integer >= 1")
        if int(self.checkpoint_segments) != self.checkpoint_segments or self.checkpoint_segments < 0:
            raise ValueError("`checkpoint_segments` must be an integer >= 0 (0 = off)")
        if not self.min_points_per_wavelength > 0:
            raise ValueError("`min_points_per_wavelength` must be > 0")
        if not 0 <= self.courant_number < math.inf:
            raise ValueError("`courant_number` must be >= 0 (0 = deepwave's default)")


def _checked_wavelet(wavelet: torch.Tensor | np.ndarray, nt: int) -> torch.Tensor:
    """A given source wavelet as a float64 tensor ``[nt]``; refused unless 1-D, of the record's
    length, finite and not all zero."""
    values = torch.as_tensor(np.asarray(wavelet.detach().cpu() if isinstance(wavelet, torch.Tensor)
                                        else wavelet))
    if values.dtype.is_complex or not (values.dtype.is_floating_point or values.dtype in
                                       (torch.int16, torch.int32, torch.int64)):
        raise ValueError(f"the source wavelet must hold real numbers, got dtype {values.dtype}")
    values = values.to(torch.float64)
    if values.ndim != 1 or values.numel() != nt:
        raise ValueError(f"the source wavelet must have shape [{nt}] (survey.nt samples at "
                         f"survey.dt), got {tuple(values.shape)}")
    if not torch.isfinite(values).all():
        raise ValueError("the source wavelet holds NaN or infinite samples")
    if not values.abs().max() > 0:
        raise ValueError("the source wavelet is all zeros")
    return values


# How cell indices and models are named in messages, by the number of spatial dimensions.
_INDEX_NAMES = {2: ("row/column", "(row, column)"), 3: ("z/y/x index", "(iz, iy, ix)")}
_MODEL_AXES = {2: "[nz, nx]", 3: "[nz, ny, nx]"}


def _checked_cells(name: str, cells: torch.Tensor | np.ndarray, shape: tuple[int, int],
                   grid: Grid, mask: torch.Tensor | np.ndarray | None = None) -> torch.Tensor:
    """Cell indices ``[*shape, ndim]`` ((row, column) in 2-D, (iz, iy, ix) in 3-D) as a long
    tensor; refused unless whole numbers inside ``grid`` (where ``mask`` is True: a masked
    receiver may sit anywhere)."""
    ndim = len(grid.shape)
    values = torch.as_tensor(np.asarray(cells.detach().cpu() if isinstance(cells, torch.Tensor)
                                        else cells))
    if tuple(values.shape) != (*shape, ndim):
        raise ValueError(f"`{name}` must have shape [{shape[0]}, {shape[1]}, {ndim}] (shot, "
                         f"{'source' if shape[1] == 1 else 'receiver'}, {_INDEX_NAMES[ndim][0]}), "
                         f"got {tuple(values.shape)}")
    if values.dtype.is_complex or values.dtype == torch.bool:
        raise ValueError(f"`{name}` must hold cell indices, got dtype {values.dtype}")
    if values.dtype.is_floating_point and not bool((values == values.round()).all()):
        raise ValueError(f"`{name}` must hold whole cell indices {_INDEX_NAMES[ndim][1]}")
    values = values.to(torch.long)
    live = torch.ones(shape, dtype=torch.bool) if mask is None else _checked_mask(mask, shape)
    outside = live & ((values < 0) | (values >= torch.tensor(grid.shape))).any(dim=-1)
    if bool(outside.any()):
        shot, item = (int(i) for i in outside.nonzero()[0])
        what = "the source" if shape[1] == 1 else f"receiver {item}"
        size = " x ".join(str(n) for n in grid.shape)
        raise ValueError(f"`{name}`: {what} of shot {shot} lies outside the {size} "
                         f"grid at cell {tuple(values[shot, item].tolist())} "
                         f"({int(outside.sum())} outside in all)")
    return values


def _checked_mask(mask: torch.Tensor | np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    values = torch.as_tensor(np.asarray(mask.detach().cpu() if isinstance(mask, torch.Tensor)
                                        else mask))
    if values.dtype != torch.bool or tuple(values.shape) != shape:
        raise ValueError(f"`receiver_mask` must be a bool array of shape [{shape[0]}, {shape[1]}] "
                         f"(shot, receiver; True = live), got {values.dtype} {tuple(values.shape)}")
    return values


def _ignore_masked(cells: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked receivers at deepwave's IGNORE_LOCATION: they record nothing, and a padded
    receiver (which repeats a real one's cell) does not clash with it."""
    return cells.masked_fill(~mask.unsqueeze(-1), deepwave.IGNORE_LOCATION)


def _check_distinct(cells: torch.Tensor, grid: Grid) -> None:
    """deepwave refuses two active receivers of one shot in one cell; say which and why."""
    for shot in range(cells.shape[0]):
        active = cells[shot][(cells[shot] != deepwave.IGNORE_LOCATION).all(dim=-1)]
        flat = torch.zeros(active.shape[0], dtype=torch.long)
        for axis, n in enumerate(grid.shape):  # row-major cell number, in any dimension
            flat = flat * n + active[:, axis]
        if flat.unique().numel() != flat.numel():
            first = [int(i) for i in (flat.unsqueeze(0) == flat.unsqueeze(1)).triu(1).nonzero()[0]]
            raise ValueError(f"two receivers of shot {shot} fall on the same grid node "
                             f"{tuple(active[first[0]].tolist())}; use a grid spacing <= the "
                             f"receiver interval ({grid.dx:g} m now) or mask one of them")


class WaveSolver:
    """The forward operator G: velocity [nz, nx] (m/s) → data [shot, receiver, time].

    The code is dimension-generic (deepwave picks 2-D or 3-D from the model):
    :class:`crfwi.physics.solver3d.WaveSolver3D` is this class on a 3-D grid, with the 3-D checks.

    Args:
        grid: the model grid.
        survey: the acquisition; sources and receivers must lie inside ``grid``. With
            ``receiver_locations`` its ``receiver_x`` only counts the receivers per shot (R).
        max_vel: the largest velocity the run may produce (m/s), e.g. the upper velocity bound.
            It fixes deepwave's internal time step and PML; a model faster than it is rejected.
        pml_freq: frequency the PML is tuned to (Hz); default the wavelet's peak frequency.
        options: :class:`SolverOptions`.
        device: where to simulate.
        dtype: float32 (default) or float64 (for derivative tests).
        wavelet: the source wavelet ``[nt]`` sampled at ``survey.dt`` (a file's, or one estimated
            from field data, :mod:`crfwi.field.wavelet`); default the survey's Ricker.
            ``survey.freq`` stays the dominant frequency the PML and the sampling check use.
        source_locations: cells ``[shot, 1, 2]`` (row, column) instead of the survey's (field
            sources at their own depths).
        receiver_locations: cells ``[shot, R, 2]``, a spread per shot (a moving or irregular
            spread; shots with fewer receivers padded to the widest, ``R = survey.n_receivers``)
            instead of the survey's fixed spread.
        receiver_mask: bool ``[shot, R]``, False at padded and dead receivers. Their predicted
            traces are zero (deepwave ignores them, and they are multiplied by 0), so they add
            nothing to a misfit or its gradient, provided the observed data are zero there too.

    Without the last three the survey's fixed spread is used exactly as before.
    """

    def __init__(self, grid: Grid, survey: Survey, *, max_vel: float, pml_freq: float | None = None,
                 options: SolverOptions | None = None, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32,
                 wavelet: torch.Tensor | np.ndarray | None = None,
                 source_locations: torch.Tensor | np.ndarray | None = None,
                 receiver_locations: torch.Tensor | np.ndarray | None = None,
                 receiver_mask: torch.Tensor | np.ndarray | None = None) -> None:
        self.grid = grid
        self.survey = survey
        self.options = options or SolverOptions()
        self.max_vel = float(max_vel)
        if not math.isfinite(self.max_vel) or self.max_vel <= 0:
            raise ValueError(f"`max_vel` must be a positive velocity in m/s, got {max_vel!r}")
        self.pml_freq = float(survey.freq if pml_freq is None else pml_freq)
        self.device = resolve_device(device)
        self.dtype = dtype
        # Validates the geometry (raises naming the shot or receiver outside the model).
        if source_locations is None:
            self.source_locations = survey.source_locations(grid).to(self.device)
        else:
            cells = _checked_cells("source_locations", source_locations, (survey.n_shots, 1), grid)
            self.source_locations = cells.to(self.device)
        self.per_shot_receivers = receiver_locations is not None
        if receiver_locations is None:
            receivers = survey.receiver_locations(grid)
        else:
            receivers = _checked_cells("receiver_locations", receiver_locations,
                                       (survey.n_shots, survey.n_receivers), grid, receiver_mask)
        self.receiver_mask = None
        if receiver_mask is not None:
            self.receiver_mask = _checked_mask(receiver_mask, (survey.n_shots, survey.n_receivers))
            receivers = _ignore_masked(receivers, self.receiver_mask)
            self.receiver_mask = self.receiver_mask.to(self.device)
        if self.per_shot_receivers or self.receiver_mask is not None:
            _check_distinct(receivers, grid)  # the survey checked its own fixed spread
        self.receiver_locations = receivers.to(self.device)
        self.wavelet_source = "ricker" if wavelet is None else "given"
        self.wavelet = (survey.wavelet() if wavelet is None else _checked_wavelet(wavelet, survey.nt)
                        ).to(device=self.device, dtype=dtype)
        faces = 2 * len(grid.shape)  # deepwave's order: start and end of z, (y,) x
        if survey.free_surface:
            self.boundary = ["free"] + ["pml"] * (faces - 1)
            self.pml_width = [0] + [survey.pml_width] * (faces - 1)
        else:
            self.boundary = ["pml"] * faces
            self.pml_width = [survey.pml_width] * faces

    @property
    def n_shots(self) -> int:
        return self.survey.n_shots

    @property
    def time_substeps(self) -> int:
        """How many internal steps deepwave takes per recording step ``survey.dt`` at ``max_vel``
        (1: none). Above 1 deepwave resamples the source and the data in time, and its adjoint
        is then a coarser quadrature than the exact transpose of its forward (README, Physics)."""
        from deepwave.discretisation import cfl_condition_n

        return int(cfl_condition_n(list(self.grid.spacing), self.survey.dt, self.max_vel,
                                   courant_number=self.options.courant_number or None)[1])

    # ---------------------------------------------------------------------------------------
    def set_wavelet(self, wavelet: torch.Tensor | np.ndarray, source: str = "estimated") -> None:
        """Replace the source wavelet (``[nt]`` at ``survey.dt``), e.g. a field run's wavelet
        re-estimated at the current model; the PML keeps the frequency it was built with."""
        self.wavelet = _checked_wavelet(wavelet, self.survey.nt).to(device=self.device,
                                                                     dtype=self.wavelet.dtype)
        self.wavelet_source = source

    def check_velocity(self, velocity: torch.Tensor, name: str = "velocity") -> None:
        """Raise ``ValueError`` naming ``name`` unless it is a usable model for this solver."""
        ndim = len(self.grid.shape)
        if velocity.ndim != ndim:
            raise ValueError(f"`{name}` must be {ndim}-D {_MODEL_AXES[ndim]}, got shape "
                             f"{tuple(velocity.shape)}")
        if tuple(velocity.shape) != self.grid.shape:
            raise ValueError(f"`{name}` has shape {tuple(velocity.shape)}, the grid is {self.grid.shape}")
        v = velocity.detach()
        if not bool(torch.isfinite(v).all()):
            raise ValueError(f"`{name}` holds non-finite values (NaN or inf)")
        vmin, vmax = float(v.min()), float(v.max())
        if vmin <= 0:
            raise ValueError(f"`{name}` must be positive everywhere (m/s), min is {vmin:g}")
        if vmax > self.max_vel * (1 + 1e-6):
            raise ValueError(f"`{name}` reaches {vmax:g} m/s, above max_vel = {self.max_vel:g} m/s; "
                             "raise the upper velocity bound (inversion.vmax) or physics.max_vel")
        self.check_sampling(vmin)

    def check_sampling(self, vmin: float) -> None:
        """Reject a grid too coarse for the wavelet at velocity ``vmin`` (m/s)."""
        h = max(self.grid.spacing)
        ppw = vmin / (self.survey.freq * h)
        need = self.options.min_points_per_wavelength
        if ppw < need:
            finest = vmin / (self.survey.freq * need)
            raise ValueError(
                f"grid too coarse for the wavelet: {ppw:.2f} points per wavelength at {vmin:g} m/s and "
                f"{self.survey.freq:g} Hz (need >= {need:g}); use spacing <= {finest:.3g} m or a lower "
                "survey.freq")

    def shot_index(self, shots: Sequence[int] | torch.Tensor | None) -> torch.Tensor:
        """Shot indices as a long tensor on the solver's device (``None`` = all), validated."""
        if shots is None:
            return torch.arange(self.n_shots, device=self.device)
        index = torch.as_tensor(shots, dtype=torch.long, device=self.device).reshape(-1)
        if index.numel() == 0:
            raise ValueError("`shots` is empty")
        if int(index.min()) < 0 or int(index.max()) >= self.n_shots:
            raise ValueError(f"`shots` must be indices in 0..{self.n_shots - 1}")
        return index

    def _masked(self, data: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``data`` times the receiver mask of the shots ``index`` (unchanged without a mask)."""
        if self.receiver_mask is None:
            return data
        return data * self.receiver_mask[index].unsqueeze(-1).to(data.dtype)

    def _common_kwargs(self) -> dict:
        opt = self.options
        kwargs = dict(
            accuracy=opt.accuracy, pml_width=self.pml_width, boundary=self.boundary,
            pml_freq=self.pml_freq, max_vel=self.max_vel,
            model_gradient_sampling_interval=opt.gradient_sampling_interval,
            storage_mode=opt.storage, storage_compression=opt.storage_compression,
        )
        if opt.courant_number:
            kwargs["courant_number"] = opt.courant_number
        if opt.checkpoint_segments:
            kwargs["checkpoint_segments"] = opt.checkpoint_segments
        return kwargs

    def _geometry(self, index: torch.Tensor) -> dict:
        n = index.numel()
        return dict(
            source_amplitudes=self.wavelet.reshape(1, 1, -1).expand(n, 1, -1).contiguous(),
            source_locations=self.source_locations[index],
        )

    # ---------------------------------------------------------------------------------------
    def simulate(self, velocity: torch.Tensor, shots: Sequence[int] | torch.Tensor | None = None,
                 *, check: bool = True) -> torch.Tensor:
        """Receiver data ``[len(shots), n_receivers, nt]`` for ``velocity`` [nz, nx] in m/s.

        Differentiable with respect to ``velocity`` (reverse mode through deepwave's adjoint,
        forward mode via its Born rule). ``shots`` selects shots by index (default all).
        """
        if check:
            self.check_velocity(velocity)
        index = self.shot_index(shots)
        velocity = velocity.to(device=self.device, dtype=self.dtype)
        with warnings.catch_warnings():
            _quiet_deepwave()
            out = deepwave.scalar(
                velocity, list(self.grid.spacing), self.survey.dt,
                receiver_locations=self.receiver_locations[index],
                **self._geometry(index), **self._common_kwargs())
        return self._masked(out.receiver_amplitudes, index)

    def born(self, velocity: torch.Tensor, perturbation: torch.Tensor,
             shots: Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
        """Born (linearised) data J_G·δm, ``[len(shots), n_receivers, nt]``.

        ``perturbation`` δm is a velocity perturbation [nz, nx] in m/s, or a batch
        ``[len(shots), nz, nx]`` (one direction per shot, e.g. several directions as extra shots).
        Backpropagating through the result applies the adjoint J_Gᵀ.
        """
        self.check_velocity(velocity)
        index = self.shot_index(shots)
        velocity = velocity.to(device=self.device, dtype=self.dtype)
        perturbation = perturbation.to(device=self.device, dtype=self.dtype)
        if perturbation.ndim == len(self.grid.shape) + 1:
            if perturbation.shape[0] != index.numel():
                raise ValueError("a batched `perturbation` needs one direction per selected shot")
            velocity = velocity.unsqueeze(0).expand_as(perturbation).contiguous()
        with warnings.catch_warnings():
            _quiet_deepwave()
            out = deepwave.scalar_born(
                velocity, list(self.grid.spacing), self.survey.dt, dv=perturbation,
                sc_receiver_locations=self.receiver_locations[index],
                **self._geometry(index), **self._common_kwargs())
        return self._masked(out.sc_receiver_amplitudes, index)

    def describe(self) -> dict:
        """The settings that define the operator, for run folders."""
        return {
            "solver": "deepwave.scalar", "deepwave_version": deepwave.__version__,
            "accuracy": self.options.accuracy, "max_vel": self.max_vel, "pml_freq": self.pml_freq,
            "boundary": self.boundary, "pml_width": self.pml_width,
            "storage": self.options.storage, "storage_compression": self.options.storage_compression,
            "gradient_sampling_interval": self.options.gradient_sampling_interval,
            "checkpoint_segments": self.options.checkpoint_segments,
            "time_substeps": self.time_substeps, "wavelet": self.wavelet_source,
            "receivers": "per shot" if self.per_shot_receivers else "fixed spread",
            "masked_receivers": (0 if self.receiver_mask is None
                                 else int((~self.receiver_mask).sum())),
        }
