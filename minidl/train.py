"""The one training loop of minidl-lab, speaking in events.

Front ends (the headless ``replay``, the Textual lab) give the trainer a
callback for events and a stop predicate; the trainer knows nothing of
them. Per epoch it trains on shuffled mini-batches, then evaluates the
whole train and test sets in eval mode and emits ``EpochCompleted``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any

import torch

from minidl.data import ClassificationData, RegressionData, one_hot
from minidl.engine import StepEngine
from minidl.errors import StateDictError
from minidl.events import (
    EpochCompleted,
    Event,
    TrainingDiverged,
    TrainingFinished,
    TrainingStopped,
)
from minidl.health import LayerStatsComputed, observed_step
from minidl.history import History
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
from minidl.trainer_state import check_checkpoint


class Trainer:
    """Mini-batch training of a classifier or a regression model, one epoch at a time.

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
        generators = self._dropout_generators()
        checked = check_checkpoint(state, len(generators), self.scheduler is not None)

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
        if self.scheduler is not None and checked.scheduler is not None:
            self.scheduler.load_state_dict(checked.scheduler)
        self._generator.set_state(state["shuffle_generator"])
        for generator, saved in zip(generators, checked.dropout_generators, strict=True):
            generator.set_state(saved)
        self.history = History(epochs=checked.epochs, status=checked.status)

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


__all__ = [
    "EpochCompleted",
    "Event",
    "History",
    "Trainer",
    "TrainingDiverged",
    "TrainingFinished",
    "TrainingStopped",
]
