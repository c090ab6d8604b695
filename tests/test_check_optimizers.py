"""pancake.testing.optimizers: check_optimizer passes correct optimizers on every recorded
case, catches a catalogue of buggy ones with the right hint, and its recorded steps are
those of the reference functions (pancake.course.optimizer_trajectories)."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest

from pancake.course import optimizer_trajectories as trajectories
from pancake.optim import SGD, Adam, AdamW, clip_grad_norm
from pancake.testing import check_optimizer, recorded_settings
from pancake.testing.optimizers import ALGORITHMS, PARAMETER_SHAPES, _optimizer_hint, recorded_case
from pancake.testing.optimizers import recorded as recorded_data_shipped


def recorded_cases() -> list[str]:
    return list(recorded_data_shipped()["cases"])


pytestmark = pytest.mark.ex06

# -- check_optimizer passes correct optimizers... ---------------------------------------------

CLASSES = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
RECORDED_CASES = sorted(recorded_cases())


@pytest.mark.parametrize("key", RECORDED_CASES)
def test_check_optimizer_passes_the_reference_optimizers_on_every_recorded_case(key):
    """The graded suites, the visible checks', the book's and the test suite's: random
    hyperparameters over wide ranges, float64 and float32."""
    algorithm, hyperparameters, seed, dtype = json.loads(key)
    fixed = ALGORITHMS[algorithm].get("fixed", {})
    settings = {name: value for name, value in hyperparameters.items() if name not in fixed}
    if "betas" in settings:
        settings["betas"] = tuple(settings["betas"])
    optimizer_cls = CLASSES[algorithm]
    text = str(check_optimizer(optimizer_cls, seed=seed, dtype=dtype, **settings))
    assert f"optimizer check of {optimizer_cls.__name__}(" in text and ": OK" in text
    assert all(str(shape) in text for shape in PARAMETER_SHAPES)


def test_the_graded_suites_draw_from_recorded_cases():
    for suite in ("sgd-plain", "sgd-momentum", "adam-betas", "adam-decoupled"):
        settings = recorded_settings(suite)
        assert len(settings) == 8 and len({str(s) for s in settings}) == 8
        optimizer_cls = SGD if suite.startswith("sgd") else Adam
        for one in settings:
            check_optimizer(optimizer_cls, **one)


# Found by hypothesis (test_check_optimizer_passes_adam_for_any_hyperparameters, now gone):
# the free-running comparison failed these correct runs; step by step, they pass.
COMPOUNDING = [
    (
        dict(
            lr=0.36964513762751827,
            betas=(0.9280549256921652, 0.0009383101253724491),
            eps=0.00011472134580372696,
            weight_decay=0.4924946220486089,
        ),
        542,
    ),
    (
        dict(
            lr=0.4213468379114964,
            betas=(0.33261056071543804, 4.80202799978402e-06),
            eps=3.0804677466312713e-09,
            weight_decay=0.35793907495422833,
        ),
        68,
    ),
]


@pytest.mark.parametrize(("settings", "seed"), COMPOUNDING, ids=str)
def test_a_correct_adam_passes_where_errors_compounded_along_a_trajectory(settings, seed):
    """beta2 near 0, large weight decay and lr, in float32: compared along a free-running
    trajectory, the rounding errors of a correct Adam compounded beyond the tolerance."""
    check_optimizer(Adam, dtype=np.float32, seed=seed, **settings)


def test_check_optimizer_rejects_unknown_hyperparameters_algorithms_and_unrecorded_settings():
    with pytest.raises(TypeError, match="betas"):
        check_optimizer(SGD, betas=(0.9, 0.9))
    with pytest.raises(ValueError, match="no reference"):
        check_optimizer(clip_grad_norm)
    with pytest.raises(ValueError, match="no recorded steps of SGD"):
        check_optimizer(SGD, lr=0.123)
    with pytest.raises(ValueError, match="no recorded suite"):
        recorded_settings("sgd-everything")


def test_the_recorded_steps_are_up_to_date():
    """Recorded again from the reference functions, the steps, hints and suites are those
    shipped in pancake/testing/optimizer_trajectories.py (else: run `make exercises`)."""
    fresh, shipped = trajectories.recorded_data(), recorded_data_shipped()
    assert fresh["suites"] == shipped["suites"]
    assert fresh["cases"].keys() == shipped["cases"].keys()
    for key, case in fresh["cases"].items():
        recorded = shipped["cases"][key]
        assert [(m["hint"], m["step"]) for m in case["mistakes"]] == [
            (m["hint"], m["step"]) for m in recorded["mistakes"]
        ], key
        for field in ("thetas", "grads", "expected"):
            np.testing.assert_allclose(case[field], recorded[field], rtol=1e-12, atol=1e-300)
        for mistake, shipped_mistake in zip(case["mistakes"], recorded["mistakes"], strict=True):
            np.testing.assert_allclose(
                mistake["params"], shipped_mistake["params"], rtol=1e-12, atol=1e-300
            )


@pytest.mark.slow
def test_the_staleness_test_can_fail(monkeypatch):
    """A reference with one more mistake, or a changed step, makes the shipped data stale."""
    monkeypatch.setattr(trajectories, "NAMED_CASES", [*trajectories.NAMED_CASES[:-1]])
    with pytest.raises(AssertionError):
        test_the_recorded_steps_are_up_to_date()
    monkeypatch.undo()
    original = trajectories.UPDATES["sgd"]
    monkeypatch.setitem(
        trajectories.UPDATES,
        "sgd",
        lambda theta, grad, state, t, **hp: original(theta, grad * (1 + 1e-9), state, t, **hp),
    )
    with pytest.raises(AssertionError):
        test_the_recorded_steps_are_up_to_date()


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


class SGDStepsWithTheRawGradient(SGD):
    """Computes the decayed gradient and the buffer, then steps with param.grad."""

    def step(self):
        for param, state in self.params_with_grad():
            grad = param.grad + self.weight_decay * param.data
            buffer = state["momentum_buffer"] = (
                self.momentum * state.get("momentum_buffer", 0) + grad
            )
            param.data -= self.lr * param.grad
            del buffer


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


class AdamSecondMomentOfGrad(Adam):
    """v averages grad, not grad²: its square root is nan wherever v < 0."""

    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state["t"] = state.get("t", 0) + 1
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad
            with np.errstate(invalid="ignore"):
                param.data -= (
                    self.lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + self.eps)
                )


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


class SGDDecayOfTheGradient(SGD):
    """weight_decay * grad added to the gradient, where weight_decay * param belongs."""

    def step(self):
        for param, _ in self.params_with_grad():
            param.data -= self.lr * (param.grad + self.weight_decay * param.grad)


class SGDLearningRateTwice(SGD):
    """b = momentum * b + lr * grad, then param -= lr * b: lr applied twice."""

    def step(self):
        lr = self.lr
        for param, state in self.params_with_grad():
            if "momentum_buffer" in state:
                buffer = self.momentum * state["momentum_buffer"] + lr * param.grad
            else:
                buffer = lr * param.grad
            state["momentum_buffer"] = buffer
            param.data -= lr * buffer


class AdamSecondMomentCorrectedWithBeta1(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state["t"] = state.get("t", 0) + 1
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad**2
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta1**t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamCorrectionOutsideTheSquareRoot(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state["t"] = state.get("t", 0) + 1
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad**2
            denominator = np.sqrt(v) / (1 - beta2**t) + self.eps
            param.data -= self.lr * m / (1 - beta1**t) / denominator


# Mistakes outside the recorded ones, narrowed down by running the optimizer again on
# variations of the problem.


def sgd_step(optimizer, decay=1.0, dampened=True, nesterov_swapped=False, lr=1.0):
    """SGD's step, with a mistake: weight decay times ``decay``, no dampening, Nesterov's
    b + momentum * g, or lr times ``lr``."""
    for param, state in optimizer.params_with_grad():
        grad = param.grad + decay * optimizer.weight_decay * param.data
        if optimizer.momentum != 0:
            if "momentum_buffer" not in state:
                buffer = grad.copy()
            else:
                damping = 1 - optimizer.dampening if dampened else 1.0
                buffer = optimizer.momentum * state["momentum_buffer"] + damping * grad
            state["momentum_buffer"] = buffer
            if optimizer.nesterov and nesterov_swapped:
                grad = buffer + optimizer.momentum * grad
            elif optimizer.nesterov:
                grad = grad + optimizer.momentum * buffer
            else:
                grad = buffer
        param.data -= lr * optimizer.lr * grad


class SGDWeightDecayTwice(SGD):
    def step(self):
        sgd_step(self, decay=2.0)


class SGDWithoutDampening(SGD):
    def step(self):
        sgd_step(self, dampened=False)


class SGDNesterovSwapped(SGD):
    def step(self):
        sgd_step(self, nesterov_swapped=True)


class SGDHalfTheLearningRate(SGD):
    def step(self):
        sgd_step(self, lr=0.5)


class SGDUpdateInTheMomentumBranch(SGD):
    def step(self):
        for param, state in self.params_with_grad():
            if self.momentum != 0:
                buffer = state.get("momentum_buffer")
                buffer = (
                    param.grad.copy() if buffer is None else self.momentum * buffer + param.grad
                )
                state["momentum_buffer"] = buffer
                param.data -= self.lr * buffer


class SGDOneBufferForAll(SGD):
    def step(self):
        for param, _ in self.params_with_grad():
            if not hasattr(self, "buffer"):
                self.buffer = param.grad.copy()
            else:
                self.buffer = self.momentum * self.buffer + param.grad
            param.data -= self.lr * self.buffer


def adam_step(
    optimizer,
    betas=None,
    decay_without_param=False,
    first_moments=None,
    decay=True,
    first_of_square=False,
    along_the_gradient=False,
):
    """Adam's step, with a mistake: other betas, decoupled decay lr * weight_decay (the
    parameter forgotten) or none (``decay``), moments that start at ``first_moments(grad)``,
    a first moment of grad², or a step along grad instead of m̂."""
    beta1, beta2 = optimizer.betas if betas is None else betas
    for param, state in optimizer.params_with_grad():
        grad = param.grad
        if optimizer.decoupled_weight_decay and decay_without_param:
            param.data -= optimizer.lr * optimizer.weight_decay * decay
        elif optimizer.decoupled_weight_decay:
            param.data *= 1 - optimizer.lr * optimizer.weight_decay
        elif optimizer.weight_decay != 0:
            grad = grad + optimizer.weight_decay * param.data
        if not state:
            start = first_moments(grad) if first_moments else (0.0, 0.0)
            state.update(t=0, m=start[0], v=start[1])
        state["t"] += 1
        state["m"] = beta1 * state["m"] + (1 - beta1) * (grad * grad if first_of_square else grad)
        state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
        m_hat = grad if along_the_gradient else state["m"] / (1 - beta1 ** state["t"])
        v_hat = state["v"] / (1 - beta2 ** state["t"])
        param.data -= optimizer.lr * m_hat / (np.sqrt(v_hat) + optimizer.eps)


class AdamBetasSwapped(Adam):
    def step(self):
        adam_step(self, betas=self.betas[::-1])


class AdamWDecayWithoutTheParameter(AdamW):
    def step(self):
        adam_step(self, decay_without_param=True)


class AdamMomentsStartAtTheGradient(Adam):
    def step(self):
        adam_step(self, first_moments=lambda grad: (grad, grad * grad))


class AdamSecondMomentOfTheFirst(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state["t"] = state.get("t", 0) + 1
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * m**2
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class SGDReturnsAfterTheFirstParameter(SGD):
    def step(self):
        for param, _ in self.params_with_grad():
            param.data -= self.lr * param.grad
            return


class AdamSecondMomentOfAbs(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state["t"] = state.get("t", 0) + 1
            m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * np.abs(param.grad)
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamWDecayFactorWithoutTheOne(AdamW):
    def step(self):
        for param, _ in self.params_with_grad():
            param.data *= self.lr * self.weight_decay  # where 1 - lr * weight_decay belongs
        adam_step(self, decay_without_param=True, decay=False)


class AdamFirstMomentOfTheSquare(Adam):
    def step(self):
        adam_step(self, first_of_square=True)


class AdamStepsAlongTheGradient(Adam):
    """lr·grad / (√v̂ + eps): m kept but unused; right at the first step only (m̂ = grad)."""

    def step(self):
        adam_step(self, along_the_gradient=True)


class AdamSecondMomentOfAbsKeptElsewhere(Adam):
    """The moments of |grad| kept in a dict of the optimizer's own, not in the state."""

    def step(self):
        beta1, beta2 = self.betas
        moments = self.__dict__.setdefault("moments", {})
        for param, _ in self.params_with_grad():
            t, m, v = moments.get(id(param), (0, 0.0, 0.0))
            t, m = t + 1, beta1 * m + (1 - beta1) * param.grad
            v = beta2 * v + (1 - beta2) * np.abs(param.grad)
            moments[id(param)] = t, m, v
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def adam_with_corrections(optimizer, correction1, correction2):
    """Adam's step with the bias corrections ``correction(beta, t)`` given."""
    beta1, beta2 = optimizer.betas
    for param, state in optimizer.params_with_grad():
        t = state["t"] = state.get("t", 0) + 1
        m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
        v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad**2
        m_hat, v_hat = m / correction1(beta1, t), v / correction2(beta2, t)
        param.data -= optimizer.lr * m_hat / (np.sqrt(v_hat) + optimizer.eps)


class AdamCorrectionToThePowerOutside(Adam):
    def step(self):
        adam_with_corrections(self, lambda b, t: 1 - b**t, lambda b, t: (1 - b) ** t)


class AdamStepCountStuckAtOne(Adam):
    def step(self):
        adam_with_corrections(self, lambda b, t: 1 - b, lambda b, t: 1 - b)


class AdamCorrectionTimesNotPower(Adam):
    def step(self):
        with np.errstate(invalid="ignore"):
            adam_with_corrections(self, lambda b, t: 1 - b**t, lambda b, t: 1 - b * t)


class AdamStepFromTheOldMoments(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state["t"] = state.get("t", 0) + 1
            m, v = state.get("m", 0.0), state.get("v", 0.0)
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            state["m"] = beta1 * m + (1 - beta1) * param.grad
            state["v"] = beta2 * v + (1 - beta2) * param.grad**2
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamNeverSteps(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * param.grad
            state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * param.grad**2


class AdamMomentsNeverStored(Adam):
    def step(self):
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            t = state["t"] = state.get("t", 0) + 1
            m = state.setdefault("m", np.zeros_like(param.data))
            v = state.setdefault("v", np.zeros_like(param.data))
            m = beta1 * m + (1 - beta1) * param.grad
            v = beta2 * v + (1 - beta2) * param.grad**2
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class SGDMomentumOverTheGradientToo(SGD):
    def step(self):
        for param, state in self.params_with_grad():
            if "momentum_buffer" in state:
                buffer = self.momentum * (state["momentum_buffer"] + param.grad)
            else:
                buffer = param.grad.copy()
            state["momentum_buffer"] = buffer
            param.data -= self.lr * buffer


class SGDDampingTheBuffer(SGD):
    def step(self):
        for param, state in self.params_with_grad():
            grad = param.grad + self.weight_decay * param.data
            if "momentum_buffer" in state:
                buffer = (1 - self.dampening) * state["momentum_buffer"] + self.momentum * grad
            else:
                buffer = grad.copy()
            state["momentum_buffer"] = buffer
            param.data -= self.lr * buffer


class SGDFirstBufferUpdatedToo(SGD):
    def step(self):
        for param, state in self.params_with_grad():
            grad = param.grad + self.weight_decay * param.data
            buffer = state.setdefault("momentum_buffer", grad.copy())
            buffer = self.momentum * buffer + (1 - self.dampening) * grad
            state["momentum_buffer"] = buffer
            param.data -= self.lr * buffer


class SGDNesterovWithTheFactorsSwapped(SGD):
    def step(self):
        for param, state in self.params_with_grad():
            if "momentum_buffer" in state:
                buffer = self.momentum * state["momentum_buffer"] + param.grad
            else:
                buffer = param.grad.copy()
            state["momentum_buffer"] = buffer
            param.data -= self.lr * (self.momentum * param.grad + buffer)


RECORDED_SGD_FLOAT32 = dict(  # a recorded setting in float32, with dampening and weight decay
    lr=0.3935664658230526,
    momentum=0.7144645617807112,
    dampening=0.342729903658612,
    weight_decay=0.028141131184675983,
    seed=988930829,
    dtype=np.float32,
)

NARROWED_DOWN = [
    (
        AdamMomentsNeverStored,
        dict(algorithm="adam"),
        "state['m'] and state['v'] are still all zero after 2 steps: the new moments are "
        "computed but never stored back",
    ),
    (
        AdamStepFromTheOldMoments,
        dict(algorithm="adam"),
        "step 1 did not change the parameters, though the moments it kept (state['m'], "
        "state['v']) are right and not zero: the step was computed from the moments before "
        "this step updated them",
    ),
    (  # the moments are right too, but no step ever moves the parameters
        AdamNeverSteps,
        dict(algorithm="adam"),
        "step() did not change the parameters: update param.data in place",
    ),
    (
        AdamCorrectionTimesNotPower,  # nan from step 2: the corrections still named
        dict(algorithm="adam"),
        "right, but v is divided by 1 - β·t, β times t (negative from t = 2 on",
    ),
    (
        SGDMomentumOverTheGradientToo,
        dict(momentum=0.9),
        "state['momentum_buffer'] after step 2 is a · buffer + b · grad with a = 0.9 (momentum) "
        "and b = 0.9 (momentum): it should be momentum · buffer + (1 - dampening) · grad, a = 0.9 "
        "and b = 1 (the momentum multiplies the old buffer only, not the gradient)",
    ),
    (
        SGDDampingTheBuffer,
        RECORDED_SGD_FLOAT32,
        "with a = 0.6573 (1 - dampening) and b = 0.7145 (momentum): it should be momentum · "
        "buffer + (1 - dampening) · grad, a = 0.7145 and b = 0.6573",
    ),
    (
        SGDFirstBufferUpdatedToo,
        RECORDED_SGD_FLOAT32,
        "state['momentum_buffer'] after step 1 is c · grad with c = 1.372: the buffer was set "
        "to grad and then updated with the rule in the same step; at the first step the "
        "buffer is grad itself",
    ),
    (
        SGDNesterovWithTheFactorsSwapped,
        dict(momentum=0.9, nesterov=True),
        "the momentum buffer kept in state['momentum_buffer'] is right after two steps: the "
        "step taken from it is wrong; with nesterov=True the step goes along grad + momentum "
        "* buffer",
    ),
    (
        AdamCorrectionToThePowerOutside,
        dict(algorithm="adam"),
        "right, but v is divided by (1 - β)**t, where 1 - β**t belongs",
    ),
    (
        AdamStepCountStuckAtOne,
        dict(algorithm="adam"),
        "right, but m and v are divided by 1 - β, as if t were 1 at every step",
    ),
    (AdamSecondMomentOfAbsKeptElsewhere, dict(algorithm="adam"), "your step grows like |grad|^0.5"),
    (
        AdamWDecayFactorWithoutTheOne,
        dict(algorithm="adamw", weight_decay=0.1),
        "yours multiplies θ by 0.0001 (lr·weight_decay: the 1 - is missing)",
    ),
    (
        AdamFirstMomentOfTheSquare,
        dict(algorithm="adam"),
        "state['m'] shows it: the first moment averages grad * grad",
    ),
    (
        AdamStepsAlongTheGradient,
        dict(algorithm="adam"),
        "the moments kept in the state are right after step 2 (state['m'] = m, state['v'] = v)",
    ),
    (AdamSecondMomentOfAbs, dict(algorithm="adam"), "the second moment averages |grad|"),
    (SGDReturnsAfterTheFirstParameter, dict(), "left parameters [1, 2] unchanged"),
    (SGDWeightDecayTwice, dict(weight_decay=0.1), "the weight decay line is wrong"),
    (SGDWithoutDampening, dict(momentum=0.9, dampening=0.1), "with dampening=0 your steps"),
    (SGDNesterovSwapped, dict(momentum=0.9, nesterov=True), "with nesterov=False your steps"),
    (SGDHalfTheLearningRate, dict(momentum=0.9), "about 0.5 times as large"),
    (SGDUpdateInTheMomentumBranch, dict(), "only in the momentum branch"),
    (SGDOneBufferForAll, dict(momentum=0.9), "the only one, but not when there are several"),
    (AdamBetasSwapped, dict(algorithm="adam"), "beta1 and beta2 are swapped"),
    (
        AdamWDecayWithoutTheParameter,
        dict(algorithm="adamw", weight_decay=0.1),
        "without weight decay your steps are right: the decoupled weight decay is wrong",
    ),
    (AdamMomentsStartAtTheGradient, dict(algorithm="adam"), "moments that start at zero"),
    (AdamSecondMomentOfTheFirst, dict(algorithm="adam"), "averages the squared first moment"),
]


@pytest.mark.parametrize(
    ("buggy_cls", "settings", "hint"), NARROWED_DOWN, ids=lambda v: getattr(v, "__name__", None)
)
def test_check_optimizer_narrows_down_mistakes_outside_the_recorded_ones(buggy_cls, settings, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_optimizer(buggy_cls, **{"algorithm": "sgd", **settings})


@pytest.mark.parametrize(
    ("buggy_cls", "settings", "hint"),
    [
        (
            SGDDecayOfTheGradient,
            dict(algorithm="sgd", weight_decay=0.1),
            "weight decay is weight_decay \\* grad",
        ),
        (SGDLearningRateTwice, dict(algorithm="sgd", momentum=0.9), "applied twice"),
        (AdamSecondMomentCorrectedWithBeta1, dict(algorithm="adam"), "corrected with beta1"),
        (AdamCorrectionOutsideTheSquareRoot, dict(algorithm="adam"), "outside the square root"),
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
        (
            SGDStepsWithTheRawGradient,
            dict(algorithm="sgd", momentum=0.9, weight_decay=0.1),
            r"momentum=0.9 and weight_decay=0.1 change nothing\): the momentum is not used",
        ),
        (AdamWithoutBiasCorrection, dict(algorithm="adam"), "bias correction missing"),
        (AdamEpsInsideSqrt, dict(algorithm="adam"), "inside the square root"),
        (AdamSharedStepCount, dict(algorithm="adam"), "once per parameter"),
        (AdamStepCountFromZero, dict(algorithm="adam"), "non-finite"),
        (AdamForgetsItsMoments, dict(algorithm="adam"), "kept between steps"),
        (AdamSecondMomentOfGrad, dict(algorithm="adam"), "the square root of a negative number"),
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


def coinciding_mistakes() -> tuple:
    """A recorded case with two mistakes that give the same parameters at the same step."""
    for key in recorded_data_shipped()["cases"]:
        case = recorded_case(key)
        for first, second in itertools.combinations(case.mistakes, 2):
            (_, step, params), (_, other_step, other_params) = first, second
            if step == other_step and all(
                case.problem.matches(step, i, a, b)
                for i, (a, b) in enumerate(zip(params, other_params, strict=True))
            ):
                return case, first, second
    raise AssertionError("no recorded case has two mistakes that coincide")


def test_two_mistakes_that_give_the_same_step_are_both_named():
    case, (hint, step, params), (other_hint, _, _) = coinciding_mistakes()
    named = _optimizer_hint(case, {step: params}, step, kept_grad=None, rerun=None)
    assert hint in named and other_hint in named
