"""A training session in a child process, so that drawing never takes time from training.

A thread worker shares the interpreter lock with the user interface: every
tensor op releases it, and each redraw holds it, so a training thread stalls
for as long as the interface draws (measured: 600 epochs of the centered disk
took 3.2–4.2 s in a thread of the lab against 2.7–3.0 s headless). A child
process has its own interpreter and, on two cores, its own core.

``RemoteSession`` offers what the lab needs of a ``TrainingSession`` and runs
one in a child: ``run`` (called from the lab's worker thread) sends a command
down a pipe and relays the session's events until the run ends; pause, resume
and stop set shared events that the child checks between batches. Children
are forked from multiprocessing's fork server with torch and minidl already
imported, so a new session starts in tens of milliseconds.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import torch

import tui
from minidl.errors import MinidlError
from minidl.train import Event, History, TrainingFinished
from scenarios.schema import Scenario
from tui.session import BoundaryUpdate, EpochsTrained, RunControls, TrainingSession

PRELOADED = ["torch", "minidl", "scenarios.build", "tui.session", "tui.training_process"]
START_TIMEOUT_SECONDS = 60.0

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOADED)


@dataclass(frozen=True)
class SessionSpec:
    """What a training process is started with."""

    scenario: Scenario
    grid_size: tuple[int, int] = (48, 16)
    compare_with_torch: bool = False


class TrainingProcessError(RuntimeError):
    """The child process failed or went away; the session cannot continue."""


def warm_up() -> None:
    """Start the fork server now, while stderr is still the terminal's.

    The server inherits file descriptor 2; under a running Textual app
    ``sys.stderr`` is a capture without one. Starting it returns at once: the
    server imports torch (about a second) while the app draws itself.
    """
    from multiprocessing import forkserver

    with _project_imports_only():
        forkserver.ensure_running()


class _project_imports_only:
    """Start the fork server so that it imports this process's packages, never the
    working directory's.

    The server is a fresh ``python -c`` whose ``sys.path`` starts with the current
    directory (Python 3.11 ignores the path that multiprocessing hands it), so a
    folder named ``minidl`` or ``scenarios`` there would be imported in place of
    the lab's. ``PYTHONSAFEPATH`` drops that entry and ``PYTHONPATH`` puts first
    the directory that holds the packages this process imported; both are
    restored once the server has been started.
    """

    KEYS = ("PYTHONSAFEPATH", "PYTHONPATH")

    def __enter__(self) -> None:
        self.saved = {key: os.environ.get(key) for key in self.KEYS}
        root = str(Path(tui.__file__).resolve().parent.parent)
        os.environ["PYTHONSAFEPATH"] = "1"
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [root, *filter(None, [self.saved["PYTHONPATH"]])]
        )

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class RemoteSession(RunControls):
    """A ``TrainingSession`` living in a child process, driven from this one.

    Only one thread may talk to the child at a time: ``run`` from the lab's
    worker, the other requests from the UI thread while no run is going.
    """

    def __init__(
        self,
        scenario: Scenario,
        grid_size: tuple[int, int] = (48, 16),
        compare_with_torch: bool = False,
    ) -> None:
        self.scenario = scenario
        self.compares_with_torch = compare_with_torch
        self.max_loss_difference = 0.0
        self.history = History()  # grows with each report during a run
        self.twin_history = History()  # the PyTorch twin's, with the comparison on
        self._epochs_completed = 0
        self._stop = _context.Event()
        self._running = _context.Event()
        self._running.set()
        self._step_once = _context.Event()
        # new optimizer hyper-parameters, taken on by the child before its next batch
        tune_receiver, self._tune_sender = _context.Pipe(duplex=False)
        # the map's resolution, which the lab changes when the map is resized
        self._grid_size = _context.Array("i", list(grid_size))
        # [layer, columns, rows] whose unit maps each boundary carries (-1: none)
        self._watched_units = _context.Array("i", [-1, 0, 0])
        self._lock = threading.Lock()
        self._connection, child_end = _context.Pipe()
        warm_up()  # a no-op while the server lives; starts a new one if it was killed
        self._process = _context.Process(
            target=_serve,
            args=(
                child_end,
                scenario,
                self._grid_size,
                compare_with_torch,
                (self._stop, self._running, self._step_once),
                tune_receiver,
                self._watched_units,
            ),
            name=f"minidl-lab training: {scenario.name}",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        tune_receiver.close()
        if not self._connection.poll(START_TIMEOUT_SECONDS):
            self.close()
            raise TrainingProcessError("the training process did not start")
        reply = self._receive()
        self.x_test: torch.Tensor = reply["x_test"]
        self.y_test: torch.Tensor = reply["y_test"]
        self.initial_boundary: BoundaryUpdate = reply["boundary"]

    # --- as TrainingSession ---------------------------------------------------
    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def ended_reason(self) -> str:
        """Why the process is gone, in words ("… ended unexpectedly (killed by SIGKILL)")."""
        return str(self._gone())

    @property
    def grid_size(self) -> tuple[int, int]:
        columns, rows = self._grid_size[:]
        return columns, rows

    def resize_boundary(self, columns: int, rows: int) -> BoundaryUpdate | None:
        """Compute the decision map at ``columns`` × ``rows`` from now on.

        Returns the map at the new size when the process is idle; during a run
        (or if the process has gone) returns None, and the run's next report
        brings it. Never waits for the run.
        """
        self._grid_size[:] = [columns, rows]
        if not self._lock.acquire(blocking=False):
            return None
        try:
            self._send("boundary", None)
            return self._receive()
        except TrainingProcessError:
            return None
        finally:
            self._lock.release()

    def watch_units(self, layer: int | None, columns: int = 0, rows: int = 0) -> None:
        """From now on every boundary report also carries the maps of built layer
        ``layer``'s units, ``columns`` × ``rows`` each (None stops). A paused run
        reports them at once; never waits for the run.
        """
        self._watched_units[:] = [-1 if layer is None else layer, columns, rows]

    def run(
        self, epochs: int, emit: Callable[[Event | EpochsTrained | BoundaryUpdate], None]
    ) -> History:
        """Train ``epochs`` more epochs in the child, passing its events to ``emit``.

        The final ``TrainingFinished`` is passed on only once the child's history
        has arrived, so whoever reacts to it reads the finished history.
        """
        finished: list[Event] = []
        with self._lock:
            self._stop.clear()
            self._step_once.clear()
            self._running.set()  # a run starts unpaused, as the child's session does
            self._send("run", epochs)
            while True:
                kind, payload = self._receive_raw()
                if kind == "event":
                    if isinstance(payload, TrainingFinished):
                        finished.append(payload)
                        continue
                    if isinstance(payload, EpochsTrained):
                        self._epochs_completed = payload.events[-1].epoch
                        self.history.epochs.extend(payload.events)
                        self.twin_history.epochs.extend(payload.twin_events)
                        if payload.max_loss_difference is not None:
                            self.max_loss_difference = payload.max_loss_difference
                    emit(payload)
                elif kind == "done":
                    self.history = payload["history"]
                    self.twin_history = payload["twin_history"]
                    self._epochs_completed = len(self.history.epochs)
                    self.max_loss_difference = payload["max_loss_difference"]
                    break
                else:
                    raise TrainingProcessError(payload)
        for event in finished:
            emit(event)
        return self.history

    def boundary(self) -> BoundaryUpdate:
        return self._request("boundary")

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The model's weights, copied out of the child."""
        return self._request("state_dict")

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> BoundaryUpdate:
        """Load weights into the child's model; returns the new decision boundary.

        A mismatch raises the same ``StateDictError`` that the model raised.
        """
        return self._request("load_state_dict", state)

    def close(self) -> None:
        """End the child: politely, then by force."""
        self._tune_sender.close()
        if self._process.is_alive():
            self.stop()
            try:
                if self._lock.acquire(timeout=1.0):
                    try:
                        self._connection.send(("close", None))
                    finally:
                        self._lock.release()
            except (OSError, ValueError):
                pass
            self._process.join(timeout=1.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=1.0)
        self._connection.close()

    # --- the pipe -------------------------------------------------------------
    def _request(self, command: str, argument: Any = None) -> Any:
        with self._lock:
            self._send(command, argument)
            return self._receive()

    def _send(self, command: str, argument: Any) -> None:
        try:
            self._connection.send((command, argument))
        except OSError as error:
            raise self._gone() from error

    def _receive(self) -> Any:
        kind, payload = self._receive_raw()
        if kind == "ok":
            return payload
        if kind == "refused":
            raise payload
        raise TrainingProcessError(payload)

    def _receive_raw(self) -> tuple[str, Any]:
        try:
            return self._connection.recv()
        except (EOFError, OSError) as error:
            raise self._gone() from error

    def _gone(self) -> TrainingProcessError:
        self._process.join(timeout=1.0)
        code = self._process.exitcode
        if code is not None and code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        else:
            how = f"exit code {code}"
        return TrainingProcessError(f"the training process ended unexpectedly ({how})")


def _serve(
    connection: Connection,
    scenario: Scenario,
    grid_size: Any,
    compare_with_torch: bool,
    events: tuple[Any, Any, Any],
    tune_receiver: Connection,
    watched_units: Any = None,
) -> None:
    """The child: build the session, then answer commands until told to close."""
    try:
        session = TrainingSession(
            scenario, grid_size, compare_with_torch, *events, tune_receiver=tune_receiver
        )
        if watched_units is not None:
            session.watched_units = watched_units
        data = session.experiment.data
        connection.send(
            ("ok", {"x_test": data.x_test, "y_test": data.y_test, "boundary": session.boundary()})
        )
    except Exception as error:  # reported to the parent, which shows it
        connection.send(("failed", f"cannot build the session: {type(error).__name__}: {error}"))
        return
    while True:
        try:
            command, argument = connection.recv()
        except EOFError:  # the parent went away
            return
        if command == "close":
            return
        try:
            connection.send(_answer(session, connection, command, argument))
        except Exception as error:
            connection.send(("failed", f"{command} failed: {type(error).__name__}: {error}"))


def _answer(
    session: TrainingSession, connection: Connection, command: str, argument: Any
) -> tuple[str, Any]:
    if command == "run":
        history = session.run(argument, lambda event: connection.send(("event", event)))
        return "done", {
            "history": history,
            "twin_history": session.twin.history if session.twin is not None else History(),
            "max_loss_difference": session.max_loss_difference,
        }
    if command == "boundary":
        return "ok", session.boundary()
    if command == "state_dict":
        return "ok", {k: v.clone() for k, v in session.experiment.model.state_dict().items()}
    if command == "load_state_dict":
        try:
            return "ok", session.load_weights(argument)
        except MinidlError as error:
            return "refused", error
    return "failed", f"unknown command {command!r}"
