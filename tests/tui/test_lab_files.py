"""The lab's file dialogs refuse what cannot work, in words, and keep the text typed:
a name too long, a folder, a device, a missing folder, an unreadable or invalid file.
Weights and the history ask before replacing a file, and a failed weight load changes
nothing on screen."""

from __future__ import annotations

import os

import pytest
from textual.widgets import Input, Label

from tui.app import MinidlLab, make_app
from tui.widgets.scenario_dialogs import LoadDialog, SaveDialog

SIZE = (120, 36)


def status(app: MinidlLab) -> str:
    return str(app.query_one("#status").content)


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


async def finish(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
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
        assert said(app, "#save-message") == f"cannot write {long_name}: the name is too long"
        folder = in_tmp / "runs"
        folder.mkdir()
        await submit(pilot, "#save-path", str(folder))
        assert said(app, "#save-message") == f"{folder} is a folder: give a file name"
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
