"""Element-wise activations, written with vectorised arithmetic into reused buffers.

ReLU, Tanh, Sigmoid and LeakyReLU (with a slope in [0, 1]) keep only their
output, which their backward needs; ELU and GELU compute their derivative
in forward and keep that.
Inside a ``Sequential`` an activation that follows a layer whose output is
free (a ``Linear``) runs in place on that output: ReLU and Tanh cost 1 op
forward and 2 backward, Sigmoid 1 and 3, LeakyReLU 2 and 3; ReLU, Tanh,
Sigmoid and LeakyReLU then write their input gradient over that output
(Sigmoid uses the gradient it is handed, the next ``Linear``'s scratch, as
its workspace; LeakyReLU's forward temporary lives in the chain's shared
buffer), so none of them holds a buffer of its own there.
"""

from __future__ import annotations

import math

import torch

from minidl.errors import ShapeError
from minidl.module import Module
from minidl.scratch import scratch, shared


class _Activation(Module):
    """What every element-wise activation shares: running in place, and its buffers."""

    computes_in_place = True

    def __init__(self) -> None:
        super().__init__()
        self._shared_scratch: dict[tuple[int, ...], torch.Tensor] | None = None

    def use_shared_scratch(self, pool: dict[tuple[int, ...], torch.Tensor] | None) -> None:
        self._shared_scratch = pool

    def _work(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """A buffer shaped like ``x``: this shape's scratch in training, fresh in eval."""
        return self._buffer(name, x) if self.training else torch.empty_like(x)

    def _temporary(self, x: torch.Tensor) -> torch.Tensor:
        """Like ``_work``, for the one value of a forward that is dead when it returns:
        inside a ``Sequential``, the buffer of this shape that the chain shares."""
        pool = self._shared_scratch
        if pool is None or not self.training:
            return self._work("temporary", x)
        return shared(pool, x.shape, x)


class _Elementwise(_Activation):
    """Shared recipe: forward saves the output; backward checks it exists and fits."""

    def __init__(self) -> None:
        super().__init__()
        self._saved: torch.Tensor | None = None
        self._grad_input: torch.Tensor | None = None
        self._checked: tuple[torch.Tensor, torch.Tensor] | None = None
        # the output and gradient tensors the last in-place backward checked: in a training
        # loop the same two scratch buffers at every step (None: none checked yet)
        self._spent_output: torch.Tensor | None = None
        self._spent_grad: torch.Tensor | None = None

    def _save(self, out: torch.Tensor) -> torch.Tensor:
        self._saved = out
        return out

    def _saved_and_buffer(self, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The saved output and the scratch buffer for the input gradient.

        Shapes are checked once per (output, gradient) pair of tensors: in a
        training loop both are the same scratch buffers at every step.
        """
        saved = self._saved
        checked = self._checked
        if checked is not None and checked[0] is saved and checked[1] is grad_output:
            return saved, self._grad_input
        saved = _saved_input(self, saved, grad_output, _SPENT_OUTPUT)
        buffer = self._grad_input = self._buffer("grad_input", grad_output)
        self._checked = (saved, grad_output)
        return saved, buffer

    def _spend_saved(self, grad_output: torch.Tensor) -> torch.Tensor:
        """The saved output, checked against ``grad_output`` and forgotten: the
        caller overwrites it with the input gradient, so a second backward
        must run forward first (as PyTorch frees its graph after backward)."""
        saved = self._saved
        if saved is self._spent_output and grad_output is self._spent_grad:
            self._saved = None  # the same two buffers as at the last step: shapes fit
            return saved  # (a spent output is None, which never matches a checked one)
        saved = _saved_input(self, saved, grad_output, _SPENT_OUTPUT)
        self._saved = self._checked = None
        self._spent_output, self._spent_grad = saved, grad_output
        return saved

    def _on_moved(self) -> None:
        super()._on_moved()
        self._saved = self._grad_input = self._checked = None
        self._spent_output = self._spent_grad = None


class ReLU(_Elementwise):
    """max(0, x). Backward passes the gradient where the output is positive.

    The mask is sign(output), which is exactly 0 or 1 since output >= 0.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(torch.relu(x))

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        self._saved = out = x.relu_()
        return out

    backward_overwrites_output = True

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out, buffer = self._saved_and_buffer(grad_output)
        return torch.sign(out, out=buffer).mul_(grad_output)

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        saved = self._saved
        if saved is self._spent_output and grad_output is self._spent_grad:
            self._saved = None  # the buffers of the last step: checked then (_spend_saved inlined)
            return saved.sign_().mul_(grad_output)
        return self._spend_saved(grad_output).sign_().mul_(grad_output)


class Tanh(_Elementwise):
    """tanh(x); d/dx = 1 - tanh(x)², computed from the saved output.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(torch.tanh(x))

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(x.tanh_())

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out, buffer = self._saved_and_buffer(grad_output)
        # (1 − y·y)·g; addcmul rounds 1 − y·y once, as autograd's kernel does, which
        # matters where |y| is near 1 (1 − y*y in two ops loses up to 1e-9 there)
        torch.addcmul(self._constant("one", 1.0, out), out, out, value=-1, out=buffer)
        return buffer.mul_(grad_output)

    backward_overwrites_output = True

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        out = self._spend_saved(grad_output)
        torch.addcmul(self._constant("one", 1.0, out), out, out, value=-1, out=out)
        return out.mul_(grad_output)


class Sigmoid(_Elementwise):
    """1 / (1 + e⁻ˣ), computed without overflow for large |x| (torch.sigmoid).

    d/dx = σ(x)(1 - σ(x)), computed from the saved output.

    Shape: (*) -> (*)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(torch.sigmoid(x))

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(x.sigmoid_())

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out, buffer = self._saved_and_buffer(grad_output)
        # (1 − σ)·σ·g: 1 − σ is exact where σ is near 1, unlike σ − σ²
        torch.sub(self._constant("one", 1.0, out), out, out=buffer)
        return buffer.mul_(out).mul_(grad_output)

    backward_overwrites_output = True
    backward_overwrites_grad_output = True  # σ and 1 − σ are both needed: g holds g·σ

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        out = self._spend_saved(grad_output)
        grad_output.mul_(out)  # g·σ, in the next layer's scratch input gradient
        torch.sub(self._constant("one", 1.0, out), out, out=out)  # 1 − σ, exact near σ = 1
        return out.mul_(grad_output)


class _SavesDerivative(_Activation):
    """Shared recipe of activations whose derivative needs the input, not only the output.

    Forward computes the output and dy/dx together (they share intermediate
    values) and keeps only dy/dx; backward is one product. Everything is
    written with vectorised arithmetic into per-shape buffers: ``torch.where``
    and boolean masks run several times slower than arithmetic on this CPU
    build, and fresh tensors cost an allocation each. Inside a ``Sequential``
    after a ``Linear``, forward runs in place on its output and backward
    writes the input gradient over the saved derivative.

    In eval mode the output and the derivative are fresh tensors: an
    evaluation never writes into the buffers training reuses (backward, as
    for every module, follows the last forward).
    """

    frees_output = True  # backward reads the saved derivative, never the output
    backward_overwrites_saved = True  # backward_in_place: the gradient over the derivative

    def __init__(self) -> None:
        super().__init__()
        self._derivative: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._work("out", x)
        self._derivative = self._evaluate(x, out)
        return out

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        self._derivative = self._evaluate(x, x)
        return x

    def _evaluate(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Write the output into ``out`` and return dy/dx (a buffer from ``_work``).

        ``out`` may be ``x`` itself: read everything needed of ``x`` first.
        """
        raise NotImplementedError

    def _checked_derivative(self, grad_output: torch.Tensor) -> torch.Tensor:
        return _saved_input(
            self,
            self._derivative,
            grad_output,
            "backward called before forward, or twice after one forward (the input "
            "gradient overwrote the saved derivative); run forward again",
        )

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        derivative = self._checked_derivative(grad_output)
        return torch.mul(grad_output, derivative, out=self._buffer("grad_input", grad_output))

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        derivative = self._checked_derivative(grad_output)
        self._derivative = None  # spent: it now holds the input gradient
        return derivative.mul_(grad_output)

    def _on_moved(self) -> None:
        super()._on_moved()
        self._derivative = None


class LeakyReLU(_Elementwise):
    """x where x > 0, else negative_slope·x; d/dx is 1 or negative_slope (x = 0: the slope,
    as autograd).

    With a slope in [0, 1] (the usual ones) the output is max(x, slope·x), of
    the input's sign, so the layer keeps only its output, as ReLU does:
    backward reads the derivative off its sign (max(sign(y), slope) is
    exactly 1 or the slope). Another slope keeps the derivative forward
    computes: below 0 the output's sign no longer tells the input's side.

    Shape: (*) -> (*)
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)
        self._usual = 0 <= self.negative_slope <= 1
        self._derivative: torch.Tensor | None = None  # other slopes only

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(self._evaluate(x, self._work("out", x)))

    def forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        return self._save(self._evaluate(x, x))

    def _evaluate(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The output into ``out`` (which may be ``x``); x·s is the product torch's kernel makes."""
        slope = self._constant("slope", self.negative_slope, x)
        if self._usual:  # x or s·x, the larger
            return torch.maximum(x, torch.mul(x, slope, out=self._temporary(x)), out=out)
        # m + (1 − m)·s with m = [x > 0] = sign(relu(x)) (NaN: 0), 1 − m exactly 0 or 1
        zero, one = self._constant("zero", 0.0, x), self._constant("one", 1.0, x)
        mask = torch.clamp_min(x, zero, out=self._work("derivative", x)).sign_()
        rest = torch.sub(one, mask, out=self._temporary(x))
        self._derivative = torch.addcmul(mask, rest, slope, out=mask)
        return torch.mul(x, self._derivative, out=out)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        out, buffer = self._saved_and_buffer(grad_output)
        if self._usual:
            slope = self._constant("slope", self.negative_slope, out)
            return torch.sign(out, out=buffer).clamp_min_(slope).mul_(grad_output)
        return torch.mul(self._derivative, grad_output, out=buffer)  # type: ignore[arg-type]

    backward_overwrites_output = True

    def backward_in_place(self, grad_output: torch.Tensor) -> torch.Tensor:
        out = self._spend_saved(grad_output)
        if self._usual:
            slope = self._constant("slope", self.negative_slope, out)
            return out.sign_().clamp_min_(slope).mul_(grad_output)
        # spent with the output: a second backward needs a new forward
        return self._derivative.mul_(grad_output)  # type: ignore[union-attr]

    def _on_moved(self) -> None:
        super()._on_moved()
        self._derivative = None

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_SavesDerivative):
    """x where x > 0, else α(eˣ − 1); d/dx = 1 or α·eˣ (x = 0: α, as autograd).

    Shape: (*) -> (*)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def _evaluate(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        alpha, zero = self._constant("alpha", self.alpha, x), self._constant("zero", 0.0, x)
        usual = 0 <= self.alpha <= 1  # then max(α·eˣ, [x > 0]) is the derivative
        negative = torch.clamp_max(x, zero, out=self._temporary(x))
        # as autograd: α·exp(x) for the derivative (exact where x is very negative) and
        # α·expm1(x) for the output (exact near 0); exp gives 1 and expm1 0 where x > 0
        derivative = torch.exp(negative, out=self._work("derivative", x))
        if not usual:  # 1 where x > 0, read before x may be overwritten
            mask = torch.clamp_min(x, zero, out=self._work("mask", x)).sign_()
        negative.expm1_()
        torch.clamp_min(x, zero, out=out).addcmul_(negative, alpha)  # one term is 0
        derivative.mul_(alpha)
        if usual:  # the output is positive exactly where x > 0: the mask from it
            mask = torch.clamp_min(out, zero, out=negative).sign_()
            return torch.maximum(derivative, mask, out=derivative)  # max(α, 1) = 1
        rest = torch.sub(self._constant("one", 1.0, x), mask, out=negative)  # 1 where x <= 0
        return derivative.mul_(rest).add_(mask)  # exactly 1 where x > 0

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(_SavesDerivative):
    """x·Φ(x), exact (erf) by default, or the tanh approximation with approximate="tanh".

    Derivative: Φ(x) + x·φ(x) for the exact form; for the tanh form, with
    t = tanh(√(2/π)(x + 0.044715x³)), ½(1 + t) + ½√(2/π)·x(1 − t²)(1 + 3·0.044715x²).

    Shape: (*) -> (*)
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _evaluate(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if self.approximate == "tanh":
            return self._evaluate_tanh(x, out)
        c = self._constant
        # 1 + erf(x/√2) = 2Φ(x); the ½ goes into the two products that use it
        twice_cdf = torch.mul(x, c("1/sqrt2", 1 / math.sqrt(2), x), out=self._temporary(x))
        twice_cdf.erf_().add_(c("one", 1.0, x))
        # φ(x) = exp(−x²/2 − ln√(2π)): the constant factor folded into the exponent
        log_sqrt_2pi = c("-log(sqrt(2pi))", -0.5 * math.log(2 * math.pi), x)
        derivative = torch.addcmul(log_sqrt_2pi, x, x, value=-0.5, out=self._work("d", x))
        derivative.exp_().mul_(x).addcmul_(twice_cdf, c("half", 0.5, x))  # x·φ(x) + Φ(x)
        # x·½·(1 + erf(x/√2)), the products in torch's order
        torch.addcmul(c("zero", 0.0, x), x, twice_cdf, value=0.5, out=out)
        return derivative

    def _evaluate_tanh(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        c, k, cubic = self._constant, math.sqrt(2 / math.pi), 0.044715
        one = c("one", 1.0, x)
        square = torch.mul(x, x, out=self._temporary(x))
        t = torch.mul(square, c("cubic", cubic, x), out=self._work("t", x)).add_(one)
        t.mul_(x).mul_(c("k", k, x)).tanh_()  # t = tanh(k(x + 0.044715x³))
        half_one_plus_t = torch.add(t, one, out=self._work("h", x)).mul_(c("half", 0.5, x))
        square.mul_(c("3cubic", 3 * cubic, x)).add_(one)  # 1 + 3·0.044715x²
        # ½k·x(1 − t²)(1 + 3·0.044715x²) + ½(1 + t); 1 − t² in one rounding, as Tanh does
        derivative = torch.addcmul(one, t, t, value=-1, out=t)
        derivative.mul_(square).mul_(x).mul_(c("k/2", k / 2, x)).add_(half_one_plus_t)
        torch.mul(x, half_one_plus_t, out=out)
        return derivative

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """exp(x) / Σ exp(x) along ``dim`` (max-shifted, so it never overflows).

    Backward: y·(g − Σ g·y), the Jacobian-vector product without the Jacobian.

    Shape: (*) -> (*)
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim
        self._output: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:  # this shape's scratch buffers, as every minidl layer's outputs
            out = self._buffer("out", x)
            peak = scratch(self._scratch, "peak", _reduced(x, self.dim), x)
        else:
            out, peak = torch.empty_like(x), None
        peak = torch.amax(x, dim=self.dim, keepdim=True, out=peak)
        torch.sub(x, peak, out=out).exp_()  # shifted by the maximum: exp never overflows
        total = torch.sum(out, dim=self.dim, keepdim=True, out=peak)
        self._output = out.div_(total)
        return out

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        y = _saved_input(self, self._output, grad_output)
        grad_input = torch.mul(grad_output, y, out=self._buffer("grad_input", grad_output))
        weighted = scratch(self._scratch, "weighted", _reduced(grad_output, self.dim), y)
        torch.sum(grad_input, dim=self.dim, keepdim=True, out=weighted)  # Σ g·y
        return torch.sub(grad_output, weighted, out=grad_input).mul_(y)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _reduced(x: torch.Tensor, dim: int) -> torch.Size:
    """The shape of ``x`` reduced along ``dim`` with keepdim (one value per slice)."""
    shape = list(x.shape)
    shape[dim] = 1
    return torch.Size(shape)


_SPENT_OUTPUT = (
    "backward called before forward, or twice after one forward (its saved output was "
    "overwritten in place); run forward again"
)


def _saved_input(
    module: Module,
    saved: torch.Tensor | None,
    grad_output: torch.Tensor,
    missing: str = "backward called before forward",
) -> torch.Tensor:
    """``saved`` (what forward kept for backward), checked to exist and to fit
    ``grad_output``; ``missing`` says why it may be gone."""
    if saved is None:
        raise RuntimeError(f"{module.describe()}: {missing}")
    if saved.shape != grad_output.shape:
        raise ShapeError(
            f"{module.describe()}: grad_output {tuple(grad_output.shape)} does not match "
            f"the forward shape {tuple(saved.shape)}"
        )
    return saved
