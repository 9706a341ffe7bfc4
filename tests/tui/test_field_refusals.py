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
