"""minidl against PyTorch's own test cases: every sample of torch's module and optimizer
databases for a class minidl has, run through the minidl twin in float64.

The samples come from the wheel's test definitions (``module_db`` and
``common_nn``'s module tests for layers and losses, ``optim_db`` for
optimizers; importing them needs the ``expecttest`` package). For each one
the minidl class is built with the same arguments and torch's weights, and
its values, input gradient, parameter gradients and buffers (or, for an
optimizer, the parameters after a few steps) must equal autograd's to 1e-10
relative. A sample minidl raises on counts as refused; the counts are
asserted exactly, so a newly refused sample fails as surely as a wrong
number. The expected counts are all zero: no class is narrower than torch
on these samples.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import torch

import minidl
from tests.conftest import TOLERANCE, rel_error

# importing torch's test definitions loads a hypothesis profile of its own (10 examples):
# the other tests keep theirs. (It also freezes torch.backends' flags, which nothing in
# this project sets.)
_profile = hypothesis.settings.get_current_profile_name()
from torch.testing._internal import common_modules, common_nn, common_optimizers  # noqa: E402

hypothesis.settings.load_profile(_profile)

DTYPE = torch.float64

# class -> (matched, refused) over module_db (train and, where they differ, eval) + common_nn
EXPECTED_MODULES = {
    "BCEWithLogitsLoss": (6, 0),
    "BatchNorm1d": (16, 0),
    "Conv1d": (21, 0),
    "CrossEntropyLoss": (105, 0),
    "ELU": (5, 0),
    "Flatten": (2, 0),
    "GELU": (4, 0),
    "HuberLoss": (4, 0),
    "L1Loss": (5, 0),
    "LeakyReLU": (6, 0),
    "Linear": (6, 0),
    "MSELoss": (8, 0),
    "ReLU": (5, 0),
    "SiLU": (4, 0),
    "Sigmoid": (5, 0),
    "Softmax": (3, 0),
    "Tanh": (4, 0),
    "Unflatten": (1, 0),
}
# class -> (matched, refused) over optim_db's samples, each also with every implementation flag
EXPECTED_OPTIMIZERS = {
    "Adam": (20, 0),
    "AdamW": (20, 0),
    "RMSprop": (24, 0),
    "SGD": (36, 0),
}


@dataclass
class Case:
    """One sample: how to build the torch module, minidl's arguments, the inputs."""

    desc: str
    make_torch: Callable[[], torch.nn.Module]
    args: tuple
    kwargs: dict[str, Any]
    forward_args: tuple
    forward_kwargs: dict[str, Any]
    training: bool


def _module_db_cases(name: str) -> Iterator[Case]:
    for info in common_modules.module_db:
        if info.module_cls.__name__ != name:
            continue
        modes = (True, False) if info.train_and_eval_differ else (True,)
        for training in modes:
            samples = info.module_inputs_func(
                info, device="cpu", dtype=DTYPE, requires_grad=True, training=training
            )
            for sample in samples:
                args, kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
                yield Case(
                    f"module_db {sample.desc or 'default'} {'train' if training else 'eval'}",
                    lambda a=args, k=kwargs, cls=info.module_cls: cls(*a, **k),
                    args,
                    kwargs,
                    sample.forward_input.args,
                    sample.forward_input.kwargs,
                    training,
                )


def _conv1d_arguments(module: torch.nn.Conv1d) -> tuple:
    """A torch Conv1d's arguments, read back from the module (common_nn builds some in lambdas)."""
    return (
        module.in_channels,
        module.out_channels,
        module.kernel_size,
        module.stride,
        module.padding,
        module.dilation,
        module.groups,
        module.bias is not None,
        module.padding_mode,
    )


def _common_nn_cases(name: str) -> Iterator[Case]:
    generator = torch.Generator().manual_seed(0)
    tests = list(common_nn.module_tests) + list(common_nn.get_new_module_tests())
    for test in tests:
        if test.get("module_name") == name and "constructor" not in test:
            args = test.get("constructor_args", ())
            kwargs = test.get("constructor_kwargs", {})

            def make(a=args, k=kwargs):
                return getattr(torch.nn, name)(*a, **k)

        elif str(test.get("fullname", "")).startswith(f"{name}_") and name == "Conv1d":
            built = test["constructor"]()
            args, kwargs = _conv1d_arguments(built), {}

            def make(b=built):
                return b

        else:
            continue
        if "input_fn" in test:
            x = test["input_fn"]().to(DTYPE)
        else:
            x = torch.randn(test["input_size"], dtype=DTYPE, generator=generator)
        yield Case(
            f"common_nn {test.get('fullname') or test.get('desc', 'default')}",
            make,
            args,
            kwargs,
            (x,),
            {},
            True,
        )


def module_cases(name: str) -> list[Case]:
    return list(_module_db_cases(name)) + list(_common_nn_cases(name))


def _close(ours: torch.Tensor, theirs: torch.Tensor, what: str, problems: list[str]) -> None:
    if ours.shape != theirs.shape:
        problems.append(f"{what}: shape {tuple(ours.shape)}, torch {tuple(theirs.shape)}")
    elif theirs.numel() and rel_error(ours.to(theirs.dtype), theirs) > TOLERANCE:
        problems.append(f"{what}: relative error {rel_error(ours.to(theirs.dtype), theirs):.2e}")


def _detached(value: Any) -> Any:
    return value.detach() if isinstance(value, torch.Tensor) else value


def run_module_case(name: str, case: Case) -> tuple[str, list[str]]:
    """("matched" | "refused: why", problems): minidl's twin of one torch sample."""
    theirs = case.make_torch().to(DTYPE)
    theirs.train(case.training)
    initial = {key: value.clone() for key, value in theirs.state_dict().items()}
    inputs = [_detached(a) for a in case.forward_args]
    kw_inputs = {k: _detached(v) for k, v in case.forward_kwargs.items()}
    leaf = (inputs or list(kw_inputs.values()))[0].clone().requires_grad_(True)
    if inputs:
        inputs[0] = leaf
    else:
        kw_inputs[next(iter(kw_inputs))] = leaf
    out = theirs(*inputs, **kw_inputs)
    grad_output = torch.randn(out.shape, dtype=DTYPE, generator=torch.Generator().manual_seed(1))
    out.backward(grad_output)
    plain = [x.detach() if x is leaf else x for x in inputs]
    plain_kw = {k: (v.detach() if v is leaf else v) for k, v in kw_inputs.items()}
    is_loss = name.endswith("Loss")
    try:
        ours = getattr(minidl, name)(*case.args, **case.kwargs)
        if not is_loss:
            ours.double()
            ours.train(case.training)
            ours.load_state_dict(initial)  # torch's weights and buffers before its forward
        value = ours(*plain, **plain_kw)
        if is_loss:
            grad = ours.backward(grad_output if ours.reduction == "none" else grad_output.item())
        else:
            grad = ours.backward(grad_output)
    except Exception as error:  # a refusal: counted, and the reason kept for the message
        return f"refused: {type(error).__name__}: {error}", []
    problems: list[str] = []
    _close(value, out.detach(), "value", problems)
    _close(grad, leaf.grad, "input gradient", problems)
    if not is_loss:
        for key, p in theirs.named_parameters():
            _close(getattr(ours, key).grad, p.grad, f"{key}.grad", problems)
        ours_state = ours.state_dict()
        for key, buffer in theirs.named_buffers():
            _close(ours_state[key], buffer, key, problems)
    return "matched", problems


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("name", sorted(EXPECTED_MODULES))
def test_module_samples_match_autograd(name):
    counts: Counter[str] = Counter()
    refusals, failures = [], []
    cases = module_cases(name)
    for case in cases:
        torch.manual_seed(0)
        outcome, problems = run_module_case(name, case)
        counts["refused" if outcome.startswith("refused") else "matched"] += 1
        if outcome.startswith("refused"):
            refusals.append(f"{case.desc}: {outcome}")
        failures += [f"{case.desc}: {p}" for p in problems]
    assert not failures, "\n".join(failures)
    assert (counts["matched"], counts["refused"]) == EXPECTED_MODULES[name], "\n".join(refusals)


def test_every_minidl_class_in_module_db_is_covered():
    in_db = {info.module_cls.__name__ for info in common_modules.module_db}
    ours = {n for n in minidl.__all__ if isinstance(getattr(minidl, n), type)}
    assert (in_db & ours) <= set(EXPECTED_MODULES)


# --- optimizers ----------------------------------------------------------------
SHAPES = [(3, 4), (4,), (2, 3, 2)]
STEPS = 5


def optimizer_cases(name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for info in common_optimizers.optim_db:
        if info.optim_cls.__name__ != name:
            continue
        for sample in info.optim_inputs_func(device="cpu", dtype=DTYPE):
            assert sample.params is None  # the model's parameters, one group
            yield sample.desc, dict(sample.kwargs)
            for flag in info.supported_impls:  # foreach, fused, differentiable: same maths
                yield f"{sample.desc}, {flag}", {**sample.kwargs, flag: True}


def run_optimizer_case(name: str, kwargs: dict[str, Any]) -> tuple[str, list[str]]:
    generator = torch.Generator().manual_seed(0)
    start = [torch.randn(shape, dtype=DTYPE, generator=generator) for shape in SHAPES]
    grads = [
        [torch.randn(shape, dtype=DTYPE, generator=generator) for shape in SHAPES]
        for _ in range(STEPS)
    ]
    theirs_params = [p.clone() for p in start]  # plain tensors: differentiable=True steps them
    theirs = getattr(torch.optim, name)(theirs_params, **kwargs)
    try:
        ours_params = [minidl.Parameter(p.clone()) for p in start]
        ours = getattr(minidl, name)(ours_params, **kwargs)
        for step in range(STEPS):
            for p, g in zip(ours_params, grads[step], strict=True):
                p.grad = g
            ours.step()
    except Exception as error:
        return f"refused: {type(error).__name__}: {error}", []
    # torch keeps its step count in the default dtype; with differentiable=True its bias
    # corrections are computed from it, so float32 would cost torch 1e-8 of accuracy
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(DTYPE)
    try:
        for step in range(STEPS):
            for p, g in zip(theirs_params, grads[step], strict=True):
                p.grad = g.clone()
            theirs.step()
    finally:
        torch.set_default_dtype(default_dtype)
    problems: list[str] = []
    for index, (mine, torch_param) in enumerate(zip(ours_params, theirs_params, strict=True)):
        _close(mine.data, torch_param, f"parameter {index} after {STEPS} steps", problems)
    return "matched", problems


@pytest.mark.parametrize("name", sorted(EXPECTED_OPTIMIZERS))
def test_optimizer_samples_match_torch(name):
    counts: Counter[str] = Counter()
    refusals, failures = [], []
    for desc, kwargs in optimizer_cases(name):
        outcome, problems = run_optimizer_case(name, kwargs)
        counts["refused" if outcome.startswith("refused") else "matched"] += 1
        if outcome.startswith("refused"):
            refusals.append(f"{desc}: {outcome}")
        failures += [f"{desc}: {p}" for p in problems]
    assert not failures, "\n".join(failures)
    assert (counts["matched"], counts["refused"]) == EXPECTED_OPTIMIZERS[name], "\n".join(refusals)


def test_every_minidl_optimizer_in_optim_db_is_covered():
    in_db = {info.optim_cls.__name__ for info in common_optimizers.optim_db}
    ours = {n for n in minidl.__all__ if isinstance(getattr(minidl, n), type)}
    assert (in_db & ours) == set(EXPECTED_OPTIMIZERS)


# --- signatures ----------------------------------------------------------------
def _twins() -> list[tuple[type, type]]:
    """minidl's layers, losses and optimizers with a same-named class in torch.nn or torch.optim."""
    pairs = []
    for name in sorted(set(minidl.__all__) - {"Module", "Parameter", "Loss", "Optimizer"}):
        ours = getattr(minidl, name)
        theirs = getattr(torch.nn, name, None) or getattr(torch.optim, name, None)
        if isinstance(ours, type) and isinstance(theirs, type):
            pairs.append((ours, theirs))
    return pairs


def _parameters(cls: type, method: str = "__init__") -> list[inspect.Parameter]:
    return list(inspect.signature(getattr(cls, method)).parameters.values())[1:]  # no self


@pytest.mark.parametrize("ours, theirs", _twins(), ids=lambda c: c.__name__)
def test_signatures_are_torchs(ours, theirs):
    """Positional parameters are torch's, in torch's order, with torch's defaults;
    torch's keyword-only ones are accepted by name; minidl's own are keyword-only;
    forward's first parameter is ``input``."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    mine, torchs = _parameters(ours), _parameters(theirs)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in torchs):
        # torch's class takes no arguments of its own (Sigmoid, Tanh) or ignores all (Identity)
        assert [p.kind for p in mine] in ([], [p.kind for p in torchs]), mine
    else:
        positional = [(p.name, p.default) for p in mine if p.kind in kinds]
        assert positional == [(p.name, p.default) for p in torchs if p.kind in kinds]
        keyword = {p.name for p in mine if p.kind == inspect.Parameter.KEYWORD_ONLY}
        assert {p.name for p in torchs if p.kind == inspect.Parameter.KEYWORD_ONLY} <= keyword
    if hasattr(ours, "forward"):
        assert _parameters(ours, "forward")[0].name == "input"
