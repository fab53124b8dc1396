"""Field data: a user's own survey in, the inverted model and predicted data out (issue 13).

Modules, one idea each:

* ``segy``: SEG-Y in and out (segyio): traces, geometry from the headers with their scalars,
  shots grouped from the trace headers, dead traces; models and data written back as SEG-Y.
* ``acquisition``: a survey's irregular, off-grid source and receiver positions mapped onto a
  model grid, with the size of the mapping error.
* ``preprocess``: what is done to observed (and, where it must be, predicted) data: resampling to
  the modelling dt, record-length cut, band-pass, top mute, trace kills, trace normalisation.
* ``wavelet``: the source wavelet, from a file or estimated from the data by frequency-domain
  least squares.
"""
