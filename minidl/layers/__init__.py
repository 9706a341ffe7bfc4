"""Layers and containers of minidl."""

from minidl.layers.activations import ReLU, Sigmoid, Tanh
from minidl.layers.linear import Linear
from minidl.layers.sequential import Sequential

__all__ = ["Linear", "ReLU", "Sequential", "Sigmoid", "Tanh"]
