"""`MSELoss`: mean (or sum) of squared errors over all elements, as PyTorch's nn.MSELoss."""

from __future__ import annotations

import torch

# imported by name for the hot path: torch's module-level __getattr__ keeps CPython 3.11
# from caching a `torch.dot` lookup, which costs ~370 instructions (0.1 µs) per call
from torch import dot, mul, sub

from minidl.losses.loss import Loss
from minidl.scratch import MAX_WORKSPACES, store


class MSELoss(Loss):
    """ℓ = mean((pred − target)²) over *all* elements (or their sum).

    This is PyTorch's convention: with two output columns the mean divides
    by 2·N, not N, and the gradient is 2·(pred − target) / numel.

    Shape: prediction (*), target (*) of the same shape -> scalar.
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._current: _Workspace | None = None
        # one workspace per prediction shape: an epoch's last batch is smaller
        self._workspaces: dict[torch.Size, _Workspace] = {}

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ws = self._current
        if ws is None or prediction is not ws.prediction:  # else: checked at the last step
            ws = self._workspace_for(prediction)
        if target.shape != ws.shape:
            self._check_same_shape(prediction, target)
        diff = sub(prediction, target, out=ws.diff)
        count = ws.count
        if count is not None:  # the mean: the sum of squares in one op, then one division
            return dot(ws.diff_flat, ws.diff_flat).div_(count)
        if self.reduction == "sum":
            return dot(ws.diff_flat, ws.diff_flat)
        return diff * diff

    def _workspace_for(self, prediction: torch.Tensor) -> _Workspace:
        """The workspace of this prediction's shape and dtype; it remembers the tensor,
        so the next step skips these checks when the prediction is the same one (the
        last layer's scratch output)."""
        shape = prediction.shape
        ws = self._workspaces.get(shape)
        if ws is None or ws.diff.dtype is not prediction.dtype:
            ws = store(
                self._workspaces,
                shape,
                lambda: _Workspace(prediction, self.reduction),
                MAX_WORKSPACES,
            )
        ws.prediction = prediction
        self._current = ws
        return ws

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        ws = self._current
        if ws is None:
            raise RuntimeError("MSELoss: backward called before forward")
        grad = mul(ws.diff, ws.scale, out=ws.grad)
        return grad if grad_output is None else grad.mul_(grad_output)  # "none": element-wise


class _Workspace:
    """Buffers and constants for one prediction shape: made once, not looked up per step.

    Constants are 0-dim tensors (a Python scalar operand costs ~2 µs per op).
    """

    __slots__ = ("count", "diff", "diff_flat", "grad", "prediction", "scale", "shape")

    def __init__(self, prediction: torch.Tensor, reduction: str) -> None:
        self.shape = prediction.shape
        self.prediction: torch.Tensor | None = None  # the last forward's, if it used this one
        self.diff = torch.empty_like(prediction, memory_format=torch.contiguous_format)
        self.diff_flat = self.diff.view(-1)
        self.grad = torch.empty_like(self.diff)
        numel = prediction.numel()
        mean = reduction == "mean"
        self.count = prediction.new_tensor(float(numel)) if mean else None
        self.scale = prediction.new_tensor(2.0 / numel if mean and numel else 2.0)
