"""What a recording assumed, checked cheaply before every replay.

The model, loss and optimizer are walked once, at recording: every container
(an object's attributes, a dict, a list) on the way to a tensor or generator
the recording used, and every plain value found on the way. Before a replay,
C-level getters read them all again and one comparison of tuples tells
whether anything changed.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from itertools import chain
from operator import call as _apply
from operator import is_

import torch


def _plain_function() -> None:
    """(Its type, that of every Python function, marks functions as leaves of the walk.)"""


# values compared by equality in the guard; anything else that holds state is walked into,
# but for shapes (a layer keeps its input's for backward: the batch shape fixes them)
PLAIN = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device)
SKIPPED = (type, type(len), type(_plain_function), functools.partial, torch.Tensor, torch.Generator)
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

    __slots__ = ("container", "instance", "keys", "parent", "parent_key", "values")

    def __init__(self, container: object, keys: list, values: list, parent: int, key: object):
        self.container, self.keys, self.values = container, keys, values
        self.parent, self.parent_key = parent, key
        self.instance = False  # the attributes of an object (a module, an optimizer)


def _walk(roots: list[object]) -> list[_Place]:
    """Every container reachable from ``roots``, breadth first from one root after the
    other (a layer's parameters are found as its attributes, before the optimizer's
    list of them)."""
    seen: set[int] = set()
    places: list[_Place] = []
    for root in roots:
        _walk_from(root, seen, places)
    return places


def _walk_from(root: object, seen: set[int], places: list[_Place]) -> None:
    queue: list[tuple[object, int, object]] = [(root, -1, None)]
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
        place = _Place(container, keys, values, parent, key)
        place.instance = not isinstance(obj, (dict, list, tuple))
        places.append(place)
        here = len(places) - 1
        queue.extend((v, here, k) for k, v in zip(keys, values, strict=True) if not _plain(v))


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
            watched_here = False
            for key, value in zip(place.keys, place.values, strict=True):
                # a plain value, a watched tensor or generator, or an item of a list
                # (a Sequential's layers: which modules run, in which order)
                if id(value) in watched_ids:
                    watched_here = True
                    checked[index].add(key)
                elif _plain(value) or isinstance(place.container, list):
                    checked[index].add(key)
            if not (watched_here or (place.instance and checked[index])):
                continue  # values a step keeps for itself (a tuple saved for backward)
            # the path to it, up to a root: every link must still hold
            up = index
            while (
                places[up].parent >= 0 and places[up].parent_key not in checked[places[up].parent]
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
            if isinstance(place.container, list) and not scalar_tensor:
                # all its items, by identity first, and its length: an appended layer counts
                equal.append((operator.itemgetter(slice(None)), place.container))
                continue
            into = identical if scalar_tensor else equal
            into.append((_getter(place.container, ordered), place.container))
            if isinstance(place.container, list):
                equal.append((len, place.container))
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
