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
        # the flat view of each diff buffer, made once (a view costs ~2 µs)
        self._flat: dict[int, torch.Tensor] = {}

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_same_shape(prediction, target)
        diff = self._diff = self._buffer("diff", prediction)
        torch.sub(prediction, target, out=diff)
        if self.reduction == "none":
            return diff * diff
        flat = self._flat.get(id(diff))
        if flat is None or flat._base is not diff:
            if len(self._flat) >= 16:
                self._flat.clear()
            flat = self._flat[id(diff)] = diff.view(-1)
        total = torch.dot(flat, flat)  # the sum of squares in one op
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
