from __future__ import annotations

import math

import pytest
import torch

from minidl import init

CASES = [
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"nonlinearity": "relu"}),
    ("kaiming_normal_", {"a": 0.2, "mode": "fan_out"}),
    ("xavier_uniform_", {"gain": 5 / 3}),
    ("xavier_normal_", {}),
    ("normal_", {"mean": 0.5, "std": 2.0}),
    ("uniform_", {"a": -0.3, "b": 0.7}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("shape", [(30, 20), (8, 4, 3)])
def test_init_draws_the_same_values_as_torch_nn_init(name, kwargs, shape):
    ours = getattr(init, name)(
        torch.empty(shape), generator=torch.Generator().manual_seed(7), **kwargs
    )
    theirs = getattr(torch.nn.init, name)(
        torch.empty(shape), generator=torch.Generator().manual_seed(7), **kwargs
    )
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize(
    "nonlinearity", ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu", "conv1d"]
)
def test_gains_equal_torch(nonlinearity):
    assert init.calculate_gain(nonlinearity) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity)
    )


def test_fans_of_a_conv_weight_include_the_kernel():
    assert init.fan_in_and_fan_out(torch.empty(8, 4, 3)) == (12, 24)


def test_unknown_mode_and_nonlinearity_are_refused():
    with pytest.raises(ValueError, match="mode 'fan_avg'"):
        init.kaiming_uniform_(torch.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
