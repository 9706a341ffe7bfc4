"""Layers that only move numbers around: Identity, Flatten, Unflatten."""

from __future__ import annotations

import math

import torch

from minidl.errors import ShapeError
from minidl.module import Module


class Identity(Module):
    """Returns its input; backward returns the gradient. Shape: (*) -> (*)

    Takes and ignores any arguments, as PyTorch's nn.Identity.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__()

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return input

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


class Flatten(Module):
    """Merges dimensions start_dim..end_dim, as PyTorch's nn.Flatten (default: all but the batch).

    Shape: (N, *dims) -> (N, prod(dims)); backward reshapes g back to (N, *dims).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim
        self._input_shape: torch.Size | None = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._input_shape = input.shape
        return input.flatten(self.start_dim, self.end_dim)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self._input_shape is None:
            raise RuntimeError("Flatten: backward called before forward")
        return grad_output.reshape(self._input_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size``, as PyTorch's nn.Unflatten.

    Turns 2-D points (N, features) into sequences (N, channels, length) for Conv1d.

    Shape: (N, prod(sizes)) -> (N, *sizes) when dim = 1
    """

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(int(s) for s in unflattened_size)
        self._input_shape: torch.Size | None = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input
        expected = math.prod(self.unflattened_size)
        if x.dim() <= self.dim or x.shape[self.dim] != expected:
            raise ShapeError(
                f"expects dimension {self.dim} of size {expected}, got {tuple(x.shape)}"
            )
        self._input_shape = x.shape
        return x.unflatten(self.dim, self.unflattened_size)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self._input_shape is None:
            raise RuntimeError("Unflatten: backward called before forward")
        return grad_output.reshape(self._input_shape)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
