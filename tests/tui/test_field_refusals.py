"""What the lab refuses as it is typed: the scenario reader's problems, beside the field."""

from __future__ import annotations

from textual.widgets import Input, Select

from tui.app import make_app

SIZE = (120, 36)


async def test_optimizer_arguments_the_optimizer_refuses_show_under_its_field():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        app.query_one("#optimizer", Select).value = "SGD"
        app.query_one("#optimizer-args", Input).value = "nesterov=true"
        await pilot.pause()
        await pilot.pause()
        assert str(app.query_one("#optimizer-args-error").content) == (
            "training.optimizer.nesterov = true: Nesterov momentum requires a momentum > 0 "
            "and zero dampening"
        )
        assert app.query_one("#train").disabled
        app.query_one("#optimizer-args", Input).value = "momentum=0.9, nesterov=true"
        await pilot.pause()
        await pilot.pause()
        assert str(app.query_one("#optimizer-args-error").content) == ""


async def test_the_layer_dialog_shows_value_problems_as_typed_and_refuses_enter():
    from textual.widgets import Static

    from tui.widgets.layer_dialog import LayerDialog
    from tui.widgets.model_panel import ModelPanel

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ModelPanel)
        before = [dict(layer) for layer in panel.specs]
        await pilot.press("e")  # layer 0, a Linear, its width selected
        assert isinstance(app.screen, LayerDialog)
        error = app.screen.query_one("#layer-dialog-error", Static)
        box = app.screen.query_one("#layer-arguments", Input)
        for typed, expected in [
            ("-3", "model.layers[0].out_features = -3: Linear: must be an integer > 0"),
            ("abc=1", "model.layers[0].abc: Linear takes no argument 'abc'"),
            ("1000000000", "model.layers[0] (Linear): the model would need about"),
        ]:
            box.value = typed
            await pilot.pause()
            assert str(error.content).startswith(expected), str(error.content)
            await pilot.press("enter")
            assert isinstance(app.screen, LayerDialog)  # still open: nothing changed
            assert panel.specs == before
        box.value = "12"
        await pilot.pause()
        assert str(error.content) == ""
        await pilot.press("enter")
        assert not isinstance(app.screen, LayerDialog)
        assert panel.specs[0] == {"type": "Linear", "out_features": 12}
        assert not app.query_one("#train").disabled


async def test_a_layer_added_with_a_bad_value_is_refused_in_the_dialog():
    from textual.widgets import Static

    from tui.widgets.layer_dialog import LayerDialog
    from tui.widgets.model_panel import ModelPanel

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ModelPanel)
        count = len(panel.specs)
        await pilot.press("a", "d", "tab")  # a Dropout after layer 0, its p
        assert isinstance(app.screen, LayerDialog)
        app.screen.query_one("#layer-arguments", Input).value = "1.5"
        await pilot.pause()
        error = str(app.screen.query_one("#layer-dialog-error", Static).content)
        assert error == "model.layers[1].p = 1.5: Dropout: must be a number in [0, 1]"
        await pilot.press("enter")
        assert isinstance(app.screen, LayerDialog) and len(panel.specs) == count


async def test_a_whole_number_is_suggested_only_when_the_field_takes_it():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#epochs", Input).value = "1e9"
        await pilot.pause()
        assert str(app.query_one("#epochs-error").content) == (
            "training.epochs = 1e9: must be a whole number >= 1 and <= 1000000"
        )
        app.query_one("#epochs", Input).value = "1e3"
        await pilot.pause()
        assert str(app.query_one("#epochs-error").content) == (
            "training.epochs = 1e3: must be a whole number (e.g. 1000)"
        )
        n_train = int(app.query_one("#n-train", Input).value)
        app.query_one("#batch-size", Input).value = "5e4"
        await pilot.pause()
        assert str(app.query_one("#batch-size-error").content) == (
            "training.batch_size = 5e4: must be a whole number >= 1; 50000 is larger than the "
            f"training set (data.n_train = {n_train})"
        )


async def test_the_example_under_optimizer_args_is_one_the_optimizer_takes():
    from scenarios.registry import OPTIMIZERS
    from tui.widgets.arguments import parse_name_values
    from tui.widgets.settings_panel import ARGUMENT_EXAMPLES

    assert set(ARGUMENT_EXAMPLES) == {c.name for c in OPTIMIZERS.values()}
    for name, example in ARGUMENT_EXAMPLES.items():
        assert set(parse_name_values(example)) <= set(OPTIMIZERS[name.lower()].args)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        app.query_one("#optimizer", Select).value = "Adam"
        app.query_one("#optimizer-args", Input).value = "x"
        await pilot.pause()
        await pilot.pause()
        assert str(app.query_one("#optimizer-args-error").content) == (
            "training.optimizer: 'x' is not name=value (write name=value pairs, "
            "e.g. weight_decay=0.01)"
        )
