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
from scenarios.boundary import data_extent
from scenarios.build import build_data
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
from tui.session import (
    BoundaryUpdate,
    HealthUpdate,
    SettingsApplied,
    TrainingPaused,
    changed_settings,
)
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
    _queued_action: str
    shown_data: object  # the DataSpec whose points the map shows (None: none yet)
    tuned_note: str  # ' · lr 0.5 from epoch 69' once the run's hyper-parameters changed
    _cut_epoch: str  # how much of the stopped epoch was trained, in words

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

    def show_data(self) -> None:
        """A new setup replaces the run: clear the charts, table and bar, and draw the data
        it trains on (the points a finished run shows too)."""
        assert self.scenario is not None
        self.shown_data = self.scenario.data
        try:
            data = build_data(self.scenario.data)
        except Exception as error:  # shown to the user; training would say the same
            self.set_status(f"cannot make the data: {type(error).__name__}: {error}", error=True)
            return
        shown = data.x_test[:TEST_POINTS_SHOWN].tolist()
        labels = data.y_test[:TEST_POINTS_SHOWN].tolist()
        self.test_points = [(x1, x2, label) for (x1, x2), label in zip(shown, labels, strict=True)]
        self.clear_run()
        self.query_one(BoundaryMap).show_data(
            self.test_points, data_extent(data.x_train, data.x_test)
        )

    def clear_run(self) -> None:
        """Empty charts and table, the bar at zero."""
        for chart in self.query(MetricChart):
            chart.clear()
        self.query_one(EpochTable).clear()
        self.query_one(LayerList).show_health([], None)
        epochs = self.scenario.training.epochs if self.scenario is not None else 1
        self.query_one(ProgressBar).update(total=epochs, progress=0)

    def follow_form(self) -> None:
        """The form changed with a run under way (or paused between runs): new optimizer
        hyper-parameters apply from the next step; anything else is said to wait for r."""
        session, scenario = self.session, self.scenario
        if scenario is None:
            return
        idle = not self.running
        if idle and scenario.data != self.shown_data:  # new data: the old run is gone
            self._close_session()
            self.show_data()
            return
        if session is None or not session.alive:
            return
        if not (self.running or session.epochs_completed) or scenario == session.scenario:
            return
        before = session.scenario
        if session.continues(scenario):
            a, b = before.training, scenario.training
            what = [f"lr {b.lr}"] if a.lr != b.lr else []
            if a.optimizer != b.optimizer:
                what.append(b.optimizer.describe())
            if what:
                when = "the next step" if self.running else "the next t or s"
                self.set_status(
                    f"{', '.join(what)}: takes effect from {when} "
                    f"(epoch {session.epochs_completed + 1})"
                )
            return
        changed = changed_settings(session.scenario, scenario)
        what = " and ".join(changed) if changed else "the setup"
        if self.running:
            self.set_status(
                f"{what} changed: takes effect after r (this run goes on with the old settings)"
            )
        else:
            self.set_status(f"{what} changed: takes effect after r (t then trains anew)")

    def on_tuned(self, message: Tuned) -> None:
        """Said at once, and kept in the run's status lines until a new session."""
        self.tuned_note = f" · {message.applied.describe()}"
        self.set_status(message.applied.describe())

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

    def _queue_while_starting(self, action: str) -> bool:
        """A t or s pressed while a reset's training process is still starting runs once it
        is ready (True: queued)."""
        if self.running and self.session is None and not self._stop_requested:
            self._queued_action = action
            self.set_status(f"starting a training process… ({action} follows)")
            return True
        return False

    def action_train(self) -> None:
        if self._queue_while_starting("t"):
            return
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
        if self._queue_while_starting("s"):
            return
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
        self._queued_action = ""
        self.started_at = time.perf_counter()
        self.last_detail = ""
        self._cut_epoch = ""
        self.query_one("#pause", Button).label = "Pause"
        spec = None
        if fresh:
            spec = self._session_spec()
            self._close_session()
            self.set_status("starting a training process…" if epochs == 0 else "training…")
        else:
            self.set_status(f"training {count(epochs or 0, 'epoch')}…")
            self._watch_open_layer()
        self.train_in_thread(epochs, spec)

    def _watch_open_layer(self) -> None:
        """A run started from the inside view of a layer (i) redraws that layer's maps."""
        if isinstance(self.screen, LayerInsideScreen) and self.session is not None:
            self.screen.watch(self.session)

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

    def on_session_started(self, message: SessionStarted) -> None:
        self._show_new_session(message.session)
        if message.trains:
            self._watch_open_layer()
        if not message.trains:
            self.running = False
            self.set_status("reset: new weights from the seed; press t to train")
            queued, self._queued_action = self._queued_action, ""
            if queued == "t":
                self.action_train()
            elif queued == "s":
                self.action_step()

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

    def action_log_scale(self) -> None:
        """The loss chart's value axis: linear or logarithmic."""
        chart = self.query_one("#loss-chart", MetricChart)
        chart.set_log_scale(not chart.log_scale)

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
