"""Every layer and activation added for breadth equals torch.nn and autograd (float64)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl
from minidl.reference import torch_twin
from tests.conftest import TOLERANCE, autograd_grads, rel_error


def check_against_torch(module, x, grad_output, input_grad_scale=0.0, twin=None):
    twin = torch_twin(module) if twin is None else twin
    out, grad_x, grads = autograd_grads(twin, x, grad_output)
    module.zero_grad()
    ours = module(x)
    assert rel_error(ours, out) <= TOLERANCE
    assert rel_error(module.backward(grad_output), grad_x, input_grad_scale) <= TOLERANCE
    for name, p in module.named_parameters():
        assert rel_error(p.grad, grads[name]) <= TOLERANCE, name
    return twin


ELEMENTWISE = [
    lambda: minidl.LeakyReLU(),
    lambda: minidl.LeakyReLU(0.3),
    lambda: minidl.LeakyReLU(-0.2),  # slopes outside [0, 1] take the general formula
    lambda: minidl.LeakyReLU(2.0),
    lambda: minidl.ELU(),
    lambda: minidl.ELU(0.5),
    lambda: minidl.ELU(1.7),
    lambda: minidl.ELU(-0.5),
    lambda: minidl.GELU(),
    lambda: minidl.GELU("tanh"),
    lambda: minidl.Softmax(dim=-1),
    lambda: minidl.Softmax(dim=0),
    lambda: minidl.Identity(),
]


@pytest.mark.parametrize("make", ELEMENTWISE, ids=lambda m: repr(m()))
@settings(max_examples=15, deadline=None)
@given(
    shape=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    scale=st.sampled_from([0.1, 1.0, 30.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_activations_equal_autograd(make, shape, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, dtype=torch.float64, generator=generator) * scale
    g = torch.randn(*shape, dtype=torch.float64, generator=generator)
    module = make()
    # softmax's gradient y·(g − Σ g·y) cancels to ~0 where y is near one-hot:
    # measure its error against the size of the terms, |g|·max y
    terms = g.abs().max().item() if isinstance(module, minidl.Softmax) else 0.0
    check_against_torch(module, x, g, input_grad_scale=terms)


def test_softmax_does_not_overflow():
    out = minidl.Softmax(dim=1)(torch.tensor([[1000.0, 0.0], [-1000.0, 1000.0]]))
    assert torch.isfinite(out).all()
    assert out.tolist() == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize("affine", [True, False])
@settings(max_examples=15, deadline=None)
@given(
    batch=st.integers(2, 20),
    features=st.integers(1, 6),
    length=st.one_of(st.none(), st.integers(1, 5)),
    seed=st.integers(0, 2**31 - 1),
)
def test_batchnorm_train_mode_equals_autograd(affine, batch, features, length, seed):
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, features) if length is None else (batch, features, length)
    layer = minidl.BatchNorm1d(features, affine=affine).double()
    if affine:
        layer.weight.data.normal_(generator=generator)
        layer.bias.data.normal_(generator=generator)
    x = torch.randn(*shape, dtype=torch.float64, generator=generator) * 3 + 1
    g = torch.randn(*shape, dtype=torch.float64, generator=generator)
    # the input gradient subtracts terms of size |g·γ|/σ that cancel almost
    # exactly on tiny batches: measure the error against that size
    gamma = layer.weight.data.abs().max().item() if affine else 1.0
    terms = g.abs().max().item() * gamma / x.std(dim=0, unbiased=False).clamp_min(1e-3).min().item()
    twin = check_against_torch(layer, x, g, input_grad_scale=terms)
    # running statistics moved exactly like torch's (unbiased running variance)
    assert rel_error(layer.running_mean, twin.running_mean) <= TOLERANCE
    assert rel_error(layer.running_var, twin.running_var) <= TOLERANCE
    assert int(layer.num_batches_tracked) == int(twin.num_batches_tracked) == 1


def test_batchnorm_running_statistics_follow_torch_over_steps_then_eval():
    generator = torch.Generator().manual_seed(3)
    layer = minidl.BatchNorm1d(4, momentum=0.2).double()
    twin = torch_twin(layer)
    for _ in range(7):
        x = torch.randn(16, 4, dtype=torch.float64, generator=generator) * 2 - 1
        layer(x)
        with torch.no_grad():
            twin(x)
    for name in ("running_mean", "running_var"):
        assert rel_error(getattr(layer, name), getattr(twin, name)) <= TOLERANCE
    assert int(layer.num_batches_tracked) == 7
    layer.eval()
    twin.eval()
    x = torch.randn(5, 4, dtype=torch.float64, generator=generator)
    g = torch.randn(5, 4, dtype=torch.float64, generator=generator)
    out, grad_x, grads = autograd_grads(twin, x, g)
    layer.zero_grad()
    assert rel_error(layer(x), out) <= TOLERANCE
    assert rel_error(layer.backward(g), grad_x) <= TOLERANCE
    assert rel_error(layer.weight.grad, grads["weight"]) <= TOLERANCE


def test_batchnorm_fed_its_own_gradient_or_output_computes_as_on_copies():
    # fed its own input gradient or output, it computes as on copies
    generator = torch.Generator().manual_seed(5)
    layer, reference = minidl.BatchNorm1d(3).double(), minidl.BatchNorm1d(3).double()
    x = torch.randn(8, 3, dtype=torch.float64, generator=generator)
    g = torch.randn(8, 3, dtype=torch.float64, generator=generator)
    for module in (layer, reference):
        module(x)
    grad = layer.backward(g)
    assert torch.equal(grad, reference.backward(g))
    out = layer(grad)
    expected = reference(grad.clone())
    assert torch.equal(out, expected)
    assert torch.equal(layer(out), reference(expected.clone()))
    assert torch.equal(layer.running_var, reference.running_var)


def test_batchnorm_refuses_a_single_value_per_feature_in_training():
    with pytest.raises(minidl.ShapeError, match="more than 1 value per feature"):
        minidl.BatchNorm1d(3)(torch.zeros(1, 3))


def test_batchnorm_state_dict_matches_torch_keys():
    model = minidl.Sequential(minidl.Linear(2, 3), minidl.BatchNorm1d(3))
    assert list(model.state_dict()) == list(torch_twin(model).state_dict())


@settings(max_examples=30, deadline=None)
@given(
    batch=st.sampled_from([1, 2, 5]),
    in_channels=st.integers(1, 3),
    out_channels=st.integers(1, 4),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    extra_length=st.integers(0, 6),
    bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_conv1d_equals_autograd(
    batch, in_channels, out_channels, kernel, stride, padding, extra_length, bias, seed
):
    generator = torch.Generator().manual_seed(seed)
    length = max(1, kernel - 2 * padding) + extra_length
    layer = minidl.Conv1d(
        in_channels, out_channels, kernel, stride, padding, bias=bias, generator=generator
    ).double()
    x = torch.randn(batch, in_channels, length, dtype=torch.float64, generator=generator)
    out_length = layer.output_length(length)
    g = torch.randn(batch, out_channels, out_length, dtype=torch.float64, generator=generator)
    check_against_torch(layer, x, g)


def test_conv1d_default_init_draws_like_torch():
    torch.manual_seed(5)
    theirs = torch.nn.Conv1d(3, 4, 5)
    torch.manual_seed(5)
    ours = minidl.Conv1d(3, 4, 5)
    assert torch.equal(ours.weight.data, theirs.weight.detach())
    assert torch.equal(ours.bias.data, theirs.bias.detach())


def test_conv1d_errors_name_the_shapes():
    layer = minidl.Conv1d(2, 3, 4)
    expected = r"expects input \(N, 2, L\) or \(2, L\), got \(5, 3, 8\)"
    with pytest.raises(minidl.ShapeError, match=expected):
        layer(torch.zeros(5, 3, 8))
    with pytest.raises(minidl.ShapeError, match="shorter than the kernel"):
        layer(torch.zeros(5, 2, 2))


def test_a_conv_stack_with_flatten_and_unflatten_equals_autograd():
    generator = torch.Generator().manual_seed(0)
    model = minidl.Sequential(
        minidl.Linear(2, 12, generator=generator),
        minidl.Unflatten(1, (1, 12)),
        # no bias before BatchNorm: its gradient is exactly zero, compared as noise
        minidl.Conv1d(1, 4, 3, stride=2, padding=1, bias=False, generator=generator),
        minidl.BatchNorm1d(4),
        minidl.ReLU(),
        minidl.Conv1d(4, 2, 3, generator=generator),
        minidl.Tanh(),
        minidl.Flatten(),
        minidl.Linear(8, 2, generator=generator),
    ).double()
    x = torch.rand(7, 2, dtype=torch.float64, generator=generator)
    g = torch.randn(7, 2, dtype=torch.float64, generator=generator)
    check_against_torch(model, x, g)


def test_dropout_masks_scale_and_eval_identity():
    generator = torch.Generator().manual_seed(0)
    layer = minidl.Dropout(0.3, generator=generator)
    x = torch.ones(200, 500, dtype=torch.float64)
    out = layer(x)
    kept = out != 0
    rate = 1 - kept.double().mean().item()
    # 100,000 draws: the dropped share lies within 5 standard deviations of p
    assert abs(rate - 0.3) < 5 * (0.3 * 0.7 / x.numel()) ** 0.5
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / 0.7))
    g = torch.randn(200, 500, dtype=torch.float64)
    assert torch.equal(layer.backward(g), g * out)  # the same mask, scaled alike
    layer.eval()
    assert layer(x) is x and layer.backward(g) is g


def test_dropout_is_reproducible_from_its_generator_and_p_bounds_are_checked():
    a = minidl.Dropout(0.5, generator=torch.Generator().manual_seed(1))
    b = minidl.Dropout(0.5, generator=torch.Generator().manual_seed(1))
    x = torch.ones(10, 10)
    assert torch.equal(a(x), b(x))
    assert torch.count_nonzero(minidl.Dropout(1.0)(x)) == 0
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got 1.5"):
        minidl.Dropout(1.5)


@settings(max_examples=10, deadline=None)
@given(
    features=st.lists(
        st.sampled_from(["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]),
        min_size=1,
        max_size=7,
        unique=True,
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_feature_map_equals_autograd(features, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(9, 2, dtype=torch.float64, generator=generator) * 4 - 2
    g = torch.randn(9, len(features), dtype=torch.float64, generator=generator)
    check_against_torch(minidl.FeatureMap(features), x, g)


def test_feature_map_refuses_unknown_names():
    with pytest.raises(ValueError, match="features must be a non-empty list"):
        minidl.FeatureMap(["x3"])


def test_batchnorm_eval_forward_moves_no_running_statistic():
    layer = minidl.BatchNorm1d(3).double()
    layer(torch.randn(8, 3, dtype=torch.float64))
    before = {name: b.clone() for name, b in layer.named_buffers()}
    layer.eval()
    layer(torch.randn(8, 3, dtype=torch.float64) * 5)
    assert all(torch.equal(b, before[name]) for name, b in layer.named_buffers())


def test_flatten_takes_a_strided_input_and_gives_the_gradient_its_shape():
    layer = minidl.Flatten()
    rows = torch.randn(6, 4, dtype=torch.float64)
    strided = rows.view(2, 3, 4).transpose(1, 2)  # (2, 4, 3), as a Conv1d's output
    assert torch.equal(layer(strided), strided.flatten(1)) and layer(strided).shape == (2, 12)
    g = torch.randn(2, 12, dtype=torch.float64)
    assert torch.equal(layer.backward(g), g.view(2, 4, 3))


def conv_stack(generator: torch.Generator) -> minidl.Sequential:
    """The benchmark's Conv1d stack: padding, a stride, ReLUs, Flatten."""
    return minidl.Sequential(
        minidl.Linear(2, 16, generator=generator),
        minidl.Unflatten(1, (1, 16)),
        minidl.Conv1d(1, 3, 3, padding=1, generator=generator),
        minidl.ReLU(),
        minidl.Conv1d(3, 4, 3, stride=2, generator=generator),
        minidl.ReLU(),
        minidl.Flatten(),
        minidl.Linear(28, 2, generator=generator),
    ).double()


def test_a_conv_stack_trains_like_its_torch_twin_across_batch_sizes():
    """Batch sizes that change from step to step and the flat optimizer give
    autograd's numbers at every step."""
    generator = torch.Generator().manual_seed(3)
    model = conv_stack(generator)
    loss = minidl.MSELoss()
    optimizer = minidl.SGD(model.parameters(), lr=0.5)
    twin = torch_twin(model)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.5)
    for batch in (5, 3, 5, 3):  # the last batch of an epoch is often smaller
        x = torch.rand(batch, 2, dtype=torch.float64, generator=generator)
        target = torch.rand(batch, 2, dtype=torch.float64, generator=generator)
        value = loss(model(x), target).item()
        optimizer.zero_grad()
        model.backward(loss.backward())
        optimizer.step()
        twin_optimizer.zero_grad()
        with torch.enable_grad():
            expected = torch.nn.functional.mse_loss(twin(x), target)
            expected.backward()
        twin_optimizer.step()
        assert abs(value - expected.item()) <= TOLERANCE * expected.item()
        theirs = dict(twin.named_parameters())
        for name, p in model.named_parameters():
            assert rel_error(p.data, theirs[name].detach()) <= TOLERANCE, (batch, name)


def test_conv1d_accumulates_gradients_over_two_backward_calls():
    generator = torch.Generator().manual_seed(4)
    layer = minidl.Conv1d(2, 3, 3, stride=2, padding=1, generator=generator).double()
    x = torch.randn(4, 2, 9, dtype=torch.float64, generator=generator)
    g1, g2 = torch.randn(2, 4, 3, 5, dtype=torch.float64, generator=generator)
    _, grad_x1, _ = autograd_grads(torch_twin(layer), x, g1)
    _, _, expected = autograd_grads(torch_twin(layer), x, g1 + g2)
    layer.zero_grad()
    layer(x)
    assert rel_error(layer.backward(g1), grad_x1) <= TOLERANCE
    layer.backward(g2.permute(0, 2, 1).contiguous().permute(0, 2, 1))  # another memory layout
    for name, p in layer.named_parameters():
        assert rel_error(p.grad, expected[name]) <= TOLERANCE, name


def test_a_second_backward_through_a_conv_stack_adds_the_same_gradients_again():
    model = conv_stack(torch.Generator().manual_seed(5))
    x = torch.rand(4, 2, dtype=torch.float64)
    g = torch.randn(4, 2, dtype=torch.float64)
    model(x)
    grad_x = model.backward(g)
    grads = [p.grad.clone() for p in model.parameters()]
    assert torch.equal(model.backward(g), grad_x)
    for p, before in zip(model.parameters(), grads, strict=True):
        assert rel_error(p.grad, 2 * before) <= TOLERANCE


def test_dropout_in_a_chain_keeps_autograds_numbers_and_masks():
    """The masks are the numbers torch draws from a generator in the same state."""
    from minidl.reference import SeededDropout

    generator = torch.Generator().manual_seed(6)
    model = minidl.Sequential(
        minidl.Linear(3, 8, generator=generator),
        minidl.Dropout(0.4, generator=torch.Generator().manual_seed(11)),
        minidl.Tanh(),
        minidl.Linear(8, 2, generator=generator),
    ).double()
    twin = torch_twin(model)
    twin[1] = SeededDropout(0.4, torch.Generator().manual_seed(11))
    for _ in range(3):  # a new mask at every step
        x = torch.randn(5, 3, dtype=torch.float64, generator=generator)
        g = torch.randn(5, 2, dtype=torch.float64, generator=generator)
        check_against_torch(model, x, g, twin=twin)


@pytest.mark.parametrize(
    "make",
    [
        minidl.LeakyReLU,
        lambda: minidl.LeakyReLU(-0.2),
        lambda: minidl.LeakyReLU(2.0),
        minidl.ELU,
        lambda: minidl.ELU(-0.5),
        lambda: minidl.ELU(1.7),
        minidl.GELU,
        lambda: minidl.GELU("tanh"),
    ],
    ids=lambda make: repr(make()),
)
def test_activations_in_a_chain_equal_autograd_and_a_second_backward_adds_again(make):
    generator = torch.Generator().manual_seed(7)
    model = minidl.Sequential(
        minidl.Linear(3, 6, generator=generator),
        make(),
        minidl.Linear(6, 2, generator=generator),
    ).double()
    x = torch.randn(5, 3, dtype=torch.float64, generator=generator) * 2
    g = torch.randn(5, 2, dtype=torch.float64, generator=generator)
    check_against_torch(model, x, g)
    kept = [p.grad.clone() for p in model.parameters()]
    model.backward(g)
    for p, k in zip(model.parameters(), kept, strict=True):
        assert rel_error(p.grad, 2 * k) <= TOLERANCE


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.5, 1.0])
def test_leaky_relu_equals_autograd_exactly_at_zero_and_nan(slope):
    """At 0, -0 and NaN the derivative is the slope, as autograd's."""
    x = torch.tensor([float("nan"), -0.0, 0.0, 1.5, -2.0, 3e-300, -3e-300], dtype=torch.float64)
    twin_x = x.clone().requires_grad_()
    expected = torch.nn.functional.leaky_relu(twin_x, slope)
    expected.backward(torch.ones_like(x))
    layer = minidl.LeakyReLU(slope).double()
    assert torch.equal(layer(x).isnan(), expected.isnan())
    assert torch.equal(layer(x).nan_to_num(), expected.detach().nan_to_num())
    assert torch.equal(layer.backward(torch.ones_like(x)), twin_x.grad)
    generator = torch.Generator().manual_seed(5)
    model = minidl.Sequential(
        minidl.Linear(3, 6, generator=generator),
        minidl.LeakyReLU(slope),
        minidl.Linear(6, 2, generator=generator),
    ).double()
    twin = torch_twin(model)
    for _ in range(2):
        x = torch.randn(5, 3, dtype=torch.float64, generator=generator)
        check_against_torch(model, x, torch.randn(5, 2, dtype=torch.float64), twin=twin)


def test_a_chain_of_every_activation_stays_exact_step_after_step():
    generator = torch.Generator().manual_seed(8)
    activations = [minidl.ELU(), minidl.GELU(), minidl.GELU("tanh"), minidl.LeakyReLU(2.0)]
    layers: list[minidl.Module] = [minidl.Linear(3, 6, generator=generator)]
    for activation in activations:
        layers += [activation, minidl.Linear(6, 6, generator=generator)]
    model = minidl.Sequential(*layers, minidl.Linear(6, 2, generator=generator)).double()
    twin = torch_twin(model)
    for _ in range(3):
        x = torch.randn(5, 3, dtype=torch.float64, generator=generator) * 2
        g = torch.randn(5, 2, dtype=torch.float64, generator=generator)
        check_against_torch(model, x, g, twin=twin)


def test_conv1d_lays_out_each_new_gradient_tensor_afresh():
    """Each step's numbers are that step's, not the last one's."""
    generator = torch.Generator().manual_seed(9)
    layer = minidl.Conv1d(2, 3, 3, padding=1, generator=generator).double()
    twin = torch_twin(layer)
    x = torch.randn(4, 2, 6, dtype=torch.float64, generator=generator)
    for _ in range(3):
        g = torch.randn(4, 3, 6, dtype=torch.float64, generator=generator)  # a new tensor
        check_against_torch(layer, x, g, twin=twin)


def test_batchnorm_updates_its_running_statistics_in_place():
    layer = minidl.BatchNorm1d(3).double()
    buffers = dict(layer.named_buffers())
    layer(torch.randn(8, 3, dtype=torch.float64))
    assert all(b is buffers[name] for name, b in layer.named_buffers())
    assert int(layer.num_batches_tracked) == 1
