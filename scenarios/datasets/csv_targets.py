"""Your own regression data: a CSV file of ``x1,x2,target`` rows with a real target."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from minidl.data import RegressionData
from scenarios.datasets.csv_points import CsvDataError, shuffled_split, three_column_rows


def read_csv_targets(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (n, 2) and targets (n,), float64, of an ``x1,x2,target`` file.

    A first line that is not numeric is a header; every value must be a
    finite number, and the targets must not all be equal (R² needs spread).
    Every bad row is an error naming its line.
    """
    source = Path(path)
    values: list[tuple[float, float, float]] = []
    for line_number, row in three_column_rows(source, "target"):
        try:
            numbers = tuple(float(cell) for cell in row)
        except ValueError:
            if line_number == 1 and not values:
                continue  # a header
            raise CsvDataError(
                f"{source} line {line_number}: x1, x2 and target must be numbers, "
                f"got {', '.join(repr(cell) for cell in row)}"
            ) from None
        if not all(math.isfinite(number) for number in numbers):
            raise CsvDataError(f"{source} line {line_number}: x1, x2 and target must be finite")
        values.append(numbers)  # type: ignore[arg-type]
    if len(values) < 4:
        raise CsvDataError(f"{source}: needs at least 4 rows of x1,x2,target, found {len(values)}")
    table = torch.tensor(values, dtype=torch.float64)
    if bool((table[:, 2] == table[0, 2]).all()):
        raise CsvDataError(f"{source}: every target is {values[0][2]}; a regression needs spread")
    return table[:, :2].contiguous(), table[:, 2].contiguous()


def csv_regression_split(
    path: str | Path, test_fraction: float = 0.5, noise: float = 0.0, seed: int = 0
) -> RegressionData:
    """Shuffle the rows with ``seed``; keep ``test_fraction`` for testing; noise on training."""
    x, y = read_csv_targets(path)
    train, test, generator = shuffled_split(x.shape[0], test_fraction, seed)
    y_train = y[train]
    if noise > 0:
        y_train = y_train + noise * torch.randn(
            y_train.shape[0], generator=generator, dtype=y.dtype
        )
    return RegressionData(x[train], y_train, x[test], y[test])
