"""Earth models: what the inversion starts from and what it is scored against.

* :mod:`~crfwi.models.zoo` — the 2-D benchmark models by name (files in the data directory,
  resampled to a grid, or procedural stand-ins) and the initial models; the usual way in.
* :mod:`~crfwi.models.zoo3d` — the same for 3-D volumes.
* :mod:`~crfwi.models.procedural` — seeded generators (layered, faulted, salt, OpenFWI-like
  families) on any grid.
* :mod:`~crfwi.models.initial_models` — smooth, linear, constant and file starts.
* :mod:`~crfwi.models.openfwi` — maps k of OpenFWI's test stacks (``openfwi:<family>:<k>``).
* :mod:`~crfwi.models.datadir` — the data directory and its ``models.json``.
"""
