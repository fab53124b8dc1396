"""The optimisation every method goes through.

- :mod:`.loop`: Adam on misfit + regulariser over θ, shot batches, bounds, the model gradient;
- :mod:`.distributed`: shot-parallel runs over torch.distributed (one seam: the model gradient).
"""
