"""Representations of the velocity perturbation F_θ, one file each, behind one registry.

``build(name, grid, **options)`` builds one; ``available()`` lists the names.
"""

from .base import Representation, VelocityModel, available, build, describe, options, register
from . import pixel  # noqa: F401  (registers "pixel")
from . import siren  # noqa: F401  (registers "siren")
from . import gabor  # noqa: F401  (registers "gabor")
from . import lowrank  # noqa: F401  (registers "lowrank")
from . import hashgrid  # noqa: F401  (registers "hashgrid")
from . import hybrid  # noqa: F401  (registers "ig", "lrg")

__all__ = ["Representation", "VelocityModel", "available", "build", "describe", "options", "register"]
