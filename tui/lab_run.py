"""The lab's run controls: a training process per session, driven by a thread worker.

Mixed into the app: Train, Step, Pause, Stop and Reset start or steer a
``RemoteSession`` (the shared trainer in a child process, ``tui.training_process``);
the worker turns its events into messages, and the handlers here draw them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import work
from textual.widgets import Button, ProgressBar, Switch

from minidl.train import TrainingDiverged, TrainingFinished, TrainingStopped
from tui.health_view import health_text
from tui.messages import (
    BoundaryComputed,
    EpochsTrained,
    HealthComputed,
    Paused,
    SessionStarted,
    TrainingEnded,
)
from tui.session import BoundaryUpdate, HealthUpdate, TrainingPaused
from tui.session import EpochsTrained as EpochsBatch
from tui.task_words import final_summary, scores, short_summary
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


class LabRun(_Base):
    """Training in the lab (mixed into the app): the run controls and the worker's reports."""

    scenario: Scenario | None
    session: RemoteSession | None
    running: bool
    started_at: float
    last_detail: str
    _stop_requested: bool

    def set_status(self, text: str, error: bool = False) -> None:
        raise NotImplementedError

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
        self.query_one(EpochTable).clear()
        self.query_one(LayerList).show_health([], None)
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
        session = self.session
        if session is not None and not session.alive:  # killed while idle: start anew
            self._close_session()
            session = None
        if session is None or not session.continues(self.scenario):
            self._start(None, fresh=True)  # every epoch of the new session
            return
        if session.epochs_left == 0:
            self.set_status(
                f"the run is complete ({count(session.epochs_completed, 'epoch')}): "
                "raise epochs to go on, r restarts"
            )
            return
        self.query_one(ProgressBar).update(total=session.scenario.training.epochs)
        self._start(session.epochs_left)

    def action_step(self) -> None:
        session = self.session
        if self.running:  # one more epoch, then paused (from a pause: exactly one)
            if session is not None:
                session.step()
                self.query_one("#pause", Button).label = "Resume"
                self.set_status("training one epoch, then pausing…")
            return
        if self.scenario is None:
            self.set_status("fix the marked settings first", error=True)
            return
        if session is not None and not session.alive:
            self._close_session()
            session = None
        if session is None or not session.continues(self.scenario):
            self._start(1, fresh=True)
            return
        if session.epochs_left == 0:  # never past the limit: extending is asked for
            self.set_status(
                f"the run is complete ({count(session.epochs_completed, 'epoch')}): "
                "raise epochs to go on, r restarts"
            )
            return
        self.query_one(ProgressBar).update(total=session.scenario.training.epochs)
        self._start(1)

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
            self.set_status(f"training {count(epochs or 0, 'epoch')}…")
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
            elif isinstance(event, HealthUpdate):
                self.post_message(HealthComputed(event))
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
            completed = count(message.epochs_completed, "epoch")
            self.set_status(f"paused after {completed} (p resumes)")

    def on_session_started(self, message: SessionStarted) -> None:
        self._show_new_session(message.session)
        if not message.trains:
            self.running = False
            self.set_status("reset: new weights from the seed; press t to train")

    # --- worker reports -----------------------------------------------------
    def on_epochs_trained(self, message: EpochsTrained) -> None:
        loss_chart = self.query_one("#loss-chart", MetricChart)
        accuracy_chart = self.query_one("#accuracy-chart", MetricChart)
        for e in message.events:
            loss_chart.add("train", e.epoch, e.train_loss)
            loss_chart.add("test", e.epoch, e.test_loss)
            train_score, test_score = scores(e)
            accuracy_chart.add("train", e.epoch, train_score)
            accuracy_chart.add("test", e.epoch, test_score)
        self.query_one(EpochTable).add(message.events)
        for e in message.twin_events:
            loss_chart.add("torch train", e.epoch, e.train_loss)
            loss_chart.add("torch test", e.epoch, e.test_loss)
            train_score, test_score = scores(e)
            accuracy_chart.add("torch train", e.epoch, train_score)
            accuracy_chart.add("torch test", e.epoch, test_score)
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
            f"{elapsed:.1f} s · {short_summary(e)}{twin}{state}"
        )

    def on_health_computed(self, message: HealthComputed) -> None:
        update = message.update
        rows = []
        for index, stats in enumerate(update.latest.layers[update.offset :], start=update.offset):
            rows.append(health_text(stats, update.grad_input_history[index]))
        self.query_one(LayerList).show_health(rows, update.latest.epoch)

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
        status = message.finished.status
        line = f"{status} after {count(message.finished.epochs_completed, 'epoch')}{summary}"
        if message.detail:
            line = f"{message.detail} · {line}"
        self.set_status(line, error=status == "diverged")

    def action_log_scale(self) -> None:
        """The loss chart's value axis: linear or logarithmic."""
        chart = self.query_one("#loss-chart", MetricChart)
        chart.set_log_scale(not chart.log_scale)

    def redraw_charts(self) -> None:
        for chart in self.query(MetricChart):
            chart.redraw()
