"""Make a small 2-D "field" line to try crfwi's field workflow on (README, "Invert your own data").

Writes, into the folder given (default: the current one):
  line.sgy   6 shot gathers, 120 receivers each, 2 ms × 600 samples, simulated by crfwi in its
             layered model; coordinates are line positions starting at x = 2000 m (as a real
             survey's would be, not grid positions), so the run must place them on its grid;
  well.csv   the true velocity at x = 2600 m, depth (m) and velocity (m/s), as a well log.

    python examples/make_field_line.py [FOLDER]
"""

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP

import sys
from pathlib import Path

import numpy as np
import torch

from crfwi.models import zoo
from crfwi.field.acquisition import FieldData
from crfwi.field.segy import write_data_segy
from crfwi.physics.geometry import Grid, Survey
from crfwi.physics.solver import WaveSolver

LINE_START = 2000.0  # m: where the grid's x = 0 lies on the line
WELL_X = 600.0  # m along the grid (2600 m on the line)


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    grid = Grid(40, 120, 10.0)
    true, _ = zoo.load_model("layered", grid, seed=0)
    survey = Survey.surface(grid, n_shots=6, freq=10.0, dt=0.002, nt=600)
    with torch.no_grad():
        data = WaveSolver(grid, survey, max_vel=float(true.max())).simulate(torch.as_tensor(true))
    line = FieldData.from_arrays(
        data.numpy(), dt=survey.dt, source_inline=np.add(survey.source_x, LINE_START),
        receiver_inline=np.add(survey.receiver_x, LINE_START), source_depth=survey.source_depth,
        receiver_depth=survey.receiver_depth)
    write_data_segy(folder / "line.sgy", line)
    column = int(round(WELL_X / grid.dx))
    depths = np.arange(grid.nz) * grid.dz
    np.savetxt(folder / "well.csv", np.column_stack([depths, true[:, column]]), delimiter=",",
               header="depth_m,velocity_m_s", comments="", fmt="%.1f")
    print(f"wrote {folder / 'line.sgy'} and {folder / 'well.csv'} (well at x = "
          f"{LINE_START + WELL_X:.0f} m on the line)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
