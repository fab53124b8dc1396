"""Field data: a user's own survey in, the inverted model and predicted data out (issue 13).

Modules, one idea each:

* ``segy``: SEG-Y in and out (segyio): traces, geometry from the headers with their scalars,
  shots grouped from the trace headers, dead traces; models and data written back as SEG-Y.
* ``acquisition``: :class:`~crfwi.field.acquisition.FieldData` (shots with their own receivers,
  masks, padding) and the survey's irregular, off-grid positions mapped onto a model grid, with
  the size of the mapping error.
* ``inspect``: ``crfwi inspect FILE.segy``, what the reader understood, and a figure.
* ``preprocess``: what is done to observed (and, where it must be, predicted) data: resampling to
  the modelling dt, record-length cut, band-pass, top mute, trace kills, trace normalisation.
* ``wavelet``: the source wavelet, from a file or estimated from the data by frequency-domain
  least squares.
* ``survey``: a field run's Experiment: the file's shots read, placed, preprocessed; m0 without a
  truth (file, 1-D, well log, water layer); the wavelet; a solver that preprocesses its
  predictions alike.
* ``qc``: scoring without a true model: data fit per shot, gathers, the well-log comparison, and
  the model and predicted data as SEG-Y.
* ``make_data``: ``crfwi make-data``, an elastic Chevron-2014-style line on Marmousi2 to try the
  field workflow on (with its truth, for scoring only).

Importing :mod:`crfwi` does not import this package (segyio is loaded only for field work).
"""
