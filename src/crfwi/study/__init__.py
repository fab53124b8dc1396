"""Studies made of many runs.

- :mod:`.sweep`: methods × presets × starts × data scenarios × seeds from one TOML file
  (the named ones in ``sweeps/``), resumable, several at once, summaries to commit;
- :mod:`.paper_results`: the paper's published numbers, for the tables beside ours.
The report built from them is :mod:`crfwi.report`.
"""
