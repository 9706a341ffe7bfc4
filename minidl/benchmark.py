"""Speed and memory of minidl against torch.nn + autograd + torch.optim, in one process.

Each case trains the same network, from the same weights, on the same
batches, with minidl through its public API (as the Trainer does: under
inference mode) and with its PyTorch twin, interleaved A B A B … after a
warm-up. One thread, so that the numbers measure per-op overhead and
arithmetic rather than scheduling. Front ends print the report.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

from minidl import reference
from minidl.layers import (
    ELU,
    GELU,
    BatchNorm1d,
    Conv1d,
    Flatten,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    Unflatten,
)
from minidl.losses import MSELoss
from minidl.module import Module
from minidl.optim import SGD
from minidl.scratch import clear_shared


@dataclass(frozen=True)
class BenchCase:
    """One network and batch regime; an epoch is ``samples`` rows in batches."""

    name: str
    widths: tuple[int, ...]
    batch_size: int
    samples: int
    dtype: str = "float32"
    kind: str = "mlp"  # "mlp", "batchnorm" (BatchNorm1d after each hidden Linear) or "conv"
    activation: str = "ReLU"  # of the hidden layers: a name in ACTIVATIONS

    def build_model(self, generator: torch.Generator) -> Module:
        layers: list[Module] = []
        if self.kind == "conv":
            # points embedded as a sequence of 16, two Conv1d layers, a classifier
            layers = [
                Linear(2, 16, generator=generator),
                Unflatten(1, (1, 16)),
                Conv1d(1, 8, 3, padding=1, generator=generator),
                ReLU(),
                Conv1d(8, 8, 3, stride=2, generator=generator),
                ReLU(),
                Flatten(),
                Linear(56, 2, generator=generator),
            ]
            return Sequential(*layers).to(dtype=getattr(torch, self.dtype))
        for index, (n_in, n_out) in enumerate(zip(self.widths, self.widths[1:], strict=False)):
            layers.append(Linear(n_in, n_out, generator=generator))
            if index < len(self.widths) - 2:
                if self.kind == "batchnorm":
                    layers.append(BatchNorm1d(n_out))
                layers.append(ACTIVATIONS[self.activation]())
        return Sequential(*layers).to(dtype=getattr(torch, self.dtype))


ACTIVATIONS: dict[str, type[Module]] = {
    cls.__name__: cls for cls in (ReLU, Tanh, Sigmoid, LeakyReLU, ELU, GELU)
}
CLASSIC = (2, 25, 25, 25, 2)
WIDE = (2, 1024, 1024, 1024, 2)
MEDIUM = (2, 512, 512, 512, 2)


def default_cases(quick: bool) -> list[BenchCase]:
    cases = [
        BenchCase("classic MLP, batch 1", CLASSIC, 1, 1000),
        BenchCase("classic MLP, batch 32", CLASSIC, 32, 1000),
        BenchCase("classic MLP, full batch", CLASSIC, 1000, 1000),
        BenchCase("classic MLP, batch 32, float64", CLASSIC, 32, 1000, "float64"),
        BenchCase("wide MLP 1024, batch 1024", WIDE, 1024, 2048),
        BenchCase("BatchNorm MLP, batch 32", CLASSIC, 32, 1000, kind="batchnorm"),
        BenchCase("Conv1d stack, batch 32", CLASSIC, 32, 1000, kind="conv"),
    ]
    # every other activation on a network where the element-wise work counts
    cases += [
        BenchCase(f"MLP 512, {name}, batch 512", MEDIUM, 512, 1024, activation=name)
        for name in ACTIVATIONS
        if name != "ReLU"
    ]
    if quick:
        cases[0] = BenchCase("classic MLP, batch 1", CLASSIC, 1, 300)
        cases[4] = BenchCase("wide MLP 1024, batch 1024", WIDE, 1024, 1024)
    return cases


@dataclass
class CaseResult:
    case: BenchCase
    minidl_ms: list[float]
    torch_ms: list[float]
    minidl_peak_bytes: int
    torch_peak_bytes: int
    floor_bytes: int  # memory_floor_bytes: what a design with kept gradients cannot go below

    @property
    def ratio(self) -> float:
        """torch time / minidl time (medians): how many times faster minidl is."""
        return statistics.median(self.torch_ms) / statistics.median(self.minidl_ms)

    def to_dict(self) -> dict:
        return {
            **asdict(self.case),
            "minidl_ms": self.minidl_ms,
            "torch_ms": self.torch_ms,
            "minidl_median_ms": statistics.median(self.minidl_ms),
            "torch_median_ms": statistics.median(self.torch_ms),
            "ratio": self.ratio,
            "minidl_peak_bytes": self.minidl_peak_bytes,
            "torch_peak_bytes": self.torch_peak_bytes,
            "floor_bytes": self.floor_bytes,
        }


@dataclass
class OpCount:
    """Tensor ops per training step of the classic network at batch 32, and their cost.

    Step, floor and replay are measured in rounds; within a round their samples
    are taken in turn, so that a burst of load from elsewhere on the machine
    lands on a sample of each rather than on one of them; the ratios are taken
    per round.
    """

    minidl_ops: list[str]
    torch_ops: list[str]
    step_us: list[float]  # per round: minidl's step through its public API
    floor_us: list[float]  # per round: the step's ops, each timed alone, summed
    sequence_us: list[float]  # per round: the ops replayed back to back, no minidl Python

    @property
    def step_over_floor(self) -> list[float]:
        return [s / f for s, f in zip(self.step_us, self.floor_us, strict=True)]

    @property
    def step_over_sequence(self) -> list[float]:
        return [s / q for s, q in zip(self.step_us, self.sequence_us, strict=True)]

    def to_dict(self) -> dict:
        return {
            "minidl_ops": len(self.minidl_ops),
            "torch_ops": len(self.torch_ops),
            "rounds": len(self.step_us),
            "minidl_step_us": statistics.median(self.step_us),
            "floor_us": statistics.median(self.floor_us),
            "sequence_us": statistics.median(self.sequence_us),
            "step_over_floor": statistics.median(self.step_over_floor),
            "step_over_sequence": statistics.median(self.step_over_sequence),
            "per_round": {
                "step_us": self.step_us,
                "floor_us": self.floor_us,
                "sequence_us": self.sequence_us,
            },
            "minidl_op_names": self.minidl_ops,
        }


@dataclass
class BenchReport:
    threads: int
    repeats: int
    torch_version: str
    cases: list[CaseResult] = field(default_factory=list)
    ops: OpCount | None = None

    def to_dict(self) -> dict:
        return {
            "threads": self.threads,
            "repeats": self.repeats,
            "torch_version": self.torch_version,
            "cases": [c.to_dict() for c in self.cases],
            "ops": None if self.ops is None else self.ops.to_dict(),
        }


class BenchSetup:
    """Both frameworks, identical weights, the same data and batches."""

    def __init__(self, case: BenchCase, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        dtype = getattr(torch, case.dtype)
        self.case = case
        self.model = case.build_model(generator)
        self.loss = MSELoss()
        self.twin = reference.torch_twin(self.model)
        self.twin_loss = reference.torch_loss(self.loss)
        self.optimizer = SGD(self.model.parameters(), lr=1e-3)
        self.twin_optimizer = reference.torch_optimizer(self.optimizer, self.twin.parameters())
        x = torch.rand(case.samples, case.widths[0], generator=generator, dtype=dtype)
        target = torch.rand(case.samples, case.widths[-1], generator=generator, dtype=dtype)
        self.batches = list(
            zip(x.split(case.batch_size), target.split(case.batch_size), strict=True)
        )

    def full_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The epoch's batches of the full batch size (not a smaller last one)."""
        return [b for b in self.batches if len(b[0]) == self.case.batch_size]

    def minidl_step(self, x: torch.Tensor, target: torch.Tensor) -> float:
        """One training step, written as ``Trainer._train_epoch`` runs it."""
        model, loss, optimizer = self.model, self.loss, self.optimizer
        value = loss.value(model.forward(x), target)
        optimizer.zero_grad()
        model.backward_parameters(loss.backward())
        optimizer.step()
        return value

    def minidl_epoch(self) -> None:
        with torch.inference_mode():
            for x, target in self.batches:
                self.minidl_step(x, target)

    def torch_epoch(self) -> None:
        for x, target in self.batches:
            reference.torch_train_step(self.twin, self.twin_loss, self.twin_optimizer, x, target)


def _timed(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1e3


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence the profiler's start/stop lines, which it writes to file descriptor 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_bytes(fn: Callable[[], None]) -> int:
    """Peak of bytes allocated minus freed while ``fn`` runs (CPU profiler events)."""
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e for e in prof.events() if e.self_cpu_memory_usage),
        key=lambda e: e.time_range.start,
    )
    live = peak = 0
    for event in events:
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


def memory_floor_bytes(model: Module, x: torch.Tensor) -> int:
    """Parameters + gradients + the inputs that backward reads of every layer with
    parameters but the first (whose input is the data, allocated before the run)
    + backward's largest step: the input gradient that a layer with parameters
    writes (none for the first such layer, where backward stops), with, for the
    last such layer, its output gradient (the loss's).

    This is the least that a design keeping both its gradients and its
    activation buffers from one step to the next can hold: what the issue's
    recipe (buffers cached per module and batch shape, parameters and
    gradients in flat buffers) asks for, and what makes a step allocate
    nothing. When a layer writes its input gradient, every saved input in
    front of it is still needed and those behind it are kept buffers, so
    the input gradient is new memory; a middle layer's output gradient can
    sit in the dead buffer of its own output, but the last one's has only
    the prediction's place. torch frees gradients in ``zero_grad`` and
    activations during backward, so its peak can be lower: where this floor
    exceeds torch's peak, no such design reaches it.
    """
    parameters = sum(p.numel() * p.data.element_size() for p in model.parameters())
    saved = 0
    steps: list[int] = []  # per layer with parameters: the new memory of its backward
    last_output = 0
    with torch.inference_mode():
        was_training = model.training
        model.eval()  # fresh tensors: the model's training buffers stay as they were
        try:
            for index, layer in enumerate(model):  # type: ignore[call-overload]
                x_bytes = x.numel() * x.element_size()
                y = layer(x)
                if layer.parameters():
                    if index > 0:
                        saved += x_bytes
                    steps.append(x_bytes if steps else 0)  # the first: no input gradient
                    last_output = y.numel() * y.element_size()
                x = y
        finally:
            model.train(was_training)
    if steps:
        steps[-1] += last_output
    return 2 * parameters + saved + max(steps, default=0)


def run_case(case: BenchCase, repeats: int) -> CaseResult:
    setup = BenchSetup(case)
    setup.minidl_epoch()  # warm-up: buffers, caches, lazy state
    setup.torch_epoch()
    minidl_ms, torch_ms = [], []
    for _ in range(repeats):
        minidl_ms.append(_timed(setup.minidl_epoch))
        torch_ms.append(_timed(setup.torch_epoch))
    x, target = setup.batches[0]

    # memory of a whole fresh run: model, optimizer and two steps, all observed
    def minidl_cold() -> None:
        model = case.build_model(torch.Generator().manual_seed(1))
        loss, optimizer = MSELoss(), SGD(model.parameters(), lr=1e-3)
        with torch.inference_mode():
            for _ in range(2):
                loss.value(model(x), target)
                optimizer.zero_grad()
                model.backward_parameters(loss.backward())
                optimizer.step()

    def torch_cold() -> None:
        twin = reference.torch_twin(setup.model, copy_weights=False)
        optimizer = reference.torch_optimizer(setup.optimizer, twin.parameters())
        for _ in range(2):
            reference.torch_train_step(twin, setup.twin_loss, optimizer, x, target)

    # a fresh process has no shared ones vector yet: count it. Forgotten before the
    # run, not in it: freeing the last case's would count as a negative allocation
    clear_shared()
    return CaseResult(
        case,
        minidl_ms,
        torch_ms,
        peak_bytes(minidl_cold),
        peak_bytes(torch_cold),
        memory_floor_bytes(setup.model, x),
    )


class OpRecorder(TorchDispatchMode):
    """Records every aten op dispatched while active, with its arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[object, tuple, dict]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.calls.append((func, args, kwargs))
        return func(*args, **kwargs)


def _python_callable(func) -> Callable:
    """The torch function a user would call for an aten op (cheaper than the OpOverload)."""
    name = func.overloadpacket.__name__
    if name == "_local_scalar_dense":
        return torch.Tensor.item
    if name.endswith("_") and hasattr(torch.Tensor, name):
        return getattr(torch.Tensor, name)
    if hasattr(torch, name):
        return getattr(torch, name)
    if hasattr(torch.Tensor, name):
        return getattr(torch.Tensor, name)
    return func


Call = tuple[Callable, tuple, dict]


def calls_sample(call: Call, calls: int, warm: int = 3) -> Callable[[], float]:
    """A sampler: ``calls`` calls in a row of ``call`` (a function, its arguments and
    keyword arguments), timed, in µs per call, after ``warm`` calls that are not:
    every sample times it warm (its code and data in the caches), as when all
    its samples are taken one after the other. The loop calls the function
    itself: a wrapper (a lambda) around each op would add its own call to the
    op's time, 2 µs on the classic step's floor, which flattered step / floor
    by 0.08."""
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
) -> Callable[[], float]:
    """A sampler: ``calls`` training steps in a row, on the batches in turn (a new input
    tensor at every step, as training sees them), in µs per step. The loop calls
    ``step`` itself, as a training loop does: no wrapper around it."""
    order = list(itertools.islice(itertools.cycle(batches), calls))

    def sample() -> float:
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


def record_step(
    setup: BenchSetup, x: torch.Tensor, target: torch.Tensor
) -> tuple[list[str], list[Call]]:
    """The aten ops of one steady-state minidl step: their names, and each as a call
    (the torch function and its arguments) that ``replay_calls`` repeats."""
    with torch.inference_mode():
        setup.minidl_step(x, target)  # steady state: buffers already fit this batch
        with OpRecorder() as recorder:
            setup.minidl_step(x, target)
    names = [str(func) for func, _, _ in recorder.calls]
    calls: list[Call] = [(_python_callable(f), args, kwargs) for f, args, kwargs in recorder.calls]
    return names, calls


def replay_calls(calls: list[Call]) -> None:
    """The recorded ops back to back, with no Python around them but this loop."""
    for call, args, kwargs in calls:
        call(*args, **kwargs)


def count_ops(case: BenchCase | None = None, rounds: int = 5) -> OpCount:
    """Ops per step of each framework, minidl's step time and the floor its ops imply.

    The floor times each op alone, repeated; ``sequence_us`` replays the step's
    ops back to back with the same arguments, which is what they cost in a
    step without minidl's own Python around them (caches and branch
    predictors see a mix of ops there, so it exceeds the floor). Each round
    measures all three, their samples taken in turn (``interleaved_medians``),
    so that their ratios compare times taken over the same second.
    """
    case = case or BenchCase("classic MLP, batch 32", CLASSIC, 32, 1000)
    setup = BenchSetup(case)
    setup.minidl_epoch()
    setup.torch_epoch()
    x, target = setup.batches[0]
    step_us, floor_us, sequence_us = [], [], []
    with torch.inference_mode():
        names, calls = record_step(setup, x, target)
        samplers = [
            steps_sample(setup.minidl_step, setup.full_batches(), 666),
            calls_sample((replay_calls, (calls,), {}), 666),
            *(calls_sample(call, 222) for call in calls),  # each op alone, 222 calls in a row
        ]
        for _ in range(rounds):
            step, sequence, *ops = interleaved_medians(samplers)
            step_us.append(step)
            floor_us.append(sum(ops))
            sequence_us.append(sequence)
    with OpRecorder() as theirs:
        reference.torch_train_step(setup.twin, setup.twin_loss, setup.twin_optimizer, x, target)
    return OpCount(
        minidl_ops=names,
        torch_ops=[str(func) for func, _, _ in theirs.calls],
        step_us=step_us,
        floor_us=floor_us,
        sequence_us=sequence_us,
    )


def run_benchmark(
    quick: bool = False,
    repeats: int | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    cases: list[BenchCase] | None = None,
) -> BenchReport:
    """Every case, then the op count; one thread for the whole run."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        repeats = repeats or (5 if quick else 9)
        report = BenchReport(threads=1, repeats=repeats, torch_version=torch.__version__)
        for case in cases or default_cases(quick):
            result = run_case(case, repeats)
            report.cases.append(result)
            if on_case is not None:
                on_case(result)
        report.ops = count_ops(rounds=3 if quick else 5)
        return report
    finally:
        torch.set_num_threads(previous_threads)
