"""`Sequential`: a chain of modules, forward in order and backward in reverse."""

from __future__ import annotations

from collections.abc import Iterator

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
        self._in_place: list[bool] | None = None

    def _in_place_plan(self) -> list[bool]:
        """Which layers may run in place: those after a layer whose output is free."""
        layers = self._layers
        return [
            index > 0 and module.computes_in_place and layers[index - 1].frees_output
            for index, module in enumerate(layers)
        ]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, module in enumerate(self._layers):
            yield str(index), module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plan = self._in_place or self._set_plan()
        for index, module in enumerate(self._layers):
            try:
                x = module.forward_in_place(x) if plan[index] else module.forward(x)
            except ShapeError as error:
                raise ShapeError(f"layer {index} {module.describe()} {error}") from None
        return x

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        for index in range(len(self._layers) - 1, -1, -1):
            module = self._layers[index]
            try:
                grad_output = module.backward(grad_output)
            except ShapeError as error:
                raise ShapeError(f"layer {index} {module.describe()} {error}") from None
        return grad_output

    def _set_plan(self) -> list[bool]:
        self._in_place = self._in_place_plan()
        return self._in_place

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential.append expects a minidl module, got {type(module).__name__}"
            )
        self._layers.append(module)
        self._in_place = None
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
