"""The two canonical data sets: points inside a disk of radius 1/sqrt(2π) are class 1.

* quarter circle: disk centred on (0, 0); π r²/4 = 1/8 of the square is class 1.
* centered disk: disk centred on (0.5, 0.5); π r² = 1/2 of the square is class 1.
"""

from __future__ import annotations

import math

import torch

from minidl.data import ClassificationData
from scenarios.datasets.points import make_split

RADIUS = 1.0 / math.sqrt(2.0 * math.pi)


def inside_disk(points: torch.Tensor, center: tuple[float, float]) -> torch.Tensor:
    """1 where a point lies within RADIUS of ``center`` (boundary included), else 0."""
    offset = points - torch.tensor(center, dtype=points.dtype)
    return (offset.pow(2).sum(dim=1) <= RADIUS**2).long()


def quarter_circle(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Label 1 within 1/sqrt(2π) of the origin (imbalanced: 1/8 of points)."""
    return make_split(lambda p: inside_disk(p, (0.0, 0.0)), n_train, n_test, noise, seed)


def centered_disk(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Label 1 within 1/sqrt(2π) of (0.5, 0.5) (balanced: 1/2 of points)."""
    return make_split(lambda p: inside_disk(p, (0.5, 0.5)), n_train, n_test, noise, seed)
