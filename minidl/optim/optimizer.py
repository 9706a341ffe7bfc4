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
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"Invalid learning rate: {lr!r} (must be a finite number > 0)")
    return float(lr)


def check_non_negative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"Invalid {name}: {value!r} (must be a finite number >= 0)")
    return float(value)


class Optimizer:
    """Base class: parameters in flat groups, hyper-parameters and per-parameter state.

    A subclass sets its hyper-parameters (plain attributes, listed in
    ``hyperparameters`` and saved in the state dict; schedulers change
    ``lr`` between steps), names the flat state it keeps in
    ``state_names()`` (made as zeros, here and whenever one is missing) and
    gives the maths as ``rule(param, grad, state, steps, **hyperparameters)``,
    a plain function applied to each ``FlatGroup``'s flat tensors. The step
    count is a 0-dim tensor, ``steps``, counted by a tensor op like every
    other change a step makes.

    Create the optimizer after moving the model (``Module.to``), as in
    PyTorch; a parameter moved later is re-homed at the next step.

    Every optimizer takes torch's arguments in torch's order, and
    ``maximize`` (ascend the objective: the gradient's sign is flipped).
    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable``
    are accepted and ignored: they choose among torch's implementations of
    the same maths, and minidl has one. Narrower than torch: the parameters
    are minidl ``Parameter``s in one group (torch's per-group option dicts
    are not taken), as the flat buffers hold them.
    """

    hyperparameters: ClassVar[tuple[str, ...]] = ("lr",)
    # hyper-parameters a state dict may lack (saved before they existed): their default
    defaults: ClassVar[dict[str, Any]] = {"maximize": False}

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for index, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: parameter {index} is a {type(p).__name__}, "
                    "not a minidl Parameter"
                )
            if any(q is p for q in self.params[:index]):
                raise ValueError(f"{type(self).__name__}: parameter {index} appears twice")
        self.lr = check_learning_rate(lr)
        self.groups = group_parameters(self.params)
        position = {id(p): (g, i) for g in self.groups for i, p in enumerate(g.params)}
        self._where = [position[id(p)] for p in self.params]  # (group, index in it) per parameter
        with torch.inference_mode(False):
            self.steps = torch.zeros((), dtype=torch.float64)
        for group in self.groups:
            group.make_state(self.state_names())

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
        """``rule`` on one group's flat data, gradient and state."""
        group.make_state(self.state_names())  # (after a hyper-parameter change or a load)
        hyper = {name: getattr(self, name) for name in self.hyperparameters}
        self.rule(group.data, group.grad, group.state, self.steps, **hyper)

    @staticmethod
    def rule(
        param: torch.Tensor,
        grad: torch.Tensor,
        state: dict[str, torch.Tensor],
        steps: torch.Tensor,
        **hyperparameters: Any,
    ) -> None:
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
            kind, hyper = state["type"], state["hyperparameters"]
            step_count, per_param = state["step_count"], state["state"]
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
            group.state = {}
            group.make_state(tuple(keys))
        for entry, (group, position) in zip(per_param, self._where, strict=True):
            for key, value in entry.items():
                group.view_of(group.state[key], position).copy_(value)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"
