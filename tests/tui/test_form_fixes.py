"""What a person does at the keyboard in the lab's form, at typing speed and faster."""

from __future__ import annotations

import asyncio
import itertools

from textual import events
from textual.widgets import Checkbox, Input, RichLog, Select, Static
from textual_plotext import PlotextPlot

from tests.tui.pilot import status
from tui.app import make_app
from tui.widgets.charts import MetricChart, linear_ticks
from tui.widgets.help_screen import SCREEN_GUIDE
from tui.widgets.layer_dialog import LayerDialog, TypeList
from tui.widgets.layer_list import LayerList
from tui.widgets.model_panel import ModelPanel

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


# --- layout at 80x24 and on resize -------------------------------------------------------
async def test_no_field_label_touches_its_value_at_80_and_120_columns():
    for size in ((80, 24), (120, 36)):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            for more in (False, True):
                app.screen.set_class(more, "-more")
                await settle(pilot, 3)
                for label in app.query(".field-label"):
                    if label.region.width:
                        text = str(label.content)
                        assert len(text) < label.region.width, (size, text)


async def test_both_charts_start_on_the_same_row_at_80_columns():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#epochs", Input).value = "3"
        await pilot.pause()
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await settle(pilot, 3)
        app.redraw_charts()
        await settle(pilot, 3)
        loss, accuracy = (
            app.query_one(f"#{name}-chart").query_one(PlotextPlot) for name in ("loss", "accuracy")
        )
        assert loss.region.y == accuracy.region.y
        assert loss.region.height == accuracy.region.height
        for chart in app.query(MetricChart):
            legend = str(chart.query_one(".chart-legend").content)
            assert "train" in legend and "test" in legend


def test_linear_value_ticks_are_round_and_evenly_spaced():
    ticks = linear_ticks(0.024, 0.282, 5)
    assert ticks == [0.05, 0.1, 0.15, 0.2, 0.25]
    assert linear_ticks(0.485, 0.991, 5) == [0.5, 0.6, 0.7, 0.8, 0.9]
    steps = {round(b - a, 12) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    assert linear_ticks(1.0, 1.0, 5) == [1.0]


async def test_the_epoch_table_shows_the_latest_epochs_after_a_resize():
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        app.query_one("#epochs", Input).value = "60"
        await pilot.pause()
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await settle(pilot, 3)
        await pilot.resize_terminal(80, 24)
        await settle(pilot, 3)
        await pilot.press("z")
        await settle(pilot, 5)
        log = app.query_one("#metrics", RichLog)
        assert log.scroll_y == log.max_scroll_y > 0


# --- help ------------------------------------------------------------------------------
async def test_help_has_one_width_row_says_f1_works_in_a_field_and_explains_the_buttons():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        rows = {key: where for key, _, where in app.screen.keys}
        assert "+/-" in rows and "-" not in rows
        assert rows["f1"] == "everywhere" and rows["?"] == "outside a field"
        assert rows["ctrl+s"] == "everywhere"
        assert rows["t"] == rows["p"] == "outside a field, inside a layer"
        assert rows["escape q i"] == "inside a layer"
        assert "Train is green, Stop red" in SCREEN_GUIDE and "reverse video" in SCREEN_GUIDE


# --- the layer dialog ----------------------------------------------------------------------
async def test_editing_a_relu_starts_in_the_type_list_where_a_letter_picks_a_type():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        panel = app.query_one(ModelPanel)
        await pilot.press("down", "e")  # layer 1 is a ReLU
        assert isinstance(app.screen, LayerDialog)
        assert isinstance(app.focused, TypeList)
        await pilot.press("t", "enter")
        assert panel.specs[1] == {"type": "Tanh"}
        await pilot.press("up", "e")  # a Linear: its width, selected
        assert isinstance(app.focused, Input) and app.focused.id == "layer-arguments"
        await pilot.press("3", "0", "enter")
        assert panel.specs[0] == {"type": "Linear", "out_features": 30}


async def test_the_layer_dialog_says_what_is_wrong_while_typing():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("e")
        error = app.screen.query_one("#layer-dialog-error", Static)
        await pilot.press("ctrl+u", "x", "=")
        assert str(error.content) != ""
        await pilot.press("ctrl+u", "1", "2")
        assert str(error.content) == ""
        await pilot.press("a")
        assert "cannot read 'out_features=12a'" in str(error.content)
        await pilot.press("backspace", "enter")
        assert app.query_one(ModelPanel).specs[0] == {"type": "Linear", "out_features": 12}


# --- messages in the lab's words -----------------------------------------------------------
async def test_form_messages_say_what_to_do_in_the_labs_words():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one("#epochs", Input).value = "1e3"
        await pilot.pause()
        assert str(app.query_one("#epochs-error").content) == (
            "training.epochs = 1e3: must be a whole number (e.g. 1000)"
        )
        app.query_one("#epochs", Input).value = "2.5"
        await pilot.pause()
        assert "training.epochs = 2.5: must be a whole number >= 1" in status(app)
        app.query_one("#epochs", Input).value = "3"
        app.query_one(ModelPanel).set_layers([])
        await settle(pilot, 3)
        assert status(app) == "Train is disabled: the model has no layers: press a to add one"
        assert "press a to add one" in str(app.query_one("#model-summary").content)
        app.query_one(ModelPanel).set_layers([{"type": "Linear", "out_features": 2}])
        app.query_one("#data-kind", Select).value = "csv"
        await settle(pilot, 3)
        assert status(app) == "Train is disabled: data.path: choose a CSV file (More settings, m)"
        await pilot.press("escape", "m")
        assert app.more_shown
        app.query_one("#noise", Input).value = "2"
        await pilot.pause()
        assert "(press m: more settings)" not in status(app)
        await pilot.press("m")
        assert status(app).endswith("(press m: more settings)")
        assert str(app.query_one("#csv-path-error").content) == (
            "data.path: choose a CSV file (More settings, m)"
        )


# --- palette, tick boxes, arguments hint, rows, focus ----------------------------------------
async def test_the_palette_has_the_labs_commands_only_and_picks_data_set_and_optimizer():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        assert "Keys" not in commands and "Maximize" not in commands
        assert "vs torch on/off (next reset)" in commands
        commands["Data set: xor"].callback()
        commands["Optimizer: Adam"].callback()
        await settle(pilot, 3)
        assert app.scenario.data.kind == "xor"
        assert app.scenario.training.optimizer.type == "Adam"


async def test_unticked_feature_boxes_look_unticked_without_colour():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("m")
        ticked = app.query_one("#feature-f0", Checkbox)
        unticked = app.query_one("#feature-f2", Checkbox)
        assert ticked.value and not unticked.value
        assert ticked._button.plain == "▐X▌" and unticked._button.plain == "▐ ▌"


async def test_the_optimizer_arguments_hint_is_never_cut():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("m")
        field = app.query_one("#optimizer-args", Input)
        assert len(field.placeholder) < field.region.width
        hint = app.query_one("#optimizer-args-hint", Static)
        app.query_one("#optimizer", Select).value = "Adam"
        await settle(pilot, 3)
        assert str(hint.content) == "Adam takes betas, eps, weight_decay, amsgrad, maximize"
        assert hint.region.height >= 1 and hint.region.right <= app.query_one("#left").region.right


async def test_a_long_layer_row_keeps_the_columns_of_the_others():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        panel = app.query_one(ModelPanel)
        layers = list(panel.specs)
        layers[3] = {"type": "LeakyReLU", "negative_slope": 0.2}
        panel.set_layers(layers)
        await settle(pilot, 3)
        rows = app.query_one(LayerList)
        columns = set()
        for index in range(rows.option_count):
            for line in str(rows.get_option_at_index(index).prompt).split("\n"):
                if "→" in line:
                    columns.add(line.index("→"))
        assert len(columns) == 1


async def test_fast_typing_in_the_save_dialog_keeps_every_key():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await settle(pilot)
        field = app.screen.query_one("#save-path", Input)
        assert field.has_focus
        field.cursor_position = len(field.value)
        send_back_to_back(app, ["backspace"] * (len(field.value) + 2) + list("my-run.toml"))
        await settle(pilot)
        assert field.value == "my-run.toml"
