"""L1, Huber, cross-entropy and BCE-with-logits equal torch's values and gradients."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl.reference import torch_loss
from tests.conftest import TOLERANCE, rel_error

LOSSES = [
    lambda r: minidl.L1Loss(reduction=r),
    lambda r: minidl.HuberLoss(r),
    lambda r: minidl.HuberLoss(r, delta=0.3),
    lambda r: minidl.BCEWithLogitsLoss(reduction=r),
    lambda r: minidl.MSELoss(reduction=r),
]


def compare(loss, prediction, target, value_scale: float = 0.0, grad_scale: float = 0.0):
    """Values and gradients equal torch's; ``*_scale``: the size of the terms a result is
    the difference of, when it is much smaller than they are (see ``rel_error``)."""
    leaf = prediction.clone().requires_grad_(True)
    weights = None
    with torch.enable_grad():
        expected = torch_loss(loss)(leaf, target)
        if loss.reduction == "none":  # a gradient for each element's loss
            weights = torch.linspace(-1, 2, expected.numel(), dtype=expected.dtype)
            weights = weights.reshape(expected.shape)
            expected.backward(weights)
        else:
            expected.backward()
    value = loss(prediction, target)
    assert value.shape == expected.shape
    assert rel_error(value, expected.detach(), value_scale) <= TOLERANCE
    grad = loss.backward(weights)
    assert rel_error(grad, leaf.grad, grad_scale) <= TOLERANCE
    if loss.reduction == "none":
        with pytest.raises(ValueError, match=r"reduction='none'\) has one loss per element"):
            loss.value(prediction, target)
        return
    # value: forward's number as a float, and backward after it is the same
    assert loss.value(prediction, target) == value.item()
    assert torch.equal(loss.backward(weights), grad)


@pytest.mark.parametrize("make", LOSSES, ids=lambda m: repr(m("mean")))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 30), width=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_elementwise_losses_equal_torch(make, reduction, batch, width, seed):
    generator = torch.Generator().manual_seed(seed)
    prediction = torch.randn(batch, width, dtype=torch.float64, generator=generator) * 3
    target = torch.rand(batch, width, dtype=torch.float64, generator=generator)
    compare(make(reduction), prediction, target)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@settings(max_examples=20, deadline=None)
@given(
    batch=st.integers(1, 30),
    classes=st.integers(2, 6),
    scale=st.sampled_from([1.0, 100.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_cross_entropy_equals_torch(reduction, batch, classes, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, classes, dtype=torch.float64, generator=generator) * scale
    target = torch.randint(0, classes, (batch,), generator=generator)
    # a confident row's loss, logsumexp(x) − x_target, is the difference of terms as large as
    # the logits (and its gradient, p − 1, of terms near 1): measured against those
    rows = batch if reduction == "sum" else 1
    terms = logits.abs().max().item() * rows
    gradient_terms = 1.0 / batch if reduction == "mean" else 2.0  # "none": weights up to 2
    loss = minidl.CrossEntropyLoss(reduction=reduction)
    compare(loss, logits, target, terms, gradient_terms)


def test_losses_are_stable_for_huge_logits():
    ce = minidl.CrossEntropyLoss()
    assert torch.isfinite(ce(torch.tensor([[1e4, -1e4]]), torch.tensor([1])))
    bce = minidl.BCEWithLogitsLoss()
    assert torch.isfinite(bce(torch.tensor([[1e4, -1e4]]), torch.tensor([[0.0, 1.0]])))


def test_cross_entropy_wants_indices_or_probabilities():
    expected = r"class indices \(integers\) of shape \(3,\) or probabilities of shape \(3, 2\)"
    with pytest.raises(minidl.ShapeError, match=expected):
        minidl.CrossEntropyLoss()(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(minidl.ShapeError, match=expected):
        minidl.CrossEntropyLoss()(torch.zeros(3, 2), torch.zeros(3))
