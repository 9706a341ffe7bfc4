"""Messages from the training worker to the lab (past tense: they report what happened)."""

from __future__ import annotations

from textual.message import Message

from minidl.train import EpochCompleted, TrainingFinished
from tui.session import BoundaryUpdate, HealthUpdate, SettingsApplied
from tui.training_process import RemoteSession


class EpochsTrained(Message):
    """Epochs completed since the last report, oldest first."""

    def __init__(
        self,
        events: tuple[EpochCompleted, ...],
        twin_events: tuple[EpochCompleted, ...] = (),
        max_loss_difference: float | None = None,
    ) -> None:
        super().__init__()
        self.events = events
        self.twin_events = twin_events
        self.max_loss_difference = max_loss_difference


class BoundaryComputed(Message):
    def __init__(self, update: BoundaryUpdate) -> None:
        super().__init__()
        self.update = update


class HealthComputed(Message):
    """Each layer's health at the latest epoch's end."""

    def __init__(self, update: HealthUpdate) -> None:
        super().__init__()
        self.update = update


class Paused(Message):
    """The training process paused before its next batch, after this many epochs."""

    def __init__(self, epochs_completed: int) -> None:
        super().__init__()
        self.epochs_completed = epochs_completed


class SessionStarted(Message):
    """A new training process is ready (its model freshly initialised); ``trains`` says
    whether the worker goes on to train it."""

    def __init__(self, session: RemoteSession, trains: bool) -> None:
        super().__init__()
        self.session = session
        self.trains = trains


class TrainingEnded(Message):
    """The worker returned: completed, stopped or diverged, with a line to show.

    ``session_lost``: the training process died; the next run starts a new one.
    """

    def __init__(self, finished: TrainingFinished, detail: str, session_lost: bool = False) -> None:
        super().__init__()
        self.finished = finished
        self.detail = detail
        self.session_lost = session_lost


class Tuned(Message):
    """New optimizer hyper-parameters took effect in the running session."""

    def __init__(self, applied: SettingsApplied) -> None:
        super().__init__()
        self.applied = applied
