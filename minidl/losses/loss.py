"""`Loss`: the base of every loss: forward(input, target) -> loss, backward() -> d loss/d input."""

from __future__ import annotations

from typing import ClassVar

import torch

from minidl.errors import ShapeError

REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """The reduction torch reads from its deprecated ``size_average`` and ``reduce``.

    They stand where torch has them, so that a positional call means what it
    means in torch; either given overrides ``reduction``: ``reduce=False``
    gives "none", else ``size_average=False`` gives "sum", else "mean".
    """
    if size_average is None and reduce is None:
        return reduction
    for name, value in (("size_average", size_average), ("reduce", reduce)):
        if value is not None and not isinstance(value, bool):
            raise ValueError(
                f"{name} (deprecated in torch) must be None or a bool, got {value!r}; "
                "pass the reduction by name: reduction='sum'"
            )
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


class Loss:
    """A scalar function of predictions and targets, with its hand-written gradient.

    ``target_kind`` tells a trainer how to encode class labels for this
    loss: ``"one_hot"`` (one column per class, as for MSE) or ``"index"``
    (class indices, as for cross-entropy).

    ``reduction`` is "mean" or "sum" over all elements, or "none" for the
    element-wise losses; with "none", ``backward(grad_output)`` takes the
    gradient with respect to each loss (ones when omitted).

    ``forward`` returns the loss as a tensor and keeps what ``backward``
    needs; ``value`` returns the same number as a Python float. Narrower
    than torch: only the gradient with respect to the input (the
    prediction) is computed, never one with respect to the target, which a
    trainer does not learn.
    """

    target_kind: ClassVar[str] = "one_hot"
    reductions: ClassVar[tuple[str, ...]] = REDUCTIONS

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in self.reductions:
            raise ValueError(
                f"{type(self).__name__}: unknown reduction {reduction!r}; "
                f"expected one of {', '.join(self.reductions)}"
            )
        self.reduction = reduction

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        """d loss / d input for the last forward (times grad_output if given)."""
        raise NotImplementedError

    def value(self, input: torch.Tensor, target: torch.Tensor) -> float:
        """``forward(input, target).item()``: what a training loop logs and checks for NaN."""
        if self.reduction == "none":
            raise ValueError(
                f"{type(self).__name__}(reduction='none') has one loss per element, "
                "not a single value: call forward"
            )
        return self.forward(input, target).item()

    def __call__(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.forward(input, target)

    def _reduce(self, values: torch.Tensor) -> torch.Tensor:
        if self.reduction == "mean":
            return values.mean()
        if self.reduction == "sum":
            return values.sum()
        return values

    def _finish_grad(
        self, grad: torch.Tensor, count: int, grad_output: torch.Tensor | float | None
    ) -> torch.Tensor:
        """Scale d(element losses)/d(pred) by the reduction and by ``grad_output``."""
        if self.reduction == "mean":
            grad = grad / count
        if grad_output is None:
            return grad
        if isinstance(grad_output, torch.Tensor) and grad_output.dim() == 1 and grad.dim() == 2:
            grad_output = grad_output.unsqueeze(1)  # one loss per row (cross-entropy)
        return grad * grad_output

    def _check_same_shape(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        if prediction.shape != target.shape:
            raise ShapeError(
                f"{type(self).__name__} expects prediction and target of the same shape, "
                f"got {tuple(prediction.shape)} and {tuple(target.shape)}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"
