"""Activations: each forward keeps what its backward reads (its input or its output).

In every docstring g is d loss / d y, the gradient handed to ``backward``.
Where torch's class takes ``inplace``, so does minidl's, in the same
position, but only ``inplace=False``: a minidl layer never overwrites its
input (in-place rewrites, where safe, are the step engine's business).
"""

from __future__ import annotations

import math

import torch

from minidl.layers.arguments import not_in_place
from minidl.module import Module


class ReLU(Module):
    """The positive part of x.

    Args:
        inplace: only False: minidl never overwrites a layer's input (narrower than
            torch, which allows True; the step engine rewrites ops in place where safe).

    Shape: (*) -> (*)

    Forward:  y = max(0, x)
    Backward: dx = g · sign(y)        (1 where x > 0, else 0)
    """

    output: torch.Tensor | None = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = not_in_place(self, inplace)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self.output = torch.relu(input)
        return self.output

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output * torch.sign(self.saved(self.output, grad_output))


class Tanh(Module):
    """The hyperbolic tangent.

    Shape: (*) -> (*)

    Forward:  y = tanh(x)
    Backward: dx = g · (1 − y²)       (as (1 − y)(1 + y): exact where |y| is near 1)
    """

    output: torch.Tensor | None = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self.output = torch.tanh(input)
        return self.output

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        y = self.saved(self.output, grad_output)
        return grad_output * (1 - y) * (1 + y)


class Sigmoid(Module):
    """The logistic function, without overflow for large |x| (torch.sigmoid).

    Shape: (*) -> (*)

    Forward:  y = σ(x) = 1 / (1 + e⁻ˣ)
    Backward: dx = g · y · (1 − y)
    """

    output: torch.Tensor | None = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self.output = torch.sigmoid(input)
        return self.output

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        y = self.saved(self.output, grad_output)
        return grad_output * y * (1 - y)


class SiLU(Module):
    """The sigmoid-weighted linear unit (also called swish).

    Args:
        inplace: only False: minidl never overwrites a layer's input (narrower than
            torch, which allows True; the step engine rewrites ops in place where safe).

    Shape: (*) -> (*)

    Forward:  y = x · σ(x)
    Backward: dx = g · σ(x) · (1 + x · (1 − σ(x)))
    """

    input: torch.Tensor | None = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = not_in_place(self, inplace)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self.input = input
        return input * torch.sigmoid(input)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = self.saved(self.input, grad_output)
        s = torch.sigmoid(x)
        return grad_output * s * (1 + x * (1 - s))


class LeakyReLU(Module):
    """x where x > 0, else a small slope times x.

    Args:
        negative_slope: s, the slope for x <= 0.
        inplace: only False: minidl never overwrites a layer's input (narrower than
            torch, which allows True; the step engine rewrites ops in place where safe).

    Shape: (*) -> (*)

    Forward:  y = x       where x > 0, else s·x
    Backward: dx = g       where x > 0, else s·g
    """

    input: torch.Tensor | None = None

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)
        self.inplace = not_in_place(self, inplace)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = self.input = input
        return torch.where(x > 0, x, x * self.negative_slope)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = self.saved(self.input, grad_output)
        return torch.where(x > 0, grad_output, grad_output * self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """The exponential linear unit.

    Args:
        alpha: α, the value y tends to (negated) as x → −∞.
        inplace: only False: minidl never overwrites a layer's input (narrower than
            torch, which allows True; the step engine rewrites ops in place where safe).

    Shape: (*) -> (*)

    Forward:  y = x       where x > 0, else α(eˣ − 1)
    Backward: dx = g       where x > 0, else g·α·eˣ
    """

    input: torch.Tensor | None = None

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = float(alpha)
        self.inplace = not_in_place(self, inplace)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = self.input = input
        return torch.where(x > 0, x, torch.expm1(x) * self.alpha)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = self.saved(self.input, grad_output)
        return torch.where(x > 0, grad_output, grad_output * self.alpha * torch.exp(x))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF; exact (erf) or its tanh approximation.

    Args:
        approximate: "none" (erf) or "tanh".

    Shape: (*) -> (*)

    Forward and backward, exact, with φ the normal density::

        y  = x · Φ(x) = x · ½(1 + erf(x/√2))
        dx = g · (Φ(x) + x · φ(x))

    With approximate="tanh", t = tanh(k(x + c·x³)), k = √(2/π), c = 0.044715::

        y  = ½x(1 + t)
        dx = g · (½(1 + t) + ½x(1 − t²) · k(1 + 3c·x²))
    """

    input: torch.Tensor | None = None
    K, C = math.sqrt(2 / math.pi), 0.044715

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = self.input = input
        if self.approximate == "tanh":
            return 0.5 * x * (1 + torch.tanh(self.K * (x + self.C * x * x * x)))
        return x * 0.5 * (1 + torch.erf(x * math.sqrt(0.5)))

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = self.saved(self.input, grad_output)
        if self.approximate == "tanh":
            t = torch.tanh(self.K * (x + self.C * x * x * x))
            slope = 0.5 * x * (1 - t) * (1 + t) * self.K * (1 + 3 * self.C * x * x)
            return grad_output * (0.5 * (1 + t) + slope)
        cdf = 0.5 * (1 + torch.erf(x * math.sqrt(0.5)))
        pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad_output * (cdf + x * pdf)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Normalised exponentials along ``dim`` (shifted by the maximum: never overflows).

    Args:
        dim: the dimension whose slices sum to 1. ``None`` makes torch's
            implicit choice from the input's dimensions: 0 for 0-, 1- and
            3-D inputs, else 1 (torch warns that this choice is deprecated;
            pass ``dim``).

    Shape: (*) -> (*)

    Forward and backward (the Jacobian-vector product, without the Jacobian)::

        y  = eˣ / Σ eˣ
        dx = y · (g − Σ g·y)
    """

    output: torch.Tensor | None = None

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def dim_for(self, ndim: int) -> int:
        """The dimension normalised for an input of ``ndim`` dimensions."""
        if self.dim is not None:
            return self.dim
        return 0 if ndim in (0, 1, 3) else 1

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        dim = self.dim_for(input.dim())
        e = torch.exp(input - input.amax(dim, keepdim=True))
        self.output = e / e.sum(dim, keepdim=True)
        return self.output

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        y = self.saved(self.output, grad_output)
        dim = self.dim_for(y.dim())
        return y * (grad_output - (grad_output * y).sum(dim, keepdim=True))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
