"""`Linear`: y = x Wᵀ + b, with its hand-written backward."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.init import init_weight_and_bias
from minidl.layers.arguments import init_scheme, integer_argument
from minidl.module import Module
from minidl.parameter import Parameter


class Linear(Module):
    """Affine map of the last dimension.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        device, dtype: where and how the parameters are made.
        init: one of ``minidl.init.INIT_SCHEMES``; ``"default"`` draws like
            PyTorch's ``nn.Linear`` (Kaiming-uniform, a=√5; bias U(±1/√in)).
        generator: source of the initial weights (torch's global one if None).

    Shape:
        (*, in_features) -> (*, out_features)

    Attributes:
        weight: W, (out_features, in_features), as in PyTorch's nn.Linear.
        bias: b, (out_features,) or None.

    Forward and backward, for a batch x of N rows and g = d loss / d y::

        y  = x Wᵀ + b
        dW += gᵀ x
        db += gᵀ 1
        dx = g W
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        init: str = "default",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = integer_argument("in_features", in_features)
        self.out_features = integer_argument("out_features", out_features)
        self.init = init_scheme(init)
        self.weight = Parameter(torch.empty(out_features, in_features, dtype=dtype, device=device))
        self.bias = (
            Parameter(torch.empty(out_features, dtype=dtype, device=device)) if bias else None
        )
        self.input: torch.Tensor | None = None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        init_weight_and_bias(
            self.weight.data, None if self.bias is None else self.bias.data, self.init, generator
        )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(f"expects input (*, {self.in_features}), got {tuple(x.shape)}")
        if x.dim() != 2:  # the leading dimensions as rows
            rows = self.forward(x.reshape(-1, self.in_features))
            return rows.reshape(*x.shape[:-1], self.out_features)
        self.input = x
        if self.bias is None:
            return torch.mm(x, self.weight.data.t())  # y = x Wᵀ
        return torch.addmm(self.bias.data, x, self.weight.data.t())  # y = x Wᵀ + b

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x, g = self.input, grad_output
        if x is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        if g.dim() != 2 and g.dim() > 0:  # the leading dimensions as rows, as forward took them
            rows = self.backward(g.reshape(-1, g.shape[-1]))
            return rows.reshape(*g.shape[:-1], self.in_features)
        if g.shape != (x.shape[0], self.out_features):
            raise ShapeError(
                f"expects grad_output (*, {self.out_features}) matching the forward batch "
                f"of {x.shape[0]}, got {tuple(g.shape)}"
            )
        self.weight.grad.addmm_(g.t(), x)  # dW += gᵀ x
        if self.bias is not None:
            self.bias.grad.addmv_(g.t(), g.new_ones(g.shape[0]))  # db += gᵀ 1
        return torch.mm(g, self.weight.data)  # dx = g W

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def describe(self) -> str:
        return f"Linear({self.in_features}→{self.out_features})"
