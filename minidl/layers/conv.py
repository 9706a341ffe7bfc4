"""`Conv1d`: a 1-D convolution (cross-correlation) as a matrix product over unfolded windows."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.init import init_weight_and_bias
from minidl.layers.arguments import init_scheme, integer_argument
from minidl.module import Module
from minidl.parameter import Parameter


class Conv1d(Module):
    """A 1-D convolution (cross-correlation), as PyTorch's nn.Conv1d.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k.
        stride: s, the step between windows.
        padding: p, zeros added at both ends.
        bias: learn a bias per output channel.
        init: as for Linear; "default" draws like PyTorch's nn.Conv1d.
        generator: source of the initial weights (torch's global one if None).

    Shape: (N, C_in, L) -> (N, C_out, L_out), L_out = (L + 2p − k) // s + 1.

    Attributes:
        weight: W, (C_out, C_in, k).
        bias: b, (C_out,) or None.

    Every window of the padded input becomes a row of X, (N·L_out, C_in·k):
    X[(n, l), (c, j)] = x_padded[n, c, l·s + j]. Then, with W as a
    (C_out, C_in·k) matrix and g as (N·L_out, C_out) rows, it is a Linear::

        y  = X Wᵀ + b
        dW += gᵀ X
        db += gᵀ 1
        dX = g W,  and dx_padded[n, c, l·s + j] += dX[(n, l), (c, j)]
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        init: str = "default",
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = integer_argument("in_channels", in_channels)
        self.out_channels = integer_argument("out_channels", out_channels)
        self.kernel_size = integer_argument("kernel_size", kernel_size)
        self.stride = integer_argument("stride", stride)
        self.padding = integer_argument("padding", padding, minimum=0)
        self.init = init_scheme(init)
        options = {"dtype": dtype, "device": device}
        self.weight = Parameter(torch.empty(out_channels, in_channels, kernel_size, **options))
        self.bias = Parameter(torch.empty(out_channels, **options)) if bias else None
        self._saved: tuple[torch.Size, torch.Tensor] | None = None  # input shape, windows
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        init_weight_and_bias(
            self.weight.data, None if self.bias is None else self.bias.data, self.init, generator
        )

    def output_length(self, length: int) -> int:
        return (length + 2 * self.padding - self.kernel_size) // self.stride + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ShapeError(f"expects input (N, {self.in_channels}, L), got {tuple(x.shape)}")
        n, length_out = x.shape[0], self.output_length(x.shape[2])
        if length_out < 1:
            raise ShapeError(
                f"input length {x.shape[2]} is shorter than the kernel "
                f"({self.kernel_size}, padding {self.padding})"
            )
        padded = torch.constant_pad_nd(x, (self.padding, self.padding))
        windows = padded.unfold(2, self.kernel_size, self.stride)  # (N, C_in, L_out, k)
        rows = windows.transpose(1, 2).reshape(n * length_out, -1)  # X
        self._saved = (x.shape, rows)
        weight = self.weight.data.view(self.out_channels, -1)
        if self.bias is None:
            y = torch.mm(rows, weight.t())  # y = X Wᵀ
        else:
            y = torch.addmm(self.bias.data, rows, weight.t())  # y = X Wᵀ + b
        return y.view(n, length_out, self.out_channels).transpose(1, 2)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        (n, c_in, length), rows = self._saved
        length_out = self.output_length(length)
        if grad_output.shape != (n, self.out_channels, length_out):
            raise ShapeError(
                f"expects grad_output {(n, self.out_channels, length_out)}, "
                f"got {tuple(grad_output.shape)}"
            )
        g = grad_output.transpose(1, 2).reshape(n * length_out, self.out_channels)
        weight = self.weight.data.view(self.out_channels, -1)
        self.weight.grad.view(self.out_channels, -1).addmm_(g.t(), rows)  # dW += gᵀ X
        if self.bias is not None:
            self.bias.grad.addmv_(g.t(), g.new_ones(g.shape[0]))  # db += gᵀ 1
        k, s, p = self.kernel_size, self.stride, self.padding
        grad_rows = torch.mm(g, weight)  # dX = g W
        # as (N, C_in, k, L_out): kernel offset j read x_padded at j, j + s, j + 2s, …
        grad_windows = grad_rows.view(n, length_out, c_in, k).permute(0, 2, 3, 1)
        grad_padded = g.new_zeros(n, c_in, length + 2 * p)
        for j in range(k):
            grad_padded[:, :, j : j + s * (length_out - 1) + 1 : s].add_(grad_windows[:, :, j])
        return grad_padded[:, :, p : p + length]

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size=({self.kernel_size},), "
            f"stride=({self.stride},), padding=({self.padding},), bias={self.bias is not None}"
        )

    def describe(self) -> str:
        return f"Conv1d({self.in_channels}→{self.out_channels}, k={self.kernel_size})"
