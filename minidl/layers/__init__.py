"""Layers and containers of minidl."""

from minidl.layers.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, SiLU, Softmax, Tanh
from minidl.layers.conv import Conv1d
from minidl.layers.dropout import Dropout
from minidl.layers.features import FEATURES, FeatureMap
from minidl.layers.linear import Linear
from minidl.layers.norm import BatchNorm1d
from minidl.layers.sequential import Sequential
from minidl.layers.shape import Flatten, Identity, Unflatten

__all__ = [
    "ELU",
    "FEATURES",
    "GELU",
    "BatchNorm1d",
    "Conv1d",
    "Dropout",
    "FeatureMap",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Unflatten",
]
