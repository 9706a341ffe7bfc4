"""`FeatureMap`: the input features of TensorFlow Playground, as a layer in front of a model."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.module import Module


def _zero(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(a)


def _one(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(a)


# name -> (value, d/dx1, d/dx2) of one feature of a 2-D point (x1, x2) = (a, b)
FEATURES = {
    "x1": (lambda a, b: a, _one, _zero),
    "x2": (lambda a, b: b, _zero, _one),
    "x1^2": (lambda a, b: a * a, lambda a, b: 2 * a, _zero),
    "x2^2": (lambda a, b: b * b, _zero, lambda a, b: 2 * b),
    "x1*x2": (lambda a, b: a * b, lambda a, b: b, lambda a, b: a),
    "sin(x1)": (lambda a, b: torch.sin(a), lambda a, b: torch.cos(a), _zero),
    "sin(x2)": (lambda a, b: torch.sin(b), _zero, lambda a, b: torch.cos(b)),
}


class FeatureMap(Module):
    """Maps points (x1, x2) to chosen features, e.g. x1, x2, x1², x1·x2, sin x1.

    Part of the model (so scenario files and replays carry it) but without
    parameters. Backward applies the chain rule through each feature.

    Shape: (N, 2) -> (N, len(features))
    """

    def __init__(self, features: tuple[str, ...] | list[str]) -> None:
        super().__init__()
        unknown = [f for f in features if f not in FEATURES]
        if unknown or not features:
            raise ValueError(
                f"features must be a non-empty list of {', '.join(FEATURES)}; got {list(features)}"
            )
        if len(set(features)) != len(features):
            raise ValueError(f"features are listed twice: {list(features)}")
        self.features = tuple(features)
        self._input: torch.Tensor | None = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input
        if x.dim() != 2 or x.shape[1] != 2:
            raise ShapeError(f"expects points (N, 2), got {tuple(x.shape)}")
        self._input = x
        a, b = x[:, 0], x[:, 1]
        return torch.stack([FEATURES[name][0](a, b) for name in self.features], dim=1)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        x = self._input
        if x is None:
            raise RuntimeError("FeatureMap: backward called before forward")
        a, b = x[:, 0], x[:, 1]
        grad = torch.zeros_like(x)
        for column, name in enumerate(self.features):
            _, d_a, d_b = FEATURES[name]
            grad[:, 0] += grad_output[:, column] * d_a(a, b)
            grad[:, 1] += grad_output[:, column] * d_b(a, b)
        return grad

    def extra_repr(self) -> str:
        return f"features={list(self.features)}"
