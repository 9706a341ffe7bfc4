"""The stand-ins that bound minidl's step time compute exactly what minidl's step does."""

from __future__ import annotations

import pytest
import torch

from benchmarks.step_bounds import modular_step, new_setup, straight_line_step, unchecked_step


@pytest.mark.parametrize("make", [straight_line_step, modular_step, unchecked_step])
def test_a_bound_makes_the_same_losses_and_parameters_as_minidls_step(make):
    reference, bound = new_setup(), new_setup()
    step = make(bound, 32)
    with torch.inference_mode():
        for x, target in reference.full_batches()[:3]:
            assert step(x, target) == reference.minidl_step(x, target)
    assert torch.equal(bound.optimizer.groups[0].data, reference.optimizer.groups[0].data)
    assert not torch.equal(bound.optimizer.groups[0].data, new_setup().optimizer.groups[0].data)
