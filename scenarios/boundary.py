"""The model's predicted class over the unit square, for the lab's decision-boundary map."""

from __future__ import annotations

import torch

from minidl.module import Module


def decision_grid(model: Module, columns: int, rows: int) -> list[list[int]]:
    """Predicted class at the centre of each cell of a rows × columns grid over [0, 1]².

    Row 0 is the top (x2 near 1), column 0 the left (x1 near 0), as drawn on
    a screen. The model is evaluated in eval mode and left in its mode.
    """
    if columns <= 0 or rows <= 0:
        return []
    parameters = model.parameters()
    dtype = parameters[0].dtype if parameters else torch.get_default_dtype()
    x1 = (torch.arange(columns, dtype=dtype) + 0.5) / columns
    x2 = 1 - (torch.arange(rows, dtype=dtype) + 0.5) / rows
    grid = torch.stack(torch.meshgrid(x2, x1, indexing="ij"), dim=-1).flip(-1).reshape(-1, 2)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            predicted = model.forward(grid).argmax(dim=1)
    finally:
        model.train(was_training)
    return predicted.reshape(rows, columns).tolist()
