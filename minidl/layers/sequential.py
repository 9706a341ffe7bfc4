"""`Sequential`: a chain of modules, forward in order and backward in reverse."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from minidl.errors import ShapeError
from minidl.module import Module


class Sequential(Module):
    """Modules applied one after the other.

    Children are named ``"0"``, ``"1"``, …, so ``state_dict`` keys are those
    of PyTorch's ``nn.Sequential`` (``"0.weight"``, ``"0.bias"``, …). A shape
    error inside a child is re-raised naming the layer's index and kind.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential expects minidl modules; argument {index} is "
                    f"{type(module).__name__}"
                )
        self._layers: list[Module] = list(modules)
        # bound methods, planned at the first call: looping over them costs less
        # per layer than deciding again at every step
        self._forward_steps: list[Callable[[torch.Tensor], torch.Tensor]] | None = None
        self._backward_steps: list[Callable[[torch.Tensor], torch.Tensor]] | None = None
        self._parameter_steps: list[Callable[[torch.Tensor], torch.Tensor | None]] | None = None
        self._overwrites_in_backward = False
        self._shared_scratch: dict[tuple[int, ...], torch.Tensor] = {}
        self._spent = False  # a backward overwrote saved outputs; forward must run again

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, module in enumerate(self._layers):
            yield str(index), module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = self._forward_steps or self._plan()[0]
        self._spent = False
        try:
            for step in steps:
                x = step(x)
        except ShapeError as error:
            raise self._at_layer(self._failing_step(error), error) from None
        return x

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        steps = self._backward_steps or self._plan()[1]
        if self._spent:
            self._refuse_spent()
        self._spent = self._overwrites_in_backward
        try:
            for step in steps:  # last layer first
                grad_output = step(grad_output)
        except ShapeError as error:
            raise self._backward_error(error) from None
        return grad_output

    def backward_parameters(self, grad_output: torch.Tensor) -> None:
        """Gradients of the parameters only: layers in front of the first parameter
        are not run, and that layer skips its input gradient."""
        steps = self._parameter_steps
        if steps is None:  # (an empty list, for a chain without parameters, is a plan)
            steps = self._plan()[2]
        # the loop of backward, written out again: a shared helper would cost a call
        if self._spent:
            self._refuse_spent()
        self._spent = self._overwrites_in_backward
        try:
            for step in steps:
                grad_output = step(grad_output)
        except ShapeError as error:
            raise self._backward_error(error) from None

    def _backward_error(self, error: ShapeError) -> ShapeError:
        """``error`` naming its layer; the first layer to refuse a gradient leaves the
        saved outputs intact, so backward may be called again (with a right one)."""
        index = self._failing_step(error)
        self._spent = self._spent and index < len(self._layers) - 1
        return self._at_layer(index, error)

    def _failing_step(self, error: ShapeError) -> int:
        """The index of the layer whose method raised ``error``: the ``self`` of the
        frame just below this one in its traceback (every step is a bound method).
        Found after the fact, so the loops count nothing while all goes well."""
        frame_below = error.__traceback__.tb_next  # type: ignore[union-attr]
        module = frame_below.tb_frame.f_locals.get("self") if frame_below else None
        for index, layer in enumerate(self._layers):
            if layer is module:
                return index
        raise error  # not raised by a step: nothing to name

    def _plan(self) -> tuple[list, list, list]:
        """The bound methods each pass calls, in order.

        Forward runs an activation in place when the layer before it frees
        its output; the parameters-only backward stops at the first layer
        with parameters and calls its ``backward_parameters``.
        """
        layers = self._layers
        self._forward_steps = [
            module.forward_in_place
            if index > 0 and module.computes_in_place and layers[index - 1].frees_output
            else module.forward
            for index, module in enumerate(layers)
        ]
        # an activation that ran in place on a layer's scratch output, and whose
        # output feeds another layer of this chain (not the caller), may write
        # its input gradient over that output: one buffer less per activation
        # (and, if it asks to, use the gradient it is handed as workspace where that is
        # the scratch input gradient of the next layer); a layer may also overwrite
        # what its own forward saved (a Conv1d's windows)
        backward = [
            module.backward_in_place
            if module.backward_overwrites_saved
            or (
                module.backward_overwrites_output
                and self._forward_steps[index] == module.forward_in_place
                and index < len(layers) - 1
                and (
                    not module.backward_overwrites_grad_output
                    or layers[index + 1].can_share_grad_input
                )
            )
            else module.backward
            for index, module in enumerate(layers)
        ]
        self._overwrites_in_backward = any(
            step != module.backward for step, module in zip(backward, layers, strict=True)
        )
        # a layer whose input gradient only feeds such an activation (which reads it and
        # writes its own result elsewhere) may write it into a buffer shared with every
        # other such layer, and with the temporaries of every layer's forward: at most
        # one of these values is alive at a time
        self._shared_scratch.clear()
        for index, module in enumerate(layers):
            shares = not module.can_share_grad_input or (
                index > 0 and backward[index - 1] == layers[index - 1].backward_in_place
            )
            module.use_shared_scratch(self._shared_scratch if shares else None)
        self._backward_steps = backward[::-1]
        first = next(
            (i for i, m in enumerate(layers) if any(True for _ in m.named_parameters())),
            len(layers),
        )
        self._parameter_steps = [
            layers[index].backward_parameters if index == first else backward[index]
            for index in range(len(layers) - 1, first - 1, -1)
        ]
        return self._forward_steps, self._backward_steps, self._parameter_steps

    def _refuse_spent(self) -> None:
        raise RuntimeError(
            "Sequential: backward called twice after one forward; layers wrote their "
            "gradients over what forward saved (activations' outputs, Conv1d's windows), "
            "so run forward again (PyTorch likewise frees its graph after backward)"
        )

    def _on_moved(self) -> None:
        super()._on_moved()
        self._shared_scratch.clear()  # buffers of the old dtype or device

    def _at_layer(self, index: int, error: ShapeError) -> ShapeError:
        return ShapeError(f"layer {index} {self._layers[index].describe()} {error}")

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential.append expects a minidl module, got {type(module).__name__}"
            )
        self._layers.append(module)
        self._forward_steps = self._backward_steps = self._parameter_steps = None
        return self

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]

    def describe(self) -> str:
        return f"Sequential({len(self)} layers)"
