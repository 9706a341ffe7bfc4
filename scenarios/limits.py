"""The bounds every scenario is checked against before anything is built.

A scenario that passes ``load_scenario`` can be built and trained on this
machine: sizes whose memory estimate exceeds what the machine has, epoch
counts nobody will wait for and seeds torch cannot take are refused by
name, with the numbers, before any tensor is allocated.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

MAX_EPOCHS = 1_000_000  # the shipped scenarios train 200 epochs in about a second
MAX_SEED = 2**63 - 1  # torch seeds are 64-bit; the batch order uses seed + 1, dropout seed + 2
MAX_ROUNDS = 1000  # compare --rounds
MAX_NESTING = 32  # tables and arrays inside each other; a scenario needs 4
MAX_SCENARIO_BYTES = 1 << 20  # 1 MiB of TOML
MAX_CSV_BYTES = 256 << 20  # 256 MiB of points
MAX_CLASSES = 100  # CSV labels are 0..99


def nesting_depth(value: Any) -> int:
    """How deep tables and arrays sit inside each other (iterative: any depth is safe)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            return depth  # deep enough to refuse; no need to walk further
        stack.extend((child, depth + 1) for child in children)
    return deepest


def available_memory() -> int:
    """Bytes this process may use: MemAvailable of /proc/meminfo, else the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 1 << 40  # unknown: do not refuse on a guess


def gigabytes(size: float) -> str:
    return f"{size / 1e9:,.1f} GB" if size >= 1e8 else f"{size / 1e6:,.1f} MB"


@dataclass(frozen=True)
class MemoryBudget:
    """What training will hold in memory besides the weights, for the estimate.

    Per parameter: the weight, its gradient, up to two optimizer slots and
    a checkpoint copy. Per activation value of one sample: the layer's
    output, its gradient and a scratch buffer, for every sample of a batch,
    plus one output per sample for a pass over the whole train or test set.
    The data: points, one-hot targets and a shuffled copy.
    """

    n_train: int
    n_test: int
    batch_size: int
    num_classes: int
    element_bytes: int
    available: int

    def data_bytes(self) -> int:
        per_point = 2 * 8 + 8 + 3 * (2 + self.num_classes) * self.element_bytes
        return (self.n_train + self.n_test) * per_point

    def bytes_for(self, parameters: int, activations_per_sample: int) -> int:
        rows = 3 * self.batch_size + max(self.n_train, self.n_test)
        values = 5 * parameters + activations_per_sample * rows
        return values * self.element_bytes + self.data_bytes()

    def refusal(self, needed: int, what: str) -> str:
        return (
            f"{what} would need about {gigabytes(needed)} of memory to train "
            f"({self.n_train:,} training and {self.n_test:,} test points, batches of "
            f"{self.batch_size}), more than the {gigabytes(self.available)} this machine has "
            "available; use fewer points or smaller layers"
        )


def layer_cost(layer_type: str, kwargs: dict, shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(parameters, output values per sample) of a layer before building it, or None to probe.

    ``shape`` is the input's shape without the batch dimension; the sizes
    come from arithmetic alone, so a layer too large to allocate is caught
    before it is.
    """
    per_sample = math.prod(shape)
    if layer_type == "Linear" and shape:
        out = kwargs["out_features"]
        bias = out if kwargs.get("bias", True) else 0
        return shape[-1] * out + bias, per_sample // max(shape[-1], 1) * out
    if layer_type == "Conv1d" and len(shape) == 2:
        channels, length = shape
        out, kernel = kwargs["out_channels"], _first(kwargs["kernel_size"])
        stride, dilation = _first(kwargs.get("stride", 1)), _first(kwargs.get("dilation", 1))
        padding = kwargs.get("padding", 0)
        if padding == "same":
            out_length = length
        else:
            padding = 0 if padding == "valid" else _first(padding)
            span = dilation * (kernel - 1) + 1
            out_length = max((length + 2 * padding - span) // max(stride, 1) + 1, 0)
        groups = max(kwargs.get("groups", 1), 1)
        bias = out if kwargs.get("bias", True) else 0
        return out * (channels // groups) * kernel + bias, out * out_length
    if layer_type == "BatchNorm1d" and shape:
        return 2 * shape[0], per_sample
    return None  # every other layer keeps the number of values and has no parameters


def _first(size: int | list[int] | tuple[int, ...]) -> int:
    """A Conv1d size given as a number or as torch's one-element tuple."""
    return size[0] if isinstance(size, list | tuple) else size
