"""Measuring what a run and a method do.

- :mod:`.metrics`: model error against a true model (MSE, MAE, SSIM, normalised MSE; 2-D and 3-D);
- :mod:`.ntk`: the wave-based NTK (J_G J_m)(J_G J_m)ᵀ matrix-free, its spectrum and its drift;
- :mod:`.ntk1d`: the paper's 1-D study with explicit Jacobians;
- :mod:`.diagnostics`: each component's effect on a method (branch shares, gradient reach).
"""
