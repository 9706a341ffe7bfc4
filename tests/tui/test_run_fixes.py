"""The run as a person steers it: hyper-parameters changed on the way, weights loaded
under the PyTorch comparison, keys pressed while a process starts, and how runs end."""

from __future__ import annotations

import json
from dataclasses import replace

from textual.widgets import Input, ProgressBar, RichLog, Select, Switch

from tests.tui.pilot import finish, set_input, status, wait_until
from tui.app import MinidlLab, make_app
from tui.session import TrainingSession
from tui.widgets.boundary import CLASS_COLOURS, NO_MODEL_COLOUR, POINT_COLOURS, BoundaryMap
from tui.widgets.charts import MetricChart
from tui.widgets.model_panel import ModelPanel

SIZE = (120, 36)


def reference_run(scenario, first: int, then: int, lr: float | None) -> list[float]:
    """Test losses of ``first`` epochs, then ``then`` more with the learning rate ``lr``."""
    session = TrainingSession(scenario)
    session.run(first, lambda event: None)
    if lr is not None:
        session.experiment.optimizer.lr = lr
    session.run(then, lambda event: None)
    return [e.test_loss for e in session.history.epochs]


async def test_a_learning_rate_changed_between_steps_applies_from_the_next_epoch():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "5")
        scenario = app.scenario
        for _ in range(3):
            await pilot.press("s")
            await finish(pilot)
        assert status(app).startswith("paused after 3/5 epochs")
        await set_input(pilot, "#lr", "0.5")
        assert "lr 0.5: takes effect from the next t or s (epoch 4)" in status(app)
        await pilot.press("t")
        await finish(pilot)
        losses = [e.test_loss for e in app.session.history.epochs]
        assert len(losses) == 5  # the same run, continued
        assert status(app).startswith("completed after 5 epochs")
    assert losses == reference_run(scenario, 3, 2, lr=0.5)
    assert losses[3:] != reference_run(scenario, 3, 2, lr=None)[3:]


async def test_a_learning_rate_changed_while_paused_applies_at_the_next_step():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "10000")
        await pilot.press("t")
        await wait_until(pilot, lambda: app.session is not None and app.session.epochs_completed)
        await pilot.press("p")
        await wait_until(pilot, lambda: status(app).startswith("paused after"))
        epoch = app.session.epochs_completed + 1
        await set_input(pilot, "#lr", "0.5")
        assert f"lr 0.5: takes effect from the next step (epoch {epoch})" in status(app)
        await pilot.press("s")  # one epoch, then paused again
        await wait_until(pilot, lambda: f"lr 0.5 from epoch {epoch}" in status(app))
        assert app.session.scenario.training.lr == 0.5
        # a save cannot promise what a replay of the file reaches: the run changed course
        assert app.session.tuned
        await pilot.press("x")
        await finish(pilot)


async def test_a_setting_that_cannot_change_mid_run_says_it_waits_for_reset():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "10000")
        await pilot.press("t")
        await wait_until(pilot, lambda: app.session is not None and app.session.epochs_completed)
        await pilot.press("p")
        await wait_until(pilot, lambda: status(app).startswith("paused after"))
        await set_input(pilot, "#batch-size", "16")
        assert status(app) == (
            "the batch size changed: takes effect after r (this run goes on with the old settings)"
        )
        assert app.session.scenario.training.batch_size == 32
        await pilot.press("x")
        await finish(pilot)


async def test_vs_torch_after_loading_weights_starts_the_twin_from_them(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#compare", Switch).value = True
        await set_input(pilot, "#epochs", "3")
        await pilot.press("t")
        await finish(pilot)
        path = str(tmp_path / "weights.pt")
        app.save_weights_to(path)
        await pilot.press("r")
        await finish(pilot)
        app.load_weights_from(path)
        assert status(app) == f"loaded the weights from {path}"
        await pilot.press("s")
        await finish(pilot)
        assert app.session.compares_with_torch
        assert app.session.max_loss_difference < 1e-3  # rounding, not another start
        assert "largest loss gap vs torch" in status(app)


async def test_t_pressed_while_a_reset_starts_the_process_trains_once_it_is_ready():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#compare", Switch).value = True
        await set_input(pilot, "#epochs", "2")
        await pilot.press("r", "t")
        await wait_until(pilot, lambda: app.session is not None and not app.running, 60)
        await finish(pilot)
        assert app.session.epochs_completed == 2
        assert status(app).startswith("completed after 2 epochs")


async def test_stop_and_divergence_each_read_as_one_sentence():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "10000")
        await pilot.press("t")
        await wait_until(pilot, lambda: app.session is not None and app.session.epochs_completed)
        await pilot.press("x")
        await finish(pilot)
        done = app.session.epochs_completed
        line = status(app)
        assert line.startswith(f"stopped after {done}/10000 epochs")
        assert "(t goes on, r starts anew)" in line and line.count("stopped") == 1
        await set_input(pilot, "#lr", "1e30")
        await set_input(pilot, "#epochs", "3")
        await pilot.press("r")
        await finish(pilot)
        await pilot.press("t")
        await finish(pilot)
        line = status(app)
        assert line.startswith("diverged: the loss became ")
        assert "of epoch 1 (that step was not applied)" in line
        assert "after 0 epochs" not in line and line.count("diverged") == 1


def test_tuning_a_session_equals_setting_the_optimizer_by_hand():
    from scenarios.schema import load_scenario
    from scenarios.shipped import shipped_scenarios

    scenario = load_scenario(shipped_scenarios()["centered_disk"])
    scenario = replace(scenario, training=replace(scenario.training, epochs=4))
    session = TrainingSession(scenario, compare_with_torch=True)
    session.run(2, lambda event: None)
    tuned = replace(scenario, training=replace(scenario.training, lr=0.5))
    assert session.continues(tuned)
    events: list = []
    session.run(2, events.append)
    applied = [e for e in events if type(e).__name__ == "SettingsApplied"]
    assert [a.describe() for a in applied] == ["lr 0.5 from epoch 3"]
    assert session.experiment.optimizer.lr == 0.5
    assert session.twin.optimizer.param_groups[0]["lr"] == 0.5
    assert session.max_loss_difference < 1e-3
    assert [e.test_loss for e in session.history.epochs] == reference_run(scenario, 2, 2, 0.5)


def rows(app: MinidlLab) -> int:
    return len(app.query_one("#metrics", RichLog).lines)


def map_colours(app: MinidlLab) -> set[str]:
    return {colour for row in app.query_one(BoundaryMap).pixels() for colour in row}


async def test_the_first_screen_shows_the_data_before_any_training():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        boundary = app.query_one(BoundaryMap)
        assert boundary.grid == [] and len(boundary.points) == 300
        assert {label for _, _, label in boundary.points} == {0, 1}
        colours = map_colours(app)
        assert NO_MODEL_COLOUR in colours and set(POINT_COLOURS[:2]) <= colours
        assert not set(CLASS_COLOURS) & colours  # no boundary: no model has predicted yet


async def test_a_new_data_set_or_a_loaded_scenario_replaces_the_old_run_on_screen():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "3")
        await pilot.press("t")
        await finish(pilot)
        assert rows(app) == 3
        app.query_one("#data-kind", Select).value = "three_gaussians"
        await pilot.pause()
        boundary = app.query_one(BoundaryMap)
        assert boundary.grid == []  # no stale boundary
        assert {label for _, _, label in boundary.points} == {0, 1, 2}
        assert rows(app) == 0
        assert app.query_one(ProgressBar).progress == 0
        assert all(chart.point_count("train") == 0 for chart in app.query(MetricChart))
        assert app.session is None  # t trains the new setup from the start
        await pilot.press("t")
        await finish(pilot)
        assert rows(app) == 3 and boundary.grid
        await app.load_from("quarter_circle")
        await pilot.pause()
        assert rows(app) == 0 and boundary.grid == []
        assert app.query_one(ProgressBar).progress == 0
        assert boundary.points and app.session is None


async def test_the_last_linear_follows_the_classes_of_a_csv_file(tmp_path):
    path = tmp_path / "three.csv"
    path.write_text("".join(f"{i / 90},{(i * 7 % 90) / 90},{i % 3}\n" for i in range(90)))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#data-kind", Select).value = "csv"
        await pilot.pause()
        await set_input(pilot, "#csv-path", str(path))
        await pilot.pause()
        assert app.query_one(ModelPanel).specs[-1] == {"type": "Linear", "out_features": 3}
        assert app.scenario is not None and app.scenario.data.num_classes == 3, status(app)
        await set_input(pilot, "#epochs", "1")
        await pilot.press("t")
        await finish(pilot)
        assert status(app).startswith("completed after 1 epoch")


async def test_a_linear_added_to_an_empty_stack_gives_one_output_per_class():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#data-kind", Select).value = "three_gaussians"
        await pilot.pause()
        panel = app.query_one(ModelPanel)
        panel.set_layers([], 0)
        await pilot.pause()
        panel.ask_add()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert panel.specs == [{"type": "Linear", "out_features": 3}]
        assert app.scenario is not None  # trainable as it stands


async def test_a_linear_appended_becomes_the_output_and_the_old_output_a_hidden_layer():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ModelPanel)
        panel.set_layers([{"type": "Linear", "out_features": 2}, {"type": "ReLU"}], 1)
        await pilot.pause()
        panel.ask_add()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert [s.get("out_features") for s in panel.specs] == [25, None, 2]
        assert app.scenario is not None


async def test_export_names_the_file_after_the_setup_and_holds_scenario_and_torch_curves(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#compare", Switch).value = True
        await set_input(pilot, "#epochs", "3")
        await pilot.press("t")
        await finish(pilot)
        await pilot.press("h")
        await pilot.pause()
        prompt = app.screen.query_one("#prompt-path", Input)
        assert prompt.value == "centered_disk-sgd-history.json"
        await pilot.press("enter")
        await pilot.pause()
        assert status(app).startswith("wrote centered_disk-sgd-history.json and ")
    document = json.loads((tmp_path / "centered_disk-sgd-history.json").read_text())
    assert document["status"] == "completed" and len(document["epochs"]) == 3
    assert document["scenario"]["training"]["lr"] == 0.01
    assert document["scenario"]["data"]["kind"] == "centered_disk"
    torch_epochs = document["torch"]["epochs"]
    assert [e["epoch"] for e in torch_epochs] == [1, 2, 3]
    assert abs(torch_epochs[-1]["test_loss"] - document["epochs"][-1]["test_loss"]) < 1e-3
    assert (tmp_path / "centered_disk-sgd-history.csv").exists()


async def test_export_during_a_run_writes_the_epochs_so_far(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "10000")
        await pilot.press("t")
        await wait_until(pilot, lambda: app.session is not None and app.session.epochs_completed)
        await pilot.press("p")
        await wait_until(pilot, lambda: status(app).startswith("paused after"))
        done = app.session.epochs_completed
        path = tmp_path / "live.json"
        app.export_to(str(path))
        await pilot.press("x")
        await finish(pilot)
    document = json.loads(path.read_text())
    assert document["status"] == "running" and len(document["epochs"]) == done
    assert "torch" not in document
