"""Adam, AdamW, RMSprop, the schedulers and clipping follow torch.optim to 1e-12 (float64)."""

from __future__ import annotations

import pytest
import torch

import minidl
from minidl.reference import torch_optimizer
from tests.conftest import rel_error

SHAPES = [(6, 4), (6,), (3, 6)]

OPTIMIZERS = [
    (minidl.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (minidl.Adam, {"lr": 0.01}),
    (minidl.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}),
    (minidl.AdamW, {"lr": 0.01}),
    (minidl.AdamW, {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True, "eps": 1e-6}),
    (minidl.RMSprop, {"lr": 0.01}),
    (minidl.RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.05}),
]


def pairs(seed=0):
    generator = torch.Generator().manual_seed(seed)
    ours = [
        minidl.Parameter(torch.randn(s, dtype=torch.float64, generator=generator)) for s in SHAPES
    ]
    theirs = [torch.nn.Parameter(p.data.clone()) for p in ours]
    return generator, ours, theirs


@pytest.mark.parametrize(("kind", "settings"), OPTIMIZERS, ids=lambda x: str(x))
def test_optimizer_follows_torch_for_50_steps(kind, settings):
    generator, ours, theirs = pairs()
    optimizer = kind(ours, **settings)
    reference = torch_optimizer(optimizer, theirs)
    worst = 0.0
    for _ in range(50):
        grads = [torch.randn(s, dtype=torch.float64, generator=generator) for s in SHAPES]
        optimizer.zero_grad()
        for p, t, g in zip(ours, theirs, grads, strict=True):
            p.grad = g
            t.grad = g.clone()
        optimizer.step()
        reference.step()
        worst = max(
            worst, *(rel_error(p.data, t.detach()) for p, t in zip(ours, theirs, strict=True))
        )
    assert worst <= 1e-12


SCHEDULERS = [
    (minidl.StepLR, torch.optim.lr_scheduler.StepLR, {"step_size": 7, "gamma": 0.5}),
    (minidl.ExponentialLR, torch.optim.lr_scheduler.ExponentialLR, {"gamma": 0.93}),
    (
        minidl.CosineAnnealingLR,
        torch.optim.lr_scheduler.CosineAnnealingLR,
        {"T_max": 12, "eta_min": 0.001},
    ),
]


@pytest.mark.parametrize(("ours_kind", "theirs_kind", "settings"), SCHEDULERS, ids=lambda x: str(x))
def test_scheduler_learning_rates_equal_torch_for_50_steps(ours_kind, theirs_kind, settings):
    _, ours, theirs = pairs()
    optimizer = minidl.SGD(ours, lr=0.1)
    reference = torch.optim.SGD(theirs, lr=0.1)
    schedule = ours_kind(optimizer, **settings)
    reference_schedule = theirs_kind(reference, **settings)
    for _ in range(50):
        optimizer.step()
        reference.step()
        schedule.step()
        reference_schedule.step()
        assert abs(optimizer.lr - reference.param_groups[0]["lr"]) <= 1e-12 * 0.1


def test_a_scheduler_changes_the_steps_the_optimizer_takes():
    _, ours, _ = pairs()
    optimizer = minidl.SGD(ours, lr=1.0)
    schedule = minidl.StepLR(optimizer, step_size=1, gamma=0.5)
    for p in ours:
        p.grad = torch.ones_like(p.data)
    start = ours[1].data.clone()
    optimizer.step()
    schedule.step()
    optimizer.step()
    assert torch.allclose(ours[1].data, start - 1.5)


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_clip_grad_norm_equals_torch(max_norm):
    generator, ours, theirs = pairs(1)
    for p, t in zip(ours, theirs, strict=True):
        g = torch.randn(p.shape, dtype=torch.float64, generator=generator)
        p.grad = g
        t.grad = g.clone()
    norm = minidl.clip_grad_norm_(ours, max_norm)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert rel_error(norm, expected) <= 1e-12
    for p, t in zip(ours, theirs, strict=True):
        assert rel_error(p.grad, t.grad) <= 1e-12


def test_adam_state_dict_resumes_exactly():
    generator, first_params, _ = pairs(2)
    second_params = [minidl.Parameter(p.data.clone()) for p in first_params]
    first = minidl.Adam(first_params, lr=0.01, amsgrad=True)
    grads = [
        [torch.randn(s, dtype=torch.float64, generator=generator) for s in SHAPES] for _ in range(6)
    ]
    for step in grads[:3]:
        for p, g in zip(first_params, step, strict=True):
            p.grad = g
        first.step()
    second = minidl.Adam(second_params, lr=0.01, amsgrad=True)
    for p, q in zip(first_params, second_params, strict=True):
        q.data.copy_(p.data)
    second.load_state_dict(first.state_dict())
    for step in grads[3:]:
        for p, q, g in zip(first_params, second_params, step, strict=True):
            p.grad = g
            q.grad = g
        first.step()
        second.step()
    for p, q in zip(first_params, second_params, strict=True):
        assert torch.equal(p.data, q.data)


@pytest.mark.parametrize(("kind", "settings"), OPTIMIZERS, ids=lambda x: str(x))
def test_state_and_step_count_are_tensors_made_once_and_changed_in_place(kind, settings):
    """A step changes only existing tensors (a recorded step can be replayed)."""
    _, ours, _ = pairs()
    optimizer = kind(ours, **settings)
    steps = optimizer.steps
    state = {k: v for group in optimizer.groups for k, v in group.state.items()}
    assert state  # made with the optimizer, before any step
    for _ in range(3):
        for p in ours:
            p.grad = torch.ones_like(p.data)
        optimizer.step()
    assert optimizer.steps is steps and steps.dim() == 0 and optimizer.step_count == 3
    assert all(optimizer.groups[0].state[k] is v for k, v in state.items())
