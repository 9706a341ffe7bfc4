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

import torch

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


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


def number(value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise ValueError("must be a finite number")
    return float(value)


def probability_below_one(value: Any) -> float:
    if not _is_number(value) or not 0 <= value < 1:
        raise ValueError("must be a number in [0, 1)")
    return float(value)


def betas(value: Any) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("must be a list of two numbers in [0, 1), e.g. [0.9, 0.999]")
    return probability_below_one(value[0]), probability_below_one(value[1])


def sizes(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of integers > 0, e.g. [1, 16]")
    return tuple(positive_int(v) for v in value)


def conv_padding(value: Any) -> int | str:
    if value in ("same", "valid"):
        return value
    try:
        return non_negative_int(value)
    except ValueError:
        raise ValueError('must be an integer >= 0, "same" or "valid"') from None


def momentum_or_none(value: Any) -> float | str:
    """A momentum in [0, 1], or "none" (TOML has no null) for the cumulative average."""
    if value == "none":
        return value
    try:
        return fraction(value)
    except ValueError:
        raise ValueError('must be a number in [0, 1], or "none" (cumulative average)') from None


def per_class(value: Any) -> tuple[float, ...]:
    """One finite number >= 0 per class, e.g. [1.0, 3.0]."""
    if not isinstance(value, list) or not value:
        raise ValueError("must be a list of numbers >= 0, one per class, e.g. [1.0, 3.0]")
    return tuple(non_negative_float(v) for v in value)


def _batch_norm(momentum: float | str = 0.1, **kwargs: Any) -> minidl.BatchNorm1d:
    return minidl.BatchNorm1d(momentum=None if momentum == "none" else momentum, **kwargs)


def _with_tensors(cls: Callable[..., Any], *names: str) -> Callable[..., Any]:
    """``cls``, its per-class arguments (``names``) given as lists made tensors."""

    def make(**kwargs: Any) -> Any:
        for name in names:
            if kwargs.get(name) is not None:
                kwargs[name] = torch.tensor(kwargs[name])
        return cls(**kwargs)

    return make


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


# "none" gives one loss per element, which a trainer cannot minimise: files get mean or sum
REDUCTION = {"reduction": Arg(choice("mean", "sum"))}

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
    Component("LeakyReLU", minidl.LeakyReLU, {"negative_slope": Arg(number)}),
    Component("ELU", minidl.ELU, {"alpha": Arg(positive_float)}),
    Component("GELU", minidl.GELU, {"approximate": Arg(choice("none", "tanh"))}),
    Component("Softmax", minidl.Softmax, {"dim": Arg(integer)}),
    Component("Identity", minidl.Identity),
    Component(
        "BatchNorm1d",
        _batch_norm,
        {
            "num_features": Arg(positive_int),  # derived when absent
            "eps": Arg(positive_float),
            "momentum": Arg(momentum_or_none),
            "affine": Arg(boolean),
            "track_running_stats": Arg(boolean),
            "bias": Arg(boolean),
        },
    ),
    Component("Dropout", minidl.Dropout, {"p": Arg(fraction)}),
    Component(
        "Conv1d",
        minidl.Conv1d,
        {
            "in_channels": Arg(positive_int),  # derived when absent
            "out_channels": Arg(positive_int, required=True),
            "kernel_size": Arg(positive_int, required=True),
            "stride": Arg(positive_int),
            "padding": Arg(conv_padding),
            "dilation": Arg(positive_int),
            "groups": Arg(positive_int),
            "bias": Arg(boolean),
            "padding_mode": Arg(choice("zeros", "reflect", "replicate", "circular")),
            "init": Arg(choice(*INIT_SCHEMES)),
        },
    ),
    Component("Flatten", minidl.Flatten, {"start_dim": Arg(integer), "end_dim": Arg(integer)}),
    Component(
        "Unflatten",
        minidl.Unflatten,
        {"dim": Arg(integer, required=True), "unflattened_size": Arg(sizes, required=True)},
    ),
)

LOSSES = _table(
    Component("MSELoss", minidl.MSELoss, REDUCTION),
    Component("L1Loss", minidl.L1Loss, REDUCTION),
    Component("HuberLoss", minidl.HuberLoss, {**REDUCTION, "delta": Arg(positive_float)}),
    Component(
        "CrossEntropyLoss",
        _with_tensors(minidl.CrossEntropyLoss, "weight"),
        {
            **REDUCTION,
            "weight": Arg(per_class),
            "ignore_index": Arg(integer),
            "label_smoothing": Arg(fraction),
        },
    ),
    Component(
        "BCEWithLogitsLoss",
        _with_tensors(minidl.BCEWithLogitsLoss, "weight", "pos_weight"),
        {**REDUCTION, "weight": Arg(per_class), "pos_weight": Arg(per_class)},
    ),
)

ADAM_ARGS = {
    "betas": Arg(betas),
    "eps": Arg(non_negative_float),
    "weight_decay": Arg(non_negative_float),
    "amsgrad": Arg(boolean),
    "maximize": Arg(boolean),
}

OPTIMIZERS = _table(
    Component(
        "SGD",
        minidl.SGD,
        {
            "momentum": Arg(non_negative_float),
            "dampening": Arg(non_negative_float),
            "nesterov": Arg(boolean),
            "weight_decay": Arg(non_negative_float),
            "maximize": Arg(boolean),
        },
    ),
    Component("Adam", minidl.Adam, ADAM_ARGS),
    Component("AdamW", minidl.AdamW, ADAM_ARGS),
    Component(
        "RMSprop",
        minidl.RMSprop,
        {
            "alpha": Arg(fraction),
            "eps": Arg(non_negative_float),
            "weight_decay": Arg(non_negative_float),
            "momentum": Arg(non_negative_float),
            "centered": Arg(boolean),
            "maximize": Arg(boolean),
        },
    ),
)

SCHEDULERS = _table(
    Component(
        "StepLR",
        minidl.StepLR,
        {"step_size": Arg(positive_int, required=True), "gamma": Arg(positive_float)},
    ),
    Component("ExponentialLR", minidl.ExponentialLR, {"gamma": Arg(positive_float, required=True)}),
    Component(
        "CosineAnnealingLR",
        minidl.CosineAnnealingLR,
        {"T_max": Arg(positive_int, required=True), "eta_min": Arg(non_negative_float)},
    ),
)


def lookup(table: dict[str, Component], name: str) -> Component | None:
    return table.get(name.lower()) if isinstance(name, str) else None


def names(table: dict[str, Component]) -> str:
    return ", ".join(c.name for c in table.values())
