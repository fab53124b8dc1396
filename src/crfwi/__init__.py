"""crfwi: full-waveform inversion with continuous representations of the subsurface model."""

import os as _os

# OpenMP threads (torch's and deepwave's) spin while waiting by default; on a machine whose cores
# are shared with other work that made runs up to 10x slower here (measured on 2 cores: 26 s vs
# 2.8 s for the same toy inversion). Passive waiting costs nothing measurable when the cores are
# free. It must be set before torch loads its OpenMP runtime; a user's own setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
