"""The kinds of rule a config field can have (:mod:`crfwi.config_rules` maps every field to one).

Each kind has ``describe()`` (what it accepts, for messages) and ``problem(value)`` (why a value
of the field's type is refused, or None). Split from :mod:`crfwi.config_rules` so that the table of
rules and the checks between fields read on their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

__all__ = ["Int", "Float", "Numbers", "Choice", "Resolves", "Text", "Flag", "Table", "FileName"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound(lower: float | None, strict: bool, upper: float | None, unit: str) -> str:
    parts = []
    if lower is not None:
        parts.append(f"{'>' if strict else '>='} {lower:g}")
    if upper is not None:
        parts.append(f"<= {upper}")
    text = " and ".join(parts)
    return f"{text} {unit}".rstrip() if text else unit


@dataclass(frozen=True)
class Int:
    """An integer in ``[min, max]``, or exactly ``sentinel`` (a documented default)."""

    min: int | None = None
    max: int | None = None
    sentinel: int | None = None
    note: str = ""  # what the sentinel (or a 0 in the range) means, or the unit, for the message

    def describe(self) -> str:
        text = f"an integer {_bound(self.min, False, self.max, '')}".rstrip()
        if self.sentinel is not None:
            text += f", or {self.sentinel}"
        return f"{text} ({self.note})" if self.note else text

    def problem(self, value: Any) -> str | None:
        if value == self.sentinel:
            return None
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            return f"must be {self.describe()}"
        return None


@dataclass(frozen=True)
class Float:
    """A finite number ``>= min`` (``> min`` if ``strict``), ``<= max``, or exactly ``sentinel``."""

    min: float | None = None
    strict: bool = False
    max: float | None = None
    sentinel: float | None = None
    unit: str = ""
    note: str = ""

    def describe(self) -> str:
        text = f"a finite number {_bound(self.min, self.strict, self.max, self.unit)}".rstrip()
        if self.sentinel is not None:
            text += f", or {self.sentinel:g}"
        return f"{text} ({self.note})" if self.note else text

    def problem(self, value: Any) -> str | None:
        if not math.isfinite(value):
            return f"must be {self.describe()}"
        if value == self.sentinel:
            return None
        low = self.min is not None and (value <= self.min if self.strict else value < self.min)
        if low or (self.max is not None and value > self.max):
            return f"must be {self.describe()}"
        return None


@dataclass(frozen=True)
class Numbers:
    """A list of finite numbers, each ``>= min`` (``> min`` if ``strict``), of one of ``lengths``
    (None = any length)."""

    lengths: tuple[int, ...] | None = None
    min: float | None = None
    strict: bool = False
    unit: str = ""
    note: str = ""

    def describe(self) -> str:
        count = ("" if self.lengths is None else
                 " or ".join(str(n) for n in self.lengths) + " ")
        text = f"a list of {count}finite numbers {_bound(self.min, self.strict, None, self.unit)}"
        return f"{text.rstrip()} ({self.note})" if self.note else text.rstrip()

    def problem(self, value: Any) -> str | None:
        ok = self.lengths is None or len(value) in self.lengths
        for item in value:
            if not _number(item) or not math.isfinite(item):
                ok = False
            elif self.min is not None and (item <= self.min if self.strict else item < self.min):
                ok = False
        return None if ok else f"must be {self.describe()}"


@dataclass(frozen=True)
class Choice:
    """One of a set of values; ``names`` may be a function (the owning module's list, imported
    only when a config is checked). ``what`` names the kind of thing for the message;
    ``empty`` accepts "" too (the documented "none" or "the method's own")."""

    names: tuple | Callable[[], Iterable]
    what: str = ""
    empty: bool = False

    def valid(self) -> list:
        return list(self.names() if callable(self.names) else self.names)

    def describe(self) -> str:
        return "one of " + ", ".join(str(n) for n in self.valid())

    def problem(self, value: Any) -> str | None:
        valid = self.valid()
        if value in valid or (self.empty and value == ""):
            return None
        shown = ", ".join(str(n) for n in valid)
        if self.what:
            return f"unknown {self.what} {value!r}; valid: {shown}"
        return f"must be one of {shown}"


@dataclass(frozen=True)
class Resolves:
    """A name that ``resolve`` accepts (it raises ValueError with the valid names otherwise)."""

    resolve: Callable[[Any], Any]

    def describe(self) -> str:
        return "a known name"

    def problem(self, value: Any) -> str | None:
        try:
            self.resolve(value)
        except ValueError as err:
            return str(err)
        return None


@dataclass(frozen=True)
class Text:
    """Any string (``nonempty``: not ""; ``forbid``: characters it may not hold)."""

    nonempty: bool = False
    forbid: str = ""

    def describe(self) -> str:
        text = "a non-empty string" if self.nonempty else "a string"
        return f"{text} without {' or '.join(repr(c) for c in self.forbid)}" if self.forbid else text

    def problem(self, value: Any) -> str | None:
        if (self.nonempty and not value) or any(c in value for c in self.forbid):
            return f"must be {self.describe()}"
        return None


@dataclass(frozen=True)
class Flag:
    """true or false (the type check is the whole check)."""

    def describe(self) -> str:
        return "true or false"

    def problem(self, value: Any) -> str | None:
        return None


@dataclass(frozen=True)
class Table:
    """A table of keyword options, checked by the code that takes them (a generator, a
    representation, a misfit), which names the option it refuses."""

    def describe(self) -> str:
        return "a table of options"

    def problem(self, value: Any) -> str | None:
        return None


@dataclass(frozen=True)
class FileName:
    """A file name ending in one of ``suffixes`` (any case), or "" when ``empty``; ``words`` are
    other accepted values (e.g. "estimate"). Whether the file exists is checked when the run is
    built: a run folder's config must still load where its data are not."""

    suffixes: tuple[str, ...]
    empty: bool = True
    words: tuple[str, ...] = ()

    def describe(self) -> str:
        options = [f'"{w}"' for w in self.words] + (['""'] if self.empty else [])
        text = f"a file name ending in {', '.join(self.suffixes)}"
        return f"{', '.join(options)} or {text}" if options else text

    def problem(self, value: Any) -> str | None:
        if (value == "" and self.empty) or value in self.words:
            return None
        if value.strip() and value.lower().endswith(self.suffixes):
            return None
        return f"must be {self.describe()}"
