"""What a scenario file may name: layers, losses and optimizers, with their arguments.

Each argument has a checker that returns the cleaned value or raises
``ValueError`` saying what is allowed; the schema turns that into an error
naming the field. Names are matched case-insensitively.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import minidl
from minidl.init import INIT_SCHEMES

Checker = Callable[[Any], Any]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("must be an integer > 0")
    return value


def non_negative_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be an integer >= 0")
    return value


def positive_float(value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError("must be a finite number > 0")
    return float(value)


def non_negative_float(value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError("must be a finite number >= 0")
    return float(value)


def fraction(value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise ValueError("must be a number in [0, 1]")
    return float(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def choice(*options: str) -> Checker:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(repr(o) for o in options)}")
        return value

    return check


@dataclass(frozen=True)
class Arg:
    check: Checker
    required: bool = False


@dataclass(frozen=True)
class Component:
    """A nameable minidl class and the arguments a scenario file may give it."""

    name: str
    factory: Callable[..., Any]
    args: dict[str, Arg] = field(default_factory=dict)


def _table(*components: Component) -> dict[str, Component]:
    return {c.name.lower(): c for c in components}


LAYERS = _table(
    Component(
        "Linear",
        minidl.Linear,
        {
            "in_features": Arg(positive_int),  # derived from the previous layer when absent
            "out_features": Arg(positive_int, required=True),
            "bias": Arg(boolean),
            "init": Arg(choice(*INIT_SCHEMES)),
        },
    ),
    Component("ReLU", minidl.ReLU),
    Component("Tanh", minidl.Tanh),
    Component("Sigmoid", minidl.Sigmoid),
)

LOSSES = _table(
    Component("MSELoss", minidl.MSELoss, {"reduction": Arg(choice("mean", "sum"))}),
)

OPTIMIZERS = _table(
    Component(
        "SGD",
        minidl.SGD,
        {
            "momentum": Arg(non_negative_float),
            "dampening": Arg(non_negative_float),
            "nesterov": Arg(boolean),
            "weight_decay": Arg(non_negative_float),
        },
    ),
)


def lookup(table: dict[str, Component], name: str) -> Component | None:
    return table.get(name.lower()) if isinstance(name, str) else None


def names(table: dict[str, Component]) -> str:
    return ", ".join(c.name for c in table.values())
