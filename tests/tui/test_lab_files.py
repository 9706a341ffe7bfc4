"""The lab's file dialogs refuse what cannot work, in words, and keep the text typed:
a name too long, a folder, a device, a missing folder, an unreadable or invalid file.
Weights and the history ask before replacing a file, and a failed weight load changes
nothing on screen."""

from __future__ import annotations

import errno
import os

import pytest
from textual.widgets import Button, Input, Label, ProgressBar

import minidl
from tests.tui.pilot import finish, status
from tui.app import MinidlLab, make_app
from tui.widgets.layer_list import LayerList
from tui.widgets.path_prompt import PathPrompt
from tui.widgets.scenario_dialogs import LoadDialog, SaveDialog

SIZE = (120, 36)


def said(app: MinidlLab, selector: str) -> str:
    return str(app.screen.query_one(selector, Label).content)


async def submit(pilot, selector: str, text: str) -> None:
    """Type ``text`` into the dialog's field (set at once) and press Enter."""
    field = pilot.app.screen.query_one(selector, Input)
    field.value = text
    field.focus()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_the_save_dialog_refuses_what_it_cannot_write_and_stays_open(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        long_name = "x" * 300 + ".toml"
        await submit(pilot, "#save-path", long_name)
        assert app.is_running and isinstance(app.screen, SaveDialog)
        assert app.screen.query_one("#save-path", Input).value == long_name  # kept
        assert said(app, "#save-message") == (
            f"cannot write {'x' * 29}…{'x' * 24}.toml: the name is too long"
        )
        folder = in_tmp / "runs"
        folder.mkdir()
        await submit(pilot, "#save-path", "runs")
        assert said(app, "#save-message") == "runs is a folder: give a file name"
        assert not (in_tmp / "runs.toml").exists()
        await submit(pilot, "#save-path", "/dev/null")
        assert said(app, "#save-message") == (
            "/dev/null is not a regular file (a device, pipe or socket): give a file name"
        )
        assert not os.path.exists("/dev/null.toml")
        await submit(pilot, "#save-path", "sub/dir/new.toml")
        assert said(app, "#save-message") == (
            "folder sub/dir does not exist: create it first or choose another"
        )
        assert not (in_tmp / "sub").exists()
        assert isinstance(app.screen, SaveDialog)
        await submit(pilot, "#save-path", "runs/new")  # a name in the folder: saved
        assert not isinstance(app.screen, SaveDialog)
        assert (folder / "new.toml").is_file()
        assert status(app).startswith("saved runs/new.toml")


async def test_a_write_the_system_refuses_is_said_plainly_in_the_dialog(in_tmp, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "mine.toml")

    monkeypatch.setattr("tui.lab_files.save_scenario", refused)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        await submit(pilot, "#save-path", "mine.toml")
        assert isinstance(app.screen, SaveDialog)
        assert said(app, "#save-message") == "cannot write mine.toml: permission denied"


async def test_the_load_dialog_says_what_a_path_is_and_every_failure_keeps_it_open(in_tmp):
    (in_tmp / "runs").mkdir()
    (in_tmp / "bin.toml").write_bytes(bytes(range(256)))
    (in_tmp / "bad.toml").write_text('name = "bad"\n[training]\nlr = -1\nepochs = 0\n')
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        layers = list(app.document["model"]["layers"])
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, LoadDialog)
        await submit(pilot, "#load-path", "runs")
        assert said(app, "#load-message") == "runs is a folder, not a file"
        await submit(pilot, "#load-path", "/dev/zero")
        assert said(app, "#load-message") == (
            "/dev/zero is not a regular file (a device, pipe or socket)"
        )
        await submit(pilot, "#load-path", "bin.toml")
        assert isinstance(app.screen, LoadDialog)  # open, as for a missing file
        assert "bin.toml is not UTF-8 text" in said(app, "#load-message")
        await submit(pilot, "#load-path", "bad.toml")
        assert isinstance(app.screen, LoadDialog)
        message = said(app, "#load-message")
        assert message.startswith("bad.toml: ")
        assert "\n  - training.lr = -1: must be a finite number > 0" in message  # one a line
        assert app.screen.query_one("#load-message").region.bottom <= 24
        # what is typed next goes into the field, never to the lab's keys
        app.screen.query_one("#load-path", Input).value = ""
        await pilot.press("l", "m", "a", "d")
        await pilot.pause()
        assert isinstance(app.screen, LoadDialog)
        assert app.screen.query_one("#load-path", Input).value == "lmad"
        assert app.document["model"]["layers"] == layers
        assert "bad.toml" not in status(app)


async def test_w_on_a_fresh_lab_saves_the_model_on_screen_and_asks_before_replacing(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.session is None
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)
        await submit(pilot, "#prompt-path", "/nonexistent_fixfiles/x.pt")
        assert isinstance(app.screen, PathPrompt)
        assert said(app, "#prompt-message") == (
            "folder /nonexistent_fixfiles does not exist: create it first or choose another"
        )
        assert not os.path.exists("/nonexistent_fixfiles")
        await submit(pilot, "#prompt-path", "/tmp")
        assert said(app, "#prompt-message") == "/tmp is a folder: give a file name"
        assert "Errno" not in said(app, "#prompt-message")
        await submit(pilot, "#prompt-path", "weights.pt")
        assert not isinstance(app.screen, PathPrompt)
        assert status(app) == "saved the weights to weights.pt"
        initial = app.session.state_dict()
        saved = minidl.load(in_tmp / "weights.pt")
        assert saved.keys() == initial.keys()
        assert all((saved[key] == initial[key]).all() for key in saved)
        # a second w to the same file asks first, as saving a scenario does
        (in_tmp / "weights.pt").write_bytes(b"keep me")
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)
        assert said(app, "#prompt-message") == ("weights.pt exists: OK again (Enter) to replace it")
        assert str(app.screen.query_one("#prompt-ok", Button).label) == "Replace"
        assert (in_tmp / "weights.pt").read_bytes() == b"keep me"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PathPrompt)
        assert minidl.load(in_tmp / "weights.pt").keys() == initial.keys()


async def test_w_after_the_setup_changed_says_it_saves_the_last_runs_model(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#epochs", Input).value = "2"
        await pilot.press("t")
        await finish(pilot)
        trained = app.session.state_dict()
        app.query_one(LayerList).focus()
        app.query_one(LayerList).highlighted = 0
        await pilot.press("+")  # a wider first layer: a new model, not built yet
        await pilot.pause()
        assert app.write_weights("after.pt") is None
        assert status(app) == (
            "saved the weights to after.pt: the last run's model; the setup on screen "
            "changed since (r builds it)"
        )
        saved = minidl.load(in_tmp / "after.pt")
        assert all((saved[key] == trained[key]).all() for key in saved)


async def test_export_asks_before_replacing_and_refuses_a_folder_in_words(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#epochs", Input).value = "2"
        await pilot.press("t")
        await finish(pilot)
        (in_tmp / "out.csv").write_text("keep me\n")
        await pilot.press("h")
        await pilot.pause()
        await submit(pilot, "#prompt-path", "/tmp")
        assert said(app, "#prompt-message") == "/tmp is a folder: give a file name"
        await submit(pilot, "#prompt-path", "/")
        assert said(app, "#prompt-message") == "/ is a folder: give a file name"
        await submit(pilot, "#prompt-path", "out.csv")  # would be replaced by its own CSV
        assert said(app, "#prompt-message") == (
            "out.csv: give the JSON's name; the .csv is written beside it"
        )
        assert (in_tmp / "out.csv").read_text() == "keep me\n"
        await submit(pilot, "#prompt-path", "out.json")
        assert said(app, "#prompt-message") == ("out.csv exists: OK again (Enter) to replace it")
        assert not (in_tmp / "out.json").exists()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PathPrompt)
        assert status(app).startswith("wrote out.json and out.csv (2 epochs")
        assert (in_tmp / "out.csv").read_text() != "keep me\n"


async def test_a_weight_load_that_does_not_fit_changes_nothing(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#epochs", Input).value = "3"
        await pilot.press("t")
        await finish(pilot)
        app.save_weights_to("weights.pt")
        session = app.session
        app.query_one(LayerList).focus()
        await pilot.press("home", "plus")  # the first Linear one wider: another shape
        await pilot.pause()
        assert app.scenario != session.scenario
        await pilot.press("l")
        await pilot.pause()
        await submit(pilot, "#prompt-path", "weights.pt")
        assert isinstance(app.screen, PathPrompt)  # says why, the path kept
        assert "shape" in said(app, "#prompt-message")
        assert app.session is session and len(session.history.epochs) == 3
        assert app.query_one(ProgressBar).progress == 3
        await pilot.press("escape")
        await pilot.pause()
        assert app.session is session
        assert app.query_one(ProgressBar).progress == 3


async def test_completing_a_path_the_system_refuses_suggests_nothing_and_says_why(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        field = app.screen.query_one("#save-path", Input)
        field.value = ""
        field.focus()
        await pilot.press(*"~nobody_fixfiles/x")
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        assert said(app, "#save-message") == (
            "cannot write ~nobody_fixfiles/x: not a usable file name"
        )
