"""`SGD`, with momentum, dampening, Nesterov and weight decay exactly as torch.optim.SGD."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from minidl.optim.optimizer import Optimizer, check_non_negative
from minidl.parameter import Parameter


def sgd_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict[str, torch.Tensor],
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    weight_decay: float,
) -> None:
    """One SGD step on one tensor, in place (the maths of torch.optim.SGD)."""
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    if momentum != 0:
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = grad.clone()
            state["momentum_buffer"] = buffer
        else:
            buffer.mul_(momentum).add_(grad, alpha=1 - dampening)
        grad = grad.add(buffer, alpha=momentum) if nesterov else buffer
    param.add_(grad, alpha=-lr)


class SGD(Optimizer):
    """Stochastic gradient descent.

    Args:
        params: the parameters to update.
        lr: learning rate (> 0).
        momentum: momentum factor (0 disables it).
        dampening: dampening of the momentum.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        weight_decay: L2 penalty added to the gradient.
    """

    hyperparameters = ("lr", "momentum", "dampening", "nesterov", "weight_decay")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = check_non_negative("momentum", momentum)
        self.dampening = check_non_negative("dampening", dampening)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
        self.nesterov = bool(nesterov)

    def step(self) -> None:
        for p, state in zip(self.params, self.state, strict=True):
            sgd_update(
                p.data,
                p.grad,
                state,
                self.lr,
                self.momentum,
                self.dampening,
                self.nesterov,
                self.weight_decay,
            )
        self.step_count += 1
