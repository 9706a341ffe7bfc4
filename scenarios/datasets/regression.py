"""Regression data sets of TensorFlow Playground, in [0, 1]²: a plane and a sum of Gaussians.

Each point gets one real target. Noise adds Gaussian noise of standard
deviation ``noise`` to the training targets only, so the test metrics keep
measuring the true surface.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from minidl.data import RegressionData
from scenarios.datasets.points import uniform_points

Surface = Callable[[torch.Tensor], torch.Tensor]

# (centre x, centre y, sign) of the six bumps: Playground's layout, scaled into the square
GAUSSIAN_BUMPS = (
    (1 / 6, 0.3, -1.0),
    (0.5, 0.3, 1.0),
    (5 / 6, 0.3, -1.0),
    (1 / 6, 0.7, 1.0),
    (0.5, 0.7, -1.0),
    (5 / 6, 0.7, 1.0),
)
GAUSSIAN_SPREAD = 0.1  # σ of each bump


def plane_surface(p: torch.Tensor) -> torch.Tensor:
    """t = (x − ½) + (y − ½): a tilted plane, from −1 to 1 across the square."""
    return (p[:, 0] - 0.5) + (p[:, 1] - 0.5)


def gaussians_surface(p: torch.Tensor) -> torch.Tensor:
    """t = Σ sᵢ exp(−‖p − cᵢ‖² / 2σ²): three bumps up and three down."""
    total = torch.zeros(p.shape[0], dtype=p.dtype)
    for cx, cy, sign in GAUSSIAN_BUMPS:
        squared = (p[:, 0] - cx) ** 2 + (p[:, 1] - cy) ** 2
        total += sign * torch.exp(-squared / (2 * GAUSSIAN_SPREAD**2))
    return total


def _regression_split(
    surface: Surface, n_train: int, n_test: int, noise: float, seed: int
) -> RegressionData:
    """Train then test points from one seeded stream, with their targets."""
    if n_train <= 0 or n_test < 0:
        raise ValueError(f"need n_train > 0 and n_test >= 0, got {n_train} and {n_test}")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"target noise must lie in [0, 1], got {noise!r}")
    generator = torch.Generator().manual_seed(seed)
    x_train = uniform_points(n_train, generator)
    x_test = uniform_points(n_test, generator)
    y_train = surface(x_train)
    if noise > 0:
        y_train = y_train + noise * torch.randn(n_train, generator=generator, dtype=torch.float64)
    return RegressionData(x_train, y_train, x_test, surface(x_test))


def plane(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> RegressionData:
    """Uniform points with the plane's height as target (see ``plane_surface``)."""
    return _regression_split(plane_surface, n_train, n_test, noise, seed)


def gaussians(
    n_train: int = 1000, n_test: int = 1000, noise: float = 0.0, seed: int = 0
) -> RegressionData:
    """Uniform points with the sum of six Gaussian bumps as target (see ``gaussians_surface``)."""
    return _regression_split(gaussians_surface, n_train, n_test, noise, seed)
