import numpy as np
import pytest
import torch

from crfwi.physics.geometry import Grid, Survey, ricker


def test_grid_coordinates_are_normalised_depth_first():
    grid = Grid(3, 5, 10.0, 20.0)
    c = grid.coords()
    assert c.shape == (3, 5, 2)
    assert torch.allclose(c[:, 0, 0], torch.tensor([-1.0, 0.0, 1.0]))
    assert torch.allclose(c[0, :, 1], torch.linspace(-1, 1, 5))
    assert grid.extent == (20.0, 80.0) and grid.spacing == (10.0, 20.0)
    assert Grid(1, 4, 5.0).coords()[0, 0, 0] == 0.0  # a one-cell axis sits at the centre


@pytest.mark.parametrize("kwargs,match", [
    (dict(nz=0, nx=3, dz=10.0), "nz"), (dict(nz=3, nx=2.5, dz=10.0), "nx"),
    (dict(nz=3, nx=3, dz=-1.0), "dz"), (dict(nz=3, nx=3, dz=float("nan")), "dz")])
def test_grid_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Grid(**kwargs)


def test_index_of_rounds_and_rejects_points_outside():
    grid = Grid(10, 20, 10.0)
    assert grid.index_of(z=14.0, x=26.0) == (1, 3)
    with pytest.raises(ValueError, match="outside"):
        grid.index_of(z=0.0, x=191.0)


def test_surface_survey_positions():
    grid = Grid(20, 101, 15.0)  # 1500 m wide
    s = Survey.surface(grid, n_shots=5, freq=8.0, dt=0.002, nt=100)
    assert s.source_x == (0.0, 375.0, 750.0, 1125.0, 1500.0)
    assert s.n_receivers == 101 and s.source_depth == 15.0
    s = Survey.surface(grid, n_shots=3, shot_spacing=300.0, freq=8.0, dt=0.002, nt=100)
    assert s.source_x == (450.0, 750.0, 1050.0)  # centred
    s = Survey.surface(grid, n_shots=3, shot_spacing=300.0, first_shot=0.0, receiver_spacing=30.0,
                       freq=8.0, dt=0.002, nt=100)
    assert s.source_x == (0.0, 300.0, 600.0) and s.n_receivers == 51
    loc = s.source_locations(grid)
    assert loc.shape == (3, 1, 2) and loc[1, 0].tolist() == [1, 20]
    rec = s.receiver_locations(grid)
    assert rec.shape == (3, 51, 2) and rec[0, -1].tolist() == [1, 100]
    assert s.select([2, 0]).source_x == (600.0, 0.0)


def test_ricker_peak_and_delay():
    w = ricker(10.0, 200, 0.001)
    assert int(torch.argmax(w)) == 150 and float(w.max()) == pytest.approx(1.0)
    assert abs(float(ricker(10.0, 400, 0.001).sum())) < 1e-3  # zero mean: no DC
    spectrum = np.abs(np.fft.rfft(ricker(10.0, 2000, 0.001).numpy()))
    assert np.fft.rfftfreq(2000, 0.001)[spectrum.argmax()] == pytest.approx(10.0, abs=0.5)


def test_survey_validation():
    with pytest.raises(ValueError, match="source_x"):
        Survey(source_x=(), receiver_x=(0.0,), freq=8.0, dt=0.002, nt=10)
    with pytest.raises(ValueError, match="depth"):
        Survey(source_x=(0.0,), receiver_x=(0.0,), freq=8.0, dt=0.002, nt=10, source_depth=-5.0)
    with pytest.raises(ValueError, match="pml_width"):
        Survey(source_x=(0.0,), receiver_x=(0.0,), freq=8.0, dt=0.002, nt=10, pml_width=-1)
    grid = Grid(5, 10, 10.0)
    dup = Survey(source_x=(0.0,), receiver_x=(0.0, 2.0), freq=8.0, dt=0.002, nt=10)
    with pytest.raises(ValueError, match="same grid node"):
        dup.receiver_locations(grid)
