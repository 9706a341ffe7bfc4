"""`Linear`: y = x Wᵀ + b, with its hand-written backward."""

from __future__ import annotations

import torch

# imported by name for the hot path: torch's module-level __getattr__ keeps CPython 3.11
# from caching a `torch.addmm` lookup, which costs ~370 instructions (0.1 µs) per call
from torch import addmm, mm

from minidl.errors import ShapeError
from minidl.init import init_weight_and_bias
from minidl.layers.arguments import init_scheme, integer_argument
from minidl.module import Module
from minidl.parameter import Parameter
from minidl.scratch import MAX_WORKSPACES, ones, persistent, shared, store


class Linear(Module):
    """Affine map ``y = x Wᵀ + b``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        init: one of ``minidl.init.INIT_SCHEMES``; ``"default"`` draws like
            PyTorch's ``nn.Linear`` (Kaiming-uniform, a=√5; bias U(±1/√in)).
        generator: source of the initial weights (torch's global one if None).

    Shape:
        (*, in_features) -> (*, out_features)

    Attributes:
        weight: (out_features, in_features), as in PyTorch's nn.Linear.
        bias: (out_features,) or None.
    """

    frees_output = True  # backward reads the input and the weight, never the output
    can_share_grad_input = True

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
        self.in_features = integer_argument("in_features", in_features)
        self.out_features = integer_argument("out_features", out_features)
        self.init = init_scheme(init)
        self.weight = Parameter(torch.empty(out_features, in_features, dtype=dtype, device=device))
        self.bias = (
            Parameter(torch.empty(out_features, dtype=dtype, device=device)) if bias else None
        )
        self._workspace = _NO_WORKSPACE  # the last forward's (none matches no tensor)
        # one workspace per batch size seen: an epoch's last, smaller batch
        # must not throw away the workspace of the full ones
        self._workspaces: dict[int, _Workspace] = {}
        self._shared_scratch: dict[tuple[int, ...], torch.Tensor] | None = None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        init_weight_and_bias(
            self.weight.data, None if self.bias is None else self.bias.data, self.init, generator
        )

    def _workspace_for(self, x: torch.Tensor) -> _Workspace:
        """The workspace for this batch size, dtype and these parameter tensors."""
        rows = x.shape[0]
        ws = self._workspace if self._workspace.rows == rows else self._workspaces.get(rows)
        if (
            ws is None
            or x.dtype is not ws.dtype
            or self.weight.data is not ws.weight
            or (self.bias is not None and self.bias.data is not ws.bias)
        ):
            ws = store(self._workspaces, rows, lambda: _Workspace(self, x), MAX_WORKSPACES)
        self._workspace = ws
        return ws

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ws = self._workspace
        if (  # training with the workspace of the last forward, whose parameters are current
            self.training
            and self.weight.data is ws.weight
            and (ws.bias is None or self.bias.data is ws.bias)  # type: ignore[union-attr]
        ):
            # the same input tensor (the scratch output of the layer before) was checked
            # then; a new one (a batch of data) must have the shape and dtype of the last
            if x is not ws.input:
                if x.shape != ws.input_shape or x.dtype is not ws.dtype:
                    return self._forward_checked(x)
                ws.input = x
            bias_rows = ws.bias_rows
            if bias_rows is None:
                return mm(x, ws.weight_t, out=ws.out)
            return addmm(bias_rows, x, ws.weight_t, out=ws.out)
        return self._forward_checked(x)

    def _forward_checked(self, x: torch.Tensor) -> torch.Tensor:
        """Forward for any input: checks its shape, finds (or makes) its workspace."""
        shape = x.shape
        if not shape or shape[-1] != self.in_features:  # named as given, before any reshape
            raise ShapeError(f"expects input (*, {self.in_features}), got {tuple(shape)}")
        if len(shape) != 2:
            flat = self.forward(x.reshape(-1, shape[-1]))
            return flat.reshape(*shape[:-1], self.out_features)
        ws = self._workspace_for(x)
        ws.input = x
        out = ws.out if self.training else x.new_empty(shape[0], self.out_features)
        if ws.bias_rows is None:
            return torch.mm(x, ws.weight_t, out=out)
        return torch.addmm(ws.bias_rows, x, ws.weight_t, out=out)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        ws = self._workspace
        if grad_output is not ws.grad_output:  # a tensor not seen at the last step
            return self._backward_checked(grad_output, True)  # type: ignore[return-value]
        # the last step's gradient tensor (the next layer's scratch input gradient, or the
        # loss's): _backward_checked checked it then, made the input gradient's buffer
        # and the parameters' gradients (which, once made, are never dropped: see
        # Parameter.rebind). dW += gᵀx and db += gᵀ·1, written out here as in
        # backward_parameters: a call would cost as much as these lines
        g_t = ws.grad_output_t
        if ws.weight_grad_t is None:
            self.weight._grad.addmm_(g_t, ws.input)  # type: ignore[union-attr]
        else:
            _add_transposed_weight_gradient(self.weight._grad, ws, grad_output)  # type: ignore[arg-type]
        bias = self.bias
        if bias is not None:
            bias._grad.addmv_(g_t, ws.ones)  # type: ignore[union-attr]
        # (no grad_input buffer if only backward_parameters saw this tensor: mm allocates)
        return mm(grad_output, ws.weight, out=ws.grad_input)

    def backward_parameters(self, grad_output: torch.Tensor) -> None:
        ws = self._workspace
        if grad_output is not ws.grad_output:  # a tensor not seen at the last step
            self._backward_checked(grad_output, False)
            return
        # as in backward: the parameters' gradients, and no g·W (one product saved)
        g_t = ws.grad_output_t
        if ws.weight_grad_t is None:
            self.weight._grad.addmm_(g_t, ws.input)  # type: ignore[union-attr]
        else:
            _add_transposed_weight_gradient(self.weight._grad, ws, grad_output)  # type: ignore[arg-type]
        bias = self.bias
        if bias is not None:
            bias._grad.addmv_(g_t, ws.ones)  # type: ignore[union-attr]

    def _backward_checked(
        self, grad_output: torch.Tensor, input_gradient: bool
    ) -> torch.Tensor | None:
        """Backward for a gradient tensor not seen at the last step: checks its shape
        (flattening leading dimensions as forward did), caches gᵀ, then adds the
        parameters' gradients and returns the input gradient if asked for."""
        if grad_output.dim() != 2:
            flat = grad_output.reshape(-1, grad_output.shape[-1])
            if not input_gradient:
                return self._backward_checked(flat, False)
            grad_input = self._backward_checked(flat, True)
            return grad_input.reshape(*grad_output.shape[:-1], self.in_features)  # type: ignore[union-attr]
        ws = self._workspace
        if ws.input is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        if grad_output.shape[0] != ws.rows or grad_output.shape[1] != self.out_features:
            raise ShapeError(
                f"expects grad_output (*, {self.out_features}) matching the forward batch "
                f"of {ws.rows}, got {tuple(grad_output.shape)}"
            )
        # the parameters' gradients exist from here on (reading grad makes zeros if none)
        _ = self.weight.grad, None if self.bias is None else self.bias.grad
        ws.grad_output, ws.grad_output_t = grad_output, grad_output.t()
        # the same tensor again (the next step) takes the unchecked lines of backward
        if input_gradient:
            if ws.grad_input is None:  # made at the first use: a first layer never needs it
                ws.grad_input = self._grad_input_buffer(grad_output, ws.rows)
            return self.backward(grad_output)
        self.backward_parameters(grad_output)
        return None

    def _grad_input_buffer(self, like: torch.Tensor, rows: int) -> torch.Tensor:
        pool, shape = self._shared_scratch, (rows, self.in_features)
        if pool is not None:
            return shared(pool, shape, like)
        with persistent():
            return like.new_empty(shape)

    def use_shared_scratch(self, pool: dict[tuple[int, ...], torch.Tensor] | None) -> None:
        if pool is not self._shared_scratch:
            self._shared_scratch = pool
            for ws in self._workspaces.values():
                # taken from the pool (or made) at the next backward, which checks again
                ws.grad_input = ws.grad_output = None

    def _on_moved(self) -> None:
        super()._on_moved()
        self._workspace = _NO_WORKSPACE
        self._workspaces.clear()

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def describe(self) -> str:
        return f"Linear({self.in_features}→{self.out_features})"


def _add_transposed_weight_gradient(
    grad_w: torch.Tensor, ws: _Workspace, grad_output: torch.Tensor
) -> None:
    """dW += (xᵀg)ᵀ: for few inputs and many rows, where MKL computes gᵀx slowly (see
    _Workspace)."""
    grad_w.add_(torch.mm(ws.input.t(), grad_output, out=ws.weight_grad_t).t())  # type: ignore[union-attr]


class _Workspace:
    """Tensors a Linear reuses while batch size, dtype and parameter tensors stay the same.

    Views (Wᵀ, the bias expanded to the batch, gᵀ) cost about a microsecond
    each to create, as much as the small matrix products they feed, so
    they are made once here instead of at every step.
    """

    __slots__ = (
        "bias",
        "bias_rows",
        "dtype",
        "grad_input",
        "grad_output",
        "grad_output_t",
        "input",
        "input_shape",
        "ones",
        "out",
        "rows",
        "weight",
        "weight_grad_t",
        "weight_t",
    )

    def __init__(self, layer: Linear, x: torch.Tensor) -> None:
        rows = x.shape[0]
        self.rows, self.dtype = rows, x.dtype
        self.input_shape = torch.Size((rows, layer.in_features))
        self.weight = layer.weight.data
        self.weight_t = self.weight.t()
        self.bias = None if layer.bias is None else layer.bias.data
        self.bias_rows = None if self.bias is None else self.bias.expand(rows, layer.out_features)
        self.out = x.new_empty(rows, layer.out_features)
        self.grad_input: torch.Tensor | None = None
        self.input: torch.Tensor | None = None  # the last forward's, when it used this workspace
        self.ones = ones(rows, x)  # shared with the other layers
        self.grad_output: torch.Tensor | None = None
        self.grad_output_t: torch.Tensor | None = None
        # MKL computes gᵀx slowly when x has a few columns (2 to 8: the first layer of a
        # network on 2-D points) and g many rows and columns: 35 µs for 1000 rows × 25
        # units, 5 ms for 1024 × 1024, where xᵀg takes 13 µs and 0.2 ms (autograd pays
        # the slow one too). Below a few thousand values of g, one fused op is cheaper.
        few_inputs = 2 <= layer.in_features <= 8 and layer.in_features < layer.out_features
        self.weight_grad_t = (
            x.new_empty(layer.in_features, layer.out_features)
            if few_inputs and rows * layer.out_features >= 4096
            else None
        )


def _no_workspace() -> _Workspace:
    """A workspace that no input, parameter or gradient tensor matches: a Linear's
    before its first forward, so that its hot paths need no None check."""
    ws = _Workspace.__new__(_Workspace)
    for name in _Workspace.__slots__:
        setattr(ws, name, None)
    ws.rows = -1
    return ws


_NO_WORKSPACE = _no_workspace()
