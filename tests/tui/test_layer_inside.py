"""Inside a layer (i on the model view): equations, backward source and per-unit maps, 120×36."""

from __future__ import annotations

import time

import pytest
import torch
from textual.widgets import Input

from scenarios.build import build_model
from scenarios.neuron_maps import neuron_maps
from scenarios.shipped import shipped_scenarios
from tui.app import make_app
from tui.session import TrainingSession
from tui.widgets.layer_inside import TILE_COLUMNS, TILE_ROWS, LayerInsideScreen, tiles
from tui.widgets.layer_list import LayerList


async def test_inside_a_relu_layer_after_training_shows_its_maths_and_25_maps():
    app = make_app(shipped_scenarios()["centered_disk"])
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one("#epochs", Input).value = "5"
        await pilot.pause()
        await pilot.press("t")
        await app.workers.wait_for_complete()
        for _ in range(20):
            await pilot.pause()
        app.query_one(LayerList).focus()
        await pilot.press("down")  # layer 1: the first ReLU
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LayerInsideScreen)
        assert screen.maths.equations.startswith("Forward:  y = max(0, x)")
        assert "torch.sign" in screen.maths.backward_source
        assert screen.maps is not None and screen.maps.shape == (25, 2 * TILE_ROWS, TILE_COLUMNS)
        # the maps are the trained model's layer 1 over the plane
        model = build_model(app.scenario.model, 2, 2)
        model.load_state_dict(app.session.state_dict())
        expected = neuron_maps(model, 1, TILE_COLUMNS, 2 * TILE_ROWS)
        assert torch.equal(screen.maps, expected)
        assert bool((screen.maps >= 0).all())  # ReLU outputs
        assert "after epoch 5" in str(screen.query_one("#inside-note").content)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LayerInsideScreen)


async def test_before_training_the_maths_shows_and_the_maps_wait():
    app = make_app(shipped_scenarios()["centered_disk"])
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one(LayerList).focus()
        await pilot.press("i")  # layer 0: Linear
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LayerInsideScreen)
        assert "dW += gᵀ x" in screen.maths.equations and screen.maps is None
        assert "train" in str(screen.query_one("#inside-note").content)


def test_tiles_lay_out_units_side_by_side():
    maps = torch.linspace(-1, 1, 3 * 12 * 12).reshape(3, 12, 12)
    text = tiles(maps, 30)  # two tiles of 12 and a gap fit in 30 columns
    lines = text.plain.splitlines()
    assert lines[0].startswith("unit 0") and "unit 1" in lines[0] and "unit 2" not in lines[0]
    assert len(lines) == 2 * (1 + TILE_ROWS)


def _status(app) -> str:
    return str(app.query_one("#status").content)


async def _until(pilot, condition, timeout: float = 60.0) -> None:
    """Wait for ``condition``; a loaded machine may take seconds to start a process."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the lab never got there")
        await pilot.pause(0.025)


async def test_during_a_run_the_maps_of_a_hidden_linear_redraw_with_each_decision_map():
    app = make_app(shipped_scenarios()["centered_disk"])
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one("#epochs", Input).value = "300"
        await pilot.pause()
        await pilot.press("t")
        await _until(pilot, lambda: app.session is not None and app.session.epochs_completed > 0)
        app.action_step()  # pause once the current epoch ends
        await _until(pilot, lambda: app.session.paused and "paused after" in _status(app))
        app.query_one(LayerList).focus()
        await pilot.press("i")  # row 0: the first Linear, 25 hidden units
        screen = app.screen
        assert isinstance(screen, LayerInsideScreen) and app.running
        # the paused process is asked for the layer's maps and reports them at once
        await _until(pilot, lambda: screen.maps is not None)
        first, first_note = screen.maps, screen.note
        first_epoch = int(first_note.rsplit(" ", 1)[1])
        assert first.shape == (25, 2 * TILE_ROWS, TILE_COLUMNS)
        app.action_step()  # one more epoch: its decision map brings the new maps
        await _until(pilot, lambda: screen.note != first_note)
        second = screen.maps
        assert screen.note == f"weights after epoch {first_epoch + 1}"
        assert not torch.equal(first, second)
        # both are the process's weights at those epochs: the same run in this process
        local = TrainingSession(app.session.scenario)
        for epochs, shown in ((first_epoch, first), (1, second)):
            local.run(epochs, lambda event: None)
            model = local.experiment.model
            expected = neuron_maps(model, 0, TILE_COLUMNS, 2 * TILE_ROWS, local.extent)
            assert torch.equal(shown, expected)
        app.action_pause()  # resume: the maps follow the running process's reports
        await _until(pilot, lambda: int(screen.note.rsplit(" ", 1)[1]) > first_epoch + 1)
        assert not torch.equal(screen.maps, second)
        drawn = screen.query_one("#inside-maps").render().plain
        assert drawn.startswith("unit 0") and "unit 24" in drawn
        await pilot.press("escape")  # closing stops the watch
        await pilot.pause()
        assert app.session._watched_units[:] == [-1, 0, 0]
        app.action_stop()
        await app.workers.wait_for_complete()


# --- the run keys inside a layer ------------------------------------------------------
def _footer_keys(screen) -> set[str]:
    from textual.widgets._footer import FooterKey

    return {key.key for key in screen.query(FooterKey)}


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_run_keys_train_pause_step_and_stop_from_inside_a_layer(size):
    app = make_app(shipped_scenarios()["centered_disk"])
    async with app.run_test(size=size) as pilot:
        app.query_one("#epochs", Input).value = "5000"  # never done before x
        await pilot.pause()
        app.query_one(LayerList).focus()
        await pilot.press("i")  # row 0, before any run: nothing to show yet
        screen = app.screen
        assert isinstance(screen, LayerInsideScreen) and screen.maps is None
        assert {"t", "p", "s", "x"} <= _footer_keys(screen)  # the run keys, in its footer
        await pilot.press("t")  # trains from here, and the maps follow the run
        await _until(pilot, lambda: screen.maps is not None)
        assert app.screen is screen and app.running
        await pilot.press("p")
        await _until(pilot, lambda: app.session.paused and "paused" in _status(app))
        paused_at = app.session.epochs_completed
        await pilot.press("s")  # exactly one more epoch, still paused
        await _until(pilot, lambda: app.session.epochs_completed == paused_at + 1)
        await _until(pilot, lambda: screen.note == f"weights after epoch {paused_at + 1}")
        assert app.session.paused
        await pilot.press("p")  # resumes
        await _until(pilot, lambda: app.session.epochs_completed > paused_at + 2)
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await _until(pilot, lambda: _status(app).startswith("stopped after"))
        assert not app.running and app.screen is screen
        stopped_at = app.session.epochs_completed
        assert stopped_at < 5000
        await pilot.press("s")  # idle: one more epoch of the same run
        await app.workers.wait_for_complete()
        await _until(pilot, lambda: screen.note == f"weights after epoch {stopped_at + 1}")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LayerInsideScreen)
