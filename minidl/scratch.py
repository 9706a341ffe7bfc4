"""Scratch tensors reused from one step to the next.

Allocating a tensor costs more than an op writing into an existing one, and
for the small networks of the lab the number of tensor ops per step *is*
the speed. Layers and losses therefore write their outputs and gradients
into per-module scratch buffers (``out=`` forms), re-allocated only when the
shape, dtype or device changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import torch

T = TypeVar("T")


def persistent() -> torch.inference_mode:
    """A context in which new tensors are normal ones, even under inference mode.

    The trainer runs under ``torch.inference_mode`` (about 20 % fewer
    microseconds per op than ``no_grad``). Tensors minidl keeps from one
    step to the next (scratch buffers, optimizer state) are made in this
    context, so they stay usable outside inference mode as well.
    """
    return torch.inference_mode(False)


MAX_CACHED = 16  # entries per cache: a few batch sizes and dtypes, never a leak
MAX_WORKSPACES = 4  # per layer: training batch, last batch, evaluation sets


def store(cache: dict, key: Hashable, make: Callable[[], T], limit: int = MAX_CACHED) -> T:
    """Make ``cache[key]`` with ``make()`` (its tensors persistent) and return it.

    A full cache is emptied first: a few shapes and dtypes in turn are
    normal, more would be a leak.
    """
    if len(cache) >= limit:
        cache.clear()
    with persistent():
        entry = cache[key] = make()
    return entry


def scratch(
    cache: dict[tuple[str, torch.Size], torch.Tensor],
    name: str,
    shape: torch.Size | tuple[int, ...],
    like: torch.Tensor,
) -> torch.Tensor:
    """The buffer ``name`` of ``cache`` with ``shape`` and ``like``'s dtype and device.

    One buffer per shape: an epoch whose last batch is smaller switches
    between two shapes at every epoch, and must not re-allocate at each
    switch. Only the dtype is compared (a device move clears the caches),
    since reading ``.device`` costs as much as a small op.
    """
    return _buffer(cache, (name, shape), shape, like)


def constant(
    cache: dict[tuple[str, float], torch.Tensor], name: str, value: float, like: torch.Tensor
) -> torch.Tensor:
    """A 0-dim tensor holding ``value`` in ``like``'s dtype, one per (name, value).

    Ops with a 0-dim tensor operand skip the ~2 µs that a Python scalar costs.
    Values that depend on the batch (a mean's count) alternate between two
    batch sizes within an epoch, so each value keeps its tensor.
    """
    key = (name, value)
    entry = cache.get(key)
    if entry is None or entry.dtype is not like.dtype:
        entry = store(cache, key, lambda: torch.tensor(value, dtype=like.dtype, device=like.device))
    return entry


def shared(
    pool: dict[tuple[int, ...], torch.Tensor], shape: tuple[int, ...], like: torch.Tensor
) -> torch.Tensor:
    """The buffer of ``shape`` (``like``'s dtype and device) in a pool that layers share
    (see ``Module.use_shared_scratch``); made, persistent, at its first use."""
    return _buffer(pool, shape, shape, like)


def _buffer(cache: dict, key: Hashable, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """``cache[key]``, an empty tensor of ``shape`` in ``like``'s dtype (and device: a
    device move clears the caches), made again when missing or of another dtype."""
    buffer = cache.get(key)
    if buffer is None or buffer.dtype is not like.dtype:
        buffer = store(cache, key, lambda: torch.empty(shape, dtype=like.dtype, device=like.device))
    return buffer


_ONES: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}


def ones(length: int, like: torch.Tensor) -> torch.Tensor:
    """A vector of ones, shared by every layer that needs one of this length, dtype and
    device (a bias gradient is gᵀ·1). Nobody writes into it."""
    key = (length, like.dtype, like.device)
    vector = _ONES.get(key)
    if vector is None:
        vector = store(_ONES, key, lambda: torch.ones(length, dtype=like.dtype, device=like.device))
    return vector


def clear_shared() -> None:
    """Forget the process-wide tensors (the benchmark's fresh runs count them again)."""
    _ONES.clear()
