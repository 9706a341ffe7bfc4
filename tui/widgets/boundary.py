"""The decision boundary: the predicted class over the data's plane with test points on top.

Drawn with half blocks: each cell shows two pixels, ``▀`` in the upper
pixel's colour on the lower pixel's. A cell is about twice as tall as wide,
so a half-block pixel is about square, and the map keeps the data's aspect
ratio (the unit square looks square, a disk round) at any size.

The widget decides the resolution it needs from its own size and asks the
training session for a grid of that size (``resize_boundary``); until the
grid arrives, whatever grid it has is scaled to fit, so a resize never
garbles the picture.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from scenarios.boundary import UNIT_SQUARE, Extent

CLASS_COLOURS = ("#1f3b73", "#8a3b12", "#2e6b30", "#6b2e6b")
POINT_COLOURS = ("#7fb2ff", "#ffb27f", "#9fef9f", "#ef9fef")
NO_MODEL_COLOUR = "#262626"  # the plane before a model has predicted on it
PLACEHOLDER = "train to see the decision boundary"
PIXELS_PER_POINT = 8  # at most one test point per this many pixels: the map stays visible
# a regression's value: blue below 0, dark at 0, orange above (points brighter)
NEGATIVE, ZERO, POSITIVE = (31, 95, 191), (28, 28, 28), (200, 100, 30)


def value_colour(value: float, scale: float, bright: bool = False) -> str:
    """The colour of a regression value on a diverging scale of ±``scale``."""
    t = max(-1.0, min(1.0, value / scale)) if scale > 0 and value == value else 0.0
    end = POSITIVE if t > 0 else NEGATIVE
    rgb = [z + abs(t) * (e - z) for z, e in zip(ZERO, end, strict=True)]
    if bright:
        rgb = [c + 0.45 * (255 - c) for c in rgb]
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def _continuous(grid: list[list[Any]]) -> bool:
    return bool(grid) and bool(grid[0]) and isinstance(grid[0][0], float)


def pixel_box(width: int, height: int, extent: Extent = UNIT_SQUARE) -> tuple[int, int]:
    """The largest (columns, pixel rows) that fits ``width`` × ``height`` cells with square
    data units: one half-block pixel per column and two per row."""
    if width <= 0 or height <= 0:
        return 0, 0
    x1_from, x1_to, x2_from, x2_to = extent
    aspect = (x1_to - x1_from) / (x2_to - x2_from)  # data width over data height
    rows = 2 * height
    columns = min(width, max(1, round(rows * aspect)))
    rows = min(rows, max(1, round(columns / aspect)))
    return columns, rows


class BoundaryMap(Widget):
    """Pixels coloured by predicted class; test points as bright pixels of their true class."""

    DEFAULT_CSS = """
    BoundaryMap { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grid: list[list[int]] = []
        self.points: list[tuple[float, float, int]] = []
        self.extent: Extent = UNIT_SQUARE
        self._asked: tuple[object, tuple[int, int]] | None = None  # (session, size)
        self._version = 0  # counts the grids shown, for the picture cache

    @property
    def wanted_grid(self) -> tuple[int, int]:
        """The (columns, rows) of grid this widget draws one to one at its current size."""
        return pixel_box(self.content_size.width, self.content_size.height, self.extent)

    def show(
        self,
        grid: list[list[int]],
        points: list[tuple[float, float, int]],
        extent: Extent = UNIT_SQUARE,
    ) -> None:
        self.grid, self.points, self.extent = grid, points, extent
        self._version += 1
        x1_from, x1_to, x2_from, x2_to = extent
        self.border_title = (
            None
            if extent == UNIT_SQUARE
            else f"x1 {x1_from:.3g}…{x1_to:.3g}, x2 {x2_from:.3g}…{x2_to:.3g}"
        )
        self._ask_for_resolution()
        self.refresh()

    def show_data(self, points: list[tuple[float, float, int]], extent: Extent) -> None:
        """The data alone, on a plain plane: what a new setup trains on, before any model."""
        self.show([], points, extent)

    def on_resize(self) -> None:
        self._ask_for_resolution()
        self.refresh()

    def _ask_for_resolution(self) -> None:
        """Tell the app's training session the resolution this size needs; when it is
        idle, its answer is drawn at once, else the run's next report brings it."""
        wanted = self.wanted_grid
        rows = len(self.grid)
        have = (len(self.grid[0]), rows) if rows else None
        session: Any = getattr(self.app, "session", None)
        resize = getattr(session, "resize_boundary", None)
        if not self.grid or 0 in wanted or wanted == have or resize is None:
            return
        if self._asked == (session, wanted):  # asked during a run: the next report has it
            return
        self._asked = (session, wanted)
        update = resize(*wanted)
        if update is not None and update.grid:
            self.grid, self.extent = update.grid, update.extent
            self._version += 1

    # --- drawing ------------------------------------------------------------
    def pixels(self) -> list[list[str]]:
        """The colour of every pixel of the map at the widget's size, points included."""
        columns, rows = self.wanted_grid
        if not (self.grid or self.points) or not columns:
            return []
        # a regression's surface and targets are numbers, drawn on one colour scale
        continuous = _continuous(self.grid) or any(
            isinstance(label, float) for _, _, label in self.points[:1]
        )
        scale = 0.0
        if continuous:
            values = [abs(v) for line in self.grid for v in line]
            values += [abs(label) for _, _, label in self.points]
            scale = max((v for v in values if v == v), default=1.0)
        picture = []
        if not self.grid:  # the data before any model
            picture = [[NO_MODEL_COLOUR] * columns for _ in range(rows)]
        grid_rows, grid_columns = len(self.grid), len(self.grid[0]) if self.grid else 0
        for r in range(rows if self.grid else 0):
            line = self.grid[r * grid_rows // rows]
            if continuous:
                picture.append(
                    [value_colour(line[c * grid_columns // columns], scale) for c in range(columns)]
                )
                continue
            picture.append(
                [
                    CLASS_COLOURS[line[c * grid_columns // columns] % len(CLASS_COLOURS)]
                    for c in range(columns)
                ]
            )
        x1_from, x1_to, x2_from, x2_to = self.extent
        shown = self.points[: max(1, rows * columns // PIXELS_PER_POINT)]
        for x1, x2, label in shown:
            column = int((x1 - x1_from) / (x1_to - x1_from) * columns)
            row = int((x2_to - x2) / (x2_to - x2_from) * rows)
            if 0 <= row <= rows and 0 <= column <= columns:  # a point on the far edge counts
                colour = (
                    value_colour(label, scale, bright=True)
                    if continuous
                    else POINT_COLOURS[int(label) % len(POINT_COLOURS)]
                )
                picture[min(row, rows - 1)][min(column, columns - 1)] = colour
        return picture

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        picture = self._picture_cache()
        if not picture:
            lines = textwrap.wrap(PLACEHOLDER, max(1, width))  # narrow maps wrap it
            text = lines[y] if y < len(lines) else ""
            return Strip([Segment(text.ljust(width), self.rich_style)])
        columns = len(picture[0])
        left = (width - columns) // 2
        top = (self.content_size.height - (len(picture) + 1) // 2) // 2
        row = 2 * (y - top)
        blank = Segment(" " * width, self.rich_style)
        if row < 0 or row >= len(picture):
            return Strip([blank])
        upper = picture[row]
        lower = picture[row + 1] if row + 1 < len(picture) else None
        segments = [Segment(" " * left, self.rich_style)] if left else []
        for c in range(columns):
            if lower is None:
                style = Style(color=upper[c], bgcolor=self.rich_style.bgcolor)
            else:
                style = Style(color=upper[c], bgcolor=lower[c])
            segments.append(Segment("▀", style))
        right = width - left - columns
        if right > 0:
            segments.append(Segment(" " * right, self.rich_style))
        return Strip(segments, width)

    def _picture_cache(self) -> list[list[str]]:
        key = (self._version, self.content_size)
        if getattr(self, "_cached_key", None) != key:
            self._cached_key = key
            self._cached_picture = self.pixels()
        return self._cached_picture
