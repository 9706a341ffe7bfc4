"""What the training loop reports: one frozen dataclass per event, for front ends to show."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from minidl.health import LayerStatsComputed
from minidl.metrics import ClassificationMetrics, RegressionMetrics

Status = Literal["running", "completed", "stopped", "diverged"]


@dataclass(frozen=True)
class EpochCompleted:
    """Numbers of one finished epoch.

    ``train_loss`` is the mean of the epoch's mini-batch losses weighted by
    batch size (what the optimizer saw); the accuracies and the test loss
    come from a pass over the whole set in eval mode after the epoch.
    ``precision``/``recall``/``f1`` are on the test set (class 1 for two
    classes, macro average otherwise). ``seconds`` is the time spent in the
    training batches, and ``samples_per_second`` the training throughput.

    A regression run has no accuracies: those five fields are None, and
    ``train_r2``, ``test_mse``, ``test_mae`` and ``test_r2`` hold its numbers
    (None in a classification run). Files leave out the None fields.
    """

    epoch: int
    train_loss: float
    train_accuracy: float | None
    test_loss: float
    test_accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    seconds: float
    samples_per_second: float
    train_r2: float | None = None
    test_mse: float | None = None
    test_mae: float | None = None
    test_r2: float | None = None

    TIMING_FIELDS = ("seconds", "samples_per_second")
    REGRESSION_FIELDS = ("train_r2", "test_mse", "test_mae", "test_r2")
    CLASSIFICATION_FIELDS = ("train_accuracy", "test_accuracy", "precision", "recall", "f1")

    @classmethod
    def report(
        cls,
        epoch: int,
        loss_sum: float,
        samples: int,
        seconds: float,
        train: ClassificationMetrics | RegressionMetrics,
        test_loss: float,
        test: ClassificationMetrics | RegressionMetrics,
    ) -> EpochCompleted:
        """The event of an epoch from its summed batch losses, timing and evaluations."""
        if isinstance(train, RegressionMetrics) and isinstance(test, RegressionMetrics):
            return cls(
                epoch=epoch,
                train_loss=loss_sum / samples,
                train_accuracy=None,
                test_loss=test_loss,
                test_accuracy=None,
                precision=None,
                recall=None,
                f1=None,
                seconds=seconds,
                samples_per_second=samples / seconds if seconds > 0 else math.inf,
                train_r2=train.r2,
                test_mse=test.mse,
                test_mae=test.mae,
                test_r2=test.r2,
            )
        assert isinstance(train, ClassificationMetrics) and isinstance(test, ClassificationMetrics)
        return cls(
            epoch=epoch,
            train_loss=loss_sum / samples,
            train_accuracy=train.accuracy,
            test_loss=test_loss,
            test_accuracy=test.accuracy,
            precision=test.precision,
            recall=test.recall,
            f1=test.f1,
            seconds=seconds,
            samples_per_second=samples / seconds if seconds > 0 else math.inf,
        )

    @property
    def is_regression(self) -> bool:
        return self.test_r2 is not None or self.test_mse is not None

    def metrics(self) -> dict[str, float]:
        """The deterministic numbers (everything but timings and the other task's fields)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.TIMING_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """The fields of this run's task (the other task's None fields left out)."""
        return {k: v for k, v in asdict(self).items() if k in self.fields_of_task()}

    def fields_of_task(self) -> tuple[str, ...]:
        other = self.CLASSIFICATION_FIELDS if self.is_regression else self.REGRESSION_FIELDS
        return tuple(name for name in EPOCH_FIELDS if name not in other)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EpochCompleted:
        """Read back ``to_dict``: the other task's fields may be absent."""
        optional = (*cls.CLASSIFICATION_FIELDS, *cls.REGRESSION_FIELDS)
        return cls(**{k: None for k in optional if k not in values}, **values)


@dataclass(frozen=True)
class TrainingDiverged:
    """A mini-batch loss was NaN or inf; that batch's update was not applied."""

    epoch: int
    step: int
    loss: float


@dataclass(frozen=True)
class TrainingStopped:
    """A stop was requested; the interrupted epoch is not recorded."""

    epoch: int
    step: int


@dataclass(frozen=True)
class TrainingFinished:
    status: Status
    epochs_completed: int


Event = EpochCompleted | LayerStatsComputed | TrainingDiverged | TrainingStopped | TrainingFinished
EPOCH_FIELDS = tuple(f.name for f in fields(EpochCompleted))
