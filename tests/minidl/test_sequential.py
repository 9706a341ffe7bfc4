from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl.reference import torch_twin
from tests.conftest import TOLERANCE, autograd_grads, rel_error

ACTIVATIONS = [minidl.ReLU, minidl.Tanh, minidl.Sigmoid]


def deep_network(activation, widths, generator):
    layers = []
    for index, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers.append(minidl.Linear(n_in, n_out, generator=generator))
        if index < len(widths) - 2:
            layers.append(activation())
    return minidl.Sequential(*layers).double()


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: a.__name__)
@settings(max_examples=15, deadline=None)
@given(
    batch=st.sampled_from([1, 2, 7, 32, 100]),
    hidden=st.lists(st.integers(1, 30), min_size=3, max_size=5),
    seed=st.integers(0, 2**31 - 1),
)
def test_deep_network_grads_equal_autograd(activation, batch, hidden, seed):
    generator = torch.Generator().manual_seed(seed)
    widths = [2, *hidden, 2]
    model = deep_network(activation, widths, generator)
    x = torch.rand(batch, 2, dtype=torch.float64, generator=generator)
    grad_output = torch.randn(batch, 2, dtype=torch.float64, generator=generator)
    twin = torch_twin(model)
    out, grad_x, grads = autograd_grads(twin, x, grad_output)

    model.zero_grad()
    assert rel_error(model(x), out) <= TOLERANCE
    assert rel_error(model.backward(grad_output), grad_x) <= TOLERANCE
    for name, parameter in model.named_parameters():
        assert rel_error(parameter.grad, grads[name]) <= TOLERANCE, name


def test_full_step_with_mse_matches_autograd_on_the_classic_network():
    generator = torch.Generator().manual_seed(0)
    model = minidl.Sequential(
        minidl.Linear(2, 25, generator=generator),
        minidl.ReLU(),
        minidl.Linear(25, 25, generator=generator),
        minidl.ReLU(),
        minidl.Linear(25, 25, generator=generator),
        minidl.ReLU(),
        minidl.Linear(25, 2, generator=generator),
        minidl.Sigmoid(),
    ).double()
    twin = torch_twin(model)
    x = torch.rand(32, 2, dtype=torch.float64, generator=generator)
    target = torch.rand(32, 2, dtype=torch.float64, generator=generator)
    with torch.enable_grad():
        expected = torch.nn.MSELoss()(twin(x), target)
        expected.backward()
    loss = minidl.MSELoss()
    value = loss(model(x), target)
    model.zero_grad()
    model.backward(loss.backward())
    assert rel_error(value, expected.detach()) <= TOLERANCE
    twin_grads = dict(twin.named_parameters())
    for name, parameter in model.named_parameters():
        assert rel_error(parameter.grad, twin_grads[name].grad) <= TOLERANCE, name


def test_shape_error_names_the_layer_index_and_kind():
    model = minidl.Sequential(
        minidl.Linear(2, 25), minidl.ReLU(), minidl.Linear(25, 25), minidl.ReLU()
    )
    bad = minidl.Sequential(minidl.Linear(2, 30), minidl.ReLU(), minidl.Linear(25, 25))
    with pytest.raises(
        minidl.ShapeError,
        match=r"^layer 2 Linear\(25→25\) expects input \(\*, 25\), got \(32, 30\)$",
    ):
        bad(torch.zeros(32, 2))
    with pytest.raises(minidl.ShapeError, match=r"^layer 0 Linear\(2→25\)"):
        model(torch.zeros(4, 3))


def test_container_protocol():
    first, act, last = minidl.Linear(2, 3), minidl.Tanh(), minidl.Linear(3, 2)
    model = minidl.Sequential(first, act)
    model.append(last)
    assert len(model) == 3
    assert model[0] is first and model[-1] is last
    assert list(model) == [first, act, last]
    head = model[:2]
    assert isinstance(head, minidl.Sequential) and list(head) == [first, act]
    assert model.parameters() == [first.weight, first.bias, last.weight, last.bias]
    with pytest.raises(TypeError, match="argument 1 is Linear"):
        minidl.Sequential(minidl.ReLU(), torch.nn.Linear(2, 2))


def test_state_dict_keys_and_shapes_equal_torch_nn_and_load_both_ways():
    model = minidl.Sequential(minidl.Linear(2, 25), minidl.ReLU(), minidl.Linear(25, 2))
    reference = torch.nn.Sequential(torch.nn.Linear(2, 25), torch.nn.ReLU(), torch.nn.Linear(25, 2))
    ours, theirs = model.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [v.shape for v in ours.values()] == [v.shape for v in theirs.values()]

    model.load_state_dict(theirs)  # PyTorch -> minidl
    x = torch.rand(5, 2)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))

    other = minidl.Sequential(minidl.Linear(2, 25), minidl.ReLU(), minidl.Linear(25, 2))
    fresh = torch.nn.Sequential(torch.nn.Linear(2, 25), torch.nn.ReLU(), torch.nn.Linear(25, 2))
    fresh.load_state_dict(other.state_dict())  # minidl -> PyTorch
    with torch.no_grad():
        assert torch.equal(fresh(x), other(x))


def test_repr_lists_the_layers_like_torch():
    model = minidl.Sequential(minidl.Linear(2, 3), minidl.ReLU())
    assert repr(model) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n)"
    )


def test_a_second_backward_after_one_forward_adds_the_same_gradients_again():
    """As PyTorch's backward with retain_graph=True: forward kept what backward reads."""
    generator = torch.Generator().manual_seed(0)
    model = deep_network(minidl.ReLU, [2, 5, 5, 1], generator)
    x = torch.rand(4, 2, dtype=torch.float64, generator=generator)
    g = torch.ones(4, 1, dtype=torch.float64)
    model(x)
    grad_x = model.backward(g)
    grads = [p.grad.clone() for p in model.parameters()]
    assert torch.equal(model.backward(g), grad_x)
    for p, old in zip(model.parameters(), grads, strict=True):
        assert rel_error(p.grad, 2 * old) <= TOLERANCE


def test_backward_never_overwrites_the_output_the_caller_holds():
    generator = torch.Generator().manual_seed(1)
    model = minidl.Sequential(
        minidl.Linear(2, 6, generator=generator),
        minidl.Tanh(),
        minidl.Linear(6, 3, generator=generator),
        minidl.ReLU(),
    ).double()
    x = torch.rand(8, 2, dtype=torch.float64, generator=generator)
    g = torch.randn(8, 3, dtype=torch.float64, generator=generator)
    out, grad_x, grads = autograd_grads(torch_twin(model), x, g)
    prediction = model(x)
    assert rel_error(prediction, out) <= TOLERANCE
    kept = prediction.clone()
    assert rel_error(model.backward(g), grad_x) <= TOLERANCE
    assert torch.equal(prediction, kept)
    for name, parameter in model.named_parameters():
        assert rel_error(parameter.grad, grads[name]) <= TOLERANCE, name


def test_backward_never_overwrites_the_gradient_the_caller_passes_in():
    generator = torch.Generator().manual_seed(3)
    model = deep_network(minidl.Sigmoid, [2, 6, 4], generator)  # Linear, Sigmoid, Linear
    model.append(minidl.Sigmoid()).append(minidl.Identity())
    x = torch.rand(8, 2, dtype=torch.float64, generator=generator)
    g = torch.randn(8, 4, dtype=torch.float64, generator=generator)
    kept = g.clone()
    out, grad_x, grads = autograd_grads(torch_twin(model), x, g)
    for _ in range(2):
        model.zero_grad()
        assert rel_error(model(x), out) <= TOLERANCE
        assert rel_error(model.backward(g), grad_x) <= TOLERANCE
        assert torch.equal(g, kept)  # Identity hands the caller's g to the last Sigmoid
        for name, parameter in model.named_parameters():
            assert rel_error(parameter.grad, grads[name]) <= TOLERANCE, name


def test_a_deep_network_stays_exact_step_after_step():
    generator = torch.Generator().manual_seed(2)
    model = deep_network(minidl.ReLU, [2, 6, 6, 6, 6, 2], generator)
    x = torch.rand(9, 2, dtype=torch.float64, generator=generator)
    g = torch.randn(9, 2, dtype=torch.float64, generator=generator)
    out, grad_x, grads = autograd_grads(torch_twin(model), x, g)
    for _ in range(2):
        model.zero_grad()
        assert rel_error(model(x), out) <= TOLERANCE
        assert rel_error(model.backward(g), grad_x) <= TOLERANCE
        for name, parameter in model.named_parameters():
            assert rel_error(parameter.grad, grads[name]) <= TOLERANCE, name


def test_errors_from_nested_chains_and_deep_in_a_layer_name_the_right_layers():
    inner = minidl.Sequential(minidl.Linear(4, 4), minidl.ReLU())
    model = minidl.Sequential(minidl.Linear(2, 3), minidl.Tanh(), inner, minidl.Linear(4, 1))
    with pytest.raises(
        minidl.ShapeError,
        match=r"^layer 2 Sequential\(2 layers\) layer 0 Linear\(4→4\) expects input \(\*, 4\)",
    ):
        model(torch.zeros(5, 2))
    model = minidl.Sequential(minidl.Linear(2, 3), minidl.Tanh(), minidl.Linear(3, 1))
    model(torch.zeros(5, 2))
    with pytest.raises(minidl.ShapeError, match=r"^layer 2 Linear\(3→1\) expects grad_output"):
        model.backward(torch.zeros(5, 2))
    model.backward(torch.zeros(5, 1))  # the refusal spent nothing
