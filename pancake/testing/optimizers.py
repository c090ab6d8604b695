"""Check an optimizer step for step against PyTorch's documented algorithms.

``check_optimizer`` runs an optimizer class on random parameters and gradients and
compares every step with a reference written here as pure functions of the algorithms
documented by PyTorch (a formulation independent of ``pancake.optim``), and recognises
common mistakes by the reference switches that reproduce them. It uses only documented
behaviour: the constructor arguments, ``step()`` and ``zero_grad()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pancake.nn.module import Parameter
from pancake.testing.reports import PropertyReport

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
) -> tuple[np.ndarray, np.ndarray | None]:
    """One step of torch.optim.SGD's documented algorithm; the state is the velocity b."""
    decay = weight_decay * theta
    direction = grad if decay_after_momentum else grad + decay
    if momentum != 0:
        old_velocity = direction if velocity is None else velocity
        if velocity is not None:
            velocity = momentum * velocity + (1 - dampening) * direction
        elif buffer_starts_at_zero:
            velocity = (1 - dampening) * direction
        else:
            velocity = direction
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
    correction2 = 1 - beta2**t if bias_correction[1] else 1.0
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


ALGORITHMS: dict[str, dict[str, Any]] = {
    "sgd": {
        "name": "SGD",
        "update": sgd_reference,
        "defaults": {
            "lr": 0.1,
            "momentum": 0.0,
            "dampening": 0.0,
            "nesterov": False,
            "weight_decay": 0.0,
        },
        # (hint, the switches or hyperparameters that reproduce the mistake)
        "mistakes": [
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
        ],
    },
    "adam": {
        "name": "Adam",
        "update": adam_reference,
        "defaults": {
            "lr": 1e-3,
            "betas": (0.9, 0.999),
            "eps": 1e-8,
            "weight_decay": 0.0,
            "decoupled_weight_decay": False,
        },
        "mistakes": [
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
        ],
    },
}
ALGORITHMS["adamw"] = {
    **ALGORITHMS["adam"],
    "name": "AdamW",
    "defaults": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2},
    "fixed": {"decoupled_weight_decay": True},
}


def reference_trajectory(
    update: Callable, thetas: list[np.ndarray], grads: list[list[np.ndarray]], settings: dict
) -> list[list[np.ndarray]]:
    """The parameters after each step, ``[step][param]``, computed with the pure ``update``."""
    settings = dict(settings)
    shared_step_count = settings.pop("shared_step_count", False)
    step_offset = settings.pop("step_offset", 0)
    thetas = list(thetas)
    states: list[Any] = [None] * len(thetas)
    trajectory = []
    for step, step_grads in enumerate(grads, start=1):
        for i, grad in enumerate(step_grads):
            t = (step - 1) * len(thetas) + i + 1 if shared_step_count else step
            thetas[i], states[i] = update(thetas[i], grad, states[i], t + step_offset, **settings)
        trajectory.append(list(thetas))
    return trajectory


# -- check_optimizer ------------------------------------------------------------------------

PARAMETER_SHAPES = ((3, 4), (5,), (2, 1, 3))


@dataclass
class Trial:
    """Starting parameters, gradients ``[step][param]`` and the trajectory the optimizer took."""

    thetas: list[np.ndarray]
    grads: list[list[np.ndarray]]
    got: list[list[np.ndarray]]
    tolerance: float
    kept_grad: str | None = None  # a state entry that was param.grad itself, not a copy

    def first_mismatch(self, expected: list[list[np.ndarray]]) -> tuple[int, int] | None:
        """(step, parameter), counted from 0, of the first difference beyond tolerance.

        Rounding errors grow with the largest values a parameter has taken (updates can
        cancel), so the tolerance is relative to that size, and at least to 1.
        """
        sizes = [max(1.0, float(np.max(np.abs(theta)))) for theta in self.thetas]
        for step, (got_step, expected_step) in enumerate(zip(self.got, expected, strict=True)):
            for i, (g, e) in enumerate(zip(got_step, expected_step, strict=True)):
                sizes[i] = max(sizes[i], float(np.max(np.abs(e))))
                if not np.all(np.abs(g - e) <= self.tolerance * sizes[i]):
                    return step, i
        return None

    def follows(self, update: Callable, settings: dict) -> bool:
        """Whether the trajectory is that of ``update`` with ``settings``, at every step."""
        with np.errstate(all="ignore"):
            expected = reference_trajectory(update, self.thetas, self.grads, settings)
        return self.first_mismatch(expected) is None


def check_optimizer(
    optimizer_cls: type,
    *,
    steps: int = 8,
    seed: int = 0,
    dtype=np.float64,
    algorithm: str | None = None,
    **hyperparameters: Any,
) -> PropertyReport:
    """Run ``optimizer_cls`` for ``steps`` steps and compare each with PyTorch's documented algorithm.

    The algorithm is named by ``algorithm`` ("sgd", "adam", "adamw") or by the class name;
    ``hyperparameters`` (e.g. ``lr=0.1, momentum=0.9``) override the defaults and are all
    passed to the constructor by keyword. Gradients span magnitudes 1e-5 to 10, so that
    eps and bias-correction mistakes show. Raises AssertionError at the first difference.
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
    settings = {**hp, **spec.get("fixed", {})}
    described = f"{optimizer_cls.__name__}({', '.join(f'{k}={v!r}' for k, v in hp.items())})"

    rng = np.random.default_rng(seed)
    # Rounded to dtype first, so that the reference starts from exactly the same numbers.
    thetas = [_rounded(rng.standard_normal(shape), dtype) for shape in PARAMETER_SHAPES]
    grads = [
        [_rounded(_random_gradient(rng, shape), dtype) for shape in PARAMETER_SHAPES]
        for _ in range(steps)
    ]
    got, kept_grad = _run_optimizer(optimizer_cls, hp, thetas, grads, dtype, described)
    tolerance = 1e-10 if np.dtype(dtype) == np.float64 else 1e-5
    trial = Trial(thetas, grads, got, tolerance, kept_grad)
    expected = reference_trajectory(spec["update"], thetas, grads, settings)
    mismatch = trial.first_mismatch(expected)
    if mismatch is not None:
        raise AssertionError(
            _optimizer_failure(described, spec, settings, trial, expected, mismatch)
        )

    lines = [f"{'parameter':<12}{'shape':<12}{'max abs diff':>14}"]
    for i, shape in enumerate(PARAMETER_SHAPES):
        worst = max(float(np.max(np.abs(g[i] - e[i]))) for g, e in zip(got, expected, strict=True))
        lines.append(f"{i:<12}{str(shape):<12}{worst:>14.2e}")
    lines.append("zero_grad() zeroes every gradient: OK")
    title = f"optimizer check of {described}: OK ({steps} steps in {np.dtype(dtype)}, against PyTorch's algorithm)"
    return PropertyReport(title, lines)


def _rounded(values: np.ndarray, dtype) -> np.ndarray:
    """``values`` rounded to ``dtype``, held in float64."""
    return values.astype(dtype).astype(np.float64)


def _random_gradient(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal entries scaled by 10^U(-5, 1): small and large gradients in every tensor."""
    return rng.standard_normal(shape) * 10.0 ** rng.uniform(-5, 1, shape)


def _run_optimizer(optimizer_cls, hp, thetas, grads, dtype, described):
    """Step the optimizer under test through ``grads``: the parameters after each step, and
    the key of a state entry that was a parameter's .grad itself (or None)."""
    params = [Parameter(theta.astype(dtype)) for theta in thetas]
    arrays = [param.data for param in params]
    optimizer = optimizer_cls((param for param in params), **hp)
    trajectory = []
    kept_grad = None
    for step, step_grads in enumerate(grads, start=1):
        for param, grad in zip(params, step_grads, strict=True):
            param.grad[...] = grad
        optimizer.step()
        kept_grad = kept_grad or _state_keeping_grad(optimizer, params)
        for i, (param, array, grad) in enumerate(zip(params, arrays, step_grads, strict=True)):
            where = f"{described}, step {step}, parameter {i} of shape {array.shape}"
            if param.data is not array:
                raise AssertionError(
                    f"{where}: step() replaced param.data by a new array; update it in place "
                    "(param.data -= ...), because layers hold references to it"
                )
            if param.data.dtype != np.dtype(dtype):
                raise AssertionError(
                    f"{where}: the parameter changed dtype from {np.dtype(dtype)} to "
                    f"{param.data.dtype}; keep the arithmetic in the parameter's dtype"
                )
            if not np.array_equal(param.grad, grad.astype(dtype)):
                raise AssertionError(
                    f"{where}: step() changed param.grad; compute a new array "
                    "(grad = grad + ...) instead of modifying the gradient in place"
                )
        trajectory.append([param.data.astype(np.float64) for param in params])
    optimizer.zero_grad()
    for i, param in enumerate(params):
        if np.any(param.grad != 0):
            raise AssertionError(f"{described}: zero_grad() left parameter {i}'s gradient non-zero")
    return trajectory, kept_grad


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


def _optimizer_failure(described, spec, settings, trial: Trial, expected, mismatch) -> str:
    """The failure message: where, how much, and the likely mistake."""
    step, i = mismatch
    g, e = trial.got[step][i], expected[step][i]
    difference = np.abs(g - e)
    difference[np.isnan(difference)] = np.inf
    worst = np.unravel_index(np.argmax(difference), g.shape)
    return (
        f"{described} differs from PyTorch's {spec['name']} at step {step + 1}, parameter {i} "
        f"of shape {g.shape}: max abs difference {difference[worst]:.3g} at index "
        f"{tuple(int(k) for k in worst)} (expected {e[worst]:.6g}, got {g[worst]:.6g})\n"
        f"Likely mistake: {_optimizer_hint(spec, settings, trial, step)}"
    )


def _optimizer_hint(spec, settings, trial: Trial, step: int) -> str:
    """Name the known mistake whose trajectory matches the one observed, or describe the symptom."""
    for hint, overrides in spec["mistakes"]:
        mutant = {**settings, **overrides(settings)}
        if mutant != settings and trial.follows(spec["update"], mutant):
            return hint
    if trial.kept_grad is not None:
        return (
            f"state[{trial.kept_grad!r}] is param.grad itself, not a copy, so the next "
            "gradient overwrites it: store grad.copy()"
        )
    if not all(np.all(np.isfinite(theta)) for theta in trial.got[step]):
        return "non-finite values (nan or inf): look for a division by zero, e.g. 1 - beta**t with t = 0"
    previous = trial.thetas if step == 0 else trial.got[step - 1]
    if all(np.array_equal(a, b) for a, b in zip(trial.got[step], previous, strict=True)):
        return (
            "step() did not change the parameters: update param.data in place (param.data -= ...)"
        )
    if step > 0:
        return (
            f"the steps before step {step + 1} are right: check what is kept between steps "
            "(momentum buffer, moments, step count) in each parameter's state"
        )
    return "not one of the common mistakes; compare your update with the algorithm line by line"
