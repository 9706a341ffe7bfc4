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

    frees_output = True  # backward reads the mask, never the output
    computes_in_place = True  # forward_in_place: the mask applied over the input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = self._draw_mask(x)
        if mask is None:
            return x
        # a scratch output in training, as every minidl layer's: valid until the next call
        return torch.mul(x, mask, out=self._buffer("out", x))

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        mask = self._draw_mask(x)
        return x if mask is None else x.mul_(mask)

    def _draw_mask(self, x: torch.Tensor) -> torch.Tensor | None:
        """A new mask of kept elements scaled by 1/(1 − p), in this shape's buffer;
        None when nothing is dropped (eval mode or p = 0)."""
        if not self.training or self.p == 0:
            self._mask = None
            return None
        mask = self._buffer("mask", x)
        if self.p == 1:
            self._mask = mask.zero_()
            return mask
        # the draw of torch.empty_like(x).bernoulli_(1 − p): the same numbers from a generator
        mask.bernoulli_(1 - self.p, generator=self.generator)
        self._mask = mask.div_(self._constant("keep", 1 - self.p, mask))
        return mask

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        mask = self._mask
        if mask is None:
            return grad_output
        if mask.shape != grad_output.shape:
            raise ShapeError(
                f"{self.describe()}: grad_output {tuple(grad_output.shape)} does not match "
                f"the forward shape {tuple(mask.shape)}"
            )
        return torch.mul(grad_output, mask, out=self._buffer("grad_input", grad_output))

    def extra_repr(self) -> str:
        return f"p={self.p}"
