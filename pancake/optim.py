"""Optimizers: update parameters in place from their gradients, following ``torch.optim``.

An optimizer works on anything with a ``.data`` and a ``.grad`` array (a ``Parameter``,
or an autograd tensor); parameters whose ``.grad`` is None are skipped. ``step()`` reads
the gradients without changing them and updates the parameters in place
(``param.data -= ...``), because layers hold references to these arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np


class Optimizer:
    """Base class: the parameters, their settings, one state dict per parameter, ``step()``.

    A subclass passes its settings as ``defaults`` (``{"lr": 0.1, "momentum": 0.9}``): the
    base class checks that every number among them is >= 0, makes each an attribute
    (``self.lr``) for the update rule to read, and prints them in ``repr``. Subclasses hold
    only their update rule, in ``step()``.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        if hasattr(params, "parameters"):
            raise TypeError(
                f"{type(self).__name__} takes the parameters, not the model: "
                "pass model.parameters()"
            )
        self.params = list(params)
        if not self.params:
            raise ValueError(
                f"{type(self).__name__} got no parameters to optimize; "
                "does the model have any (model.parameters() was empty)?"
            )
        for index, param in enumerate(self.params):
            if not (hasattr(param, "data") and hasattr(param, "grad")):
                raise TypeError(
                    f"{type(self).__name__}: parameter {index} is a {type(param).__name__}; "
                    "optimizers need objects with .data and .grad arrays (model.parameters())"
                )
        for name, value in defaults.items():
            if isinstance(value, float) and not value >= 0:  # also rejects NaN
                raise ValueError(f"{type(self).__name__}: {name} must be >= 0, got {value}")
        self.defaults = dict(defaults)
        for name, value in self.defaults.items():
            setattr(self, name, value)
        # state[i] holds what the update rule keeps between steps for params[i] (momentum, moments).
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def params_with_grad(self) -> Iterator[tuple[Any, dict[str, Any]]]:
        """Each parameter that has a gradient, with its state dict."""
        for param, state in zip(self.params, self.state, strict=True):
            if param.grad is not None:
                yield param, state

    def zero_grad(self) -> None:
        """Set every gradient to zero, in place."""
        for param, _ in self.params_with_grad():
            param.grad[...] = 0

    def step(self) -> None:
        """Update every parameter from its gradient."""
        raise NotImplementedError(f"{type(self).__name__} has no step()")

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={getattr(self, name)}" for name in self.defaults)
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.

    Per parameter: g ← grad + λθ; b ← μb + (1 - τ)g (b ← g at the first step);
    g ← g + μb (Nesterov) or b; θ ← θ - lr·g. As in ``torch.optim.SGD``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        settings = dict(
            lr=float(lr),
            momentum=float(momentum),
            dampening=float(dampening),
            nesterov=bool(nesterov),
            weight_decay=float(weight_decay),
        )
        super().__init__(params, settings)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")

    def step(self) -> None:
        """Update every (param, state) of ``self.params_with_grad()``; momentum lives in state."""
        ### BEGIN SOLUTION
        for param, state in self.params_with_grad():
            grad = param.grad
            if self.weight_decay != 0:
                grad = grad + self.weight_decay * param.data
            if self.momentum != 0:
                if "momentum_buffer" not in state:
                    buffer = grad.copy()
                else:
                    buffer = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * grad
                state["momentum_buffer"] = buffer
                if self.nesterov:
                    grad = grad + self.momentum * buffer
                else:
                    grad = buffer
            param.data -= self.lr * grad
        ### END SOLUTION


class Adam(Optimizer):
    """Adam: steps of lr·m̂/(√v̂ + eps), with m, v running means of the gradient and its square.

    ``weight_decay`` adds λθ to the gradient (an L2 penalty); with
    ``decoupled_weight_decay=True`` it shrinks θ by lr·λ·θ instead (that is AdamW).
    As in ``torch.optim.Adam`` (amsgrad and maximize are not supported).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        decoupled_weight_decay: bool = False,
    ):
        beta1, beta2 = betas
        settings = dict(
            lr=float(lr),
            betas=(float(beta1), float(beta2)),
            eps=float(eps),
            weight_decay=float(weight_decay),
            decoupled_weight_decay=bool(decoupled_weight_decay),
        )
        super().__init__(params, settings)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"{type(self).__name__}: betas must lie in [0, 1), got {betas}")

    def step(self) -> None:
        """Update every (param, state) of ``self.params_with_grad()``; moments live in state."""
        ### BEGIN SOLUTION
        beta1, beta2 = self.betas
        for param, state in self.params_with_grad():
            grad = param.grad
            if self.decoupled_weight_decay:
                param.data *= 1 - self.lr * self.weight_decay
            elif self.weight_decay != 0:
                grad = grad + self.weight_decay * param.data
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(param.data)
                state["exp_avg_sq"] = np.zeros_like(param.data)
            state["step"] += 1
            state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad
            state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
            # Bias correction: the moments start at zero, so early averages are too small.
            exp_avg_hat = state["exp_avg"] / (1 - beta1 ** state["step"])
            exp_avg_sq_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])
            param.data -= self.lr * exp_avg_hat / (np.sqrt(exp_avg_sq_hat) + self.eps)
        ### END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ - lr·λ·θ, then the Adam step on the raw gradient."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True)


def clip_grad_norm(parameters: Iterable[Any], max_norm: float) -> float:
    """Scale all gradients in place so that their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping, as ``torch.nn.utils.clip_grad_norm_`` does.
    """
    grads = [param.grad for param in parameters if param.grad is not None]
    total_norm = math.sqrt(sum(float(np.vdot(grad, grad)) for grad in grads))
    scale = max_norm / (total_norm + 1e-6)
    if scale < 1:
        for grad in grads:
            grad *= scale
    return total_norm
