"""torch's arguments in minidl, beyond torch's own samples: positional calls mean what they
mean in torch, the configurations torch's samples do not reach equal autograd, and every
change a training step makes stays a tensor op (what the step engine records)."""

from __future__ import annotations

import pytest
import torch
from torch.overrides import TorchFunctionMode

import minidl
from tests.conftest import TOLERANCE, rel_error

DTYPE = torch.float64


def _random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, dtype=DTYPE, generator=torch.Generator().manual_seed(seed))


# --- positional calls read as torch reads them ------------------------------------
def test_conv1d_sixth_positional_argument_is_dilation():
    layer = minidl.Conv1d(2, 4, 3, 1, 0, 2)
    assert (layer.dilation, layer.groups, layer.bias is not None) == (2, 1, True)
    assert layer(torch.zeros(1, 2, 9)).shape == (1, 4, 5)  # 9 − 2·(3 − 1)


def test_batchnorm_fifth_positional_argument_is_track_running_stats():
    layer = minidl.BatchNorm1d(10, 1e-3, 0.3, True, False)
    assert not layer.track_running_stats
    assert layer.running_mean is None and "running_mean" not in layer.state_dict()


def test_deprecated_size_average_and_reduce_read_as_torch_does():
    assert minidl.MSELoss(False).reduction == "sum"
    assert minidl.L1Loss(None, False).reduction == "none"
    assert minidl.CrossEntropyLoss(None, True, -100, True).reduction == "mean"
    with pytest.raises(ValueError, match="reduction='sum'"):
        minidl.MSELoss("sum")


def test_sgd_takes_weight_decay_before_nesterov_and_defaults_lr():
    parameter = minidl.Parameter(torch.zeros(2))
    sgd = minidl.SGD([parameter], 0.1, 0.9, 0.0, 0.01, True)
    assert (sgd.weight_decay, sgd.nesterov) == (0.01, True)
    assert minidl.SGD([parameter]).lr == 1e-3
    assert minidl.SGD([parameter], lr=torch.tensor(0.5)).lr == 0.5


def test_adam_with_decoupled_weight_decay_is_adamw():
    start, grads = _random(5), [_random(5, seed=s) for s in range(1, 4)]
    theirs_param = start.clone()
    theirs = torch.optim.Adam([theirs_param], 0.1, weight_decay=0.3, decoupled_weight_decay=True)
    ours_param = minidl.Parameter(start.clone())
    ours = minidl.Adam([ours_param], 0.1, weight_decay=0.3, decoupled_weight_decay=True)
    for grad in grads:
        theirs_param.grad, ours_param.grad = grad.clone(), grad
        theirs.step()
        ours.step()
    assert rel_error(ours_param.data, theirs_param) <= TOLERANCE


def test_an_optimizer_state_dict_without_maximize_loads_as_not_maximizing():
    parameter = minidl.Parameter(torch.zeros(2))
    state = minidl.SGD([parameter], 0.1, maximize=True).state_dict()
    del state["hyperparameters"]["maximize"]  # as saved before the argument existed
    sgd = minidl.SGD([parameter], 0.1, maximize=True)
    sgd.load_state_dict(state)
    assert sgd.maximize is False


def test_forward_takes_input_by_name():
    x = _random(3, 2)
    layer = minidl.Linear(2, 2).double()
    assert torch.equal(layer(input=x), layer(x))
    assert minidl.MSELoss()(input=x, target=x).item() == 0.0


def test_inplace_true_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="never overwrite their input"):
        minidl.ReLU(True)
    assert not minidl.ELU(1.0, False).inplace


# --- defects -----------------------------------------------------------------------
def test_softmax_of_a_zero_dim_input_is_one_with_zero_gradient():
    layer = minidl.Softmax(0)
    for training in (True, False):
        layer.train(training)
        assert layer(torch.tensor(0.3, dtype=DTYPE)).item() == 1.0
        assert layer.backward(torch.tensor(2.0, dtype=DTYPE)).item() == 0.0


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_of_an_empty_batch_is_empty(momentum, training):
    layer = minidl.BatchNorm1d(5, momentum=momentum).double().train(training)
    out = layer(torch.zeros(0, 5, 9, dtype=DTYPE))
    assert out.shape == (0, 5, 9)
    assert layer.backward(torch.zeros(0, 5, 9, dtype=DTYPE)).shape == (0, 5, 9)
    assert torch.equal(layer.running_mean, torch.zeros(5, dtype=DTYPE))


def test_batchnorm_momentum_none_is_the_cumulative_average():
    layer = minidl.BatchNorm1d(3, momentum=None).double()
    batches = [_random(4, 3, seed=seed) * (seed + 1) for seed in range(5)]
    for batch in batches:
        layer(batch)
    expected = torch.stack([batch.mean(0) for batch in batches]).mean(0)
    assert rel_error(layer.running_mean, expected) <= TOLERANCE
    assert layer.num_batches_tracked.item() == 5


# --- configurations torch's samples do not reach ------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_weight", [False, True])
def test_bce_with_logits_pos_weight_equals_autograd(reduction, with_weight):
    z, t = _random(6, 3) * 4, torch.rand(6, 3, dtype=DTYPE, generator=torch.Generator())
    weight = _random(3, seed=1).abs() if with_weight else None
    pos_weight = torch.tensor([0.5, 2.0, 3.0], dtype=DTYPE)
    leaf = z.clone().requires_grad_(True)
    expected = torch.nn.BCEWithLogitsLoss(weight, reduction=reduction, pos_weight=pos_weight)(
        leaf, t
    )
    grad_output = _random(*expected.shape, seed=2)
    expected.backward(grad_output)
    loss = minidl.BCEWithLogitsLoss(weight, reduction=reduction, pos_weight=pos_weight)
    assert rel_error(loss(z, t), expected.detach()) <= TOLERANCE
    grad = loss.backward(grad_output if reduction == "none" else grad_output.item())
    assert rel_error(grad, leaf.grad) <= TOLERANCE


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_every_argument_at_once_equals_autograd(reduction):
    z, y = _random(4, 3, 5) * 3, torch.tensor([[0, 1, 2, 1, 0], [2, 2, 1, 0, 1]] * 2)
    arguments = {"weight": _random(3, seed=1).abs(), "ignore_index": 2, "label_smoothing": 0.2}
    leaf = z.clone().requires_grad_(True)
    expected = torch.nn.CrossEntropyLoss(reduction=reduction, **arguments)(leaf, y)
    grad_output = _random(*expected.shape, seed=2)
    expected.backward(grad_output)
    loss = minidl.CrossEntropyLoss(reduction=reduction, **arguments)
    assert rel_error(loss(z, y), expected.detach()) <= TOLERANCE
    grad = loss.backward(grad_output if reduction == "none" else grad_output.item())
    assert rel_error(grad, leaf.grad) <= TOLERANCE


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv1d_every_argument_at_once_equals_autograd(mode, bias):
    torch.manual_seed(0)
    theirs = torch.nn.Conv1d(6, 4, 3, 2, 3, 2, 2, bias, mode, dtype=DTYPE)
    ours = minidl.Conv1d(6, 4, 3, 2, 3, 2, 2, bias, mode, dtype=DTYPE)
    ours.load_state_dict(theirs.state_dict())
    x = _random(3, 6, 11).requires_grad_(True)
    expected = theirs(x)
    grad_output = _random(*expected.shape, seed=1)
    expected.backward(grad_output)
    assert rel_error(ours(x.detach()), expected.detach()) <= TOLERANCE
    assert rel_error(ours.backward(grad_output), x.grad) <= TOLERANCE
    assert rel_error(ours.weight.grad, theirs.weight.grad) <= TOLERANCE
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    if bias:
        assert rel_error(ours.bias.grad, theirs.bias.grad) <= TOLERANCE


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"momentum": None},
        {"track_running_stats": False},
        {"affine": False},
        {"bias": False},
        {"momentum": None, "track_running_stats": False, "bias": False},
    ],
    ids=repr,
)
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_on_sequences_equals_autograd_in_every_path(arguments, training):
    theirs = torch.nn.BatchNorm1d(4, **arguments, dtype=DTYPE)
    ours = minidl.BatchNorm1d(4, **arguments, dtype=DTYPE)
    if theirs.affine:  # γ and β away from their initial ones and zeros
        with torch.no_grad():
            theirs.weight.copy_(_random(4, seed=5))
            if theirs.bias is not None:
                theirs.bias.copy_(_random(4, seed=6))
    ours.load_state_dict(theirs.state_dict())
    for seed in range(3):  # move the running statistics first
        batch = _random(5, 4, 7, seed=10 + seed) * (seed + 1)
        theirs(batch)
        ours(batch)
    theirs.train(training)
    ours.train(training)
    x = _random(3, 4, 6, seed=20).requires_grad_(True)
    expected = theirs(x)
    grad_output = _random(3, 4, 6, seed=21)
    expected.backward(grad_output)
    assert rel_error(ours(x.detach()), expected.detach()) <= TOLERANCE
    assert rel_error(ours.backward(grad_output), x.grad) <= TOLERANCE
    for name, parameter in theirs.named_parameters():
        assert rel_error(getattr(ours, name).grad, parameter.grad) <= TOLERANCE
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for name, buffer in theirs.named_buffers():
        assert rel_error(ours.state_dict()[name].to(buffer.dtype), buffer) <= TOLERANCE


def test_conv1d_refuses_what_torch_refuses():
    with pytest.raises(ValueError, match="strided"):
        minidl.Conv1d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        minidl.Conv1d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        minidl.Conv1d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(minidl.ShapeError, match="reflect padding of 4"):
        minidl.Conv1d(2, 2, 3, padding=4, padding_mode="reflect")(torch.zeros(1, 2, 4))


# --- a training step is tensor ops only (what the step engine records and replays) ----
VALUE_READS = {"item", "tolist", "__bool__", "__float__", "__int__", "__index__", "numpy"}


class _ValueReads(TorchFunctionMode):
    """Notes every torch call that hands a tensor's value to Python."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        if name in VALUE_READS:
            self.reads.append(name)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda p: minidl.SGD(p, 0.1, 0.9, 0.5, 0.01, maximize=True),
        lambda p: minidl.Adam(p, amsgrad=True, maximize=True),
        lambda p: minidl.RMSprop(p, centered=True, momentum=0.5, maximize=True),
    ],
)
def test_a_step_with_the_new_arguments_reads_no_tensor_value(optimizer):
    model = minidl.Sequential(
        minidl.Unflatten(1, (2, 6)),
        minidl.Conv1d(2, 4, 3, padding="same", dilation=2, groups=2, padding_mode="reflect"),
        minidl.BatchNorm1d(4, momentum=None),
        minidl.Flatten(),
        minidl.Linear(24, 3),
    ).double()
    loss = minidl.CrossEntropyLoss(
        _random(3).abs(), ignore_index=1, label_smoothing=0.1, reduction="mean"
    )
    step = optimizer(model.parameters())
    x, y = _random(8, 12), torch.tensor([0, 1, 2, 0, 1, 2, 0, 2])
    with _ValueReads() as mode:
        for _ in range(2):
            step.zero_grad()
            loss(model(x), y)
            model.backward(loss.backward())
            step.step()
    assert mode.reads == []
