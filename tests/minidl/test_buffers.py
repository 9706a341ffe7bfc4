"""Flat parameter buffers, inference mode and chains of activations keep PyTorch's numbers."""

from __future__ import annotations

import torch

import minidl
from minidl.reference import torch_twin
from tests.conftest import TOLERANCE, autograd_grads, rel_error


def mlp(*layers):
    return minidl.Sequential(*layers).double()


def test_activations_after_activations_keep_the_outputs_their_backward_reads():
    generator = torch.Generator().manual_seed(0)
    model = mlp(
        minidl.Linear(3, 6, generator=generator),
        minidl.ReLU(),
        minidl.Tanh(),  # must not overwrite the ReLU output its backward needs
        minidl.Sigmoid(),
        minidl.Linear(6, 2, generator=generator),
    )
    x = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    g = torch.randn(5, 2, dtype=torch.float64, generator=generator)
    out, grad_x, grads = autograd_grads(torch_twin(model), x, g)
    model.zero_grad()
    assert rel_error(model(x), out) <= TOLERANCE
    assert rel_error(model.backward(g), grad_x) <= TOLERANCE
    for name, p in model.named_parameters():
        assert rel_error(p.grad, grads[name]) <= TOLERANCE


def test_the_user_input_is_never_modified():
    model = mlp(minidl.ReLU(), minidl.Linear(3, 2))
    x = torch.randn(4, 3, dtype=torch.float64)
    before = x.clone()
    model(x)
    assert torch.equal(x, before)


def test_optimizer_views_parameters_into_one_flat_buffer_and_keeps_values():
    model = mlp(minidl.Linear(2, 4), minidl.Tanh(), minidl.Linear(4, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = minidl.SGD(model.parameters(), lr=0.1)
    (group,) = optimizer.groups
    assert group.data.numel() == model.num_parameters()
    for p in model.parameters():
        assert p.data.untyped_storage().data_ptr() == group.data.untyped_storage().data_ptr()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def test_a_parameter_without_gradient_this_step_is_not_moved_by_stale_values():
    used, unused = minidl.Linear(2, 2).double(), minidl.Linear(2, 2).double()
    optimizer = minidl.SGD(used.parameters() + unused.parameters(), lr=1.0)
    for layer in (used, unused):
        layer(torch.ones(1, 2, dtype=torch.float64))
        layer.backward(torch.ones(1, 2, dtype=torch.float64))
    optimizer.step()
    frozen = unused.weight.data.clone()
    optimizer.zero_grad()
    used(torch.ones(1, 2, dtype=torch.float64))
    used.backward(torch.ones(1, 2, dtype=torch.float64))  # unused gets no gradient this time
    optimizer.step()
    assert torch.equal(unused.weight.data, frozen)


def test_moving_the_model_after_creating_the_optimizer_still_trains_it():
    model = mlp(minidl.Linear(2, 2))
    optimizer = minidl.SGD(model.parameters(), lr=0.5)
    model.to(dtype=torch.float32)
    model(torch.ones(1, 2))
    model.backward(torch.ones(1, 2))
    before = model[0].weight.data.clone()
    optimizer.step()
    assert model[0].weight.data.dtype == torch.float32
    assert torch.allclose(model[0].weight.data, before - 0.5)


def test_two_optimizers_over_the_same_parameters_both_update_them():
    layer = minidl.Linear(2, 2).double()
    first = minidl.SGD(layer.parameters(), lr=1.0)
    second = minidl.SGD(layer.parameters(), lr=1.0)
    start = layer.weight.data.clone()
    for optimizer in (first, second):
        optimizer.zero_grad()
        layer(torch.ones(1, 2, dtype=torch.float64))
        layer.backward(torch.ones(1, 2, dtype=torch.float64))
        optimizer.step()
    assert torch.equal(layer.weight.data, start - 2)


def test_a_model_trained_under_inference_mode_still_works_outside_it():
    generator = torch.Generator().manual_seed(0)
    model = minidl.Sequential(
        minidl.Linear(2, 8, generator=generator),
        minidl.ReLU(),
        minidl.Linear(8, 2, generator=generator),
    )
    loss = minidl.MSELoss()
    optimizer = minidl.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, t = torch.rand(16, 2), torch.rand(16, 2)

    def step():
        value = loss(model(x), t)
        optimizer.zero_grad()
        model.backward(loss.backward())
        optimizer.step()
        return value.item()

    with torch.inference_mode():
        inside = [step() for _ in range(3)]
    outside = [step() for _ in range(3)]  # state made inside is made of normal tensors
    assert inside[0] > outside[-1]
    assert all(not p.data.is_inference() for p in model.parameters())


def test_batchnorm_in_a_chain_equals_autograd_and_leaves_the_input_alone():
    generator = torch.Generator().manual_seed(1)
    model = mlp(
        minidl.BatchNorm1d(3),  # first: its input is the caller's
        minidl.Linear(3, 4, generator=generator),
        minidl.BatchNorm1d(4),
        minidl.ReLU(),
        minidl.Linear(4, 2, generator=generator),
    )
    x = torch.randn(6, 3, dtype=torch.float64, generator=generator)
    g = torch.randn(6, 2, dtype=torch.float64, generator=generator)
    before = x.clone()
    out, grad_x, grads = autograd_grads(torch_twin(model), x, g)
    model.zero_grad()
    assert rel_error(model(x), out) <= TOLERANCE
    assert torch.equal(x, before)
    assert rel_error(model.backward(g), grad_x) <= TOLERANCE
    for name, p in model.named_parameters():
        # the biases in front of a BatchNorm get zero by cancellation: measured against 1
        assert rel_error(p.grad, grads[name], scale=1.0) <= TOLERANCE, name
