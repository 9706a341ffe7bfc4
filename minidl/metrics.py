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
