from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from tests.conftest import TOLERANCE, rel_error


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 50), width=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_mse_value_and_gradient_equal_torch(reduction, batch, width, seed):
    generator = torch.Generator().manual_seed(seed)
    prediction = torch.randn(batch, width, dtype=torch.float64, generator=generator)
    target = torch.randn(batch, width, dtype=torch.float64, generator=generator)
    leaf = prediction.clone().requires_grad_(True)
    with torch.enable_grad():
        expected = torch.nn.MSELoss(reduction=reduction)(leaf, target)
        expected.backward()
    loss = minidl.MSELoss(reduction=reduction)
    value = loss(prediction, target)
    assert value.shape == ()
    assert rel_error(value, expected.detach()) <= TOLERANCE
    assert rel_error(loss.backward(), leaf.grad) <= TOLERANCE


def test_mean_divides_by_all_elements_as_torch_does():
    # two output columns: the mean is over 2·N elements, not N rows
    prediction = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    target = torch.zeros(2, 2)
    loss = minidl.MSELoss()
    assert loss(prediction, target).item() == 0.25
    assert loss.backward().tolist() == [[0.5, 0.0], [0.0, 0.0]]


def test_backward_scales_by_grad_output():
    loss = minidl.MSELoss()
    loss(torch.ones(2, 2), torch.zeros(2, 2))
    scaled = loss.backward(3.0)
    assert torch.equal(scaled, loss.backward() * 3)


def test_shapes_must_match_and_reduction_must_exist():
    with pytest.raises(minidl.ShapeError, match=r"got \(4, 2\) and \(4,\)"):
        minidl.MSELoss()(torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        minidl.MSELoss(reduction="avg")


def test_the_same_prediction_tensor_with_a_target_of_another_shape_is_refused():
    """The target is checked at every call, also with the last call's prediction."""
    loss = minidl.MSELoss()
    prediction = torch.zeros(4, 2)
    assert loss(prediction, torch.ones(4, 2)).item() == 1.0
    with pytest.raises(minidl.ShapeError, match=r"got \(4, 2\) and \(4, 3\)"):
        loss(prediction, torch.ones(4, 3))
    assert loss(torch.zeros(3, 2), torch.full((3, 2), 2.0)).item() == 4.0
    assert loss(prediction, torch.full((4, 2), 3.0)).item() == 9.0


def test_forward_returns_a_fresh_tensor_and_value_the_same_number_as_a_float():
    """Losses kept from earlier steps keep their values."""
    loss = minidl.MSELoss()
    prediction = torch.zeros(3, 2)
    kept = [loss(prediction, torch.full((3, 2), float(k))) for k in (1, 2)]
    assert [k.item() for k in kept] == [1.0, 4.0]
    assert loss.value(prediction, torch.full((3, 2), 3.0)) == 9.0
    assert [k.item() for k in kept] == [1.0, 4.0]
    assert loss.backward().tolist() == [[-1.0, -1.0]] * 3  # 2·(0 − 3) / 6
    assert minidl.MSELoss(reduction="sum").value(prediction, torch.ones(3, 2)) == 6.0


def test_value_checks_the_target_as_forward_does():
    loss = minidl.MSELoss()
    prediction = torch.zeros(4, 2)
    assert loss.value(prediction, torch.ones(4, 2)) == 1.0
    with pytest.raises(minidl.ShapeError, match=r"got \(4, 2\) and \(4, 3\)"):
        loss.value(prediction, torch.ones(4, 3))  # the prediction of the last call
    empty = torch.zeros(0, 2)  # the mean of no element is nan, as torch's
    assert math.isnan(loss.value(empty, empty))
    assert math.isnan(torch.nn.MSELoss()(empty, empty).item())


def test_a_subclass_that_changes_forward_gets_the_value_of_its_forward():
    class HalfMSE(minidl.MSELoss):
        def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return super().forward(prediction, target) / 2

    assert HalfMSE().value(torch.zeros(1, 2), torch.ones(1, 2)) == 0.5
    assert minidl.MSELoss().value(torch.zeros(1, 2), torch.ones(1, 2)) == 1.0
