"""`Dropout`: zero a fraction p of the inputs in training, scaling the rest by 1/(1 − p)."""

from __future__ import annotations

import torch

from minidl.layers.arguments import not_in_place
from minidl.module import Module


class Dropout(Module):
    """Inverted dropout: E[output] = input, active only in training mode.

    Args:
        p: probability of zeroing an element, in [0, 1].
        inplace: only False: minidl never overwrites a layer's input (narrower than
            torch, which allows True; the step engine rewrites ops in place where safe).
        generator: source of the masks (torch's global one if None), so a
            seeded run is reproducible.

    Shape: (*) -> (*)

    Forward and backward in training, with a fresh mask m ~ Bernoulli(1 − p)
    at every forward (in eval mode both are the identity)::

        y  = x · m / (1 − p)
        dx = g · m / (1 − p)
    """

    mask: torch.Tensor | None = None  # m / (1 − p) of the last training forward

    def __init__(
        self, p: float = 0.5, inplace: bool = False, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.inplace = not_in_place(self, inplace)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"dropout probability must lie in [0, 1], got {p!r}")
        self.p = float(p)
        self.generator = generator

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input
        if not self.training or self.p == 0:
            self.mask = None
            return x
        if self.p == 1:
            self.mask = torch.zeros_like(x)
        else:
            self.mask = torch.bernoulli(x, 1 - self.p, generator=self.generator) / (1 - self.p)
        return x * self.mask

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self.mask is None:
            return grad_output
        return grad_output * self.saved(self.mask, grad_output)

    def extra_repr(self) -> str:
        return f"p={self.p}"
