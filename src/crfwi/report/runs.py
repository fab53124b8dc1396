"""Run folders as records: reading them, putting them in the paper's order, and grouping them
over seeds into the cells of a table.

A run folder is ``<preset>-<scale>/<init>-<scenario>/<method>-seed<N>/`` under a results folder
(the sweep runner's layout, :mod:`crfwi.study.sweep`), holding ``metrics.json`` and
``config.resolved.toml`` (``data.json`` when present).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..study import paper_results as paper

#: The data scenarios named after the paper's Table 4 columns ("clean" = no degradation).
SCENARIOS = ("clean", "noise4", "noise8", "lowcut4", "lowcut6", "shots9", "shots5")
#: The paper's initial models, in its order.
INITS = ("smooth", "linear", "constant")
#: crfwi's method names in the paper's row order.
METHOD_ORDER = tuple(paper.METHOD_NAMES)


def number(value: Any) -> float | None:
    """A float from a JSON/CSV value ("inf"/"nan" strings included); None when absent."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class RunRecord:
    """One run folder: where it is, what it is (from its path) and what it holds."""

    key: str
    path: Path
    group: str
    dataset: str
    scale: str
    init: str
    scenario: str
    method: str
    seed: int
    metrics: dict
    config: dict
    data: dict = field(default_factory=dict)

    @property
    def meta(self) -> dict:
        return self.config.get("meta", {}) or {}

    @property
    def paper_method(self) -> str:
        try:
            return paper.paper_name(self.method)
        except ValueError:
            return str(self.metrics.get("paper_method") or self.method)

    @property
    def note(self) -> str:
        return str(self.metrics.get("note") or self.config.get("note") or "")

    @property
    def iterations(self) -> int | None:
        value = number(self.metrics.get("iterations"))
        return None if value is None else int(value)

    @property
    def shots_per_iteration(self) -> int:
        return int(self.config.get("inversion", {}).get("shots_per_iteration", 0) or 0)

    @property
    def n_shots(self) -> int | None:
        """The shots the run inverted (after a decimation scenario)."""
        value = self.meta.get("n_shots") or self.data.get("n_shots")
        if value is None:
            value = self.config.get("survey", {}).get("n_shots")
        return None if value is None else int(value)

    @property
    def seconds_per_epoch(self) -> float | None:
        per_it = number(self.metrics.get("seconds_per_iteration"))
        shots = self.n_shots
        if per_it is None:
            return None
        batch = self.shots_per_iteration
        if batch <= 0 or not shots or batch >= shots:
            return per_it
        return per_it * shots / batch

    @property
    def params(self) -> int | None:
        value = number(self.metrics.get("params"))
        return None if value is None else int(value)

    @property
    def peak_memory_mib(self) -> float | None:
        return number(self.metrics.get("peak_memory_mib"))

    @property
    def device(self) -> str:
        return str(self.meta.get("device", "?"))

    def value(self, metric: str) -> float | None:
        return number(self.metrics.get(metric))

    def initial_value(self, metric: str) -> float | None:
        return number((self.metrics.get("initial") or {}).get(metric))

    def config_without_meta(self) -> dict:
        return {k: v for k, v in self.config.items() if k != "meta"}


def split_group(group: str) -> tuple[str, str]:
    """(dataset, scale) of a group folder name; the scale is "" when the name carries none."""
    from ..presets import SCALES

    dataset, _, scale = group.rpartition("-")
    if dataset and scale in SCALES:
        return dataset, scale
    return group, ""


def group_name(dataset: str, scale: str) -> str:
    """The group folder of ``dataset`` at ``scale`` (the inverse of :func:`split_group`)."""
    return f"{dataset}-{scale}" if scale else dataset


def _read_record(results: Path, metrics_path: Path) -> RunRecord | str:
    """The record of one run folder, or a one-line reason why it is not one."""
    folder = metrics_path.parent
    parts = folder.relative_to(results).parts
    key = "/".join(parts)
    if len(parts) != 3:
        return f"{key}: not at <group>/<init>-<scenario>/<method>-seed<N>"
    group, case, run = parts
    init, dash, scenario = case.partition("-")
    method, sep, seed = run.rpartition("-seed")
    if not (dash and scenario and sep and method and seed.isdigit()):
        return f"{key}: not at <group>/<init>-<scenario>/<method>-seed<N>"
    try:
        metrics = json.loads(metrics_path.read_text())
    except (OSError, ValueError) as err:
        return f"{key}: unreadable metrics.json ({err})"
    config: dict = {}
    if (folder / "config.resolved.toml").is_file():
        try:
            config = tomllib.loads((folder / "config.resolved.toml").read_text())
        except (OSError, ValueError) as err:
            return f"{key}: unreadable config.resolved.toml ({err})"
    data: dict = {}
    if (folder / "data.json").is_file():
        try:
            data = json.loads((folder / "data.json").read_text())
        except (OSError, ValueError):
            data = {}
    dataset, scale = split_group(group)
    return RunRecord(key=key, path=folder, group=group, dataset=dataset, scale=scale, init=init,
                     scenario=scenario, method=method, seed=int(seed), metrics=metrics,
                     config=config, data=data)


def scan(results_dir: str | Path) -> tuple[list[RunRecord], list[str], list[str]]:
    """(records in the paper's order, metrics.json files outside the layout with the reason,
    run folders without metrics.json): the report names all three."""
    results = Path(results_dir)
    if not results.is_dir():
        raise ValueError(f"results folder not found: {results}")
    records, ignored = [], []
    for metrics_path in sorted(results.rglob("metrics.json")):
        item = _read_record(results, metrics_path)
        (ignored if isinstance(item, str) else records).append(item)
    done = {r.path for r in records}
    incomplete = sorted("/".join(p.parent.relative_to(results).parts)
                        for p in results.glob("*/*/*/config.resolved.toml")
                        if p.parent not in done and not (p.parent / "metrics.json").is_file())
    records.sort(key=lambda r: record_order(r))
    return records, ignored, incomplete


def method_rank(method: str) -> tuple[int, str]:
    """Sort key: the paper's row order, methods it does not have after them by name."""
    if method in METHOD_ORDER:
        return METHOD_ORDER.index(method), ""
    return len(METHOD_ORDER), method


def record_order(r: RunRecord) -> tuple:
    """Sort key: dataset, scale, initial model, scenario, method, seed (the paper's orders where
    it has one)."""
    dataset_rank = paper.DATASETS.index(r.dataset) if r.dataset in paper.DATASETS else 99
    init_rank = INITS.index(r.init) if r.init in INITS else 9
    scen_rank = SCENARIOS.index(r.scenario) if r.scenario in SCENARIOS else 99
    return (dataset_rank, r.dataset, r.scale, init_rank, r.init, scen_rank, r.scenario,
            method_rank(r.method), r.seed)


def collect(results_dir: str | Path) -> list[RunRecord]:
    """One record per complete run folder (one with ``metrics.json``) under ``results_dir``, in
    the paper's order (dataset, scale, initial model, scenario, method, seed)."""
    return scan(results_dir)[0]



@dataclass
class Cell:
    """The runs of one (group, init, scenario, method) over seeds."""

    group: str
    init: str
    scenario: str
    method: str
    runs: list[RunRecord]

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.runs]

    def values(self, metric: str) -> list[float]:
        return [v for v in (r.value(metric) for r in self.runs) if v is not None]

    def stat(self, metric: str) -> tuple[float, float | None, int] | None:
        """(mean, sample std or None for one value, n) of ``metric`` over the seeds."""
        return mean_std_n(self.values(metric))

    def initial_stat(self, metric: str) -> tuple[float, float | None, int] | None:
        """(mean, sample std or None, n) of the initial model's ``metric`` over the seeds."""
        return mean_std_n([v for v in (r.initial_value(metric) for r in self.runs)
                           if v is not None])


def mean_std_n(values: list[float]) -> tuple[float, float | None, int] | None:
    """(mean, sample std (ddof 1; None for one value), n), or None for no values."""
    if not values:
        return None
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if array.size > 1 else None
    return float(array.mean()), std, int(array.size)


def aggregate(records: list[RunRecord]) -> dict[tuple[str, str, str, str], Cell]:
    """Records grouped over seeds: ``{(group, init, scenario, method): Cell}``."""
    cells: dict[tuple[str, str, str, str], Cell] = {}
    for r in records:
        cell_key = (r.group, r.init, r.scenario, r.method)
        if cell_key not in cells:
            cells[cell_key] = Cell(r.group, r.init, r.scenario, r.method, [])
        cells[cell_key].runs.append(r)
    return cells
