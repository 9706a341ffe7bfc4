"""Speed and memory of minidl against torch.nn + autograd + torch.optim, in one process.

Each case trains the same network, from the same weights, on the same
batches three ways: minidl through its step engine (``minidl.StepEngine``,
as the Trainer runs it), minidl eagerly (the README's plain loop) and its
PyTorch twin, their epochs interleaved after a warm-up. One thread, so that
the numbers measure per-op overhead and arithmetic rather than scheduling.
Front ends print the report.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch.profiler import ProfilerActivity, profile

from minidl import reference
from minidl.engine import StepEngine
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
from minidl.op_floor import OpFloor, measure_floor
from minidl.optim import SGD


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


# the small networks whose steps are mostly per-op cost: their floors are measured too
FLOOR_CASES = [
    BenchCase("classic MLP, batch 1", CLASSIC, 1, 1000),
    BenchCase("classic MLP, batch 32", CLASSIC, 32, 1000),
    BenchCase("BatchNorm MLP, batch 32", CLASSIC, 32, 1000, kind="batchnorm"),
]


@dataclass
class CaseResult:
    case: BenchCase
    engine_ms: list[float]  # per epoch, through the step engine
    eager_ms: list[float]  # per epoch, the plain public step
    torch_ms: list[float]
    engine_alloc_bytes: float  # allocated per replayed step (profiler)
    engine_peak_bytes: int  # a fresh run: model, optimizer, engine, its recordings, 4 steps
    torch_peak_bytes: int

    @property
    def ratio(self) -> float:
        """torch time / engine time (medians): how many times faster minidl's engine is."""
        return statistics.median(self.torch_ms) / statistics.median(self.engine_ms)

    @property
    def eager_ratio(self) -> float:
        """torch time / eager minidl time (medians)."""
        return statistics.median(self.torch_ms) / statistics.median(self.eager_ms)

    def to_dict(self) -> dict:
        return {
            **asdict(self.case),
            "engine_ms": self.engine_ms,
            "eager_ms": self.eager_ms,
            "torch_ms": self.torch_ms,
            "engine_median_ms": statistics.median(self.engine_ms),
            "eager_median_ms": statistics.median(self.eager_ms),
            "torch_median_ms": statistics.median(self.torch_ms),
            "ratio": self.ratio,
            "eager_ratio": self.eager_ratio,
            "engine_alloc_bytes": self.engine_alloc_bytes,
            "engine_peak_bytes": self.engine_peak_bytes,
            "torch_peak_bytes": self.torch_peak_bytes,
        }


@dataclass
class BenchReport:
    threads: int
    repeats: int
    torch_version: str
    cases: list[CaseResult] = field(default_factory=list)
    floors: list[OpFloor] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "threads": self.threads,
            "repeats": self.repeats,
            "torch_version": self.torch_version,
            "cases": [c.to_dict() for c in self.cases],
            "floors": [f.to_dict() for f in self.floors],
        }


class BenchSetup:
    """minidl twice (engine, eager) and its torch twin: identical weights, the same batches."""

    def __init__(self, case: BenchCase, seed: int = 0) -> None:
        dtype = getattr(torch, case.dtype)
        self.case = case
        sides = []
        for _ in range(2):
            model = case.build_model(torch.Generator().manual_seed(seed))
            sides.append((model, MSELoss(), SGD(model.parameters(), lr=1e-3)))
        (self.model, self.loss, self.optimizer), self.eager = sides
        self.engine = StepEngine(self.model, self.loss, self.optimizer)
        self.twin = reference.torch_twin(self.model)
        self.twin_loss = reference.torch_loss(self.loss)
        self.twin_optimizer = reference.torch_optimizer(self.optimizer, self.twin.parameters())
        generator = torch.Generator().manual_seed(seed + 1)
        x = torch.rand(case.samples, case.widths[0], generator=generator, dtype=dtype)
        target = torch.rand(case.samples, case.widths[-1], generator=generator, dtype=dtype)
        self.batches = list(
            zip(x.split(case.batch_size), target.split(case.batch_size), strict=True)
        )

    def full_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The epoch's batches of the full batch size (not a smaller last one)."""
        return [b for b in self.batches if len(b[0]) == self.case.batch_size]

    def eager_step(self, x: torch.Tensor, target: torch.Tensor) -> float:
        """One training step as the README writes it, with no engine."""
        model, loss, optimizer = self.eager
        optimizer.zero_grad()
        value = loss(model(x), target)
        model.backward(loss.backward())
        optimizer.step()
        return value.item()

    def engine_epoch(self) -> None:
        step = self.engine.step
        for x, target in self.batches:
            step(x, target)

    def eager_epoch(self) -> None:
        for x, target in self.batches:
            self.eager_step(x, target)

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


def memory_events(fn: Callable[[], None]) -> list[int]:
    """Bytes allocated (positive) and freed (negative) while ``fn`` runs, in order."""
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e for e in prof.events() if e.self_cpu_memory_usage),
        key=lambda e: e.time_range.start,
    )
    return [e.self_cpu_memory_usage for e in events]


def peak_bytes(fn: Callable[[], None]) -> int:
    """Peak of bytes allocated minus freed while ``fn`` runs (CPU profiler events)."""
    live = peak = 0
    for change in memory_events(fn):
        live += change
        peak = max(peak, live)
    return peak


def allocated_bytes(fn: Callable[[], None]) -> int:
    """Every byte allocated while ``fn`` runs, freed or not (CPU profiler events)."""
    return sum(change for change in memory_events(fn) if change > 0)


WARM_UP_EPOCHS = 3  # the engine: an eager step, then two recorded ones, per batch shape


def run_case(case: BenchCase, repeats: int) -> CaseResult:
    setup = BenchSetup(case)
    for _ in range(WARM_UP_EPOCHS):
        setup.engine_epoch()
    setup.eager_epoch()
    setup.torch_epoch()
    engine_ms, eager_ms, torch_ms = [], [], []
    for _ in range(repeats):
        engine_ms.append(_timed(setup.engine_epoch))
        eager_ms.append(_timed(setup.eager_epoch))
        torch_ms.append(_timed(setup.torch_epoch))
    x, target = setup.batches[0]
    steps = 4
    alloc = allocated_bytes(lambda: [setup.engine.step(x, target) for _ in range(steps)])

    # memory of a whole fresh run: model, optimizer, engine and its recordings, four steps
    def engine_cold() -> None:
        model = case.build_model(torch.Generator().manual_seed(1))
        engine = StepEngine(model, MSELoss(), SGD(model.parameters(), lr=1e-3))
        for _ in range(4):
            engine.step(x, target)

    def torch_cold() -> None:
        twin = reference.torch_twin(setup.model, copy_weights=False)
        optimizer = reference.torch_optimizer(setup.optimizer, twin.parameters())
        for _ in range(4):
            reference.torch_train_step(twin, setup.twin_loss, optimizer, x, target)

    return CaseResult(
        case,
        engine_ms,
        eager_ms,
        torch_ms,
        alloc / steps,
        peak_bytes(engine_cold),
        peak_bytes(torch_cold),
    )


def run_benchmark(
    quick: bool = False,
    repeats: int | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    cases: list[BenchCase] | None = None,
) -> BenchReport:
    """Every case, then the floors of the small ones; one thread for the whole run."""
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
        for case in FLOOR_CASES:
            setup = BenchSetup(case)
            for _ in range(WARM_UP_EPOCHS):
                setup.engine_epoch()
            report.floors.append(measure_floor(setup, rounds=3 if quick else 5))
        return report
    finally:
        torch.set_num_threads(previous_threads)
