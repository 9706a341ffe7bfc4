"""`Dropout`: zero a fraction p of the inputs in training, scaling the rest by 1/(1 − p)."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.module import Module


class Dropout(Module):
    """Inverted dropout: E[output] = input, active only in training mode.

    The mask is drawn from ``generator`` (torch's global one if None), so a
    seeded run is reproducible, and backward multiplies by the same mask.

    Args:
        p: probability of zeroing an element, in [0, 1].
        generator: source of the masks.

    Shape: (*) -> (*)
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"dropout probability must lie in [0, 1], got {p!r}")
        self.p = float(p)
        self.generator = generator
        self._mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            self._mask = None
            return x
        if self.p == 1:
            self._mask = torch.zeros_like(x)
            return self._mask.clone()
        mask = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        self._mask = mask.div_(1 - self.p)
        return x * self._mask

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        mask = self._mask
        if mask is None:
            return grad_output
        if mask.shape != grad_output.shape:
            raise ShapeError(
                f"{self.describe()}: grad_output {tuple(grad_output.shape)} does not match "
                f"the forward shape {tuple(mask.shape)}"
            )
        return grad_output * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
