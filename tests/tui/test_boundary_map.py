"""The decision map as a person sees it: square data units (the disk is round), two pixels
per cell, and the right picture after any resize."""

from __future__ import annotations

import math

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from tui.app import make_app
from tui.widgets.boundary import CLASS_COLOURS, PLACEHOLDER, BoundaryMap, pixel_box

SIZES = [(80, 24), (120, 36), (200, 50)]


class OneMap(App):
    CSS = "BoundaryMap { border: round white; }"

    def compose(self) -> ComposeResult:
        yield BoundaryMap(id="boundary")


def disk(columns: int, rows: int) -> list[list[int]]:
    """The centered disk's true labels at the centres of a columns × rows grid."""
    radius = 1 / math.sqrt(2 * math.pi)
    return [
        [
            int(math.hypot((c + 0.5) / columns - 0.5, (r + 0.5) / rows - 0.5) < radius)
            for c in range(columns)
        ]
        for r in range(rows)
    ]


def class_box(picture: list[list[str]], colour: str) -> tuple[int, int]:
    """Width and height, in pixels, of the region drawn in ``colour``."""
    where = [(r, c) for r, row in enumerate(picture) for c, p in enumerate(row) if p == colour]
    rows = [r for r, _ in where]
    columns = [c for _, c in where]
    return max(columns) - min(columns) + 1, max(rows) - min(rows) + 1


def screen_lines(widget: BoundaryMap) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.content_size.height)]


@pytest.mark.parametrize(
    ("width", "height", "extent", "expected"),
    [
        (35, 13, (0.0, 1.0, 0.0, 1.0), (26, 26)),
        (75, 20, (0.0, 1.0, 0.0, 1.0), (40, 40)),
        (21, 8, (0.0, 1.0, 0.0, 1.0), (16, 16)),
        (20, 30, (0.0, 1.0, 0.0, 1.0), (20, 20)),  # narrow: the width limits
        (80, 10, (0.0, 2.0, 0.0, 1.0), (40, 20)),
        (80, 20, (-3.0, 3.0, 0.0, 10.0), (24, 40)),
    ],
)
def test_the_pixel_box_keeps_data_units_square(width, height, extent, expected):
    columns, rows = pixel_box(width, height, extent)
    assert (columns, rows) == expected
    assert columns <= width and rows <= 2 * height
    x1_from, x1_to, x2_from, x2_to = extent
    assert columns / rows == pytest.approx((x1_to - x1_from) / (x2_to - x2_from), rel=0.06)


@pytest.mark.parametrize("size", SIZES)
async def test_the_disk_is_round_in_half_blocks_even_from_a_coarse_grid(size):
    app = OneMap()
    async with app.run_test(size=size) as pilot:
        boundary = app.query_one(BoundaryMap)
        for grid in (disk(*boundary.wanted_grid), disk(12, 12)):  # exact, then scaled up
            boundary.show(grid, [])
            await pilot.pause()
            picture = boundary.pixels()
            width, height = class_box(picture, CLASS_COLOURS[1])
            assert width == pytest.approx(height, rel=0.12), (width, height)
            lines = screen_lines(boundary)
            drawn = [line for line in lines if "▀" in line]
            assert len(drawn) == math.ceil(len(picture) / 2)  # two pixels per cell
            assert len({line.index("▀") for line in drawn}) == 1  # one straight left edge
            assert all(line.count("▀") == len(picture[0]) for line in drawn)
            assert all(len(line) == boundary.content_size.width for line in lines)


@pytest.mark.parametrize("start", SIZES)
async def test_after_any_resize_the_map_is_redrawn_at_the_new_resolution(start):
    app = make_app()
    async with app.run_test(size=start) as pilot:
        app.query_one("#epochs", Input).value = "3"
        await pilot.pause()
        app.action_train()
        await app.workers.wait_for_complete()
        await pilot.pause()
        boundary = app.query_one(BoundaryMap)
        for size in [s for s in SIZES if s != start] + [start]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            columns, rows = boundary.wanted_grid
            assert columns > 0
            # the idle training process answered with a grid of exactly the new size
            assert (len(boundary.grid[0]), len(boundary.grid)) == (columns, rows), size
            assert columns == rows  # the unit square, square
            drawn = [line for line in screen_lines(boundary) if "▀" in line]
            assert len(drawn) == math.ceil(rows / 2)
            assert len({line.index("▀") for line in drawn}) == 1
            assert all(line.count("▀") == columns for line in drawn)


async def test_the_placeholder_wraps_on_a_narrow_map_and_is_never_cut():
    app = OneMap()
    async with app.run_test(size=(14, 8)) as pilot:
        await pilot.pause()
        boundary = app.query_one(BoundaryMap)
        lines = [boundary.render_line(y).text.strip() for y in range(boundary.size.height)]
        assert " ".join(line for line in lines if line) == PLACEHOLDER
