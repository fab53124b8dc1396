"""The true (and initial) models of runs, rebuilt from their resolved configs: the model panels
and the verification compare against them."""

from __future__ import annotations

import json
from typing import Any

from .runs import RunRecord


class TrueModels:
    """True (and initial) models rebuilt from run configs, cached; failures remembered."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    @staticmethod
    def _cache_key(record: RunRecord, initial: bool) -> str:
        cfg = record.config_without_meta()
        parts = {k: cfg.get(k) for k in ("model", "preset", "scale", "seed")}
        if initial:
            parts.update(initial=cfg.get("initial"), fix=cfg.get("inversion", {}).get("fix_water"))
        return json.dumps(parts, sort_keys=True, default=str) + str(initial)

    def true_model(self, record: RunRecord):
        """(grid, true model [nz, nx] m/s, source) or raises ValueError with the reason."""
        key = self._cache_key(record, False)
        if key not in self._cache:
            self._cache[key] = self._build(record, initial=False)
        return self._unwrap(self._cache[key])

    def true_and_initial(self, record: RunRecord):
        """(grid, true, initial, source) or raises ValueError with the reason."""
        key = self._cache_key(record, True)
        if key not in self._cache:
            self._cache[key] = self._build(record, initial=True)
        return self._unwrap(self._cache[key])

    @staticmethod
    def _unwrap(item):
        if isinstance(item, Exception):
            raise item
        return item

    @staticmethod
    def _build(record: RunRecord, *, initial: bool):
        from ..config import config_from_dict

        try:
            if not record.config:
                raise ValueError("no config.resolved.toml")
            config = config_from_dict(record.config_without_meta())
            if initial:
                from ..experiment import build_experiment

                exp = build_experiment(config, device="cpu")
                return exp.grid, exp.true_model, exp.initial_model, "rebuilt from the run's config"
            from ..experiment import build_grid_and_true_model

            grid, true = build_grid_and_true_model(config)
            return grid, true, "rebuilt from the run's config"
        except Exception as err:  # noqa: BLE001 - any failure: the report says why
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            return ValueError(f"true model not rebuilt: {message}")
