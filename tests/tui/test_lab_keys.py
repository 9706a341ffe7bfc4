"""The lab as a keyboard user meets it: layout at three sizes, model editing with single
keys, keys that never clash with fields, user text that is never markup, validation
beside the field, and one error boundary around every action."""

from __future__ import annotations

import os
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Button, Input, Label, Static
from textual.widgets._footer import FooterKey

import minidl
from tests.tui.pilot import status
from tui.app import make_app
from tui.widgets.help_screen import HelpScreen
from tui.widgets.layer_dialog import LayerDialog
from tui.widgets.layer_list import LayerList
from tui.widgets.model_panel import PRESETS, ModelPanel
from tui.widgets.scenario_dialogs import LoadDialog

SIZES = [(80, 24), (120, 36), (200, 50)]
PRINTABLE = [c for c in string.printable if c.isprintable()]  # the 95 of ASCII 32-126


def inside(region, size) -> bool:
    return (
        region.width > 0
        and region.height > 0
        and region.right <= size[0]
        and (region.bottom <= size[1])
    )


async def type_fast(pilot, characters: list[str]) -> None:
    """Key presses as the terminal sends them, one event per character, drawn once at the
    end (``pilot.press`` waits for a redraw after every key: minutes for this test)."""
    for character in characters:
        pilot.app.post_message(events.Key(_character_to_key(character), character))
    await pilot.pause()
    await pilot.pause()


async def train_to_end(pilot) -> None:
    await pilot.press("t")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# --- 1. layout ----------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
async def test_first_screen_shows_every_layer_the_setup_charts_map_and_status(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        rows = app.query_one(LayerList)
        assert rows.option_count == 7 and inside(rows.region, size)
        assert rows.region.height == 7  # every layer's row on screen, none scrolled away
        first = str(rows.get_option_at_index(0).prompt).split()
        assert first == ["0", "Linear", "25", "→", "25", "75", "p"]
        summary = str(app.query_one("#model-summary", Static).content)
        assert summary == ("2 → (Linear 25 → ReLU) × 3 → Linear 2 → 2 · 1,427 parameters")
        assert inside(app.query_one("#model-summary").region, size)
        for selector in ("#loss-chart", "#accuracy-chart", "#boundary", "#status", "#train"):
            assert inside(app.query_one(selector).region, size), selector
        fields = ("#data-kind", "#loss", "#optimizer", "#lr", "#batch-size", "#epochs")
        for selector in fields:
            assert inside(app.query_one(selector).region, size), selector
        if size != (80, 24):  # there the epoch table is one key away (z)
            assert inside(app.query_one("#metrics").region, size)
        if size == (200, 50):  # tall enough for the other settings too
            for selector in ("#csv-path", "#n-train", "#noise", "#scheduler", "#init", "#seed"):
                assert inside(app.query_one(selector).region, size), selector


def every_row_shown(app, size) -> bool:
    """The layer list on screen with none of its lines scrolled away."""
    rows = app.query_one(LayerList)
    return inside(rows.region, size) and rows.max_scroll_y == 0


@pytest.mark.parametrize("size", SIZES)
async def test_after_a_run_every_layer_row_and_the_setup_stay_on_the_first_screen(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await train_to_end(pilot)
        await pilot.pause()
        assert status(app).startswith("completed after 200 epochs")
        rows = app.query_one(LayerList)
        assert rows.option_count == 7 and every_row_shown(app, size)
        fields = ("#data-kind", "#loss", "#optimizer", "#lr", "#batch-size", "#epochs")
        for selector in ("#model-summary", *fields):
            assert inside(app.query_one(selector).region, size), selector
        shown = [rows.get_option_at_index(i).prompt.plain for i in range(7)]
        assert all("e-0" in row for row in shown)  # every layer's health, in some form
        title = str(app.query_one("#model-title", Label).content)
        if size == (80, 24):  # no room for the lines under each row: ‖∂L/∂x‖ on the row
            assert title == "Model · ∂x at epoch 200, i: more"
            selected = rows.highlighted  # and the selected layer's in full, where it fits
            others = [row for index, row in enumerate(shown) if index != selected]
            assert all("\n" not in row and "∂W" not in row for row in others)
        else:  # every layer's health in full under its row
            assert title == "Model · health at epoch 200"
            assert "∂W" in shown[0] and "ΔW/W" in shown[0] and "dead" in shown[1]


@pytest.mark.parametrize("size", SIZES)
async def test_a_long_status_wraps_instead_of_being_cut(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        text = "completed after 200 epochs · " + "precision 0.965, recall 0.979, F1 0.972 · " * 3
        app.set_status(text)
        await pilot.pause()
        region = app.query_one("#status").region
        assert inside(region, size)
        assert (region.width - 2) * region.height >= len(text)


async def test_z_gives_charts_map_and_table_the_whole_width_at_80_columns():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.query_one("#metrics").region.width == 0  # no room beside the map
        await pilot.press("z")
        assert app.query_one("#metrics").region.width > 40
        assert app.query_one("#loss-chart").region.width >= 39
        await pilot.press("escape")  # Escape leaves the zoom too (as z does)
        assert app.query_one(LayerList).region.width > 0
        assert isinstance(app.focused, LayerList)


# --- 2. keyboard-first model editing ---------------------------------------------------
CLASSIC_KEYS = ["a", "l", "enter", "a", "r", "enter"] * 3 + ["a", "l", "tab", "2", "enter"]


@pytest.mark.parametrize("size", SIZES)
async def test_the_classic_network_takes_at_most_40_keys_from_an_empty_stack(size):
    assert len(CLASSIC_KEYS) == 23 <= 40
    app = make_app()
    async with app.run_test(size=size) as pilot:
        panel = app.query_one(ModelPanel)
        panel.set_layers([])
        await pilot.pause()
        assert isinstance(app.focused, LayerList)  # the model has the focus from the start
        await pilot.press(*CLASSIC_KEYS)
        assert panel.specs == PRESETS["classic 3×25 ReLU"]
        assert panel.selected == 6
        assert app.scenario is not None and not app.query_one("#train", Button).disabled


async def test_single_keys_edit_move_resize_and_remove_with_the_selection_following():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        panel = app.query_one(ModelPanel)
        await pilot.press("down", "down", "plus", "plus", "plus")
        assert panel.specs[2] == {"type": "Linear", "out_features": 28}
        assert panel.selected == 2
        await pilot.press("minus")
        assert panel.specs[2]["out_features"] == 27
        await pilot.press("shift+up")
        assert panel.specs[1] == {"type": "Linear", "out_features": 27} and panel.selected == 1
        await pilot.press("right_square_bracket")
        assert panel.specs[2]["type"] == "Linear" and panel.selected == 2
        await pilot.press("d")
        assert len(panel.specs) == 6 and panel.selected == 1
        await pilot.press("e")
        assert isinstance(app.screen, LayerDialog)
        await pilot.press("escape")  # cancels: nothing changes
        assert len(panel.specs) == 6 and not isinstance(app.screen, LayerDialog)
        # Enter edits too; a ReLU's dialog starts in the type list: type-ahead "ta"
        await pilot.press("enter", "t", "a", "enter")
        assert panel.specs[1] == {"type": "Tanh"} and panel.selected == 1


# --- 3. keys that never clash -----------------------------------------------------------
async def test_letters_type_into_a_field_escape_leaves_it_and_then_they_act():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one("#epochs", Input).focus()
        await pilot.press("ctrl+u", "2", "t", "p", "s", "x", "r", "q", "m", "z")
        assert app.query_one("#epochs", Input).value == "2tpsxrqmz"
        assert not app.running and app.is_running and app.session is None
        await pilot.press("ctrl+u", "1")
        assert not app.check_action("train", ())  # not offered in the footer either
        await pilot.press("escape")
        assert isinstance(app.focused, LayerList)
        assert app.check_action("train", ())
        await train_to_end(pilot)
        assert app.session.epochs_completed == 1


@pytest.mark.parametrize("focus", ["#layer-list", "#lr", "#loss", "#more"])
async def test_the_footer_fits_80_columns_in_every_focus(focus):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        if focus == "#more":
            await pilot.press("m")
        else:
            app.query_one(focus).focus()
        await pilot.pause()
        keys = list(app.query(FooterKey))
        assert keys
        for key in keys:
            assert inside(key.region, (80, 24)), key.key


async def test_help_lists_every_key_and_opens_from_a_field_with_f1():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {description for _, description, _ in app.screen.keys}
        for binding in [*app.BINDINGS, *LayerList.BINDINGS]:
            assert binding.tooltip in described
        await pilot.press("escape")
        app.query_one("#lr", Input).focus()
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.query_one("#lr", Input).value == "0.01"


async def test_m_opens_the_other_settings_and_brings_the_model_back():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        assert app.focused is app.query_one("#feature-f0")  # no text field: m still acts
        for selector in ("#n-train", "#noise", "#data-seed", "#scheduler", "#seed"):
            assert inside(app.query_one(selector).region, (80, 24)), selector
        await pilot.press("m")
        assert not app.more_shown and isinstance(app.focused, LayerList)
        await pilot.press("m", "shift+tab")  # back up into the data fields
        assert isinstance(app.focused, Input)
        await pilot.press("escape", "escape")  # out of the field, then back
        assert isinstance(app.focused, LayerList)


# --- 4. user text is never markup ---------------------------------------------------------
async def test_every_printable_character_in_every_input_keeps_the_lab_running():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        inputs = [widget.id for widget in app.query(Input)]
        assert len(inputs) == 12  # 3 under the model, 9 behind m
        for widget_id in inputs:
            widget = app.query_one(f"#{widget_id}", Input)
            more = widget_id not in ("lr", "batch-size", "epochs")
            app.screen.set_class(more, "-more")
            widget.focus()
            await pilot.press("ctrl+u")
            await type_fast(pilot, PRINTABLE)
            assert widget.value == "".join(PRINTABLE), widget_id
            assert app.query_one("#train", Button).disabled
            await pilot.pause()
        assert status(app).startswith("Train is disabled: ")
        assert "[\\\\]^_`{|}~" in str(app.query_one("#lr-error").content)  # as typed, not markup
        # the layer dialog's arguments and a file prompt get the same
        app.screen.remove_class("-more")
        app.query_one(LayerList).focus()
        await pilot.press("a", "tab", "ctrl+u")
        await type_fast(pilot, PRINTABLE)
        await pilot.press("enter")
        assert isinstance(app.screen, LayerDialog)
        assert "is not name=value" in str(app.screen.query_one("#layer-dialog-error").content)
        await pilot.press("escape", "ctrl+o")
        assert isinstance(app.screen, LoadDialog)
        await type_fast(pilot, PRINTABLE)
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running and app.return_code is None
        message = str(app.screen.query_one("#load-message", Label).content)
        assert "".join(PRINTABLE).strip() in message  # the path, as typed


# --- 5. validation beside the field ---------------------------------------------------------
async def test_problems_show_beside_their_field_named_as_in_a_file_and_the_status_says_why():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#lr", Input).value = "0"
        app.query_one("#batch-size", Input).value = "0"
        await pilot.pause()
        assert str(app.query_one("#lr-error").content) == (
            "training.lr = 0: must be a finite number > 0"
        )
        assert str(app.query_one("#batch-size-error").content) == (
            "training.batch_size = 0: must be an integer >= 1"
        )
        assert inside(app.query_one("#lr-error").region, (80, 24))
        assert status(app) == (
            "Train is disabled: training.batch_size = 0: must be an integer >= 1 "
            "(and 1 more, marked beside their fields)"
        )
        app.query_one("#lr", Input).value = "0.01"
        app.query_one("#batch-size", Input).value = "32"
        app.query_one("#noise", Input).value = "2"
        await pilot.pause()
        assert status(app).endswith("(press m: more settings)")
        assert "data.noise = 2: must be a number in [0, 1]" in status(app)
        app.query_one("#noise", Input).value = "0"
        await pilot.pause()
        assert status(app) == "ready: press t to train"
        assert not app.query_one("#train", Button).disabled


# --- one error boundary around every action; a crash exits non-zero -----------------------
async def test_a_save_that_raises_something_else_than_oserror_is_reported_and_the_lab_goes_on(
    tmp_path, monkeypatch
):
    def broken_save(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 64")

    monkeypatch.setattr(minidl, "save", broken_save)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one("#epochs", Input).value = "3"
        await pilot.pause()
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.save_weights_to(str(tmp_path / "w.pt"))
        await pilot.pause()
        assert status(app) == (
            "could not save the weights: RuntimeError: "
            "[enforce fail at inline_container.cc:672] unexpected pos 64"
        )
        assert not (tmp_path / "w.pt").exists()
        await pilot.press("s")  # still usable
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session.epochs_completed == 2


BROKEN_SCENARIOS = {
    "features": 'features = [["x1"]]\nlayers = [{ type = "Linear", out_features = 2 }]',
    "flatten": (
        'layers = [{ type = "Flatten", start_dim = 5 }, { type = "Linear", out_features = 2 }]'
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_SCENARIOS))
async def test_broken_scenario_files_through_load_leave_the_lab_usable(tmp_path, case):
    path = tmp_path / f"{case}.toml"
    path.write_text(
        textwrap.dedent("""\
        name = "broken"
        [data]
        kind = "xor"
        [training]
        loss = "MSELoss"
        optimizer = "SGD"
        lr = 0.1
        batch_size = 32
        epochs = 2
        [model]
        """)
        + BROKEN_SCENARIOS[case]
        + "\n"
    )
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await app.load_from(str(path))
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert app.query_one("#status").has_class("error")
        shown = status(app)
        assert shown.startswith(("could not load the scenario", "Train is disabled", f"{path}"))
        # the lab still trains (the form it shows is whole)
        if app.scenario is None:
            await app.apply_scenario(make_app().scenario)
            await pilot.pause()
        app.query_one("#epochs", Input).value = "1"
        await pilot.pause()
        await train_to_end(pilot)
        assert app.session.epochs_completed == 1


def test_an_uncaught_error_exits_with_status_1_and_one_line(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(
        textwrap.dedent("""\
        from tui.app import MinidlLab, make_app

        def boom(self):
            raise RuntimeError("boom [red]not markup[/red]")

        if __name__ == "__main__":
            MinidlLab.action_zoom = boom
            app = make_app()
            app.call_later(app.run_action, "zoom")
            app.run(headless=True, size=(80, 24))
        """)
    )
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("minidl-lab: internal error: RuntimeError: boom [red]not markup")


async def test_escape_leaves_a_select_too_and_letters_do_nothing_under_a_dialog():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one("#loss").focus()
        await pilot.press("escape")
        assert isinstance(app.focused, LayerList)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("t", "s")  # the help is open: no training behind it
        assert app.session is None and not app.running
        await pilot.press("escape")


async def test_presets_are_in_the_command_palette():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        assert "Preset: one hidden layer of 8" in commands
        commands["Preset: one hidden layer of 8"].callback()
        await pilot.pause()
        assert app.query_one(ModelPanel).specs == PRESETS["one hidden layer of 8"]
        assert "Train every epoch left (resumes a pause)" in commands


async def test_in_a_field_the_footer_names_the_keys_that_work_there():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#lr", Input).focus()
        await pilot.pause()
        shown = {key.key for key in app.query(FooterKey)}
        assert {"escape", "ctrl+s", "ctrl+o", "f1"} <= shown
        assert not shown & {"t", "p", "s", "m"}


async def test_t_with_a_problem_left_keeps_saying_why_train_is_disabled():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one("#epochs", Input).value = "0"
        await pilot.pause()
        reason = status(app)
        assert reason.startswith("Train is disabled: training.epochs = 0")
        await pilot.press("t", "s")
        assert app.session is None and not app.running
        assert status(app) == reason
        assert app.check_action("train", ()) is None  # dimmed in the footer
