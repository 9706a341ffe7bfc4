"""`Linear`: y = x Wᵀ + b, with its hand-written backward."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.init import INIT_SCHEMES, init_weight_and_bias
from minidl.module import Module
from minidl.parameter import Parameter


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class Linear(Module):
    """Affine map ``y = x Wᵀ + b``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        init: one of ``minidl.init.INIT_SCHEMES``; ``"default"`` draws like
            ``torch.nn.Linear`` (Kaiming-uniform, a=√5; bias U(±1/√in)).
        generator: source of the initial weights (torch's global one if None).

    Shape:
        (*, in_features) -> (*, out_features)

    Attributes:
        weight: (out_features, in_features), as in torch.nn.Linear.
        bias: (out_features,) or None.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "default",
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        if init not in INIT_SCHEMES:
            raise ValueError(f"unknown init {init!r}; expected one of {', '.join(INIT_SCHEMES)}")
        self.init = init
        self.weight = Parameter(torch.empty(out_features, in_features, dtype=dtype, device=device))
        self.bias = (
            Parameter(torch.empty(out_features, dtype=dtype, device=device)) if bias else None
        )
        self._input: torch.Tensor | None = None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        init_weight_and_bias(
            self.weight.data, None if self.bias is None else self.bias.data, self.init, generator
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(f"expects input (*, {self.in_features}), got {tuple(x.shape)}")
        x2 = x if x.dim() == 2 else x.reshape(-1, self.in_features)
        self._input = x2
        weight_t = self.weight.data.t()
        out = (
            torch.mm(x2, weight_t)
            if self.bias is None
            else torch.addmm(self.bias.data, x2, weight_t)
        )
        return out if x.dim() == 2 else out.reshape(*x.shape[:-1], self.out_features)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = self._input
        if x is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        g = grad_output if grad_output.dim() == 2 else grad_output.reshape(-1, self.out_features)
        if g.shape[0] != x.shape[0]:
            raise ShapeError(
                f"expects grad_output (*, {self.out_features}) matching the forward batch "
                f"of {x.shape[0]}, got {tuple(grad_output.shape)}"
            )
        grad_w, accumulate = self.weight.grad_buffer()
        if accumulate:
            grad_w.addmm_(g.t(), x)
        else:
            torch.mm(g.t(), x, out=grad_w)
        if self.bias is not None:
            grad_b, accumulate = self.bias.grad_buffer()
            if accumulate:
                grad_b.add_(g.sum(0))
            else:
                torch.sum(g, 0, out=grad_b)
        grad_input = torch.mm(g, self.weight.data)
        if grad_output.dim() == 2:
            return grad_input
        return grad_input.reshape(*grad_output.shape[:-1], self.in_features)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def describe(self) -> str:
        return f"Linear({self.in_features}→{self.out_features})"
