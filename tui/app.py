"""The Textual lab: build a model, pick a scenario, train live with charts.

The app holds no maths: it turns its form into a scenario document,
validates it with ``scenarios.schema``, trains through ``tui.session`` (the
shared trainer) in a child process that a thread worker drives
(``tui.training_process``), and draws what the worker reports.
"""

from __future__ import annotations

import functools
import gc
import inspect
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Input,
    Label,
    ProgressBar,
    RichLog,
    Select,
    Static,
    Switch,
)

import minidl
from minidl.train import TrainingDiverged, TrainingFinished, TrainingStopped
from scenarios.build import build_model
from scenarios.datasets import DATASETS
from scenarios.schema import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_document,
    save_scenario,
    scenario_to_document,
)
from scenarios.shipped import shipped_scenarios
from tui.messages import BoundaryComputed, EpochsTrained, Paused, SessionStarted, TrainingEnded
from tui.session import BoundaryUpdate, TrainingPaused
from tui.session import EpochsTrained as EpochsBatch
from tui.training_process import RemoteSession, SessionSpec, TrainingProcessError, warm_up
from tui.widgets.boundary import BoundaryMap
from tui.widgets.charts import MetricChart
from tui.widgets.help_screen import HelpScreen
from tui.widgets.layer_list import LayerList
from tui.widgets.model_panel import PRESETS, ModelPanel
from tui.widgets.path_prompt import PathPrompt
from tui.widgets.settings_panel import (
    CORE_FIELDS,
    SettingsPanel,
    field_of,
    read_settings,
    show_problems,
)

# Charts are redrawn from a timer, not at every epoch: a terminal shows a few
# frames per second, and drawing 600 epochs one by one would flood the UI thread.
CHART_REFRESH_SECONDS = 0.5
TEST_POINTS_SHOWN = 300
SERIES = ("train", "test", "torch train", "torch test")
METRICS_HEADER = "        ─── loss ───   ─ accuracy ─\nepoch   train    test   train    test     F1"
# keys that type into a field: they act only when no field has the focus
LETTER_ACTIONS = {
    "train", "pause", "step", "stop", "reset", "more", "zoom", "compare", "export",
    "save_weights", "load_weights", "help", "quit",
}  # fmt: skip


class MinidlLab(App):
    """Assemble a Sequential, choose data and hyper-parameters, and watch it learn."""

    TITLE = "minidl-lab"
    # below 110 columns the left column narrows
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    # from 46 rows the other settings show under the model
    VERTICAL_BREAKPOINTS = [(0, "-short"), (46, "-tall")]
    CSS_PATH = "styles/app.tcss"
    # letters act when no field has the focus (a field types them); Escape leaves a field;
    # ctrl+s, ctrl+o and F1 work everywhere, as no field uses them
    BINDINGS = [
        Binding("t", "train", "Train", tooltip="train every epoch left (resumes a pause)"),
        Binding("p", "pause", "Pause", tooltip="pause or resume the run"),
        Binding("s", "step", "Step", tooltip="train one epoch"),
        Binding("x", "stop", "Stop", show=False, tooltip="stop the run (within one batch)"),
        Binding("r", "reset", "Reset", show=False, tooltip="new weights from the seed"),
        Binding("m", "more", "More", tooltip="the other settings, or back to the model"),
        Binding("z", "zoom", "Zoom", show=False, tooltip="charts and map over the whole width"),
        Binding("v", "compare", "vs torch", show=False, tooltip="vs torch on/off (next reset)"),
        Binding("h", "export", "Export", show=False, tooltip="export the history (JSON, CSV)"),
        Binding("w", "save_weights", "Save weights", show=False, tooltip="save the weights"),
        Binding("l", "load_weights", "Load weights", show=False, tooltip="load weights"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
        Binding("f1", "help", "Help", show=False, priority=True, tooltip="this help"),
        Binding("ctrl+s", "save", "Save", show=False, priority=True, tooltip="save the scenario"),
        Binding("ctrl+o", "load", "Open", show=False, priority=True, tooltip="open a scenario"),
        Binding("escape", "leave_field", "Leave field", tooltip="leave the field"),
        Binding("q", "quit", "Quit", show=False, tooltip="quit"),
    ]

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.document = scenario_to_document(scenario)
        self.scenario: Scenario | None = scenario
        self.session: RemoteSession | None = None
        self.running = False
        self._stop_requested = False
        self.started_at = 0.0
        self.last_detail = ""
        self.crash_line: str | None = None
        # before Textual takes over stdout and stderr, which the fork server inherits
        warm_up()

    # --- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="controls"):
            yield Button("Train", id="train", variant="success", compact=True)
            yield Button("Pause", id="pause", compact=True)
            yield Button("Step", id="step", compact=True)
            yield Button("Stop", id="stop", variant="error", compact=True)
            yield Button("Reset", id="reset", compact=True)
            yield Label("vs torch", id="compare-label")
            yield Switch(
                value=False,
                id="compare",
                tooltip="train the torch.nn twin alongside (from the next reset)",
            )
        with Horizontal(id="main"):
            with VerticalScroll(id="left", can_focus=False):
                yield from self._left_panes()
            with Vertical(id="work"):
                with Horizontal(id="charts"):
                    yield MetricChart("loss", SERIES, id="loss-chart")
                    yield MetricChart("accuracy", SERIES, id="accuracy-chart")
                with Horizontal(id="lower"):
                    yield BoundaryMap(id="boundary")
                    with Vertical(id="table"):
                        yield Static(METRICS_HEADER, id="metrics-header", markup=False)
                        yield RichLog(id="metrics", max_lines=2000, wrap=False)
                with Horizontal(id="progress-row"):
                    # a total from the start: an indeterminate bar would animate while idle
                    total = self.document["training"]["epochs"]
                    yield ProgressBar(total=total, id="progress", show_eta=False)
        yield Static("ready: press t to train", id="status", markup=False)
        yield Footer(compact=True)

    def _left_panes(self) -> list[Vertical]:
        """The model and the main settings; under them the other settings, shown on tall
        terminals and otherwise in their place on m."""
        return [
            Vertical(
                Label("Model", classes="section"),
                ModelPanel(self.document["model"]["layers"], id="model"),
                Label("Setup", classes="section"),
                SettingsPanel(self.document, "core", id="settings"),
                Static("m: more settings", classes="hint"),
                id="lab-pane",
            ),
            Vertical(
                Label("More settings (m: back)", classes="section"),
                SettingsPanel(self.document, "more", id="settings-more"),
                id="more-pane",
            ),
        ]

    def on_mount(self) -> None:
        # torch and Textual leave ~10⁶ long-lived objects: a full garbage collection
        # walking them paused the interface for 150–180 ms while training; frozen,
        # they are no longer walked
        gc.freeze()
        self.set_interval(CHART_REFRESH_SECONDS, self.redraw_charts)
        self.revalidate()
        self.query_one(LayerList).focus()  # the model first

    # --- form -> scenario ----------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(ModelPanel.Changed)
    def form_changed(self, event: Message) -> None:
        """A field of the form changed (not one of a dialog's)."""
        control = getattr(event, "control", None)
        if control is None or control.screen is self.form_screen:
            self.revalidate()

    @property
    def form_screen(self) -> Screen:
        """The screen that holds the form, whichever dialog is open over it."""
        return self.screen_stack[0]

    @on(Select.Changed, "#data-kind")
    def data_set_chosen(self, event: Select.Changed) -> None:
        """One output per class: the model's last width follows the data set."""
        if event.value in DATASETS:
            self.query_one(ModelPanel).set_output_width(DATASETS[event.value][1])

    def revalidate(self) -> None:
        """Rebuild the scenario from the form; put each problem beside its field, say in
        the status line why Train is disabled, and enable it once all are fixed."""
        model = self.query_one(ModelPanel)
        settings, problems = read_settings(self.form_screen)
        document = {
            "name": self.document.get("name", "lab"),
            "description": self.document.get("description", ""),
            "data": settings["data"],
            "training": {
                # not in the form: kept as the scenario had them
                **{k: v for k, v in self.document["training"].items() if k in ("dtype", "shuffle")},
                **settings["training"],
            },
            "model": {**settings["model"], "layers": model.specs},
        }
        if "expect" in self.document:
            document["expect"] = self.document["expect"]
        # the schema judges the rest even when a field could not be read at all, so
        # every problem shows at once
        scenario = net = None
        try:
            scenario = parse_document(document)
            net = build_model(scenario.model, 2, scenario.data.num_classes)
        except ScenarioError as error:
            problems += error.problems
        except Exception as error:  # a set-up the schema let through but cannot build
            problems.append(f"model.layers: cannot build this model: {one_line(error)}")
        if problems:
            scenario = net = None
        self.scenario = scenario
        unplaced = show_problems(self.form_screen, problems)
        layer_problems = [p for p in unplaced if p.startswith("model")]
        others = self.query_one("#settings-errors", Static)
        other_text = "\n".join(p for p in unplaced if p not in layer_problems)
        if str(others.content) != other_text:
            others.update(other_text)
            others.set_class(bool(other_text), "-shown")
        features = scenario.model.features if scenario is not None else ()
        model.show_model(net, len(features) or 2, layer_problems)
        for button in ("#train", "#step"):
            self.query_one(button, Button).disabled = scenario is None
        if not self.running:
            self._show_readiness(problems)

    def _show_readiness(self, problems: list[str]) -> None:
        """Ready, or why Train is disabled (and where the problem is)."""
        if not problems:
            if self.query_one("#status", Static).has_class("disabled"):
                self.set_status("ready: press t to train")
            return
        more = len(problems) - 1
        hidden = any(
            not p.startswith("model.layers") and field_of(p) not in CORE_FIELDS for p in problems
        )
        where = " (press m: more settings)" if hidden else ""
        extra = f" (and {more} more, marked beside their fields)" if more else ""
        self.set_status(f"Train is disabled: {problems[0]}{extra}{where}", error=True)
        self.query_one("#status", Static).add_class("disabled")

    # --- training control -----------------------------------------------------
    def on_unmount(self) -> None:
        self._close_session()

    def _close_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def _needs_new_session(self) -> bool:
        return self.session is None or self.session.scenario != self.scenario

    def _session_spec(self) -> SessionSpec:
        """What a new training process needs, read from the form on the UI thread."""
        assert self.scenario is not None
        boundary = self.query_one(BoundaryMap)
        columns = max(8, boundary.size.width - 2 or 48)
        rows = max(4, boundary.size.height - 2 or 16)
        return SessionSpec(self.scenario, (columns, rows), self.query_one("#compare", Switch).value)

    def _show_new_session(self, session: RemoteSession) -> None:
        """Empty charts and log, the new model's boundary and the test points."""
        self.session = session
        shown = session.x_test[:TEST_POINTS_SHOWN].tolist()
        labels = session.y_test[:TEST_POINTS_SHOWN].tolist()
        self.test_points = [(x1, x2, label) for (x1, x2), label in zip(shown, labels, strict=True)]
        for chart in self.query(MetricChart):
            chart.clear()
        self.query_one("#metrics", RichLog).clear()
        self.query_one(ProgressBar).update(total=session.scenario.training.epochs, progress=0)
        initial = session.initial_boundary
        self.query_one(BoundaryMap).show(initial.grid, self.test_points, initial.extent)

    def action_train(self) -> None:
        if self.running:
            if self.session is not None and self.session.paused:
                self.action_pause()
            return
        if self.scenario is None:
            self.set_status("fix the marked settings first", error=True)
            return
        if self._needs_new_session():
            self._start(None, fresh=True)  # every epoch of the new session
            return
        assert self.session is not None
        if self.session.epochs_left == 0:
            self.set_status("all epochs done: press r to reset, or raise the epochs")
            return
        self._start(self.session.epochs_left)

    def action_step(self) -> None:
        if self.running:
            return
        if self.scenario is None:
            self.set_status("fix the marked settings first", error=True)
            return
        self._start(1, fresh=self._needs_new_session())

    def action_pause(self) -> None:
        session = self.session
        if not self.running or session is None:
            return
        if session.paused:
            session.resume()
            self.set_status("resumed")
            self.query_one("#pause", Button).label = "Pause"
        else:
            session.pause()
            self.set_status("pausing before the next batch…")
            self.query_one("#pause", Button).label = "Resume"

    def action_stop(self) -> None:
        if not self.running:
            return
        if self.session is not None:
            self.session.stop()
        self._stop_requested = True  # also cancels a run whose process is still starting
        self.set_status("stopping…")

    def action_reset(self) -> None:
        if self.running:
            self.action_stop()
            self.set_status("stop the run first (x), then reset", error=True)
            return
        if self.scenario is not None:
            self._start(0, fresh=True)

    def _start(self, epochs: int | None, fresh: bool = False) -> None:
        """Train ``epochs`` (None: all that are left; 0: none) in the worker, first starting
        a new training process when ``fresh``."""
        self.running = True
        self._stop_requested = False
        self.started_at = time.perf_counter()
        self.last_detail = ""
        self.query_one("#pause", Button).label = "Pause"
        spec = None
        if fresh:
            spec = self._session_spec()
            self._close_session()
            self.set_status("starting a training process…" if epochs == 0 else "training…")
        else:
            self.set_status(f"training {epochs} epoch(s)…")
        self.train_in_thread(epochs, spec)

    @work(thread=True, exclusive=True, group="training", exit_on_error=False)
    def train_in_thread(self, epochs: int | None, spec: SessionSpec | None) -> None:
        """Starts the training process if asked, then runs the shared trainer in it;
        reports through messages. Nothing here blocks the UI's event loop."""
        session = self.session
        if spec is not None:
            try:
                session = RemoteSession(spec.scenario, spec.grid_size, spec.compare_with_torch)
            except TrainingProcessError as error:
                self.post_message(TrainingEnded(TrainingFinished("stopped", 0), str(error)))
                return
            trains = epochs != 0 and not self._stop_requested
            self.post_message(SessionStarted(session, trains))
            if not trains:
                return
        assert session is not None
        epochs = session.epochs_left if epochs is None else epochs

        def emit(event: object) -> None:
            if isinstance(event, EpochsBatch):
                self.post_message(
                    EpochsTrained(event.events, event.twin_events, event.max_loss_difference)
                )
            elif isinstance(event, BoundaryUpdate):
                self.post_message(BoundaryComputed(event))
            elif isinstance(event, TrainingDiverged):
                self.last_detail = (
                    f"diverged: loss {event.loss} at epoch {event.epoch}, step {event.step} "
                    "(that step was not applied); lower the learning rate and reset"
                )
            elif isinstance(event, TrainingPaused):
                self.post_message(Paused(event.epochs_completed))
            elif isinstance(event, TrainingStopped):
                self.last_detail = f"stopped at epoch {event.epoch}, step {event.step}"
            elif isinstance(event, TrainingFinished):
                self.post_message(TrainingEnded(event, self.last_detail))

        try:
            session.run(epochs, emit)
        except TrainingProcessError as error:  # the child is gone: the next run starts anew
            self.last_detail = f"training failed: {error}"
            session.close()
            finished = TrainingFinished("stopped", session.epochs_completed)
            self.post_message(TrainingEnded(finished, self.last_detail, session_lost=True))
        except Exception as error:  # shown to the user, and the lab stays usable
            self.last_detail = f"training failed: {type(error).__name__}: {error}"
            finished = TrainingFinished("stopped", session.epochs_completed)
            self.post_message(TrainingEnded(finished, self.last_detail))

    def on_paused(self, message: Paused) -> None:
        if self.session is not None and self.session.paused:
            self.set_status(f"paused after {message.epochs_completed} epochs (p resumes)")

    def on_session_started(self, message: SessionStarted) -> None:
        self._show_new_session(message.session)
        if not message.trains:
            self.running = False
            self.set_status("reset: new weights from the seed; press t to train")

    # --- worker reports -----------------------------------------------------
    def on_epochs_trained(self, message: EpochsTrained) -> None:
        loss_chart = self.query_one("#loss-chart", MetricChart)
        accuracy_chart = self.query_one("#accuracy-chart", MetricChart)
        lines = []
        for e in message.events:
            loss_chart.add("train", e.epoch, e.train_loss)
            loss_chart.add("test", e.epoch, e.test_loss)
            accuracy_chart.add("train", e.epoch, e.train_accuracy)
            accuracy_chart.add("test", e.epoch, e.test_accuracy)
            lines.append(
                f"{e.epoch:>5} {_loss(e.train_loss)} {_loss(e.test_loss)} "
                f"{e.train_accuracy:>7.3f} {e.test_accuracy:>7.3f} {e.f1:>6.3f}"
            )
        # a log, not a DataTable: appending is cheap, and the UI thread must stay
        # idle for the training thread (measured: a DataTable of 600 rows cost
        # about a third of the training time)
        self.query_one("#metrics", RichLog).write("\n".join(lines), scroll_end=True)
        for e in message.twin_events:
            loss_chart.add("torch train", e.epoch, e.train_loss)
            loss_chart.add("torch test", e.epoch, e.test_loss)
            accuracy_chart.add("torch train", e.epoch, e.train_accuracy)
            accuracy_chart.add("torch test", e.epoch, e.test_accuracy)
        e = message.events[-1]
        self.query_one(ProgressBar).update(progress=e.epoch)
        total = self.scenario.training.epochs if self.scenario else e.epoch
        elapsed = time.perf_counter() - self.started_at
        state = " · paused" if self.session is not None and self.session.paused else ""
        twin = (
            ""
            if message.max_loss_difference is None
            else f" · largest loss gap vs torch {message.max_loss_difference:.1e}"
        )
        self.set_status(
            f"epoch {e.epoch}/{total} · {e.samples_per_second:,.0f} samples/s · "
            f"{elapsed:.1f} s · test acc {e.test_accuracy:.3f} · F1 {e.f1:.3f}{twin}{state}"
        )

    def on_boundary_computed(self, message: BoundaryComputed) -> None:
        update = message.update
        self.query_one(BoundaryMap).show(update.grid, self.test_points, update.extent)

    def on_training_ended(self, message: TrainingEnded) -> None:
        self.running = False
        if message.session_lost:
            self._close_session()
        self.redraw_charts()
        session = self.session
        final = session.history.final if session is not None else None
        summary = (
            ""
            if final is None
            else f" · test acc {final.test_accuracy:.3f}, precision {final.precision:.3f}, "
            f"recall {final.recall:.3f}, F1 {final.f1:.3f}"
        )
        if session is not None and session.compares_with_torch:
            summary += f" · largest loss gap vs torch {session.max_loss_difference:.1e}"
        status = message.finished.status
        line = f"{status} after {message.finished.epochs_completed} epochs{summary}"
        if message.detail:
            line = f"{message.detail} · {line}"
        self.set_status(line, error=status == "diverged")

    def redraw_charts(self) -> None:
        for chart in self.query(MetricChart):
            chart.redraw()

    def set_status(self, text: str, error: bool = False) -> None:
        """One message at the bottom, wrapped in full, never read as markup."""
        status = self.query_one("#status", Static)
        if str(status.content) != text:
            status.update(Text(text))
        status.set_class(error, "error")
        status.remove_class("disabled")

    # --- buttons ------------------------------------------------------------
    @on(Switch.Changed, "#compare")
    def _compare_switched(self, event: Switch.Changed) -> None:
        if self.running or (self.session is not None and self.session.epochs_completed):
            state = "on" if event.value else "off"
            self.set_status(f"comparison with PyTorch {state} from the next reset (r)")
        else:  # not trained yet: the next run builds with or without the twin
            self._close_session()

    @on(Button.Pressed, "#train")
    def _train_pressed(self) -> None:
        self.action_train()

    @on(Button.Pressed, "#pause")
    def _pause_pressed(self) -> None:
        self.action_pause()

    @on(Button.Pressed, "#step")
    def _step_pressed(self) -> None:
        self.action_step()

    @on(Button.Pressed, "#stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    @on(Button.Pressed, "#reset")
    def _reset_pressed(self) -> None:
        self.action_reset()

    # --- files --------------------------------------------------------------
    def action_save(self) -> None:
        if self.scenario is None:
            self.set_status("nothing to save: fix the marked settings first", error=True)
            return
        default = f"{self.scenario.name}.toml"
        self.push_screen(PathPrompt("Save the scenario as", default), self.save_to)

    def save_to(self, path: str | None) -> None:
        if path and self.scenario is not None:
            try:
                save_scenario(self.scenario, path)
            except OSError as error:
                self.set_status(f"cannot save {path}: {error}", error=True)
                return
            self.set_status(f"saved {path} (replay it with: minidl-lab replay {path})")

    def action_load(self) -> None:
        self.push_screen(PathPrompt("Load a scenario file", ""), self.load_from)

    async def load_from(self, path: str | None) -> None:
        if not path:
            return
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            self.set_status(str(error).replace("\n", " "), error=True)
            return
        if self.running and self.session is not None:
            self.session.stop()
            await self.workers.wait_for_complete()
        await self.apply_scenario(scenario)
        self.set_status(f"loaded {path}")

    async def apply_scenario(self, scenario: Scenario) -> None:
        """Replace the form with a scenario's settings and layers."""
        self.document = scenario_to_document(scenario)
        left = self.query_one("#left", VerticalScroll)
        await left.remove_children()
        await left.mount(*self._left_panes())
        self.form_screen.remove_class("-more")
        self.query_one(LayerList).focus()
        self._close_session()
        self.revalidate()

    def action_export(self) -> None:
        if self.session is None or not self.session.history.epochs:
            self.set_status("no history yet: train first", error=True)
            return
        self.push_screen(
            PathPrompt("Export the history (JSON; a .csv is written beside)", "history.json"),
            self.export_to,
        )

    def export_to(self, path: str | None) -> None:
        if not path or self.session is None:
            return
        history = self.session.history
        try:
            history.to_json(path)
            history.to_csv(Path(path).with_suffix(".csv"))
        except OSError as error:
            self.set_status(f"cannot write {path}: {error}", error=True)
            return
        self.set_status(f"wrote {path} and {Path(path).with_suffix('.csv')}")

    # --- weights --------------------------------------------------------------
    def action_save_weights(self) -> None:
        if self.running:  # the weights live in the training process, busy with the run
            self.set_status("stop the run first (x), then save the weights", error=True)
            return
        if self.session is None:
            self.set_status("no model yet: train or reset first", error=True)
            return
        self.push_screen(
            PathPrompt("Save the model weights as", "weights.pt"), self.save_weights_to
        )

    def save_weights_to(self, path: str | None) -> None:
        if path and self.session is not None and not self.running:
            try:
                minidl.save(self.session.state_dict(), path)
            except (OSError, TrainingProcessError) as error:
                self.set_status(f"cannot save {path}: {error}", error=True)
                return
            self.set_status(f"saved the weights to {path}")

    def action_load_weights(self) -> None:
        if self.running:
            self.set_status("stop the run first (x), then load weights", error=True)
            return
        self.push_screen(
            PathPrompt("Load model weights from", "weights.pt"), self.load_weights_from
        )

    def load_weights_from(self, path: str | None) -> None:
        if not path or self.running:  # a run may have started while the prompt was open
            return
        if self.scenario is None:
            self.set_status("fix the marked settings first", error=True)
            return
        try:
            if self._needs_new_session():  # rare, and the fork server is warm by now
                self._close_session()
                spec = self._session_spec()
                self._show_new_session(
                    RemoteSession(spec.scenario, spec.grid_size, spec.compare_with_torch)
                )
            assert self.session is not None
            boundary = self.session.load_state_dict(minidl.load(path))
        except (minidl.MinidlError, TrainingProcessError) as error:
            self.set_status(str(error), error=True)  # names the file, key or shapes
            return
        self.query_one(BoundaryMap).show(boundary.grid, self.test_points, boundary.extent)
        self.set_status(f"loaded the weights from {path}")

    # --- keys ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Letters type into a field, so they are not offered while one has the focus, nor
        under a dialog; Escape is offered wherever it leads back to the layer list."""
        in_field = isinstance(self.focused, Input)
        if action in LETTER_ACTIONS:
            return (not in_field and self.screen is self.form_screen) or action == "help"
        if action == "leave_field":
            return self.screen is self.form_screen and (
                self.more_shown or not isinstance(self.focused, LayerList)
            )
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    @property
    def more_shown(self) -> bool:
        """Whether m has brought the other settings forward."""
        return self.form_screen.has_class("-more")

    def action_leave_field(self) -> None:
        """Escape: out of a field to the layer list; from the other settings, out of the
        field first, then back to the model."""
        if self.more_shown:
            if isinstance(self.focused, Input):
                self.set_focus(None)
            else:
                self.action_more()
            return
        self.query_one(LayerList).focus()

    def action_more(self) -> None:
        """The other settings in the model's place, or back (on a tall terminal both show:
        this moves the focus)."""
        if self.more_shown:
            self.form_screen.remove_class("-more")
            self.query_one(LayerList).focus()
            self.query_one("#left", VerticalScroll).scroll_home(animate=False)
        else:
            self.form_screen.add_class("-more")
            self.query_one("#csv-path", Input).focus()
        self.refresh_bindings()

    def action_zoom(self) -> None:
        """Charts, map and table over the whole width, or back beside the model."""
        self.screen.toggle_class("-zoomed")

    def action_compare(self) -> None:
        switch = self.query_one("#compare", Switch)
        switch.value = not switch.value

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_list()))

    def key_list(self) -> list[tuple[str, str, str]]:
        """Every key of the lab, read from the bindings: (key, what it does, where)."""
        rows = []
        for binding in LayerList.BINDINGS:
            assert isinstance(binding, Binding)
            rows.append((self._key_name(binding), binding.tooltip, "layer list"))
        rows += [
            ("↑ ↓", "select a layer", "layer list"),
            ("Enter", "edit the selected layer", "layer list"),
            ("letters, Enter", "type-ahead, then add or edit", "layer dialog"),
            ("Tab / Shift+Tab", "next / previous field", "everywhere"),
        ]
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            where = "outside a field" if binding.action in LETTER_ACTIONS else "everywhere"
            if binding.action == "leave_field":
                where = "in a field"
            rows.append((self._key_name(binding), binding.tooltip or binding.description, where))
        rows.append(("ctrl+p", "command palette: every action by name", "everywhere"))
        rows.append(("ctrl+q", "quit", "everywhere"))
        return rows

    @staticmethod
    def _key_name(binding: Binding) -> str:
        names = {"question_mark": "?", "plus": "+", "equals_sign": "=", "minus": "-"}
        names |= {"left_square_bracket": "[", "right_square_bracket": "]"}
        keys = [names.get(key, key) for key in binding.key.split(",")]
        return binding.key_display or " ".join(keys)

    # --- errors ----------------------------------------------------------------
    def report_failure(self, what: str, error: BaseException) -> None:
        """An action that failed: said in the status line; the lab stays usable."""
        self.log.error("".join(traceback.format_exception(error)))
        self.set_status(f"could not {what}: {one_line(error)}", error=True)

    def _handle_exception(self, error: Exception) -> None:
        """An error no action caught ends the lab with one line (and status 1); the
        traceback goes to a file named in that line."""
        super()._handle_exception(error)
        log = Path(tempfile.gettempdir()) / "minidl-lab-crash.txt"
        try:
            log.write_text("".join(traceback.format_exception(error)))
            where = f" (traceback in {log})"
        except OSError:
            where = ""
        self.crash_line = f"minidl-lab: internal error: {one_line(error)}{where}"
        self._exit_renderables.clear()  # no traceback on the terminal: run() prints the line

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the lab; an internal error exits with status 1, never 0."""
        result = super().run(*args, **kwargs)
        if self.crash_line is not None:
            print(self.crash_line, file=sys.stderr)
        if self.return_code:
            raise SystemExit(self.return_code)
        return result

    # --- command palette ------------------------------------------------------
    def get_system_commands(self, screen):
        """The lab's actions in the command palette, beside Textual's own."""
        yield from super().get_system_commands(screen)
        seen = set()
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action in ("quit", "leave_field") or binding.action in seen:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding.tooltip[0].upper() + binding.tooltip[1:],
                f"key: {self._key_name(binding)}",
                getattr(self, f"action_{binding.action}"),
            )
        panel = self.query_one(ModelPanel)
        for action, name in (("add", "Add a layer"), ("edit", "Edit the selected layer")):
            yield SystemCommand(
                name, f"{name} (layer list: {action[0]})", getattr(panel, f"ask_{action}")
            )
        yield SystemCommand("Remove the selected layer", "(layer list: d)", panel.remove_layer)
        for preset in PRESETS:
            yield SystemCommand(
                f"Preset: {preset}",
                "replace the layer stack",
                functools.partial(panel.apply_preset, preset),
            )


def _loss(value: float) -> str:
    """A loss in 7 columns whatever its size: 0.02381, 1.2e+05, inf."""
    text = f"{value:7.4f}"
    return text if len(text) <= 7 else f"{value:7.2g}"


def one_line(error: BaseException) -> str:
    """An exception as one line of at most 300 characters: its type and message."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= 300 else text[:299] + "…"


# Every action that reads files, writes files or trains goes through one boundary: any
# exception it raises becomes a status message, and the lab stays usable.
GUARDED_ACTIONS = {
    "action_train": "train",
    "action_step": "train one epoch",
    "action_reset": "reset",
    "action_save": "save the scenario",
    "save_to": "save the scenario",
    "action_load": "load a scenario",
    "load_from": "load the scenario",
    "action_export": "export the history",
    "export_to": "export the history",
    "action_save_weights": "save the weights",
    "save_weights_to": "save the weights",
    "action_load_weights": "load weights",
    "load_weights_from": "load the weights",
}


def _guarded(method, what: str):
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def guarded_coroutine(self: MinidlLab, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except Exception as error:
                self.report_failure(what, error)

        return guarded_coroutine

    @functools.wraps(method)
    def guarded(self: MinidlLab, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as error:
            self.report_failure(what, error)

    return guarded


for _name, _what in GUARDED_ACTIONS.items():
    setattr(MinidlLab, _name, _guarded(getattr(MinidlLab, _name), _what))


def make_app(scenario: Scenario | str | Path | None = None) -> MinidlLab:
    """The lab, set up with a scenario (default: the shipped centered disk)."""
    if scenario is None:
        scenario = shipped_scenarios()["centered_disk"]
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return MinidlLab(scenario)


def document_of(app: MinidlLab) -> dict[str, Any]:
    """The scenario currently in the form, as the file format (for tests and saving)."""
    assert app.scenario is not None
    return scenario_to_document(app.scenario)
