"""``crfwi report RESULTS_DIR``: a Markdown report of a results folder in the paper's layout.

Input: a folder laid out as the sweep runner writes it (:mod:`crfwi.study.sweep`), one run folder per
``<preset>-<scale>/<init>-<scenario>/<method>-seed<N>/`` holding at least ``metrics.json`` and
``config.resolved.toml`` (``history.csv``, ``data.json`` and ``model.npy`` are used when present).
Output: ``report.md`` plus the figures it cites (``figures/`` next to it):

* Table 4 (Marmousi: SSIM, MSE, MAE for every initial model and data scenario), Table 5 (2004 BP,
  salt, Overthrust × smooth / linear / constant) and Table 1 (the MSE columns plus the compute
  columns), each cell "ours (paper)": ours is the mean over seeds, "mean ± std, n=N" when there
  is more than one seed (std = sample standard deviation, ddof 1); the paper's number as printed,
  with its source in :mod:`crfwi.study.paper_results`. Our best per column is **bold**, the paper's best
  carries a †; "–" marks a run we do not have (or a number the paper does not print).
* Table 7 (constant start: MPE-FWI, LR-FWI, LRG-FWI, IG-FWI on Marmousi, Overthrust, Salt).
* Datasets, initial models or scenarios outside the paper's tables go to generic tables.
* ``--before DIR``: the cells issue 11's fixes changed, before → now, and those not re-run yet;
  ``--ablations DIR``: each ablation run beside the main run of its group, start, method, seed.
* An appendix lists the run folders behind every cell (relative links), with their own numbers.
* Model panels (true / initial / every method, one colour scale) and velocity-MSE convergence
  curves per dataset and initial model (clean data), and the NTK decay figure when given.
* :func:`verify` recomputes the metrics of a random sample of runs from their saved ``model.npy``
  and the rebuilt true model; the report states the result.
* An "Analysis" section of statements computed from the numbers (no hand-written conclusions),
  and a marked placeholder for the human-written interpretation. Claims are checked on MSE and
  MAE; SSIM is shown second (a constant model scores well on it; the report measures how well).

Everything is read from the run folders; nothing is re-run. The true model is rebuilt from each
run's resolved config (benchmark files need ``$CRFWI_DATA_DIR``); where it cannot be built the
report says so and skips the panels and the verification of those runs.

The package, one idea a module:

* :mod:`.runs` — run folders as :class:`RunRecord` (:func:`collect`), cells over seeds
  (:class:`Cell`, :func:`aggregate`); :mod:`.true_models` rebuilds true and initial models;
  :mod:`.verification` has :func:`verify`.
* :mod:`.context` — :class:`~.context.ReportContext`, what the sections share;
  :mod:`.paper_columns` — "ours (paper)" columns and tables; :mod:`.markdown` — text helpers.
* :mod:`.sections` — one module per section or table, run in the order of its ``SECTIONS``
  list (the paper's tables per scale: ``PAPER_TABLES``); a new table is one function there.
* :mod:`.writer` — :func:`write_report` and the ``crfwi report`` command
  (:func:`add_report_parser`).
"""

from .runs import SCENARIOS, Cell, RunRecord, aggregate, collect
from .sections.convergence import tail_drop as _tail_drop  # noqa: F401  (its arithmetic is tested)
from .verification import VERIFY_TOLERANCE, verify
from .writer import add_report_parser, write_report

__all__ = ["RunRecord", "Cell", "collect", "aggregate", "verify", "write_report",
           "add_report_parser", "SCENARIOS", "VERIFY_TOLERANCE"]
