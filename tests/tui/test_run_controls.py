"""Train, step, pause and reset as a person uses them: never past the limit, one epoch per
step, a dead training process named and replaced."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input

from tests.tui.pilot import finish, status, wait_until
from tui.app import make_app

SIZES = [(80, 24), (120, 36), (200, 50)]


async def set_epochs(pilot, epochs: int) -> None:
    pilot.app.query_one("#epochs", Input).value = str(epochs)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
async def test_step_after_a_finished_run_stays_at_the_limit_until_the_epochs_are_raised(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await set_epochs(pilot, 3)
        app.action_train()
        await finish(pilot)
        assert app.session.epochs_completed == 3
        history = list(app.session.history.epochs)
        for action in (app.action_step, app.action_train):
            action()
            await finish(pilot)
            assert app.session.epochs_completed == 3
            assert status(app).startswith("the run is complete (3 epochs)")
        await set_epochs(pilot, 5)  # the explicit way on: the same run, continued
        app.action_step()
        await finish(pilot)
        assert app.session.epochs_completed == 4
        assert app.session.history.epochs[:3] == history  # continued, not restarted
        assert status(app).startswith("paused after 4/5 epochs (t or s goes on)")
        app.action_train()
        await finish(pilot)
        assert app.session.epochs_completed == 5
        assert status(app).startswith("completed after 5 epochs")


async def test_one_epoch_is_said_in_the_singular():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await set_epochs(pilot, 2)
        app.action_step()
        await finish(pilot)
        assert status(app).startswith("paused after 1/2 epochs")  # not the end: not completed
        app.action_step()
        await finish(pilot)
        assert status(app).startswith("completed after 2 epochs ·")


async def test_step_while_paused_trains_exactly_one_epoch_and_pauses_again():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await set_epochs(pilot, 10_000)
        app.action_train()
        await wait_until(pilot, lambda: app.session is not None and app.session.epochs_completed)
        app.action_pause()
        await wait_until(pilot, lambda: status(app).startswith("paused after"))
        paused_at = app.session.epochs_completed
        pause = app.query_one("#pause", Button)  # the whole word on the button, not "Resum"
        assert str(pause.label) == "Resume" and pause.region.width >= len("Resume") + 2
        for expected in (paused_at + 1, paused_at + 2):
            await pilot.press("s")
            await wait_until(
                pilot, lambda n=expected: status(app).startswith(f"paused after {n} epochs")
            )
            assert app.session.epochs_completed == expected and app.session.paused
        app.action_stop()
        await finish(pilot)
        assert app.session.epochs_completed == paused_at + 2
        assert not app.running


async def test_a_killed_training_process_is_reported_and_reset_and_train_work_again():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await set_epochs(pilot, 10_000)
        app.action_train()
        await wait_until(pilot, lambda: app.session is not None and app.session.epochs_completed)
        app.session._process.kill()
        await finish(pilot)
        assert not app.running
        assert "training process ended unexpectedly (killed by SIGKILL)" in status(app)
        assert "press t to train anew" in status(app)
        await pilot.press("r")
        await finish(pilot)
        assert app.session is not None and app.session.alive
        assert status(app).startswith("reset")
        await set_epochs(pilot, 3)
        await pilot.press("t")
        await finish(pilot)
        assert status(app).startswith("completed after 3 epochs")
        # killed while idle: the next Train notices and starts a new process
        app.session._process.kill()
        app.session._process.join(5)
        await pilot.press("t")
        await finish(pilot)
        assert app.session.alive and status(app).startswith("completed after 3 epochs")


async def test_a_training_process_that_dies_while_idle_is_reported_without_a_key():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await set_epochs(pilot, 3)
        await pilot.press("t")
        await finish(pilot)
        assert status(app).startswith("completed after 3 epochs")
        app.session._process.kill()
        app.session._process.join(5)
        await wait_until(pilot, lambda: "ended unexpectedly" in status(app))
        assert "killed by SIGKILL" in status(app) and "press t to train anew" in status(app)
        await pilot.press("t")
        await finish(pilot)
        assert app.session.alive and status(app).startswith("completed after 3 epochs")
