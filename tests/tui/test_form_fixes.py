"""What a person does at the keyboard in the lab's form, at typing speed and faster."""

from __future__ import annotations

import asyncio

from textual import events
from textual.widgets import Input

from tui.app import make_app

SIZE = (120, 36)


def send_back_to_back(app, keys: list[str]) -> None:
    """Every key into the driver's queue at once, as a fast typist or a key repeat does
    (the pilot's ``press`` waits for the app to go idle after each key)."""
    for key in keys:
        character = key if len(key) == 1 else None
        name = {".": "full_stop", "=": "equals_sign", "-": "minus"}.get(key, key)
        event = events.Key(name, character)
        event.set_sender(app)
        app._driver.send_message(event)


async def settle(pilot, rounds: int = 30) -> None:
    for _ in range(rounds):
        await pilot.pause()


async def type_fast(pilot, selector: str, backspaces: int, text: str) -> str:
    field = pilot.app.query_one(selector, Input)
    field.focus()
    field.cursor_position = len(field.value)
    await pilot.pause()
    send_back_to_back(pilot.app, ["backspace"] * backspaces + list(text))
    await settle(pilot)
    return field.value


async def test_fast_backspaces_and_digits_in_the_learning_rate_keep_their_order():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for attempt in range(4):
            typed = f"0.0{attempt + 5}"
            assert await type_fast(pilot, "#lr", 6, typed) == typed


async def test_fast_edit_of_the_optimizer_arguments_keeps_every_key():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        field = app.query_one("#optimizer-args", Input)
        field.value = "eps=1e-8"
        await pilot.pause()
        assert await type_fast(pilot, "#optimizer-args", 8, "eps=0.001") == "eps=0.001"


async def test_fast_typing_while_training_keeps_every_key():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#epochs", Input).value = "100000"
        await pilot.pause()
        await pilot.press("t")
        async with asyncio.timeout(30):
            while app.session is None or not app.session.epochs_completed:
                await pilot.pause()
        assert app.running
        assert await type_fast(pilot, "#lr", 6, "0.04") == "0.04"
        assert await type_fast(pilot, "#epochs", 8, "300") == "300"
        await pilot.press("escape", "x")
        await app.workers.wait_for_complete()


async def test_m_then_t_trains_instead_of_typing_into_a_field():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#epochs", Input).value = "2"
        await pilot.pause()
        await pilot.press("m")
        assert app.more_shown and not isinstance(app.focused, Input)
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await settle(pilot, 5)
        assert app.query_one("#csv-path", Input).value == ""
        assert app.session is not None and app.session.epochs_completed == 2
