"""Your own data: a CSV file of ``x1,x2,label`` rows, split into train and test sets."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from minidl.data import ClassificationData
from scenarios.datasets.points import flip_labels


class CsvDataError(ValueError):
    """A CSV file that cannot be used as data; the message names the file and line."""


def read_points(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (n, 2) float64 and labels (n,) from ``x1,x2,label`` rows.

    A first line that is not numeric is taken as a header. Labels are
    integers 0..K-1 with at least two classes present. Every bad row is an
    error naming its line.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CsvDataError(f"cannot read {source}: {error}") from None
    points: list[tuple[float, float]] = []
    labels: list[int] = []
    for line_number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise CsvDataError(
                f"{source} line {line_number}: expected 3 values x1,x2,label, got {len(row)}"
            )
        try:
            x1, x2 = float(row[0]), float(row[1])
        except ValueError:
            if line_number == 1 and not points:
                continue  # a header
            raise CsvDataError(
                f"{source} line {line_number}: x1 and x2 must be numbers, "
                f"got {row[0]!r}, {row[1]!r}"
            ) from None
        if not (math.isfinite(x1) and math.isfinite(x2)):
            raise CsvDataError(f"{source} line {line_number}: x1 and x2 must be finite")
        label = row[2].strip()
        if not label.isdigit():
            raise CsvDataError(
                f"{source} line {line_number}: label must be an integer >= 0, got {row[2]!r}"
            )
        points.append((x1, x2))
        labels.append(int(label))
    if len(points) < 4:
        raise CsvDataError(f"{source}: needs at least 4 rows of x1,x2,label, found {len(points)}")
    y = torch.tensor(labels)
    if len(set(labels)) < 2:
        raise CsvDataError(f"{source}: needs at least two classes, found only label {labels[0]}")
    return torch.tensor(points, dtype=torch.float64), y


def csv_split(
    path: str | Path, test_fraction: float = 0.5, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Shuffle the rows with ``seed`` and keep ``test_fraction`` of them for testing."""
    x, y = read_points(path)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(x.shape[0], generator=generator)
    n_test = round(x.shape[0] * test_fraction)
    test, train = order[:n_test], order[n_test:]
    num_classes = int(y.max()) + 1
    y_train = flip_labels(y[train], noise, num_classes, generator)
    return ClassificationData(x[train], y_train, x[test], y[test], num_classes)
