"""Optimizers of minidl: each owns its state and ``step()``; the maths is a plain function."""

from minidl.optim.optimizer import Optimizer
from minidl.optim.sgd import SGD

__all__ = ["SGD", "Optimizer"]
