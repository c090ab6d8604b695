"""Check an optimizer step for step against recorded steps of PyTorch's documented algorithms.

``check_optimizer`` holds no update rule. It compares the optimizer under test with
steps recorded in the instructor's repository from reference optimizers
(``pancake/testing/optimizer_trajectories.py``, written by ``make exercises``), by
**teacher forcing**: before each step it sets the parameters to the recorded ones and
the gradients to the recorded gradients, calls ``step()``, and compares the result with
the recorded next parameters. Every step is compared on its own, so rounding errors
never add up along a trajectory; the optimizer keeps its own state (buffers, moments).
Known mistakes were recorded too, at the step where they depart from the algorithm: they
name the likely mistake. It uses only documented behaviour: the constructor arguments,
``step()`` and ``zero_grad()``.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pancake.nn.module import Parameter
from pancake.testing.optimizer_trajectories import RECORDED
from pancake.testing.reports import PropertyReport

STEPS = 8
PARAMETER_SHAPES = ((3, 4), (5,), (2, 1, 3))

# The constructor's defaults of each algorithm; AdamW is Adam with a fixed setting.
ALGORITHMS: dict[str, dict[str, Any]] = {
    "sgd": {
        "name": "SGD",
        "defaults": {
            "lr": 0.1,
            "momentum": 0.0,
            "dampening": 0.0,
            "nesterov": False,
            "weight_decay": 0.0,
        },
    },
    "adam": {
        "name": "Adam",
        "defaults": {
            "lr": 1e-3,
            "betas": (0.9, 0.999),
            "eps": 1e-8,
            "weight_decay": 0.0,
            "decoupled_weight_decay": False,
        },
    },
    "adamw": {
        "name": "AdamW",
        "defaults": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2},
        "fixed": {"decoupled_weight_decay": True},
    },
}


# -- the recorded problems -------------------------------------------------------------------


def random_problem(seed: int, dtype) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Starting parameters (one per ``PARAMETER_SHAPES``) and gradients ``[step][param]``.

    Rounded to ``dtype`` and held in float64. Gradients span magnitudes 1e-5 to 10, so
    that eps and bias-correction mistakes show.
    """
    rng = np.random.default_rng(seed)
    thetas = [_rounded(rng.standard_normal(shape), dtype) for shape in PARAMETER_SHAPES]
    grads = [
        [_rounded(_random_gradient(rng, shape), dtype) for shape in PARAMETER_SHAPES]
        for _ in range(STEPS)
    ]
    return thetas, grads


def _rounded(values: np.ndarray, dtype) -> np.ndarray:
    """``values`` rounded to ``dtype``, held in float64."""
    return np.asarray(values).astype(dtype).astype(np.float64)


def _random_gradient(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal entries scaled by 10^U(-5, 1): small and large gradients in every tensor."""
    return rng.standard_normal(shape) * 10.0 ** rng.uniform(-5, 1, shape)


@dataclass
class Problem:
    """Starting parameters, gradients and the expected parameters after each step
    (``[step][param]``, float64), in a dtype (``"float64"`` or ``"float32"``)."""

    thetas: list[np.ndarray]
    grads: list[list[np.ndarray]]
    expected: list[list[np.ndarray]]
    dtype: str

    def rounded(self, params: list[np.ndarray]) -> list[np.ndarray]:
        """``params`` rounded to the problem's dtype, held in float64."""
        return [_rounded(param, self.dtype) for param in params]

    def before(self, step: int) -> list[np.ndarray]:
        """The parameters a step starts from (counted from 0): the expected ones before it."""
        return self.thetas if step == 0 else self.rounded(self.expected[step - 1])

    @property
    def tolerance(self) -> float:
        """The relative tolerance of a step: rounding in float64, or in float32."""
        return 1e-10 if self.dtype == "float64" else 1e-5

    @property
    def state_tolerance(self) -> float:
        """The relative tolerance of arrays an optimizer keeps (its state), computed in the
        problem's dtype."""
        return 1e-9 if self.dtype == "float64" else 1e-5

    def matches(self, step: int, i: int, got: np.ndarray, expected: np.ndarray) -> bool:
        """Whether parameter ``i`` after ``step`` is ``expected``, up to rounding.

        Rounding errors grow with the size of the values (updates can cancel), so the
        tolerance is relative to the largest entry before and after, and at least to 1.
        """
        size = max(
            1.0, float(np.max(np.abs(self.before(step)[i]))), float(np.max(np.abs(expected)))
        )
        return bool(np.all(np.abs(got - expected) <= self.tolerance * size))

    def first_mismatch(self, steps: list[list[np.ndarray]]) -> tuple[int, int] | None:
        """(step, parameter), counted from 0, of the first difference from the expected steps."""
        for step, (got_step, expected_step) in enumerate(zip(steps, self.expected, strict=True)):
            for i, (got, expected) in enumerate(zip(got_step, expected_step, strict=True)):
                if not self.matches(step, i, got, expected):
                    return step, i
        return None


@dataclass
class RecordedCase:
    """A recorded problem, and the known mistakes: (hint, step, parameters after that step)."""

    problem: Problem
    mistakes: list[tuple[str, int, list[np.ndarray]]]


def full_hyperparameters(algorithm: str, hyperparameters: dict) -> dict:
    """The defaults with ``hyperparameters`` over them, as JSON numbers, bools and lists."""
    full = {**ALGORITHMS[algorithm]["defaults"], **hyperparameters}
    return {name: _plain(value) for name, value in full.items()}


def _plain(value):
    """A hyperparameter as JSON holds it: a float, a bool, or a list of floats."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return float(value)


def case_key(algorithm: str, hyperparameters: dict, seed: int, dtype) -> str:
    """How a recorded case is found: its algorithm, every hyperparameter, seed and dtype."""
    return json.dumps(
        [
            algorithm,
            full_hyperparameters(algorithm, hyperparameters),
            int(seed),
            np.dtype(dtype).name,
        ],
        sort_keys=True,
    )


# The audit event raised each time the graded suites are read: the grading sandbox
# (``pancake.course.grading``) refuses it while an answer's code is on the stack.
SEALED_EVENT = "pancake.testing.sealed"


@functools.cache
def _shipped() -> dict:
    """The cases and suites recorded in this copy of pancake, decoded once."""
    return json.loads(zlib.decompress(base64.b64decode(RECORDED)))


def _keep_sealed(audit=sys.audit):
    """A generator that keeps the graded suites ``add_recorded`` is sent in its own
    frame: resuming it is the only way to them, and each resumption raises the audit
    event ``SEALED_EVENT`` first. A module attribute or a closure would let an answer
    read them; a suspended generator's frame is out of an answer's reach in the sandbox.
    ``audit`` is bound when the generator starts, so rebinding ``sys.audit`` later
    cannot silence it."""
    sealed: dict = {"suites": {}, "cases": {}}
    added = yield
    while True:
        audit(SEALED_EVENT)
        for part in ("suites", "cases"):
            sealed[part].update((added or {}).get(part, {}))
        added = yield {part: dict(sealed[part]) for part in sealed}


_SEALED = _keep_sealed()
next(_SEALED)


def recorded() -> dict:
    """The recorded cases and suites: ``{"suites": {name: [key]}, "cases": {key: case},
    ...}``, those shipped with this copy of pancake and those the grader added. The
    learner's copy of pancake holds no graded suite (see ``add_recorded``)."""
    shipped, sealed = _shipped(), _SEALED.send(None)
    return {
        **shipped,
        "suites": {**shipped["suites"], **sealed["suites"]},
        "cases": {**shipped["cases"], **sealed["cases"]},
    }


def add_recorded(sealed: dict) -> None:
    """Add the graded suites and their cases (``{"suites": ..., "cases": ...}``).

    The grader sends them to the grading sandbox when it runs (``pancake.course.grading``):
    they are in no file that an answer could read and look the expected steps up in, and
    in no object an answer can reach while it runs (``_keep_sealed``).
    """
    _SEALED.send(sealed)


def _unflatten(values: list[float]) -> list[np.ndarray]:
    """Recorded entries, one parameter after the other, as arrays of ``PARAMETER_SHAPES``."""
    arrays, start = [], 0
    for shape in PARAMETER_SHAPES:
        size = int(np.prod(shape))
        arrays.append(np.array(values[start : start + size]).reshape(shape))
        start += size
    return arrays


def recorded_case(key: str) -> RecordedCase | None:
    """The recorded case of ``case_key(...)``, or None."""
    case = recorded()["cases"].get(key)
    if case is None:
        return None
    problem = Problem(
        _unflatten(case["thetas"]),
        [_unflatten(step) for step in case["grads"]],
        [_unflatten(step) for step in case["expected"]],
        case["dtype"],
    )
    mistakes = [(m["hint"], m["step"], _unflatten(m["params"])) for m in case["mistakes"]]
    return RecordedCase(problem, mistakes)


def recorded_settings(suite: str) -> list[dict]:
    """The keyword arguments of ``check_optimizer`` for each recorded case of ``suite``.

    The graded tests draw from these suites (e.g. ``"sgd-momentum"``), with their seed,
    dtype and every hyperparameter (those of AdamW's fixed setting left out).
    """
    data = recorded()
    if suite not in data["suites"]:
        raise ValueError(
            f"no recorded suite {suite!r}; recorded: {sorted(data['suites'])} (the graded "
            "suites are not in the learner's copy of pancake: the grader sends them)"
        )
    settings = []
    for key in data["suites"][suite]:
        case = data["cases"][key]
        fixed = ALGORITHMS[case["algorithm"]].get("fixed", {})
        hyperparameters = {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in case["hyperparameters"].items()
            if name not in fixed
        }
        settings.append({**hyperparameters, "seed": case["seed"], "dtype": case["dtype"]})
    return settings


# -- check_optimizer ------------------------------------------------------------------------


def check_optimizer(
    optimizer_cls: type,
    *,
    seed: int = 0,
    dtype=np.float64,
    algorithm: str | None = None,
    **hyperparameters: Any,
) -> PropertyReport:
    """Run ``optimizer_cls`` for 8 recorded steps and compare each with PyTorch's algorithm.

    The algorithm is named by ``algorithm`` ("sgd", "adam", "adamw") or by the class name;
    ``hyperparameters`` (e.g. ``lr=0.1, momentum=0.9``) override the defaults and are all
    passed to the constructor by keyword. The steps of the algorithm were recorded for
    some settings only (those of the exercises, the book and ``recorded_settings(suite)``);
    others raise ValueError. Parameters have the shapes ``PARAMETER_SHAPES``; gradients
    span magnitudes 1e-5 to 10. Raises AssertionError at the first difference, with a hint.
    """
    key = (algorithm or optimizer_cls.__name__).lower()
    if key not in ALGORITHMS:
        raise ValueError(
            f"check_optimizer: no reference for {key!r}; name one of {sorted(ALGORITHMS)} "
            "with algorithm="
        )
    spec = ALGORITHMS[key]
    unknown = sorted(hyperparameters.keys() - spec["defaults"].keys())
    if unknown:
        raise TypeError(f"check_optimizer: {spec['name']} has no hyperparameters {unknown}")
    hp = {**spec["defaults"], **hyperparameters}
    described = f"{optimizer_cls.__name__}({', '.join(f'{k}={v!r}' for k, v in hp.items())})"
    dtype = np.dtype(dtype)
    case = recorded_case(case_key(key, hp, seed, dtype))
    if case is None:
        raise ValueError(
            f"check_optimizer: no recorded steps of {spec['name']} for {described}, "
            f"seed={seed}, dtype={dtype.name}: check with the settings of the exercises, "
            "or those of pancake.testing.optimizers.recorded_settings(suite)"
        )
    problem = case.problem
    got, kept_grad = _run_optimizer(optimizer_cls, hp, problem, described)
    mismatch = problem.first_mismatch(got)
    if mismatch is not None:
        rerun = Rerun(optimizer_cls, hp, problem, key)
        raise AssertionError(
            _optimizer_failure(described, spec, case, got, mismatch, kept_grad, rerun)
        )

    lines = [f"{'parameter':<12}{'shape':<12}{'max abs diff':>14}"]
    for i, shape in enumerate(PARAMETER_SHAPES):
        worst = max(
            float(np.max(np.abs(g[i] - e[i]))) for g, e in zip(got, problem.expected, strict=True)
        )
        lines.append(f"{i:<12}{str(shape):<12}{worst:>14.2e}")
    lines.append("zero_grad() zeroes every gradient: OK")
    title = (
        f"optimizer check of {described}: OK ({STEPS} steps in {dtype.name}, each from the "
        "recorded parameters, against PyTorch's algorithm)"
    )
    return PropertyReport(title, lines)


def _run_optimizer(optimizer_cls, hp, problem: Problem, described):
    """Teacher forcing: before each step, set the recorded parameters and gradients. The
    parameters after each step ``[step][param]``, and the key of a state entry that was a
    parameter's .grad itself (or None)."""
    dtype = np.dtype(problem.dtype)
    params = [Parameter(theta.astype(dtype)) for theta in problem.thetas]
    arrays = [param.data for param in params]
    optimizer = optimizer_cls((param for param in params), **hp)
    steps = []
    kept_grad = None
    for step, step_grads in enumerate(problem.grads):
        for array, param, theta, grad in zip(
            arrays, params, problem.before(step), step_grads, strict=True
        ):
            array[...] = theta
            param.grad[...] = grad
        try:
            optimizer.step()
        except Exception as error:
            if not Rerun(optimizer_cls, hp, problem, "").right_for_each_parameter_alone():
                raise
            raise AssertionError(
                f"{described}, step {step + 1}: step() raised {type(error).__name__}: {error}"
                f"\nLikely mistake: {SHARED_STATE}"
            ) from error
        kept_grad = kept_grad or _state_keeping_grad(optimizer, params)
        for i, (param, array, grad) in enumerate(zip(params, arrays, step_grads, strict=True)):
            where = f"{described}, step {step + 1}, parameter {i} of shape {array.shape}"
            if param.data is not array:
                raise AssertionError(
                    f"{where}: step() replaced param.data by a new array; update it in place "
                    "(param.data -= ...), because layers hold references to it"
                )
            if param.data.dtype != dtype:
                raise AssertionError(
                    f"{where}: the parameter changed dtype from {dtype} to "
                    f"{param.data.dtype}; keep the arithmetic in the parameter's dtype"
                )
            if not np.array_equal(param.grad, grad.astype(dtype)):
                raise AssertionError(
                    f"{where}: step() changed param.grad; compute a new array "
                    "(grad = grad + ...) instead of modifying the gradient in place"
                )
        steps.append([param.data.astype(np.float64) for param in params])
    optimizer.zero_grad()
    for i, param in enumerate(params):
        if np.any(param.grad != 0):
            raise AssertionError(f"{described}: zero_grad() left parameter {i}'s gradient non-zero")
    return steps, kept_grad


def _state_keeping_grad(optimizer, params) -> str | None:
    """The key of a state entry that shares memory with its parameter's .grad, or None.

    Looks only where the base class keeps the state: ``optimizer.state``, one dict per parameter.
    """
    states = getattr(optimizer, "state", None)
    if not isinstance(states, list):
        return None
    for param, state in zip(params, states, strict=False):
        for key, value in state.items() if isinstance(state, dict) else ():
            if isinstance(value, np.ndarray) and np.may_share_memory(value, param.grad):
                return key
    return None


SHARED_STATE = (
    "each parameter is updated right when it is the only one, but not when there are "
    "several: the state (momentum buffer, moments, step count) is shared by the "
    "parameters; keep one per parameter, in its own state (self.state[i]), not on the "
    "optimizer"
)


@dataclass
class Rerun:
    """The optimizer under test run again, fresh, on variations of the problem, to narrow
    a difference down: teacher forced like check_optimizer, comparing with the same expected
    parameters (``problem.expected``)."""

    optimizer_cls: type
    hp: dict
    problem: Problem
    algorithm: str

    @property
    def decoupled(self) -> bool:
        """Whether the weight decay is decoupled (AdamW, or decoupled_weight_decay=True)."""
        return self.hp.get("decoupled_weight_decay", self.algorithm == "adamw")

    def steps(self, hp=None, indices=None, grads=None, befores=None, first=0, count=STEPS):
        """The parameters ``indices`` after steps ``first`` to ``first + count - 1`` of a
        fresh optimizer with ``hp``, each step started from ``befores`` (default: the
        recorded parameters) with ``grads``; None if the optimizer raised."""
        run = self.run(hp, indices, grads, befores, first, count)
        return None if run is None else run[1]

    def run(self, hp=None, indices=None, grads=None, befores=None, first=0, count=STEPS):
        """(the optimizer, the steps taken) as ``steps`` describes; None if it raised."""
        problem = self.problem
        indices = range(len(PARAMETER_SHAPES)) if indices is None else indices
        grads = problem.grads if grads is None else grads
        befores = [problem.before(step) for step in range(STEPS)] if befores is None else befores
        params = [Parameter(problem.thetas[i].astype(problem.dtype)) for i in indices]
        taken = []
        try:
            optimizer = self.optimizer_cls(params, **(self.hp if hp is None else hp))
            for step in range(first, first + count):
                for param, i in zip(params, indices, strict=True):
                    param.data[...] = befores[step][i]
                    param.grad[...] = grads[step][i]
                optimizer.step()
                taken.append([param.data.astype(np.float64) for param in params])
        except Exception:  # a variation it cannot run: no diagnosis from it
            return None
        return optimizer, taken

    def decay_factors(self) -> np.ndarray | None:
        """θ_after / θ_before of every entry (not near 0) after one step with zero gradients,
        where Adam moves θ by its decoupled weight decay alone; None if it raised."""
        zeros = [[np.zeros_like(grad) for grad in step] for step in self.problem.grads]
        taken = self.steps(grads=zeros, count=1)
        if taken is None:
            return None
        before = np.concatenate([theta.ravel() for theta in self.problem.before(0)])
        after = np.concatenate([theta.ravel() for theta in taken[0]])
        away_from_zero = np.abs(before) > 1e-3
        return after[away_from_zero] / before[away_from_zero]

    def moments_kept(self, step: int) -> dict[str, np.ndarray] | None:
        """The arrays of parameter 0's state (its shape) after steps 1 to ``step + 1`` of a
        fresh optimizer given that parameter alone, by key; None if there is no such state."""
        run = self.run(indices=[0], count=step + 1)
        states = getattr(run[0], "state", None) if run is not None else None
        if not isinstance(states, list) or len(states) != 1 or not isinstance(states[0], dict):
            return None
        shape = PARAMETER_SHAPES[0]
        return {
            key: np.asarray(value, dtype=np.float64)
            for key, value in states[0].items()
            if np.shape(value) == shape
        }

    def gradients_of_the_moments(self, step: int, with_decay: bool = True) -> list[np.ndarray]:
        """Parameter 0's gradient at steps 1 to ``step + 1`` as Adam's moments take it: with
        the coupled weight decay added (``with_decay``), not with the decoupled one."""
        hp = self.hp
        decay = hp.get("weight_decay", 0.0) if with_decay and not self.decoupled else 0.0
        return [
            self.problem.grads[t][0] + decay * self.problem.before(t)[0] for t in range(step + 1)
        ]

    def right(self, taken, indices=None, first=0, expected=None) -> bool:
        """Whether steps ``taken`` (from step ``first``) are the expected ones."""
        indices = range(len(PARAMETER_SHAPES)) if indices is None else indices
        expected = self.problem.expected if expected is None else expected
        return taken is not None and all(
            self.problem.matches(step, i, got, expected[step][i])
            for step, got_step in enumerate(taken, start=first)
            for i, got in zip(indices, got_step, strict=True)
        )

    def right_for_each_parameter_alone(self) -> bool:
        """Whether an optimizer given one parameter at a time updates each one right."""
        return all(
            self.right(self.steps(indices=[i]), indices=[i]) for i in range(len(PARAMETER_SHAPES))
        )

    def right_without(self, option: str) -> bool:
        """Whether the optimizer is right with ``option`` off, on the problem that makes the
        algorithm's steps the same without it (weight decay folded into the gradients or the
        parameters, dampening into the gradients)."""
        hp, problem = self.hp, self.problem
        befores = [problem.before(step) for step in range(STEPS)]
        grads = problem.grads
        if option == "weight_decay" and self.decoupled:
            shrink = 1 - hp["lr"] * hp["weight_decay"]
            befores = [[theta * shrink for theta in before] for before in befores]
        elif option == "weight_decay":
            grads = [
                [
                    g + hp["weight_decay"] * theta
                    for g, theta in zip(step_grads, before, strict=True)
                ]
                for step_grads, before in zip(grads, befores, strict=True)
            ]
        elif option == "dampening":  # the first step's buffer is the gradient, undamped
            grads = [grads[0]] + [[(1 - hp["dampening"]) * g for g in step] for step in grads[1:]]
        return self.right(self.steps({**hp, option: 0.0}, grads=grads, befores=befores))

    def right_without_nesterov(self) -> bool:
        """Whether the optimizer is right with nesterov=False, against the steps of plain
        momentum worked out from the expected ones: a Nesterov step goes along
        d = grad + momentum * buffer, so the buffer (plain momentum's direction) is
        (d - grad) / momentum (without dampening, which Nesterov does not take)."""
        hp, problem = self.hp, self.problem
        plain = []
        for step, (step_grads, expected) in enumerate(
            zip(problem.grads, problem.expected, strict=True)
        ):
            plain_step = []
            for before, grad, after in zip(problem.before(step), step_grads, expected, strict=True):
                direction = (before - after) / hp["lr"]
                gradient = grad + hp["weight_decay"] * before
                plain_step.append(before - hp["lr"] * (direction - gradient) / hp["momentum"])
            plain.append(plain_step)
        return self.right(self.steps({**hp, "nesterov": False}), expected=plain)

    def right_with_betas_swapped(self) -> bool:
        """Whether the optimizer is right when given betas in the other order."""
        beta1, beta2 = self.hp["betas"]
        return self.right(self.steps({**self.hp, "betas": (beta2, beta1)}))

    def moves_with_momentum(self) -> bool:
        """Whether, with momentum 0.9, the first step changes the parameters."""
        taken = self.steps({**self.hp, "momentum": 0.9}, count=1)
        before = self.problem.before(0)
        return taken is not None and any(
            not np.array_equal(a, b) for a, b in zip(taken[0], before, strict=True)
        )

    def ignored_settings(self, got) -> list[str]:
        """The SGD settings (momentum, weight_decay) that are not 0 here and yet change
        nothing: with all of them 0 the optimizer takes the very steps ``got``; [] if not."""
        if self.algorithm != "sgd":
            return []
        ignored = [name for name in ("momentum", "weight_decay") if self.hp[name] != 0]
        if not ignored:
            return []
        plain = self.steps({**self.hp, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False})
        same = plain is not None and all(
            np.allclose(a, b, rtol=1e-12, atol=0)
            for taken, given in zip(plain, got, strict=True)
            for a, b in zip(taken, given, strict=True)
        )
        return ignored if same else []

    def forgets_earlier_steps(self, step: int, got) -> bool:
        """Whether step ``step`` (from 1) gave what a new optimizer's first step gives there."""
        fresh = self.steps(first=step, count=1)
        return fresh is not None and all(
            np.allclose(a, b, rtol=1e-12, atol=0) for a, b in zip(fresh[0], got[step], strict=True)
        )


def _narrowed_down(rerun: Rerun, got, step: int) -> str | None:
    """A mistake narrowed down by running the optimizer again on variations of the problem:
    shared between parameters, one option's line (weight decay, dampening), the state
    forgotten between steps, or the right direction with the wrong size; None if none fits."""
    hp = rerun.hp
    if rerun.right_for_each_parameter_alone():
        return SHARED_STATE
    if hp.get("weight_decay", 0) != 0 and rerun.right_without("weight_decay"):
        if rerun.decoupled:
            return (
                "without weight decay your steps are right: the decoupled weight decay is "
                "wrong; it shrinks the parameter first, param.data *= 1 - lr * weight_decay, "
                "then takes the Adam step"
            )
        return (
            "without weight decay your steps are right (with grad + weight_decay * param "
            "as the gradient): the weight decay line is wrong; add weight_decay * param.data "
            "to the gradient, once, before the momentum or the moments use it"
        )
    if hp.get("nesterov") and rerun.right_without_nesterov():
        return (
            "with nesterov=False your steps are right: the Nesterov step is wrong; it goes "
            "along grad + momentum * buffer, with the buffer already updated at this step"
        )
    if "betas" in hp and rerun.right_with_betas_swapped():
        return (
            "beta1 and beta2 are swapped: beta1 = betas[0] averages the gradients (m), "
            "beta2 = betas[1] their squares (v)"
        )
    if (
        hp.get("momentum", 0) != 0
        and hp.get("dampening", 0) != 0
        and hp.get("weight_decay", 0) == 0
        and rerun.right_without("dampening")
    ):
        return (
            "with dampening=0 your steps are right: the dampening is wrong; from the second "
            "step, buffer = momentum * buffer + (1 - dampening) * grad (the first step's "
            "buffer is grad itself)"
        )
    keeps_state = rerun.algorithm != "sgd" or hp.get("momentum", 0) != 0
    if step > 0 and keeps_state and rerun.forgets_earlier_steps(step, got):
        return (
            f"step {step + 1} is what a new optimizer's first step would be: nothing is "
            "kept between steps; keep the state (momentum buffer, moments, step count) in "
            "self.state between calls of step(), and read it back"
        )
    if rerun.algorithm == "sgd":
        buffers = _momentum_buffers(rerun) if hp["momentum"] != 0 else []
        return (
            _first_buffer_hint(rerun, buffers)
            or _size_of_the_update(rerun.problem, got, step, rerun.algorithm)
            or _momentum_buffer_hint(rerun, buffers)
        )
    moments = Moments.read(rerun, step)
    return (
        (_decoupled_decay_hint(rerun) if rerun.decoupled and hp["weight_decay"] != 0 else None)
        or (moments and moments.never_stored_hint())
        or (moments and moments.wrong_moment_hint())
        or (moments and _bias_corrections_hint(rerun, step, got, moments))
        or _size_of_the_update(rerun.problem, got, step, rerun.algorithm)
        or (moments and moments.right_hint())
        or (_adam_first_step(rerun, got) if step == 0 else None)
    )


def _fitted(columns: list[np.ndarray], target: np.ndarray, tolerance: float) -> list[float] | None:
    """The coefficients c with target = Σ c_i·columns[i] exactly (to ``tolerance`` of its
    size), or None when no such combination reproduces ``target``."""
    basis = np.stack([column.ravel() for column in columns], axis=1)
    coefficients = np.linalg.lstsq(basis, target.ravel(), rcond=None)[0]
    scale = float(np.max(np.abs(target))) or 1.0
    if not np.allclose(basis @ coefficients, target.ravel(), rtol=0, atol=tolerance * scale):
        return None
    return [float(c) for c in coefficients]


def _moves_later(rerun: Rerun, step: int) -> bool:
    """Whether the step after ``step`` changes the parameters (from the recorded ones)."""
    taken = rerun.steps(count=step + 2)
    before = rerun.problem.before(step + 1)
    return taken is not None and any(
        not np.array_equal(a, b) for a, b in zip(taken[step + 1], before, strict=True)
    )


def _momentum_buffers(rerun: Rerun) -> list[tuple[str, float, list[float]]]:
    """SGD's momentum buffers read from the state after steps 1 and 2 and solved for:
    (key, c, [a, b]) for each kept array that is c·grad after step 1 and a·buffer + b·grad
    after step 2 (right: c = 1, a = momentum, b = 1 - dampening)."""
    after_one, after_two = rerun.moments_kept(0), rerun.moments_kept(1)
    if not after_one or not after_two:
        return []
    g1, g2 = rerun.gradients_of_the_moments(1)
    tolerance = rerun.problem.state_tolerance
    buffers = []
    for key in sorted(after_one.keys() & after_two.keys()):
        first = _fitted([g1], after_one[key], tolerance)
        second = _fitted([after_one[key], g2], after_two[key], tolerance)
        if first is not None and second is not None:
            buffers.append((key, first[0], second))
    return buffers


def _first_buffer_hint(rerun: Rerun, buffers: list) -> str | None:
    """The hint for a momentum buffer that is not grad itself after the first step but
    c·grad; None if the first buffers are right."""
    hp, rtol = rerun.hp, 100 * rerun.problem.state_tolerance
    for key, coefficient, _ in buffers:
        if np.isclose(coefficient, 1.0, rtol=rtol):
            continue
        twice = bool(np.isclose(coefficient, hp["momentum"] + 1 - hp["dampening"], rtol=rtol))
        why = ": the buffer was set to grad and then updated with the rule in the same step"
        return (
            f"state[{key!r}] after step 1 is c · grad with c = "
            f"{_named_coefficient(coefficient, hp, rtol)}{why * twice}; at the first step the "
            "buffer is grad itself (buffer = grad.copy(), no dampening), and only from the "
            "second step on is it momentum · buffer + (1 - dampening) · grad"
        )
    return None


def _momentum_buffer_hint(rerun: Rerun, buffers: list) -> str | None:
    """After step 2 a buffer should be a·buffer + b·grad with a = momentum,
    b = 1 - dampening. The hint naming the coefficients that differ, or that the buffer is
    right and the step taken from it is not; None if no kept array is such a buffer."""
    hp, rtol = rerun.hp, 100 * rerun.problem.state_tolerance
    wanted = {"a": hp["momentum"], "b": 1 - hp["dampening"]}
    for key, _, (a, b) in buffers:
        got = {"a": a, "b": b}
        if all(np.isclose(got[k], wanted[k], rtol=rtol) for k in wanted):
            return _right_buffer_hint(key, hp)
        return _wrong_buffer_hint(key, got, wanted, hp, rtol)
    return None


def _named_coefficient(value: float, hp: dict, rtol: float) -> str:
    """``value`` as the expression of SGD's settings it equals (within ``rtol``), when one
    does."""
    momentum, dampening = hp["momentum"], hp["dampening"]
    names = {
        "momentum": momentum,
        "1 - dampening": 1 - dampening,
        "momentum·(1 - dampening)": momentum * (1 - dampening),
        "1 - momentum": 1 - momentum,
        "dampening": dampening,
        "lr": hp["lr"],
        "lr·momentum": hp["lr"] * momentum,
        "1": 1.0,
        "0": 0.0,
    }
    said = next(
        (name for name, v in names.items() if np.isclose(value, v, rtol=rtol, atol=rtol)), None
    )
    return f"{value:.4g}" + (f" ({said})" if said else "")


def _wrong_buffer_hint(key: str, got: dict, wanted: dict, hp: dict, rtol: float) -> str:
    """The hint for a momentum buffer kept under ``key`` by another rule than PyTorch's:
    a·buffer + b·grad with the coefficients ``got`` (each read to ``rtol``)."""
    scaled_twice = bool(
        np.isclose(got["a"], wanted["a"], rtol=rtol)
        and np.isclose(got["b"], hp["momentum"] * wanted["b"], rtol=rtol)
    )
    a, b = (_named_coefficient(got[k], hp, rtol) for k in "ab")
    return (
        f"state[{key!r}] after step 2 is a · buffer + b · grad with a = {a} and b = {b}: "
        f"it should be momentum · buffer + (1 - dampening) · grad, a = {wanted['a']:.4g} and "
        f"b = {wanted['b']:.4g}"
        + (" (the momentum multiplies the old buffer only, not the gradient)" * scaled_twice)
    )


def _right_buffer_hint(key: str, hp: dict) -> str:
    """The hint when the momentum buffer is right and the step taken from it is not."""
    along = "grad + momentum * buffer" if hp["nesterov"] else "the buffer"
    return (
        f"the momentum buffer kept in state[{key!r}] is right after two steps: the step "
        f"taken from it is wrong; with nesterov={hp['nesterov']} the step goes along {along}: "
        f"param.data -= lr * ({along}), with grad including the weight decay"
    )


def _decoupled_decay_hint(rerun: Rerun) -> str | None:
    """With zero gradients Adam's step is 0 (m = v = 0), so decoupled weight decay alone moves
    the parameters: θ *= 1 - lr·weight_decay. The hint when one step shrinks every entry by
    another factor, or None."""
    hp = rerun.hp
    factors = rerun.decay_factors()
    if factors is None or factors.size < 2 or not np.allclose(factors, factors[0], rtol=1e-9):
        return None
    lr, decay = hp["lr"], hp["weight_decay"]
    wanted, got = 1 - lr * decay, float(factors[0])
    if np.isclose(got, wanted, rtol=1e-9, atol=0):
        return None
    named = {
        "lr·weight_decay: the 1 - is missing": lr * decay,
        "1 - weight_decay: lr is missing": 1 - decay,
        "1 + lr·weight_decay: the sign is wrong": 1 + lr * decay,
        "1: no decay at all": 1.0,
    }
    why = next((f" ({what})" for what, value in named.items() if np.isclose(got, value)), "")
    return (
        f"with zero gradients a step should only shrink each parameter by its decoupled weight "
        f"decay, θ *= 1 - lr·weight_decay = {wanted:.6g}; yours multiplies θ by {got:.6g}"
        f"{why}: shrink first, param.data *= 1 - lr * weight_decay, then take the Adam step"
    )


@dataclass
class Moments:
    """Adam's state for parameter 0 after a fresh run of steps 1 to ``step + 1``: the arrays
    kept (by key), the gradients the moments average, and the keys that hold the right
    first and second moments (None where no entry does)."""

    kept: dict[str, np.ndarray]
    grads: list[np.ndarray]
    raw_grads: list[np.ndarray]
    betas: tuple[float, float]
    step: int

    @classmethod
    def read(cls, rerun: Rerun | None, step: int) -> Moments | None:
        """The moments of ``rerun``'s optimizer after ``step``; None without a rerun, for an
        optimizer without moments (SGD), or if its state holds none."""
        if rerun is None or "betas" not in rerun.hp:
            return None
        kept = rerun.moments_kept(step)
        if not kept:
            return None
        grads = rerun.gradients_of_the_moments(step)
        raw = rerun.gradients_of_the_moments(step, with_decay=False)
        return cls(kept, grads, raw, tuple(rerun.hp["betas"]), step)

    def held(self, values: np.ndarray) -> str | None:
        """The key of a kept array equal to ``values``, or None."""
        scale = float(np.max(np.abs(values))) or 1.0
        return next(
            (
                key
                for key, kept in self.kept.items()
                if np.allclose(kept, values, atol=1e-9 * scale)
            ),
            None,
        )

    @functools.cached_property
    def first(self) -> str | None:
        """The key of the right first moment, β1-average of the gradients, or None."""
        return self.held(_running_average(self.betas[0], self.grads))

    @functools.cached_property
    def second(self) -> str | None:
        """The key of the right second moment, β2-average of their squares, or None."""
        return self.held(_running_average(self.betas[1], [g * g for g in self.grads]))

    def never_stored_hint(self) -> str | None:
        """The hint when every kept array is still all zero after the steps: the moments
        are computed into local names and never written back into the state; or None."""
        if any(np.any(kept) for kept in self.kept.values()):
            return None
        keys = " and ".join(f"state[{key!r}]" for key in self.kept)
        return (
            f"{keys} {'are' if len(self.kept) > 1 else 'is'} still all zero after "
            f"{self.step + 1} steps: the new moments are computed but never stored back "
            "(m = beta1 * m + ... rebinds a local name and leaves the state as it was): "
            "write them into the state, state['exp_avg'] = ..."
        )

    def wrong_moment_hint(self) -> str | None:
        """The hint naming the running average a wrong moment is, or None."""
        beta1, beta2 = self.betas
        grads, squares = self.grads, [g * g for g in self.grads]
        suspects = []
        if self.first is None:
            suspects += [
                (
                    _running_average(beta1, squares),
                    "the first moment averages grad * grad (like "
                    "the second): it averages grad itself, m = β1·m + (1 - β1)·grad",
                ),
                (
                    _running_average(beta2, grads),
                    "the first moment uses beta2: m = β1·m + (1 - β1)·grad, with beta1 = betas[0]",
                ),
                (
                    _running_average(1 - beta1, grads),
                    "the first moment's weights are swapped: "
                    "m = β1·m + (1 - β1)·grad, β1 on the old average",
                ),
            ]
        if self.second is None:
            suspects += [
                (
                    _running_average(beta2, grads),
                    "the second moment averages grad: it averages "
                    "grad * grad, v = β2·v + (1 - β2)·grad²",
                ),
                (
                    _running_average(beta2, [np.abs(g) for g in grads]),
                    "the second moment "
                    "averages |grad|: it averages grad * grad, v = β2·v + (1 - β2)·grad²",
                ),
                (
                    _running_average(beta1, squares),
                    "the second moment uses beta1: v = β2·v + "
                    "(1 - β2)·grad², with beta2 = betas[1]",
                ),
                (
                    _running_average(1 - beta2, squares),
                    "the second moment's weights are "
                    "swapped: v = β2·v + (1 - β2)·grad², β2 on the old average",
                ),
            ]
        if self.first is None and any(
            g is not r for g, r in zip(grads, self.raw_grads, strict=True)
        ):
            suspects.append(
                (
                    _running_average(beta1, self.raw_grads),
                    "the moments average the gradient "
                    "without the weight decay: add weight_decay * param to the gradient first, "
                    "and average that",
                )
            )
        for values, hint in suspects:
            key = self.held(values)
            if key is not None:
                return f"state[{key!r}] shows it: {hint}"
        return None

    def right_hint(self) -> str | None:
        """The hint when both moments are right: the step computed from them is wrong."""
        if self.first is None or self.second is None:
            return None
        return (
            f"the moments kept in the state are right after step {self.step + 1} "
            f"(state[{self.first!r}] = m, state[{self.second!r}] = v): the step computed from "
            "them is wrong; with t the number of steps taken (1 at the first), "
            "m̂ = m / (1 - β1**t), v̂ = v / (1 - β2**t), then param -= lr * m̂ / (√v̂ + eps)"
        )


# Bias corrections as written, for a step t (from 1): how each reads, and its value.
BIAS_CORRECTIONS: dict[str, Callable[[float, int], float]] = {
    "1 - β**t": lambda beta, t: 1 - beta**t,
    "(1 - β)**t": lambda beta, t: (1 - beta) ** t,
    "1 - β, as if t were 1 at every step (does the step count grow by one at each step?)": (
        lambda beta, t: 1 - beta
    ),
    "1 - β**(t + 1), with t one step ahead": lambda beta, t: 1 - beta ** (t + 1),
    "1 (no correction)": lambda beta, t: 1.0,
    "1 - β·t, β times t (negative from t = 2 on, so v̂ < 0 and √v̂ is nan; ** is the "
    "power)": lambda beta, t: 1 - beta * t,
}


def _bias_corrections_hint(rerun: Rerun, step: int, got, moments: Moments) -> str | None:
    """With both moments right, the hint naming the bias corrections that give parameter
    0's step ``got[step][0]`` when they are not 1 - β**t, or None."""
    if moments.first is None or moments.second is None:
        return None
    m, v = moments.kept[moments.first], moments.kept[moments.second]
    hp, problem = rerun.hp, rerun.problem
    beta1, beta2 = hp["betas"]
    t = step + 1
    before = problem.before(step)[0]
    if rerun.decoupled:
        before = before * (1 - hp["lr"] * hp["weight_decay"])
    right = next(iter(BIAS_CORRECTIONS))
    for (first, c1), (second, c2) in itertools.product(BIAS_CORRECTIONS.items(), repeat=2):
        if first == second == right:
            continue
        m_hat, v_hat = m / c1(beta1, t), v / c2(beta2, t)
        with np.errstate(invalid="ignore", divide="ignore"):
            predicted = before - hp["lr"] * m_hat / (np.sqrt(v_hat) + hp["eps"])
        if _matches_where_finite(problem, step, got[step][0], predicted):
            wrong = [
                f"{moment} is divided by {form}"
                for moment, form in (("m", first), ("v", second))
                if form != right
            ]
            divided = f"m and v are divided by {first}" if first == second else " and ".join(wrong)
            return (
                f"the moments kept in the state are right, but {divided}, where 1 - β**t "
                "belongs (t the number of steps taken, 1 at the first): m̂ = m / (1 - β1**t), "
                "v̂ = v / (1 - β2**t)"
            )
    return None


def _matches_where_finite(problem: Problem, step: int, got: np.ndarray, predicted) -> bool:
    """Whether parameter 0's step ``got`` is ``predicted``: nan or inf at the same entries,
    and the same values elsewhere."""
    finite = np.isfinite(predicted)
    if not np.array_equal(finite, np.isfinite(got)):
        return False
    return not finite.any() or problem.matches(step, 0, got[finite], predicted[finite])


def _running_average(beta: float, values: list[np.ndarray]) -> np.ndarray:
    """β·a + (1 - β)·value over ``values`` in turn, from a = 0."""
    average = np.zeros_like(values[0])
    for value in values:
        average = beta * average + (1 - beta) * value
    return average


SCALING_FACTORS = {
    "sgd": "lr, 1 - dampening",
    "adam": "lr, the bias corrections 1 - beta1**t and 1 - beta2**t, moments that start at zero",
}


def _adam_first_step(rerun: Rerun, got) -> str | None:
    """Adam's first step moves each entry by about lr (m̂ / √v̂ = g / |g|, eps aside): the
    hint for a first step whose size follows a power of |grad| instead (v not the average
    of grad**2, or no square root), without weight decay."""
    hp, problem = rerun.hp, rerun.problem
    if hp.get("weight_decay", 0) != 0:
        return None
    grads = np.concatenate([g.ravel() for g in problem.grads[0]])
    taken = np.concatenate([(b - a).ravel() for a, b in zip(got[0], problem.thetas, strict=True)])
    size = np.abs(grads)
    ratio = taken / (hp["lr"] * np.sign(grads))
    usable = size > 1e3 * hp["eps"]  # where eps changes the step by less than 0.1%
    if not np.all(ratio[usable] > 0) or usable.sum() < 5:
        return None
    power, offset = np.polyfit(np.log(size[usable]), np.log(ratio[usable]), 1)
    fitted = np.exp(offset) * size[usable] ** power
    if abs(power) < 0.1 or not np.allclose(ratio[usable], fitted, rtol=1e-2):
        return None
    return (
        f"at the first step Adam moves every entry by about lr (m̂ / √v̂ = grad / |grad|), "
        f"but your step grows like |grad|^{power:.2g}: check the second moment (it averages "
        "grad * grad) and the square root of v̂ in the denominator"
    )


def _size_of_the_update(problem: Problem, got, step: int, algorithm: str) -> str | None:
    """The update's direction right and its size off by one factor, within 1%, for every
    entry."""
    before = problem.before(step)
    taken = np.concatenate([(g - b).ravel() for g, b in zip(got[step], before, strict=True)])
    wanted = np.concatenate(
        [(e - b).ravel() for e, b in zip(problem.expected[step], before, strict=True)]
    )
    if not np.all(np.isfinite(taken)) or not np.any(wanted):
        return None
    factor = float(taken @ wanted / (wanted @ wanted))
    if not np.allclose(taken, factor * wanted, rtol=1e-2, atol=1e-12 * np.max(np.abs(wanted))):
        return None
    if np.isclose(factor, -1, rtol=1e-2):
        return "the update goes the wrong way: subtract it from the parameter (param.data -= ...)"
    factors = SCALING_FACTORS["sgd" if algorithm == "sgd" else "adam"]
    return (
        f"the update points the right way but is about {factor:.3g} times as large as it "
        f"should be, in every entry: check what scales the whole update ({factors})"
    )


def _optimizer_failure(
    described, spec, case: RecordedCase, got, mismatch, kept_grad, rerun: Rerun
) -> str:
    """The failure message: where, how much, and the likely mistake."""
    step, i = mismatch
    g, e = got[step][i], case.problem.expected[step][i]
    difference = np.abs(g - e)
    difference[np.isnan(difference)] = np.inf
    worst = np.unravel_index(np.argmax(difference), g.shape)
    return (
        f"{described} differs from PyTorch's {spec['name']} at step {step + 1}, parameter {i} "
        f"of shape {g.shape}: max abs difference {difference[worst]:.3g} at index "
        f"{tuple(int(k) for k in worst)} (expected {e[worst]:.6g}, got {g[worst]:.6g})\n"
        f"Likely mistake: {_optimizer_hint(case, got, step, kept_grad, rerun)}"
    )


IGNORED_SETTING = {
    "momentum": "the momentum is not used: keep the buffer in the parameter's state between "
    "steps and step along it",
    "weight_decay": "weight decay is missing: add weight_decay * param to the gradient first",
}


def _ignored_settings_hint(ignored: list[str], hp: dict) -> str:
    """The hint when SGD steps as if momentum and weight_decay were 0, though they are not."""
    settings = " and ".join(f"{name}={hp[name]:.3g}" for name in ignored)
    return (
        f"step() moves the parameters exactly as with momentum=0 and weight_decay=0 "
        f"({settings} change{'s' * (len(ignored) == 1)} nothing): "
        + "; ".join(IGNORED_SETTING[name] for name in ignored)
        + "; if you already compute the new gradient into a variable, step with that "
        "variable (param.data -= lr * it), not with param.grad"
    )


def _optimizer_hint(
    case: RecordedCase, got, step: int, kept_grad: str | None, rerun: Rerun | None
) -> str:
    """Name the recorded mistake that departs at this step as the optimizer did, or describe
    the symptom. (Before ``step`` the optimizer followed the algorithm; so does a mistake
    until the step where it departs.)"""
    ignored = rerun.ignored_settings(got) if rerun is not None else []
    if ignored:
        return _ignored_settings_hint(ignored, rerun.hp)
    problem = case.problem
    matching = [
        hint
        for hint, departs_at, params in case.mistakes
        if departs_at == step
        and all(
            problem.matches(step, i, g, p)
            for i, (g, p) in enumerate(zip(got[step], params, strict=True))
        )
    ]
    if len(matching) == 1:
        return matching[0]
    if matching:  # with these settings, several mistakes give the same step
        return "one of these mistakes (they give the same step here): " + "; or ".join(
            dict.fromkeys(matching)
        )
    if kept_grad is not None:
        return (
            f"state[{kept_grad!r}] is param.grad itself, not a copy, so the next "
            "gradient overwrites it: store a new array, grad.copy() at the first step, and "
            "after it the updated buffer or moment (not the gradient)"
        )
    if not all(np.all(np.isfinite(theta)) for theta in got[step]):
        moments = Moments.read(rerun, step)
        corrections = moments and _bias_corrections_hint(rerun, step, got, moments)
        if corrections:
            return corrections
        return (
            "non-finite values (nan or inf): look for a division by zero (1 - beta**t with "
            "t = 0?) or the square root of a negative number (the second moment must average "
            "grad * grad, never grad)"
        )
    before = problem.before(step)
    if all(np.array_equal(a, b) for a, b in zip(got[step], before, strict=True)):
        if rerun is not None and rerun.algorithm == "sgd" and rerun.hp["momentum"] == 0:
            if rerun.moves_with_momentum():
                return (
                    "with momentum=0 step() does not change the parameters, with momentum it "
                    "does: the update runs only in the momentum branch; take it out of the if"
                )
        moments = Moments.read(rerun, step)
        if moments and moments.first and moments.second and _moves_later(rerun, step):
            return (
                f"step {step + 1} did not change the parameters, though the moments it kept "
                f"(state[{moments.first!r}], state[{moments.second!r}]) are right and not "
                "zero: the step was computed from the moments before this step updated them "
                "(zero at the first step); update m and v first, then bias-correct them, "
                "m̂ = m / (1 - β1**t), v̂ = v / (1 - β2**t), and step with m̂ and v̂"
            )
        return (
            "step() did not change the parameters: update param.data in place (param.data -= ...)"
        )
    unchanged = [
        i for i, (a, b) in enumerate(zip(got[step], before, strict=True)) if np.array_equal(a, b)
    ]
    if unchanged:
        return (
            f"step() left parameter{'s' * (len(unchanged) > 1)} {unchanged} unchanged but "
            "changed the others: update every parameter of params_with_grad() (is there a "
            "return or break inside the loop over them?)"
        )
    narrowed_down = _narrowed_down(rerun, got, step) if rerun is not None else None
    if narrowed_down is not None:
        return narrowed_down
    if step > 0:
        return (
            f"the steps before step {step + 1} are right: check what is kept between steps "
            "(momentum buffer, moments, step count) in each parameter's state"
        )
    return "not one of the common mistakes; compare your update with the algorithm line by line"
