"""Parameters viewed into one flat buffer, so an optimizer step is a few tensor ops.

``FlatGroup`` copies the data and gradients of parameters of one dtype and
device into two contiguous tensors and points each parameter at its slice
(``Parameter.rebind``). Layers keep writing gradients into their parameter's
``grad``, which is now a view of the flat gradient, so the optimizer updates
every parameter with one op on the flat tensors. Flat optimizer state
(momentum, moments) has the same layout.
"""

from __future__ import annotations

import math

import torch

from minidl.parameter import Parameter
from minidl.scratch import constant, persistent


class FlatGroup:
    """Parameters of one dtype and device, homed in one flat data and grad tensor."""

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.offsets: list[tuple[int, int]] = []
        start = 0
        for p in params:
            self.offsets.append((start, start + p.numel()))
            start += p.numel()
        self.numel = start
        self.state: dict[str, torch.Tensor] = {}
        self._constants: dict[tuple[str, float], torch.Tensor] = {}
        # −lr as a 0-dim tensor, and the lr it holds: remade only when a scheduler changes lr
        self.lr = math.nan  # none made yet: nan equals no lr, so the first step makes it
        self.minus_lr_tensor = torch.empty(0)
        self.data = torch.empty(0)
        self.grad = torch.empty(0)
        self.left = False  # a parameter was re-bound elsewhere: rehome before using the buffers
        self.rehome()

    def rehome(self) -> None:
        """Copy the parameters' current data and gradients in, and point them at the copies."""
        with persistent():
            self._rehome()

    def _rehome(self) -> None:
        # one parameter at a time, so each old tensor is freed as soon as it is
        # copied: the peak is one extra copy of the data, not two
        first = self.params[0].data
        data = torch.empty(self.numel, dtype=first.dtype, device=first.device)
        old_grads = []
        for p, (start, end) in zip(self.params, self.offsets, strict=True):
            data[start:end].view(p.shape).copy_(p.data)
            old_grads.append(p._grad)
            p.rebind(data[start:end].view(p.shape), p._grad)  # the gradient moves below
        grad = torch.zeros(self.numel, dtype=first.dtype, device=first.device)
        for p, (start, end), old in zip(self.params, self.offsets, old_grads, strict=True):
            view = grad[start:end].view(p.shape)
            if old is not None:
                view.copy_(old)
            p.rebind(p.data, view)
            p._home = self
        self.data, self.grad = data, grad
        self.left = False
        self.lr = math.nan  # −lr must be remade in the new dtype

    def constant(self, name: str, value: float) -> torch.Tensor:
        """``value`` as a cached 0-dim tensor of the group's dtype (no Python scalar in ops)."""
        return constant(self._constants, name, value, self.data)

    def minus_lr(self, lr: float) -> torch.Tensor:
        """−lr as a 0-dim tensor: the factor of every update, looked up once per lr
        (a scheduler changes it between steps) rather than at every step."""
        if lr != self.lr:
            self.lr, self.minus_lr_tensor = lr, self.constant("-lr", -lr)
        return self.minus_lr_tensor

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
