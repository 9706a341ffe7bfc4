"""`Optimizer`: owns the parameters, their per-parameter state and ``step()``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import torch

from minidl.errors import StateDictError
from minidl.parameter import Parameter


def check_learning_rate(lr: object) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"Invalid learning rate: {lr!r} (must be a finite number > 0)")
    return float(lr)


def check_non_negative(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"Invalid {name}: {value!r} (must be a finite number >= 0)")
    return float(value)


class Optimizer:
    """Base class: a list of parameters, hyper-parameters and per-parameter state.

    Subclasses list their hyper-parameters in ``hyperparameters`` (saved in
    the state dict) and implement ``step()``. ``lr`` is a plain attribute
    that schedulers change between steps.
    """

    hyperparameters: ClassVar[tuple[str, ...]] = ("lr",)

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        seen: set[int] = set()
        for index, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: parameter {index} is a {type(p).__name__}, "
                    "not a minidl Parameter"
                )
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {index} appears twice")
            seen.add(id(p))
        self.lr = check_learning_rate(lr)
        self.state: list[dict[str, torch.Tensor]] = [{} for _ in self.params]
        self.step_count = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters, step count and per-parameter state (tensors copied)."""
        return {
            "type": type(self).__name__,
            "hyperparameters": {name: getattr(self, name) for name in self.hyperparameters},
            "step_count": self.step_count,
            "state": [{k: v.clone() for k, v in s.items()} for s in self.state],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state dict from the same kind of optimizer; on mismatch change nothing."""
        name = type(self).__name__
        try:
            kind = state["type"]
            hyper = state["hyperparameters"]
            step_count = state["step_count"]
            per_param = state["state"]
        except (KeyError, TypeError) as error:
            raise StateDictError(f"{name} state dict lacks the key {error}") from None
        if kind != name:
            raise StateDictError(f"state dict is from {kind}, cannot load it into {name}")
        if set(hyper) != set(self.hyperparameters):
            raise StateDictError(
                f"{name} state dict has hyper-parameters {sorted(hyper)}, "
                f"expected {sorted(self.hyperparameters)}"
            )
        if len(per_param) != len(self.params):
            raise StateDictError(
                f"{name} state dict holds state for {len(per_param)} parameters, "
                f"the optimizer has {len(self.params)}"
            )
        for index, (entry, p) in enumerate(zip(per_param, self.params, strict=True)):
            for key, value in entry.items():
                if not isinstance(value, torch.Tensor) or value.shape != p.shape:
                    shape = tuple(value.shape) if isinstance(value, torch.Tensor) else value
                    raise StateDictError(
                        f"{name} state of parameter {index}, key {key!r}: got {shape}, "
                        f"expected a tensor of shape {tuple(p.shape)}"
                    )
        for key, value in hyper.items():
            setattr(self, key, value)
        self.step_count = int(step_count)
        self.state = [
            {k: v.to(dtype=p.dtype, device=p.device).clone() for k, v in entry.items()}
            for entry, p in zip(per_param, self.params, strict=True)
        ]

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"
