"""The Textual lab: build a model, pick a scenario, train live with charts.

The app holds no maths: it turns its form into a scenario document,
validates it with ``scenarios.schema``, trains through ``tui.session`` (the
shared trainer) in a child process that a thread worker drives
(``tui.training_process``; the run controls are in ``tui.lab_run``), and draws
what the worker reports (``tui.lab_reports``).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Input,
    ProgressBar,
    Select,
    Static,
    Switch,
)

from scenarios.datasets import DATASETS
from scenarios.datasets.csv_points import CsvDataError, read_csv_points
from scenarios.schema import (
    Scenario,
    load_scenario,
    scenario_to_document,
)
from scenarios.shipped import shipped_scenarios
from tui.lab_errors import CrashReport, guard_actions
from tui.lab_files import LabFiles
from tui.lab_keys import KEY_BINDINGS, LabKeys
from tui.lab_run import READY
from tui.task_words import score_title
from tui.training_process import RemoteSession, warm_up
from tui.widgets.boundary import BoundaryMap
from tui.widgets.charts import MetricChart
from tui.widgets.control_bar import ControlBar
from tui.widgets.epoch_table import EpochTable
from tui.widgets.lab_form import LabForm, why_disabled
from tui.widgets.layer_list import LayerList
from tui.widgets.model_panel import ModelPanel

# Charts are redrawn from a timer, not at every epoch: a terminal shows a few
# frames per second, and drawing 600 epochs one by one would flood the UI thread.
CHART_REFRESH_SECONDS = 0.5
PROCESS_CHECK_SECONDS = 1.0  # how soon a training process that died while idle is reported
SERIES = ("train", "test", "torch train", "torch test")


@guard_actions
class MinidlLab(LabKeys, LabFiles, CrashReport, App):
    """Assemble a Sequential, choose data and hyper-parameters, and watch it learn."""

    TITLE = "minidl-lab"
    # below 110 columns the left column narrows
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    # from 46 rows the other settings show under the model
    VERTICAL_BREAKPOINTS = [(0, "-short"), (46, "-tall")]
    CSS_PATH = "styles/app.tcss"
    BINDINGS = KEY_BINDINGS  # which work where: tui.lab_keys

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.document = scenario_to_document(scenario)
        self.scenario: Scenario | None = scenario
        self.session: RemoteSession | None = None
        self.running = False
        self._stop_requested = False
        self._queued_action = ""  # t or s pressed while a training process starts
        self.started_at = 0.0
        self.last_detail = ""
        self._cut_epoch = ""
        self.tuned_note = ""
        self.shown_data: object = None
        # before Textual takes over stdout and stderr, which the fork server inherits
        warm_up()

    # --- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ControlBar(id="controls")
        with Horizontal(id="main"):
            yield LabForm(self.document, id="left")
            with Vertical(id="work"):
                with Horizontal(id="charts"):
                    yield MetricChart("loss", SERIES, id="loss-chart")
                    regression = self.scenario is not None and self.scenario.data.is_regression
                    title = score_title(regression)
                    yield MetricChart(title, SERIES, id="accuracy-chart")
                with Horizontal(id="lower"):
                    yield BoundaryMap(id="boundary")
                    yield EpochTable(id="table")
                with Horizontal(id="progress-row"):
                    # a total from the start: an indeterminate bar would animate while idle
                    total = self.document["training"]["epochs"]
                    yield ProgressBar(total=total, id="progress", show_eta=False)
        yield Static(READY, id="status", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # torch and Textual leave ~10⁶ long-lived objects: a full garbage collection
        # walking them paused the interface for 150–180 ms while training; frozen,
        # they are no longer walked
        gc.freeze()
        self.set_interval(CHART_REFRESH_SECONDS, self.redraw_charts)
        self.set_interval(PROCESS_CHECK_SECONDS, self.check_process)
        self.revalidate()
        self.query_one(ModelPanel).class_count = scenario_classes(self.scenario)
        self.query_one(LayerList).focus()  # the model first

    def on_model_panel_refused(self, message: ModelPanel.Refused) -> None:
        self.set_status(message.why, error=True)

    # --- form -> scenario ----------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(ModelPanel.Changed)
    def form_changed(self, event: Message) -> None:
        """A field of the form changed (not one of a dialog's)."""
        control = getattr(event, "control", None)  # None: the layer stack changed
        if control is None or self.query_one(LabForm) in control.ancestors_with_self:
            if control is not None and control.id in ("data-kind", "csv-path"):
                self.follow_class_count()
            self.revalidate()

    def follow_class_count(self) -> None:
        """One output per class: the last Linear's width (and a first Linear added to an
        empty stack) follow the data set's classes, a CSV file's read from the file."""
        kind = self.query_one("#data-kind", Select).value
        classes = None
        if kind in DATASETS:
            classes = DATASETS[kind][1]
        elif kind == "csv":
            try:
                classes = read_csv_points(self.query_one("#csv-path", Input).value).num_classes
            except (CsvDataError, OSError, ValueError):  # the field says what is wrong
                return
        if classes is not None:
            self.query_one(ModelPanel).set_output_width(classes)

    @property
    def form_screen(self) -> Screen:
        """The screen that holds the form, whichever dialog is open over it."""
        return self.screen_stack[0]

    def revalidate(self) -> None:
        """Rebuild the scenario from the form (which marks each problem beside its field);
        say in the status line why Train is disabled, and enable it once all are fixed."""
        scenario, problems = self.query_one(LabForm).check()
        if (scenario is None) != (self.scenario is None):
            self.refresh_bindings()  # Train and Step dimmed in the footer, or not
        self.scenario = scenario
        for button in ("#train", "#step"):
            self.query_one(button, Button).disabled = scenario is None
        self.follow_form()
        if self.running:
            return
        status = self.query_one("#status", Static)
        if problems:
            more_shown = self.more_shown or self.form_screen.has_class("-tall")
            self.set_status(why_disabled(problems, more_shown), error=True)
            status.add_class("disabled")
        elif status.has_class("disabled"):
            self.set_status(READY)

    # --- training: tui.lab_run, tui.lab_reports -------------------------------
    def on_unmount(self) -> None:
        self._close_session()

    def set_status(self, text: str, error: bool = False) -> None:
        """One message at the bottom, wrapped in full, never read as markup."""
        status = self.query_one("#status", Static)
        shown = str(status.content)
        if shown != text:
            # while training the line changes twice a second: re-lay the screen out only
            # when the old or the new text may take more than one line
            width = status.content_region.width or 1
            longest = max(len(text), len(shown))
            status.update(Text(text), layout=longest >= width or "\n" in text + shown)
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

    # --- files (the rest: tui.lab_files) -----------------------------------
    async def apply_scenario(self, scenario: Scenario) -> None:
        """Replace the form with a scenario's settings and layers."""
        self.document = scenario_to_document(scenario)
        await self.query_one(LabForm).remove()
        await self.query_one("#main").mount(LabForm(self.document, id="left"), before="#work")
        self.form_screen.remove_class("-more")
        self.query_one(LayerList).focus()
        self._close_session()
        self.shown_data = None  # a new setup: its data, and no trace of the old run
        self.revalidate()
        self.query_one(ModelPanel).class_count = scenario_classes(self.scenario)


def scenario_classes(scenario: Scenario | None) -> int | None:
    return None if scenario is None else scenario.data.num_classes


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
