"""crfwi: full-waveform inversion with continuous representations of the subsurface model."""

__version__ = "0.1.0"
