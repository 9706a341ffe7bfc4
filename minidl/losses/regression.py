"""L1 and Huber losses: element-wise errors, mean or sum over all elements, as torch."""

from __future__ import annotations

import torch

from minidl.losses.loss import Loss, legacy_reduction


class _ElementwiseLoss(Loss):
    """Shared recipe: keep pred − target; reduce an element-wise value; scale its derivative."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._diff: torch.Tensor | None = None

    def _scaled(self, grad: torch.Tensor, grad_output: torch.Tensor | float | None) -> torch.Tensor:
        return self._finish_grad(grad, grad.numel(), grad_output)

    def _saved_diff(self) -> torch.Tensor:
        if self._diff is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        return self._diff


class L1Loss(_ElementwiseLoss):
    """ℓ = mean |pred − target| (or the sum); d/dpred = sign(pred − target), 0 where equal.

    ``size_average`` and ``reduce`` are torch's deprecated spelling of
    ``reduction`` (see ``legacy_reduction``); leave them None.
    """

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(legacy_reduction(size_average, reduce, reduction))

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_same_shape(input, target)
        self._diff = input - target
        return self._reduce(self._diff.abs())

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        return self._scaled(torch.sign(self._saved_diff()), grad_output)


class HuberLoss(_ElementwiseLoss):
    """½d² where |d| ≤ δ, else δ(|d| − ½δ), with d = pred − target; d/dd = clamp(d, −δ, δ)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta!r}")
        self.delta = float(delta)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_same_shape(input, target)
        diff = self._diff = input - target
        size = diff.abs()
        quadratic = 0.5 * diff * diff
        linear = self.delta * (size - 0.5 * self.delta)
        return self._reduce(torch.where(size < self.delta, quadratic, linear))

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        diff = self._saved_diff()
        return self._scaled(diff.clamp(-self.delta, self.delta), grad_output)

    def __repr__(self) -> str:
        return f"HuberLoss(reduction={self.reduction!r}, delta={self.delta})"
