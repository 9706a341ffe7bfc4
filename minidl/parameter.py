"""`Parameter`: a trainable tensor with a gradient buffer of the same shape."""

from __future__ import annotations

from typing import Protocol

import torch


class FlatHome(Protocol):
    """What a parameter knows of the flat optimizer buffer it lives in."""

    left: bool  # set when one of its parameters was re-bound elsewhere


class Parameter:
    """A tensor that an optimizer updates, and the gradient backward writes.

    ``data`` and ``grad`` are plain tensors of the same shape, dtype and
    device. The gradient buffer is made (as zeros) at the first backward, so
    a model that is never trained holds no gradients. Backward always *adds*
    into it, and ``zero_grad()`` zeros it in place, as PyTorch does with
    ``set_to_none=False``: accumulation over several backward calls needs
    no bookkeeping, and an optimizer whose parameters share one flat
    gradient zeros them all with one op.
    """

    __slots__ = ("_grad", "_home", "data")

    def __init__(self, data: torch.Tensor) -> None:
        if not isinstance(data, torch.Tensor):
            raise TypeError(f"Parameter expects a torch.Tensor, got {type(data).__name__}")
        self.data = data
        self._grad: torch.Tensor | None = None
        self._home: FlatHome | None = None  # the flat optimizer buffer data lives in, if any

    @property
    def grad(self) -> torch.Tensor:
        """d loss / d data, accumulated over backward calls since the last zero_grad()."""
        grad = self._grad
        if grad is None:
            with torch.inference_mode(False):  # a gradient outlives any inference-mode block
                grad = self._grad = torch.zeros_like(self.data)
        return grad

    @grad.setter
    def grad(self, value: torch.Tensor) -> None:
        if value.shape != self.data.shape:
            raise ValueError(
                f"grad of shape {tuple(value.shape)} does not fit a parameter of shape "
                f"{tuple(self.data.shape)}"
            )
        self.grad.copy_(value)

    def zero_grad(self) -> None:
        """Zero the gradient in place (a parameter that has none keeps none)."""
        if self._grad is not None:
            self._grad.zero_()

    def rebind(self, data: torch.Tensor, grad: torch.Tensor | None) -> None:
        """Point data and grad at new storage (dtype/device moves, flat buffers).

        A gradient, once made, moves and is never dropped (``grad`` is None only
        for a parameter that has none yet): what was accumulated stays. The
        flat buffer the parameter lived in learns it has left (its optimizer
        re-homes it before the next update).
        """
        if data.shape != self.data.shape or (grad is not None and grad.shape != data.shape):
            raise ValueError("rebind keeps the parameter's shape")
        if grad is None and self._grad is not None:
            raise ValueError(
                "rebind moves a parameter's gradient, never drops it: pass its new storage"
            )
        self.data = data
        self._grad = grad
        if self._home is not None:
            self._home.left = True
            self._home = None

    @property
    def shape(self) -> torch.Size:
        return self.data.shape

    @property
    def dtype(self) -> torch.dtype:
        return self.data.dtype

    @property
    def device(self) -> torch.device:
        return self.data.device

    def numel(self) -> int:
        return self.data.numel()

    def __repr__(self) -> str:
        return f"Parameter(shape={tuple(self.data.shape)}, dtype={self.data.dtype})"
