"""The decision boundary: the predicted class over [0, 1]² with test points on top."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

CLASS_COLOURS = ("#1f3b73", "#8a3b12", "#2e6b30", "#6b2e6b")
POINT_COLOURS = ("#7fb2ff", "#ffb27f", "#9fef9f", "#ef9fef")


class BoundaryMap(Static):
    """Cells coloured by predicted class; test points drawn as dots in their true class."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("train to see the decision boundary", id=id)
        self.grid: list[list[int]] = []
        self.points: list[tuple[float, float, int]] = []

    def show(self, grid: list[list[int]], points: list[tuple[float, float, int]]) -> None:
        self.grid, self.points = grid, points
        # the widget's size is set by the layout, not by its content: skip a reflow
        self.update(self.render_grid(), layout=False)

    def render_grid(self) -> Text:
        rows = len(self.grid)
        columns = len(self.grid[0]) if rows else 0
        marks: dict[tuple[int, int], int] = {}
        for x1, x2, label in self.points:
            column = min(columns - 1, int(x1 * columns))
            row = min(rows - 1, int((1 - x2) * rows))
            marks[(row, column)] = label
        text = Text()
        for r, line in enumerate(self.grid):
            for c, predicted in enumerate(line):
                background = CLASS_COLOURS[predicted % len(CLASS_COLOURS)]
                label = marks.get((r, c))
                if label is None:
                    text.append(" ", style=f"on {background}")
                else:
                    colour = POINT_COLOURS[label % len(POINT_COLOURS)]
                    text.append("•", style=f"bold {colour} on {background}")
            if r < rows - 1:
                text.append("\n")
        return text
