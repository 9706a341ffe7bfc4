"""Per-layer health against autograd: the PyTorch twin, same weights, same batch, hooks."""

from __future__ import annotations

import math

import pytest
import torch

import minidl
from minidl.health import (
    DEAD_FRACTION,
    VANISHING_RATIO,
    LayerStatsComputed,
    observed_step,
)
from minidl.reference import torch_loss, torch_optimizer, torch_twin

DT = torch.float64


def model_and_batch(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    model = minidl.Sequential(
        minidl.Linear(2, 6, generator=generator, dtype=DT),
        minidl.ReLU(),
        minidl.Linear(6, 5, generator=generator, dtype=DT),
        minidl.Tanh(),
        minidl.Linear(5, 4, generator=generator, dtype=DT),
        minidl.BatchNorm1d(4, dtype=DT),
        minidl.Sigmoid(),
        minidl.Linear(4, 2, generator=generator, dtype=DT),
    )
    # large weights in the Tanh and Sigmoid layers' inputs, so some outputs saturate
    model[2].weight.data.mul_(30.0)
    model[0].bias.data[0] = -100.0  # one dead ReLU unit
    model[5].weight.data.fill_(4.0)
    x = torch.rand(16, 2, generator=generator, dtype=DT) * 4 - 2
    target = torch.rand(16, 2, generator=generator, dtype=DT)
    return model, x, target


def autograd_health(twin: torch.nn.Sequential, loss, optimizer, x, target):
    """The same statistics, computed with torch.nn, autograd and hooks."""
    inputs, outputs = [], []

    def keep_input(module, args):
        args[0].retain_grad()
        inputs.append(args[0])

    def keep_output(module, args, output):
        outputs.append(output.detach().clone())

    handles = []
    for child in twin:
        handles.append(child.register_forward_pre_hook(keep_input))
        handles.append(child.register_forward_hook(keep_output))
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        optimizer.zero_grad()
        value = loss(twin(x), target)
        value.backward()
    for handle in handles:
        handle.remove()
    weights = [getattr(child, "weight", None) for child in twin]
    grads = [None if w is None else w.grad.norm().item() for w in weights]
    before = [None if w is None else w.detach().clone() for w in weights]
    optimizer.step()
    rows = []
    for index, child in enumerate(twin):
        out = outputs[index]
        row = {
            "activation_mean": out.mean().item(),
            "activation_std": out.std(correction=0).item(),
            "grad_input_norm": inputs[index].grad.norm().item(),
            "grad_weight_norm": grads[index],
            "update_ratio": None
            if before[index] is None
            else ((weights[index].detach() - before[index]).norm() / before[index].norm()).item(),
            "dead_fraction": None,
            "saturated_fraction": None,
        }
        if isinstance(child, torch.nn.ReLU):
            row["dead_fraction"] = (out == 0).all(dim=0).double().mean().item()
        if isinstance(child, torch.nn.Tanh):
            row["saturated_fraction"] = (out.abs() > 0.99).double().mean().item()
        if isinstance(child, torch.nn.Sigmoid):
            row["saturated_fraction"] = ((out < 0.01) | (out > 0.99)).double().mean().item()
        rows.append(row)
    return value.item(), rows


# Adam divides by √v: on near-zero gradients it magnifies the last bit of a difference,
# so its twin stays bit-close for one step only; SGD with momentum for three
@pytest.mark.parametrize(("optimizer_name", "steps"), [("SGD", 3), ("Adam", 1)])
def test_statistics_equal_autograd_hooks_on_the_twin(optimizer_name, steps):
    model, x, target = model_and_batch()
    twin = torch_twin(model)
    loss = minidl.MSELoss()
    if optimizer_name == "SGD":
        optimizer = minidl.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        optimizer = minidl.Adam(model.parameters(), lr=0.01)
    twin_optimizer = torch_optimizer(optimizer, twin.parameters())
    twin_loss = torch_loss(loss)
    for _ in range(steps):
        value, stats = observed_step(model, loss, optimizer, x, target)
        expected_value, expected = autograd_health(twin, twin_loss, twin_optimizer, x, target)
        assert value == pytest.approx(expected_value, rel=1e-12)
        assert stats is not None and len(stats) == len(expected)
        for ours, theirs in zip(stats, expected, strict=True):
            for name, value_expected in theirs.items():
                actual = getattr(ours, name)
                if value_expected is None:
                    assert actual is None, (ours.layer, name)
                else:
                    assert actual == pytest.approx(value_expected, rel=1e-10, abs=1e-14), (
                        ours.index,
                        ours.layer,
                        name,
                    )
    relu, tanh, sigmoid = stats[1], stats[3], stats[6]
    assert relu.dead_fraction == pytest.approx(1 / 6) and tanh.saturated_fraction > 0
    assert sigmoid.saturated_fraction > 0
    # gradient ratio: against the last weight matrix (layer 7); BatchNorm's γ is not a matrix
    last = stats[7].grad_weight_norm
    assert stats[7].gradient_ratio == 1.0
    assert stats[0].gradient_ratio == pytest.approx(stats[0].grad_weight_norm / last)
    assert stats[5].gradient_ratio is None and stats[5].grad_weight_norm is not None


def test_a_relu_layer_dead_on_the_batch_is_flagged_with_its_threshold():
    model, x, target = model_and_batch()
    model[0].bias.data.fill_(-100.0)  # every pre-activation negative: all units dead
    _, stats = observed_step(
        model, minidl.MSELoss(), minidl.SGD(model.parameters(), 0.1), x, target
    )
    relu = stats[1]
    assert relu.dead_fraction == 1.0
    assert any("dead layer" in flag and f"{DEAD_FRACTION:.0%}" in flag for flag in relu.flags)
    # no gradient reaches the first layer through dead units: its ratio is 0, vanishing
    assert stats[0].grad_weight_norm == 0.0
    assert any(
        "vanishing gradients" in flag and f"{VANISHING_RATIO:g}" in flag for flag in stats[0].flags
    )


def test_a_non_finite_loss_applies_nothing_and_reports_nothing():
    model, x, target = model_and_batch()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    target = target.clone()
    target[0, 0] = math.nan
    optimizer = minidl.SGD(model.parameters(), 0.1)
    value, stats = observed_step(
        model, minidl.MSELoss(), optimizer, x, target, skip_non_finite=True
    )
    assert math.isnan(value) and stats is None
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.endswith(("weight", "bias")))


def test_trainer_with_health_trains_exactly_as_without_and_reports_each_epoch_end():
    def trainer(health_every):
        generator = torch.Generator().manual_seed(1)
        model = minidl.Sequential(
            minidl.Linear(2, 8, generator=generator),
            minidl.ReLU(),
            minidl.Linear(8, 2, generator=generator),
        )
        data_generator = torch.Generator().manual_seed(2)
        x = torch.rand(90, 2, generator=data_generator)
        y = (x.sum(1) > 1).long()
        data = minidl.ClassificationData(x[:60], y[:60], x[60:], y[60:], 2)
        optimizer = minidl.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return minidl.Trainer(
            model, minidl.MSELoss(), optimizer, data, batch_size=8, health_every=health_every
        )

    plain, observed = trainer(None), trainer(3)
    plain.run(4)
    events = []
    observed.run(4, events.append)
    for key, value in plain.model.state_dict().items():
        assert torch.equal(value, observed.model.state_dict()[key]), key
    assert observed.engine.replays > 0  # the engine still replays the other steps
    health = [e for e in events if isinstance(e, LayerStatsComputed)]
    # 60 rows in batches of 8: steps 1..8, observed at 3, 6 and the last (8)
    assert [(e.epoch, e.step, e.epoch_end) for e in health[:3]] == [
        (1, 3, False),
        (1, 6, False),
        (1, 8, True),
    ]
    assert sum(e.epoch_end for e in health) == 4
    assert [layer.layer for layer in health[-1].layers] == ["Linear", "ReLU", "Linear"]


def test_health_every_must_be_a_positive_integer():
    model, x, target = model_and_batch()
    data = minidl.ClassificationData(
        x.float(), (target[:, 0] > 0.5).long(), x.float(), (target[:, 0] > 0.5).long(), 2
    )
    with pytest.raises(ValueError, match="health_every"):
        minidl.Trainer(
            model, minidl.MSELoss(), minidl.SGD(model.parameters(), 0.1), data, 4, health_every=0
        )
