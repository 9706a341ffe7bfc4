"""The PyTorch twin of a minidl model: the one module of minidl that imports torch.nn.

``torch_twin(model)`` builds the equivalent ``torch.nn`` module with the
weights copied, so both start identical; ``torch_loss`` and
``torch_optimizer`` do the same for losses and optimizers. Used by the
parity tests, the comparison and the benchmark — never by training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from minidl.layers import Linear, ReLU, Sequential, Sigmoid, Tanh
from minidl.losses import Loss, MSELoss
from minidl.module import Module
from minidl.optim import SGD, Optimizer


class TwinError(TypeError):
    """A minidl object that has no PyTorch twin."""


def _linear(module: Linear) -> nn.Module:
    weight = module.weight.data
    return nn.Linear(
        module.in_features,
        module.out_features,
        bias=module.bias is not None,
        dtype=weight.dtype,
        device=weight.device,
    )


_MODULE_TWINS: dict[type, Callable[[Any], nn.Module]] = {
    Linear: _linear,
    ReLU: lambda m: nn.ReLU(),
    Tanh: lambda m: nn.Tanh(),
    Sigmoid: lambda m: nn.Sigmoid(),
}


def _build(module: Module) -> nn.Module:
    if isinstance(module, Sequential):
        return nn.Sequential(*(_build(child) for child in module))
    factory = _MODULE_TWINS.get(type(module))
    if factory is None:
        raise TwinError(f"{type(module).__name__} has no PyTorch twin")
    return factory(module)


def torch_twin(model: Module, copy_weights: bool = True) -> nn.Module:
    """The torch.nn equivalent of ``model``, same weights, same train/eval mode.

    With ``copy_weights=False`` the twin keeps torch's own initial weights
    (the benchmark uses it to measure memory without the copy).
    """
    twin = _build(model)
    if copy_weights:
        with torch.no_grad():
            twin.load_state_dict(model.state_dict())
    twin.train(model.training)
    return twin


def torch_loss(loss: Loss) -> nn.Module:
    if isinstance(loss, MSELoss):
        return nn.MSELoss(reduction=loss.reduction)
    raise TwinError(f"{type(loss).__name__} has no PyTorch twin")


def torch_optimizer(optimizer: Optimizer, parameters: Any) -> torch.optim.Optimizer:
    """The torch.optim equivalent of ``optimizer`` over the twin's ``parameters``."""
    if isinstance(optimizer, SGD):
        return torch.optim.SGD(
            parameters,
            lr=optimizer.lr,
            momentum=optimizer.momentum,
            dampening=optimizer.dampening,
            nesterov=optimizer.nesterov,
            weight_decay=optimizer.weight_decay,
        )
    raise TwinError(f"{type(optimizer).__name__} has no PyTorch twin")


def torch_train_step(
    twin: nn.Module,
    loss: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    target: torch.Tensor,
) -> float:
    """One classic torch.nn + autograd + torch.optim step; returns the loss value."""
    with torch.enable_grad():
        optimizer.zero_grad()
        value = loss(twin(x), target)
        result = value.item()
        value.backward()
        optimizer.step()
    return result
