"""The lab's run controls: Train, Step, Pause, Stop and Reset.

Mixed into the app: they start or steer a ``RemoteSession`` (the shared trainer in a
child process, ``tui.training_process``), one per setup, through the thread worker of
``tui.lab_reports``, whose handlers draw what the run reports.
"""

from __future__ import annotations

import time

from textual.widgets import Button, ProgressBar, Switch

from scenarios.boundary import data_extent
from scenarios.build import build_data
from tui.lab_reports import TEST_POINTS_SHOWN, LabReports
from tui.messages import SessionStarted
from tui.session import changed_settings
from tui.training_process import SessionSpec
from tui.widgets.boundary import BoundaryMap
from tui.widgets.lab_form import LabForm
from tui.widgets.layer_inside import LayerInsideScreen
from tui.widgets.model_panel import ModelPanel
from tui.widgets.settings_panel import name_task
from tui.wording import count

READY = "ready: press t to train"


class LabRun(LabReports):
    """Training in the lab (mixed into the app): the run controls."""

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
        name_task(self.query_one(LabForm), self.scenario.data.is_regression)
        self.set_status(READY)  # nothing of the old run is left to report

    def drop_run(self) -> None:
        """No model left to train (every layer deleted): the last run's session, charts,
        table and decision map go; the map keeps the data's points."""
        boundary = self.query_one(BoundaryMap)
        if self.session is None and not boundary.grid:
            return
        self._close_session()
        self.clear_run()
        boundary.show_data(getattr(self, "test_points", []), boundary.extent)

    def follow_form(self) -> None:
        """The form changed with a run under way (or paused between runs): new optimizer
        hyper-parameters apply from the next step; anything else is said to wait for r."""
        session, scenario = self.session, self.scenario
        if scenario is None:
            if not self.running and not self.query_one(ModelPanel).specs:
                self.drop_run()
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
        if not self.running:
            self.set_status("nothing to pause: no run under way (t trains)")
            return
        if session is None:
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
            self.set_status("nothing to stop: no run under way (t trains)")
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
