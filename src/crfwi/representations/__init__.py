"""Representations of the velocity perturbation F_θ, one file each, behind one registry.

``build(name, grid, **options)`` builds one; ``available()`` lists the names.
"""

from .base import Representation, VelocityModel, available, build, describe, options, register
from . import pixel  # noqa: F401  (registers "pixel")

__all__ = ["Representation", "VelocityModel", "available", "build", "describe", "options", "register"]
