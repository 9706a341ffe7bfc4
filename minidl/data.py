"""`ClassificationData`: the train/test split a trainer consumes."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def _checked_splits(data: ClassificationData | RegressionData) -> list[tuple[str, torch.Tensor]]:
    """Check the shapes both kinds of data share (x (n, d), y (n,), some training rows) and
    give each split's name and targets for the checks of its kind."""
    splits = (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test))
    for split, x, y in splits:
        if x.dim() != 2:
            raise ValueError(f"x_{split} must be (n, features), got {tuple(x.shape)}")
        if y.shape != (x.shape[0],):
            raise ValueError(
                f"y_{split} must be ({x.shape[0]},) to match x_{split}, got {tuple(y.shape)}"
            )
    if data.x_train.shape[0] == 0:
        raise ValueError("the training set is empty")
    return [(split, y) for split, _, y in splits]


@dataclass(frozen=True)
class ClassificationData:
    """Inputs (n, d) and integer labels (n,) for training and testing.

    Labels are class indices in ``range(num_classes)``; losses that want
    one column per class get them through ``one_hot``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    def __post_init__(self) -> None:
        for split, y in _checked_splits(self):
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise ValueError(f"y_{split} holds labels outside 0..{self.num_classes - 1}")

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]


def one_hot(
    labels: torch.Tensor, num_classes: int, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """(n,) class indices -> (n, num_classes) rows of 0 and 1."""
    out = torch.zeros(labels.shape[0], num_classes, dtype=dtype)
    out.scatter_(1, labels.long().unsqueeze(1), 1.0)
    return out


@dataclass(frozen=True)
class RegressionData:
    """Inputs (n, d) and one real-valued target per row (n,), for training and testing.

    A trainer given regression data fits one output column to the targets
    and reports MSE, MAE and R² instead of accuracies.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    num_classes = 1  # one output column: what a model's last layer must give

    def __post_init__(self) -> None:
        for split, y in _checked_splits(self):
            if not y.is_floating_point() or not bool(torch.isfinite(y).all()):
                raise ValueError(f"y_{split} must hold finite real numbers")

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]
