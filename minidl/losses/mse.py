"""`MSELoss`: mean (or sum) of squared errors over all elements, as PyTorch's nn.MSELoss."""

from __future__ import annotations

import torch

from minidl.losses.loss import Loss


class MSELoss(Loss):
    """ℓ = mean((pred − target)²) over *all* elements (or their sum).

    This is PyTorch's convention: with two output columns the mean divides
    by 2·N, not N, and the gradient is 2·(pred − target) / numel.

    Shape: prediction (*), target (*) of the same shape -> scalar.
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._diff: torch.Tensor | None = None
        self._diff_flat: torch.Tensor | None = None

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_same_shape(prediction, target)
        diff = self._buffer("diff", prediction)
        if diff is not self._diff:
            self._diff, self._diff_flat = diff, diff.view(-1)
        torch.sub(prediction, target, out=diff)
        if self.reduction == "none":
            return diff * diff
        total = torch.dot(self._diff_flat, self._diff_flat)  # the sum of squares in one op
        if self.reduction == "mean":
            total.div_(self._constant("count", diff.numel(), diff))
        return total

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        diff = self._diff
        if diff is None:
            raise RuntimeError("MSELoss: backward called before forward")
        scale = 2.0 / diff.numel() if self.reduction == "mean" else 2.0
        grad = torch.mul(diff, self._constant("scale", scale, diff), out=self._buffer("grad", diff))
        return grad if grad_output is None else grad.mul_(grad_output)  # "none": element-wise
