"""`MSELoss`: mean (or sum) of squared errors over all elements, as PyTorch's nn.MSELoss."""

from __future__ import annotations

import torch

from minidl.losses.loss import Loss, legacy_reduction


class MSELoss(Loss):
    """Squared error, averaged (or summed) over *all* elements.

    This is PyTorch's convention: with two output columns the mean divides
    by 2·N, not N.

    Args:
        size_average, reduce: torch's deprecated spelling of ``reduction``
            (see ``legacy_reduction``); leave them None.
        reduction: "mean", "sum" or "none" (one loss per element).

    Shape: prediction (*), target (*) of the same shape -> scalar ("none": (*)).

    Forward and backward, with d = prediction − target and n elements
    (for "sum" drop the 1/n)::

        ℓ = 1/n Σ d²
        dℓ/dprediction = 2·d / n
    """

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(legacy_reduction(size_average, reduce, reduction))
        self._diff: torch.Tensor | None = None

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_same_shape(input, target)
        self._diff = input - target
        return self._reduce(self._diff * self._diff)

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        if self._diff is None:
            raise RuntimeError("MSELoss: backward called before forward")
        scale = 2 / max(self._diff.numel(), 1) if self.reduction == "mean" else 2.0
        grad = self._diff * scale
        return grad if grad_output is None else grad * grad_output
