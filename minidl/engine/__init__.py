"""`StepEngine`: a training step recorded once, then replayed into fixed buffers.

A minidl step is a few dozen small tensor ops, and on small networks their
Python around them (layers, loss, optimizer, checks) costs as much as the ops
themselves. The engine runs the plain step::

    optimizer.zero_grad(); value = loss(model(x), target)
    model.backward(loss.backward()); optimizer.step()

while a ``TorchFunctionMode`` notes every torch call it makes, then repeats
only those calls at the next steps, without the Python:

* an allocating call is replayed with ``out=`` into the tensor it returned
  when recorded; an in-place call is replayed as it is; a view is not
  replayed at all (it aliases storage that the replay rewrites in place);
  a constant (``new_ones``) is made once;
* the batch is copied into fixed input tensors that the recording read;
* calls whose results nobody reads (the model's input gradient) are dropped;
* an element-wise result is written into an operand that dies there
  (``z.clamp_min_(0)`` for ReLU's ``clamp_min(z, 0)``);
* a result takes the buffer of one that is dead by then;
* a Python number operand becomes a 0-dim tensor made once (the number
  would otherwise be wrapped into a new tensor at every call).

Every ``out=`` form and 0-dim operand is tried once against the original
call while recording and kept only if its result is bit for bit the same
(copies and refills are exact by construction); random ops (Dropout's mask)
are replayed too, so they draw fresh numbers from the same generator, as the
eager step would. Results equal the eager step's exactly.

A recording is used only while what it assumed still holds. Per batch
shape, dtype and device there is one recording; before each replay the
engine checks that every tensor and generator the recording reads is still
where the model, loss and optimizer keep it (``load_state_dict``,
``Module.to`` and a rebound parameter fail this), and that every Python
number, string and flag reachable from them is unchanged (``training`` of
every module, a learning rate a scheduler set, a momentum). When a check
fails the engine records again; a step it cannot record (one that reads a
tensor's value in Python, or keeps Python counters that a replay would not
advance) runs eagerly, every time. See docs/engine.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from minidl.engine.guard import _Guard, _plain_state
from minidl.engine.record import _Recorder
from minidl.engine.replay import _Recording

if TYPE_CHECKING:
    from minidl.losses.loss import Loss
    from minidl.module import Module

__all__ = ["StepEngine"]

MAX_RECORDINGS = 4  # per batch shape: a step that never records the same twice runs eagerly


class _Slot:
    """Everything the engine keeps for one batch shape, dtype and device."""

    def __init__(self, x: torch.Tensor, target: torch.Tensor) -> None:
        with torch.inference_mode(False):
            self.inputs = (torch.empty_like(x), torch.empty_like(target))
        self.warm = False  # an eager step ran: lazy state (gradients, moments) exists
        self.candidate: _Recording | None = None  # recorded, awaiting a second equal one
        self.recording: _Recording | None = None  # replayed while its guard holds
        self.attempts = 0
        self.refusal: str | None = None


class StepEngine:
    """Runs ``model``'s training steps fast, with exactly the eager step's numbers.

    Args:
        model: the network (a minidl ``Module``).
        loss: a minidl loss whose ``forward`` returns the loss as a tensor.
        optimizer: a minidl optimizer over the model's parameters.
        before_update: called after backward, before ``optimizer.step()`` (e.g.
            gradient clipping); it is recorded and replayed like the rest.
        enabled: False runs every step eagerly (the same numbers, slower).

    ``step(x, target)`` is one training step, returning the loss as a float::

        engine = minidl.StepEngine(model, loss, optimizer)
        for x, target in batches:
            loss_value = engine.step(x, target)

    The first step of each batch shape runs eagerly, the next two are recorded
    (the engine replays only a step recorded twice alike), and later steps
    are replayed. Change the model, loss and optimizer freely between steps
    (learning rate, ``train()``/``eval()``, ``load_state_dict``): the engine
    notices and records again. ``why_eager()`` says why a step cannot be
    replayed, if it cannot. Between engine steps the modules' saved forward
    tensors are the engine's: call ``model(x)`` again before a ``backward``
    of your own.
    """

    def __init__(
        self,
        model: Module,
        loss: Loss,
        optimizer: Any,
        before_update: Callable[[], object] | None = None,
        enabled: bool = True,
    ) -> None:
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.before_update = before_update
        self.enabled = enabled
        self._slots: dict[tuple, _Slot] = {}
        self.replays = 0  # steps replayed so far (the rest ran eagerly or were recorded)

    def step(self, x: torch.Tensor, target: torch.Tensor, skip_non_finite: bool = False) -> float:
        """One training step on a batch; returns the loss.

        With ``skip_non_finite``, a NaN or infinite loss leaves the parameters
        and optimizer state as they were (the trainer stops there).
        """
        slot = self._slots.get((x.shape, x.dtype, target.shape, target.dtype, x.device))
        if slot is not None:
            recording = slot.recording
            if recording is not None and recording.guard.holds():  # type: ignore[union-attr]
                self.replays += 1
                return recording.replay(x, target, skip_non_finite)
        return self._slow_step(x, target, skip_non_finite)

    def why_eager(self) -> str | None:
        """Why steps run eagerly (None when they are replayed or not yet recorded)."""
        if not self.enabled:
            return "the engine is turned off (enabled=False)"
        for slot in self._slots.values():
            if slot.refusal:
                return slot.refusal
        return None

    def recorded_calls(self, x: torch.Tensor, target: torch.Tensor) -> list[Callable[[], object]]:
        """The calls a replay of this batch shape makes (for the benchmark's op floor)."""
        slot = self._slots.get((x.shape, x.dtype, target.shape, target.dtype, x.device))
        if slot is None or slot.recording is None:
            return []
        inputs = slot.recording.inputs
        return [
            functools.partial(inputs[0].copy_, x),
            functools.partial(inputs[1].copy_, target),
            *slot.recording.forward,
            slot.recording.value.item,
            *slot.recording.update,
        ]

    def reset(self) -> None:
        """Forget every recording (their buffers are freed)."""
        self._slots.clear()

    # --- eager and recorded steps ------------------------------------------------
    def _slow_step(self, x: torch.Tensor, target: torch.Tensor, skip_non_finite: bool) -> float:
        if not self.enabled:
            return self._eager(x, target, skip_non_finite)
        key = (x.shape, x.dtype, target.shape, target.dtype, x.device)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot(x, target)
        if slot.refusal is not None or not slot.warm:
            slot.warm = True
            return self._eager(x, target, skip_non_finite)
        slot.recording = None
        return self._record(slot, x, target, skip_non_finite)

    def _phases(self, x: torch.Tensor, target: torch.Tensor) -> tuple[Callable, Callable]:
        model, loss, optimizer, before_update = (
            self.model,
            self.loss,
            self.optimizer,
            self.before_update,
        )

        def forward() -> object:
            optimizer.zero_grad()
            return loss(model(x), target)

        def update() -> None:
            model.backward(loss.backward())
            if before_update is not None:
                before_update()
            optimizer.step()

        return forward, update

    def _eager(self, x: torch.Tensor, target: torch.Tensor, skip_non_finite: bool) -> float:
        forward, update = self._phases(x, target)
        # state made at a step (gradients, moments) must outlive any inference-mode block
        with torch.inference_mode(False):
            value = float(forward())  # type: ignore[arg-type]
            if not (skip_non_finite and not math.isfinite(value)):
                update()
        return value

    def _record(
        self, slot: _Slot, x: torch.Tensor, target: torch.Tensor, skip_non_finite: bool
    ) -> float:
        roots = [self.model, self.loss, self.optimizer]
        before = _plain_state(roots)
        recorder = _Recorder()
        forward, update = self._phases(*slot.inputs)
        with torch.inference_mode(False):
            slot.inputs[0].copy_(x)
            slot.inputs[1].copy_(target)
            with recorder:
                loss_tensor = forward()
            split = len(recorder.calls)
            value = float(loss_tensor)  # type: ignore[arg-type]
            if skip_non_finite and not math.isfinite(value):
                return value  # an incomplete step: not a recording
            with recorder:
                update()
        if recorder.refusal is None and not isinstance(loss_tensor, torch.Tensor):
            recorder.refusal = f"the loss returns a {type(loss_tensor).__name__}, not a tensor"
        if recorder.refusal is not None:
            slot.refusal, slot.candidate = recorder.refusal, None
            return value
        after = _plain_state(roots)
        changed = [k for k, v in before.items() if k in after and not _same(after[k], v)]
        if changed:
            # a value the step sets anew (a flag a layer saves for its backward, just
            # after train() or eval()) changes once; a counter changes at every step
            self._not_alike(
                slot, f"the step changes Python state ({changed[0][1]!r}) that a replay would not"
            )
            return value
        recording = _Recording(recorder.calls, split, slot.inputs, loss_tensor)  # type: ignore[arg-type]
        if slot.candidate is not None and slot.candidate.signature == recording.signature:
            recording.guard = _Guard(roots, recording.externals())
            recording.compile()  # and forgets the calls: buffers no replay uses are freed
            slot.recording, slot.candidate, slot.attempts = recording, None, 0
        else:
            self._not_alike(slot, "the step's torch calls differ from one step to the next")
            if slot.refusal is None:
                slot.candidate = recording  # the next recording is compared with this one
        return value

    @staticmethod
    def _not_alike(slot: _Slot, why: str) -> None:
        """One more recording that cannot be replayed; after ``MAX_RECORDINGS`` the slot
        runs eagerly for good, and ``why`` says why."""
        slot.candidate = None
        slot.attempts += 1
        if slot.attempts >= MAX_RECORDINGS:
            slot.refusal = why


def _same(a: object, b: object) -> bool:
    return a is b or a == b
