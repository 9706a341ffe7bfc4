"""`Module`: the base class of every layer, activation and container.

One recipe for all modules: ``forward(x)`` computes the output and keeps
what ``backward`` needs; ``backward(grad_output)`` writes the gradients of
the module's own parameters and returns the gradient with respect to its
input. No autograd is involved: every backward is written by hand.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import ClassVar

import torch

from minidl.errors import StateDictError
from minidl.parameter import Parameter
from minidl.scratch import constant, scratch


class Module:
    """Base class: parameters, children, buffers, train/eval and state dicts.

    Subclasses implement ``forward`` and ``backward``. Parameters and child
    modules are found among the instance attributes in the order they were
    assigned, which gives ``state_dict`` keys identical to ``torch.nn``'s.
    Tensors named in ``buffer_names`` (e.g. running statistics) are saved in
    the state dict as well.

    Scratch outputs: a module writes its input gradient, and in training
    mode its output, into buffers it reuses at the next call with the same
    shape, so such a tensor is valid until the module's next
    ``forward``/``backward`` (clone it to keep it). In eval mode ``forward``
    returns fresh tensors.

    Two class flags let ``Sequential`` save work: ``frees_output`` says the
    module's backward never reads its output, so the next module may
    overwrite it in place; ``computes_in_place`` says the module offers
    ``forward_in_place`` (activations); ``backward_overwrites_output`` says
    it offers ``backward_in_place``, which writes the input gradient over its
    saved output (used by ``Sequential`` where that output is its own scratch);
    ``backward_overwrites_grad_output`` says that ``backward_in_place`` also
    writes into the gradient it is handed (``Sequential`` then uses it only
    where that gradient is the next layer's scratch: ``can_share_grad_input``);
    ``backward_overwrites_saved`` says its ``backward_in_place`` may overwrite
    tensors forward saved for backward that no one else sees (``Sequential``
    uses it always, and refuses a second backward after one forward);
    ``can_share_grad_input`` says it can write its input gradient into a
    buffer that ``Sequential`` shares between layers (``use_shared_scratch``).
    """

    buffer_names: ClassVar[tuple[str, ...]] = ()
    frees_output: ClassVar[bool] = False
    computes_in_place: ClassVar[bool] = False
    backward_overwrites_output: ClassVar[bool] = False
    backward_overwrites_grad_output: ClassVar[bool] = False
    backward_overwrites_saved: ClassVar[bool] = False
    can_share_grad_input: ClassVar[bool] = False

    def __init__(self) -> None:
        # a plain dict for the instance's attributes, made before any is set. CPython 3.11
        # keeps them in an inline array that its attribute caches read; ``vars()`` (which
        # ``parameters``, ``to`` and ``state_dict`` use) turns that array into a dict
        # those caches cannot read, and every ``self.x`` in forward and backward then
        # takes the generic lookup: 45 per classic training step, 11,800 instructions
        # (``benchmarks/step_instructions.py``). A plain dict is cached from the start.
        self.__dict__ = dict(vars(self))
        self.training = True
        self._constants: dict[tuple[str, float], torch.Tensor] = {}
        self._scratch: dict[tuple[str, torch.Size], torch.Tensor] = {}

    def __setstate__(self, state: dict[str, object]) -> None:
        # copy.deepcopy and pickle restore the attributes here: into a plain dict too
        # (their default fills ``vars()`` of a new instance, the slow kind; see __init__)
        self.__dict__ = dict(state)

    # --- the recipe --------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        """Like ``backward``, allowed to overwrite the saved output (which nobody reads after)."""
        return self.backward(grad_output)

    def use_shared_scratch(self, pool: dict[tuple[int, ...], torch.Tensor] | None) -> None:
        """Take short-lived buffers from ``pool``, one per shape (None: own buffers).

        A ``Sequential`` shares one pool between its layers for values that
        are dead once the chain's next call returns: a ``Linear``'s input
        gradient that the in-place activation in front of it consumes, an
        activation's temporaries within its forward. At most one such value
        is alive at a time, so one buffer per shape serves the whole chain.
        """

    def backward_parameters(self, grad_output: torch.Tensor) -> None:
        """Write the parameters' gradients only; the input gradient is not wanted.

        What a training step needs of a model: its input is data, and no one
        reads the gradient with respect to it (PyTorch skips it when the input
        does not require grad). Layers that can save work override this;
        ``Sequential`` does not even run the layers in front of its first
        parameter.
        """
        self.backward(grad_output)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # calling a module runs its forward: a subclass binds it as __call__ directly,
        # one Python frame less per call (a step calls its model and its loss)
        if "forward" in cls.__dict__ and "__call__" not in cls.__dict__:
            cls.__call__ = cls.forward  # type: ignore[method-assign]

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        """Like ``forward``, allowed to overwrite ``x`` (which nobody else reads)."""
        return self.forward(x)

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
            module._on_moved()
        return self

    def double(self) -> Module:
        return self.to(dtype=torch.float64)

    def float(self) -> Module:
        return self.to(dtype=torch.float32)

    def _constant(self, name: str, value: float, like: torch.Tensor) -> torch.Tensor:
        """``value`` as a cached 0-dim tensor (a Python scalar operand costs ~2 µs per op)."""
        return constant(self._constants, name, value, like)

    def _buffer(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """A scratch tensor shaped like ``like``, reused at every call with that shape."""
        return scratch(self._scratch, name, like.shape, like)

    def _on_moved(self) -> None:
        """Drop tensors cached for the old dtype or device."""
        self._constants.clear()
        self._scratch.clear()

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
