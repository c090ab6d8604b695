"""Check the gradients of a function of pancake Tensors against central differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pancake.autograd import Tensor, as_tensor, no_grad
from pancake.testing.gradcheck import DIRECTION_STREAM, compare_inputs, gradient_failure


def check_tensor_gradients(
    f: Callable[..., Tensor],
    *inputs,
    eps: float = 1e-5,
    rtol: float = 1e-6,
    atol: float = 1e-10,
    seed: int = 0,
) -> bool:
    """Compare the gradients of ``f(*tensors)`` from ``backward`` with central differences.

    ``inputs`` are arrays; each becomes a float64 Tensor with ``requires_grad=True``. The
    output is projected on a fixed random direction u, so the checked scalar is
    ``sum(u * f(...))``. Steps, extrapolation and tolerances are those of
    ``pancake.testing.check_gradients``. Returns True or raises ``GradientCheckError``
    naming the input, the worst entry and the likely mistake.
    """
    arrays = [np.array(x, dtype=np.float64) for x in inputs]
    tensors = [Tensor(x, requires_grad=True) for x in arrays]
    output = as_tensor(f(*tensors))
    direction = np.random.default_rng((seed, DIRECTION_STREAM)).standard_normal(output.shape)
    (output * direction).sum().backward()
    magnitude = float(np.abs(np.asarray(output.data, dtype=np.float64) * direction).sum())

    def objective(*values: np.ndarray) -> float:
        with no_grad():
            output = np.asarray(as_tensor(f(*map(Tensor, values))).data, dtype=np.float64)
            return float((output * direction).sum())  # a plain array: see gradcheck

    analytic = [
        np.zeros_like(x) if t.grad is None else t.grad for x, t in zip(arrays, tensors, strict=True)
    ]
    names = [f"input {position}" for position in range(len(arrays))]
    for comparison in compare_inputs(
        objective, arrays, analytic, names, magnitude, eps, rtol, atol
    ):
        if not comparison.passes():
            raise gradient_failure(
                "check_tensor_gradients",
                comparison,
                batch_size=1,
                input_size=comparison.numeric.size,
            )
    return True
