from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl.reference import torch_twin
from tests.conftest import TOLERANCE, autograd_grads, rel_error


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 40),
    in_features=st.integers(1, 30),
    out_features=st.integers(1, 30),
    bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_linear_grads_equal_autograd_in_float64(batch, in_features, out_features, bias, seed):
    generator = torch.Generator().manual_seed(seed)
    layer = minidl.Linear(in_features, out_features, bias=bias, generator=generator).double()
    x = torch.randn(batch, in_features, dtype=torch.float64, generator=generator)
    grad_output = torch.randn(batch, out_features, dtype=torch.float64, generator=generator)

    out, grad_x, grads = autograd_grads(torch_twin(layer), x, grad_output)
    layer.zero_grad()
    assert rel_error(layer(x), out) <= TOLERANCE
    assert rel_error(layer.backward(grad_output), grad_x) <= TOLERANCE
    assert rel_error(layer.weight.grad, grads["weight"]) <= TOLERANCE
    if bias:
        assert rel_error(layer.bias.grad, grads["bias"]) <= TOLERANCE
    else:
        assert layer.bias is None and "bias" not in grads


@pytest.mark.parametrize(
    ("rows", "in_features", "out_features"),
    [(200, 2, 25), (64, 8, 512), (32, 2, 25), (300, 16, 25)],
)
def test_weight_and_bias_gradients_equal_autograd_and_accumulate(rows, in_features, out_features):
    """From few inputs and many rows to many inputs and few rows."""
    generator = torch.Generator().manual_seed(rows)
    layer = minidl.Linear(in_features, out_features, generator=generator).double()
    x = torch.randn(rows, in_features, dtype=torch.float64, generator=generator)
    grad_output = torch.randn(rows, out_features, dtype=torch.float64, generator=generator)
    _, _, grads = autograd_grads(torch_twin(layer), x, grad_output)
    layer(x)
    layer.backward(grad_output)
    assert rel_error(layer.weight.grad, grads["weight"]) <= TOLERANCE
    layer(x)
    layer.backward(grad_output)  # no zero_grad: it adds
    assert rel_error(layer.weight.grad, 2 * grads["weight"]) <= TOLERANCE
    assert rel_error(layer.bias.grad, 2 * grads["bias"]) <= TOLERANCE


def test_linear_takes_any_leading_dimensions_like_torch():
    layer = minidl.Linear(4, 3).double()
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    grad_output = torch.randn(2, 5, 3, dtype=torch.float64)
    out, grad_x, grads = autograd_grads(torch_twin(layer), x, grad_output)
    assert layer(x).shape == (2, 5, 3)
    assert rel_error(layer(x), out) <= TOLERANCE
    layer.zero_grad()
    assert rel_error(layer.backward(grad_output), grad_x) <= TOLERANCE
    assert rel_error(layer.weight.grad, grads["weight"]) <= TOLERANCE


def test_default_init_draws_exactly_what_torch_nn_linear_draws():
    torch.manual_seed(1234)
    reference = torch.nn.Linear(25, 7)
    torch.manual_seed(1234)
    layer = minidl.Linear(25, 7)
    assert torch.equal(layer.weight.data, reference.weight.detach())
    assert torch.equal(layer.bias.data, reference.bias.detach())
    assert layer.weight.dtype == torch.get_default_dtype()


def test_default_init_has_torch_bounds_and_is_seeded_by_a_generator():
    a = minidl.Linear(400, 300, generator=torch.Generator().manual_seed(3))
    b = minidl.Linear(400, 300, generator=torch.Generator().manual_seed(3))
    c = minidl.Linear(400, 300, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a.weight.data, b.weight.data)
    assert not torch.equal(a.weight.data, c.weight.data)
    bound = 1 / math.sqrt(400)
    assert a.weight.data.abs().max() <= bound
    assert a.bias.data.abs().max() <= bound
    # U(-b, b) has standard deviation b / sqrt(3)
    assert a.weight.data.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [
        ("xavier_uniform", math.sqrt(2 / (400 + 300))),
        ("xavier_normal", math.sqrt(2 / (400 + 300))),
        ("kaiming_normal", math.sqrt(2 / 400)),
        ("kaiming_uniform", math.sqrt(2 / 400)),
        ("normal", 1 / math.sqrt(400)),
    ],
)
def test_other_inits_have_their_documented_spread_and_zero_bias(init, expected_std):
    layer = minidl.Linear(400, 300, init=init, generator=torch.Generator().manual_seed(0))
    assert layer.weight.data.std().item() == pytest.approx(expected_std, rel=0.02)
    assert torch.count_nonzero(layer.bias.data) == 0


def test_bad_arguments_are_refused_with_their_name():
    with pytest.raises(ValueError, match="out_features must be a positive integer, got 0"):
        minidl.Linear(2, 0)
    with pytest.raises(ValueError, match="unknown init 'he'"):
        minidl.Linear(2, 3, init="he")


def test_wrong_input_width_names_the_expected_shape():
    layer = minidl.Linear(25, 25)
    with pytest.raises(minidl.ShapeError, match=r"expects input \(\*, 25\), got \(32, 30\)"):
        layer(torch.zeros(32, 30))


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        minidl.Linear(2, 3).backward(torch.zeros(1, 3))


def test_works_in_float32_and_float64():
    for dtype in (torch.float32, torch.float64):
        layer = minidl.Linear(3, 2).to(dtype=dtype)
        out = layer(torch.ones(4, 3, dtype=dtype))
        grad = layer.backward(torch.ones_like(out))
        assert out.dtype == grad.dtype == layer.weight.grad.dtype == dtype


def test_repr_reads_like_torch():
    assert repr(minidl.Linear(2, 25)) == "Linear(in_features=2, out_features=25, bias=True)"
    assert minidl.Linear(25, 25).describe() == "Linear(25→25)"


@pytest.mark.parametrize("bias", [True, False])
def test_the_same_input_tensor_again_follows_new_weights_and_modes(bias):
    """The same input again sees parameters rebound into an optimizer's flat buffer,
    updated values and eval mode."""
    layer = minidl.Linear(3, 2, bias=bias).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    twin = torch.nn.Linear(3, 2, bias=bias).double()

    def expected() -> torch.Tensor:
        twin.load_state_dict(layer.state_dict())
        with torch.no_grad():
            return twin(x)

    first = layer(x).clone()
    assert torch.equal(first, expected())
    optimizer = minidl.SGD(layer.parameters(), lr=0.5)  # rebinds the parameters
    layer.weight.data.add_(1.0)
    assert torch.equal(layer(x), expected())
    layer.backward(torch.ones(4, 2, dtype=torch.float64))
    optimizer.step()
    training_out = layer(x)
    assert torch.equal(training_out, expected())
    layer.eval()
    eval_out = layer(x)
    assert eval_out is not training_out and torch.equal(eval_out, expected())


def test_every_input_is_checked_and_any_batch_size_works():
    layer = minidl.Linear(3, 2).double()
    for _ in range(2):
        layer(torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(minidl.ShapeError, match=r"got \(4, 5\)"):
        layer(torch.zeros(4, 5, dtype=torch.float64))
    with pytest.raises(minidl.ShapeError, match=r"got \(4, 3, 1\)"):
        layer(torch.zeros(4, 3, 1, dtype=torch.float64))
    x = torch.randn(6, 3, dtype=torch.float64)
    expected = x @ layer.weight.data.T + layer.bias.data
    assert torch.equal(layer(x), expected)
    grad_input = layer.backward(torch.ones(6, 2, dtype=torch.float64))
    assert torch.equal(grad_input, torch.ones(6, 2, dtype=torch.float64) @ layer.weight.data)


def test_every_gradient_is_checked_and_gradients_accumulate():
    layer = minidl.Linear(3, 2).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    g = torch.randn(4, 2, dtype=torch.float64)
    for _ in range(2):
        layer(x)
        grad_input = layer.backward(g)
    assert torch.equal(grad_input, g @ layer.weight.data)
    assert torch.allclose(layer.weight.grad, 2 * g.T @ x, rtol=1e-15, atol=0)
    assert torch.allclose(layer.bias.grad, 2 * g.sum(0), rtol=1e-15, atol=0)
    with pytest.raises(minidl.ShapeError, match=r"forward batch of 4, got \(5, 2\)"):
        layer.backward(torch.zeros(5, 2, dtype=torch.float64))
    with pytest.raises(minidl.ShapeError, match=r"forward batch of 4, got \(4, 3\)"):
        layer.backward(torch.zeros(4, 3, dtype=torch.float64))
    layer.zero_grad()
    layer(x.reshape(2, 2, 3))
    layer.backward(g.reshape(2, 2, 2))  # leading dimensions, as forward took
    assert torch.allclose(layer.weight.grad, g.T @ x, rtol=1e-15, atol=0)
