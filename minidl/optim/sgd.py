"""`SGD`, with momentum, dampening, Nesterov and weight decay exactly as PyTorch's optim.SGD."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from minidl.optim.flat import FlatGroup
from minidl.optim.optimizer import Optimizer, check_non_negative
from minidl.parameter import Parameter
from minidl.scratch import persistent


def sgd_update(
    group: FlatGroup,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    weight_decay: float,
) -> None:
    """One SGD step on a flat group, in place: the maths of PyTorch's optim.SGD.

    d = g + weight_decay·p; with momentum, b = d at the first step, else
    b = momentum·b + (1 − dampening)·d, and d = d + momentum·b (Nesterov)
    or d = b; finally p = p − lr·d. Constants are 0-dim tensors, so the
    plain case is a single op.
    """
    param, grad, state = group.data, group.grad, group.state
    if weight_decay != 0:
        grad = torch.addcmul(grad, param, group.constant("weight_decay", weight_decay))
    if momentum != 0:
        buffer = state.get("momentum_buffer")
        if buffer is None:
            with persistent():
                buffer = state["momentum_buffer"] = grad.clone()
        else:
            buffer.mul_(group.constant("momentum", momentum))
            if dampening == 0:
                buffer.add_(grad)
            else:
                buffer.addcmul_(grad, group.constant("1-dampening", 1 - dampening))
        if nesterov:
            grad = torch.addcmul(grad, buffer, group.constant("momentum", momentum))
        else:
            grad = buffer
    param.addcmul_(grad, group.minus_lr(lr))


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

    def update(self, group: FlatGroup) -> None:
        if not (self.momentum or self.weight_decay):  # plain SGD: p −= lr·g, one op
            lr = self.lr
            if lr != group.lr:  # (group.minus_lr, written out: a call costs more than this)
                group.minus_lr(lr)
            group.data.addcmul_(group.grad, group.minus_lr_tensor)
            return
        sgd_update(
            group,
            self.lr,
            self.momentum,
            self.dampening,
            self.nesterov,
            self.weight_decay,
        )
