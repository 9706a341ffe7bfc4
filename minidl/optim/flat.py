"""Parameters viewed into one flat buffer, so an optimizer step is a few tensor ops."""

from __future__ import annotations

import torch

from minidl.parameter import Parameter


class FlatGroup:
    """Parameters of one dtype and device, homed in one flat data and grad tensor.

    Each parameter's ``data`` and ``grad`` become views of its slice
    (``Parameter.rebind``): layers keep adding into ``grad``, and the
    optimizer updates every parameter with one op on the flat tensors. Flat
    optimizer ``state`` (momentum, moments) has the same layout. These
    tensors are made outside inference mode, so a model trained under
    ``torch.inference_mode`` keeps working outside it.
    """

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.offsets: list[tuple[int, int]] = []
        start = 0
        for p in params:
            self.offsets.append((start, start + p.numel()))
            start += p.numel()
        self.numel = start
        self.state: dict[str, torch.Tensor] = {}
        self.left = False  # a parameter was re-bound elsewhere: rehome before using the buffers
        self.rehome()

    def rehome(self) -> None:
        """Copy the parameters' current data and gradients in, and point them at the copies."""
        first = self.params[0].data
        with torch.inference_mode(False):
            data = torch.empty(self.numel, dtype=first.dtype, device=first.device)
            grad = torch.zeros(self.numel, dtype=first.dtype, device=first.device)
            self.state = {name: value.to(data) for name, value in self.state.items()}
        for p, (start, end) in zip(self.params, self.offsets, strict=True):
            flat_data, flat_grad = data[start:end].view(p.shape), grad[start:end].view(p.shape)
            flat_data.copy_(p.data)
            if p._grad is not None:
                flat_grad.copy_(p._grad)
            p.rebind(flat_data, flat_grad)
            p._home = self
        self.data, self.grad = data, grad
        self.left = False

    def make_state(self, names: tuple[str, ...]) -> None:
        """Make the flat optimizer state tensors ``names`` that are missing, as zeros."""
        with torch.inference_mode(False):
            for name in names:
                if name not in self.state:
                    self.state[name] = torch.zeros_like(self.data)

    def view_of(self, flat: torch.Tensor, index: int) -> torch.Tensor:
        """The slice of a flat tensor that belongs to parameter ``index``, shaped like it."""
        start, end = self.offsets[index]
        return flat[start:end].view(self.params[index].shape)


def group_parameters(params: list[Parameter]) -> list[FlatGroup]:
    """One FlatGroup per (dtype, device), parameters kept in their given order."""
    by_kind: dict[tuple[torch.dtype, torch.device], list[Parameter]] = {}
    for p in params:
        by_kind.setdefault((p.dtype, p.device), []).append(p)
    return [FlatGroup(group) for group in by_kind.values()]
