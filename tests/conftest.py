"""Import crfwi before anything loads torch: it sets OMP_WAIT_POLICY=PASSIVE, which keeps the
suite fast on a machine whose cores are shared (spinning OpenMP threads made single calls ~100x
slower there)."""

import crfwi  # noqa: F401
