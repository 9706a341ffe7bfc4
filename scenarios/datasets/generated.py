"""Data sets of the interactive playgrounds: XOR, Gaussian blobs and spirals, in [0, 1]².

XOR labels uniform points by quadrant; the others draw each class from its
own distribution (equal class sizes, in a seeded random order).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from minidl.data import ClassificationData
from scenarios.datasets.points import flip_labels, make_split

Sampler = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def xor(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Label 1 where exactly one coordinate exceeds 0.5 (the checkerboard of 4 quadrants)."""
    return make_split(
        lambda p: ((p[:, 0] > 0.5) ^ (p[:, 1] > 0.5)).long(), n_train, n_test, noise, seed
    )


def _balanced_labels(n: int, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    labels = torch.arange(n) % num_classes
    return labels[torch.randperm(n, generator=generator)]


def _blobs(centers: list[tuple[float, float]], spread: float) -> Sampler:
    def sample(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = _balanced_labels(n, len(centers), generator)
        means = torch.tensor(centers, dtype=torch.float64)[labels]
        points = means + spread * torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return points, labels

    return sample


def _spirals(arms: int) -> Sampler:
    def sample(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = _balanced_labels(n, arms, generator)
        t = torch.rand(n, generator=generator, dtype=torch.float64)
        radius = 0.05 + 0.4 * t
        angle = 3.5 * math.pi * t + 2 * math.pi * labels.double() / arms
        points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1) + 0.5
        points += 0.015 * torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return points, labels

    return sample


def _generated_split(
    sample: Sampler, num_classes: int, n_train: int, n_test: int, noise: float, seed: int
) -> ClassificationData:
    """Draw train then test sets from one seeded stream; noise flips training labels only."""
    if n_train <= 0 or n_test < 0:
        raise ValueError(f"need n_train > 0 and n_test >= 0, got {n_train} and {n_test}")
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = sample(n_train, generator)
    x_test, y_test = sample(n_test, generator)
    y_train = flip_labels(y_train, noise, num_classes, generator)
    return ClassificationData(x_train, y_train, x_test, y_test, num_classes)


def two_gaussians(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Two round blobs (σ = 0.12) centred at (0.3, 0.3) and (0.7, 0.7)."""
    sampler = _blobs([(0.3, 0.3), (0.7, 0.7)], 0.12)
    return _generated_split(sampler, 2, n_train, n_test, noise, seed)


def two_spirals(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Two interleaved spiral arms around (0.5, 0.5), 1.75 turns each."""
    return _generated_split(_spirals(2), 2, n_train, n_test, noise, seed)


def three_gaussians(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Three blobs (σ = 0.1) on a triangle: the multi-class set (macro-F1)."""
    sampler = _blobs([(0.25, 0.3), (0.75, 0.3), (0.5, 0.75)], 0.1)
    return _generated_split(sampler, 3, n_train, n_test, noise, seed)


def three_spirals(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Three interleaved spiral arms: a hard multi-class set."""
    return _generated_split(_spirals(3), 3, n_train, n_test, noise, seed)
