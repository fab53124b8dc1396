"""The 3-D grid and areal survey (issue 15): axes (z, y, x), normalised coordinates, the surface
layout of shots and receivers, and the 2-D validation rules in 3-D."""

import numpy as np
import pytest
import torch

from crfwi.physics.geometry import Grid
from crfwi.physics.geometry3d import Grid3D, Survey3D


def test_grid3d_coordinates_are_normalised_depth_first_then_y_then_x():
    grid = Grid3D(3, 4, 5, 10.0, 20.0, 30.0)
    c = grid.coords()
    assert c.shape == (3, 4, 5, 3)
    assert torch.allclose(c[:, 0, 0, 0], torch.tensor([-1.0, 0.0, 1.0]))
    assert torch.allclose(c[0, :, 0, 1], torch.linspace(-1, 1, 4))
    assert torch.allclose(c[0, 0, :, 2], torch.linspace(-1, 1, 5))
    assert bool((c[:, 2, 3, 0] == c[:, 0, 0, 0]).all())  # z depends on the row only
    assert grid.shape == (3, 4, 5) and grid.spacing == (10.0, 20.0, 30.0) and grid.size == 60
    assert grid.extent == (20.0, 60.0, 120.0)
    assert np.allclose(grid.y(), [0, 20, 40, 60]) and np.allclose(grid.x()[-1], 120.0)
    assert Grid3D(2, 1, 4, 5.0).coords()[0, 0, 0, 1] == 0.0  # a one-cell axis sits at the centre
    assert Grid3D(2, 3, 4, 5.0).spacing == (5.0, 5.0, 5.0)  # dy, dx default to dz
    assert grid.inline_grid() == Grid(3, 5, 10.0, 30.0)
    assert grid.to_dict() == {"nz": 3, "ny": 4, "nx": 5, "dz": 10.0, "dy": 20.0, "dx": 30.0}


@pytest.mark.parametrize("kwargs,match", [
    (dict(nz=0, ny=3, nx=3, dz=10.0), "nz"), (dict(nz=3, ny=2.5, nx=3, dz=10.0), "ny"),
    (dict(nz=3, ny=3, nx=3, dz=10.0, dy=-1.0), "dy"),
    (dict(nz=3, ny=3, nx=3, dz=10.0, dx=float("nan")), "dx")])
def test_grid3d_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Grid3D(**kwargs)


def test_index_of_rounds_and_names_the_axis_outside():
    grid = Grid3D(10, 8, 20, 10.0)
    assert grid.index_of(z=14.0, y=26.0, x=101.0) == (1, 3, 10)
    with pytest.raises(ValueError, match="position y = 75 m lies outside"):
        grid.index_of(z=0.0, y=75.0, x=0.0)
    with pytest.raises(ValueError, match="depth 95 m lies outside"):
        grid.index_of(z=95.0, y=0.0, x=0.0)


def test_surface_grid_lays_out_shots_x_fastest_and_receivers_on_every_cell():
    grid = Grid3D(6, 5, 7, 10.0)
    survey = Survey3D.surface_grid(grid, shots=(2, 3), freq=10.0, dt=0.004, nt=50)
    assert survey.n_shots == 6 and survey.n_receivers == 5 * 7
    assert survey.source_y == (0.0, 0.0, 0.0, 40.0, 40.0, 40.0)
    assert survey.source_x == (0.0, 30.0, 60.0) * 2
    cells = survey.source_locations(grid)
    assert cells.shape == (6, 1, 3) and cells[4, 0].tolist() == [1, 4, 3]  # depth dz by default
    receivers = survey.receiver_locations(grid)
    assert receivers.shape == (6, 35, 3) and receivers[0, 8].tolist() == [1, 1, 1]
    spaced = Survey3D.surface_grid(grid, shots=2, shot_spacing=(20.0, 40.0), freq=10.0,
                                   dt=0.004, nt=50, receiver_spacing=20.0, source_depth=0.0)
    assert spaced.source_y == (10.0, 10.0, 30.0, 30.0)  # centred on the 40 m crossline span
    assert spaced.source_x == (10.0, 50.0, 10.0, 50.0)
    assert spaced.n_receivers == 3 * 4 and spaced.source_locations(grid)[0, 0, 0] == 0
    first = Survey3D.surface_grid(grid, shots=(1, 2), shot_spacing=10.0, first_shot=(0.0, 5.0),
                                  freq=10.0, dt=0.004, nt=50)
    assert first.source_x == (5.0, 15.0)
    picked = survey.select([5, 0])
    assert picked.source_x == (60.0, 0.0) and picked.receiver_x == survey.receiver_x
    assert survey.to_dict()["delay"] == pytest.approx(0.15)


def test_survey3d_validation_names_the_shot_or_receiver():
    grid = Grid3D(6, 5, 7, 10.0)
    outside = Survey3D(source_y=(0.0, 45.0), source_x=(0.0, 10.0), receiver_y=(0.0,),
                       receiver_x=(0.0,), freq=10.0, dt=0.004, nt=20)
    with pytest.raises(ValueError, match="source of shot 1: position y = 45 m lies outside"):
        outside.source_locations(grid)
    deep = Survey3D(source_y=(0.0,), source_x=(0.0,), receiver_y=(0.0, 10.0),
                    receiver_x=(0.0, 70.0), freq=10.0, dt=0.004, nt=20)
    with pytest.raises(ValueError, match="receiver 1: position x = 70 m lies outside"):
        deep.receiver_locations(grid)
    twice = Survey3D.surface_grid(grid, shots=1, freq=10.0, dt=0.004, nt=20,
                                  receiver_spacing=(4.0, 10.0))
    with pytest.raises(ValueError, match="two receivers fall on the same grid node"):
        twice.receiver_locations(grid)
    with pytest.raises(ValueError, match="cannot sample"):
        Survey3D(source_y=(0.0,), source_x=(0.0,), receiver_y=(0.0,), receiver_x=(0.0,),
                 freq=25.0, dt=0.01, nt=10)
    with pytest.raises(ValueError, match="`receiver_y` and `receiver_x` must have the same"):
        Survey3D(source_y=(0.0,), source_x=(0.0,), receiver_y=(0.0, 1.0), receiver_x=(0.0,),
                 freq=10.0, dt=0.004, nt=10)
    with pytest.raises(ValueError, match="source_depth"):
        Survey3D(source_y=(0.0,), source_x=(0.0,), receiver_y=(0.0,), receiver_x=(0.0,),
                 freq=10.0, dt=0.004, nt=10, source_depth=-1.0)
    with pytest.raises(ValueError, match="first_shot` needs `shot_spacing"):
        Survey3D.surface_grid(grid, shots=2, freq=10.0, dt=0.004, nt=10, first_shot=(0.0, 0.0))
    with pytest.raises(ValueError, match="shots"):
        Survey3D.surface_grid(grid, shots=(1, 2, 3), freq=10.0, dt=0.004, nt=10)
    with pytest.raises(ValueError, match="shot index 2 out of range"):
        twice.select([2])
