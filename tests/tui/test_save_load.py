"""Saving and loading scenarios in the lab: a name derived from the setup, a description of
the setup, no stale expectations, a confirmation before replacing, shipped names on load."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, Input, Label
from textual_fspicker import FileOpen

from scenarios import load_scenario
from scenarios.build import run_scenario
from scenarios.shipped import resolve_scenario_path
from tests.tui.pilot import status
from tui.app import make_app
from tui.cli import main
from tui.scenario_files import completion, describe, find_scenario
from tui.widgets.scenario_dialogs import LoadDialog, SaveDialog

SIZES = [(80, 24), (120, 36), (200, 50)]


async def set_value(pilot, selector: str, value) -> None:
    pilot.app.query_one(selector).value = value
    await pilot.pause()


async def use_adam(pilot, epochs: int = 4) -> None:
    await set_value(pilot, "#optimizer", "Adam")
    await set_value(pilot, "#optimizer-args", "")
    await set_value(pilot, "#lr", "0.005")
    await set_value(pilot, "#epochs", str(epochs))
    assert pilot.app.scenario is not None and pilot.app.scenario.training.optimizer.type == "Adam"


async def train(pilot) -> None:
    pilot.app.action_train()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def type_into(pilot, selector: str, text: str) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.value = ""
    field.focus()
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause()


@pytest.fixture
def in_tmp(tmp_path):
    """The lab launched from an empty working directory."""
    before = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(before)


@pytest.mark.parametrize("size", SIZES)
async def test_save_names_the_file_after_the_setup_and_describes_it(in_tmp, size):
    app = make_app()  # the shipped centered_disk: SGD, with an [expect] of its own
    async with app.run_test(size=size) as pilot:
        await use_adam(pilot)
        await train(pilot)
        in_lab = app.session.history.final.metrics()
        app.action_save()
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SaveDialog)
        field = dialog.query_one("#save-path", Input)
        assert field.value == "centered_disk-adam.toml"
        for widget in dialog.query("Input, Button, Checkbox"):  # all of it on screen
            assert widget.region.right <= size[0] and widget.region.bottom <= size[1]
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, SaveDialog)
    saved = in_tmp / "centered_disk-adam.toml"
    document = tomllib.loads(saved.read_text())
    assert document["name"] == "centered_disk-adam"
    assert "expect" not in document  # the shipped file's bounds are not carried
    assert document["description"] == describe(load_scenario(saved))
    assert "Adam" in document["description"] and "SGD" not in document["description"]
    assert "lr 0.005" in document["description"] and "4 epochs" in document["description"]
    assert run_scenario(load_scenario(saved)).final.metrics() == in_lab
    assert main(["replay", str(saved)]) == 0


async def test_saving_over_a_file_asks_first(in_tmp):
    target = in_tmp / "mine.toml"
    target.write_text("keep me\n")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.action_save()
        await pilot.pause()
        await type_into(pilot, "#save-path", "mine")  # .toml is added
        await pilot.press("enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SaveDialog)
        message = str(dialog.query_one("#save-message", Label).content)
        assert "mine.toml exists" in message
        assert str(dialog.query_one("#save-ok", Button).label) == "Replace"
        assert target.read_text() == "keep me\n"
        await pilot.press("enter")  # confirmed
        await pilot.pause()
        assert not isinstance(app.screen, SaveDialog)
    assert tomllib.loads(target.read_text())["name"] == "mine"
    # Escape leaves a file alone
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.action_save()
        await pilot.pause()
        await type_into(pilot, "#save-path", "other.toml")
        await pilot.press("escape")
        await pilot.pause()
        assert not (in_tmp / "other.toml").exists()


async def test_the_reached_metrics_can_be_recorded_as_expectations_that_replay_meets(in_tmp):
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await use_adam(pilot, epochs=5)
        app.action_save()  # before training: nothing reached, nothing to record
        await pilot.pause()
        assert not app.screen.query(Checkbox)
        await pilot.press("escape")
        await train(pilot)
        final = app.session.history.final
        app.action_save()
        await pilot.pause()
        app.screen.query_one("#save-record", Checkbox).value = True
        await pilot.press("enter")
        await pilot.pause()
    document = tomllib.loads((in_tmp / "centered_disk-adam.toml").read_text())
    assert document["expect"] == {
        "min_test_accuracy": pytest.approx(final.test_accuracy, abs=1e-3),
        "min_test_f1": pytest.approx(final.f1, abs=1e-3),
    }
    assert document["expect"]["min_test_accuracy"] <= final.test_accuracy
    assert f"test accuracy {final.test_accuracy:.3f}" in document["description"]
    assert main(["replay", str(in_tmp / "centered_disk-adam.toml")]) == 0


async def test_load_takes_shipped_names_and_paths_and_says_what_is_missing(in_tmp):
    own = in_tmp / "own.toml"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await use_adam(pilot)
        app.save_to(str(own))
        app.action_load()
        await pilot.pause()
        assert isinstance(app.screen, LoadDialog)
        await type_into(pilot, "#load-path", "no_such_thing")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LoadDialog)  # stays open, says why
        message = str(app.screen.query_one("#load-message", Label).content)
        assert message == "no file and no shipped scenario named no_such_thing"
        await type_into(pilot, "#load-path", "quarter_c")
        await pilot.press("tab")  # completes the shipped name
        assert app.screen.query_one("#load-path", Input).value == "quarter_circle"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, LoadDialog)
        assert app.scenario.data.kind == "quarter_circle"
        assert status(app) == f"loaded {resolve_scenario_path('quarter_circle')}"
        await app.load_from("own.toml")  # a path, relative to the working directory
        await pilot.pause()
        assert app.scenario.training.optimizer.type == "Adam"
        assert status(app) == "loaded own.toml"


async def test_browse_opens_a_file_picker_that_loads_the_chosen_file(in_tmp):
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.action_load()
        await pilot.pause()
        await pilot.click("#load-browse")
        await pilot.pause()
        assert isinstance(app.screen, FileOpen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LoadDialog)
        dialog = app.screen
        dialog._picked(resolve_scenario_path("quarter_circle"))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.scenario.data.kind == "quarter_circle"


def test_completion_offers_shipped_names_folders_and_scenario_files(in_tmp):
    (in_tmp / "runs").mkdir()
    (in_tmp / "runs" / "adam.toml").write_text("")
    (in_tmp / "runs" / "notes.txt").write_text("")
    assert completion("centered_disk_b") == "centered_disk_batchnorm"
    assert completion("ru") == "runs/"
    assert completion("runs/") == "runs/adam.toml"
    assert completion("runs/n") is None  # not a scenario file
    assert completion(f"{in_tmp}/ru") == f"{in_tmp}/runs/"
    assert find_scenario("runs/adam.toml") == Path("runs/adam.toml")
    assert find_scenario("centered_disk") == resolve_scenario_path("centered_disk")
    assert find_scenario("centered_disk.toml") == resolve_scenario_path("centered_disk")
    assert find_scenario("missing") is None


async def test_a_csv_setup_is_described_with_its_file(in_tmp):
    data = in_tmp / "points.csv"
    data.write_text("".join(f"{i / 200},{(i * 7 % 200) / 200},{i % 2}\n" for i in range(200)))
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await set_value(pilot, "#data-kind", "csv")
        await set_value(pilot, "#csv-path", str(data))
        assert app.scenario is not None, app.query_one("#settings-errors", Label).content
        app.save_to("csv-run.toml")
    text = describe(load_scenario(in_tmp / "csv-run.toml"))
    assert str(data) in text and "kept for testing" in text
