"""The [expect] table: bounds a run's final epoch must meet, on its metrics and layer health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scenarios import registry
from scenarios.data_section import DataSpec
from scenarios.datasets import REGRESSION_DATASETS
from scenarios.field_reader import FieldReader
from scenarios.layer_checks import LAYER_EXPECTATIONS

# expectation key -> (EpochCompleted field, "min" or "max")
EXPECTATIONS: dict[str, tuple[str, str]] = {
    "min_train_accuracy": ("train_accuracy", "min"),
    "min_test_accuracy": ("test_accuracy", "min"),
    "min_test_precision": ("precision", "min"),
    "min_test_recall": ("recall", "min"),
    "min_test_f1": ("f1", "min"),
    "max_train_loss": ("train_loss", "max"),
    "max_test_loss": ("test_loss", "max"),
    "min_test_r2": ("test_r2", "min"),
    "max_test_mae": ("test_mae", "max"),
    "max_test_mse": ("test_mse", "max"),
}

# expectations that only a regression run has numbers for, and those only a classifier has
REGRESSION_EXPECTATIONS = ("min_test_r2", "max_test_mae", "max_test_mse")
CLASSIFICATION_EXPECTATIONS = (
    "min_train_accuracy",
    "min_test_accuracy",
    "min_test_precision",
    "min_test_recall",
    "min_test_f1",
)


@dataclass(frozen=True)
class Expectations:
    """Bounds on the final epoch's metrics, by key of ``EXPECTATIONS``, and on its
    per-layer health, by key of ``scenarios.layer_checks.LAYER_EXPECTATIONS``."""

    bounds: tuple[tuple[str, float], ...] = ()
    layer_bounds: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict[str, float]:
        return {**dict(self.bounds), **dict(self.layer_bounds)}


def expect_table(reader: FieldReader, document: dict[str, Any]) -> dict[str, Any]:
    """The optional [expect] table, its unknown keys reported."""
    table = reader.table(document, "expect", "expect", required=False)
    reader.unknown_keys(table, [*EXPECTATIONS, *LAYER_EXPECTATIONS], "expect")
    return table


def read_metric_bounds(
    reader: FieldReader, table: dict[str, Any], data: DataSpec
) -> tuple[tuple[str, float], ...]:
    """The metric bounds of [expect]; one the data set's task has no number for is an error."""
    kind = data.kind
    bounds = []
    for key in EXPECTATIONS:
        if key in table:
            check = registry.fraction if key.startswith("min_") else registry.non_negative_float
            value = reader.field(table, key, "expect", check)
            if value is None:
                continue
            if kind and data.is_regression and key in CLASSIFICATION_EXPECTATIONS:
                reader.fail(
                    f"expect.{key}",
                    f"data set {kind!r} is a regression (a real target, no classes); "
                    f"expect one of: {', '.join(REGRESSION_EXPECTATIONS)}, "
                    "max_train_loss, max_test_loss",
                )
            elif kind and not data.is_regression and key in REGRESSION_EXPECTATIONS:
                reader.fail(
                    f"expect.{key}",
                    f"data set {kind!r} is a classification; {key} applies to regression "
                    "data sets only (" + ", ".join(REGRESSION_DATASETS) + ', or kind = "csv" '
                    'with target = "continuous")',
                )
            else:
                bounds.append((key, value))
    return tuple(bounds)


def read_layer_bounds(reader: FieldReader, table: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    """The per-layer health bounds of [expect]."""
    layer_bounds = []
    for key in LAYER_EXPECTATIONS:
        if key in table:
            check = registry.fraction if "fraction" in key else registry.non_negative_float
            value = reader.field(table, key, "expect", check)
            if value is not None:
                layer_bounds.append((key, value))
    return tuple(layer_bounds)
