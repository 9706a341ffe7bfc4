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

    out[n, o, l] = b[o] + Σ_c Σ_j W[o, c, j] · x_padded[n, c, l·stride + j].

    Forward unfolds the padded input into windows (N, L_out, C_in·k) and
    multiplies them by the weight viewed as (C_out, C_in·k). Backward gives
    the weight gradient as one product, and the input gradient by adding
    each kernel offset's contribution back at its stride.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k.
        stride: step between windows.
        padding: zeros added at both ends.
        bias: learn a bias per output channel.
        init: as for Linear; "default" draws like PyTorch's nn.Conv1d.

    Shape: (N, C_in, L) -> (N, C_out, L_out), L_out = (L + 2·padding − k) // stride + 1.
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
        self._saved: tuple[torch.Tensor, torch.Size] | None = None
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
        if self.output_length(x.shape[2]) < 1:
            raise ShapeError(
                f"input length {x.shape[2]} is shorter than the kernel "
                f"({self.kernel_size}, padding {self.padding})"
            )
        padded = self._pad(x)
        windows = padded.unfold(2, self.kernel_size, self.stride)  # (N, C_in, L_out, k)
        n, _, length_out, _ = windows.shape
        columns = windows.permute(0, 2, 1, 3).reshape(n * length_out, -1)  # (N·L_out, C_in·k)
        self._saved = (columns, x.shape)
        weight = self.weight.data.reshape(self.out_channels, -1)
        out = columns @ weight.t()
        if self.bias is not None:
            out = out + self.bias.data
        return out.reshape(n, length_out, self.out_channels).permute(0, 2, 1)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == 0:
            return x
        zeros = x.new_zeros(x.shape[0], x.shape[1], self.padding)
        return torch.cat([zeros, x, zeros], dim=2)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        columns, input_shape = self._saved
        n, _, length = input_shape
        length_out = self.output_length(length)
        if grad_output.shape != (n, self.out_channels, length_out):
            raise ShapeError(
                f"{self.describe()}: expects grad_output {(n, self.out_channels, length_out)}, "
                f"got {tuple(grad_output.shape)}"
            )
        g = grad_output.permute(0, 2, 1).reshape(n * length_out, self.out_channels)
        grad_w = (g.t() @ columns).reshape(self.weight.shape)
        buffer, accumulate = self.weight.grad_buffer()
        buffer.add_(grad_w) if accumulate else buffer.copy_(grad_w)
        if self.bias is not None:
            buffer, accumulate = self.bias.grad_buffer()
            grad_b = g.sum(0)
            buffer.add_(grad_b) if accumulate else buffer.copy_(grad_b)
        grad_columns = (g @ self.weight.data.reshape(self.out_channels, -1)).reshape(
            n, length_out, self.in_channels, self.kernel_size
        )
        grad_padded = grad_output.new_zeros(n, self.in_channels, length + 2 * self.padding)
        span = self.stride * (length_out - 1) + 1
        for offset in range(self.kernel_size):
            grad_padded[:, :, offset : offset + span : self.stride] += grad_columns[
                :, :, :, offset
            ].permute(0, 2, 1)
        return grad_padded[:, :, self.padding : self.padding + length]

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size=({self.kernel_size},), "
            f"stride=({self.stride},), padding=({self.padding},), bias={self.bias is not None}"
        )

    def describe(self) -> str:
        return f"Conv1d({self.in_channels}→{self.out_channels}, k={self.kernel_size})"
