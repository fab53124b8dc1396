"""crfwi: full-waveform inversion with continuous representations of the subsurface model."""

import os as _os
import sys as _sys

# OpenMP threads (torch's and deepwave's) spin while waiting by default; on a machine whose cores
# are shared with other work that made runs up to 10x slower here (measured on 2 cores: 26 s vs
# 2.8 s for the same toy inversion). Passive waiting costs nothing measurable when the cores are
# free. It must be set before torch loads its OpenMP runtime (libgomp reads it once, when torch
# is imported, and has no call to change it later); a user's own setting wins.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if "torch" in _sys.modules:  # too late for this process: say so once, with the fix
        import warnings as _warnings

        _warnings.warn(
            "crfwi was imported after torch, so OpenMP threads spin while they wait; on a machine "
            "whose cores are busy with other work this can make runs several times slower. "
            "Import crfwi before torch, or set OMP_WAIT_POLICY=PASSIVE in the environment.",
            RuntimeWarning, stacklevel=2)

__version__ = "0.1.0"

from .config import RunConfig, load_config  # noqa: E402
from .experiment import Experiment, build_experiment  # noqa: E402
from .physics.geometry import Grid, Survey, ricker  # noqa: E402
from .inversion.loop import Inversion, State, make_optimizer, shot_batch  # noqa: E402
from .analysis.metrics import evaluate  # noqa: E402
from .physics.solver import SolverOptions, WaveSolver  # noqa: E402
from .representations import Representation, VelocityModel  # noqa: E402
from .representations import available as available_methods  # noqa: E402
from .representations import build as build_representation  # noqa: E402
from .runner import RunResult, resume_inversion, run_inversion  # noqa: E402
from .models.zoo import initial_model, list_models, load_model, water_mask  # noqa: E402

__all__ = [
    "__version__",
    # geometry and physics
    "Grid", "Survey", "ricker", "WaveSolver", "SolverOptions",
    # models
    "load_model", "list_models", "initial_model", "water_mask",
    # representations
    "Representation", "VelocityModel", "build_representation", "available_methods",
    # inversion
    "Inversion", "State", "make_optimizer", "shot_batch", "evaluate",
    # runs
    "RunConfig", "load_config", "Experiment", "build_experiment", "run_inversion",
    "resume_inversion", "RunResult",
]
