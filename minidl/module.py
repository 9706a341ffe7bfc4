"""`Module`: the base class of every layer, activation and container.

One recipe for all modules: ``forward(input)`` computes the output and keeps
what ``backward`` needs; ``backward(grad_output)`` writes the gradients of
the module's own parameters and returns the gradient with respect to its
input. No autograd is involved: every backward is written by hand.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import ClassVar

import torch

from minidl.errors import ShapeError, StateDictError
from minidl.parameter import Parameter


class Module:
    """Base class: parameters, children, buffers, train/eval and state dicts.

    Subclasses implement ``forward`` and ``backward``, and may keep in
    attributes what their backward needs (an input, an output). Parameters
    and child modules are found among the instance attributes in the order
    they were assigned, which gives ``state_dict`` keys identical to
    ``torch.nn``'s. Tensors named in ``buffer_names`` (e.g. running
    statistics) are saved in the state dict as well.
    """

    buffer_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.training = True

    # --- the recipe --------------------------------------------------------
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, input: torch.Tensor) -> torch.Tensor:
        return self.forward(input)

    def saved(self, tensor: torch.Tensor | None, grad_output: torch.Tensor) -> torch.Tensor:
        """``tensor``, kept by forward for backward, checked to exist and to fit ``grad_output``."""
        if tensor is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        if tensor.shape != grad_output.shape:
            raise ShapeError(
                f"grad_output {tuple(grad_output.shape)} does not match the forward shape "
                f"{tuple(tensor.shape)}"
            )
        return tensor

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
        for name in self.buffer_names:
            value = getattr(self, name)
            if value is not None:
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # --- modes and gradients -----------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def to(
        self, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> Module:
        """Move parameters (with their gradients) and floating buffers, in place."""
        for module in self.modules():
            for value in vars(module).values():
                if isinstance(value, Parameter):
                    grad = value._grad
                    value.rebind(
                        value.data.to(dtype=dtype, device=device),
                        None if grad is None else grad.to(dtype=dtype, device=device),
                    )
            for name in module.buffer_names:
                buffer = getattr(module, name)
                if buffer is not None:
                    keep_dtype = not buffer.is_floating_point()
                    setattr(
                        module,
                        name,
                        buffer.to(dtype=None if keep_dtype else dtype, device=device),
                    )
        return self

    def double(self) -> Module:
        return self.to(dtype=torch.float64)

    def float(self) -> Module:
        return self.to(dtype=torch.float32)

    # --- state dicts -------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, torch.Tensor]:
        """Parameters and buffers by name, keys and shapes as in ``torch.nn``.

        The tensors are the module's own (not copies), as in PyTorch.
        """
        state: OrderedDict[str, torch.Tensor] = OrderedDict()
        for module_prefix, module in self._named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter):
                    state[module_prefix + name] = value.data
            for name in module.buffer_names:
                value = getattr(module, name)
                if value is not None:
                    state[module_prefix + name] = value
        return state

    def load_state_dict(self, state: Mapping[str, torch.Tensor], strict: bool = True) -> None:
        """Copy tensors into this module; on any mismatch raise and change nothing.

        Values are copied in place (converted to each tensor's dtype and
        device), so a state dict from a ``torch.nn`` twin loads as well.
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        for key, target in own.items():
            if key not in state:
                continue
            value = state[key]
            if not isinstance(value, torch.Tensor):
                problems.append(f"{key}: expected a tensor, got {type(value).__name__}")
            elif value.shape != target.shape:
                problems.append(
                    f"{key}: shape {tuple(value.shape)} in the state dict, "
                    f"{tuple(target.shape)} in the model"
                )
            elif value.is_floating_point() and not torch.isfinite(value).all():
                problems.append(f"{key}: contains NaN or inf")
        if problems:
            raise StateDictError(
                f"cannot load state dict into {type(self).__name__}: " + "; ".join(problems)
            )
        for key, target in own.items():
            if key in state:
                target.copy_(state[key])

    def _named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self.named_children():
            yield from child._named_modules(prefix + name + ".")

    # --- printing ----------------------------------------------------------
    def extra_repr(self) -> str:
        """Arguments shown inside the parentheses of ``repr``, as in PyTorch's nn."""
        return ""

    def describe(self) -> str:
        """A short name for messages, e.g. ``Linear(25→25)``."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for name, child in children:
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)
