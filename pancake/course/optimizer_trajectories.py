"""Record the optimizer steps that ``check_optimizer`` compares with (instructor only).

``pancake.testing.optimizers`` ships no update rule: it compares a learner's optimizer
with steps recorded here, from reference optimizers written as pure functions of
PyTorch's documented algorithms (a formulation independent of ``pancake.optim``, which
``tests/test_optim.py`` checks against ``torch.optim``). The steps are recorded by
**teacher forcing**: before step t the parameters are set to the reference's parameters
after step t - 1 and the gradients to the recorded ones, so that every step is compared
on its own and rounding errors never compound along a trajectory.

For the hints, each known mistake (a switch of the reference functions) is recorded at
the first step where it departs from the reference. ``make exercises`` rewrites
``pancake/testing/optimizer_trajectories.py``; ``tests/test_check_optimizers.py`` fails
when it is stale. Run ``python -m pancake.course.optimizer_trajectories`` to rewrite only it.
"""

from __future__ import annotations

import base64
import json
import math
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pancake.testing import optimizers as check

RECORDED_MODULE = Path(check.__file__).with_name("optimizer_trajectories.py")
# the same file, relative to the folder that holds the package: pancake/testing/...
SUITE_NAMED = re.compile(r"recorded_settings\(\s*['\"]([\w-]+)['\"]")
RECORDED_STEPS = RECORDED_MODULE.relative_to(RECORDED_MODULE.parents[2]).as_posix()

# -- reference optimizers: pure functions (theta, grad, state, t, **hp) -> (theta, state) -----
#
# The keyword-only switches after the hyperparameters reproduce known mistakes; their
# defaults give the documented algorithm. ``t`` counts steps from 1.


def sgd_reference(
    theta: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray | None,
    t: int,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    weight_decay: float,
    buffer_starts_at_zero: bool = False,
    decay_after_momentum: bool = False,
    nesterov_on_old_buffer: bool = False,
    decay_of_grad: bool = False,
    lr_twice: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """One step of torch.optim.SGD's documented algorithm; the state is the velocity b."""
    decay = weight_decay * (grad if decay_of_grad else theta)
    direction = grad if decay_after_momentum else grad + decay
    # lr folded into the buffer (b = momentum * b + lr * grad), and param -= lr * b again
    into_buffer = lr * direction if lr_twice else direction
    if momentum != 0:
        old_velocity = into_buffer if velocity is None else velocity
        if velocity is not None:
            velocity = momentum * velocity + (1 - dampening) * into_buffer
        elif buffer_starts_at_zero:
            velocity = (1 - dampening) * into_buffer
        else:
            velocity = into_buffer
        looked_ahead = old_velocity if nesterov_on_old_buffer else velocity
        direction = (direction + momentum * looked_ahead) if nesterov else velocity
    if decay_after_momentum:
        direction = direction + decay
    return theta - lr * direction, velocity


def adam_reference(
    theta: np.ndarray,
    grad: np.ndarray,
    moments: tuple[np.ndarray, np.ndarray] | None,
    t: int,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    bias_correction: tuple[bool, bool] = (True, True),
    eps_inside_sqrt: bool = False,
    decay_without_lr: bool = False,
    swapped_betas: bool = False,
    no_sqrt: bool = False,
    eps_after_division: bool = False,
    decay_in_both_places: bool = False,
    decay_after_step: bool = False,
    second_corrected_with_beta1: bool = False,
    correction2_outside_sqrt: bool = False,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """One step of torch.optim.Adam's documented algorithm (AdamW if decoupled); state (m, v)."""
    beta1, beta2 = betas
    first, second = moments if moments is not None else (0.0, 0.0)
    if decoupled_weight_decay and not decay_after_step:
        theta = theta - (1.0 if decay_without_lr else lr) * weight_decay * theta
    if not decoupled_weight_decay or decay_in_both_places:
        grad = grad + weight_decay * theta
    keep1, keep2 = (1 - beta1, 1 - beta2) if swapped_betas else (beta1, beta2)
    first = keep1 * first + (1 - keep1) * grad
    second = keep2 * second + (1 - keep2) * grad**2
    correction1 = 1 - beta1**t if bias_correction[0] else 1.0
    correction2 = 1 - (beta1 if second_corrected_with_beta1 else beta2) ** t
    if not bias_correction[1]:
        correction2 = 1.0
    if correction2_outside_sqrt:  # sqrt(v) / (1 - beta2**t): the correction not square-rooted
        correction2 = correction2**2
    if eps_inside_sqrt:
        denominator = np.sqrt(second / correction2 + eps)
    elif no_sqrt:
        denominator = second / correction2 + eps
    else:
        denominator = np.sqrt(second) / math.sqrt(correction2) + eps
    if eps_after_division:
        step = (lr / correction1) * first / (np.sqrt(second) / math.sqrt(correction2)) + eps
    else:
        step = (lr / correction1) * first / denominator
    if decoupled_weight_decay and decay_after_step:
        return theta - step - lr * weight_decay * (theta - step), (first, second)
    return theta - step, (first, second)


UPDATES: dict[str, Callable] = {"sgd": sgd_reference, "adam": adam_reference}

# (hint, the switches or hyperparameters that reproduce the mistake), per update rule
SGD_MISTAKES = [
    (
        "the parameters move up the gradient: subtract lr * direction",
        lambda hp: {"lr": -hp["lr"]},
    ),
    ("the learning rate is not applied", lambda hp: {"lr": 1.0}),
    (
        "weight decay is missing: add weight_decay * param to the gradient first",
        lambda hp: {"weight_decay": 0.0},
    ),
    (
        "weight decay has the wrong sign: the gradient gets + weight_decay * param",
        lambda hp: {"weight_decay": -hp["weight_decay"]},
    ),
    (
        "weight decay is added after the momentum; add it to the gradient before "
        "updating the momentum buffer",
        lambda hp: {"decay_after_momentum": True},
    ),
    (
        "the first step's momentum buffer is (1 - dampening) * grad, as if it started "
        "at zero: at the first step, buffer = grad.copy(), with no dampening",
        lambda hp: {"buffer_starts_at_zero": True},
    ),
    (
        "dampening is applied the wrong way round: buffer = momentum * buffer "
        "+ (1 - dampening) * grad",
        lambda hp: {"dampening": 1 - hp["dampening"]},
    ),
    (
        "Nesterov is missing: with nesterov=True the step uses grad + momentum * buffer",
        lambda hp: {"nesterov": False},
    ),
    (
        "Nesterov looks ahead with the old buffer: update the buffer first, then step "
        "along grad + momentum * (the new buffer)",
        lambda hp: {"nesterov_on_old_buffer": True},
    ),
    (
        "the momentum is not used: keep the buffer in the parameter's state between "
        "steps and step along it",
        lambda hp: {"momentum": 0.0},
    ),
    (
        "weight decay is weight_decay * grad: it is weight_decay * param, added to the "
        "gradient (grad = grad + weight_decay * param)",
        lambda hp: {"decay_of_grad": True},
    ),
    (
        "the learning rate is applied twice: folded into the momentum buffer (buffer = "
        "momentum * buffer + lr * grad) and multiplying the step again; keep it out of the "
        "buffer: buffer = momentum * buffer + (1 - dampening) * grad, then param -= lr * buffer",
        lambda hp: {"lr_twice": True},
    ),
]
ADAM_MISTAKES = [
    (
        "the parameters move up the gradient: subtract the step",
        lambda hp: {"lr": -hp["lr"]},
    ),
    (
        "bias correction missing: divide m by (1 - beta1**t) and v by (1 - beta2**t)",
        lambda hp: {"bias_correction": (False, False)},
    ),
    (
        "bias correction of the first moment missing: m_hat = m / (1 - beta1**t)",
        lambda hp: {"bias_correction": (False, True)},
    ),
    (
        "bias correction of the second moment missing: v_hat = v / (1 - beta2**t)",
        lambda hp: {"bias_correction": (True, False)},
    ),
    (
        "eps is added inside the square root: use sqrt(v_hat) + eps",
        lambda hp: {"eps_inside_sqrt": True},
    ),
    (
        "the running averages weight the new gradient by beta: "
        "m = beta1 * m + (1 - beta1) * grad (likewise v)",
        lambda hp: {"swapped_betas": True},
    ),
    (
        "the step count t grows once per parameter instead of once per step: "
        "keep one count per parameter, in its state",
        lambda hp: {"shared_step_count": True},
    ),
    (
        "the step count is off by one: t must be 1 at the first step",
        lambda hp: {"step_offset": 1},
    ),
    ("weight decay is missing", lambda hp: {"weight_decay": 0.0}),
    (
        "weight decay must be decoupled here (param *= 1 - lr * weight_decay), "
        "not added to the gradient",
        lambda hp: {"decoupled_weight_decay": False},
    ),
    (
        "weight decay must be added to the gradient here (grad + weight_decay * param), "
        "not decoupled",
        lambda hp: {"decoupled_weight_decay": True},
    ),
    (
        "decoupled weight decay must be scaled by the learning rate: "
        "param *= 1 - lr * weight_decay",
        lambda hp: {"decay_without_lr": True},
    ),
    (
        "the square root of the second moment is missing: divide by sqrt(v_hat) + eps",
        lambda hp: {"no_sqrt": True},
    ),
    (
        "eps is added to the step, not to the denominator: write "
        "m_hat / (sqrt(v_hat) + eps), with the brackets",
        lambda hp: {"eps_after_division": True},
    ),
    (
        "weight decay is both decoupled and added to the gradient: with "
        "decoupled_weight_decay, only shrink the parameter (use elif)",
        lambda hp: {"decay_in_both_places": True},
    ),
    (
        "decoupled weight decay is applied after the Adam step: shrink the parameter "
        "first (param *= 1 - lr * weight_decay), then step",
        lambda hp: {"decay_after_step": True},
    ),
    (
        "weight decay is added to the gradient, and the decoupled decay applied after "
        "the Adam step: with decoupled_weight_decay, only shrink the parameter "
        "(param *= 1 - lr * weight_decay), before the step (use elif)",
        lambda hp: {"decay_after_step": True, "decay_in_both_places": True},
    ),
    (
        "the second moment is bias-corrected with beta1: v_hat = v / (1 - beta2**t)",
        lambda hp: {"second_corrected_with_beta1": True},
    ),
    (
        "the bias correction of v is outside the square root (sqrt(v) / (1 - beta2**t)): "
        "correct first, v_hat = v / (1 - beta2**t), then divide by sqrt(v_hat) + eps",
        lambda hp: {"correction2_outside_sqrt": True},
    ),
]
MISTAKES = {"sgd": SGD_MISTAKES, "adam": ADAM_MISTAKES}


def rule_of(algorithm: str) -> str:
    """The update rule of an algorithm: AdamW is Adam with decoupled weight decay."""
    return "sgd" if algorithm == "sgd" else "adam"


def reference_settings(algorithm: str, hyperparameters: dict) -> dict:
    """The reference function's keyword arguments for an optimizer's hyperparameters."""
    settings = {**hyperparameters, **check.ALGORITHMS[algorithm].get("fixed", {})}
    if "betas" in settings:
        settings["betas"] = tuple(settings["betas"])
    return settings


# -- teacher forcing -----------------------------------------------------------------------


def teacher_forced_steps(
    update: Callable, problem: check.Problem, settings: dict, *, free_running: bool = False
) -> list[list[np.ndarray]]:
    """``update``'s parameters after each step ``[step][param]``, each step taken from the
    recorded parameters before it (``problem.before(step)``) and the recorded gradients;
    the state (buffers, moments) is ``update``'s own, carried from step to step.

    ``free_running``: each step starts from ``update``'s own previous parameters instead
    (rounded to the problem's dtype): that is how the reference's steps are recorded.
    """
    settings = dict(settings)
    shared_step_count = settings.pop("shared_step_count", False)
    step_offset = settings.pop("step_offset", 0)
    count = len(problem.thetas)
    states: list[Any] = [None] * count
    steps: list[list[np.ndarray]] = []
    for step, step_grads in enumerate(problem.grads):
        if free_running:
            before = problem.thetas if step == 0 else problem.rounded(steps[-1])
        else:
            before = problem.before(step)
        after = []
        for i, (theta, grad) in enumerate(zip(before, step_grads, strict=True)):
            t = step * count + i + 1 if shared_step_count else step + 1
            with np.errstate(all="ignore"):
                theta, states[i] = update(theta, grad, states[i], t + step_offset, **settings)
            after.append(np.asarray(theta, dtype=np.float64))
        steps.append(after)
    return steps


def reference_problem(
    algorithm: str, hyperparameters: dict, seed: int, dtype: str
) -> check.Problem:
    """The random problem of ``seed`` with the reference's steps."""
    thetas, grads = check.random_problem(seed, dtype)
    problem = check.Problem(thetas, grads, [], dtype)
    problem.expected = teacher_forced_steps(
        UPDATES[rule_of(algorithm)],
        problem,
        reference_settings(algorithm, hyperparameters),
        free_running=True,
    )
    return problem


def recorded_mistakes(algorithm: str, hyperparameters: dict, problem: check.Problem) -> list:
    """Each known mistake that departs from the reference: (hint, step, its parameters there)."""
    settings = reference_settings(algorithm, hyperparameters)
    update = UPDATES[rule_of(algorithm)]
    found = []
    for hint, overrides in MISTAKES[rule_of(algorithm)]:
        mutant = {**settings, **overrides(settings)}
        if mutant == settings:
            continue
        steps = teacher_forced_steps(update, problem, mutant)
        departure = problem.first_mismatch(steps)
        if departure is not None:
            step, _ = departure
            found.append({"hint": hint, "step": step, "params": flat(steps[step])})
    return found


# -- which cases are recorded -------------------------------------------------------------

# The graded tests draw from these suites: (algorithm, fixed hyperparameters, random ones
# as name -> draw(rng)), 8 cases each, the ranges those of the graded tests.
CASES_PER_SUITE = 8
GRADED_SUITES: dict[str, tuple[str, dict, dict]] = {
    "sgd-plain": ("sgd", {}, {"lr": lambda rng: rng.uniform(1e-3, 1.0)}),
    "sgd-momentum": (
        "sgd",
        {},
        {
            "lr": lambda rng: rng.uniform(1e-3, 1.0),
            "momentum": lambda rng: rng.uniform(0.1, 0.99),
            "dampening": lambda rng: float(rng.choice([0.0, 0.1, 0.5])),
        },
    ),
    "sgd-nesterov": (
        "sgd",
        {"nesterov": True},
        {"lr": lambda rng: rng.uniform(1e-3, 1.0), "momentum": lambda rng: rng.uniform(0.1, 0.99)},
    ),
    "sgd-weight-decay": (
        "sgd",
        {"lr": 0.1},
        {
            "momentum": lambda rng: float(rng.choice([0.0, 0.9])),
            "weight_decay": lambda rng: rng.uniform(1e-4, 0.1),
        },
    ),
    "adam-default": ("adam", {}, {"lr": lambda rng: rng.uniform(1e-4, 0.1)}),
    "adam-betas": (
        "adam",
        {"lr": 0.01},
        {
            "betas": lambda rng: (rng.uniform(0.5, 0.99), rng.uniform(0.9, 0.9999)),
            "eps": lambda rng: float(rng.choice([1e-8, 1e-6, 1e-3])),
        },
    ),
    "adam-weight-decay": (
        "adam",
        {"lr": 0.01},
        {"weight_decay": lambda rng: rng.uniform(1e-4, 0.1)},
    ),
    "adam-decoupled": (
        "adam",
        {"lr": 0.01, "decoupled_weight_decay": True},
        {"weight_decay": lambda rng: rng.uniform(1e-3, 0.5)},
    ),
    # The test suite's: any hyperparameters, either dtype (tests/test_check_optimizers.py).
    "sgd-any": (
        "sgd",
        {},
        {
            "lr": lambda rng: rng.uniform(1e-4, 1.0),
            "momentum": lambda rng: rng.uniform(0.0, 0.99),
            "dampening": lambda rng: rng.uniform(0.0, 0.99),
            "weight_decay": lambda rng: rng.uniform(0.0, 0.5),
            "dtype": lambda rng: str(rng.choice(["float64", "float32"])),
        },
    ),
    "sgd-nesterov-any": (
        "sgd",
        {"nesterov": True},
        {
            "lr": lambda rng: rng.uniform(1e-4, 1.0),
            "momentum": lambda rng: rng.uniform(0.1, 0.99),
            "weight_decay": lambda rng: rng.uniform(0.0, 0.5),
            "dtype": lambda rng: str(rng.choice(["float64", "float32"])),
        },
    ),
    "adam-any": (
        "adam",
        {},
        {
            "lr": lambda rng: rng.uniform(1e-4, 0.5),
            "betas": lambda rng: (rng.uniform(0.0, 0.99), rng.uniform(0.0, 0.999)),
            "eps": lambda rng: rng.uniform(1e-10, 1e-3),
            "weight_decay": lambda rng: rng.uniform(0.0, 0.5),
            "decoupled_weight_decay": lambda rng: bool(rng.integers(2)),
            "dtype": lambda rng: str(rng.choice(["float64", "float32"])),
        },
    ),
}

# Named cases: the visible checks, the book, and the test suite's catalogue of mistakes,
# (algorithm, hyperparameters, seed, dtype).
NAMED_CASES = [
    ("sgd", {"lr": 0.1}, 0, "float64"),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}, 0, "float64"),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, 0, "float64"),
    ("sgd", {"momentum": 0.9, "dampening": 0.5}, 0, "float64"),
    ("sgd", {"momentum": 0.9, "nesterov": True}, 0, "float64"),
    ("sgd", {"momentum": 0.9, "weight_decay": 0.1}, 0, "float64"),
    ("sgd", {"weight_decay": 0.1}, 0, "float64"),
    ("sgd", {"momentum": 0.9}, 0, "float64"),
    ("adam", {"lr": 0.01}, 0, "float64"),
    ("adam", {}, 0, "float64"),
    ("adam", {}, 0, "float32"),
    ("adam", {"weight_decay": 0.1, "betas": (0.8, 0.99)}, 0, "float64"),
    ("adam", {"weight_decay": 0.1, "decoupled_weight_decay": True}, 0, "float32"),
    ("adamw", {}, 0, "float64"),
    ("adamw", {"weight_decay": 0.1}, 0, "float64"),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}, 0, "float64"),
    ("adamw", {"lr": 0.05, "weight_decay": 0.5}, 0, "float32"),
    # beta2 near 0, large weight decay and lr, float32: compared along a free-running
    # trajectory, a correct Adam drifted beyond the tolerance here (errors compound).
    (
        "adam",
        {
            "lr": 0.36964513762751827,
            "betas": (0.9280549256921652, 0.0009383101253724491),
            "eps": 0.00011472134580372696,
            "weight_decay": 0.4924946220486089,
        },
        542,
        "float32",
    ),
    (
        "adam",
        {
            "lr": 0.4213468379114964,
            "betas": (0.33261056071543804, 4.80202799978402e-06),
            "eps": 3.0804677466312713e-09,
            "weight_decay": 0.35793907495422833,
        },
        68,
        "float32",
    ),
]
SUITE_SEED = 20_250_006


def suite_cases(name: str) -> list[tuple[str, dict, int, str]]:
    """The cases of a graded suite, drawn from a generator seeded by the suite's name."""
    algorithm, fixed, drawn = GRADED_SUITES[name]
    rng = np.random.default_rng([SUITE_SEED, *name.encode()])
    cases = []
    for _ in range(CASES_PER_SUITE):
        values = {key: draw(rng) for key, draw in drawn.items()}
        dtype = values.pop("dtype", "float64")
        cases.append((algorithm, {**fixed, **values}, int(rng.integers(0, 2**31)), dtype))
    return cases


def flat(arrays: list[np.ndarray]) -> list[float]:
    """The entries of each array in turn, as floats (JSON keeps them exactly)."""
    return [float(x) for array in arrays for x in np.ravel(array)]


def record_case(algorithm: str, hyperparameters: dict, seed: int, dtype: str) -> dict:
    """One recorded case: its key, the problem and the reference's steps, the mistakes'."""
    full = check.full_hyperparameters(algorithm, hyperparameters)
    problem = reference_problem(algorithm, full, seed, dtype)
    return {
        "key": check.case_key(algorithm, full, seed, dtype),
        "algorithm": algorithm,
        "hyperparameters": full,
        "seed": seed,
        "dtype": dtype,
        "thetas": flat(problem.thetas),
        "grads": [flat(step) for step in problem.grads],
        "expected": [flat(step) for step in problem.expected],
        "mistakes": recorded_mistakes(algorithm, full, problem),
    }


def recorded_data() -> dict:
    """Every recorded case, and the suites as lists of case keys."""
    cases, suites = {}, {}
    for name in GRADED_SUITES:
        suites[name] = []
        for case in suite_cases(name):
            recorded = record_case(*case)
            cases[recorded["key"]] = recorded
            suites[name].append(recorded["key"])
    for case in NAMED_CASES:
        recorded = record_case(*case)
        cases[recorded["key"]] = recorded
    return {
        "steps": check.STEPS,
        "shapes": check.PARAMETER_SHAPES,
        "suites": suites,
        "cases": cases,
    }


def sealed_and_public(data: dict) -> tuple[dict, dict]:
    """``data`` split in two: the graded suites with their cases, sealed (the grader sends
    them to the sandbox, ``pancake.testing.optimizers.add_recorded``), and the rest, public
    (the visible checks' and the book's cases), for the copies of pancake that learners and
    answers can read. An answer that reads the expected steps from a file finds none to
    look up."""
    graded = {key for keys in data["suites"].values() for key in keys}
    sealed = {
        "suites": data["suites"],
        "cases": {key: data["cases"][key] for key in sorted(graded)},
    }
    public = {
        **data,
        "suites": {},
        "cases": {key: case for key, case in data["cases"].items() if key not in graded},
    }
    return sealed, public


def sealed_for(sources: list[str]) -> dict | None:
    """The sealed suites that graded tests of ``sources`` draw from
    (``recorded_settings("name")``), with their cases; None if they draw from none."""
    named = {name for source in sources for name in SUITE_NAMED.findall(source)}
    if not named:
        return None
    sealed, _ = sealed_and_public(check.recorded())
    suites = {name: sealed["suites"][name] for name in sorted(named)}
    return {
        "suites": suites,
        "cases": {key: sealed["cases"][key] for keys in suites.values() for key in keys},
    }


def public_module_text() -> str:
    """The text of ``optimizer_trajectories.py`` for the learner edition and the grading
    environments: the shipped recording without its graded suites."""
    return module_text(sealed_and_public(check.recorded())[1])


def module_text(data: dict) -> str:
    """The text of ``pancake/testing/optimizer_trajectories.py``: the data, compressed."""
    packed = base64.b64encode(zlib.compress(json.dumps(data, sort_keys=True).encode(), 9)).decode()
    chunks = "\n".join(f'    "{packed[i : i + 84]}"' for i in range(0, len(packed), 84))
    return (
        '"""Recorded optimizer steps that ``check_optimizer`` compares with: written by\n'
        "``make exercises`` (``pancake.course.optimizer_trajectories``); do not edit.\n\n"
        "JSON, compressed with zlib, in base64.\n"
        '"""\n\n'
        f"RECORDED = (\n{chunks}\n)\n"
    )


def main() -> None:
    """Rewrite the recorded module when its text changes (``make exercises`` runs this)."""
    text = module_text(recorded_data())
    if not RECORDED_MODULE.exists() or RECORDED_MODULE.read_text() != text:
        RECORDED_MODULE.write_text(text)
    print(f"optimizer steps recorded in {RECORDED_MODULE}")


if __name__ == "__main__":
    main()
