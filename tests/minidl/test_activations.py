from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl.reference import torch_twin
from tests.conftest import TOLERANCE, autograd_grads, rel_error

ACTIVATIONS = [minidl.ReLU, minidl.Tanh, minidl.Sigmoid, minidl.SiLU]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: a.__name__)
@settings(max_examples=20, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    scale=st.sampled_from([0.1, 1.0, 10.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_activation_matches_autograd_in_float64(activation, shape, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, dtype=torch.float64, generator=generator) * scale
    grad_output = torch.randn(*shape, dtype=torch.float64, generator=generator)
    module = activation()
    out, grad_x, _ = autograd_grads(torch_twin(module), x, grad_output)
    assert rel_error(module(x), out) <= TOLERANCE
    assert rel_error(module.backward(grad_output), grad_x) <= TOLERANCE


def test_relu_gradient_is_zero_for_negative_inputs_and_passes_positive_ones():
    relu = minidl.ReLU()
    relu(torch.tensor([-2.0, -0.5, 0.5, 3.0]))
    assert relu.backward(torch.ones(4)).tolist() == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = torch.tensor([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=dtype)
    sigmoid = minidl.Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sigmoid(x)
        grad = sigmoid.backward(torch.ones_like(x))
    assert torch.isfinite(out).all() and torch.isfinite(grad).all()
    assert out[0] == 0 and out[-1] == 1 and out[3] == 0.5
    assert (grad >= 0).all() and grad[3] == 0.25


def test_tanh_saturates_without_nan():
    tanh = minidl.Tanh()
    out = tanh(torch.tensor([-1e6, 1e6]))
    assert out.tolist() == [-1.0, 1.0]
    assert tanh.backward(torch.ones(2)).tolist() == [0.0, 0.0]


def test_backward_checks_the_gradient_shape():
    relu = minidl.ReLU()
    relu(torch.zeros(3, 4))
    with pytest.raises(minidl.ShapeError, match=r"grad_output \(3, 5\) does not match"):
        relu.backward(torch.zeros(3, 5))


def test_silu_is_x_times_sigmoid_and_its_gradient_is_autograds():
    x = torch.linspace(-30, 30, 61, dtype=torch.float64)
    silu = minidl.SiLU()
    assert torch.equal(silu(x), x * torch.sigmoid(x))
    leaf = x.clone().requires_grad_()
    with torch.enable_grad():
        torch.nn.functional.silu(leaf).backward(torch.ones_like(x))
    assert rel_error(silu.backward(torch.ones_like(x)), leaf.grad) <= TOLERANCE
    assert repr(minidl.Sequential(minidl.SiLU())) == "Sequential(\n  (0): SiLU()\n)"
