"""pancake.testing.optimizers: check_optimizer passes correct optimizers for any settings,
and catches a catalogue of buggy ones with the right hint."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pancake.optim import SGD, Adam, AdamW, clip_grad_norm
from pancake.testing import check_optimizer
from pancake.testing.optimizers import PARAMETER_SHAPES

pytestmark = pytest.mark.ex06

# -- check_optimizer passes correct optimizers... ---------------------------------------------


@pytest.mark.parametrize(
    ("optimizer_cls", "settings"),
    [
        (SGD, {}),
        (SGD, dict(momentum=0.9, dampening=0.3, weight_decay=0.05)),
        (SGD, dict(momentum=0.9, nesterov=True, weight_decay=0.05)),
        (Adam, {}),
        (Adam, dict(weight_decay=0.1, betas=(0.8, 0.99))),
        (Adam, dict(weight_decay=0.1, decoupled_weight_decay=True)),
        (AdamW, {}),
        (AdamW, dict(lr=0.05, weight_decay=0.5)),
    ],
    ids=str,
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_check_optimizer_passes_the_reference_optimizers(optimizer_cls, settings, dtype):
    report = check_optimizer(optimizer_cls, dtype=dtype, **settings)
    text = str(report)
    assert f"optimizer check of {optimizer_cls.__name__}(" in text and ": OK" in text
    assert all(str(shape) in text for shape in PARAMETER_SHAPES)


unit = st.floats(0.0, 0.99)


@given(
    lr=st.floats(1e-4, 1.0),
    momentum=unit,
    dampening=unit,
    nesterov=st.booleans(),
    weight_decay=st.floats(0.0, 0.5),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 1000),
)
@settings(max_examples=25, deadline=None)
def test_check_optimizer_passes_sgd_for_any_hyperparameters(
    lr, momentum, dampening, nesterov, weight_decay, dtype, seed
):
    if nesterov:
        momentum, dampening = max(momentum, 0.1), 0.0
    check_optimizer(
        SGD,
        lr=lr,
        momentum=momentum,
        dampening=dampening,
        nesterov=nesterov,
        weight_decay=weight_decay,
        dtype=dtype,
        seed=seed,
    )


@given(
    optimizer_cls=st.sampled_from([Adam, AdamW]),
    lr=st.floats(1e-4, 0.5),
    betas=st.tuples(unit, st.floats(0.0, 0.999)),
    eps=st.floats(1e-10, 1e-3),
    weight_decay=st.floats(0.0, 0.5),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 1000),
)
@settings(max_examples=25, deadline=None)
def test_check_optimizer_passes_adam_for_any_hyperparameters(
    optimizer_cls, lr, betas, eps, weight_decay, dtype, seed
):
    check_optimizer(
        optimizer_cls,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        dtype=dtype,
        seed=seed,
    )


def test_check_optimizer_rejects_unknown_hyperparameters_and_algorithms():
    with pytest.raises(TypeError, match="betas"):
        check_optimizer(SGD, betas=(0.9, 0.9))
    with pytest.raises(ValueError, match="no reference"):
        check_optimizer(clip_grad_norm)


# -- ...and catches buggy ones with the right hint ---------------------------------------------


class SGDBufferStartsAtZero(SGD):
    def step(self):
        for param, state in self.params_with_grad():
            buffer = state.get("momentum_buffer", np.zeros_like(param.data))
            buffer = self.momentum * buffer + (1 - self.dampening) * param.grad
            state["momentum_buffer"] = buffer
            param.data -= self.lr * buffer


class SGDWithoutNesterov(SGD):
    def step(self):
        nesterov, self.nesterov = self.nesterov, False
        super().step()
        self.nesterov = nesterov


class SGDDecayAfterMomentum(SGD):
    def step(self):
        for param, state in self.params_with_grad():
            if "momentum_buffer" in state:
                buffer = self.momentum * state["momentum_buffer"] + param.grad
            else:
                buffer = param.grad.copy()
            state["momentum_buffer"] = buffer
            param.data -= self.lr * (buffer + self.weight_decay * param.data)


class SGDAscent(SGD):
    def step(self):
        for param, _ in self.params_with_grad():
            param.data += self.lr * param.grad


class SGDNotInPlace(SGD):
    def step(self):
        for param, _ in self.params_with_grad():
            param.data = param.data - self.lr * param.grad


class SGDChangesTheGradient(SGD):
    def step(self):
        for param, _ in self.params_with_grad():
            param.grad += self.weight_decay * param.data
            param.data -= self.lr * param.grad


class SGDForgetsTheBuffer(SGD):
    def step(self):
        for param, _ in self.params_with_grad():
            param.data -= self.lr * param.grad


class AdamWithoutBiasCorrection(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad**2
            param.data -= self.lr * m / (np.sqrt(v) + self.eps)


class AdamEpsInsideSqrt(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state["t"] = state.get("t", 0) + 1
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad**2
            param.data -= self.lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + self.eps)


class AdamSharedStepCount(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            self.t = getattr(self, "t", 0) + 1
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad**2
            m_hat, v_hat = m / (1 - beta1**self.t), v / (1 - beta2**self.t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamStepCountFromZero(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state.setdefault("t", 0)
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad**2
            with np.errstate(divide="ignore", invalid="ignore"):
                param.data -= (
                    self.lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + self.eps)
                )
            state["t"] += 1


class AdamForgetsItsMoments(Adam):
    def step(self):
        for _, state in self.params_with_grad():
            state.clear()
        super().step()


class AdamWAsL2(AdamW):
    def step(self):
        self.decoupled_weight_decay = False
        super().step()


class SGDNesterovOnTheOldBuffer(SGD):
    """Looks ahead with last step's buffer, then updates it."""

    def step(self):
        for param, state in self.params_with_grad():
            old = state.get("momentum_buffer", param.grad.copy())
            state["momentum_buffer"] = (
                self.momentum * old + param.grad if "momentum_buffer" in state else old
            )
            param.data -= self.lr * (param.grad + self.momentum * old)


class DoesNothing(SGD):
    def step(self):
        pass


class SGDBufferIsTheGradient(SGD):
    """buffer = grad, no copy: the next gradient overwrites the buffer."""

    def step(self):
        for param, state in self.params_with_grad():
            if "momentum_buffer" in state:
                buffer = self.momentum * state["momentum_buffer"] + param.grad
            else:
                buffer = param.grad
            state["momentum_buffer"] = buffer
            param.data -= self.lr * buffer


class AdamWDecayInTheGradientAndAfterTheStep(AdamW):
    """The decay added to the gradient (if, not elif), and the decoupled one after the step."""

    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            grad = param.grad + self.weight_decay * param.data
            if not state:
                state.update(step=0, m=np.zeros_like(param.data), v=np.zeros_like(param.data))
            state["step"] += 1
            state["m"] = beta1 * state["m"] + (1 - beta1) * grad
            state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
            m_hat = state["m"] / (1 - beta1 ** state["step"])
            v_hat = state["v"] / (1 - beta2 ** state["step"])
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
            param.data *= 1 - self.lr * self.weight_decay


@pytest.mark.parametrize(
    ("buggy_cls", "settings", "hint"),
    [
        (
            SGDBufferStartsAtZero,
            dict(algorithm="sgd", momentum=0.9, dampening=0.5),
            "as if it started at zero",
        ),
        (
            SGDWithoutNesterov,
            dict(algorithm="sgd", momentum=0.9, nesterov=True),
            "Nesterov is missing",
        ),
        (
            SGDNesterovOnTheOldBuffer,
            dict(algorithm="sgd", momentum=0.9, nesterov=True),
            "with the old buffer",
        ),
        (
            SGDDecayAfterMomentum,
            dict(algorithm="sgd", momentum=0.9, weight_decay=0.1),
            "after the momentum",
        ),
        (SGDAscent, dict(algorithm="sgd"), "move up the gradient"),
        (SGDNotInPlace, dict(algorithm="sgd"), "in place"),
        (SGDChangesTheGradient, dict(algorithm="sgd", weight_decay=0.1), "changed param.grad"),
        (SGDForgetsTheBuffer, dict(algorithm="sgd", momentum=0.9), "momentum is not used"),
        (AdamWithoutBiasCorrection, dict(algorithm="adam"), "bias correction missing"),
        (AdamEpsInsideSqrt, dict(algorithm="adam"), "inside the square root"),
        (AdamSharedStepCount, dict(algorithm="adam"), "once per parameter"),
        (AdamStepCountFromZero, dict(algorithm="adam"), "non-finite"),
        (AdamForgetsItsMoments, dict(algorithm="adam"), "kept between steps"),
        (AdamWAsL2, dict(algorithm="adamw", weight_decay=0.1), "must be decoupled"),
        (DoesNothing, dict(algorithm="sgd"), "did not change the parameters"),
        (SGDBufferIsTheGradient, dict(algorithm="sgd", momentum=0.9), "is param.grad itself"),
        (
            AdamWDecayInTheGradientAndAfterTheStep,
            dict(algorithm="adamw", weight_decay=0.1),
            "and the decoupled decay applied after",
        ),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_check_optimizer_catches_buggy_optimizers_with_a_hint(buggy_cls, settings, hint):
    with pytest.raises(AssertionError, match=hint) as failure:
        check_optimizer(buggy_cls, **settings)
    message = str(failure.value)
    assert "step" in message and "parameter" in message


def test_check_optimizer_failure_names_step_parameter_and_difference():
    with pytest.raises(AssertionError) as failure:
        check_optimizer(AdamWithoutBiasCorrection, algorithm="adam")
    message = str(failure.value)
    assert "differs from PyTorch's Adam at step 1, parameter 0 of shape (3, 4)" in message
    assert "max abs difference" in message and "expected" in message and "got" in message
