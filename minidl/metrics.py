"""Classification metrics: accuracy, precision, recall and F1 from a confusion matrix.

For two classes, precision/recall/F1 are those of class 1 (the minority
class of the quarter circle, where "always 0" scores 87.5 % accuracy but
F1 = 0). For more classes they are macro averages. A class never predicted
has precision 0 (no division by zero, no warning).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ClassificationMetrics:
    accuracy: float
    precision: float
    recall: float
    f1: float


def confusion_matrix(
    predicted: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """counts[true, predicted] as an int64 (num_classes, num_classes) tensor."""
    if predicted.shape != labels.shape:
        raise ValueError(
            f"predicted {tuple(predicted.shape)} and labels {tuple(labels.shape)} differ in shape"
        )
    flat = labels.long() * num_classes + predicted.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def _safe_ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    return torch.where(denominator > 0, numerator / denominator.clamp_min(1), 0.0)


def classification_metrics(
    predicted: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> ClassificationMetrics:
    counts = confusion_matrix(predicted, labels, num_classes).double()
    true_positive = counts.diagonal()
    precision = _safe_ratio(true_positive, counts.sum(0))
    recall = _safe_ratio(true_positive, counts.sum(1))
    f1 = _safe_ratio(2 * precision * recall, precision + recall)
    total = counts.sum()
    accuracy = float(true_positive.sum() / total) if total > 0 else 0.0
    if num_classes == 2:
        return ClassificationMetrics(accuracy, float(precision[1]), float(recall[1]), float(f1[1]))
    return ClassificationMetrics(
        accuracy, float(precision.mean()), float(recall.mean()), float(f1.mean())
    )


@dataclass(frozen=True)
class RegressionMetrics:
    """Errors of real-valued predictions: mean squared, mean absolute, and R².

    R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²: 1 is a perfect fit, 0 is no better than
    predicting the mean, negative is worse. With constant targets the
    denominator is 0 and R² is NaN.
    """

    mse: float
    mae: float
    r2: float


def regression_metrics(predicted: torch.Tensor, targets: torch.Tensor) -> RegressionMetrics:
    """MSE, MAE and R² of predictions against targets of the same number of values."""
    if predicted.numel() != targets.numel():
        raise ValueError(
            f"predicted {tuple(predicted.shape)} and targets {tuple(targets.shape)} "
            "differ in size"
        )
    y = targets.reshape(-1).double()
    error = predicted.reshape(-1).double() - y
    squared = float((error * error).sum())
    spread = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - squared / spread if spread > 0 else float("nan")
    return RegressionMetrics(squared / y.numel(), float(error.abs().mean()), r2)
