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

    Forward and backward, for layers f₁ … fₙ::

        y  = fₙ(… f₂(f₁(x)))
        dx = f₁.backward(… fₙ.backward(g))     (the chain rule, last layer first)
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

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, module in enumerate(self._layers):
            yield str(index), module

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input
        for index, layer in enumerate(self._layers):
            try:
                x = layer(x)
            except ShapeError as error:
                raise self._at_layer(index, error) from None
        return x

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        for index in reversed(range(len(self._layers))):
            try:
                grad_output = self._layers[index].backward(grad_output)
            except ShapeError as error:
                raise self._at_layer(index, error) from None
        return grad_output

    def _at_layer(self, index: int, error: ShapeError) -> ShapeError:
        return ShapeError(f"layer {index} {self._layers[index].describe()} {error}")

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential.append expects a minidl module, got {type(module).__name__}"
            )
        self._layers.append(module)
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
