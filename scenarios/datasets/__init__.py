"""2-D classification data sets, by the name scenario files use."""

from collections.abc import Callable

from minidl.data import ClassificationData
from scenarios.datasets.disks import RADIUS, centered_disk, quarter_circle
from scenarios.datasets.generated import (
    three_gaussians,
    three_spirals,
    two_gaussians,
    two_spirals,
    xor,
)

DatasetFactory = Callable[..., ClassificationData]

# name -> (generator, number of classes)
DATASETS: dict[str, tuple[DatasetFactory, int]] = {
    "quarter_circle": (quarter_circle, 2),
    "centered_disk": (centered_disk, 2),
    "xor": (xor, 2),
    "two_gaussians": (two_gaussians, 2),
    "two_spirals": (two_spirals, 2),
    "three_gaussians": (three_gaussians, 3),
    "three_spirals": (three_spirals, 3),
}

__all__ = [
    "DATASETS",
    "RADIUS",
    "centered_disk",
    "quarter_circle",
    "three_gaussians",
    "three_spirals",
    "two_gaussians",
    "two_spirals",
    "xor",
]
