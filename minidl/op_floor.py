"""What a training step's tensor ops cost on their own: the floor under any replay of them.

A step through the engine is its recorded torch calls and a little Python
around them (the guard, the loop). Timing each call alone, repeated, and
summing gives the floor: what the step would cost if nothing but its ops
ran. torch's step time over that floor is the most any replay of these ops
could gain over torch on this machine; the eager step's calls get the same
treatment. The bench prints both next to the measured steps.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from minidl import reference
from minidl.engine.record import _Recorder

if TYPE_CHECKING:
    from minidl.benchmark import BenchSetup

Call = tuple[Callable, tuple, dict]


@dataclass
class OpFloor:
    """One network and batch size: its steps and the floor of their ops, in µs.

    Every list holds one median per round; within a round the samplers take
    their samples in turn (``interleaved_medians``), so that load from
    elsewhere on the machine lands on a sample of each rather than on one of
    them, and ratios are taken per round.
    """

    case: str
    engine_ops: list[str]  # the calls a replay makes, input copies and the loss read included
    eager_calls: int  # torch calls of the plain eager step (views and metadata included)
    eager_ops: int  # aten ops of the plain eager step
    torch_ops: int  # aten ops of torch.nn + autograd + torch.optim
    torch_us: list[float]  # the torch twin's step
    step_us: list[float]  # StepEngine.step
    floor_us: list[float]  # the replay's calls, each timed alone, summed
    sequence_us: list[float]  # the replay's calls back to back
    eager_us: list[float]  # the plain eager step
    eager_floor_us: list[float]  # the eager step's torch calls, each timed alone, summed

    @property
    def step_over_floor(self) -> list[float]:
        return _ratios(self.step_us, self.floor_us)

    @property
    def step_over_sequence(self) -> list[float]:
        return _ratios(self.step_us, self.sequence_us)

    @property
    def ceiling(self) -> list[float]:
        """torch / floor: the most any replay of these calls could gain over torch."""
        return _ratios(self.torch_us, self.floor_us)

    @property
    def eager_ceiling(self) -> list[float]:
        """torch / the eager calls' floor: the most the eager step could gain over torch."""
        return _ratios(self.torch_us, self.eager_floor_us)

    def to_dict(self) -> dict:
        median = statistics.median
        per_round = {
            "torch_us": self.torch_us,
            "step_us": self.step_us,
            "floor_us": self.floor_us,
            "sequence_us": self.sequence_us,
            "eager_us": self.eager_us,
            "eager_floor_us": self.eager_floor_us,
        }
        return {
            "case": self.case,
            "engine_ops": len(self.engine_ops),
            "eager_calls": self.eager_calls,
            "eager_ops": self.eager_ops,
            "torch_ops": self.torch_ops,
            "rounds": len(self.step_us),
            **{key: median(values) for key, values in per_round.items()},
            "step_over_floor": median(self.step_over_floor),
            "step_over_sequence": median(self.step_over_sequence),
            "ceiling": median(self.ceiling),
            "eager_ceiling": median(self.eager_ceiling),
            "per_round": per_round,
            "engine_op_names": self.engine_ops,
        }


def _ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


class OpRecorder(TorchDispatchMode):
    """Records every aten op dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[object] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls.append(func)
        return func(*args, **(kwargs or {}))


def calls_sample(call: Call, calls: int, warm: int = 3) -> Callable[[], float]:
    """A sampler: ``calls`` calls in a row of ``call`` (a function, its arguments and
    keyword arguments), timed, in µs per call, after ``warm`` calls that are not:
    every sample times it warm (its code and data in the caches), as when all
    its samples are taken one after the other. The loop calls the function
    itself, as the replay does: a wrapper around each call would add its own
    cost to the floor."""
    fn, args, kwargs = call

    def sample() -> float:
        for _ in range(warm):
            fn(*args, **kwargs)
        started = time.perf_counter()
        for _ in range(calls):
            fn(*args, **kwargs)
        return (time.perf_counter() - started) / calls * 1e6

    return sample


def steps_sample(
    step: Callable[[torch.Tensor, torch.Tensor], object],
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    calls: int,
    warm: int = 3,
) -> Callable[[], float]:
    """A sampler: ``calls`` training steps in a row, on the batches in turn (a new input
    tensor at every step, as training sees them), in µs per step, after ``warm``
    steps that are not timed, as ``calls_sample`` warms each op. The loop calls
    ``step`` itself, as a training loop does: no wrapper around it."""
    order = list(itertools.islice(itertools.cycle(batches), calls))

    def sample() -> float:
        for x, target in order[:warm]:
            step(x, target)
        started = time.perf_counter()
        for x, target in order:
            step(x, target)
        return (time.perf_counter() - started) / calls * 1e6

    return sample


def interleaved_medians(samplers: list[Callable[[], float]], samples: int = 9) -> list[float]:
    """The median over ``samples`` samples of each sampler, after one warm-up sample.

    The samplers take their samples in turn (one of each, then again), so a
    burst of load from elsewhere on the machine lands on a sample of each
    rather than on every sample of one of them; the medians leave it out.
    """
    for sampler in samplers:
        sampler()
    times: list[list[float]] = [[] for _ in samplers]
    for _ in range(samples):
        for sampler, sampled in zip(samplers, times, strict=True):
            sampled.append(sampler())
    return [statistics.median(sampled) for sampled in times]


def _name(call: Callable) -> str:
    func = call.func if isinstance(call, functools.partial) else call
    return getattr(func, "__name__", type(func).__name__)


def replay_calls(calls: list[Callable[[], object]]) -> None:
    """The replay's calls back to back, with no Python around them but this loop."""
    for call in calls:
        call()


@contextlib.contextmanager
def _denormals_flushed() -> Iterator[None]:
    """An in-place op timed on its own output 100 times in a row (``g.mul_(s)``)
    drives its numbers towards zero, into the slow arithmetic of denormal
    floats that training never sees; flushing them keeps every sample on the
    ordinary path, for the steps and the ops alike."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def measure_floor(setup: BenchSetup, rounds: int = 5, samples: int = 21) -> OpFloor:
    """The steps of ``setup`` (engine, eager, torch) and the floors of their calls.

    ``setup`` must have trained a few epochs through its engine, so that its
    batches' steps are replayed. The floor times each call of the replay
    alone, repeated, under inference mode as the replay runs them;
    ``sequence_us`` makes the same calls back to back, which is what they
    cost in a step without the engine's guard around them (caches and
    branch predictors see a mix of ops there, so it exceeds the floor). The
    eager floor times each torch call the plain step makes (views and
    metadata included), outside inference mode, as the eager step runs them.
    """
    batches = setup.full_batches()
    x, target = batches[0]
    calls = setup.engine.recorded_calls(x, target)
    recorder = _Recorder()
    with recorder:
        setup.eager_step(x, target)
    eager_calls = [(c.func, c.args, c.kwargs) for c in recorder.calls if c.name != "item"]

    def torch_step(x: torch.Tensor, target: torch.Tensor) -> None:
        reference.torch_train_step(setup.twin, setup.twin_loss, setup.twin_optimizer, x, target)

    steps = [
        steps_sample(torch_step, batches, 31),
        steps_sample(setup.engine.step, batches, 31),
        steps_sample(setup.eager_step, batches, 31),
    ]
    replayed = [calls_sample((replay_calls, (calls,), {}), 31)]
    replayed += [calls_sample((call, (), {}), 100) for call in calls]  # each alone
    eager = [calls_sample(call, 100) for call in eager_calls]
    measured: dict[str, list[float]] = {}
    with _denormals_flushed():
        for _ in range(rounds):
            # the steps run as a training loop runs them; the replay's calls under
            # inference mode, where the replay runs them
            times = interleaved_medians(steps + eager, samples=samples // 2)
            with torch.inference_mode():
                sequence, *ops = interleaved_medians(replayed, samples=samples)
            for key, value in (
                ("torch", times[0]),
                ("step", times[1]),
                ("eager", times[2]),
                ("eager_floor", sum(times[3:])),
                ("sequence", sequence),
                ("floor", sum(ops)),
            ):
                measured.setdefault(key, []).append(value)
    with OpRecorder() as ours:
        setup.eager_step(x, target)
    with OpRecorder() as theirs:
        torch_step(x, target)
    return OpFloor(
        case=setup.case.name,
        engine_ops=[_name(call) for call in calls],
        eager_calls=len(eager_calls),
        eager_ops=len(ours.calls),
        torch_ops=len(theirs.calls),
        torch_us=measured["torch"],
        step_us=measured["step"],
        floor_us=measured["floor"],
        sequence_us=measured["sequence"],
        eager_us=measured["eager"],
        eager_floor_us=measured["eager_floor"],
    )
