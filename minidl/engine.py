"""`StepEngine`: a training step recorded once, then replayed into fixed buffers.

A minidl step is a few dozen small tensor ops, and on small networks their
Python around them (layers, loss, optimizer, checks) costs as much as the ops
themselves. The engine runs the plain step::

    output = model(x); value = loss(output, target)
    optimizer.zero_grad(); model.backward(loss.backward()); optimizer.step()

while a ``TorchFunctionMode`` notes every torch call it makes, then repeats
only those calls at the next steps, without the Python:

* an allocating call is replayed with ``out=`` into the tensor it returned
  when recorded; an in-place call is replayed as it is; a view is not
  replayed at all (it aliases storage that the replay rewrites in place);
  a constant (``new_ones``) is made once;
* the batch is copied into fixed input tensors that the recording read;
* calls whose results nobody reads (the model's input gradient) are dropped;
* a Python number operand becomes a 0-dim tensor made once (the number
  would otherwise be wrapped into a new tensor at every call).

Every rewritten call is tried once against the original while recording and
kept only if its result is bit for bit the same; random ops (Dropout's mask)
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
import operator
from collections.abc import Callable
from itertools import chain
from operator import call as _apply
from operator import is_
from typing import TYPE_CHECKING, Any

import torch
from torch.overrides import TorchFunctionMode

if TYPE_CHECKING:
    from minidl.losses.loss import Loss
    from minidl.module import Module

# calls that hand a tensor's value to Python: a step that makes one may branch on it
VALUE_READS = frozenset(
    {"item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__", "__complex__"}
    | {"__format__", "__repr__", "__str__", "__array__", "equal", "allclose", "is_nonzero"}
)
# calls whose results depend on a tensor's metadata alone, fixed per recording
METADATA = frozenset(
    {"__get__", "size", "dim", "numel", "stride", "storage_offset", "is_contiguous", "__len__"}
    | {"element_size", "data_ptr", "is_floating_point", "is_complex", "nelement", "ndimension"}
    | {"get_device", "__hash__", "untyped_storage", "_is_view", "type"}
)
IN_PLACE_DUNDERS = frozenset(
    {"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__", "__imatmul__"}
)
RANDOM = frozenset(
    {"rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm"}
    | {"bernoulli", "normal", "multinomial", "poisson", "dropout", "feature_dropout"}
)
# results fixed by their arguments' metadata: made once, unless a later call writes into them
FACTORIES = frozenset(
    {"ones", "zeros", "full", "arange", "linspace", "eye", "tensor", "scalar_tensor"}
    | {"ones_like", "zeros_like", "full_like", "new_ones", "new_zeros", "new_full", "new_tensor"}
)
# calls that, when they allocate, copy their input's values unchanged (into a new layout)
COPIES = frozenset({"reshape", "flatten", "contiguous", "clone", "reshape_as", "view_as"})
UNINITIALISED = frozenset({"empty", "empty_like", "new_empty", "empty_strided"})
# reflected operators, replayed as the function with the operands swapped; a Python
# number becomes a 0-dim tensor only for add, sub, mul and div (pow keeps its number:
# a tensor base takes another kernel, whose last bit differs for some exponents)
REFLECTED = {
    "__radd__": (torch.add, False),
    "__rmul__": (torch.mul, False),
    "__rsub__": (torch.sub, True),
    "__rpow__": (torch.pow, True),
}
ARITHMETIC = frozenset(
    {"add", "sub", "mul", "div", "true_divide", "subtract", "multiply"}
    | {"add_", "sub_", "mul_", "div_", "__add__", "__sub__", "__mul__", "__truediv__"}
    | {"__radd__", "__rmul__", "__rsub__"}
    | {"gt", "lt", "ge", "le", "eq", "ne", "__gt__", "__lt__", "__ge__", "__le__", "__eq__"}
    | {"__ne__"}
)


def _reciprocal_times(tensor: torch.Tensor, number: object, out: torch.Tensor) -> None:
    """``number / tensor`` as torch computes it (``Tensor.__rdiv__``: 1/tensor, times number)."""
    torch.reciprocal(tensor, out=out)
    torch.mul(out, number, out=out)


def _sum_then_divide(*args: object, count: object, out: torch.Tensor, **kwargs: object) -> None:
    """``torch.mean`` as ATen computes it on the CPU: the sum, divided in place by the count."""
    if len(args) == 1 and "dim" not in kwargs:
        args = (*args, None)  # all dimensions (sum's out= form needs them named)
    torch.sum(*args, **kwargs, out=out)  # type: ignore[call-overload]
    out.div_(count)


def _scalar(number: object, like: torch.Tensor) -> object:
    """A Python number as a 0-dim tensor of ``like``'s dtype (made once, not at every call)."""
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return number
    if isinstance(number, float) and not like.is_floating_point():
        return number
    return torch.tensor(number, dtype=like.dtype, device=like.device)


# calls without an out= form, and the same computation with one: ATen's relu is clamp_min,
# Tensor.__rdiv__ is reciprocal() * number
OUT_FORMS: dict[str, Callable[[tuple], tuple[Callable, tuple]]] = {
    "relu": lambda args: (torch.clamp_min, (args[0], 0)),
    "__rdiv__": lambda args: (_reciprocal_times, (args[0], _scalar(args[1], args[0]))),
    "__rtruediv__": lambda args: (_reciprocal_times, (args[0], _scalar(args[1], args[0]))),
}
MAX_RECORDINGS = 4  # per batch shape: a step that never records the same twice runs eagerly


class _Refused(Exception):
    """The step cannot be replayed (the message says why); it runs eagerly."""


def _tensors(value: object) -> list[torch.Tensor]:
    """The tensors in a call's arguments or result (nested in lists, tuples and dicts)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


def _storage(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if not a.is_floating_point():
        return torch.equal(a, b)
    # equal values, NaNs in the same places, and the same sign of every zero
    return (
        torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))
        and torch.equal(a.isnan(), b.isnan())
        and torch.equal(a.signbit(), b.signbit())
    )


def _fresh_like(result: object) -> object:
    if isinstance(result, torch.Tensor):
        return torch.empty_strided(
            result.size(), result.stride(), dtype=result.dtype, device=result.device
        )
    return tuple(_fresh_like(r) for r in result)  # type: ignore[union-attr]


class _Call:
    """One torch call of the recorded step and how to replay it."""

    __slots__ = ("args", "fallback", "func", "kind", "kwargs", "name", "replay", "result")

    def __init__(self, func: Callable, name: str, args: tuple, kwargs: dict, result: object):
        self.func, self.name, self.args, self.kwargs, self.result = (
            func,
            name,
            args,
            kwargs,
            result,
        )
        self.kind = ""  # "view", "metadata", "constant", "in-place", "allocating"
        self.replay: Callable[[], object] | None = None
        # a padded copy replays only its interior: this, if a later call writes its border
        self.fallback: Callable[[], object] | None = None

    def writes(self) -> list[torch.Tensor]:
        if self.kind in ("allocating", "constant"):
            return _tensors(self.result)
        if "out" in self.kwargs:
            return _tensors(self.kwargs["out"])
        return _tensors(self.args[:1])

    def reads(self) -> list[torch.Tensor]:
        return _tensors(self.args) + _tensors(self.kwargs)


class _Recorder(TorchFunctionMode):
    """Notes every torch call of a step, and works out how to replay each one."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[_Call] = []
        self.refusal: str | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        generator = None
        if name in RANDOM or "generator" in kwargs:
            generator = kwargs.get("generator") or torch.default_generator
            before = generator.get_state()
        else:
            before = None
        copy = None  # of an in-place call's target, to try its 0-dim operand form on
        if (
            name in ARITHMETIC
            and name.endswith("_")
            and len(args) > 1
            and isinstance(args[1], (int, float))
            and isinstance(args[0], torch.Tensor)
        ):
            copy = args[0].clone()
        result = func(*args, **kwargs)
        call = _Call(func, name, args, kwargs, result)
        self.calls.append(call)
        try:
            self._classify(call, generator, before, copy)
        except _Refused as refusal:
            self.refusal = self.refusal or str(refusal)
        return result

    def _classify(self, call: _Call, generator: Any, before: Any, copy: Any) -> None:
        name, kwargs, result = call.name, call.kwargs, call.result
        if name in VALUE_READS:
            raise _Refused(f"the step reads a tensor's value in Python (Tensor.{name})")
        if name in METADATA:
            call.kind = "metadata"
            return
        in_place = (
            "out" in kwargs
            or name in IN_PLACE_DUNDERS
            or (name.endswith("_") and not name.endswith("__"))
        )
        if in_place:
            call.kind = "in-place"
            call.replay = self._in_place_replay(call, copy)
            return
        outputs = _tensors(result)
        if not outputs or not isinstance(result, (torch.Tensor, tuple, list)):
            if result is None or isinstance(result, (torch.Size, torch.dtype, torch.device)):
                call.kind = "metadata"
                return
            raise _Refused(f"the step hands a {type(result).__name__} from torch.{name} to Python")
        inputs = {_storage(t) for t in call.reads() if t.numel()}
        if any(t.numel() and _storage(t) in inputs for t in outputs):
            call.kind = "view"
            return
        call.kind = "allocating"
        if name in UNINITIALISED:
            call.kind = "constant"  # no values to keep: the buffer made at recording serves
            return
        call.replay = self._allocating_replay(call, generator, before)

    @staticmethod
    def _scalar_operand(name: str, args: tuple) -> tuple:
        """The arguments with a Python number as second operand made a 0-dim tensor."""
        if name not in ARITHMETIC or len(args) < 2 or not isinstance(args[0], torch.Tensor):
            return args
        operand = _scalar(args[1], args[0])
        return args if operand is args[1] else (args[0], operand, *args[2:])

    def _in_place_replay(self, call: _Call, before: torch.Tensor | None) -> Callable[[], object]:
        """The call as it is, or with a 0-dim operand if that writes the same bits.

        ``before`` is a copy of the tensor the call wrote into, taken before it ran.
        """
        args = self._scalar_operand(call.name, call.args)
        if args is not call.args and before is not None:
            try:
                call.func(before, *args[1:], **call.kwargs)
            except (TypeError, RuntimeError):
                pass
            else:
                if _same_bits(before, call.args[0]):
                    return functools.partial(call.func, *args, **call.kwargs)
        return functools.partial(call.func, *call.args, **call.kwargs)

    def _allocating_replay(
        self, call: _Call, generator: Any, before: Any
    ) -> Callable[[], object] | None:
        name, args, kwargs, result = call.name, call.args, call.kwargs, call.result
        if name in FACTORIES and generator is None:
            call.kind = "constant"  # replayed only if a later call writes into it
            fill = _fill(name, args, kwargs)
            if fill is not None:
                return functools.partial(torch.Tensor.fill_, result, fill)
        if name in COPIES and isinstance(result, torch.Tensor):
            source = args[0]
            into = result if result.shape == source.shape else result.view(source.shape)
            return functools.partial(torch.Tensor.copy_, into, source)
        if name == "constant_pad_nd" and isinstance(result, torch.Tensor):
            interior = _padded_interior(result, args, kwargs)
            if interior is not None:
                call.fallback = functools.partial(
                    _compute_and_copy, call.func, args, kwargs, [result]
                )
                return functools.partial(torch.Tensor.copy_, interior, args[0])
        forms: list[tuple[Callable, tuple]] = []
        if name == "mean" and isinstance(result, torch.Tensor) and "dtype" not in kwargs:
            # ATen's mean into an out= tensor is a sum, then div_ by the count as a Python
            # number, which wraps it in a new tensor at every call: the count made once
            count = args[0].numel() // max(result.numel(), 1)
            forms.append((functools.partial(_sum_then_divide, count=_scalar(count, result)), args))
        if name in REFLECTED:
            function, swap = REFLECTED[name]
            operand = args[1]
            if (
                name in ARITHMETIC
                and isinstance(operand, (int, float))
                and not isinstance(operand, bool)
            ):
                operand = torch.tensor(operand, dtype=args[0].dtype, device=args[0].device)
            forms.append((function, (operand, args[0]) if swap else (args[0], operand)))
        elif name in OUT_FORMS:
            forms.append(OUT_FORMS[name](args))
        else:
            function = call.func
            if getattr(function, "__objclass__", None) is torch._C.TensorBase or (
                getattr(function, "__qualname__", "").startswith("Tensor.")
            ):
                function = getattr(torch, name, None)
            if function is not None:
                scalar_args = self._scalar_operand(name, args)
                if scalar_args is not args:
                    forms.append((function, scalar_args))
                forms.append((function, args))
        after = generator.get_state() if generator is not None else None
        for function, form_args in forms:
            trial = _fresh_like(result)
            if generator is not None:
                generator.set_state(before)
            try:
                function(*form_args, **kwargs, out=trial)
            except (TypeError, RuntimeError):
                continue
            finally:
                if generator is not None:
                    generator.set_state(after)
            if all(map(_same_bits, _tensors(trial), _tensors(result))):
                out = result if isinstance(result, torch.Tensor) else tuple(result)
                return functools.partial(function, *form_args, **kwargs, out=out)
        # no out= form gives the same bits: compute anew and copy into the recorded tensor
        return functools.partial(_compute_and_copy, call.func, args, kwargs, _tensors(result))


def _fill(name: str, args: tuple, kwargs: dict) -> float | None:
    """The value a zeros/ones/full factory fills its result with (None: another factory)."""
    if "zeros" in name:
        return 0
    if "ones" in name:
        return 1
    if name in ("full", "new_full", "full_like"):
        value = kwargs.get("fill_value", args[1] if len(args) > 1 else None)
        return value if isinstance(value, (int, float)) else None
    return None


def _padded_interior(result: torch.Tensor, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The part of ``constant_pad_nd(x, pad)``'s result that holds x (None if a pad is < 0)."""
    x, pad = args[0], list(args[1] if len(args) > 1 else kwargs["pad"])
    if any(p < 0 for p in pad):
        return None
    interior = result
    for i in range(len(pad) // 2):
        dim = result.dim() - 1 - i
        interior = interior.narrow(dim, pad[2 * i], x.shape[dim])
    return interior


def _compute_and_copy(func: Callable, args: tuple, kwargs: dict, into: list[torch.Tensor]) -> None:
    for target, value in zip(into, _tensors(func(*args, **kwargs)), strict=True):
        target.copy_(value)


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
        self.forward = [replay for index, replay in kept if index < self.split]
        self.update = [replay for index, replay in kept if index >= self.split]

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


# values compared by equality in the guard; anything else that holds state is walked into,
# but for shapes (a layer keeps its input's for backward: the batch shape fixes them)
PLAIN = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device)
SKIPPED = (type, type(len), type(_signature), functools.partial, torch.Tensor, torch.Generator)
SKIPPED += (torch.Size,)
MAX_OBJECTS = 20_000


def _plain(value: object) -> bool:
    if type(value) is tuple:
        return all(map(_plain, value))
    return isinstance(value, PLAIN)


def _entries(obj: object) -> tuple[object, list, list] | None:
    """(container, keys, values) of an object's state, or None for a leaf."""
    if isinstance(obj, SKIPPED) or (callable(obj) and not hasattr(obj, "__dict__")):
        return None
    if isinstance(obj, dict):
        keys = list(obj)
        return obj, keys, [obj[k] for k in keys]
    if isinstance(obj, (list, tuple)):
        return obj, list(range(len(obj))), list(obj)
    if hasattr(obj, "__dict__") and type(obj).__module__ != "builtins":
        return _entries(vars(obj))
    slots = [
        name
        for cls in type(obj).__mro__
        for name in getattr(cls, "__slots__", ())
        if hasattr(obj, name) and name != "__weakref__"
    ]
    if slots:
        return obj, slots, [getattr(obj, name) for name in slots]
    return None


class _Place:
    """A container reachable from the step's roots, and where it was found."""

    __slots__ = ("container", "keys", "parent", "parent_key", "values")

    def __init__(self, container: object, keys: list, values: list, parent: int, key: object):
        self.container, self.keys, self.values = container, keys, values
        self.parent, self.parent_key = parent, key


def _walk(roots: list[object]) -> list[_Place]:
    """Every container reachable from ``roots``, breadth first."""
    seen: set[int] = set()
    places: list[_Place] = []
    queue: list[tuple[object, int, object]] = [(root, -1, None) for root in roots]
    while queue and len(places) < MAX_OBJECTS:
        obj, parent, key = queue.pop(0)
        if id(obj) in seen or _plain(obj):
            continue
        seen.add(id(obj))
        entries = _entries(obj)
        if entries is None:
            continue
        container, keys, values = entries
        seen.add(id(container))
        places.append(_Place(container, keys, values, parent, key))
        here = len(places) - 1
        queue.extend((v, here, k) for k, v in zip(keys, values, strict=True) if not _plain(v))
    return places


def _plain_state(roots: list[object]) -> dict[tuple[int, object], object]:
    """Every Python number, string and flag reachable from ``roots``, by place."""
    state = {}
    for place in _walk(roots):
        for key, value in zip(place.keys, place.values, strict=True):
            if _plain(value):
                state[id(place.container), key] = value
    return state


def _getter(container: object, keys: list) -> Callable[[object], tuple]:
    """A C-level getter of ``keys`` that returns a tuple even for one key (asked twice)."""
    keys = keys * 2 if len(keys) == 1 else keys
    if isinstance(container, (dict, list, tuple)):
        return operator.itemgetter(*keys)
    return operator.attrgetter(*keys)


class _Guard:
    """Checks, cheaply, that the state a recording assumed is still in place.

    Every container on a path from the model, loss or optimizer to a tensor or
    generator the recording used must still hold the same object there, and
    every plain value (flags, numbers, strings) found on the way must be equal.
    """

    def __init__(self, roots: list[object], watched: list[object]) -> None:
        places = _walk(roots)
        watched_ids = {id(w) for w in watched}
        checked: dict[int, set] = {i: set() for i in range(len(places))}  # place -> keys
        for index, place in enumerate(places):
            for key, value in zip(place.keys, place.values, strict=True):
                if _plain(value):
                    checked[index].add(key)
                elif id(value) in watched_ids:
                    # the path to it, up to a root: every link must still hold
                    checked[index].add(key)
                    up = index
                    while (
                        places[up].parent >= 0
                        and places[up].parent_key not in checked[places[up].parent]
                    ):
                        checked[places[up].parent].add(places[up].parent_key)
                        up = places[up].parent
        # One comparison of tuples checks nearly everything: Python compares their items
        # by identity first, so when every object is still in place no __eq__ runs, and a
        # plain value set anew (a scheduler's float) compares by value. A tensor that was
        # replaced would be compared by value (an error for several elements: the guard
        # fails), so containers holding one-element tensors are checked by identity alone.
        equal: list[tuple[Callable[[object], tuple], object]] = []
        identical: list[tuple[Callable[[object], tuple], object]] = []
        for index, keys in checked.items():
            place = places[index]
            if not keys or isinstance(place.container, tuple):  # a tuple cannot change
                continue
            ordered = [k for k in place.keys if k in keys]
            values = dict(zip(place.keys, place.values, strict=True))
            scalar_tensor = any(
                isinstance(values[k], torch.Tensor) and values[k].numel() == 1 for k in ordered
            )
            into = identical if scalar_tensor else equal
            into.append((_getter(place.container, ordered), place.container))
        self._equal = ([g for g, _ in equal], [c for _, c in equal])
        self._identical = ([g for g, _ in identical], [c for _, c in identical])
        self._expected_equal = list(map(_apply, *self._equal))
        self._expected_identical = list(chain.from_iterable(map(_apply, *self._identical)))
        self.size = len(equal) + len(identical)

    def holds(self) -> bool:
        """True when every checked object is the one recorded and every plain value equal."""
        try:
            return list(map(_apply, *self._equal)) == self._expected_equal and all(
                map(
                    is_,
                    chain.from_iterable(map(_apply, *self._identical)),
                    self._expected_identical,
                )
            )
        except Exception:  # a key or attribute gone, an odd __eq__: record again
            return False


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
        if recorder.refusal is None:
            after = _plain_state(roots)
            changed = [k for k, v in before.items() if k in after and not _same(after[k], v)]
            if changed:
                recorder.refusal = (
                    f"the step changes Python state ({changed[0][1]!r}) that a replay would not"
                )
        if recorder.refusal is not None:
            slot.refusal, slot.candidate = recorder.refusal, None
            return value
        recording = _Recording(recorder.calls, split, slot.inputs, loss_tensor)  # type: ignore[arg-type]
        if slot.candidate is not None and slot.candidate.signature == recording.signature:
            recording.compile()
            recording.guard = _Guard(roots, recording.externals())
            slot.recording, slot.candidate, slot.attempts = recording, None, 0
        else:
            slot.candidate = recording
            slot.attempts += 1
            if slot.attempts >= MAX_RECORDINGS:
                slot.refusal = "the step's torch calls differ from one step to the next"
                slot.candidate = None
        return value


def _same(a: object, b: object) -> bool:
    return a is b or a == b
