"""`Loss`: the base of every loss: forward(pred, target) -> scalar, backward() -> d loss/d pred."""

from __future__ import annotations

from typing import ClassVar

import torch

from minidl.errors import ShapeError
from minidl.scratch import constant, scratch

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    """A scalar function of predictions and targets, with its hand-written gradient.

    ``target_kind`` tells a trainer how to encode class labels for this
    loss: ``"one_hot"`` (one column per class, as for MSE) or ``"index"``
    (class indices, as for cross-entropy).

    ``reduction`` is "mean" or "sum" over all elements, or "none" for the
    element-wise losses; with "none", ``backward(grad_output)`` takes the
    gradient with respect to each loss (ones when omitted).

    The scalar returned by ``forward`` is a fresh tensor; ``value`` returns
    the same number as a Python float, which is what a training loop needs
    (and, for ``MSELoss``, makes no tensor at all). The gradient returned by
    ``backward`` lives in a scratch buffer that the next ``backward``
    overwrites (clone it to keep it).
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
        self._scratch: dict[tuple[str, torch.Size], torch.Tensor] = {}
        self._constants: dict[tuple[str, float], torch.Tensor] = {}

    def _buffer(self, name: str, like: torch.Tensor) -> torch.Tensor:
        return scratch(self._scratch, name, like.shape, like)

    def _constant(self, name: str, value: float, like: torch.Tensor) -> torch.Tensor:
        """A cached 0-dim tensor: a Python scalar operand costs ~2 µs more per op."""
        return constant(self._constants, name, value, like)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        """d loss / d prediction for the last forward (times grad_output if given)."""
        raise NotImplementedError

    def value(self, prediction: torch.Tensor, target: torch.Tensor) -> float:
        """The loss as a Python float: what a training loop logs and checks for NaN.

        The same number as ``forward(prediction, target).item()``, and it sets
        up ``backward`` the same way; a loss may compute it without making a
        tensor (forward returns a fresh one, as PyTorch's losses do).
        """
        if self.reduction == "none":
            raise ValueError(
                f"{type(self).__name__}(reduction='none') has one loss per element, "
                "not a single value: call forward"
            )
        return self.forward(prediction, target).item()

    def __call__(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.forward(prediction, target)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # as Module does: a subclass's forward is its __call__, one Python frame less
        if "forward" in cls.__dict__ and "__call__" not in cls.__dict__:
            cls.__call__ = cls.forward  # type: ignore[method-assign]
        # a subclass that changes forward but not value gets the value of its forward,
        # not the one its parent computes without it
        if "forward" in cls.__dict__ and "value" not in cls.__dict__:
            cls.value = Loss.value  # type: ignore[method-assign]

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
