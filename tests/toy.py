"""The toy problem the CLI, config and distributed tests share: a 16 × 32 layered model at 20 m,
4 shots, 8 Hz, 200 samples of 4 ms. Each test file appends the sections it varies."""

TOY_HEAD = """
name = "toy"
seed = 3
[model]
name = "layered"
nz = 16
nx = 32
spacing = 20.0
[survey]
n_shots = 4
freq = 8.0
dt = 0.004
nt = 200
"""
