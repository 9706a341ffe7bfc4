"""The one training loop of minidl-lab, speaking in events.

Front ends (the headless ``replay``, the Textual lab) give the trainer a
callback for events and a stop predicate; the trainer knows nothing of
them. Per epoch it trains on shuffled mini-batches, then evaluates the
whole train and test sets in eval mode and emits ``EpochCompleted``.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import torch

from minidl.data import ClassificationData, RegressionData, one_hot
from minidl.engine import StepEngine
from minidl.errors import StateDictError
from minidl.health import LayerStatsComputed, observed_step
from minidl.layers.dropout import Dropout
from minidl.losses.loss import Loss
from minidl.metrics import (
    ClassificationMetrics,
    RegressionMetrics,
    classification_metrics,
    regression_metrics,
)
from minidl.module import Module
from minidl.optim.optimizer import Optimizer
from minidl.optim.schedulers import LRScheduler, clip_grad_norm_
from minidl.serialization import atomic_write_text, parse_strict_json, strict_json

Status = Literal["running", "completed", "stopped", "diverged"]


@dataclass(frozen=True)
class EpochCompleted:
    """Numbers of one finished epoch.

    ``train_loss`` is the mean of the epoch's mini-batch losses weighted by
    batch size (what the optimizer saw); the accuracies and the test loss
    come from a pass over the whole set in eval mode after the epoch.
    ``precision``/``recall``/``f1`` are on the test set (class 1 for two
    classes, macro average otherwise). ``seconds`` is the time spent in the
    training batches, and ``samples_per_second`` the training throughput.

    A regression run has no accuracies: those five fields are None, and
    ``train_r2``, ``test_mse``, ``test_mae`` and ``test_r2`` hold its numbers
    (None in a classification run). Files leave out the None fields.
    """

    epoch: int
    train_loss: float
    train_accuracy: float | None
    test_loss: float
    test_accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    seconds: float
    samples_per_second: float
    train_r2: float | None = None
    test_mse: float | None = None
    test_mae: float | None = None
    test_r2: float | None = None

    TIMING_FIELDS = ("seconds", "samples_per_second")
    REGRESSION_FIELDS = ("train_r2", "test_mse", "test_mae", "test_r2")
    CLASSIFICATION_FIELDS = ("train_accuracy", "test_accuracy", "precision", "recall", "f1")

    @classmethod
    def report(
        cls,
        epoch: int,
        loss_sum: float,
        samples: int,
        seconds: float,
        train: ClassificationMetrics | RegressionMetrics,
        test_loss: float,
        test: ClassificationMetrics | RegressionMetrics,
    ) -> EpochCompleted:
        """The event of an epoch from its summed batch losses, timing and evaluations."""
        if isinstance(train, RegressionMetrics) and isinstance(test, RegressionMetrics):
            return cls(
                epoch=epoch,
                train_loss=loss_sum / samples,
                train_accuracy=None,
                test_loss=test_loss,
                test_accuracy=None,
                precision=None,
                recall=None,
                f1=None,
                seconds=seconds,
                samples_per_second=samples / seconds if seconds > 0 else math.inf,
                train_r2=train.r2,
                test_mse=test.mse,
                test_mae=test.mae,
                test_r2=test.r2,
            )
        assert isinstance(train, ClassificationMetrics) and isinstance(test, ClassificationMetrics)
        return cls(
            epoch=epoch,
            train_loss=loss_sum / samples,
            train_accuracy=train.accuracy,
            test_loss=test_loss,
            test_accuracy=test.accuracy,
            precision=test.precision,
            recall=test.recall,
            f1=test.f1,
            seconds=seconds,
            samples_per_second=samples / seconds if seconds > 0 else math.inf,
        )

    @property
    def is_regression(self) -> bool:
        return self.test_r2 is not None or self.test_mse is not None

    def metrics(self) -> dict[str, float]:
        """The deterministic numbers (everything but timings and the other task's fields)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.TIMING_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """The fields of this run's task (the other task's None fields left out)."""
        return {k: v for k, v in asdict(self).items() if k in self.fields_of_task()}

    def fields_of_task(self) -> tuple[str, ...]:
        other = self.CLASSIFICATION_FIELDS if self.is_regression else self.REGRESSION_FIELDS
        return tuple(name for name in EPOCH_FIELDS if name not in other)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EpochCompleted:
        """Read back ``to_dict``: the other task's fields may be absent."""
        optional = (*cls.CLASSIFICATION_FIELDS, *cls.REGRESSION_FIELDS)
        return cls(**{k: None for k in optional if k not in values}, **values)


@dataclass(frozen=True)
class TrainingDiverged:
    """A mini-batch loss was NaN or inf; that batch's update was not applied."""

    epoch: int
    step: int
    loss: float


@dataclass(frozen=True)
class TrainingStopped:
    """A stop was requested; the interrupted epoch is not recorded."""

    epoch: int
    step: int


@dataclass(frozen=True)
class TrainingFinished:
    status: Status
    epochs_completed: int


Event = EpochCompleted | LayerStatsComputed | TrainingDiverged | TrainingStopped | TrainingFinished
EPOCH_FIELDS = tuple(f.name for f in fields(EpochCompleted))


@dataclass
class History:
    """Every epoch's numbers and how the run ended; writes JSON and CSV."""

    epochs: list[EpochCompleted] = field(default_factory=list)
    status: Status = "running"
    diverged: TrainingDiverged | None = None
    stopped: TrainingStopped | None = None

    @property
    def final(self) -> EpochCompleted | None:
        return self.epochs[-1] if self.epochs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "diverged": None if self.diverged is None else asdict(self.diverged),
            "stopped": None if self.stopped is None else asdict(self.stopped),
            "epochs": [e.to_dict() for e in self.epochs],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = strict_json(self.to_dict())  # NaN/inf as null, listed under "non_finite"
        if path is not None:
            atomic_write_text(path, text)
        return text

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        buffer = io.StringIO()
        names = (
            self.epochs[0].fields_of_task()
            if self.epochs
            else [n for n in EPOCH_FIELDS if n not in EpochCompleted.REGRESSION_FIELDS]
        )
        writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for epoch in self.epochs:
            writer.writerow(
                {k: repr(v) if isinstance(v, float) else v for k, v in epoch.to_dict().items()}
            )
        text = buffer.getvalue()
        if path is not None:
            atomic_write_text(path, text)
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> History:
        data = parse_strict_json(Path(source).read_text(encoding="utf-8"))
        return cls(
            epochs=[EpochCompleted.from_dict(e) for e in data["epochs"]],
            status=data["status"],
            diverged=TrainingDiverged(**data["diverged"]) if data.get("diverged") else None,
            stopped=TrainingStopped(**data["stopped"]) if data.get("stopped") else None,
        )


class Trainer:
    """Mini-batch training of a classifier, one epoch at a time.

    Args:
        model: the network; its first parameter fixes dtype and device.
        loss: a minidl loss; its ``target_kind`` decides how labels are encoded.
        optimizer: a minidl optimizer over the model's parameters.
        data: train and test sets.
        batch_size: samples per step (the last batch of an epoch may be smaller).
        shuffle_seed: seeds the per-epoch permutation; same seed, same batches.
        shuffle: if False, batches follow the data order.
        scheduler: stepped once after every epoch.
        clip_grad_norm: if set, gradients are scaled to this global norm at most
            before every optimizer step (fixed once the trainer is made).
        engine: train through ``minidl.StepEngine`` (the same numbers, several
            times faster on small networks); False runs the plain eager step.
        health_every: if set, every this many steps and on the last step of
            each epoch the step runs through ``minidl.health.observed_step``
            (the same numbers, eagerly) and a ``LayerStatsComputed`` event
            reports every layer's health.
        threads: torch's intra-op threads while ``run`` trains (restored after);
            None leaves torch's setting. One thread is fastest for the lab's
            small networks, and from a worker thread torch's thread pool is
            several times slower still (measured: centered_disk 0.9 s with
            one thread, 1.5 s with two, 9.8 s with two from a worker thread).

    The trainer is resumable: ``run`` may be called again and continues
    from the next epoch with the same shuffling stream, so two runs of 5
    epochs equal one of 10.
    """

    def __init__(
        self,
        model: Module,
        loss: Loss,
        optimizer: Optimizer,
        data: ClassificationData | RegressionData,
        batch_size: int,
        shuffle_seed: int = 0,
        shuffle: bool = True,
        threads: int | None = 1,
        scheduler: LRScheduler | None = None,
        clip_grad_norm: float | None = None,
        engine: bool = True,
        health_every: int | None = None,
    ) -> None:
        if health_every is not None and (
            isinstance(health_every, bool) or not isinstance(health_every, int) or health_every <= 0
        ):
            raise ValueError(f"health_every must be a positive integer, got {health_every!r}")
        self.health_every = health_every
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        n_train = data.x_train.shape[0]
        if batch_size > n_train:
            raise ValueError(f"batch_size {batch_size} is larger than the training set ({n_train})")
        parameters = model.parameters()
        reference = parameters[0].data if parameters else data.x_train
        self.dtype = reference.dtype if reference.is_floating_point() else torch.get_default_dtype()
        self.device = reference.device
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.threads = threads
        self.scheduler = scheduler
        self.clip_grad_norm = clip_grad_norm
        clip = None
        if clip_grad_norm is not None:
            clip = functools.partial(clip_grad_norm_, model.parameters(), clip_grad_norm)
        # each training step: zero_grad, forward, loss, backward, clipping, optimizer step
        self.engine = StepEngine(model, loss, optimizer, before_update=clip, enabled=engine)
        self._clip = clip
        self._generator = torch.Generator().manual_seed(shuffle_seed)
        self._x_train = data.x_train.to(self.dtype).to(self.device)
        self._x_test = data.x_test.to(self.dtype).to(self.device)
        self._t_train = self._targets(data.y_train)
        self._t_test = self._targets(data.y_test)
        self.history = History()

    @property
    def epochs_completed(self) -> int:
        return len(self.history.epochs)

    # --- checkpoints ------------------------------------------------------------
    def _dropout_generators(self) -> list[torch.Generator]:
        return [
            m.generator
            for m in self.model.modules()
            if isinstance(m, Dropout) and m.generator is not None
        ]

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly as if it had not stopped.

        Model and optimizer state, the scheduler, the batch-order and dropout
        generators, and the history so far. Save it with ``minidl.save``.
        """
        return {
            "model": {k: v.clone() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "shuffle_generator": self._generator.get_state(),
            "dropout_generators": [g.get_state() for g in self._dropout_generators()],
            "history": self.history.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict``; a mismatch raises, naming the part, and changes nothing.

        Every part is checked before anything is changed: the history, the
        scheduler's numbers and each generator state (tried on a scratch
        generator); the model and the optimizer check their own state and
        are rolled back together if the optimizer refuses its part.
        """
        if not isinstance(state, dict):
            raise StateDictError(f"trainer checkpoint must be a dict, got {type(state).__name__}")
        missing = [
            key
            for key in ("model", "optimizer", "scheduler", "shuffle_generator", "history")
            if key not in state
        ]
        if missing:
            raise StateDictError(f"trainer checkpoint lacks {', '.join(missing)}")
        generators = self._dropout_generators()
        saved_generators = state.get("dropout_generators", [])
        if not isinstance(saved_generators, list) or len(saved_generators) != len(generators):
            count = len(saved_generators) if isinstance(saved_generators, list) else 0
            raise StateDictError(
                f"trainer checkpoint holds {count} dropout "
                f"generators, the model has {len(generators)}"
            )
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise StateDictError("trainer checkpoint and trainer disagree on having a scheduler")
        epochs, status = _checked_history(state["history"])
        scheduler_state = None
        if self.scheduler is not None:
            scheduler_state = _checked_scheduler_state(state["scheduler"])
        _check_generator_state(state["shuffle_generator"], "shuffle generator")
        for index, saved in enumerate(saved_generators):
            _check_generator_state(saved, f"dropout generator {index}")

        model_before = {k: v.clone() for k, v in self.model.state_dict().items()}
        optimizer_before = self.optimizer.state_dict()
        self.model.load_state_dict(state["model"])  # validates everything before copying
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except Exception as error:
            self.model.load_state_dict(model_before)
            self.optimizer.load_state_dict(optimizer_before)
            if isinstance(error, StateDictError):
                raise
            raise StateDictError(
                f"trainer checkpoint has a malformed optimizer state: {error}"
            ) from None
        if self.scheduler is not None and scheduler_state is not None:
            self.scheduler.load_state_dict(scheduler_state)
        self._generator.set_state(state["shuffle_generator"])
        for generator, saved in zip(generators, saved_generators, strict=True):
            generator.set_state(saved)
        self.history = History(epochs=epochs, status=status)

    @property
    def is_regression(self) -> bool:
        return isinstance(self.data, RegressionData)

    def _targets(self, labels: torch.Tensor) -> torch.Tensor:
        if self.is_regression:  # one output column
            return labels.to(self.dtype).reshape(-1, 1).to(self.device)
        if self.loss.target_kind == "index":
            return labels.long().to(self.device)
        return one_hot(labels, self.data.num_classes, self.dtype).to(self.device)

    def run(
        self,
        epochs: int,
        on_event: Callable[[Event], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> History:
        """Train ``epochs`` more epochs, emitting events; returns the history.

        ``should_stop`` is asked before every batch, so a stop takes effect
        within one batch. A NaN/inf batch loss ends the run as "diverged"
        before that batch's update touches the weights.
        """
        emit = on_event or (lambda event: None)
        self.history.status = "running"
        previous_threads = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            self._run(epochs, emit, should_stop)
        finally:
            torch.set_num_threads(previous_threads)
        emit(TrainingFinished(self.history.status, self.epochs_completed))
        return self.history

    def _run(
        self,
        epochs: int,
        emit: Callable[[Event], None],
        should_stop: Callable[[], bool] | None,
    ) -> None:
        # inference mode: no autograd bookkeeping at all; what outlives a step
        # (gradients, flat buffers, optimizer state) is made as normal tensors
        with torch.inference_mode():
            for _ in range(epochs):
                epoch = self.epochs_completed + 1
                outcome = self._train_epoch(epoch, should_stop, emit)
                if isinstance(outcome, TrainingDiverged):
                    self.history.status, self.history.diverged = "diverged", outcome
                    emit(outcome)
                    break
                if isinstance(outcome, TrainingStopped):
                    self.history.status, self.history.stopped = "stopped", outcome
                    emit(outcome)
                    break
                self.history.epochs.append(outcome)
                emit(outcome)
            else:
                self.history.status = "completed"

    def _train_epoch(
        self,
        epoch: int,
        should_stop: Callable[[], bool] | None,
        emit: Callable[[Event], None] = lambda event: None,
    ) -> EpochCompleted | TrainingDiverged | TrainingStopped:
        n = self._x_train.shape[0]
        if self.shuffle:
            order = torch.randperm(n, generator=self._generator).to(self.device)
            inputs, targets = self._x_train[order], self._t_train[order]
        else:
            inputs, targets = self._x_train, self._t_train
        self.model.train()
        total = 0.0
        started = time.perf_counter()
        engine_step = self.engine.step
        for step, start in enumerate(range(0, n, self.batch_size), start=1):
            if should_stop is not None and should_stop():
                return TrainingStopped(epoch, step)
            x = inputs[start : start + self.batch_size]
            t = targets[start : start + self.batch_size]
            last = start + self.batch_size >= n
            if self.health_every is not None and (last or step % self.health_every == 0):
                value, stats = observed_step(
                    self.model, self.loss, self.optimizer, x, t, self._clip, skip_non_finite=True
                )
                if stats is not None:
                    emit(LayerStatsComputed(epoch, step, last, tuple(stats)))
            else:
                value = engine_step(x, t, skip_non_finite=True)
            if not math.isfinite(value):  # the update was not applied
                return TrainingDiverged(epoch, step, value)
            total += value * x.shape[0]
        seconds = time.perf_counter() - started
        if self.scheduler is not None:
            self.scheduler.step()
        _, train = self.evaluate(self._x_train, self._t_train, self.data.y_train)
        test_loss, test = self.evaluate(self._x_test, self._t_test, self.data.y_test)
        return EpochCompleted.report(epoch, total, n, seconds, train, test_loss, test)

    def evaluate(
        self, x: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor
    ) -> tuple[float, ClassificationMetrics | RegressionMetrics]:
        """Loss and metrics of the model on a whole set, in eval mode."""
        if x.shape[0] == 0:
            if self.is_regression:
                return math.nan, RegressionMetrics(math.nan, math.nan, math.nan)
            return math.nan, ClassificationMetrics(math.nan, math.nan, math.nan, math.nan)
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            prediction = self.model(x)
            value = self.loss(prediction, targets).item()
        self.model.train(was_training)
        if self.is_regression:
            return value, regression_metrics(prediction.cpu(), labels)
        predicted = prediction.argmax(dim=1).cpu()
        return value, classification_metrics(predicted, labels, self.data.num_classes)


def _checked_history(history: Any) -> tuple[list[EpochCompleted], Status]:
    """The epochs and status of a saved history, or StateDictError saying what is wrong."""
    try:
        epochs = [EpochCompleted.from_dict(e) for e in history["epochs"]]
        status = history["status"]
    except (KeyError, TypeError) as error:
        raise StateDictError(f"trainer checkpoint has a malformed history: {error}") from None
    if status not in ("running", "completed", "stopped", "diverged"):
        raise StateDictError(f"trainer checkpoint has an unknown history status {status!r}")
    return epochs, status


def _checked_scheduler_state(saved: Any) -> dict[str, float | int]:
    try:
        return {"base_lr": float(saved["base_lr"]), "last_epoch": int(saved["last_epoch"])}
    except (KeyError, TypeError, ValueError) as error:
        raise StateDictError(f"trainer checkpoint has a malformed scheduler: {error}") from None


def _check_generator_state(saved: Any, what: str) -> None:
    """Try a saved generator state on a scratch generator, so a bad one changes nothing."""
    if not isinstance(saved, torch.Tensor) or saved.dtype != torch.uint8:
        raise StateDictError(f"trainer checkpoint: the {what} state is not a byte tensor")
    try:
        torch.Generator().set_state(saved)
    except (RuntimeError, ValueError, TypeError):
        raise StateDictError(f"trainer checkpoint: the {what} state is corrupt") from None
