"""`Optimizer`: owns the parameters, their per-parameter state and ``step()``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import torch

from minidl.errors import StateDictError
from minidl.optim.flat import FlatGroup, group_parameters
from minidl.parameter import Parameter


def check_learning_rate(lr: object) -> float:
    """``lr`` as a float; a one-element tensor (torch accepts one) counts as its value."""
    if isinstance(lr, torch.Tensor):
        if lr.numel() != 1:
            raise ValueError(f"Tensor lr must be 1-element, got {tuple(lr.shape)}")
        lr = lr.item()
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
    """Base class: parameters in flat groups, hyper-parameters and per-parameter state.

    Subclasses list their hyper-parameters in ``hyperparameters`` (saved in
    the state dict), name the flat state they keep in ``state_names()``
    (made as zeros when the optimizer is made) and implement
    ``update(group)``, the maths on one ``FlatGroup`` (its flat ``data``,
    ``grad`` and ``state``). Hyper-parameters are plain attributes
    (schedulers change ``lr`` between steps). The step count is a 0-dim
    tensor, ``steps``, counted by a tensor op like every other change a
    step makes.

    Create the optimizer after moving the model (``Module.to``), as in
    PyTorch; a parameter moved later is re-homed at the next step.

    Every optimizer takes torch's arguments in torch's order, and
    ``maximize`` (ascend the objective: the gradient's sign is flipped).
    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable``
    are accepted and ignored: they choose among torch's implementations of
    the same maths, and minidl has one.
    """

    hyperparameters: ClassVar[tuple[str, ...]] = ("lr",)
    # hyper-parameters a state dict may lack (saved before they existed): their default
    defaults: ClassVar[dict[str, Any]] = {"maximize": False}

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
        self.groups = group_parameters(self.params)
        # parameter index -> (group, index within the group)
        self._where: list[tuple[FlatGroup, int]] = []
        position = {id(p): (g, i) for g in self.groups for i, p in enumerate(g.params)}
        self._where = [position[id(p)] for p in self.params]
        with torch.inference_mode(False):
            self.steps = torch.zeros((), dtype=torch.float64)

    def make_state(self) -> None:
        """Make the state ``state_names`` lists (subclasses call it once set up)."""
        for group in self.groups:
            for name in self.state_names():
                group.state_tensor(name)

    def state_names(self) -> tuple[str, ...]:
        """The flat state tensors ``update`` reads, for the current hyper-parameters."""
        return ()

    @property
    def step_count(self) -> int:
        """How many steps were taken (``steps`` as an int)."""
        return int(self.steps.item())

    def zero_grad(self) -> None:
        """Zero the gradients in place: one op per flat group."""
        for group in self.groups:
            if group.left:  # a parameter left the flat buffers (Module.to, another optimizer)
                group.rehome()
            group.grad.zero_()

    def step(self) -> None:
        """Update every parameter from its gradient (one call of ``update`` per group)."""
        self.steps.add_(1)
        for group in self.groups:
            if group.left:
                group.rehome()
            self.update(group)

    def update(self, group: FlatGroup) -> None:
        raise NotImplementedError

    # --- state dicts ---------------------------------------------------------
    def _param_state(self, index: int) -> dict[str, torch.Tensor]:
        group, position = self._where[index]
        return {k: group.view_of(v, position).clone() for k, v in group.state.items()}

    @property
    def state(self) -> list[dict[str, torch.Tensor]]:
        """Per-parameter state (copies), in parameter order, as the state dict holds it."""
        return [self._param_state(i) for i in range(len(self.params))]

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters, step count and per-parameter state (tensors copied)."""
        return {
            "type": type(self).__name__,
            "hyperparameters": {name: getattr(self, name) for name in self.hyperparameters},
            "step_count": self.step_count,
            "state": self.state,
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
        optional = set(self.defaults) & set(self.hyperparameters)
        if not isinstance(hyper, dict) or not (
            set(self.hyperparameters) - optional <= set(hyper) <= set(self.hyperparameters)
        ):
            raise StateDictError(
                f"{name} state dict has hyper-parameters {sorted(hyper)}, "
                f"expected {sorted(self.hyperparameters)}"
            )
        if not isinstance(per_param, list) or len(per_param) != len(self.params):
            count = len(per_param) if isinstance(per_param, list) else per_param
            raise StateDictError(
                f"{name} state dict holds state for {count} parameters, "
                f"the optimizer has {len(self.params)}"
            )
        keys = set(per_param[0]) if per_param else set()
        for index, (entry, p) in enumerate(zip(per_param, self.params, strict=True)):
            if set(entry) != keys:
                raise StateDictError(
                    f"{name} state of parameter {index} has keys {sorted(entry)}, "
                    f"parameter 0 has {sorted(keys)}"
                )
            for key, value in entry.items():
                if not isinstance(value, torch.Tensor) or value.shape != p.shape:
                    shape = tuple(value.shape) if isinstance(value, torch.Tensor) else value
                    raise StateDictError(
                        f"{name} state of parameter {index}, key {key!r}: got {shape}, "
                        f"expected a tensor of shape {tuple(p.shape)}"
                    )
        for key, value in hyper.items():
            setattr(self, key, value)
        for key in set(self.hyperparameters) - set(hyper):
            setattr(self, key, self.defaults[key])
        self.steps.fill_(int(step_count))
        for group in self.groups:
            group.state = {
                key: torch.zeros(group.numel, dtype=group.data.dtype, device=group.data.device)
                for key in keys
            }
        for entry, (group, position) in zip(per_param, self._where, strict=True):
            for key, value in entry.items():
                group.view_of(group.state[key], position).copy_(value)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"
