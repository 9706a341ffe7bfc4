"""What the lab's pilot tests share: reading the status line, typing into a field, and
waiting for the training process's messages."""

from __future__ import annotations

import asyncio

from textual.widgets import Input

from tui.app import MinidlLab


def status(app: MinidlLab) -> str:
    return str(app.query_one("#status").content)


async def set_input(pilot, selector: str, text: str) -> None:
    pilot.app.query_one(selector, Input).value = text
    await pilot.pause()


async def wait_until(pilot, condition, timeout: float = 60.0) -> None:
    """Process messages until ``condition()`` holds: the training process reports through
    messages, so this waits on them, not on a clock (a loaded machine may take seconds)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await pilot.pause()


async def finish(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
