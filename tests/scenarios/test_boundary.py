"""The decision-boundary grid: the unit square for built-in data, the data's box for your own."""

from __future__ import annotations

import pytest
import torch

from minidl.layers import Linear
from scenarios.boundary import UNIT_SQUARE, data_extent, decision_grid


def test_points_inside_the_unit_square_keep_exactly_it():
    points = torch.rand(500, 2, generator=torch.Generator().manual_seed(0))
    assert data_extent(points) == UNIT_SQUARE
    assert data_extent(torch.empty(0, 2)) == UNIT_SQUARE


def test_points_outside_grow_the_box_with_a_margin_of_the_span():
    train = torch.tensor([[-2.0, 0.5], [3.0, 0.25]])
    test = torch.tensor([[0.5, 4.0]])
    x1_from, x1_to, x2_from, x2_to = data_extent(train, test, margin=0.1)
    assert (x1_from, x1_to) == pytest.approx((-2.5, 3.5))  # span 5, 0.5 each side
    assert (x2_from, x2_to) == pytest.approx((-0.4, 4.4))  # [0, 4] grown by 0.4


def step_model(threshold: float) -> Linear:
    """Class 1 exactly where x1 > threshold: logits (0, x1 − threshold)."""
    model = Linear(2, 2).double()
    model.weight.data.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    model.bias.data.copy_(torch.tensor([0.0, -threshold]))
    return model


def test_grid_cells_are_evaluated_at_their_centres_over_the_extent():
    # 10 columns over x1 in [-5, 5]: centres -4.5, -3.5, …, 4.5; class 1 where x1 > 2
    grid = decision_grid(step_model(2.0), 10, 3, extent=(-5.0, 5.0, -1.0, 1.0))
    assert grid == [[0] * 7 + [1] * 3] * 3
    # over the unit square the same model says 0 everywhere
    assert decision_grid(step_model(2.0), 4, 2) == [[0] * 4] * 2


def test_rows_run_from_the_top_of_the_extent():
    model = Linear(2, 2).double()
    model.weight.data.copy_(torch.tensor([[0.0, 0.0], [0.0, 1.0]]))  # class 1 where x2 > 0
    model.bias.data.zero_()
    assert decision_grid(model, 2, 4, extent=(0.0, 1.0, -2.0, 2.0)) == [
        [1, 1],
        [1, 1],
        [0, 0],
        [0, 0],
    ]
