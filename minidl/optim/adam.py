"""`Adam` and `AdamW`, step for step the maths of PyTorch's optim.Adam / AdamW (single-tensor)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

import torch
from torch import Tensor

from minidl.optim.optimizer import Optimizer, check_non_negative
from minidl.parameter import Parameter


def adam_update(
    param: Tensor,
    grad: Tensor,
    state: dict[str, Tensor],
    steps: Tensor,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
) -> None:
    """One Adam(W) step at step count t = ``steps`` (a 0-dim tensor), in place.

    m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε),
    with v replaced by its running maximum for AMSGrad. Weight decay adds λp
    to g (Adam) or multiplies p by 1 − lr·λ first (AdamW). Maximizing
    flips the sign of g first.
    """
    beta1, beta2 = betas
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    if amsgrad:
        exp_avg_sq = torch.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
    bias_correction1 = 1 - beta1**steps  # tensors, as t is
    bias_correction2 = 1 - beta2**steps
    denominator = (exp_avg_sq.sqrt() / bias_correction2.sqrt()).add_(eps)
    param.addcdiv_(exp_avg * (-lr / bias_correction1), denominator)


class Adam(Optimizer):
    """Adam (Kingma & Ba), as PyTorch's optim.Adam.

    Args:
        params: the parameters to update.
        lr: learning rate (> 0; a one-element tensor counts as its value).
        betas: decay rates of the first and second moment estimates.
        eps: added to the denominator.
        weight_decay: L2 penalty added to the gradient.
        amsgrad: use the running maximum of the second moment (Reddi et al.).
        maximize: ascend instead of descend.
        decoupled_weight_decay: decay the weights as AdamW does.
        foreach, capturable, differentiable, fused: accepted and ignored
            (they choose among torch's implementations of the same maths).
    """

    hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")
    rule = staticmethod(adam_update)

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if decoupled_weight_decay:  # AdamW's rule
            self.rule = partial(adam_update, decoupled_weight_decay=True)
        self.maximize = bool(maximize)
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Invalid betas: {betas!r} (each must lie in [0, 1))")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = check_non_negative("eps", eps)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.amsgrad = bool(amsgrad)
        super().__init__(params, lr)

    def state_names(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's optim.AdamW.

    Arguments as Adam's, but for ``decoupled_weight_decay`` (AdamW's is always on).
    """

    rule = staticmethod(partial(adam_update, decoupled_weight_decay=True))

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
