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

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, module in enumerate(self._layers):
            yield str(index), module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = self._forward_steps or self._plan()[0]
        index = 0
        try:
            for index, step in enumerate(steps):  # noqa: B007 (index names a failing layer)
                x = step(x)
        except ShapeError as error:
            raise self._at_layer(index, error) from None
        return x

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        steps = self._backward_steps or self._plan()[1]
        index = 0
        try:
            for index, step in enumerate(steps):  # noqa: B007
                grad_output = step(grad_output)
        except ShapeError as error:
            raise self._at_layer(len(steps) - 1 - index, error) from None
        return grad_output

    def backward_parameters(self, grad_output: torch.Tensor) -> None:
        """Gradients of the parameters only: layers in front of the first parameter
        are not run, and that layer skips its input gradient."""
        steps = self._parameter_steps
        if steps is None:
            steps = self._plan()[2]
        index = 0
        try:
            for index, step in enumerate(steps):  # noqa: B007
                grad_output = step(grad_output)
        except ShapeError as error:
            raise self._at_layer(len(self._layers) - 1 - index, error) from None

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
        self._backward_steps = [module.backward for module in reversed(layers)]
        first = next(
            (i for i, m in enumerate(layers) if any(True for _ in m.named_parameters())),
            len(layers),
        )
        self._parameter_steps = [
            layers[index].backward_parameters if index == first else layers[index].backward
            for index in range(len(layers) - 1, first - 1, -1)
        ]
        return self._forward_steps, self._backward_steps, self._parameter_steps

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
