from __future__ import annotations

import pytest
import torch

import minidl
from minidl.reference import torch_optimizer
from tests.conftest import rel_error

SETTINGS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.01},
    {"momentum": 0.5, "weight_decay": 0.1, "nesterov": True},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_sgd_follows_torch_optim_for_50_steps_of_the_same_gradients(settings):
    generator = torch.Generator().manual_seed(0)
    shapes = [(5, 3), (5,), (2, 5)]
    ours = [
        minidl.Parameter(torch.randn(s, dtype=torch.float64, generator=generator)) for s in shapes
    ]
    theirs = [torch.nn.Parameter(p.data.clone()) for p in ours]
    optimizer = minidl.SGD(ours, lr=0.05, **settings)
    reference = torch_optimizer(optimizer, theirs)
    for _ in range(50):
        grads = [torch.randn(s, dtype=torch.float64, generator=generator) for s in shapes]
        optimizer.zero_grad()
        for p, t, g in zip(ours, theirs, grads, strict=True):
            p.grad = g
            t.grad = g.clone()
        optimizer.step()
        reference.step()
    for p, t in zip(ours, theirs, strict=True):
        assert rel_error(p.data, t.detach()) <= 1e-12


def test_invalid_hyperparameters_are_refused():
    params = [minidl.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match=r"Invalid learning rate: -0\.1"):
        minidl.SGD(params, lr=-0.1)
    with pytest.raises(ValueError, match=r"Invalid learning rate: nan"):
        minidl.SGD(params, lr=float("nan"))
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        minidl.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        minidl.SGD([], lr=0.1)


def test_state_dict_round_trip_resumes_momentum_exactly():
    generator = torch.Generator().manual_seed(1)
    a = [minidl.Parameter(torch.randn(4, generator=generator))]
    b = [minidl.Parameter(a[0].data.clone())]
    first = minidl.SGD(a, lr=0.1, momentum=0.9)
    grads = [torch.randn(4, generator=generator) for _ in range(6)]
    for g in grads[:3]:
        a[0].grad = g
        first.step()
    second = minidl.SGD(b, lr=0.1, momentum=0.9)
    b[0].data.copy_(a[0].data)
    second.load_state_dict(first.state_dict())
    for g in grads[3:]:
        a[0].grad = g
        b[0].grad = g
        first.step()
        second.step()
    assert torch.equal(a[0].data, b[0].data)


def test_state_dict_of_another_shape_is_refused():
    opt = minidl.SGD([minidl.Parameter(torch.zeros(3))], lr=0.1, momentum=0.9)
    state = minidl.SGD([minidl.Parameter(torch.zeros(4))], lr=0.1, momentum=0.9)
    state.params[0].grad = torch.ones(4)
    state.step()
    with pytest.raises(minidl.StateDictError, match=r"key 'momentum_buffer': got \(4,\)"):
        opt.load_state_dict(state.state_dict())
