"""A recorded step: its signature, the calls worth replaying, and the replay itself."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from minidl.engine.record import RANDOM, _Call, _same_bits, _storage, _tensors

if TYPE_CHECKING:
    from minidl.engine.guard import _Guard


class _Recording:
    """The calls of one recorded step: its signature, and the compiled replay."""

    def __init__(self, calls: list[_Call], split: int, inputs: tuple, value: torch.Tensor):
        self.calls, self.split, self.inputs, self.value = calls, split, inputs, value
        self.signature = _signature(calls, inputs)
        self.forward: list[Callable[[], object]] = []  # zero_grad, up to the loss value
        self.update: list[Callable[[], object]] = []  # backward, optimizer step
        self.guard: _Guard | None = None

    def externals(self) -> list[object]:
        """The tensors and generators the step used that it did not make."""
        # an in-place call returns the tensor it wrote into, often one that outlives the step
        made = {id(t) for c in self.calls if c.kind != "in-place" for t in _tensors(c.result)}
        made.update(id(t) for t in self.inputs)
        found: dict[int, object] = {}
        for call in self.calls:
            for item in (*_tensors(call.args), *_tensors(call.kwargs)):
                if id(item) not in made:
                    found[id(item)] = item
            generator = call.kwargs.get("generator")
            if isinstance(generator, torch.Generator):
                found[id(generator)] = generator
        return list(found.values())

    def compile(self) -> None:
        """Keep the calls whose effects someone reads, in order, split at the loss value.

        A call is needed when it writes into a tensor that outlives the step (a
        parameter, a gradient, optimizer state), into one a needed call reads,
        or into the loss value, or when it draws random numbers.
        """
        made = {
            _storage(t)
            for c in self.calls
            if c.kind in ("allocating", "constant")
            for t in _tensors(c.result)
            if t.numel()
        }
        live = {_storage(self.value)}
        written_later: set[int] = set()
        kept: list[tuple[int, Callable[[], object]]] = []
        for index in range(len(self.calls) - 1, -1, -1):
            call = self.calls[index]
            if call.kind in ("view", "metadata") or (
                call.replay is None and call.kind != "constant"
            ):
                continue
            writes = {_storage(t) for t in call.writes() if t.numel()}
            random = call.name in RANDOM or "generator" in call.kwargs
            if not (random or any(w in live or w not in made for w in writes)):
                continue  # nobody reads what it writes: the model's input gradient
            live.update(_storage(t) for t in call.reads() if t.numel())
            if call.kind == "constant":
                if call.replay is None or not writes & written_later:
                    continue  # made once, at recording, and never written after
            elif call.kind == "in-place":
                written_later.update(writes)
            replay = call.replay
            if call.fallback is not None and writes & written_later:
                replay = call.fallback  # its border is written later: remake it whole
            kept.append((index, replay))  # type: ignore[arg-type]
        kept.reverse()
        kept = self._in_place(kept)
        kept = self._share_buffers(kept)
        self.forward = [replay for index, replay in kept if index < self.split]
        self.update = [replay for index, replay in kept if index >= self.split]
        self.calls, self.signature = [], []

    def replay(self, x: torch.Tensor, target: torch.Tensor, skip_non_finite: bool) -> float:
        guard = torch._C._InferenceMode(True)
        try:
            self.inputs[0].copy_(x)
            self.inputs[1].copy_(target)
            for call in self.forward:
                call()
            value = self.value.item()
            if skip_non_finite and not math.isfinite(value):
                return value
            for call in self.update:
                call()
            return value
        finally:
            del guard

    def _in_place(
        self, kept: list[tuple[int, Callable[[], object]]]
    ) -> list[tuple[int, Callable[[], object]]]:
        """Write an element-wise result into an operand that is dead after it.

        ``torch.mul(g, s, out=r)`` becomes ``g.mul_(s)`` when no later call reads
        ``g`` (and ``s.mul_(g)`` when only ``s`` dies: the product is the same both
        ways round); later calls read ``g`` where they read ``r``, and a view of
        ``r`` (``r.t()``) becomes the same view of ``g``. Only ``IN_PLACE_FORMS``,
        and only an operand that this step makes afresh with the result's layout.
        The in-place form runs the same kernel on the same numbers; it is also
        tried once, on a copy, and kept only if it gives the recorded bits.
        """
        producers = {
            id(self.calls[index].result): index
            for index, _ in kept
            if self.calls[index].kind == "allocating"
            and isinstance(self.calls[index].result, torch.Tensor)
        }
        uses, on_storage = _storage_uses(kept)
        moved: dict[int, torch.Tensor] = {}
        rewritten = list(kept)
        for position, (index, replay) in enumerate(kept):
            result = self.calls[index].result
            if not (
                isinstance(replay, functools.partial)
                and replay.func in IN_PLACE_FORMS
                and set(replay.keywords) == {"out"}
                and replay.keywords["out"] is result
                and result is not self.value
            ):
                continue
            args = _substitute(replay.args, moved)
            for at in (0, 1) if replay.func in COMMUTATIVE and len(args) == 2 else (0,):
                operand = args[at]
                others = args[:at] + args[at + 1 :]
                if not (
                    isinstance(operand, torch.Tensor)
                    and operand.numel()
                    and id(operand) in producers
                    and _same_layout(operand, result)
                    and max(uses[_storage(operand)]) == position  # dead after this call
                    and not any(  # nothing else here reads it through a view
                        isinstance(t, torch.Tensor)
                        and t is not operand
                        and _storage(t) == _storage(operand)
                        for t in others
                    )
                ):
                    continue
                method = IN_PLACE_FORMS[replay.func]
                recorded = replay.args  # the tensors that hold the recorded values
                trial = recorded[at].clone()
                try:
                    method(trial, *recorded[:at], *recorded[at + 1 :])
                except (TypeError, RuntimeError):
                    continue
                if not _same_bits(trial, result):
                    continue
                for tensor in on_storage.pop(_storage(result), {}).values():
                    moved[id(tensor)] = (
                        operand
                        if tensor is result
                        else operand.as_strided(
                            tensor.size(), tensor.stride(), tensor.storage_offset()
                        )
                    )
                    on_storage[_storage(operand)][id(tensor)] = moved[id(tensor)]
                uses[_storage(operand)].extend(uses.pop(_storage(result), []))
                rewritten[position] = (index, functools.partial(method, operand, *others))
                break
        if not moved:
            return kept
        return [(index, _substitute(replay, moved)) for index, replay in rewritten]

    def _share_buffers(
        self, kept: list[tuple[int, Callable[[], object]]]
    ) -> list[tuple[int, Callable[[], object]]]:
        """Let a result take the buffer of one that is dead by then (same shape and layout).

        The step's activations and gradients then fit in fewer buffers, which stay
        in the caches. A result moves only if nothing else (a view) shares its
        storage, and only into a buffer whose last use comes before the call that
        makes it, so no call ever reads what it writes. The values are the same.
        """
        made: dict[int, torch.Tensor] = {}  # storage -> the result an allocating call made
        value = _storage(self.value)  # read after the calls: it stays where it is
        for index, _ in kept:
            result = self.calls[index].result
            if (
                self.calls[index].kind == "allocating"
                and isinstance(result, torch.Tensor)
                and result.numel()
                and _storage(result) != value
            ):
                made[_storage(result)] = result
        uses, on_storage = _storage_uses(kept)
        last = {storage: positions[-1] for storage, positions in uses.items()}
        seen_as = {storage: set(tensors) for storage, tensors in on_storage.items()}
        free: dict[tuple, list[list]] = {}  # layout -> [buffer, position of its last use]
        moved: dict[int, torch.Tensor] = {}  # id of a result -> the buffer it takes
        for position, (index, _) in enumerate(kept):
            result = self.calls[index].result
            if not isinstance(result, torch.Tensor) or _storage(result) not in made:
                continue
            if made[_storage(result)] is not result:
                continue
            layout = (result.shape, result.stride(), result.dtype, result.device)
            end = last.get(_storage(result), position)
            pool = free.setdefault(layout, [])
            movable = seen_as.get(_storage(result)) == {id(result)} and result.is_contiguous()
            spare = next((entry for entry in pool if entry[1] < position), None)
            if movable and spare is not None:
                moved[id(result)] = spare[0]
                spare[1] = end
            else:
                pool.append([result, end])
        if not moved:
            return kept
        return [(index, _substitute(replay, moved)) for index, replay in kept]


# element-wise functions and their in-place forms: x.f_(*rest) computes f(x, *rest) into x
IN_PLACE_FORMS: dict[Callable, Callable] = {
    getattr(torch, name): getattr(torch.Tensor, name + "_")
    for name in (
        "add", "sub", "mul", "div", "clamp_min", "clamp_max", "sign", "neg", "abs",
        "exp", "tanh", "sigmoid", "reciprocal", "sqrt", "rsqrt",
    )
}  # fmt: skip
COMMUTATIVE = frozenset({torch.add, torch.mul})


def _same_layout(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape, strides, dtype and device, each at the start of its own storage of
    the same size: a view of one has the same view on the other."""
    return (
        a.shape == b.shape
        and a.stride() == b.stride()
        and a.dtype == b.dtype
        and a.device == b.device
        and a.storage_offset() == b.storage_offset() == 0
        and a.untyped_storage().nbytes() == b.untyped_storage().nbytes()
    )


def _storage_uses(
    kept: list[tuple[int, Callable[[], object]]],
) -> tuple[dict[int, list[int]], dict[int, dict[int, torch.Tensor]]]:
    """For each storage the kept calls use (empty tensors aside): the positions of the calls
    that use it, in order, and the tensors (views included) through which they do, by id."""
    uses: dict[int, list[int]] = {}
    on_storage: dict[int, dict[int, torch.Tensor]] = {}
    for position, (_, replay) in enumerate(kept):
        for tensor in _partial_tensors(replay):
            if tensor.numel():
                uses.setdefault(_storage(tensor), []).append(position)
                on_storage.setdefault(_storage(tensor), {})[id(tensor)] = tensor
    return uses, on_storage


def _partial_tensors(replay: Callable[[], object]) -> list[torch.Tensor]:
    if isinstance(replay, functools.partial):
        return _tensors(replay.args) + _tensors(replay.keywords)
    return []


def _substitute(value: object, moved: dict[int, torch.Tensor]) -> object:
    """``value`` with every tensor in ``moved`` replaced by its new buffer."""
    if isinstance(value, torch.Tensor):
        return moved.get(id(value), value)
    if isinstance(value, functools.partial):
        args = _substitute(value.args, moved)
        keywords = _substitute(value.keywords, moved)
        return functools.partial(value.func, *args, **keywords)  # type: ignore[arg-type]
    if isinstance(value, (list, tuple)) and _tensors(value):
        return type(value)(_substitute(item, moved) for item in value)
    if isinstance(value, dict):
        return {key: _substitute(item, moved) for key, item in value.items()}
    return value


def _signature(calls: list[_Call], inputs: tuple) -> list[tuple]:
    """The calls with every tensor named by where it comes from: two recordings of a
    step in its steady state have equal signatures."""
    names: dict[int, tuple] = {id(t): ("input", i) for i, t in enumerate(inputs)}

    def name(value: object) -> object:
        if isinstance(value, torch.Tensor):
            return names.get(id(value), ("external", id(value)))
        if isinstance(value, torch.Generator):
            return ("generator", id(value))
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, *(name(v) for v in value))
        if isinstance(value, dict):
            return ("dict", *((k, name(v)) for k, v in sorted(value.items())))
        if isinstance(value, (int, float, complex)):
            return (type(value).__name__, repr(value))
        return value

    signature = []
    for index, call in enumerate(calls):
        signature.append((call.func, call.kind, name(call.args), name(call.kwargs)))
        for position, tensor in enumerate(_tensors(call.result)):
            names.setdefault(id(tensor), ("result", index, position))
    return signature
