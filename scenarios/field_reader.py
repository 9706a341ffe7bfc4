"""Reads a scenario's tables field by field, so one ScenarioError lists every faulty field."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

from scenarios.limits import MAX_EPOCHS, MAX_SEED


class ScenarioError(ValueError):
    """An invalid scenario file; ``problems`` holds one line per faulty field."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        if len(problems) == 1:
            message = f"{where}{problems[0]}"
        else:
            message = f"{where}{len(problems)} problems\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(message)


class FieldReader:
    """Reads tables field by field, collecting every problem instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str, value: Any = ...) -> None:
        shown = "" if value is ... else f" = {show_value(value)}"
        self.problems.append(f"{path}{shown}: {message}")

    def table(self, parent: dict[str, Any], key: str, path: str, required: bool = True) -> dict:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "missing table")
            return {}
        if not isinstance(value, dict):
            self.fail(path, "must be a table", value)
            return {}
        return value

    def unknown_keys(self, table: dict[str, Any], allowed: list[str], path: str) -> None:
        for key in table:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                self.fail(
                    f"{path}.{key}" if path else key,
                    f"unknown key{suggestion} (allowed: {', '.join(allowed)})",
                )

    def field(
        self,
        table: dict[str, Any],
        key: str,
        path: str,
        check: Callable[[Any], Any],
        default: Any = ...,
    ) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in table:
            if default is ...:
                self.fail(full, "missing")
                return None
            return default
        try:
            return check(table[key])
        except ValueError as error:
            self.fail(full, str(error), table[key])
            return None if default is ... else default


def show_value(value: Any) -> str:
    """A value as the file spells it (true/false, nan), for an error message."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return repr(value)


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def int_at_least(minimum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be an integer >= {minimum}")
        return value

    return check


def int_between(minimum: int, maximum: int, why: str = "") -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise ValueError(f"must be an integer >= {minimum} and <= {maximum}{why}")
        return value

    return check


seed_number = int_between(0, MAX_SEED, " (2**63 - 1)")
epoch_count = int_between(1, MAX_EPOCHS)
