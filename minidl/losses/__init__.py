"""Losses of minidl: each with forward(pred, target) and a hand-written backward()."""

from minidl.losses.loss import Loss
from minidl.losses.mse import MSELoss

__all__ = ["Loss", "MSELoss"]
