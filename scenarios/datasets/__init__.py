"""2-D data sets, by the name scenario files use: classification and regression."""

from collections.abc import Callable

from minidl.data import ClassificationData, RegressionData
from scenarios.datasets.disks import RADIUS, centered_disk, quarter_circle
from scenarios.datasets.generated import (
    three_gaussians,
    three_spirals,
    two_gaussians,
    two_spirals,
    xor,
)
from scenarios.datasets.regression import gaussians, plane

DatasetFactory = Callable[..., ClassificationData | RegressionData]

# name -> (generator, number of classes; 1 for a regression set: one output column)
DATASETS: dict[str, tuple[DatasetFactory, int]] = {
    "quarter_circle": (quarter_circle, 2),
    "centered_disk": (centered_disk, 2),
    "xor": (xor, 2),
    "two_gaussians": (two_gaussians, 2),
    "two_spirals": (two_spirals, 2),
    "three_gaussians": (three_gaussians, 3),
    "three_spirals": (three_spirals, 3),
    "plane": (plane, 1),
    "gaussians": (gaussians, 1),
}

REGRESSION_DATASETS = ("plane", "gaussians")

__all__ = [
    "DATASETS",
    "RADIUS",
    "REGRESSION_DATASETS",
    "centered_disk",
    "gaussians",
    "plane",
    "quarter_circle",
    "three_gaussians",
    "three_spirals",
    "two_gaussians",
    "two_spirals",
    "xor",
]
