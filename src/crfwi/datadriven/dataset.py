"""Training data: crfwi's procedural OpenFWI-like maps and their data from crfwi's own solver.

**Acquisition** (OpenFWI's, Deng et al. 2022; ``dataset_config.json`` of lanl/OpenFWI: ``ns`` 5,
``ng`` 70, ``dx`` 10, ``f`` 15, ``dt`` 1e-3, ``nt`` 1000, ``sz`` = ``gz`` = 10 m): a 70 × 70 map
at 10 m; 5 sources one cell (10 m) deep at x = 0, 170, 340, 520, 690 m (cells 0, 17, 34, 52, 69 =
``round(linspace(0, 69, 5))``, as the ``openfwi`` preset's 172.5 m spacing rounds to); 70
receivers every 10 m, one cell deep; a 15 Hz Ricker; dt 1 ms, 1000 samples; absorbing boundaries on
all four sides (OpenFWI had no free surface; its 120-cell absorbing band is crfwi's 20-cell PML
here, the same as every crfwi run). The solver is :class:`crfwi.physics.solver.WaveSolver` with
``max_vel`` = 4900 m/s, the upper velocity bound of the CR-FWI OpenFWI runs, so the data are what
those runs' forward operator gives for the same map (same deepwave time step, PML and wavelet).

**Maps**: :func:`crfwi.models.procedural.flatvel`, ``curvevel``, ``flatfault``, ``curvefault`` (2-5 layers,
velocities uniform in OpenFWI's 1500-4500 m/s, increasing with depth). Map ``i`` of family ``f``
(position ``f`` in :data:`FAMILIES`) has zoo seed ``seed + 100_000 · f + i``: different families
never share a random stream. Training maps are ``i < n_train``, validation maps the next ``n_val``
of the same family (held-out seeds).

**Noise** is not stored: it is drawn at training time (:func:`add_noise_batch`) as in the CR-FWI
runs' ``data.noise`` k (:func:`crfwi.physics.signal.add_noise`): white Gaussian noise of standard
deviation k·σ0, σ0 the population standard deviation of all samples of that map's clean data
(all shots). σ0 is stored per map.

**Cache**: a folder with ``dataset.json`` (the settings) and chunks ``chunk_NNNNN.npz``
(``data`` float32 ``[n, shots, receivers, time]`` as the solver returns it, ``models`` float32
``[n, nz, nx]`` m/s, ``sigma0``, ``family``, ``seed``), each written atomically, so an interrupted
generation continues with the first missing chunk.
"""

from __future__ import annotations

import io as _io
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .. import io
from ..models import procedural
from ..physics.geometry import Grid, Survey
from ..physics.solver import WaveSolver

__all__ = ["FAMILIES", "Acquisition", "DatasetSpec", "openfwi_solver", "simulate_maps",
           "generate", "load", "normalise_velocity", "denormalise_velocity", "add_noise_batch",
           "DataScale", "V_MIN", "V_MAX", "MAX_VEL", "write_npz", "spec_of"]

#: The procedural families (crfwi.models.procedural), in the order that sets their seed offsets.
FAMILIES: dict[str, Callable[..., np.ndarray]] = {
    "flatvel": procedural.flatvel, "curvevel": procedural.curvevel,
    "flatfault": procedural.flatfault, "curvefault": procedural.curvefault,
}
# OpenFWI's label range, m/s: the [-1, 1] normalisation
V_MIN, V_MAX = procedural.V_MIN, procedural.V_MAX
MAX_VEL = 4900.0  # m/s: the openfwi preset's upper bound, which fixes the CR-FWI runs' solver
SEED_STRIDE = 100_000  # seed offset between families
SPEC_FILE = "dataset.json"


@dataclass(frozen=True)
class Acquisition:
    """OpenFWI's acquisition scaled to a grid (defaults: OpenFWI's exactly).

    Sources at columns ``round(linspace(0, nx - 1, n_shots))``, receivers on every column, both
    ``depth_cells`` below the top. ``nz``/``nx``/``nt`` smaller than OpenFWI's are for tests.
    """

    nz: int = 70
    nx: int = 70
    spacing: float = 10.0
    n_shots: int = 5
    freq: float = 15.0
    dt: float = 0.001
    nt: int = 1000
    depth_cells: int = 1
    pml_width: int = 20
    max_vel: float = MAX_VEL

    def grid(self) -> Grid:
        return Grid(self.nz, self.nx, self.spacing)

    def survey(self) -> Survey:
        columns = np.round(np.linspace(0, self.nx - 1, self.n_shots))
        depth = self.depth_cells * self.spacing
        return Survey(source_x=tuple(columns * self.spacing),
                      receiver_x=tuple(np.arange(self.nx) * self.spacing),
                      freq=self.freq, dt=self.dt, nt=self.nt, source_depth=depth,
                      receiver_depth=depth, free_surface=False, pml_width=self.pml_width)


def openfwi_solver(acquisition: Acquisition | None = None) -> WaveSolver:
    """The :class:`WaveSolver` of ``acquisition`` (default OpenFWI's), on the CPU, float32."""
    acq = acquisition or Acquisition()
    return WaveSolver(acq.grid(), acq.survey(), max_vel=acq.max_vel, device="cpu")


def simulate_maps(solver: WaveSolver, models: np.ndarray) -> np.ndarray:
    """Clean data ``[n, shots, receivers, time]`` float32 of velocity maps ``[n, nz, nx]`` (m/s):
    all shots of one map per solver call, without building a graph."""
    out = np.empty((len(models), solver.n_shots, solver.survey.n_receivers, solver.survey.nt),
                   dtype=np.float32)
    with torch.no_grad():
        for i, model in enumerate(models):
            out[i] = solver.simulate(torch.as_tensor(np.asarray(model, dtype=np.float32))).numpy()
    return out


@dataclass(frozen=True)
class DatasetSpec:
    """What a cache folder holds; a folder is only continued with the same spec."""

    n_train: int  # maps per family for training
    n_val: int  # held-out maps per family for validation
    families: tuple[str, ...] = tuple(FAMILIES)
    seed: int = 0
    chunk: int = 50
    acquisition: Acquisition = field(default_factory=Acquisition)

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "chunk", "seed"):
            value = getattr(self, name)
            low = 0 if name in ("n_val", "seed") else 1
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}")
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown or not self.families:
            raise ValueError(f"unknown families {unknown or '(none)'}; choose from "
                             f"{', '.join(FAMILIES)}")
        object.__setattr__(self, "families", tuple(self.families))

    def items(self) -> list[tuple[str, str, int]]:
        """Every map as ``(split, family, zoo seed)``, in the cache's order."""
        out = []
        for family in self.families:
            base = self.seed + SEED_STRIDE * list(FAMILIES).index(family)
            out += [("train", family, base + i) for i in range(self.n_train)]
            out += [("val", family, base + self.n_train + i) for i in range(self.n_val)]
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["families"] = list(self.families)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DatasetSpec":
        d = dict(d)
        d["acquisition"] = Acquisition(**d["acquisition"])
        d["families"] = tuple(d["families"])
        return cls(**d)


def write_npz(path: Path, **arrays) -> None:
    """``np.savez`` of ``arrays`` to ``path``, atomically (an interrupted write leaves no chunk)."""
    buffer = _io.BytesIO()
    np.savez(buffer, **arrays)
    io.atomic_write(path, buffer.getvalue())


def _check_spec(folder: Path, spec: DatasetSpec) -> None:
    path = folder / SPEC_FILE
    if path.exists():
        old = json.loads(path.read_text())
        if old != json.loads(json.dumps(spec.to_dict())):
            raise ValueError(f"{folder} holds a data set made with other settings ({path}); "
                             "use a new folder or the same settings")
    else:
        io.save_json(path, spec.to_dict())


def generate(folder: str | Path, spec: DatasetSpec, *,
             log: Callable[[str], None] = lambda _: None) -> Path:
    """Make (or continue) the cached data set of ``spec`` in ``folder``; returns the folder.

    Chunks already present are kept; the others are simulated and written one at a time.
    """
    folder = Path(folder)
    _check_spec(folder, spec)
    solver = openfwi_solver(spec.acquisition)
    grid = spec.acquisition.grid()
    items = spec.items()
    chunks = range(0, len(items), spec.chunk)
    done = sum((folder / f"chunk_{k // spec.chunk:05d}.npz").exists() for k in chunks)
    log(f"{len(items)} maps in {len(chunks)} chunks, {done} already there")
    start, made = time.perf_counter(), 0
    for k in chunks:
        path = folder / f"chunk_{k // spec.chunk:05d}.npz"
        if path.exists():
            continue
        part = items[k:k + spec.chunk]
        models = np.stack([FAMILIES[family](grid, seed=seed) for _, family, seed in part])
        data = simulate_maps(solver, models)
        sigma0 = data.astype(np.float64).reshape(len(part), -1).std(axis=1)
        write_npz(path, data=data, models=models, sigma0=sigma0,
                      family=np.array([f for _, f, _ in part]), seed=np.array([s for *_, s in part]),
                      split=np.array([s for s, _, _ in part]))
        made += len(part)
        rate = (time.perf_counter() - start) / made
        left = len(items) - (k + len(part))
        log(f"{path.name}: maps {k}-{k + len(part) - 1} ({rate:.2f} s/map, ~{left * rate / 60:.1f} "
            f"min left)")
    return folder


def load(folder: str | Path, split: str | None = None, *,
         dtype: np.dtype = np.float32) -> dict[str, np.ndarray]:
    """The cached set (or one ``split``, "train" or "val") as arrays ``data`` (``dtype``: float16
    halves the memory of a large set), ``models``, ``sigma0``, ``family``, ``seed``, ``split``;
    refuses an incomplete folder."""
    folder = Path(folder)
    if not (folder / SPEC_FILE).exists():
        raise FileNotFoundError(f"{folder} holds no data set ({SPEC_FILE} missing); make one with "
                                "the `data` command")
    spec = spec_of(folder)
    items = spec.items()
    n_chunks = -(-len(items) // spec.chunk)
    missing = [k for k in range(n_chunks) if not (folder / f"chunk_{k:05d}.npz").exists()]
    if missing:
        raise ValueError(f"{folder} is incomplete: {len(missing)} of {n_chunks} chunks missing; "
                         "run the `data` command again to continue it")
    acq = spec.acquisition
    n = sum(1 for s, _, _ in items if split is None or s == split)
    # Preallocated and filled chunk by chunk: a full set is GBs, a concatenate would double it.
    out = {"data": np.empty((n, acq.n_shots, acq.nx, acq.nt), dtype=dtype),
           "models": np.empty((n, acq.nz, acq.nx), dtype=np.float32)}
    small: dict[str, list] = {}
    at = 0
    for k in range(n_chunks):
        with np.load(folder / f"chunk_{k:05d}.npz") as z:
            keep = np.ones(len(z["split"]), bool) if split is None else z["split"] == split
            m = int(keep.sum())
            out["data"][at:at + m] = z["data"][keep]
            out["models"][at:at + m] = z["models"][keep]
            for key in ("sigma0", "family", "seed", "split"):
                small.setdefault(key, []).append(z[key][keep])
            at += m
    out.update({key: np.concatenate(v) for key, v in small.items()})
    return out


def spec_of(folder: str | Path) -> DatasetSpec:
    return DatasetSpec.from_dict(json.loads((Path(folder) / SPEC_FILE).read_text()))


# --- normalisation ----------------------------------------------------------------------------
def normalise_velocity(v):
    """m/s → OpenFWI's [-1, 1] scale: 1500 m/s → -1, 4500 m/s → +1 (MinMaxNormalize)."""
    return 2.0 * (v - V_MIN) / (V_MAX - V_MIN) - 1.0


def denormalise_velocity(u):
    """OpenFWI's [-1, 1] scale → m/s."""
    return V_MIN + (u + 1.0) * 0.5 * (V_MAX - V_MIN)


@dataclass(frozen=True)
class DataScale:
    """OpenFWI's input transform, made independent of the amplitude unit: the data
    ``[.., shots, receivers, time]`` become ``[.., shots, time, receivers]`` (OpenFWI's layout),
    then ``sign(d) · log1p(|d| / s) / log1p(a / s)``: OpenFWI's ``LogTransform`` (k = 1) and
    min-max normalisation by the training set's peak, with the amplitudes measured in units of
    ``s`` = the training maps' mean σ0 (``a`` = their largest clean |amplitude|), so the
    transform is the same whatever the source scaling."""

    s: float
    a: float

    @classmethod
    def fit(cls, data: np.ndarray, sigma0: np.ndarray) -> "DataScale":
        # max and -min, not abs().max(): no temporary copy of a set of several GB
        return cls(s=float(np.mean(sigma0)), a=float(max(data.max(), -data.min())))

    def __call__(self, data: torch.Tensor) -> torch.Tensor:
        x = data.transpose(-1, -2)
        return torch.sign(x) * torch.log1p(x.abs() / self.s) / float(np.log1p(self.a / self.s))


def add_noise_batch(data: torch.Tensor, sigma0: torch.Tensor, k: torch.Tensor,
                    generator: torch.Generator) -> torch.Tensor:
    """``data`` ``[batch, ...]`` plus white Gaussian noise of standard deviation ``k · σ0`` per map
    (the definition of :func:`crfwi.physics.signal.add_noise`, drawn with torch for speed)."""
    scale = (k * sigma0).to(data.dtype).reshape(-1, *([1] * (data.ndim - 1)))
    return data + scale * torch.randn(data.shape, generator=generator, dtype=data.dtype)


def family_names(values: Sequence[str]) -> list[str]:
    return sorted(set(str(v) for v in values))
