"""Recording a step: every torch call it makes, and how each one is replayed.

A ``TorchFunctionMode`` sees each call; ``_Recorder`` sorts it (allocating, in
place, view, metadata, constant) and finds a replay form that writes the same
bits into the tensor the call returned, trying each rewrite once against the
original.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

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
        self.func, self.name, self.result = func, name, result
        self.args, self.kwargs = args, kwargs
        self.kind = ""  # "view", "metadata", "constant", "in-place", "allocating"
        self.replay: Callable[[], object] | None = None
        # a padded copy replays only its interior: this, if a later call writes its border
        self.fallback: Callable[[], object] | None = None

    def writes(self) -> list[torch.Tensor]:
        if self.kind in ("allocating", "constant"):
            return _tensors(self.result)
        if self.kwargs.get("out") is not None:
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
            kwargs.get("out") is not None
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
        position = 2 if name == "new_full" else 1  # new_full(self, size, fill_value)
        value = kwargs.get("fill_value", args[position] if len(args) > position else None)
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
