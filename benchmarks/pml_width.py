"""How wide must the absorbing layer be? Data with a PML of w cells against data of the same
survey in a domain so large that nothing returns from its edges within the record.

For the cpu scale of the 3-D Overthrust preset (125 m cells, 4.8 Hz, 6.25 ms × 400 samples, free
surface, receivers on every surface cell, a shot near a corner): the error
‖d_w − d_ref‖ / ‖d_ref‖ over all traces, at the preset's slowest and fastest velocities, in
2-D and in 3-D. A 3-D shot's cost grows with the padded volume, (nz + w)(ny + 2w)(nx + 2w), so
the PML width is the largest single lever on the 3-D cpu preset's time.

    OMP_NUM_THREADS=1 python benchmarks/pml_width.py [--widths 5 10 15 20] [--no-3d]
"""
from __future__ import annotations

import argparse
import time

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP

import numpy as np
import torch

from crfwi.physics.geometry import Grid, Survey
from crfwi.physics.geometry3d import Grid3D, Survey3D
from crfwi.physics.solver import SolverOptions, WaveSolver
from crfwi.physics.solver3d import WaveSolver3D

SPACING, FREQ, DT, NT = 125.0, 4.8, 0.00625, 400  # the overthrust3d preset at cpu scale
NZ, NX = 24, 64
VELOCITIES = (2200.0, 6200.0)  # the preset's bounds
EXTRA = 75  # cells added on every absorbing side of the reference (> half the record's travel)
OPTIONS = SolverOptions(min_points_per_wavelength=3.5)  # as the preset (its docstring says why)


def _data_2d(v: float, width: int, extra: int) -> np.ndarray:
    grid = Grid(NZ + extra, NX + 2 * extra, SPACING)
    sx = SPACING * (extra + NX // 4)
    survey = Survey(source_x=(sx,), receiver_x=tuple(SPACING * (extra + np.arange(NX))),
                    freq=FREQ, dt=DT, nt=NT, free_surface=True, pml_width=width)
    solver = WaveSolver(grid, survey, max_vel=v, pml_freq=FREQ, options=OPTIONS)
    with torch.no_grad():
        return solver.simulate(torch.full(grid.shape, v)).double().numpy()


def _data_3d(v: float, width: int, extra: int) -> np.ndarray:
    grid = Grid3D(NZ + extra, NX + 2 * extra, NX + 2 * extra, SPACING)
    corner = SPACING * (extra + NX // 4)
    ry, rx = np.meshgrid(SPACING * (extra + np.arange(0, NX, 2)),
                         SPACING * (extra + np.arange(0, NX, 2)), indexing="ij")
    survey = Survey3D(source_y=(corner,), source_x=(corner,), receiver_y=tuple(ry.ravel()),
                      receiver_x=tuple(rx.ravel()), freq=FREQ, dt=DT, nt=NT, free_surface=True,
                      pml_width=width)
    solver = WaveSolver3D(grid, survey, max_vel=v, pml_freq=FREQ, options=OPTIONS)
    with torch.no_grad():
        return solver.simulate(torch.full(grid.shape, v)).double().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[5, 10, 15, 20])
    parser.add_argument("--no-3d", action="store_true")
    args = parser.parse_args()
    print("| dims | v (m/s) | PML (cells) | error vs unbounded | padded cells | s a shot |")
    print("|---|---|---|---|---|---|")
    for dims, simulate in ((2, _data_2d), (3, _data_3d)):
        if dims == 3 and args.no_3d:
            continue
        for v in VELOCITIES:
            reference = simulate(v, 20, EXTRA)
            for width in args.widths:
                start = time.perf_counter()
                data = simulate(v, width, 0)
                seconds = time.perf_counter() - start
                error = np.linalg.norm(data - reference) / np.linalg.norm(reference)
                cells = (NZ + width) * (NX + 2 * width) ** (dims - 1)
                print(f"| {dims}-D | {v:.0f} | {width} | {error:.2e} | {cells:,} | {seconds:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
