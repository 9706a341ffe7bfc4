"""The model's predicted class over the data's plane, for the lab's decision-boundary map."""

from __future__ import annotations

import torch

from minidl.module import Module

Extent = tuple[float, float, float, float]
"""x1 from, x1 to, x2 from, x2 to."""

UNIT_SQUARE: Extent = (0.0, 1.0, 0.0, 1.0)


def data_extent(*points: torch.Tensor, margin: float = 0.05) -> Extent:
    """[0, 1]², grown to hold every point when some lie outside it (your own CSV data).

    The built-in data sets live in the unit square and keep exactly it; data
    beyond it gets its bounding box with ``margin`` of the span on each side,
    so no point sits on the map's edge.
    """
    rows = [p.reshape(-1, p.shape[-1])[:, :2].double() for p in points if p.numel()]
    if not rows:
        return UNIT_SQUARE
    stacked = torch.cat(rows)
    low, high = stacked.min(dim=0).values.tolist(), stacked.max(dim=0).values.tolist()
    extent: list[float] = []
    for axis in range(2):
        start, end = min(0.0, low[axis]), max(1.0, high[axis])
        if (start, end) != (0.0, 1.0):
            pad = margin * (end - start)
            start, end = start - pad, end + pad
        extent += [start, end]
    return (extent[0], extent[1], extent[2], extent[3])


def decision_grid(
    model: Module, columns: int, rows: int, extent: Extent = UNIT_SQUARE
) -> list[list[int]]:
    """Predicted class at the centre of each cell of a rows × columns grid over ``extent``.

    Row 0 is the top (x2 near its maximum), column 0 the left (x1 near its
    minimum), as drawn on a screen. The model is evaluated in eval mode and
    left in its mode.
    """
    if columns <= 0 or rows <= 0:
        return []
    parameters = model.parameters()
    dtype = parameters[0].dtype if parameters else torch.get_default_dtype()
    x1_from, x1_to, x2_from, x2_to = extent
    x1 = x1_from + (torch.arange(columns, dtype=dtype) + 0.5) / columns * (x1_to - x1_from)
    x2 = x2_to - (torch.arange(rows, dtype=dtype) + 0.5) / rows * (x2_to - x2_from)
    grid = torch.stack(torch.meshgrid(x2, x1, indexing="ij"), dim=-1).flip(-1).reshape(-1, 2)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            predicted = model.forward(grid).argmax(dim=1)
    finally:
        model.train(was_training)
    return predicted.reshape(rows, columns).tolist()
