"""Shared pieces of the 2-D data sets: seeded uniform points and label noise."""

from __future__ import annotations

import torch

from minidl.data import ClassificationData


def uniform_points(n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 2) float64 points uniform in the unit square [0, 1]²."""
    return torch.rand(n, 2, generator=generator, dtype=torch.float64)


def flip_labels(
    labels: torch.Tensor, fraction: float, num_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """A copy of ``labels`` with exactly round(fraction · n) of them changed.

    The flipped rows are drawn without replacement; each gets another class
    (for two classes, the other one).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"label noise must lie in [0, 1], got {fraction!r}")
    count = round(fraction * labels.shape[0])
    noisy = labels.clone()
    if count == 0:
        return noisy
    rows = torch.randperm(labels.shape[0], generator=generator)[:count]
    shift = torch.randint(1, num_classes, (count,), generator=generator) if num_classes > 2 else 1
    noisy[rows] = (noisy[rows] + shift) % num_classes
    return noisy


def make_split(
    label_fn,
    n_train: int,
    n_test: int,
    noise: float,
    seed: int,
    num_classes: int = 2,
) -> ClassificationData:
    """Draw train then test points from one seeded stream and label them.

    Label noise applies to the training labels only, so test metrics keep
    measuring the true boundary.
    """
    if n_train <= 0 or n_test < 0:
        raise ValueError(f"need n_train > 0 and n_test >= 0, got {n_train} and {n_test}")
    generator = torch.Generator().manual_seed(seed)
    x_train = uniform_points(n_train, generator)
    x_test = uniform_points(n_test, generator)
    y_train = flip_labels(label_fn(x_train), noise, num_classes, generator)
    return ClassificationData(x_train, y_train, x_test, label_fn(x_test), num_classes)
