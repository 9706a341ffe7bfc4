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

from minidl.layers import (
    ELU,
    GELU,
    BatchNorm1d,
    Conv1d,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    Unflatten,
)
from minidl.losses import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, Loss, MSELoss
from minidl.module import Module
from minidl.optim import SGD, Adam, AdamW, Optimizer, RMSprop


class TwinError(TypeError):
    """A minidl object that has no PyTorch twin."""


def _options(module: Module) -> dict[str, Any]:
    parameters = module.parameters()
    if not parameters:
        return {}
    return {"dtype": parameters[0].dtype, "device": parameters[0].device}


_MODULE_TWINS: dict[type, Callable[[Any], nn.Module]] = {
    Linear: lambda m: nn.Linear(
        m.in_features, m.out_features, bias=m.bias is not None, **_options(m)
    ),
    Conv1d: lambda m: nn.Conv1d(
        m.in_channels,
        m.out_channels,
        m.kernel_size,
        stride=m.stride,
        padding=m.padding,
        bias=m.bias is not None,
        **_options(m),
    ),
    BatchNorm1d: lambda m: nn.BatchNorm1d(
        m.num_features,
        eps=m.eps,
        momentum=m.momentum,
        affine=m.affine,
        dtype=m.running_mean.dtype,
        device=m.running_mean.device,
    ),
    Dropout: lambda m: nn.Dropout(m.p),
    ReLU: lambda m: nn.ReLU(),
    Tanh: lambda m: nn.Tanh(),
    Sigmoid: lambda m: nn.Sigmoid(),
    LeakyReLU: lambda m: nn.LeakyReLU(m.negative_slope),
    ELU: lambda m: nn.ELU(m.alpha),
    GELU: lambda m: nn.GELU(approximate=m.approximate),
    Softmax: lambda m: nn.Softmax(dim=m.dim),
    Identity: lambda m: nn.Identity(),
    Flatten: lambda m: nn.Flatten(m.start_dim, m.end_dim),
    Unflatten: lambda m: nn.Unflatten(m.dim, m.unflattened_size),
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
    """The torch.nn loss equivalent to a minidl loss."""
    if isinstance(loss, HuberLoss):
        return nn.HuberLoss(reduction=loss.reduction, delta=loss.delta)
    for ours, theirs in (
        (MSELoss, nn.MSELoss),
        (L1Loss, nn.L1Loss),
        (CrossEntropyLoss, nn.CrossEntropyLoss),
        (BCEWithLogitsLoss, nn.BCEWithLogitsLoss),
    ):
        if type(loss) is ours:
            return theirs(reduction=loss.reduction)
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
    if isinstance(optimizer, Adam):  # AdamW too
        kind = torch.optim.AdamW if isinstance(optimizer, AdamW) else torch.optim.Adam
        return kind(
            parameters,
            lr=optimizer.lr,
            betas=optimizer.betas,
            eps=optimizer.eps,
            weight_decay=optimizer.weight_decay,
            amsgrad=optimizer.amsgrad,
            foreach=False,
        )
    if isinstance(optimizer, RMSprop):
        return torch.optim.RMSprop(
            parameters,
            lr=optimizer.lr,
            alpha=optimizer.alpha,
            eps=optimizer.eps,
            weight_decay=optimizer.weight_decay,
            momentum=optimizer.momentum,
            centered=optimizer.centered,
            foreach=False,
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
