"""The lab driven through Textual's pilot: no sleeps, waits on the worker and messages."""

from __future__ import annotations

import pytest
import torch
from textual.widgets import Button, Input, RichLog, Select

from scenarios import load_scenario
from scenarios.build import run_scenario
from tests.tui.pilot import set_input, status, wait_until
from tui.app import MinidlLab, make_app
from tui.widgets.boundary import POINT_COLOURS, BoundaryMap
from tui.widgets.charts import MetricChart
from tui.widgets.model_panel import ModelPanel

SIZE = (120, 36)


async def train_to_end(pilot) -> None:
    await pilot.press("t")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_for_first_epochs(pilot) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.session is not None and app.session.epochs_completed > 0)


async def test_default_lab_trains_with_one_key_and_fills_charts_and_table():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "20")
        await train_to_end(pilot)
        epochs = app.session.history.epochs
        assert len(epochs) == 20
        log = app.query_one("#metrics", RichLog)
        assert len(log.lines) == 20  # one line per epoch, under a fixed header
        assert str(log.lines[-1].text).split()[0] == "20"
        for chart_id in ("#loss-chart", "#accuracy-chart"):
            chart = app.query_one(chart_id, MetricChart)
            assert chart.point_count("train") == chart.point_count("test") == 20
        assert epochs[-1].test_accuracy > 0.6
        assert status(app).startswith("completed after 20 epochs")
        assert app.query_one("#boundary").grid  # the decision boundary was drawn


async def test_assemble_three_hidden_layers_choose_quarter_circle_and_train():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ModelPanel)
        panel.set_layers([])
        await pilot.pause()
        app.query_one("#layer-list").focus()
        for kind, width in [("Linear", 16), ("Tanh", None)] * 3 + [("Linear", 2)]:
            await pilot.press("a", kind[0].lower(), "tab")  # type-ahead, then the arguments
            if width is not None:
                await pilot.press(*str(width))
            await pilot.press("enter")
        assert [layer["type"] for layer in panel.specs] == ["Linear", "Tanh"] * 3 + ["Linear"]
        assert [
            layer.get("out_features") for layer in panel.specs if layer["type"] == "Linear"
        ] == [16, 16, 16, 2]
        app.query_one("#data-kind", Select).value = "quarter_circle"
        await set_input(pilot, "#epochs", "5")
        await set_input(pilot, "#lr", "0.05")
        await pilot.pause()
        assert app.scenario is not None and app.scenario.data.kind == "quarter_circle"
        await train_to_end(pilot)
        assert len(app.session.history.epochs) == 5
        # above chance: "always 0" scores 0.875 on the quarter circle
        assert app.session.history.final.test_accuracy >= 0.87


async def test_invalid_learning_rate_is_marked_and_disables_train_until_fixed():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#lr", "-0.1")
        assert app.query_one("#train", Button).disabled
        errors = str(app.query_one("#lr-error").content)
        assert errors == "training.lr = -0.1: must be a finite number > 0"
        await pilot.press("t")
        await pilot.pause()
        assert app.session is None and not app.running
        await set_input(pilot, "#lr", "0.01")
        assert not app.query_one("#train", Button).disabled
        assert str(app.query_one("#lr-error").content) == ""


async def test_an_invalid_stack_is_flagged_before_training():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ModelPanel)
        panel.set_layers([{"type": "Linear", "out_features": 3}])
        await pilot.pause()
        assert app.query_one("#train", Button).disabled
        assert "the data has 2 classes" in str(app.query_one("#model-summary").content)


async def test_pause_resume_and_stop_keep_the_app_usable():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "100000")
        await pilot.press("t")
        await wait_for_first_epochs(pilot)
        assert app.running
        await pilot.press("p")
        assert app.session.paused
        # the training process reports every finished epoch, then that it paused
        await wait_until(pilot, lambda: status(app).startswith("paused after"))
        frozen = app.session.epochs_completed
        assert status(app) == f"paused after {frozen} epochs (p resumes)"
        await pilot.pause()
        await pilot.pause()
        assert app.session.epochs_completed == frozen
        await pilot.press("p")
        assert not app.session.paused
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.running
        assert app.session.history.status == "stopped"
        assert status(app).startswith("stopped after ")
        assert "/100000 epochs" in status(app) and "completed" not in status(app)
        # still usable: one more epoch with Step
        done = app.session.epochs_completed
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session.epochs_completed == done + 1


async def test_a_scenario_saved_in_the_lab_replays_headless_to_the_same_numbers(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "15")
        await set_input(pilot, "#seed", "3")
        await train_to_end(pilot)
        in_lab = app.session.history.final.metrics()
        path = tmp_path / "from-lab.toml"
        app.save_to(str(path))
        await pilot.pause()
        assert path.exists() and "saved" in status(app)
    replayed = run_scenario(load_scenario(path)).final.metrics()
    assert replayed == in_lab


async def test_diverging_training_says_so():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#lr", "1e30")
        await set_input(pilot, "#epochs", "3")
        await train_to_end(pilot)
        assert app.session.history.status == "diverged"
        assert status(app).startswith("diverged: the loss became ")
        assert "after 0 epochs" not in status(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_layout_fits_small_and_large_terminals(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for widget_id in ("#train", "#loss-chart", "#boundary", "#status"):
            region = app.query_one(widget_id).region
            assert region.width > 0 and region.height > 0, widget_id
            assert region.right <= size[0] and region.bottom <= size[1], widget_id


async def test_compare_with_pytorch_draws_both_series_and_the_gap():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "6")
        app.query_one("#compare").value = True
        await pilot.pause()
        await train_to_end(pilot)
        assert app.session.compares_with_torch
        for chart_id in ("#loss-chart", "#accuracy-chart"):
            chart = app.query_one(chart_id, MetricChart)
            assert chart.point_count("train") == chart.point_count("torch train") == 6
            assert chart.point_count("torch test") == 6
        assert "largest loss gap vs torch" in status(app)
        assert app.session.max_loss_difference < 1e-5  # float32: rounding only


async def test_multiclass_data_set_moves_the_output_width_and_features_reach_the_model():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#data-kind", Select).value = "three_gaussians"
        await pilot.pause()
        await pilot.pause()
        assert app.query_one(ModelPanel).specs[-1]["out_features"] == 3
        app.query_one("#feature-f2").value = True  # x1^2
        await set_input(pilot, "#epochs", "5")
        await pilot.pause()
        assert app.scenario is not None
        assert app.scenario.data.num_classes == 3
        assert app.scenario.model.features == ("x1", "x2", "x1^2")
        await train_to_end(pilot)
        assert app.session.state_dict()["1.weight"].shape == (25, 3)  # features feed layer 1
        assert app.session.history.final.test_accuracy > 0.6  # chance is 1/3


async def test_layer_arguments_dropout_and_edit(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ModelPanel)
        panel.layer_list.focus()
        await pilot.press("down", "a", "d", "tab", "0", ".", "2", "enter")
        assert panel.specs[2] == {"type": "Dropout", "p": 0.2}
        assert panel.selected == 2  # the selection follows the new layer
        await pilot.press("e", "1", ".", "5", "enter")  # the arguments start selected
        # a value the scenario reader refuses is said in the dialog, which stays open
        assert "p = 1.5: Dropout: must be a number in [0, 1]" in str(
            app.screen.query_one("#layer-dialog-error").content
        )
        await pilot.press("escape")
        assert panel.specs[2] == {"type": "Dropout", "p": 0.2}
        assert not app.query_one("#train", Button).disabled


async def test_weights_save_and_load_round_trip(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "3")
        await train_to_end(pilot)
        path = tmp_path / "w.pt"
        app.save_weights_to(str(path))
        saved = app.session.state_dict()
        app.action_reset()  # a new training process starts in the worker
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.running and app.session is not None
        fresh = app.session.state_dict()["0.weight"]  # the seed's weights, not the trained ones
        assert not torch.equal(fresh, saved["0.weight"])
        app.load_weights_from(str(path))
        await pilot.pause()
        loaded = app.session.state_dict()
        assert all((loaded[k] == v).all() for k, v in saved.items())
        (tmp_path / "bad.pt").write_text("junk")
        app.load_weights_from(str(tmp_path / "bad.pt"))
        await pilot.pause()
        assert "corrupt" in status(app)


async def test_own_csv_data_trains_and_bad_rows_are_named(tmp_path):
    rows = [f"{(i * 7 % 50) / 50},{(i * 11 % 50) / 50},{int(i % 50 >= 25)}" for i in range(100)]
    good = tmp_path / "mine.csv"
    good.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#data-kind", Select).value = "csv"
        await set_input(pilot, "#csv-path", str(good))
        await set_input(pilot, "#batch-size", "10")
        await set_input(pilot, "#epochs", "3")
        assert app.scenario is not None and app.scenario.data.n_train == 50
        await train_to_end(pilot)
        assert len(app.session.history.epochs) == 3
        bad = tmp_path / "bad.csv"
        bad.write_text("0.1,0.2,0\n0.3,0.4,x\n")
        await set_input(pilot, "#csv-path", str(bad))
        assert app.query_one("#train", Button).disabled
        assert "bad.csv line 2: label must be an integer" in str(
            app.query_one("#csv-path-error").content
        )


async def test_the_boundary_map_covers_data_beyond_the_unit_square(tmp_path):
    rows = [f"{-3 + i * 0.06},{10 * (i % 7) / 7},{int(i % 2)}" for i in range(100)]
    data = tmp_path / "wide.csv"
    data.write_text("\n".join(rows) + "\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#data-kind", Select).value = "csv"
        await set_input(pilot, "#csv-path", str(data))
        await set_input(pilot, "#epochs", "1")
        await train_to_end(pilot)
        boundary = app.query_one(BoundaryMap)
        x1_from, x1_to, x2_from, x2_to = boundary.extent
        assert x1_from < -3 and x1_to > 2.94 and x2_from < 0 and x2_to > 60 / 7
        assert boundary.border_title.startswith("x1 -3.")
        # every shown test point lands on the map: as many dots as distinct cells
        dots = sum(colour in POINT_COLOURS for row in boundary.pixels() for colour in row)
        cells = {(round(x1, 6), round(x2, 6)) for x1, x2, _ in boundary.points}
        assert 0 < dots <= len(cells)


async def test_at_80_by_24_every_control_is_on_screen_and_training_works():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-narrow")
        for selector in ("#train", "#pause", "#step", "#stop", "#reset", "#compare", "#status"):
            region = app.query_one(selector).region
            assert region.width > 0 and region.right <= 80, selector
        await set_input(pilot, "#epochs", "2")
        await train_to_end(pilot)
        assert len(app.session.history.epochs) == 2


def errors(app: MinidlLab) -> str:
    """Every problem shown beside a field."""
    return "\n".join(str(label.content) for label in app.query(".field-error"))


async def test_optimizer_arguments_follow_the_optimizer_and_are_checked():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.query_one("#optimizer-args", Input).value == "momentum=0.9"
        await set_input(pilot, "#optimizer-args", "momentum=0.9, weight_decay=0.01")
        app.query_one("#optimizer", Select).value = "Adam"
        await pilot.pause()
        await pilot.pause()
        # Adam has no momentum: dropped; weight_decay kept
        assert app.query_one("#optimizer-args", Input).value == "weight_decay=0.01"
        assert "Adam takes betas, eps" in str(app.query_one("#optimizer-args-hint").content)
        await set_input(pilot, "#optimizer-args", "betas=[0.8, 0.99], weight_decay=0.01")
        assert app.scenario is not None
        assert app.scenario.training.optimizer.type == "Adam"
        assert app.scenario.training.optimizer.kwargs == {
            "betas": (0.8, 0.99),
            "weight_decay": 0.01,
        }
        await set_input(pilot, "#optimizer-args", "betas=[0.8, 1.5]")
        assert app.scenario is None and app.query_one("#train", Button).disabled
        assert "training.optimizer.betas" in errors(app)
        await set_input(pilot, "#optimizer-args", "eps")
        assert "training.optimizer: 'eps' is not name=value" in errors(app)


async def test_init_scheduler_and_clipping_reach_the_scenario_and_replay_the_same(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#init", Select).value = "xavier_uniform"
        await set_input(pilot, "#scheduler", "StepLR step_size=2, gamma=0.5")
        await set_input(pilot, "#clip", "1.0")
        await set_input(pilot, "#epochs", "4")
        scenario = app.scenario
        assert scenario is not None
        assert scenario.model.init == "xavier_uniform"
        assert scenario.training.scheduler.type == "StepLR"
        assert scenario.training.scheduler.kwargs == {"step_size": 2, "gamma": 0.5}
        assert scenario.training.clip_grad_norm == 1.0
        await train_to_end(pilot)
        in_lab = app.session.history.final.metrics()
        path = tmp_path / "scheduled.toml"
        app.save_to(str(path))
        await set_input(pilot, "#scheduler", "Nope gamma=1")
        assert "training.scheduler" in errors(app)
        await set_input(pilot, "#clip", "-1")
        assert "training.clip_grad_norm = -1: must be a finite number > 0" in errors(app)
    saved = load_scenario(path)
    assert saved.training.scheduler == scenario.training.scheduler
    assert run_scenario(saved).final.metrics() == in_lab
    # loaded back into the lab, the form shows the same set-up
    again = make_app(saved)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.scenario is not None
        assert again.scenario.training == saved.training and again.scenario.model == saved.model
        assert again.query_one("#scheduler", Input).value == "StepLR step_size=2, gamma=0.5"


async def test_weights_wait_for_the_run_to_stop_and_the_switch_never_kills_a_run():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "100000")
        await pilot.press("t")
        await wait_for_first_epochs(pilot)
        await pilot.press("p")  # paused: the training process still holds the run
        app.action_save_weights()
        await pilot.pause()
        assert "stop the run first" in status(app)
        app.query_one("#compare").value = True
        await pilot.pause()
        assert app.running and app.session is not None and app.session.paused
        assert "from the next reset" in status(app)
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.running and app.session.history.status == "stopped"
