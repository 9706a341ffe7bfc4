from __future__ import annotations

import pytest
import torch

import minidl


def test_binary_metrics_are_those_of_class_one():
    labels = torch.tensor([1, 1, 1, 0, 0, 0, 0, 0])
    predicted = torch.tensor([1, 1, 0, 1, 0, 0, 0, 0])
    m = minidl.classification_metrics(predicted, labels, 2)
    assert m.accuracy == pytest.approx(6 / 8)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)


def test_always_zero_on_the_quarter_circle_has_high_accuracy_but_zero_f1():
    labels = torch.tensor([1] + [0] * 7)
    m = minidl.classification_metrics(torch.zeros(8, dtype=torch.long), labels, 2)
    assert m.accuracy == 0.875
    assert (m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0)


def test_multiclass_metrics_are_macro_averages():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1, 2, 0])
    m = minidl.classification_metrics(predicted, labels, 3)
    precisions = [1 / 2, 2 / 3, 1.0]
    recalls = [1 / 2, 1.0, 1 / 2]
    f1s = [2 * p * r / (p + r) for p, r in zip(precisions, recalls, strict=True)]
    assert m.precision == pytest.approx(sum(precisions) / 3)
    assert m.recall == pytest.approx(sum(recalls) / 3)
    assert m.f1 == pytest.approx(sum(f1s) / 3)


def test_confusion_matrix_counts_true_by_predicted():
    counts = minidl.confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2)
    assert counts.tolist() == [[1, 1], [0, 1]]
