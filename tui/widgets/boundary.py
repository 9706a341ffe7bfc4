"""The decision boundary: the predicted class over the data's plane with test points on top."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from scenarios.boundary import UNIT_SQUARE, Extent

CLASS_COLOURS = ("#1f3b73", "#8a3b12", "#2e6b30", "#6b2e6b")
POINT_COLOURS = ("#7fb2ff", "#ffb27f", "#9fef9f", "#ef9fef")


class BoundaryMap(Static):
    """Cells coloured by predicted class; test points drawn as dots in their true class."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("train to see the decision boundary", id=id)
        self.grid: list[list[int]] = []
        self.points: list[tuple[float, float, int]] = []
        self.extent: Extent = UNIT_SQUARE

    def show(
        self,
        grid: list[list[int]],
        points: list[tuple[float, float, int]],
        extent: Extent = UNIT_SQUARE,
    ) -> None:
        self.grid, self.points, self.extent = grid, points, extent
        x1_from, x1_to, x2_from, x2_to = extent
        self.border_title = (
            None
            if extent == UNIT_SQUARE
            else f"x1 {x1_from:.3g}…{x1_to:.3g}, x2 {x2_from:.3g}…{x2_to:.3g}"
        )
        # the widget's size is set by the layout, not by its content: skip a reflow
        self.update(self.render_grid(), layout=False)

    def render_grid(self) -> Text:
        rows = len(self.grid)
        columns = len(self.grid[0]) if rows else 0
        marks: dict[tuple[int, int], int] = {}
        x1_from, x1_to, x2_from, x2_to = self.extent
        for x1, x2, label in self.points:
            column = int((x1 - x1_from) / (x1_to - x1_from) * columns)
            row = int((x2_to - x2) / (x2_to - x2_from) * rows)
            if 0 <= row <= rows and 0 <= column <= columns:  # a point on the far edge counts
                marks[(min(row, rows - 1), min(column, columns - 1))] = label
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
