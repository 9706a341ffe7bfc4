"""What a run reports, drawn: the thread worker that drives the training process and
the handlers of its messages.

Mixed into the app (under ``tui.lab_run``, the run controls): the worker runs the
shared trainer in its child process (a ``RemoteSession``, ``tui.training_process``),
turns its events into messages, and the handlers here draw them: charts, table,
decision map, layer health, the progress bar and the status line.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import work
from textual.widgets import Button, ProgressBar

from minidl.train import TrainingDiverged, TrainingFinished, TrainingStopped
from tui.health_view import layer_health
from tui.messages import (
    BoundaryComputed,
    EpochsTrained,
    HealthComputed,
    Paused,
    SessionStarted,
    TrainingEnded,
    Tuned,
)
from tui.session import BoundaryUpdate, HealthUpdate, SettingsApplied, TrainingPaused
from tui.session import EpochsTrained as EpochsBatch
from tui.task_words import final_summary, score_title, scores, short_summary
from tui.training_process import RemoteSession, SessionSpec, TrainingProcessError
from tui.widgets.boundary import BoundaryMap
from tui.widgets.charts import MetricChart
from tui.widgets.epoch_table import EpochTable
from tui.widgets.layer_inside import LayerInsideScreen
from tui.widgets.layer_list import LayerList
from tui.wording import count

if TYPE_CHECKING:
    from textual.app import App

    from scenarios.schema import Scenario

    _Base = App
else:
    _Base = object

TEST_POINTS_SHOWN = 300


class LabReports(_Base):
    """A run's reports in the lab (mixed into the app): the worker and what it draws."""

    scenario: Scenario | None
    session: RemoteSession | None
    running: bool
    started_at: float
    last_detail: str
    _stop_requested: bool
    _queued_action: str
    shown_data: object  # the DataSpec whose points the map shows (None: none yet)
    tuned_note: str  # ' · lr 0.5 from epoch 69' once the run's hyper-parameters changed
    _cut_epoch: str  # how much of the stopped epoch was trained, in words
    test_points: list[tuple[float, float, int]]

    def set_status(self, text: str, error: bool = False) -> None:
        raise NotImplementedError

    def _close_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def clear_run(self) -> None:
        """Empty charts and table, the bar at zero; the second chart named by what it
        will plot."""
        for chart in self.query(MetricChart):
            chart.clear()
        if self.scenario is not None:
            self.query_one("#accuracy-chart", MetricChart).set_title(
                score_title(self.scenario.data.is_regression)
            )
        self.query_one(EpochTable).clear()
        self.query_one(LayerList).show_health([], None)
        epochs = self.scenario.training.epochs if self.scenario is not None else 1
        self.query_one(ProgressBar).update(total=epochs, progress=0)

    def _show_new_session(self, session: RemoteSession) -> None:
        """Empty charts and log, the new model's boundary and the test points."""
        self.session = session
        self.tuned_note = ""
        shown = session.x_test[:TEST_POINTS_SHOWN].tolist()
        labels = session.y_test[:TEST_POINTS_SHOWN].tolist()
        self.test_points = [(x1, x2, label) for (x1, x2), label in zip(shown, labels, strict=True)]
        self.shown_data = session.scenario.data
        self.clear_run()
        initial = session.initial_boundary
        self.query_one(BoundaryMap).show(initial.grid, self.test_points, initial.extent)

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
            elif isinstance(event, HealthUpdate):
                self.post_message(HealthComputed(event))
            elif isinstance(event, TrainingDiverged):
                self.last_detail = (
                    f"diverged: the loss became {event.loss} at step {event.step} of epoch "
                    f"{event.epoch} (that step was not applied); lower the learning rate, "
                    "then r for new weights"
                )
            elif isinstance(event, SettingsApplied):
                self.post_message(Tuned(event))
            elif isinstance(event, TrainingPaused):
                self.post_message(Paused(event.epochs_completed))
            elif isinstance(event, TrainingStopped):
                done = event.step - 1  # the steps of the cut epoch that were applied
                self._cut_epoch = (
                    f" and {count(done, 'step')} of epoch {event.epoch}" if done else ""
                )
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
            completed = count(message.epochs_completed, "epoch")
            self.set_status(f"paused after {completed} (p resumes){self.tuned_note}")

    def on_tuned(self, message: Tuned) -> None:
        """Said at once, and kept in the run's status lines until a new session."""
        self.tuned_note = f" · {message.applied.describe()}"
        self.set_status(message.applied.describe())

    def on_epochs_trained(self, message: EpochsTrained) -> None:
        loss_chart = self.query_one("#loss-chart", MetricChart)
        accuracy_chart = self.query_one("#accuracy-chart", MetricChart)
        accuracy_chart.set_title(score_title(message.events[0].is_regression))
        for series, events in (("", message.events), ("torch ", message.twin_events)):
            for e in events:
                train_score, test_score = scores(e)
                loss_chart.add(f"{series}train", e.epoch, e.train_loss)
                loss_chart.add(f"{series}test", e.epoch, e.test_loss)
                accuracy_chart.add(f"{series}train", e.epoch, train_score)
                accuracy_chart.add(f"{series}test", e.epoch, test_score)
        self.query_one(EpochTable).add(message.events)
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
            f"{elapsed:.1f} s · {short_summary(e)}{twin}{self.tuned_note}{state}"
        )

    def on_health_computed(self, message: HealthComputed) -> None:
        update = message.update
        rows = []
        for index, stats in enumerate(update.latest.layers[update.offset :], start=update.offset):
            rows.append(layer_health(stats, update.grad_input_history[index]))
        layers = self.query_one(LayerList)
        layers.show_health(rows, update.latest.epoch)
        if isinstance(self.screen, LayerInsideScreen):  # the open layer's health, in full
            self.screen.show_health(layers.health_of(self.screen.row))

    def on_boundary_computed(self, message: BoundaryComputed) -> None:
        update = message.update
        self.query_one(BoundaryMap).show(update.grid, self.test_points, update.extent)
        if update.unit_maps is not None and isinstance(self.screen, LayerInsideScreen):
            self.screen.show_units(update)  # the open maps of a layer redraw with the map

    def on_training_ended(self, message: TrainingEnded) -> None:
        self.running = False
        self.query_one("#pause", Button).label = "Pause"
        if message.session_lost:
            self._close_session()
            self.redraw_charts()
            self.set_status(
                f"{message.detail} after {count(message.finished.epochs_completed, 'epoch')}: "
                "press t to train anew, or r for new weights",
                error=True,
            )
            return
        self.redraw_charts()
        session = self.session
        final = session.history.final if session is not None else None
        summary = "" if final is None else f" · {final_summary(final)}"
        if session is not None and session.compares_with_torch:
            summary += f" · largest loss gap vs torch {session.max_loss_difference:.1e}"
        summary += self.tuned_note
        status = message.finished.status
        done = message.finished.epochs_completed
        total = session.scenario.training.epochs if session is not None else done
        if status == "diverged":
            line = f"{message.detail}{summary}"
        elif status == "stopped":
            line = (
                f"stopped after {done}/{total} epochs{self._cut_epoch} "
                f"(t goes on, r starts anew){summary}"
            )
            if message.detail:  # a failure, not a request
                line = f"{message.detail} · {line}"
        elif done < total:  # a step, or a run cut short by its epoch count: not the end
            line = f"paused after {done}/{total} epochs (t or s goes on){summary}"
        else:
            line = f"completed after {count(done, 'epoch')}{summary}"
        self.set_status(line, error=status == "diverged")

    def check_process(self) -> None:
        """A training process that died while the lab was idle is said at once, not at the
        next key (a run in progress reports it through its worker)."""
        session = self.session
        if session is None or self.running or session.alive:
            return
        if getattr(self, "_reported_gone", None) is session:
            return
        self._reported_gone = session
        self.set_status(
            f"{session.ended_reason()}: press t to train anew, or r for new weights", error=True
        )

    def redraw_charts(self) -> None:
        for chart in self.query(MetricChart):
            chart.redraw()

    def action_log_scale(self) -> None:
        """The loss chart's value axis: linear or logarithmic."""
        chart = self.query_one("#loss-chart", MetricChart)
        chart.set_log_scale(not chart.log_scale)
