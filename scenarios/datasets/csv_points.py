"""Your own data: a CSV file of ``x1,x2,label`` rows, split into train and test sets."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from minidl.data import ClassificationData
from minidl.files import UnreadableFile, read_regular_text
from scenarios.datasets.points import flip_labels
from scenarios.limits import MAX_CLASSES, MAX_CSV_BYTES

LABEL = re.compile(r"[0-9]+")  # ASCII digits only: "²" or "٣" are not labels


class CsvDataError(ValueError):
    """A CSV file that cannot be used as data; the message names the file and line."""


@dataclass(frozen=True)
class CsvPoints:
    """The rows of a CSV file: points (n, 2) float64, labels (n,), and each row's line."""

    source: Path
    x: torch.Tensor
    y: torch.Tensor
    lines: tuple[int, ...]

    @property
    def num_classes(self) -> int:
        return int(self.y.max()) + 1

    def first_line_with_label_at_least(self, label: int) -> int | None:
        for line, value in zip(self.lines, self.y.tolist(), strict=True):
            if value >= label:
                return line
        return None


def three_column_rows(source: Path, last: str) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows of an ``x1,x2,<last>`` CSV file with their line numbers, each
    checked for three values when it is reached (so errors come in the file's order)."""
    try:
        text = read_regular_text(source, MAX_CSV_BYTES, "CSV file")
    except UnreadableFile as error:
        raise CsvDataError(str(error)) from None
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as error:
        raise CsvDataError(f"{source}: not a CSV file: {error}") from None
    for line_number, row in enumerate(rows, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise CsvDataError(
                f"{source} line {line_number}: expected 3 values x1,x2,{last}, got {len(row)}"
            )
        yield line_number, row


def read_csv_points(path: str | Path) -> CsvPoints:
    """Every row of an ``x1,x2,label`` file, checked.

    A first line that is not numeric is taken as a header, a UTF-8
    byte-order mark is ignored. Labels are ASCII integers 0..K-1 with
    K ≤ MAX_CLASSES, every class 0..K-1 present and at least two of them.
    Every bad row is an error naming its line.
    """
    source = Path(path)
    points: list[tuple[float, float]] = []
    labels: list[int] = []
    lines: list[int] = []
    for line_number, row in three_column_rows(source, "label"):
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
        if not LABEL.fullmatch(label):
            raise CsvDataError(
                f"{source} line {line_number}: label must be an integer 0..{MAX_CLASSES - 1} "
                f"written in digits 0-9, got {row[2]!r}"
            )
        if len(label) > 3 or int(label) >= MAX_CLASSES:
            raise CsvDataError(
                f"{source} line {line_number}: label {label} is out of range "
                f"(labels are 0..{MAX_CLASSES - 1})"
            )
        points.append((x1, x2))
        labels.append(int(label))
        lines.append(line_number)
    if len(points) < 4:
        raise CsvDataError(f"{source}: needs at least 4 rows of x1,x2,label, found {len(points)}")
    present = set(labels)
    if len(present) < 2:
        raise CsvDataError(f"{source}: needs at least two classes, found only label {labels[0]}")
    missing = [c for c in range(max(present) + 1) if c not in present]
    if missing:
        top = max(present)
        line = lines[labels.index(top)]
        raise CsvDataError(
            f"{source} line {line}: label {top} makes {top + 1} classes, but no row has label "
            f"{', '.join(map(str, missing))}; labels must be 0..K-1 with every class present "
            "(renumber them)"
        )
    return CsvPoints(
        source, torch.tensor(points, dtype=torch.float64), torch.tensor(labels), tuple(lines)
    )


def read_points(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (n, 2) float64 and labels (n,) of an ``x1,x2,label`` file (see read_csv_points)."""
    table = read_csv_points(path)
    return table.x, table.y


def shuffled_split(
    rows: int, test_fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    """Training and test row indices of a file shuffled with ``seed``, and the generator,
    which then draws the training set's noise."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(rows, generator=generator)
    n_test = round(rows * test_fraction)
    return order[n_test:], order[:n_test], generator


def csv_split(
    path: str | Path, test_fraction: float = 0.5, noise: float = 0.0, seed: int = 0
) -> ClassificationData:
    """Shuffle the rows with ``seed`` and keep ``test_fraction`` of them for testing."""
    x, y = read_points(path)
    train, test, generator = shuffled_split(x.shape[0], test_fraction, seed)
    num_classes = int(y.max()) + 1
    y_train = flip_labels(y[train], noise, num_classes, generator)
    return ClassificationData(x[train], y_train, x[test], y[test], num_classes)
