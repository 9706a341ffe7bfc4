"""Element-wise activations. Each keeps only its output, which its backward needs.

Inside a ``Sequential`` an activation that follows a layer whose output is
free (a ``Linear``) runs in place on that output; its backward writes into
a scratch buffer: ReLU and Tanh cost 1 op forward and 2 backward, Sigmoid
1 and 3.
"""

from __future__ import annotations

import math

import torch

from minidl.errors import ShapeError
from minidl.module import Module


class _Elementwise(Module):
    """Shared recipe: forward saves the output; backward checks it exists and fits."""

    computes_in_place = True

    def __init__(self) -> None:
        super().__init__()
        self._saved: torch.Tensor | None = None
        self._grad_input: torch.Tensor | None = None
        self._checked: tuple[torch.Tensor, torch.Tensor] | None = None
        self._spent_pair: tuple[torch.Tensor, torch.Tensor] | None = None

    def _save(self, out: torch.Tensor) -> torch.Tensor:
        self._saved = out
        return out

    def _saved_and_buffer(self, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The saved output and the scratch buffer for the input gradient.

        Shapes are checked once per (output, gradient) pair of tensors: in a
        training loop both are the same scratch buffers at every step.
        """
        saved = self._saved
        checked = self._checked
        if checked is not None and checked[0] is saved and checked[1] is grad_output:
            return saved, self._grad_input
        if saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        if saved.shape != grad_output.shape:
            raise ShapeError(
                f"{self.describe()}: grad_output {tuple(grad_output.shape)} does not match "
                f"the forward output {tuple(saved.shape)}"
            )
        buffer = self._grad_input = self._buffer("grad_input", grad_output)
        self._checked = (saved, grad_output)
        return saved, buffer

    def _spend_saved(self, grad_output: torch.Tensor) -> torch.Tensor:
        """The saved output, checked against ``grad_output`` and forgotten: the
        caller overwrites it with the input gradient, so a second backward
        must run forward first (as PyTorch frees its graph after backward)."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(
                f"{self.describe()}: backward called before forward, or twice after one "
                "forward (its saved output was overwritten in place); run forward again"
            )
        checked = self._spent_pair
        if checked is not None and checked[0] is saved and checked[1] is grad_output:
            self._saved = None  # the same two buffers as at the last step: shapes fit
            return saved
        if saved.shape != grad_output.shape:
            raise ShapeError(
                f"{self.describe()}: grad_output {tuple(grad_output.shape)} does not match "
                f"the forward output {tuple(saved.shape)}"
            )
        self._saved = self._checked = None
        self._spent_pair = (saved, grad_output)
        return saved

    def _on_moved(self) -> None:
        super()._on_moved()
        self._saved = self._grad_input = self._checked = self._spent_pair = None


class ReLU(_Elementwise):
    """max(0, x). Backward passes the gradient where the output is positive.

    The mask is sign(output), which is exactly 0 or 1 since output >= 0.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(torch.relu(x))

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        self._saved = out = x.relu_()
        return out

    backward_overwrites_output = True

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out, buffer = self._saved_and_buffer(grad_output)
        return torch.sign(out, out=buffer).mul_(grad_output)

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        saved = self._saved
        pair = self._spent_pair
        if pair is not None and saved is pair[0] and grad_output is pair[1]:
            self._saved = None  # the buffers of the last step: checked then (inlined fast path)
        else:
            saved = self._spend_saved(grad_output)
        return saved.sign_().mul_(grad_output)


class Tanh(_Elementwise):
    """tanh(x); d/dx = 1 - tanh(x)², computed from the saved output.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(torch.tanh(x))

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(x.tanh_())

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out, buffer = self._saved_and_buffer(grad_output)
        # (1 − y·y)·g; addcmul rounds 1 − y·y once, as autograd's kernel does, which
        # matters where |y| is near 1 (1 − y*y in two ops loses up to 1e-9 there)
        torch.addcmul(self._constant("one", 1.0, out), out, out, value=-1, out=buffer)
        return buffer.mul_(grad_output)

    backward_overwrites_output = True

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        out = self._spend_saved(grad_output)
        torch.addcmul(self._constant("one", 1.0, out), out, out, value=-1, out=out)
        return out.mul_(grad_output)


class Sigmoid(_Elementwise):
    """1 / (1 + e⁻ˣ), computed without overflow for large |x| (torch.sigmoid).

    d/dx = σ(x)(1 - σ(x)), computed from the saved output.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(torch.sigmoid(x))

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(x.sigmoid_())

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out, buffer = self._saved_and_buffer(grad_output)
        # (1 − σ)·σ·g: 1 − σ is exact where σ is near 1, unlike σ − σ²
        torch.sub(self._constant("one", 1.0, out), out, out=buffer)
        return buffer.mul_(out).mul_(grad_output)


class LeakyReLU(Module):
    """x where x > 0, else negative_slope·x. Backward reads the saved input's sign.

    Shape: (*) -> (*)
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)
        self._input: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._input = x
        return torch.where(x > 0, x, x * self.negative_slope)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = _saved_input(self, self._input, grad_output)
        return torch.where(x > 0, grad_output, grad_output * self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x where x > 0, else α(eˣ − 1); d/dx = 1 or α·eˣ (from the saved input, as autograd).

    Shape: (*) -> (*)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)
        self._input: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._input = x
        return torch.where(x > 0, x, torch.expm1(x) * self.alpha)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = _saved_input(self, self._input, grad_output)
        return torch.where(x > 0, grad_output, grad_output * self.alpha * torch.exp(x))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """x·Φ(x), exact (erf) by default, or the tanh approximation with approximate="tanh".

    Backward: Φ(x) + x·φ(x) for the exact form; for the tanh form the
    derivative of 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).

    Shape: (*) -> (*)
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self._input: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._input = x
        if self.approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))
            return 0.5 * x * (1 + torch.tanh(inner))
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = _saved_input(self, self._input, grad_output)
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = torch.tanh(k * (x + 0.044715 * x.pow(3)))
            derivative = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        else:
            cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
            pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            derivative = cdf + x * pdf
        return grad_output * derivative

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """exp(x) / Σ exp(x) along ``dim`` (max-shifted, so it never overflows).

    Backward: y·(g − Σ g·y), the Jacobian-vector product without the Jacobian.

    Shape: (*) -> (*)
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim
        self._output: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shifted = x - x.amax(dim=self.dim, keepdim=True)
        exp = torch.exp(shifted)
        out = exp / exp.sum(dim=self.dim, keepdim=True)
        self._output = out
        return out

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        y = _saved_input(self, self._output, grad_output)
        return y * (grad_output - (grad_output * y).sum(dim=self.dim, keepdim=True))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _saved_input(
    module: Module, saved: torch.Tensor | None, grad_output: torch.Tensor
) -> torch.Tensor:
    if saved is None:
        raise RuntimeError(f"{module.describe()}: backward called before forward")
    if saved.shape != grad_output.shape:
        raise ShapeError(
            f"{module.describe()}: grad_output {tuple(grad_output.shape)} does not match "
            f"the forward shape {tuple(saved.shape)}"
        )
    return saved
