"""``GradientTape``, as in TensorFlow 2: a list of the operations in the order they ran.

Inside ``with GradientTape() as tape:`` every operation on a *watched* tensor is appended
to the tape; ``tape.gradient(target, sources)`` walks that list backwards. The operations
are the Functions the Tensor graph records (``grad_fn``), and the walk calls the same
``backward`` of each; only the record differs: a list in execution order instead of links
from each tensor to the operation that made it.

>>> x = Tensor(3.0)
>>> with GradientTape() as tape:
...     tape.watch(x)
...     y = x * x
>>> tape.gradient(y, x)
Tensor(6.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pancake.autograd.tensor import (
    Function,
    Gradient,
    Tensor,
    add_gradient,
    backward_step,
    recording_tapes,
    seed_gradient,
)


class GradientTape:
    """Records the operations on watched tensors while its ``with`` block runs.

    Watched: the tensors passed to ``watch``, every leaf created with
    ``requires_grad=True`` (TensorFlow's variables), and every output of a recorded
    operation. A tape gives one ``gradient`` unless ``persistent=True``. Tapes nest: the
    gradients an inner tape computes inside an outer tape's block are recorded by the
    outer one, which can then differentiate them (second derivatives).
    """

    def __init__(self, persistent: bool = False):
        self.persistent = persistent
        self.operations: list[tuple[Function, Tensor]] | None = []
        self.watched: set[Tensor] = set()

    def __enter__(self) -> GradientTape:
        recording_tapes.append(self)
        return self

    def __exit__(self, *exception) -> None:
        recording_tapes.remove(self)

    def watch(self, tensors: Tensor | Sequence[Tensor]) -> None:
        """Record the operations on ``tensors`` (one Tensor or several) from now on."""
        self.watched.update(as_list(tensors))

    def is_watched(self, tensor: Tensor) -> bool:
        """True for watched tensors, outputs recorded here, and leaves that require a gradient."""
        return tensor in self.watched or (tensor.requires_grad and tensor.grad_fn is None)

    def record(self, function: Function, output: Tensor) -> None:
        """Called for every operation run while the tape is active (``function.inputs`` is set).

        Appends ``(function, output)`` when an input is watched, and watches the output.
        """
        ### BEGIN SOLUTION
        if any(self.is_watched(tensor) for tensor in function.inputs):
            self.operations.append((function, output))
            self.watched.add(output)
        ### END SOLUTION

    def gradient(
        self, target: Tensor, sources: Tensor | Sequence[Tensor], output_gradients=None
    ) -> Tensor | list[Tensor | None] | None:
        """d(target)/d(source) for one source (a Tensor) or several (a list); None if unconnected.

        ``output_gradients`` (of the target's shape) defaults to ones: the gradient of
        ``target.sum()``. Under another active tape the gradients are Tensors it records.
        """
        if self.operations is None:
            raise RuntimeError(
                "GradientTape.gradient can only be called once on a non-persistent tape: "
                "create it with GradientTape(persistent=True) to call it several times"
            )
        outer_tapes = [tape for tape in recording_tapes if tape is not self]
        if output_gradients is None:
            output_gradients = np.ones_like(target.data)
        seed = seed_gradient("gradient", target, output_gradients, bool(outer_tapes))
        # The tape does not record its own backward pass, even inside its `with` block.
        active = self in recording_tapes
        if active:
            recording_tapes.remove(self)
        try:
            grads = walk_tape(self.operations, target, seed, self.is_watched)
        finally:
            if active:
                recording_tapes.append(self)
        if not self.persistent:
            self.operations = None  # release the recorded operations and what they saved
        found = [as_gradient_tensor(grads.get(source)) for source in as_list(sources)]
        return found[0] if isinstance(sources, Tensor) else found


def walk_tape(
    operations: list[tuple[Function, Tensor]], target: Tensor, seed: Gradient, is_watched
) -> dict[Tensor, Gradient]:
    """The gradient of ``target`` with respect to every tensor the recorded operations reach.

    Walks the record from the last operation to the first: an output's gradient is
    complete once every later operation has run its backward. ``is_watched(tensor)``
    says which inputs receive a gradient.
    """
    ### BEGIN SOLUTION
    grads: dict[Tensor, Gradient] = {target: seed}
    for function, output in reversed(operations):
        grad = grads.get(output)
        if grad is None:  # the target does not depend on this operation
            continue
        for tensor, tensor_grad in zip(
            function.inputs, backward_step(function, output, grad), strict=True
        ):
            if is_watched(tensor):
                add_gradient(grads, tensor, tensor_grad)
    return grads
    ### END SOLUTION


def as_list(tensors: Tensor | Sequence[Tensor]) -> list[Tensor]:
    """``[tensors]`` for one Tensor, ``list(tensors)`` for several."""
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def as_gradient_tensor(grad: Gradient | None) -> Tensor | None:
    """A gradient as a Tensor (an array is wrapped; a Tensor, with its graph, is kept)."""
    return grad if grad is None or isinstance(grad, Tensor) else Tensor(grad)
