"""`RMSprop`, the maths of PyTorch's optim.RMSprop (single-tensor)."""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor

from minidl.optim.optimizer import Optimizer, check_non_negative
from minidl.parameter import Parameter


def rmsprop_update(
    param: Tensor,
    grad: Tensor,
    state: dict[str, Tensor],
    steps: Tensor,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool = False,
) -> None:
    """One RMSprop step, in place: s ← αs + (1−α)g²; p ← p − lr·g/(√(s − ḡ²) + ε).

    ḡ, the running mean of g, only when centered; with momentum,
    b ← momentum·b + g/(√(…) + ε) and p ← p − lr·b. Maximizing flips the
    sign of g first.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    square_avg = state["square_avg"]
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg.lerp_(grad, 1 - alpha)
        average = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    else:
        average = square_avg.sqrt()
    average.add_(eps)
    if momentum > 0:
        buffer = state["momentum_buffer"]
        buffer.mul_(momentum).addcdiv_(grad, average)
        param.add_(buffer, alpha=-lr)
    else:
        param.addcdiv_(grad, average, value=-lr)


class RMSprop(Optimizer):
    """RMSprop (Hinton), as PyTorch's optim.RMSprop.

    Args:
        params: the parameters to update.
        lr: learning rate (> 0).
        alpha: smoothing constant of the squared-gradient average.
        eps: added to the denominator.
        weight_decay: L2 penalty added to the gradient.
        momentum: momentum factor.
        centered: normalise by the estimated variance instead of the second moment.
        maximize: ascend instead of descend.
        capturable, foreach, differentiable: accepted and ignored (they choose
            among torch's implementations of the same maths).
    """

    hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")
    rule = staticmethod(rmsprop_update)

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float | Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        self.maximize = bool(maximize)
        self.alpha = check_non_negative("alpha", alpha)
        self.eps = check_non_negative("eps", eps)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.momentum = check_non_negative("momentum", momentum)
        self.centered = bool(centered)
        super().__init__(params, lr)

    def state_names(self) -> tuple[str, ...]:
        names = ("square_avg",) + (("momentum_buffer",) if self.momentum > 0 else ())
        return names + (("grad_avg",) if self.centered else ())
