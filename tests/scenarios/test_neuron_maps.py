"""Per-neuron maps, the regression surface and the maths panel's text, headless."""

from __future__ import annotations

import pytest
import torch

import minidl
from scenarios.boundary import decision_grid
from scenarios.neuron_maps import grid_points, neuron_maps, output_grid
from tui.layer_maths import layer_maths


def small_model(outputs: int = 2) -> minidl.Sequential:
    generator = torch.Generator().manual_seed(0)
    return minidl.Sequential(
        minidl.Linear(2, 5, generator=generator),
        minidl.BatchNorm1d(5),
        minidl.Tanh(),
        minidl.Linear(5, outputs, generator=generator),
    )


def test_each_map_is_its_unit_over_the_grid_in_eval_mode():
    model = small_model()
    model[1].running_mean.fill_(0.3)  # eval mode uses these: the maps must too
    maps = neuron_maps(model, 2, columns=7, rows=4)
    assert maps.shape == (5, 4, 7)
    points = grid_points(7, 4, (0.0, 1.0, 0.0, 1.0), torch.float32)
    model.eval()
    expected = model[2].forward(model[1].forward(model[0].forward(points)))
    model.train()
    for unit in range(5):
        assert torch.equal(maps[unit].reshape(-1), expected[:, unit])
    assert model.training  # left in its mode
    # the grid's layout is the decision map's: the last layer's argmax is decision_grid
    last = neuron_maps(model, 3, columns=7, rows=4)
    assert last.argmax(dim=0).tolist() == decision_grid(model, 7, 4)


def test_top_left_cell_is_low_x1_high_x2():
    points = grid_points(4, 2, (0.0, 1.0, 0.0, 1.0), torch.float64)
    assert points[0].tolist() == [0.125, 0.75] and points[-1].tolist() == [0.875, 0.25]


def test_a_layer_outside_the_model_is_named():
    with pytest.raises(IndexError, match=r"layer 9 .* 0\.\.3"):
        neuron_maps(small_model(), 9, 3, 3)


def test_output_grid_is_the_regression_surface():
    model = small_model(outputs=1)
    surface = output_grid(model, 3, 2)
    model.eval()
    expected = model.forward(grid_points(3, 2, (0.0, 1.0, 0.0, 1.0), torch.float32))
    assert surface == expected.reshape(2, 3).tolist()
    with pytest.raises(ValueError, match="one output"):
        output_grid(small_model(outputs=2), 3, 2)


def test_maths_panel_shows_the_docstring_equations_and_the_backward_that_runs():
    maths = layer_maths(minidl.ReLU())
    assert maths.name == "ReLU"
    assert maths.equations.startswith("Forward:") and "Backward:" in maths.equations
    assert maths.backward_source.startswith("def backward(self, grad_output")
    assert "torch.sign" in maths.backward_source
    linear = layer_maths(minidl.Linear(2, 3))
    assert "y  = x Wᵀ + b" in linear.equations and "dW += gᵀ x" in linear.equations
    # as written: the body indented under its def, as Python reads it
    lines = linear.backward_source.splitlines()
    assert lines[0].startswith("def backward(") and lines[1].startswith("    x, g = ")
    compile(linear.backward_source, "backward", "exec")
