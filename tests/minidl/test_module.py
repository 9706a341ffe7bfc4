from __future__ import annotations

import copy

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import minidl


class OpRecorder(TorchDispatchMode):
    """Records the name of every aten op dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls.append(str(func))
        return func(*args, **(kwargs or {}))


def small_model():
    generator = torch.Generator().manual_seed(0)
    return minidl.Sequential(
        minidl.Linear(2, 4, generator=generator),
        minidl.Tanh(),
        minidl.Linear(4, 2, generator=generator),
    )


def test_parameters_have_data_and_grad_of_the_same_shape():
    for name, p in small_model().named_parameters():
        assert p.grad.shape == p.data.shape, name
        assert p.grad.dtype == p.data.dtype


def test_backward_accumulates_like_torch_until_zero_grad():
    model = small_model()
    x, g = torch.rand(3, 2), torch.rand(3, 2)
    model(x)
    model.backward(g)
    once = [p.grad.clone() for p in model.parameters()]
    model(x)
    model.backward(g)
    for p, first in zip(model.parameters(), once, strict=True):
        torch.testing.assert_close(p.grad, 2 * first)
    model.zero_grad()
    assert all(torch.count_nonzero(p.grad) == 0 for p in model.parameters())
    model(x)
    model.backward(g)
    for p, first in zip(model.parameters(), once, strict=True):
        torch.testing.assert_close(p.grad, first)


def test_a_gradient_once_made_moves_with_its_parameter_and_is_never_dropped():
    """An optimizer created after a backward moves the accumulated gradients into its
    flat buffer, and rebind refuses to drop one."""
    model = small_model()
    x, g = torch.rand(3, 2), torch.rand(3, 2)
    model(x)
    model.backward(g)
    before = [p.grad.clone() for p in model.parameters()]
    minidl.SGD(model.parameters(), lr=0.1)  # rebinds data and gradients into flat buffers
    for p, grad in zip(model.parameters(), before, strict=True):
        assert torch.equal(p.grad, grad)
    model(x)
    model.backward(g)  # adds into the moved gradients
    for p, grad in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p.grad, 2 * grad)
    weight = model[0].weight
    with pytest.raises(ValueError, match="never drops it"):
        weight.rebind(weight.data.clone(), None)
    fresh = minidl.Parameter(torch.zeros(2))
    fresh.rebind(torch.ones(2), None)  # no gradient yet: nothing to drop
    assert fresh._grad is None


def test_zero_grad_zeros_in_place_and_an_optimizer_does_it_in_one_op():
    model = small_model()
    optimizer = minidl.SGD(model.parameters(), lr=0.1)
    model(torch.ones(3, 2))
    model.backward(torch.ones(3, 2))
    grads = [p.grad for p in model.parameters()]
    for grad in grads:
        grad.fill_(float("nan"))  # garbage that must not survive a zero_grad
    with OpRecorder() as ops:
        optimizer.zero_grad()
    # one op on the flat gradient zeros every parameter's gradient
    assert ops.calls == ["aten.zero_.default"]
    for p, grad in zip(model.parameters(), grads, strict=True):
        assert p.grad is grad and torch.count_nonzero(grad) == 0  # the same tensors
    model(torch.ones(3, 2))
    model.backward(torch.ones(3, 2))
    grads[0].fill_(float("nan"))
    model.zero_grad()  # the module's own zero_grad, parameter by parameter
    assert all(torch.count_nonzero(p.grad) == 0 for p in model.parameters())


def test_calling_a_module_or_a_loss_runs_the_forward_of_its_own_class():
    class Double(minidl.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    class Triple(Double):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 3 * x

    class InheritsTriple(Triple):
        pass

    class HalfMSE(minidl.MSELoss):
        def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return super().forward(prediction, target) / 2

    x = torch.ones(1)
    assert [m(x).item() for m in (Double(), Triple(), InheritsTriple())] == [2, 3, 3]
    assert HalfMSE()(torch.zeros(1, 2), torch.ones(1, 2)).item() == 0.5


def test_train_and_eval_propagate_to_children():
    model = small_model()
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_to_moves_parameters_and_gradients():
    model = small_model().to(dtype=torch.float64)
    assert all(p.data.dtype == p.grad.dtype == torch.float64 for p in model.parameters())


def test_num_parameters_counts_weights_and_biases():
    assert small_model().num_parameters() == 2 * 4 + 4 + 4 * 2 + 2


def test_load_state_dict_rejects_mismatches_and_changes_nothing():
    model = small_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bad = dict(before)
    bad["0.weight"] = torch.zeros(5, 2)
    bad["2.bias"] = torch.zeros(2)
    with pytest.raises(
        minidl.StateDictError,
        match=r"0\.weight: shape \(5, 2\) in the state dict, \(4, 2\) in the model",
    ):
        model.load_state_dict(bad)
    missing = dict(before)
    del missing["2.bias"]
    missing["3.weight"] = torch.zeros(1)
    with pytest.raises(
        minidl.StateDictError, match=r"missing keys: 2\.bias; unexpected keys: 3\.weight"
    ):
        model.load_state_dict(missing)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_a_deep_copy_is_an_independent_module_that_trains_the_same():
    model = small_model()
    twin = copy.deepcopy(model)
    x, g = torch.rand(3, 2), torch.rand(3, 2)
    assert torch.equal(twin(x), model(x))
    for m in (model, twin):
        m(x)
        m.backward(g)
        minidl.SGD(m.parameters(), lr=0.1).step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert p is not q and p.data is not q.data
        assert torch.equal(p.data, q.data) and torch.equal(p.grad, q.grad)
