"""How the lab words a run's numbers: accuracies for a classifier, R² and MAE for a regression."""

from __future__ import annotations

import math

from minidl.train import EpochCompleted


def scores(e: EpochCompleted) -> tuple[float, float]:
    """(train, test) of the second chart: accuracy, or R² for a regression."""
    if e.is_regression:
        return _number(e.train_r2), _number(e.test_r2)
    return _number(e.train_accuracy), _number(e.test_accuracy)


def score_title(is_regression: bool) -> str:
    """The second chart's name: what ``scores`` gives."""
    return "R²" if is_regression else "accuracy"


def _number(value: float | None) -> float:
    return math.nan if value is None else value


def short_summary(e: EpochCompleted) -> str:
    """The status line's numbers of an epoch."""
    if e.is_regression:
        return f"test R² {_number(e.test_r2):.3f} · MAE {_number(e.test_mae):.4f}"
    return f"test acc {_number(e.test_accuracy):.3f} · F1 {_number(e.f1):.3f}"


def final_summary(e: EpochCompleted) -> str:
    """The numbers of a finished run."""
    if e.is_regression:
        return (
            f"test MSE {_number(e.test_mse):.4f}, MAE {_number(e.test_mae):.4f}, "
            f"R² {_number(e.test_r2):.3f}"
        )
    return (
        f"test acc {_number(e.test_accuracy):.3f}, precision {_number(e.precision):.3f}, "
        f"recall {_number(e.recall):.3f}, F1 {_number(e.f1):.3f}"
    )


def reached(e: EpochCompleted) -> str:
    """What saving the run as expectations would record."""
    if e.is_regression:
        return f"test R² ≥ {_number(e.test_r2):.3f}, MAE ≤ {_number(e.test_mae):.4f}"
    return f"test acc ≥ {_number(e.test_accuracy):.3f}, F1 ≥ {_number(e.f1):.3f}"
