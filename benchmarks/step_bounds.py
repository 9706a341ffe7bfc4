"""How fast can a training step of the classic MLP be, with the very ops minidl runs?

``minidl-lab bench`` reports minidl's step against the floor of its ops
(each timed alone). This script shows what lies between, on the same
network, weights and batches (classic 2→25→25→25→2 MLP, batch 32, MSE, SGD):

- minidl's step, through its public API;
- the same ops as straight-line Python, every tensor in a local variable:
  no framework at all;
- the same ops in the smallest modular framework: a class per layer, a
  loop over bound methods, and no shape, identity or mode check;
- minidl's own step on minidl's own objects, with every check taken out of
  the methods the step runs: what the public API's structure (a model, a
  loss and an optimizer object, their calls and workspaces) costs alone.

The three stand-ins are *bounds*, not alternatives: they only work for this
network, this batch size and tensors that never change. Run it with
``python -m benchmarks.step_bounds``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch

# by name, as minidl's Linear and MSELoss call them (a `torch.mm` lookup costs ~0.1 µs)
from torch import addmm, mm, mul, sub

from minidl.benchmark import (
    CLASSIC,
    BenchCase,
    BenchSetup,
    count_ops,
    interleaved_medians,
    steps_sample,
)
from minidl.layers import Linear, ReLU, Sequential
from minidl.losses import MSELoss
from minidl.optim import SGD
from minidl.optim.flat import FlatGroup


def _layers(setup: BenchSetup) -> list[Linear]:
    return [layer for layer in setup.model if isinstance(layer, Linear)]  # type: ignore[attr-defined]


def _mse_buffers(rows: int) -> tuple[torch.Tensor, ...]:
    """The loss's difference (and its row and column views), gradient, 1×1 sum of
    squares (and its 0-dim view), element count and 2/count."""
    diff = torch.empty(rows, 2)
    count = diff.numel()
    total = torch.empty(1, 1)
    return (
        diff,
        diff.view(1, -1),
        diff.view(-1, 1),
        torch.empty(rows, 2),
        total,
        total.view(()),
        torch.tensor(float(count)),
        torch.tensor(2.0 / count),
    )


def straight_line_step(
    setup: BenchSetup, rows: int
) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """The step's ops, one after the other, on tensors prepared once (ReLU hidden layers)."""
    linears = _layers(setup)
    group = setup.optimizer.groups[0]
    weights = [layer.weight.data for layer in linears]
    weights_t = [w.t() for w in weights]
    biases = [layer.bias.data.expand(rows, layer.out_features) for layer in linears]  # type: ignore[union-attr]
    grad_w = [layer.weight.grad for layer in linears]
    grad_b = [layer.bias.grad for layer in linears]  # type: ignore[union-attr]
    h = [torch.empty(rows, layer.out_features) for layer in linears]
    h_t = [t.t() for t in h]
    ones = torch.ones(rows)
    diff, diff_row, diff_column, grad, total, total_scalar, count, scale = _mse_buffers(rows)
    grad_t = grad.t()
    grad_input = torch.empty(rows, linears[1].in_features)
    minus_lr = torch.tensor(-setup.optimizer.lr)
    data, flat_grad = group.data, group.grad
    _, w1, w2, w3 = weights
    t0, t1, t2, t3 = weights_t
    b0, b1, b2, b3 = biases
    h0, h1, h2, out = h
    h0_t, h1_t, h2_t, _ = h_t

    def step(x: torch.Tensor, target: torch.Tensor) -> float:
        addmm(b0, x, t0, out=h0).relu_()
        addmm(b1, h0, t1, out=h1).relu_()
        addmm(b2, h1, t2, out=h2).relu_()
        addmm(b3, h2, t3, out=out)
        sub(out, target, out=diff)
        mm(diff_row, diff_column, out=total).div_(count)
        value = total_scalar.item()
        flat_grad.zero_()
        mul(diff, scale, out=grad)
        grad_w[3].addmm_(grad_t, h2)
        grad_b[3].addmv_(grad_t, ones)
        h2.sign_().mul_(mm(grad, w3, out=grad_input))
        grad_w[2].addmm_(h2_t, h1)
        grad_b[2].addmv_(h2_t, ones)
        h1.sign_().mul_(mm(h2, w2, out=grad_input))
        grad_w[1].addmm_(h1_t, h0)
        grad_b[1].addmv_(h1_t, ones)
        h0.sign_().mul_(mm(h1, w1, out=grad_input))
        grad_w[0].addmm_(h0_t, x)
        grad_b[0].addmv_(h0_t, ones)
        data.addcmul_(flat_grad, minus_lr)
        return value

    return step


class _Linear:
    """A Linear with its buffers for one batch size, and no checks."""

    def __init__(self, layer: Linear, rows: int, grad_input: torch.Tensor) -> None:
        self.weight, self.weight_t = layer.weight.data, layer.weight.data.t()
        self.bias = layer.bias.data.expand(rows, layer.out_features)  # type: ignore[union-attr]
        self.grad_w, self.grad_b = layer.weight.grad, layer.bias.grad  # type: ignore[union-attr]
        self.out, self.ones, self.grad_input = (
            torch.empty(rows, layer.out_features),
            torch.ones(rows),
            grad_input,
        )
        self.x: torch.Tensor | None = None
        self.g: torch.Tensor | None = None
        self.g_t: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.x = x
        return addmm(self.bias, x, self.weight_t, out=self.out)

    def backward_parameters(self, g: torch.Tensor) -> None:
        if g is not self.g:
            self.g, self.g_t = g, g.t()
        self.grad_w.addmm_(self.g_t, self.x)
        self.grad_b.addmv_(self.g_t, self.ones)

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        self.backward_parameters(g)
        return mm(g, self.weight, out=self.grad_input)


class _ReLU:
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.out = x.relu_()
        return x

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        return self.out.sign_().mul_(g)


def modular_step(setup: BenchSetup, rows: int) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """The same ops from per-layer objects, called in a loop, with no checks at all."""
    grad_input = torch.empty(rows, CLASSIC[1])
    layers: list = []
    for layer in _layers(setup):
        layers += [_Linear(layer, rows, grad_input), _ReLU()]
    layers.pop()  # no activation after the last Linear
    forward = [layer.forward for layer in layers]
    backward = [layer.backward for layer in reversed(layers[1:])] + [layers[0].backward_parameters]
    group = setup.optimizer.groups[0]
    minus_lr = torch.tensor(-setup.optimizer.lr)
    diff, diff_row, diff_column, grad, total, total_scalar, count, scale = _mse_buffers(rows)

    def step(x: torch.Tensor, target: torch.Tensor) -> float:
        for f in forward:
            x = f(x)
        sub(x, target, out=diff)
        mm(diff_row, diff_column, out=total).div_(count)
        value = total_scalar.item()
        group.grad.zero_()
        g = mul(diff, scale, out=grad)
        for b in backward:
            g = b(g)
        group.data.addcmul_(group.grad, minus_lr)
        return value

    return step


class _UncheckedSequential(Sequential):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self._forward_steps:  # type: ignore[union-attr]
            x = step(x)
        return x

    def backward_parameters(self, grad_output: torch.Tensor) -> None:
        for step in self._parameter_steps:  # type: ignore[union-attr]
            grad_output = step(grad_output)


class _UncheckedLinear(Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ws = self._workspace
        ws.input = x  # type: ignore[union-attr]
        return addmm(ws.bias_rows, x, ws.weight_t, out=ws.out)  # type: ignore[union-attr]

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        ws = self._workspace
        g_t = ws.grad_output_t  # type: ignore[union-attr]
        self.weight._grad.addmm_(g_t, ws.input)  # type: ignore[union-attr]
        self.bias._grad.addmv_(g_t, ws.ones)  # type: ignore[union-attr]
        return mm(grad_output, ws.weight, out=ws.grad_input)  # type: ignore[union-attr]

    def backward_parameters(self, grad_output: torch.Tensor) -> None:
        ws = self._workspace
        g_t = ws.grad_output_t  # type: ignore[union-attr]
        self.weight._grad.addmm_(g_t, ws.input)  # type: ignore[union-attr]
        self.bias._grad.addmv_(g_t, ws.ones)  # type: ignore[union-attr]


class _UncheckedReLU(ReLU):
    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        return self._saved.sign_().mul_(grad_output)  # type: ignore[union-attr]


class _UncheckedMSELoss(MSELoss):
    def value(self, prediction: torch.Tensor, target: torch.Tensor) -> float:
        ws = self._current
        sub(prediction, target, out=ws.diff)  # type: ignore[union-attr]
        mm(ws.diff_row, ws.diff_column, out=ws.total).div_(ws.count)  # type: ignore[union-attr]
        return ws.total_scalar.item()  # type: ignore[union-attr]

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        ws = self._current
        return mul(ws.diff, ws.scale, out=ws.grad)  # type: ignore[union-attr]


class _UncheckedSGD(SGD):
    def zero_grad(self) -> None:
        for group in self.groups:
            group.grad.zero_()

    def step(self) -> None:
        self.step_count += 1
        for group in self.groups:
            self.update(group)

    def update(self, group: FlatGroup) -> None:
        group.data.addcmul_(group.grad, group.minus_lr_tensor)


_UNCHECKED = {
    Sequential: _UncheckedSequential,
    Linear: _UncheckedLinear,
    ReLU: _UncheckedReLU,
    MSELoss: _UncheckedMSELoss,
    SGD: _UncheckedSGD,
}


def unchecked_step(
    setup: BenchSetup, rows: int, classes: tuple[type, ...] = tuple(_UNCHECKED)
) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """minidl's own step on minidl's own objects, whose hot methods lose every check.

    A checked forward first leaves each object's workspace at this batch size;
    then the model, its layers, the loss and the optimizer (those of
    ``classes``: all by default) become subclasses whose forward, backward,
    zero_grad and step skip every shape, identity, mode and double-backward
    check. Same calls, frames and buffers as minidl's step: what remains is
    what the public API's structure costs.
    """
    x, target = next(b for b in setup.full_batches() if len(b[0]) == rows)
    with torch.inference_mode():
        setup.loss(setup.model(x), target)
    for item in (*setup.model, setup.model, setup.loss, setup.optimizer):  # type: ignore[misc]
        if type(item) in classes:
            item.__class__ = _UNCHECKED[type(item)]
    setup.model._plan()  # type: ignore[attr-defined]
    return setup.minidl_step


def new_setup() -> BenchSetup:
    """The op count's network, batches and optimizer, with its gradients made."""
    setup = BenchSetup(BenchCase("classic MLP, batch 32", CLASSIC, 32, 1000))
    setup.minidl_epoch()
    return setup


def main(rounds: int = 5) -> None:
    """The floor and replay of ``count_ops``, then minidl and the stand-ins, their
    samples taken in turn within each round, each as a median over the rounds and
    against the floor."""
    torch.set_num_threads(1)
    ops = count_ops(rounds=rounds)
    floor, replay = statistics.median(ops.floor_us), statistics.median(ops.sequence_us)
    print(f"{len(ops.minidl_ops)} ops, timed one by one: {floor:.1f} µs")
    print(f"  replayed back to back: {replay:.1f} µs ({replay / floor:.2f}×)")
    variants = {
        "minidl's step": lambda s: s.minidl_step,
        "straight-line Python": lambda s: straight_line_step(s, 32),
        "modular, no checks": lambda s: modular_step(s, 32),
        "minidl's classes, no checks": lambda s: unchecked_step(s, 32),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    with torch.inference_mode():
        steps = {}
        for name, make in variants.items():
            setup = new_setup()
            steps[name] = steps_sample(make(setup), setup.full_batches(), 666)
        for _ in range(rounds):
            for name, us in zip(steps, interleaved_medians(list(steps.values())), strict=True):
                times[name].append(us)
    for name, values in times.items():
        us = statistics.median(values)
        print(f"  {name}: {us:.1f} µs ({us / floor:.2f}×)")


if __name__ == "__main__":
    main()
