"""The stand-ins that bound minidl's step time compute exactly what minidl's step does."""

from __future__ import annotations

import functools

import pytest
import torch

from benchmarks.step_bounds import (
    _UNCHECKED,
    modular_step,
    new_setup,
    straight_line_step,
    unchecked_step,
)
from benchmarks.step_instructions import instructions, versions

# every class's checks taken out alone (as step_instructions counts them), then all at once
UNCHECKED_ONE_BY_ONE = [functools.partial(unchecked_step, classes=(cls,)) for cls in _UNCHECKED] + [
    unchecked_step
]


@pytest.mark.parametrize("make", [straight_line_step, modular_step, *UNCHECKED_ONE_BY_ONE])
def test_a_bound_makes_the_same_losses_and_parameters_as_minidls_step(make):
    reference, bound = new_setup(), new_setup()
    step = make(bound, 32)
    with torch.inference_mode():
        for x, target in reference.full_batches()[:3]:
            assert step(x, target) == reference.minidl_step(x, target)
    assert torch.equal(bound.optimizer.groups[0].data, reference.optimizer.groups[0].data)
    assert not torch.equal(bound.optimizer.groups[0].data, new_setup().optimizer.groups[0].data)


def test_the_instruction_count_lists_every_version_and_refuses_to_run_outside_callgrind():
    names = list(versions())
    assert names[0] == "minidl" and names[-1].startswith("nothing")
    assert sum(name.endswith(" unchecked") for name in names) == len(_UNCHECKED)
    with pytest.raises(SystemExit, match="not under callgrind"):
        instructions()
