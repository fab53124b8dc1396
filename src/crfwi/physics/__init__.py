"""The wave physics every method shares.

- :mod:`.geometry` / :mod:`.geometry3d`: grids, surveys, the Ricker wavelet (2-D, 3-D);
- :mod:`.solver` / :mod:`.solver3d`: deepwave's scalar propagator behind one differentiable
  forward operator d = G(m), its options and checks;
- :mod:`.signal`: filters, noise and shot decimation applied to data.
"""
