"""`Conv1d`: a 1-D convolution (cross-correlation) as a matrix product over unfolded windows."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.init import init_weight_and_bias
from minidl.layers.arguments import init_scheme, integer_argument
from minidl.module import Module
from minidl.parameter import Parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv1d(Module):
    """A 1-D convolution (cross-correlation), as PyTorch's nn.Conv1d, every argument included.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k.
        stride: s, the step between windows.
        padding: p added at both ends, or ``"valid"`` (none) or ``"same"``
            (output as long as the input, stride 1; d·(k − 1) in all, the
            odd one at the right end).
        dilation: d, the spacing between the kernel's taps.
        groups: G; input and output channels split into G groups, each
            output group convolving only its own input group.
        bias: learn a bias per output channel.
        padding_mode: what the padding holds: ``"zeros"``, or the input
            ``"reflect"``-ed at its ends, ``"replicate"``-d (the end value
            repeated) or ``"circular"`` (wrapped around).
        device, dtype: where and how the parameters are made.
        init: as for Linear; "default" draws like PyTorch's nn.Conv1d.
        generator: source of the initial weights (torch's global one if None).

    Sizes given as 1-tuples (``(3,)``) are read as their one number.

    Shape: (N, C_in, L) or (C_in, L) -> (N, C_out, L_out) or (C_out, L_out),
    L_out = (L + p_left + p_right − d·(k − 1) − 1) // s + 1.

    Attributes:
        weight: W, (C_out, C_in / G, k).
        bias: b, (C_out,) or None.

    Padding makes x_padded[n, c, i] = x[n, c, src(i)] (zero where ``src``
    falls outside, for "zeros"). Every window of group g becomes a row of X_g,
    (N·L_out, C_in/G · k): X_g[(n, l), (c, j)] = x_padded[n, g·C_in/G + c,
    l·s + j·d]. With W_g the group's (C_out/G, C_in/G · k) weight matrix and
    g_g its output gradient as (N·L_out, C_out/G) rows, each group is a Linear::

        y_g = X_g W_gᵀ + b_g
        dW_g += g_gᵀ X_g
        db  += gᵀ 1      (g as (N·L_out, C_out) rows)
        dX_g = g_g W_g,  then dx_padded[n, c, l·s + j·d] += dX[(n, l), (c, j)]
        dx[n, c, src(i)] += dx_padded[n, c, i]
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: str | int | tuple[int] = 0,
        dilation: int | tuple[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        init: str = "default",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = integer_argument("in_channels", in_channels)
        self.out_channels = integer_argument("out_channels", out_channels)
        self.kernel_size = integer_argument("kernel_size", _one(kernel_size))
        self.stride = integer_argument("stride", _one(stride))
        self.dilation = integer_argument("dilation", _one(dilation))
        self.groups = integer_argument("groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must both be divisible by groups ({groups})"
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
        self.padding = padding if isinstance(padding, str) else _one(padding)
        self.pad_left, self.pad_right = self._padding_at_the_ends()
        self.init = init_scheme(init)
        options = {"dtype": dtype, "device": device}
        shape = (out_channels, in_channels // groups, self.kernel_size)
        self.weight = Parameter(torch.empty(shape, **options))
        self.bias = Parameter(torch.empty(out_channels, **options)) if bias else None
        self._saved: tuple[torch.Size, torch.Tensor] | None = None  # input shape, rows X
        self.reset_parameters(generator)

    def _padding_at_the_ends(self) -> tuple[int, int]:
        if self.padding == "valid":
            return 0, 0
        if self.padding == "same":
            if self.stride != 1:
                raise ValueError("padding='same' is not supported for strided convolutions")
            total = self.dilation * (self.kernel_size - 1)
            return total // 2, total - total // 2
        if isinstance(self.padding, str):
            raise ValueError(f"padding must be 'valid', 'same' or an integer, got {self.padding!r}")
        p = integer_argument("padding", self.padding, minimum=0)
        return p, p

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        init_weight_and_bias(
            self.weight.data, None if self.bias is None else self.bias.data, self.init, generator
        )

    def output_length(self, length: int) -> int:
        span = self.dilation * (self.kernel_size - 1) + 1  # input positions one window covers
        return (length + self.pad_left + self.pad_right - span) // self.stride + 1

    # --- padding: x_padded[i] = x[src(i)] ------------------------------------
    def source_index(self, length: int, device: torch.device) -> torch.Tensor:
        """src(i) for every padded position i, for the modes that copy the input."""
        i = torch.arange(-self.pad_left, length + self.pad_right, device=device)
        if self.padding_mode == "reflect":  # mirror at both ends, the end value once
            return (length - 1) - ((length - 1) - i.abs()).abs()
        if self.padding_mode == "replicate":
            return i.clamp(0, length - 1)
        return i.remainder(length)  # circular

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[2]
        if self.padding_mode == "zeros":
            return torch.constant_pad_nd(x, (self.pad_left, self.pad_right))
        limit = length if self.padding_mode == "circular" else length - 1
        if self.padding_mode != "replicate" and max(self.pad_left, self.pad_right) > limit:
            raise ShapeError(
                f"{self.padding_mode} padding of {max(self.pad_left, self.pad_right)} "
                f"needs an input longer than that, got length {length}"
            )
        return x[:, :, self.source_index(length, x.device)]

    def unpad(self, grad_padded: torch.Tensor, length: int) -> torch.Tensor:
        """dx from dx_padded: each padded position's gradient back to where it was copied from."""
        if self.padding_mode == "zeros":
            return grad_padded[:, :, self.pad_left : self.pad_left + length]
        n, c, _ = grad_padded.shape
        src = self.source_index(length, grad_padded.device)
        return grad_padded.new_zeros(n, c, length).index_add_(2, src, grad_padded)

    # --- forward and backward --------------------------------------------------
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.dim() == 2 and input.shape[0] == self.in_channels:  # one unbatched sample
            return self.forward(input.unsqueeze(0)).squeeze(0)
        x = input
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            c = self.in_channels
            raise ShapeError(f"expects input (N, {c}, L) or ({c}, L), got {tuple(x.shape)}")
        n, length_out = x.shape[0], self.output_length(x.shape[2])
        if length_out < 1:
            raise ShapeError(
                f"input length {x.shape[2]} is shorter than the kernel "
                f"({self.kernel_size}, dilation {self.dilation}, padding {self.padding})"
            )
        k, groups = self.kernel_size, self.groups
        c_in_g, c_out_g = self.in_channels // groups, self.out_channels // groups
        windows = self.pad(x).unfold(2, self.dilation * (k - 1) + 1, self.stride)
        if self.dilation > 1:  # a window spans d·(k − 1) + 1 positions; keep every d-th
            windows = windows[..., :: self.dilation]  # (N, C_in, L_out, k)
        # X_g for every group: (G, N·L_out, C_in/G · k)
        rows = windows.transpose(1, 2).reshape(n * length_out, groups, c_in_g * k).transpose(0, 1)
        self._saved = (x.shape, rows)
        weight = self.weight.data.view(groups, c_out_g, c_in_g * k)  # W_g
        if self.bias is None:
            y = torch.bmm(rows, weight.transpose(1, 2))  # y_g = X_g W_gᵀ
        else:
            bias = self.bias.data.view(groups, 1, c_out_g)
            y = torch.baddbmm(bias, rows, weight.transpose(1, 2))  # y_g = X_g W_gᵀ + b_g
        # (G, N·L_out, C_out/G) -> (N, C_out, L_out)
        return y.transpose(0, 1).reshape(n, length_out, self.out_channels).transpose(1, 2)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        (n, c_in, length), rows = self._saved
        if grad_output.dim() == 2 and n == 1:  # the forward took one unbatched sample
            return self.backward(grad_output.unsqueeze(0)).squeeze(0)
        length_out, k, groups = self.output_length(length), self.kernel_size, self.groups
        c_in_g, c_out_g = c_in // groups, self.out_channels // groups
        if grad_output.shape != (n, self.out_channels, length_out):
            raise ShapeError(
                f"expects grad_output {(n, self.out_channels, length_out)}, "
                f"got {tuple(grad_output.shape)}"
            )
        rows_g = grad_output.transpose(1, 2).reshape(n * length_out, self.out_channels)  # g
        g = rows_g.view(n * length_out, groups, c_out_g).transpose(0, 1)  # g_g: (G, N·L_out, ·)
        weight = self.weight.data.view(groups, c_out_g, c_in_g * k)
        self.weight.grad.view_as(weight).baddbmm_(g.transpose(1, 2), rows)  # dW_g += g_gᵀ X_g
        if self.bias is not None:
            self.bias.grad.addmv_(rows_g.t(), rows_g.new_ones(n * length_out))  # db += gᵀ 1
        grad_rows = torch.bmm(g, weight)  # dX_g = g_g W_g
        grad_windows = (  # (N, C_in, k, L_out)
            grad_rows.transpose(0, 1).reshape(n, length_out, c_in, k).permute(0, 2, 3, 1)
        )
        # tap j of window l read x_padded at l·s + j·d: its gradient goes back there
        s, d = self.stride, self.dilation
        grad_padded = grad_output.new_zeros(n, c_in, length + self.pad_left + self.pad_right)
        for j in range(k):
            grad_padded[:, :, j * d : j * d + s * (length_out - 1) + 1 : s].add_(
                grad_windows[:, :, j]
            )
        return self.unpad(grad_padded, length)

    def extra_repr(self) -> str:
        padding = repr(self.padding) if isinstance(self.padding, str) else f"({self.padding},)"
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size=({self.kernel_size},), "
            f"stride=({self.stride},), padding={padding}, dilation=({self.dilation},), "
            f"groups={self.groups}, bias={self.bias is not None}, "
            f"padding_mode={self.padding_mode!r}"
        )

    def describe(self) -> str:
        return f"Conv1d({self.in_channels}→{self.out_channels}, k={self.kernel_size})"


def _one(size: int | tuple[int]) -> int:
    """A 1-D size given as ``n`` or ``(n,)``, as torch accepts both."""
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return size[0]
    return size  # type: ignore[return-value]
