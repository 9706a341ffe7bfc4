"""Each hidden unit's output over the data's plane, and a regression's output surface.

For the lab's per-neuron maps (one small heatmap per unit of a chosen
layer, as TensorFlow Playground draws them) and its continuous heatmap of
a regression's prediction. Grids follow ``scenarios.boundary``: row 0 at
the top (x2 near its maximum), column 0 at the left, cell centres.
"""

from __future__ import annotations

import torch

from minidl.health import layers_of
from minidl.module import Module
from scenarios.boundary import UNIT_SQUARE, Extent


def grid_points(columns: int, rows: int, extent: Extent, dtype: torch.dtype) -> torch.Tensor:
    """(rows · columns, 2) cell centres, row by row from the top left."""
    x1_from, x1_to, x2_from, x2_to = extent
    x1 = x1_from + (torch.arange(columns, dtype=dtype) + 0.5) / columns * (x1_to - x1_from)
    x2 = x2_to - (torch.arange(rows, dtype=dtype) + 0.5) / rows * (x2_to - x2_from)
    return torch.stack(torch.meshgrid(x2, x1, indexing="ij"), dim=-1).flip(-1).reshape(-1, 2)


def _evaluate(model: Module, layers: list[Module], points: torch.Tensor) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            h = points
            for layer in layers:
                h = layer.forward(h)
    finally:
        model.train(was_training)
    return h


def _dtype(model: Module) -> torch.dtype:
    parameters = model.parameters()
    return parameters[0].dtype if parameters else torch.get_default_dtype()


def neuron_maps(
    model: Module, layer: int, columns: int, rows: int, extent: Extent = UNIT_SQUARE
) -> torch.Tensor:
    """(units, rows, columns): every unit of layer ``layer``'s output at each grid cell.

    ``layer`` indexes the top-level layers (as ``minidl.health`` reports
    them); the model runs in eval mode up to that layer and is left in its
    mode. A layer whose output has more than one feature dimension has its
    features flattened into units.
    """
    layers = layers_of(model)
    if not 0 <= layer < len(layers):
        raise IndexError(f"layer {layer} is not one of the model's layers 0..{len(layers) - 1}")
    if columns <= 0 or rows <= 0:
        return torch.zeros(0, max(rows, 0), max(columns, 0))
    points = grid_points(columns, rows, extent, _dtype(model))
    output = _evaluate(model, layers[: layer + 1], points).reshape(rows * columns, -1)
    return output.t().reshape(-1, rows, columns)


def output_grid(
    model: Module, columns: int, rows: int, extent: Extent = UNIT_SQUARE
) -> list[list[float]]:
    """A one-output model's prediction at each cell: a regression's surface, row by row."""
    if columns <= 0 or rows <= 0:
        return []
    points = grid_points(columns, rows, extent, _dtype(model))
    output = _evaluate(model, layers_of(model), points)
    if output.dim() != 2 or output.shape[1] != 1:
        raise ValueError(
            f"output_grid needs one output per point, the model gives {tuple(output.shape[1:])}"
        )
    return output.reshape(rows, columns).tolist()
