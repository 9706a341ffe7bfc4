"""`Conv1d`: a 1-D convolution (cross-correlation) as a matrix product over unfolded windows."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.init import init_weight_and_bias
from minidl.layers.arguments import init_scheme, integer_argument
from minidl.module import Module
from minidl.parameter import Parameter
from minidl.scratch import MAX_WORKSPACES, ones, persistent, store


class Conv1d(Module):
    """A 1-D convolution (cross-correlation), as PyTorch's nn.Conv1d.

    out[n, o, l] = b[o] + Σ_c Σ_j W[o, c, j] · x_padded[n, c, l·stride + j].

    Forward copies the padded input's windows into rows (N·L_out, C_in·k)
    and multiplies them by the weight viewed as (C_out, C_in·k); the output
    is (N, C_out, L_out), a view of those (N·L_out, C_out) rows. Backward
    gives the weight gradient as one product, and the input gradient by
    adding each kernel offset's contribution back at its stride. Buffers
    and views are kept per input shape (see ``Module``: in training mode the
    output is a scratch buffer, valid until the next forward).

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k.
        stride: step between windows.
        padding: zeros added at both ends.
        bias: learn a bias per output channel.
        init: as for Linear; "default" draws like PyTorch's nn.Conv1d.

    Shape: (N, C_in, L) -> (N, C_out, L_out), L_out = (L + 2·padding − k) // stride + 1.
    """

    frees_output = True  # backward reads the saved windows and the weight, never the output
    backward_overwrites_saved = True  # backward_in_place: input gradient over the windows

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
        self._workspace: _Workspace | None = None  # the last forward's: backward reads it
        self._workspaces: dict[tuple[int, int], _Workspace] = {}  # per (batch, length)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        init_weight_and_bias(
            self.weight.data, None if self.bias is None else self.bias.data, self.init, generator
        )

    def output_length(self, length: int) -> int:
        return (length + 2 * self.padding - self.kernel_size) // self.stride + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ws = self._workspace
        if (  # the common case, checked inline: same shape, dtype and parameter tensors
            ws is None
            or x.shape != ws.input_shape
            or x.dtype is not ws.dtype
            or self.weight.data is not ws.weight
            or (ws.bias is not None and self.bias.data is not ws.bias)  # type: ignore[union-attr]
        ):
            ws = self._workspace_for(x)
        self._workspace = ws
        ws.backward_ready = True
        if ws.padded is None:  # the windows of x itself, copied into rows
            ws.columns_4d.copy_(x.unfold(2, self.kernel_size, self.stride).permute(0, 2, 1, 3))
        else:
            ws.padded_inner.copy_(x)
            ws.columns_4d.copy_(ws.padded_windows)
        out = ws.out_rows if self.training else ws.out_rows.new_empty(ws.out_rows.shape)
        if ws.bias_rows is None:
            torch.mm(ws.columns, ws.weight_t, out=out)
        else:
            torch.addmm(ws.bias_rows, ws.columns, ws.weight_t, out=out)
        return ws.out if self.training else ws.channels_first(out)

    def _workspace_for(self, x: torch.Tensor) -> _Workspace:
        """Check ``x`` and find or make the workspace for its batch size and length."""
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ShapeError(f"expects input (N, {self.in_channels}, L), got {tuple(x.shape)}")
        if self.output_length(x.shape[2]) < 1:
            raise ShapeError(
                f"input length {x.shape[2]} is shorter than the kernel "
                f"({self.kernel_size}, padding {self.padding})"
            )
        key = (x.shape[0], x.shape[2])
        ws = self._workspaces.get(key)
        if (
            ws is None
            or x.dtype is not ws.dtype
            or self.weight.data is not ws.weight
            or (self.bias is not None and self.bias.data is not ws.bias)
        ):
            ws = store(self._workspaces, key, lambda: _Workspace(self, x), MAX_WORKSPACES)
        return ws

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        ws = self._parameter_gradients(grad_output)
        if ws.grad_columns is None:  # made at the first use: a first layer never needs it
            with persistent():
                ws.make_input_gradient_buffers(self, in_place=False)
        return self._input_gradient(ws, ws.grad_columns, ws.scatter_pairs)

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        """``backward``, writing the windows' gradient over the saved windows once the
        weight gradient has read them: one buffer of N·L_out·C_in·k values less. A
        second backward needs a new forward (``Sequential`` checks that first)."""
        ws = self._parameter_gradients(grad_output)
        if not ws.scatter_pairs_in_place:
            with persistent():
                ws.make_input_gradient_buffers(self, in_place=True)
        ws.backward_ready = False
        return self._input_gradient(ws, ws.columns, ws.scatter_pairs_in_place)

    def _input_gradient(
        self, ws: _Workspace, grad_columns: torch.Tensor, scatter_pairs: list
    ) -> torch.Tensor:
        """d/dx: the windows' gradient g·W, each kernel offset's share added back
        at the input positions it read."""
        torch.mm(ws.grad_rows, ws.weight_2d, out=grad_columns)
        ws.grad_padded.zero_()
        for target, source in scatter_pairs:
            target.add_(source)
        return ws.grad_input

    def backward_parameters(self, grad_output: torch.Tensor) -> None:
        self._parameter_gradients(grad_output)  # the input gradient is not wanted

    def _parameter_gradients(self, grad_output: torch.Tensor) -> _Workspace:
        """dW = gᵀ·windows and db = gᵀ·1, added into the parameters' gradients."""
        ws = self._workspace
        if ws is None or not ws.backward_ready:
            raise RuntimeError(
                f"{self.describe()}: backward called before forward, or again after an "
                "in-place backward overwrote the saved windows; run forward again"
            )
        if grad_output is not ws.grad_output:  # a tensor not seen before: check, lay out
            expected = (ws.input_shape[0], self.out_channels, ws.length_out)
            if grad_output.shape != expected:
                raise ShapeError(
                    f"{self.describe()}: expects grad_output {expected}, "
                    f"got {tuple(grad_output.shape)}"
                )
            ws.take_grad_output(grad_output)
        elif ws.grad_copy is not None:  # the same tensor, new values: copy them again
            ws.grad_copy.copy_(grad_output.permute(0, 2, 1))
        g_t = ws.grad_rows_t
        # gradients accumulate (zero_grad zeroed them): dW += gᵀ·windows, db += gᵀ·1
        self.weight.grad.view(self.out_channels, -1).addmm_(g_t, ws.columns)
        if self.bias is not None:
            self.bias.grad.addmv_(g_t, ws.ones)  # the sum over batch and length
        return ws

    def _on_moved(self) -> None:
        super()._on_moved()
        self._workspace = None
        self._workspaces.clear()

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size=({self.kernel_size},), "
            f"stride=({self.stride},), padding=({self.padding},), bias={self.bias is not None}"
        )

    def describe(self) -> str:
        return f"Conv1d({self.in_channels}→{self.out_channels}, k={self.kernel_size})"


class _Workspace:
    """Buffers and views a Conv1d reuses while input shape, dtype and parameters stay.

    Rows are (sample, output position) pairs: ``columns`` holds each row's
    window (C_in·k values), the output is made as rows × C_out and returned
    as its (N, C_out, L_out) view, and the gradients are products of those
    same rows. Views are made once here: each costs about a microsecond.
    """

    def __init__(self, layer: Conv1d, x: torch.Tensor) -> None:
        n, c_in, length = x.shape
        k, stride, padding = layer.kernel_size, layer.stride, layer.padding
        c_out, length_out = layer.out_channels, layer.output_length(length)
        self.input_shape, self.dtype, self.length_out = x.shape, x.dtype, length_out
        self.backward_ready = False
        self.weight = layer.weight.data
        self.weight_2d = self.weight.view(c_out, c_in * k)
        self.weight_t = self.weight_2d.t()
        self.bias = None if layer.bias is None else layer.bias.data
        rows = n * length_out
        self.bias_rows = None if self.bias is None else self.bias.expand(rows, c_out)
        self.padded: torch.Tensor | None = None
        if padding:  # zeros at both ends, written once; each forward copies x between them
            self.padded = x.new_zeros(n, c_in, length + 2 * padding)
            self.padded_inner = self.padded[:, :, padding : padding + length]
            self.padded_windows = self.padded.unfold(2, k, stride).permute(0, 2, 1, 3)
        self.columns = x.new_empty(rows, c_in * k)
        self.columns_4d = self.columns.view(n, length_out, c_in, k)
        self.out_rows = x.new_empty(rows, c_out)
        self.out = self.channels_first(self.out_rows)
        self.ones = ones(rows, x)  # shared with the other layers
        self.grad_output: torch.Tensor | None = None
        self.grad_copy: torch.Tensor | None = None  # the rows of g, when g is laid out otherwise
        self.copy_buffer: torch.Tensor | None = None
        self.grad_rows = self.grad_rows_t = self.out_rows  # set by take_grad_output
        # input-gradient buffers, made at the first backward that needs them
        self.grad_columns = self.grad_padded = self.grad_input = None
        self.scatter_pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.scatter_pairs_in_place: list[tuple[torch.Tensor, torch.Tensor]] = []

    def channels_first(self, rows: torch.Tensor) -> torch.Tensor:
        """Rows (N·L_out, C_out) seen as (N, C_out, L_out), without a copy."""
        n = self.input_shape[0]
        return rows.view(n, self.length_out, -1).permute(0, 2, 1)

    def take_grad_output(self, g: torch.Tensor) -> None:
        """Lay ``g`` out as rows: a view when its memory already is (N, L_out, C_out),
        as for the gradient an in-place activation wrote over this layer's output."""
        self.grad_output = g
        as_rows = g.permute(0, 2, 1)
        if as_rows.is_contiguous():
            self.grad_copy = None
            self.grad_rows = as_rows.reshape(self.out_rows.shape)
        else:  # copied into rows, in a buffer kept for the next such gradient
            if self.copy_buffer is None:
                with persistent():
                    self.copy_buffer = torch.empty_like(self.out_rows)
            self.grad_copy = self.copy_buffer.view(as_rows.shape)
            self.grad_copy.copy_(as_rows)
            self.grad_rows = self.copy_buffer
        self.grad_rows_t = self.grad_rows.t()

    def make_input_gradient_buffers(self, layer: Conv1d, in_place: bool) -> None:
        """The padded input gradient and, unless ``in_place`` (the windows' own buffer
        takes their gradient), a buffer for the windows' gradient."""
        n, c_in, length = self.input_shape
        k, stride, padding = layer.kernel_size, layer.stride, layer.padding
        if self.grad_padded is None:
            self.grad_padded = self.columns.new_empty(n, c_in, length + 2 * padding)
            self.grad_input = self.grad_padded[:, :, padding : padding + length]
        span = stride * (self.length_out - 1) + 1

        def pairs(columns: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
            """(positions read by offset j, gradient of the windows at j), both (N, C_in, L_out)."""
            windows = columns.view(n, self.length_out, c_in, k)
            return [
                (
                    self.grad_padded[:, :, offset : offset + span : stride],
                    windows[:, :, :, offset].permute(0, 2, 1),
                )
                for offset in range(k)
            ]

        if in_place:
            self.scatter_pairs_in_place = pairs(self.columns)
        else:
            self.grad_columns = torch.empty_like(self.columns)
            self.scatter_pairs = pairs(self.grad_columns)
