"""Element-wise activations. Each keeps only what its backward needs."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.module import Module


class _Elementwise(Module):
    """Shared guard: backward needs a forward first, and the same shape."""

    _saved: torch.Tensor | None = None

    def _saved_for(self, grad_output: torch.Tensor) -> torch.Tensor:
        saved = self._saved
        if saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        if saved.shape != grad_output.shape:
            raise ShapeError(
                f"{self.describe()}: grad_output {tuple(grad_output.shape)} does not match "
                f"the forward output {tuple(saved.shape)}"
            )
        return saved


class ReLU(_Elementwise):
    """max(0, x). Backward passes the gradient where the output is positive.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(x)
        self._saved = out
        return out

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out = self._saved_for(grad_output)
        return grad_output * (out > 0)


class Tanh(_Elementwise):
    """tanh(x); d/dx = 1 - tanh(x)², computed from the saved output.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.tanh(x)
        self._saved = out
        return out

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out = self._saved_for(grad_output)
        return grad_output * (1 - out * out)


class Sigmoid(_Elementwise):
    """1 / (1 + e⁻ˣ), computed without overflow for large |x| (torch.sigmoid).

    d/dx = σ(x)(1 - σ(x)), computed from the saved output.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.sigmoid(x)
        self._saved = out
        return out

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out = self._saved_for(grad_output)
        return grad_output * out * (1 - out)
