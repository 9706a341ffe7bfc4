"""`SGD`, with momentum, dampening, Nesterov and weight decay exactly as PyTorch's optim.SGD."""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor

from minidl.optim.optimizer import Optimizer, check_non_negative
from minidl.parameter import Parameter


def sgd_update(
    param: Tensor,
    grad: Tensor,
    state: dict[str, Tensor],
    steps: Tensor,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    weight_decay: float,
    maximize: bool = False,
) -> None:
    """One SGD step at step count ``steps``, in place: the maths of PyTorch's optim.SGD.

    g = −g when maximizing; d = g + weight_decay·p; with momentum,
    b = momentum·b + (1 − dampening)·d (b = d at the first step) and
    d = d + momentum·b (Nesterov) or d = b; finally p = p − lr·d.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    if momentum != 0:
        buffer = state["momentum_buffer"]
        if dampening == 0:  # b starts at zero: the first step makes it d
            buffer.mul_(momentum).add_(grad)
        else:  # all of d at the first step (steps = 1), then (1 − dampening)·d
            buffer.mul_(momentum).addcmul_(grad, 1 - dampening * (steps - 1).clamp(max=1))
        grad = grad.add(buffer, alpha=momentum) if nesterov else buffer
    param.add_(grad, alpha=-lr)


class SGD(Optimizer):
    """Stochastic gradient descent.

    Args:
        params: the parameters to update.
        lr: learning rate (> 0; a one-element tensor counts as its value).
        momentum: momentum factor (0 disables it).
        dampening: dampening of the momentum.
        weight_decay: L2 penalty added to the gradient.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend instead of descend.
        foreach, differentiable, fused: accepted and ignored (they choose
            among torch's implementations of the same maths).
    """

    hyperparameters = ("lr", "momentum", "dampening", "nesterov", "weight_decay", "maximize")
    rule = staticmethod(sgd_update)

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float | Tensor = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        self.maximize = bool(maximize)
        self.momentum = check_non_negative("momentum", momentum)
        self.dampening = check_non_negative("dampening", dampening)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
        self.nesterov = bool(nesterov)
        super().__init__(params, lr)

    def state_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum != 0 else ()
