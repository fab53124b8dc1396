"""``python -m crfwi`` is the ``crfwi`` command (and what ``torchrun -m crfwi`` and
``crfwi invert --nproc N`` start as each rank of a shot-parallel run)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
