"""A training session of the lab: the shared trainer plus play/pause/step/stop controls.

No Textual here: the app runs ``run`` in a thread worker and receives the
trainer's events (and decision-boundary grids) through a callback. Pausing
blocks the training thread between two batches, so a paused and resumed
run gives exactly the numbers of an uninterrupted one.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any, Protocol

import torch

import minidl
from minidl.health import LayerStatsComputed
from minidl.reference import TwinTrainer, torch_optimizer
from minidl.train import EpochCompleted, Event, History
from scenarios import registry
from scenarios.boundary import UNIT_SQUARE, Extent, data_extent, decision_grid
from scenarios.build import Experiment, build_experiment
from scenarios.neuron_maps import neuron_maps, output_grid
from scenarios.schema import Scenario, TrainingSpec


class EventFlag(Protocol):
    """What a session needs of an event: threading.Event and multiprocessing's Event both fit."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class EpochsTrained:
    """The epochs completed since the last report (a batch of trainer events).

    With the PyTorch comparison on, ``twin_events`` holds the twin's epochs
    (same batches, same starting weights) and ``max_loss_difference`` the
    largest relative gap between the two loss curves so far.
    """

    events: tuple[EpochCompleted, ...]
    twin_events: tuple[EpochCompleted, ...] = ()
    max_loss_difference: float | None = None


@dataclass(frozen=True)
class TrainingPaused:
    """The pause took effect before the next batch; every finished epoch is reported."""

    epochs_completed: int


@dataclass(frozen=True)
class SettingsApplied:
    """New optimizer hyper-parameters took effect before step ``step`` of epoch ``epoch``."""

    epoch: int
    step: int
    changes: tuple[tuple[str, Any], ...]

    def describe(self) -> str:
        """'lr 0.5 from epoch 69' (or '…, step 4' when the epoch had begun)."""
        what = ", ".join(f"{name} {value}" for name, value in self.changes)
        where = f"epoch {self.epoch}" + (f", step {self.step}" if self.step > 1 else "")
        return f"{what} from {where}"


@dataclass(frozen=True)
class BoundaryUpdate:
    """The predicted class on a grid over ``extent`` (the unit square, or your data's) after
    an epoch; for a regression, the predicted value (floats)."""

    epoch: int
    grid: list[list[int]] | list[list[float]]
    extent: Extent = UNIT_SQUARE
    unit_layer: int | None = None  # the watched layer (``watch_units``), if any,
    unit_maps: torch.Tensor | None = None  # and its units over the same extent


@dataclass(frozen=True)
class HealthUpdate:
    """Each layer's health at the latest epoch's end, and its ‖∂L/∂x‖ over past epochs.

    ``offset`` is the number of built layers in front of the scenario's
    layers (the input features' map), so that row i of the model view is
    ``latest.layers[i + offset]``.
    """

    latest: LayerStatsComputed
    grad_input_history: tuple[tuple[float, ...], ...]
    offset: int = 0


HEALTH_HISTORY = 24  # observations of ‖∂L/∂x‖ kept per layer for the sparkline
HEALTH_EPOCHS = 10  # the lab observes layer health every epoch up to this one, then every 10th


def same_setup(a: Scenario, b: Scenario, epochs: bool = True) -> bool:
    """Whether two scenarios train the same way: data, model and training, not their
    names, descriptions or expectations (and not the epoch count unless ``epochs``)."""
    if not epochs:
        b = replace(b, training=replace(b.training, epochs=a.training.epochs))
    return (a.data, a.model, a.training) == (b.data, b.model, b.training)


def tunes_live(old: Scenario, new: Scenario) -> bool:
    """Whether ``new`` differs from ``old`` at most in the learning rate, the optimizer's
    arguments (same optimizer) and the epochs: changes a run in progress can take on.

    Not with a scheduler, which sets the learning rate itself.
    """
    a, b = old.training, new.training
    if a.optimizer.type != b.optimizer.type or a.scheduler is not None:
        return False
    b = replace(b, lr=a.lr, optimizer=a.optimizer, epochs=a.epochs)
    return same_setup(old, replace(new, training=b))


SETTING_NAMES = {
    "data": "the data",
    "model": "the model",
    "loss": "the loss",
    "optimizer": "the optimizer",
    "lr": "the learning rate",
    "batch_size": "the batch size",
    "seed": "the seed",
    "dtype": "the dtype",
    "shuffle": "shuffling",
    "scheduler": "the scheduler",
    "clip_grad_norm": "gradient clipping",
}


def changed_settings(old: Scenario, new: Scenario) -> list[str]:
    """What differs between two setups, in words (the epochs aside)."""
    names = [key for key in ("data", "model") if getattr(old, key) != getattr(new, key)]
    names += [
        key
        for key in SETTING_NAMES
        if key not in ("data", "model") and getattr(old.training, key) != getattr(new.training, key)
    ]
    return [SETTING_NAMES[name] for name in names]


def optimizer_hyperparameters(training: TrainingSpec) -> dict[str, Any]:
    """Every hyper-parameter of ``training``'s optimizer, its defaults included."""
    component = registry.lookup(registry.OPTIMIZERS, training.optimizer.type)
    assert component is not None
    probe = component.factory(
        [minidl.Parameter(torch.zeros(1))], lr=training.lr, **training.optimizer.kwargs
    )
    return {name: getattr(probe, name) for name in probe.hyperparameters}


class RunControls:
    """Pause, resume and stop through two events that the training loop checks between
    batches; shared by a session in this process and one in a training process."""

    scenario: Scenario
    tuned: bool = False  # hyper-parameters changed after the start: no scenario replays it
    _tune_sender: Connection
    _stop: EventFlag
    _running: EventFlag  # set = not paused
    _step_once: EventFlag  # set = pause again once the current epoch ends

    @property
    def epochs_completed(self) -> int:
        raise NotImplementedError

    @property
    def epochs_left(self) -> int:
        return max(0, self.scenario.training.epochs - self.epochs_completed)

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def alive(self) -> bool:
        """False once the process that holds the model has gone (see RemoteSession)."""
        return True

    def continues(self, scenario: Scenario) -> bool:
        """Whether the run held here can go on training ``scenario``, and if so adopt it.

        It can when ``scenario`` sets up the same training (its name, description
        and expectations may differ) for a number of epochs no smaller than those
        done: raising the epochs of a finished run extends it, and the numbers
        equal those of a run that had the larger count from the start (nothing in
        the build depends on the count).
        """
        if scenario == self.scenario:
            return True
        if scenario.training.epochs < self.epochs_completed:
            return False
        if same_setup(scenario, self.scenario, epochs=False):
            self.scenario = scenario
            return True
        if tunes_live(self.scenario, scenario):  # from the next step on
            self.scenario = scenario
            self.tuned = True
            self._tune_sender.send(scenario.training)
            return True
        return False

    def finished(self, scenario: Scenario) -> bool:
        """Whether the run held here trained ``scenario``'s setup through all its epochs, so
        that its final metrics are what a replay of ``scenario`` reaches."""
        return (
            not self.tuned
            and same_setup(scenario, self.scenario)
            and self.epochs_completed == scenario.training.epochs
        )

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def step(self) -> None:
        """Train on to the end of the current epoch, then pause (from a pause: one epoch)."""
        self._step_once.set()
        self._running.set()

    def stop(self) -> None:
        """Ask the training loop to stop before its next batch (also ends a pause)."""
        self._stop.set()
        self._running.set()


class TrainingSession(RunControls):
    """One experiment built from a scenario, trained in pieces on request."""

    def __init__(
        self,
        scenario: Scenario,
        grid_size: Sequence[int] = (48, 16),
        compare_with_torch: bool = False,
        stop_event: EventFlag | None = None,
        running_event: EventFlag | None = None,
        step_event: EventFlag | None = None,
        tune_receiver: Connection | None = None,
    ) -> None:
        self.scenario = scenario
        if tune_receiver is None:  # tuned from this process (see RemoteSession for another)
            tune_receiver, self._tune_sender = multiprocessing.Pipe(duplex=False)
        self._tune_receiver = tune_receiver
        self.experiment: Experiment = build_experiment(scenario)
        self.grid_size = grid_size
        data = self.experiment.data
        self.extent = data_extent(data.x_train, data.x_test)
        # the twin is built before any training, so both start identical
        self.twin = TwinTrainer(self.experiment.trainer) if compare_with_torch else None
        self.max_loss_difference = 0.0
        self._epoch_start_steps = 0  # the optimizer's step count when this epoch began
        # events of threading or multiprocessing: the lab pauses and stops a
        # session that runs in another process (tui.training_process)
        self._stop = stop_event if stop_event is not None else threading.Event()
        self._running = running_event if running_event is not None else threading.Event()
        self._running.set()  # set = not paused
        self._step_once = step_event if step_event is not None else threading.Event()
        # per-layer health, observed on an epoch's last step (an eager step): the first
        # HEALTH_EPOCHS epochs, then every HEALTH_EPOCHS-th, and a run's last epoch
        trainer = self.experiment.trainer
        self._steps_per_epoch = -(-trainer.data.x_train.shape[0] // trainer.batch_size)
        trainer.health_every = self._steps_per_epoch
        self._health: list[LayerStatsComputed] = []
        self._health_seen = self._health_reported = 0  # epoch-end observations
        # [layer, columns, rows] whose unit maps each boundary carries (layer -1: none);
        # a list, or a shared array that the lab rewrites (tui.training_process)
        self.watched_units: Any = [-1, 0, 0]
        self._units_reported: tuple[int, ...] = (-1, 0, 0)

    @property
    def history(self) -> History:
        return self.experiment.trainer.history

    @property
    def epochs_completed(self) -> int:
        return self.experiment.trainer.epochs_completed

    def _should_stop(
        self,
        on_pause: Callable[[], None] | None = None,
        on_new_watch: Callable[[], None] | None = None,
        on_tuned: Callable[[SettingsApplied], None] | None = None,
    ) -> bool:
        """Asked before every batch: blocks while paused (after ``on_pause``; a paused
        run that is asked for other unit maps calls ``on_new_watch``), then takes on
        any new hyper-parameters (reported to ``on_tuned``)."""
        if not self._running.is_set():
            if on_pause is not None:
                on_pause()
            while not self._running.wait(0.05):
                asked = tuple(self.watched_units[:])
                if on_new_watch is not None and asked != self._units_reported:
                    on_new_watch()
        if self._tune_receiver.poll():
            applied = self._apply_tuning()
            if applied is not None and on_tuned is not None:
                on_tuned(applied)
        return self._stop.is_set()

    def _apply_tuning(self) -> SettingsApplied | None:
        """Set the optimizer's (and the twin's) hyper-parameters to the latest sent."""
        training = self.scenario.training
        while self._tune_receiver.poll():
            training = self._tune_receiver.recv()
        optimizer = self.experiment.optimizer
        old = {name: getattr(optimizer, name) for name in optimizer.hyperparameters}
        new = optimizer_hyperparameters(training)
        for name, value in new.items():
            setattr(optimizer, name, value)
        if self.twin is not None:
            probe = torch_optimizer(optimizer, [torch.zeros(1, requires_grad=True)])
            settings = {k: v for k, v in probe.param_groups[0].items() if k != "params"}
            for group in self.twin.optimizer.param_groups:
                group.update(settings)
        epochs = self.scenario.training.epochs
        self.scenario = replace(self.scenario, training=replace(training, epochs=epochs))
        changes = tuple((k, v) for k, v in new.items() if old[k] != v)
        if not changes:
            return None
        self.tuned = self.tuned or self.epochs_completed > 0 or optimizer.step_count > 0
        step = optimizer.step_count - self._epoch_start_steps + 1
        return SettingsApplied(self.epochs_completed + 1, step, changes)

    def run(
        self,
        epochs: int,
        emit: Callable[
            [Event | EpochsTrained | BoundaryUpdate | TrainingPaused | SettingsApplied], None
        ],
        report_every: float = 0.5,
        boundary_every: float = 1.0,
    ) -> History:
        """Train ``epochs`` more epochs in the calling thread, reporting at most every
        ``report_every`` seconds.

        Completed epochs are gathered and sent as one ``EpochsTrained``, followed
        by a fresh ``BoundaryUpdate``; other events pass straight through. A
        user interface that got one message per epoch would keep its thread
        busy, and a busy UI thread holding the GIL slows training many times
        over (every tensor op releases and re-takes the GIL).
        """
        self._stop.clear()
        self._step_once.clear()
        self._running.set()  # a run starts unpaused, whatever the last one ended in
        pending: list[EpochCompleted] = []
        twin_pending: list[EpochCompleted] = []
        last_epoch = self.epochs_completed + epochs
        if epochs == 1:
            self.experiment.trainer.health_every = self._steps_per_epoch
        # the first epoch is reported at once, so that the charts move right away
        last_report = last_boundary = time.perf_counter() - max(report_every, boundary_every)
        boundary_epoch = self.epochs_completed  # the epoch whose map was reported last

        def report(final: bool = False) -> None:
            nonlocal last_report, last_boundary, boundary_epoch
            now = time.perf_counter()
            if pending:
                difference = None if self.twin is None else self.max_loss_difference
                emit(EpochsTrained(tuple(pending), tuple(twin_pending), difference))
                pending.clear()
                twin_pending.clear()
            # the map of the last epoch always comes at the end (or a pause), even when that
            # epoch was reported before the map was due: what a run ends on never depends
            # on timing
            due = final or now - last_boundary >= boundary_every
            if due and boundary_epoch != self.epochs_completed:
                emit(self.boundary())
                last_boundary, boundary_epoch = now, self.epochs_completed
            if self._health_seen > self._health_reported:
                self._health_reported = self._health_seen
                emit(self.health())
            last_report = now

        def on_event(event: Event) -> None:
            if isinstance(event, LayerStatsComputed):
                if event.epoch_end:
                    self._health.append(event)
                    del self._health[:-HEALTH_HISTORY]
                    self._health_seen += 1
                return
            if isinstance(event, EpochCompleted):
                self._epoch_start_steps = self.experiment.optimizer.step_count
                # a fixed schedule, so that what the view shows never depends on timing
                upcoming = event.epoch + 1
                due = (
                    upcoming <= HEALTH_EPOCHS
                    or upcoming % HEALTH_EPOCHS == 0
                    or upcoming == last_epoch
                )
                trainer = self.experiment.trainer
                trainer.health_every = self._steps_per_epoch if due else None
                pending.append(event)
                if self.twin is not None:
                    theirs = self.twin.run(1).epochs[-1]
                    twin_pending.append(theirs)
                    self._track_difference(event, theirs)
                if self._step_once.is_set():  # the next batch waits, and reports the pause
                    self._step_once.clear()
                    self._running.clear()
                if time.perf_counter() - last_report >= report_every:
                    report()
                return
            report(final=True)
            emit(event)

        def on_pause() -> None:  # report the epochs done, so a paused screen shows them
            report(final=True)
            emit(TrainingPaused(self.epochs_completed))

        def on_new_watch() -> None:  # while paused, the newly watched layer's maps at once
            emit(self.boundary())

        def on_tuned(applied: SettingsApplied) -> None:
            report(final=True)
            emit(applied)

        self._epoch_start_steps = self.experiment.optimizer.step_count
        return self.experiment.trainer.run(
            epochs, on_event, lambda: self._should_stop(on_pause, on_new_watch, on_tuned)
        )

    def load_weights(self, state: dict[str, torch.Tensor]) -> BoundaryUpdate:
        """Load weights into the model (and the PyTorch twin, which starts from them too);
        returns the new decision boundary. A mismatch raises the model's error."""
        self.experiment.model.load_state_dict(state)
        if self.twin is not None:
            done = self.twin.history.epochs
            self.twin = TwinTrainer(self.experiment.trainer)
            self.twin.history.epochs.extend(done)  # numbered on from where it was
        return self.boundary()

    def _track_difference(self, ours: EpochCompleted, theirs: EpochCompleted) -> None:
        for a, b in ((ours.train_loss, theirs.train_loss), (ours.test_loss, theirs.test_loss)):
            gap = abs(a - b) / abs(b) if b else abs(a - b)
            self.max_loss_difference = max(self.max_loss_difference, gap)

    def health(self) -> HealthUpdate:
        """The latest layer health with each layer's recent ‖∂L/∂x‖."""
        latest = self._health[-1]
        history = tuple(
            tuple(event.layers[index].grad_input_norm for event in self._health)
            for index in range(len(latest.layers))
        )
        offset = 1 if self.scenario.model.features else 0
        return HealthUpdate(latest, history, offset)

    def boundary(self) -> BoundaryUpdate:
        # a tuple, or a shared array that the lab rewrites when its map is resized
        columns, rows = self.grid_size[:]
        if self.experiment.trainer.is_regression:
            grid = output_grid(self.experiment.model, columns, rows, self.extent)
        else:
            grid = decision_grid(self.experiment.model, columns, rows, self.extent)
        layer, maps = self.unit_maps()
        return BoundaryUpdate(self.epochs_completed, grid, self.extent, layer, maps)

    def unit_maps(self) -> tuple[int | None, torch.Tensor | None]:
        """The watched layer and its units over the plane (see ``watched_units``)."""
        watched = tuple(self.watched_units[:])
        self._units_reported = watched
        layer, columns, rows = watched
        if layer < 0:
            return None, None
        try:
            maps = neuron_maps(self.experiment.model, layer, columns, rows, self.extent)
        except IndexError:  # not a layer of this model
            return None, None
        return layer, maps.clone()  # a plain tensor, not an inference-mode one
