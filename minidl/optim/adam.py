"""`Adam` and `AdamW`, step for step the maths of PyTorch's optim.Adam / AdamW (single-tensor)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from minidl.optim.flat import FlatGroup
from minidl.optim.optimizer import Optimizer, check_non_negative
from minidl.parameter import Parameter


def _check_betas(betas: tuple[float, float]) -> tuple[float, float]:
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"Invalid betas: {betas!r} (each must lie in [0, 1))")
    return float(betas[0]), float(betas[1])


def adam_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    max_exp_avg_sq: torch.Tensor | None,
    steps: torch.Tensor,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool = False,
) -> None:
    """One Adam(W) step at step count t = ``steps`` (a 0-dim tensor), in place.

    m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε),
    with v replaced by its running maximum for AMSGrad (``max_exp_avg_sq``
    given). Weight decay adds λp to g (Adam) or multiplies p by 1 − lr·λ
    first (AdamW). Maximizing flips the sign of g first.
    """
    beta1, beta2 = betas
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    second_moment = exp_avg_sq
    if max_exp_avg_sq is not None:
        second_moment = torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    bias_correction1 = 1 - beta1**steps  # tensors, as t is
    bias_correction2 = 1 - beta2**steps
    denominator = (second_moment.sqrt() / bias_correction2.sqrt()).add_(eps)
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

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float | torch.Tensor = 1e-3,
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
        super().__init__(params, lr)
        self.maximize = bool(maximize)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        self.betas = _check_betas(tuple(betas))
        self.eps = check_non_negative("eps", eps)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.amsgrad = bool(amsgrad)
        self.make_state()

    def state_names(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def update(self, group: FlatGroup) -> None:
        adam_update(
            group.data,
            group.grad,
            group.state_tensor("exp_avg"),
            group.state_tensor("exp_avg_sq"),
            group.state_tensor("max_exp_avg_sq") if self.amsgrad else None,
            self.steps,
            self.lr,
            self.betas,
            self.eps,
            self.weight_decay,
            self.decoupled_weight_decay,
            self.maximize,
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's optim.AdamW.

    Arguments as Adam's (without ``decoupled_weight_decay``, which AdamW is).
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float | torch.Tensor = 1e-3,
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
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
