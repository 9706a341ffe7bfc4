"""`Parameter`: a trainable tensor with a gradient buffer of the same shape."""

from __future__ import annotations

import torch


class Parameter:
    """A tensor that an optimizer updates, and the gradient backward writes.

    ``data`` and ``grad`` are plain tensors of the same shape, dtype and
    device. The gradient buffer is made at the first backward (a model that
    is never trained holds no gradients), and ``zero_grad()`` is lazy: it
    only marks the gradient stale, so the next backward *writes* the
    gradient instead of reading zeros and adding to them (one tensor op
    saved per parameter per step). Reading ``grad`` while it is stale gives
    zeros, so accumulation over several backward calls keeps PyTorch's
    semantics.
    """

    __slots__ = ("_grad", "_grad_stale", "_home", "data")

    def __init__(self, data: torch.Tensor) -> None:
        if not isinstance(data, torch.Tensor):
            raise TypeError(f"Parameter expects a torch.Tensor, got {type(data).__name__}")
        self.data = data
        self._grad: torch.Tensor | None = None
        self._grad_stale = True
        self._home: object | None = None  # the flat optimizer buffer data lives in, if any

    def _allocate_grad(self) -> torch.Tensor:
        with torch.inference_mode(False):  # a gradient outlives any inference-mode block
            self._grad = torch.zeros_like(self.data)
        self._grad_stale = False
        return self._grad

    @property
    def grad(self) -> torch.Tensor:
        """d loss / d data, accumulated over backward calls since the last zero_grad()."""
        if self._grad is None:
            return self._allocate_grad()
        if self._grad_stale:
            self._grad.zero_()
            self._grad_stale = False
        return self._grad

    @grad.setter
    def grad(self, value: torch.Tensor) -> None:
        if value.shape != self.data.shape:
            raise ValueError(
                f"grad of shape {tuple(value.shape)} does not fit a parameter of shape "
                f"{tuple(self.data.shape)}"
            )
        target = self._grad if self._grad is not None else self._allocate_grad()
        target.copy_(value)
        self._grad_stale = False

    def grad_buffer(self) -> tuple[torch.Tensor, bool]:
        """The gradient tensor for a backward to fill, and whether to add to it.

        ``(buffer, False)`` means the buffer is stale and must be overwritten;
        ``(buffer, True)`` means a gradient is already there and the new one
        must be added. Either way the parameter counts as fresh afterwards.
        """
        if self._grad is None:
            return self._allocate_grad(), False
        accumulate = not self._grad_stale
        self._grad_stale = False
        return self._grad, accumulate

    def zero_grad(self) -> None:
        """Forget the gradient; the next backward overwrites it."""
        self._grad_stale = True

    def rebind(self, data: torch.Tensor, grad: torch.Tensor | None) -> None:
        """Point data and grad at new storage (dtype/device moves, flat buffers)."""
        if data.shape != self.data.shape or (grad is not None and grad.shape != data.shape):
            raise ValueError("rebind keeps the parameter's shape")
        self.data = data
        self._grad = grad
        self._home = None
        if grad is None:
            self._grad_stale = True

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
