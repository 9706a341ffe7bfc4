"""The [data] table: which data set a scenario trains on, generated or read from a CSV file."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios import registry
from scenarios.datasets import DATASETS, REGRESSION_DATASETS
from scenarios.field_reader import FieldReader, int_at_least, seed_number, string

if TYPE_CHECKING:
    from scenarios.datasets.csv_points import CsvPoints


@dataclass(frozen=True)
class DataSpec:
    kind: str
    n_train: int = 1000
    n_test: int = 1000
    noise: float = 0.0
    seed: int = 0
    path: str | None = None  # kind = "csv": the file, made absolute when read
    test_fraction: float = 0.5  # kind = "csv": share of the rows kept for testing
    classes: int | None = None  # kind = "csv": read from the file
    target: str = "class"  # kind = "csv": "class" (integer labels) or "continuous" (regression)

    @property
    def num_classes(self) -> int:
        return self.classes if self.kind == "csv" else DATASETS[self.kind][1]

    @property
    def is_regression(self) -> bool:
        """A data set with a real target per point (one output column) rather than classes."""
        return self.kind in REGRESSION_DATASETS or (
            self.kind == "csv" and self.target == "continuous"
        )


def read_data(
    reader: FieldReader, document: dict[str, Any], source: str | None
) -> tuple[DataSpec, CsvPoints | None]:
    """The [data] table; a CSV file is read now, so a bad row fails at load time.

    Returns the DataSpec (kind "" when the kind is missing or unknown) and the
    classification rows read from a CSV file (None otherwise, or when the file is bad).
    """
    data_table = reader.table(document, "data", "data")
    kind = reader.field(data_table, "kind", "data", string)
    if kind is not None and kind not in (*DATASETS, "csv"):
        allowed = ", ".join((*DATASETS, "csv"))
        reader.fail("data.kind", f"unknown data set; allowed: {allowed}", kind)
        kind = None
    if kind == "csv":
        return _csv_data(reader, data_table, source)
    reader.unknown_keys(data_table, ["kind", "n_train", "n_test", "noise", "seed"], "data")
    data = DataSpec(
        kind=kind or "",
        n_train=reader.field(data_table, "n_train", "data", int_at_least(1), 1000),
        n_test=reader.field(data_table, "n_test", "data", int_at_least(1), 1000),
        noise=reader.field(data_table, "noise", "data", registry.fraction, 0.0),
        seed=reader.field(data_table, "seed", "data", seed_number, 0),
    )
    return data, None


def _csv_data(
    reader: FieldReader, table: dict[str, Any], source: str | None
) -> tuple[DataSpec, CsvPoints | None]:
    """[data] with kind = "csv": the file is read now, so a bad row fails at load time.

    Returns the DataSpec and the rows read (None when the file is bad).
    """
    from scenarios.datasets.csv_points import CsvDataError, read_csv_points

    reader.unknown_keys(table, ["kind", "path", "test_fraction", "noise", "seed", "target"], "data")
    path = reader.field(table, "path", "data", string)
    target = reader.field(table, "target", "data", registry.choice("class", "continuous"), "class")
    test_fraction = reader.field(table, "test_fraction", "data", registry.fraction, 0.5)
    spec = DataSpec(
        kind="csv",
        noise=reader.field(table, "noise", "data", registry.fraction, 0.0),
        seed=reader.field(table, "seed", "data", seed_number, 0),
        test_fraction=test_fraction,
        classes=2,
        target=target,
    )
    if path is None:
        return spec, None
    file = Path(path)
    if not file.is_absolute() and source is not None:
        file = Path(source).parent / file
    if target == "continuous":
        from scenarios.datasets.csv_targets import read_csv_targets

        try:
            x, _ = read_csv_targets(file)
        except CsvDataError as error:
            reader.fail("data.path", str(error), path)
            return spec, None
        return _split(reader, spec, file, x.shape[0], test_fraction, classes=1), None
    try:
        points = read_csv_points(file)
    except CsvDataError as error:
        reader.fail("data.path", str(error), path)
        return spec, None
    return _split(reader, spec, file, points.x.shape[0], test_fraction, points.num_classes), points


def data_to_table(data: DataSpec) -> dict[str, Any]:
    """The [data] table of a saved scenario file (``read_data`` reads it back)."""
    if data.kind == "csv":
        return {
            "kind": "csv",
            **({"target": data.target} if data.target != "class" else {}),
            "path": data.path,
            "test_fraction": data.test_fraction,
            "noise": data.noise,
            "seed": data.seed,
        }
    return {
        "kind": data.kind,
        "n_train": data.n_train,
        "n_test": data.n_test,
        "noise": data.noise,
        "seed": data.seed,
    }


def _split(
    reader: FieldReader, spec: DataSpec, file: Path, rows: int, test_fraction: float, classes: int
) -> DataSpec:
    """The spec of a CSV file of ``rows`` rows: where it is, and its train/test sizes."""
    n_test = round(rows * test_fraction)
    if n_test == 0 or n_test == rows:
        reader.fail("data.test_fraction", "leaves no training or no test rows", test_fraction)
    return replace(
        spec,
        path=str(file.resolve()),
        n_train=max(1, rows - n_test),
        n_test=max(1, n_test),
        classes=classes,
    )
