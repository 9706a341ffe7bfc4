"""The step engine gives the eager step's numbers bit for bit, and allocates nothing.

Every test trains two identical set-ups on the same batches: one through
``StepEngine.step``, one with the plain public step. Losses must be the same
floats and parameters, gradients and optimizer state the same tensors
(compared bit for bit), whatever changes between the steps.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minidl
from minidl.benchmark import ACTIVATIONS, CLASSIC, BenchCase, BenchSetup, memory_events

Build = Callable[[torch.Generator], minidl.Module]


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal bit patterns (so -0.0 differs from 0.0, and NaNs must match)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.is_floating_point():
        as_int = {torch.float32: torch.int32, torch.float64: torch.int64}[a.dtype]
        return torch.equal(a.contiguous().view(as_int), b.contiguous().view(as_int))
    return torch.equal(a, b)


def eager_step(model, loss, optimizer, x, target) -> float:
    """The step as the README writes it."""
    optimizer.zero_grad()
    value = loss(model(x), target)
    model.backward(loss.backward())
    optimizer.step()
    return value.item()


def mlp(*hidden: Callable[[torch.Generator], minidl.Module]) -> Build:
    """Linear(3, 6), the hidden layers (each made by a function of the generator), Linear(6, 2)."""

    def build(generator: torch.Generator) -> minidl.Module:
        return minidl.Sequential(
            minidl.Linear(3, 6, generator=generator),
            *(make(generator) for make in hidden),
            minidl.Linear(6, 2, generator=generator),
        )

    return build


def plain(cls: type, *args: object, **kwargs: object) -> Callable[[torch.Generator], object]:
    return lambda generator: cls(*args, **kwargs)


def dropout(p: float) -> Callable[[torch.Generator], object]:
    return lambda generator: minidl.Dropout(p, generator=generator)


LAYERS: dict[str, Build] = {
    **{name: mlp(plain(cls)) for name, cls in ACTIVATIONS.items()},
    "Sigmoid": mlp(plain(minidl.Sigmoid)),
    "Softmax": mlp(plain(minidl.Softmax, dim=1)),
    "Identity": mlp(plain(minidl.Identity)),
    "BatchNorm1d": mlp(plain(minidl.BatchNorm1d, 6), plain(minidl.ReLU)),
    "Dropout": mlp(plain(minidl.ReLU), dropout(0.3)),
    "Conv1d": lambda g: minidl.Sequential(
        minidl.Linear(3, 8, generator=g),
        minidl.Unflatten(1, (1, 8)),
        minidl.Conv1d(1, 3, 3, padding=1, generator=g),
        minidl.Tanh(),
        minidl.Conv1d(3, 2, 3, stride=2, generator=g),
        minidl.Flatten(),
        minidl.Linear(6, 2, generator=g),
    ),
}
for optional in ("SiLU", "Softplus"):
    if hasattr(minidl, optional):
        LAYERS[optional] = mlp(plain(getattr(minidl, optional)))

LOSSES: dict[str, Callable[[], object]] = {
    "MSELoss": minidl.MSELoss,
    "MSELoss-sum": lambda: minidl.MSELoss(reduction="sum"),
    "L1Loss": minidl.L1Loss,
    "HuberLoss": minidl.HuberLoss,
    "CrossEntropyLoss": minidl.CrossEntropyLoss,
    "BCEWithLogitsLoss": minidl.BCEWithLogitsLoss,
}

OPTIMIZERS: dict[str, Callable[[list], object]] = {
    "SGD": lambda p: minidl.SGD(p, lr=0.1),
    "SGD-momentum": lambda p: minidl.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "SGD-nesterov": lambda p: minidl.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "SGD-dampening": lambda p: minidl.SGD(p, lr=0.1, momentum=0.5, dampening=0.3),
    "Adam": lambda p: minidl.Adam(p, lr=0.01),
    "Adam-decay": lambda p: minidl.Adam(p, lr=0.01, weight_decay=0.1),
    "AdamW": lambda p: minidl.AdamW(p, lr=0.01),
    "RMSprop": lambda p: minidl.RMSprop(p, lr=0.01),
}


class Pair:
    """The same model, loss and optimizer twice: one trained by the engine, one eagerly."""

    def __init__(
        self,
        build: Build = LAYERS["ReLU"],
        make_loss: Callable[[], object] = minidl.MSELoss,
        make_optimizer: Callable[[list], object] = OPTIMIZERS["SGD"],
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> None:
        self.sides = []
        for _ in range(2):
            model = build(torch.Generator().manual_seed(seed)).to(dtype=dtype)
            loss = make_loss()
            self.sides.append((model, loss, make_optimizer(model.parameters())))
        self.engine = minidl.StepEngine(*self.sides[0])
        self.dtype = dtype
        self.data = torch.Generator().manual_seed(seed + 1)

    @property
    def model(self) -> minidl.Module:
        return self.sides[0][0]

    def batch(self, rows: int, n_in: int = 3, n_out: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(rows, n_in, generator=self.data, dtype=self.dtype)
        loss = self.sides[0][1]
        if loss.target_kind == "index":
            target = torch.randint(0, n_out, (rows,), generator=self.data)
        elif isinstance(loss, minidl.BCEWithLogitsLoss):
            target = torch.rand(rows, n_out, generator=self.data, dtype=self.dtype).round()
        else:
            target = torch.randn(rows, n_out, generator=self.data, dtype=self.dtype)
        return x, target

    def step(self, rows: int = 8) -> None:
        x, target = self.batch(rows)
        engine_value = self.engine.step(x, target)
        eager_value = eager_step(*self.sides[1], x, target)
        assert engine_value.hex() == eager_value.hex()  # the same float, bit for bit
        self.assert_equal()

    def both(self, change: Callable[[minidl.Module, object, object], None]) -> None:
        for model, loss, optimizer in self.sides:
            change(model, loss, optimizer)

    def assert_equal(self) -> None:
        (model, _, optimizer), (twin, _, twin_optimizer) = self.sides
        for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
            assert same_bits(p.data, q.data), name
            assert same_bits(p.grad, q.grad), name
        for key, value in model.state_dict().items():
            assert same_bits(value, twin.state_dict()[key]), key
        mine, theirs = optimizer.state_dict(), twin_optimizer.state_dict()
        assert repr(mine["hyperparameters"]) == repr(theirs["hyperparameters"])
        for entry, other in zip(mine["state"], theirs["state"], strict=True):
            for key in entry:
                assert same_bits(entry[key], other[key]), key


def replaying(engine: minidl.StepEngine) -> bool:
    return engine.why_eager() is None and engine.replays > 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_every_layer_trains_to_the_same_bits(layer, dtype):
    pair = Pair(LAYERS[layer], dtype=dtype)
    for _ in range(8):
        pair.step()
    assert replaying(pair.engine), pair.engine.why_eager()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_trains_to_the_same_bits(loss, dtype):
    pair = Pair(make_loss=LOSSES[loss], dtype=dtype)
    for _ in range(8):
        pair.step()
    assert replaying(pair.engine), pair.engine.why_eager()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_trains_to_the_same_bits(optimizer, dtype):
    pair = Pair(LAYERS["Tanh"], make_optimizer=OPTIMIZERS[optimizer], dtype=dtype)
    for _ in range(8):
        pair.step()
    assert replaying(pair.engine), pair.engine.why_eager()


def set_hyperparameter(optimizer, name: str, value: float) -> None:
    for group in getattr(optimizer, "param_groups", ()):
        group[name] = value
    if hasattr(optimizer, name):
        setattr(optimizer, name, value)


def test_a_changed_learning_rate_or_momentum_is_used_at_the_next_step():
    pair = Pair(make_optimizer=OPTIMIZERS["SGD-momentum"])
    for step in range(12):
        pair.step()
        if step == 5:
            pair.both(lambda m, _, o: set_hyperparameter(o, "lr", 0.03))
        if step == 8:
            pair.both(lambda m, _, o: set_hyperparameter(o, "momentum", 0.5))
    assert replaying(pair.engine)


@pytest.mark.parametrize("scheduler", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_a_scheduler_stepped_between_engine_steps(scheduler):
    pair = Pair(make_optimizer=OPTIMIZERS["Adam"])
    arguments = {"StepLR": {"step_size": 2}, "ExponentialLR": {"gamma": 0.7}}
    made = [
        getattr(minidl, scheduler)(o, **arguments.get(scheduler, {"T_max": 5}))
        for _, _, o in pair.sides
    ]
    for step in range(16):
        pair.step()
        if step % 4 == 3:  # as the trainer does, once per epoch
            for s in made:
                s.step()
    assert replaying(pair.engine)


def test_a_learning_rate_changed_at_every_step_runs_eagerly_with_the_same_numbers():
    pair = Pair(make_optimizer=OPTIMIZERS["Adam"])
    made = [minidl.ExponentialLR(o, gamma=0.9) for _, _, o in pair.sides]
    for _ in range(10):
        pair.step()
        for s in made:
            s.step()
    assert "differ" in pair.engine.why_eager()


def test_batch_size_changes_and_a_smaller_last_batch():
    pair = Pair(LAYERS["BatchNorm1d"], make_optimizer=OPTIMIZERS["Adam"])
    for _ in range(4):  # epochs of 3 batches of 8 and a last one of 5
        for rows in (8, 8, 8, 5):
            pair.step(rows)
    assert replaying(pair.engine)
    assert len(pair.engine._slots) == 2
    before = pair.engine.replays
    for rows in (8, 8, 8, 5):  # both batch shapes recorded: a whole epoch is replayed
        pair.step(rows)
    assert pair.engine.replays == before + 4


def test_train_and_eval_mode_switched_between_steps():
    pair = Pair(mlp(plain(minidl.BatchNorm1d, 6), plain(minidl.ReLU), dropout(0.5)))
    for step in range(14):
        pair.step()
        if step == 5:
            pair.both(lambda m, _, o: m.eval())
        if step == 9:
            pair.both(lambda m, _, o: m.train())
    assert replaying(pair.engine)


def test_one_submodule_switched_to_eval():
    pair = Pair(LAYERS["Dropout"])
    for step in range(10):
        pair.step()
        if step == 4:
            pair.both(lambda m, _, o: list(m.modules())[-2].eval())
    assert replaying(pair.engine)


def test_load_state_dict_between_steps():
    pair = Pair(LAYERS["BatchNorm1d"], make_optimizer=OPTIMIZERS["Adam"])
    for _ in range(5):
        pair.step()
    saved_model = {k: v.clone() for k, v in pair.model.state_dict().items()}
    saved_optimizer = pair.sides[0][2].state_dict()
    for _ in range(4):
        pair.step()
    pair.both(lambda m, _, o: (m.load_state_dict(saved_model), o.load_state_dict(saved_optimizer)))
    for _ in range(5):
        pair.step()
    assert replaying(pair.engine)


def test_dtype_changed_between_steps():
    pair = Pair(make_optimizer=OPTIMIZERS["SGD-momentum"])
    for _ in range(5):
        pair.step()
    pair.both(lambda m, _, o: m.to(dtype=torch.float64))
    pair.dtype = torch.float64
    for _ in range(5):
        pair.step()
    assert replaying(pair.engine)


def test_a_step_that_reads_values_in_python_runs_eagerly_with_the_same_numbers():
    pair = Pair()
    model, loss, optimizer = pair.sides[0]
    norms: list[float] = []

    def log_norm() -> None:  # reads a value: the engine cannot know what Python does with it
        norms.append(model.parameters()[0].grad.norm().item())

    pair.engine = minidl.StepEngine(model, loss, optimizer, before_update=log_norm)
    seen = []
    for _ in range(5):
        pair.step()
        seen.append(len(norms))
    assert seen == [1, 2, 3, 4, 5]  # the hook ran at every step
    assert "value" in pair.engine.why_eager()


def test_turned_off_it_runs_the_eager_step():
    pair = Pair(LAYERS["Dropout"])
    pair.engine.enabled = False
    for _ in range(5):
        pair.step()
    assert pair.engine.replays == 0 and "off" in pair.engine.why_eager()


def test_a_non_finite_loss_leaves_the_parameters_as_they_were():
    pair = Pair()
    for _ in range(5):
        pair.step()
    before = [p.data.clone() for p in pair.model.parameters()]
    x, target = pair.batch(8)
    value = pair.engine.step(x, target * float("nan"), skip_non_finite=True)
    assert value != value
    assert all(torch.equal(p.data, b) for p, b in zip(pair.model.parameters(), before, strict=True))


BENCH_CASES = [
    BenchCase("classic", CLASSIC, 32, 96),
    BenchCase("float64", CLASSIC, 32, 96, "float64"),
    BenchCase("BatchNorm", CLASSIC, 32, 96, kind="batchnorm"),
    BenchCase("Conv1d", CLASSIC, 32, 96, kind="conv"),
    *(BenchCase(name, (2, 8, 8, 2), 16, 48, activation=name) for name in ACTIVATIONS),
]


def test_results_are_written_in_place_into_operands_that_die_there():
    """The classic step: ReLU's output overwrites the Linear's (which nobody reads
    again), its backward's sign and product overwrite their dead operands, and the
    gradient that then feeds ``g.t()`` is read through the same view of its new
    home. The numbers stay the eager step's, bit for bit."""
    setup = BenchSetup(BenchCase("classic", CLASSIC, 32, 96))
    x, target = setup.batches[0]
    for _ in range(3):
        assert setup.engine.step(x, target).hex() == setup.eager_step(x, target).hex()
    calls = setup.engine.recorded_calls(x, target)
    names = [getattr(getattr(c, "func", c), "__name__", "") for c in calls]
    assert names.count("clamp_min_") == 3 and "clamp_min" not in names  # ReLU forward
    assert names.count("sign_") == 3 and names.count("mul_") >= 3  # ReLU backward
    for x, target in setup.batches * 2:
        assert setup.engine.step(x, target).hex() == setup.eager_step(x, target).hex()
    for p, q in zip(setup.model.parameters(), setup.eager[0].parameters(), strict=True):
        assert same_bits(p.data, q.data)
    assert replaying(setup.engine)


@pytest.mark.parametrize("case", BENCH_CASES, ids=lambda case: case.name)
def test_a_replayed_step_allocates_nothing(case):
    """Seen by torch's profiler: once recorded, a step allocates no memory at all (so
    memory cannot grow from step to step), and it trains. BatchNorm1d is the exception:
    torch.var_mean has no out= form, so its two small results are made at every step
    and freed at once."""
    setup = BenchSetup(case)
    x, target = setup.batches[0]
    values = [setup.engine.step(x, target) for _ in range(3)]
    events = memory_events(lambda: values.extend(setup.engine.step(x, target) for _ in range(5)))
    assert replaying(setup.engine)
    if case.kind == "batchnorm":
        assert sum(events) == 0  # memory does not grow
        statistics = 3 * 2 * 25 * 4  # three layers: a variance and a mean of 25 float32s
        assert sum(e for e in events if e > 0) == 5 * statistics
    else:
        assert events == []
    assert values[-1] < values[0]


def trainer(engine: bool, loss: Callable[[], object] = minidl.CrossEntropyLoss):
    """A trainer with Dropout, BatchNorm, Adam, a scheduler, clipping and a smaller last batch."""
    generator = torch.Generator().manual_seed(3)
    model = mlp(plain(minidl.BatchNorm1d, 6), plain(minidl.Tanh), dropout(0.2))(generator)
    x = torch.randn(230, 3, generator=generator)
    labels = (x[:, 0] * x[:, 1] > 0).long()
    data = minidl.ClassificationData(x[:170], labels[:170], x[170:], labels[170:], 2)
    optimizer = minidl.Adam(model.parameters(), lr=0.02)
    return minidl.Trainer(
        model,
        loss(),
        optimizer,
        data,
        batch_size=32,
        scheduler=minidl.StepLR(optimizer, step_size=2, gamma=0.5),
        clip_grad_norm=0.5,
        engine=engine,
    )


@pytest.mark.parametrize("loss", [minidl.CrossEntropyLoss, minidl.MSELoss], ids=str)
def test_the_trainer_through_the_engine_equals_the_trainer_without(loss):
    fast, plain_trainer = trainer(True, loss), trainer(False, loss)
    histories = [t.run(6).epochs for t in (fast, plain_trainer)]
    assert [e.metrics() for e in histories[0]] == [e.metrics() for e in histories[1]]
    for p, q in zip(fast.model.parameters(), plain_trainer.model.parameters(), strict=True):
        assert same_bits(p.data, q.data)
    assert fast.engine.why_eager() is None and fast.engine.replays > 0
    assert plain_trainer.engine.replays == 0


def test_a_layer_appended_between_steps_is_trained_too():
    pair = Pair(mlp(plain(minidl.Tanh)))
    for _ in range(5):
        pair.step()
    for model, _, _ in pair.sides:
        model.append(minidl.Tanh())
    for _ in range(5):
        pair.step()
    assert replaying(pair.engine)


# --- random networks, losses, optimizers and changes between steps ------------------------
HIDDEN = {
    "Linear": lambda width, g: minidl.Linear(width, width, generator=g),
    "Linear-nobias": lambda width, g: minidl.Linear(width, width, bias=False, generator=g),
    "ReLU": lambda width, g: minidl.ReLU(),
    "Tanh": lambda width, g: minidl.Tanh(),
    "Sigmoid": lambda width, g: minidl.Sigmoid(),
    "LeakyReLU": lambda width, g: minidl.LeakyReLU(0.2),
    "ELU": lambda width, g: minidl.ELU(),
    "GELU": lambda width, g: minidl.GELU(),
    "SiLU": lambda width, g: minidl.SiLU(),
    "BatchNorm1d": lambda width, g: minidl.BatchNorm1d(width),
    "Dropout": lambda width, g: minidl.Dropout(0.25, generator=g),
    "Identity": lambda width, g: minidl.Identity(),
    "Softmax": lambda width, g: minidl.Softmax(dim=1),
}


@settings(max_examples=40, deadline=None)
@example(  # BatchNorm's saved flag flips once at eval(): one more recording, then replays
    hidden=["BatchNorm1d", "BatchNorm1d"],
    width=1,
    loss="BCEWithLogitsLoss",
    optimizer="Adam",
    dtype=torch.float32,
    phases=[(2, ""), (2, "eval")],
)
@given(
    hidden=st.lists(st.sampled_from(sorted(HIDDEN)), min_size=1, max_size=6),
    width=st.integers(1, 9),
    loss=st.sampled_from(sorted(LOSSES)),
    optimizer=st.sampled_from(sorted(OPTIMIZERS)),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    phases=st.lists(
        st.tuples(st.sampled_from([2, 5, 8]), st.sampled_from(["", "eval", "train", "lr"])),
        min_size=1,
        max_size=4,
    ),
)
def test_random_networks_train_to_the_same_bits(hidden, width, loss, optimizer, dtype, phases):
    """Any stack of layers, any loss and optimizer, phases of five steps at a batch size,
    with a mode or learning-rate change before each: the engine's numbers are eager's,
    bit for bit, after every step (the in-place rewrites and shared buffers included),
    and it replays (a batch shape's fourth step is its first replay)."""

    def build(generator: torch.Generator) -> minidl.Module:
        layers = [minidl.Linear(3, width, generator=generator)]
        layers += [HIDDEN[name](width, generator) for name in hidden]
        return minidl.Sequential(*layers, minidl.Linear(width, 2, generator=generator))

    def halve_lr(model: minidl.Module, loss: object, optimizer: minidl.Optimizer) -> None:
        optimizer.lr /= 2

    pair = Pair(build, LOSSES[loss], OPTIMIZERS[optimizer], dtype)
    for rows, change in phases:
        if change == "lr":
            pair.both(halve_lr)
        elif change:
            pair.both(lambda model, loss, optimizer, mode=change: getattr(model, mode)())
        for _ in range(5):
            pair.step(rows)
    assert replaying(pair.engine), pair.engine.why_eager()
