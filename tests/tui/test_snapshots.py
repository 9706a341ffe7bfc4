"""SVG snapshots of the lab (pytest-textual-snapshot): the first screen and a finished run
at 80×24, 120×36 and 200×50, so a layout change shows as a diff.

After an intended change, look at the new pictures (``pytest --snapshot-report``), then
accept them with ``python -m pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from tui.app import make_app

SIZES = [(80, 24), (120, 36), (200, 50)]


def size_id(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


async def first_screen(pilot) -> None:
    await pilot.pause()


async def finished_run(pilot) -> None:
    await pilot.pause()
    await pilot.press("t")  # the default scenario: 200 epochs of the centered disk
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.redraw_charts()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_first_screen(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=first_screen)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_finished_run(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=finished_run)
