"""Optimizers of minidl: each owns its state and ``step()``; the maths is a plain function."""

from minidl.optim.adam import Adam, AdamW
from minidl.optim.optimizer import Optimizer
from minidl.optim.rmsprop import RMSprop
from minidl.optim.schedulers import (
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    StepLR,
    clip_grad_norm_,
)
from minidl.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "clip_grad_norm_",
]
