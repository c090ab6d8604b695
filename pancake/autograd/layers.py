"""Layers and a loss built from Tensors: only forward passes, the graph gives the backward."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from pancake import init
from pancake.autograd.functions import log_softmax, matmul, relu, shape_of
from pancake.autograd.tensor import Tensor, as_tensor
from pancake.ops import class_probabilities


def cross_entropy(logits, labels) -> Tensor:
    """Mean softmax cross-entropy: logits ``(batch, classes)``, integer labels ``(batch,)`` -> scalar.

    One-hot (or probability) targets of shape ``(batch, classes)`` work too; log-sum-exp
    keeps it finite for logits of any magnitude.
    """
    logits = as_tensor(logits)
    targets = class_probabilities(logits.data, labels, owner="cross_entropy")
    return -(log_softmax(logits) * targets).sum() / len(logits)


class Layer:
    """Base of the Tensor layers: ``layer(x)`` runs ``forward``; ``parameters()`` lists the weights."""

    def forward(self, x: Tensor) -> Tensor:
        """Compute the output; the recorded graph provides the backward pass."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def parameters(self) -> list[Tensor]:
        """The trainable tensors (``requires_grad=True``), in a fixed order."""
        raise NotImplementedError(f"{type(self).__name__} has no parameters()")

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None: the next backward starts from nothing."""
        for parameter in self.parameters():
            parameter.grad = None

    def __call__(self, x) -> Tensor:
        return self.forward(x)


class Linear(Layer):
    """y = x @ weight + bias: ``(*, in_features) -> (*, out_features)``.

    ``weight`` is ``(in_features, out_features)``, ``bias`` ``(out_features,)``, both drawn
    by ``pancake.init.linear_weights``, as ``pancake.nn.Linear``: the same ``rng`` gives the
    same weights.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: init.Seed = None,
        dtype=np.float64,
    ):
        self.in_features, self.out_features = in_features, out_features
        weight, bias_values = init.linear_weights(
            in_features, out_features, bias, rng=rng, dtype=dtype
        )
        self.weight = Tensor(weight, requires_grad=True)
        self.bias = None if bias_values is None else Tensor(bias_values, requires_grad=True)

    def forward(self, x) -> Tensor:
        """``(*, in_features) -> (*, out_features)``."""
        if not shape_of(x) or shape_of(x)[-1] != self.in_features:
            raise ValueError(
                f"{self!r} expects inputs whose last axis is {self.in_features}, "
                f"got shape {shape_of(x)}"
            )
        y = matmul(x, self.weight)
        return y if self.bias is None else y + self.bias

    def parameters(self) -> list[Tensor]:
        """``[weight, bias]`` (or ``[weight]`` without bias)."""
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def __repr__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"


class MLP(Layer):
    """Linear layers with ``activation`` between them: ``MLP([784, 256, 10])``: ``(*, 784) -> (*, 10)``.

    The last layer has no activation, so the output can be fed to ``cross_entropy`` as logits.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: Callable[[Tensor], Tensor] = relu,
        *,
        rng: init.Seed = None,
        dtype=np.float64,
    ):
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, got {list(sizes)}")
        rng = init.as_generator(rng)
        self.layers = [
            Linear(n_in, n_out, rng=rng, dtype=dtype)
            for n_in, n_out in zip(sizes, sizes[1:], strict=False)
        ]
        self.activation = activation

    def forward(self, x) -> Tensor:
        """``(*, sizes[0]) -> (*, sizes[-1])``."""
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)

    def parameters(self) -> list[Tensor]:
        """Every layer's weight and bias, first layer first."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP({', '.join(repr(layer) for layer in self.layers)})"
