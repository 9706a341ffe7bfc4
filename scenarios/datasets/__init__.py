"""2-D classification data sets, by the name scenario files use."""

from collections.abc import Callable

from minidl.data import ClassificationData
from scenarios.datasets.disks import RADIUS, centered_disk, quarter_circle

DatasetFactory = Callable[..., ClassificationData]

# name -> (generator, number of classes)
DATASETS: dict[str, tuple[DatasetFactory, int]] = {
    "quarter_circle": (quarter_circle, 2),
    "centered_disk": (centered_disk, 2),
}

__all__ = ["DATASETS", "RADIUS", "centered_disk", "quarter_circle"]
