"""CPU instructions per training step: the step bounds of ``step_bounds``, without the noise.

Timings on a shared 2-core machine move by several per cent from one run to
the next, which is as much as the checks or the framework structure this
compares cost. The instructions a step executes do not move: run this under
valgrind's callgrind, which counts them, and the difference between two
versions of the step is exact.

    valgrind --tool=callgrind --instr-atstart=no python -m benchmarks.step_instructions

(about four minutes: importing torch under valgrind takes most of it). Each
version trains the op count's network (classic MLP, batch 32) for ``STEPS``
steps after a warm-up; the script reads callgrind's instruction counter
before and after (``callgrind_control -e Ir``) and prints the count per step.
Versions:

- minidl's step, through its public API;
- minidl with one class's hot methods stripped of their checks (the
  ``unchecked_step`` subclasses of ``step_bounds``), one class at a time, then
  all at once: what each class's checks cost;
- the modular and straight-line stand-ins of ``step_bounds``;
- the step's ops replayed back to back: what the ops cost with no Python
  around them but a loop.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable

import torch

from benchmarks.step_bounds import (
    _UNCHECKED,
    modular_step,
    new_setup,
    straight_line_step,
    unchecked_step,
)
from minidl.benchmark import BenchSetup, record_step, replay_calls

STEPS = 500
Step = Callable[[torch.Tensor, torch.Tensor], object]


def instructions() -> int:
    """Callgrind's instruction counter of this process, all threads."""
    try:
        report = subprocess.run(
            ["callgrind_control", "-e", "Ir", str(os.getpid())], capture_output=True, text=True
        ).stdout
    except FileNotFoundError:  # no valgrind on this machine
        report = ""
    counts = [line.split()[-1] for line in report.splitlines() if line.strip().startswith("Th ")]
    if not counts:
        raise SystemExit("not under callgrind: run valgrind --tool=callgrind python -m …")
    return sum(int(count.replace(",", "")) for count in counts)


def replayed(setup: BenchSetup) -> Step:
    """The ops of one minidl step, recorded and called again with the same arguments."""
    _, calls = record_step(setup, *setup.full_batches()[0])
    return lambda x, target: replay_calls(calls)


def versions() -> dict[str, Callable[[BenchSetup], Step]]:
    table: dict[str, Callable[[BenchSetup], Step]] = {"minidl": lambda s: s.minidl_step}
    for cls in _UNCHECKED:
        name = f"minidl, {cls.__name__} unchecked"
        table[name] = lambda s, cls=cls: unchecked_step(s, 32, (cls,))
    table["minidl, nothing checked"] = lambda s: unchecked_step(s, 32)
    table["modular, no checks"] = lambda s: modular_step(s, 32)
    table["straight-line Python"] = lambda s: straight_line_step(s, 32)
    table["ops replayed"] = replayed
    table["nothing (the counter's own cost)"] = lambda s: lambda x, target: None
    return table


def main() -> None:
    torch.set_num_threads(1)
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True)
    counts: dict[str, float] = {}
    with torch.inference_mode():
        for name, make in versions().items():
            setup = new_setup()
            step = make(setup)
            batches = list(itertools.islice(itertools.cycle(setup.full_batches()), 200))
            for batch in batches:  # warm-up: buffers, caches, the interpreter's specialization
                step(*batch)
            before = instructions()
            for index in range(STEPS):
                step(*batches[index % len(batches)])
            counts[name] = (instructions() - before) / STEPS
    own = counts.pop("nothing (the counter's own cost)")
    minidl = counts["minidl"] - own
    print(f"instructions per step, classic MLP, batch 32 ({STEPS} steps each)")
    for name, count in counts.items():
        net = count - own
        print(f"  {name:34s} {net:9,.0f}  {net - minidl:+9,.0f}")


if __name__ == "__main__":
    main()
