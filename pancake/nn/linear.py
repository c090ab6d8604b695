"""The fully connected (affine) layer."""

from __future__ import annotations

import numpy as np

from pancake import init
from pancake.nn.module import Module, Parameter
from pancake.ops import as_float_array


class Linear(Module):
    """y = x @ weight + bias: ``(*, in_features) -> (*, out_features)``.

    ``weight`` has shape ``(in_features, out_features)`` and ``bias`` ``(out_features,)``;
    both start as U(-1/sqrt(in_features), 1/sqrt(in_features)), as in PyTorch.
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
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got {in_features} -> {out_features}")
        self.in_features = in_features
        self.out_features = out_features
        weight, bias_values = init.linear_weights(
            in_features, out_features, bias, rng=rng, dtype=dtype
        )
        self.weight = Parameter(weight)
        self.bias = None if bias_values is None else Parameter(bias_values)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*, in_features) -> (*, out_features)``."""
        x = as_float_array(x, self)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r} expects inputs whose last axis is {self.in_features}, got shape {x.shape}"
            )
        ### BEGIN SOLUTION
        self.save_for_backward(x)
        output = x @ self.weight.data
        if self.bias is not None:
            output = output + self.bias.data
        return output
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*, out_features) -> (*, in_features)``; accumulates weight and bias gradients.

        Returns None when ``needs_input_grad`` is False (a first layer, whose input is data).
        """
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        (x,) = self.saved_tensors
        # Flatten the leading (batch) axes: every row contributes to the parameter gradients.
        rows = x.reshape(-1, self.in_features)
        grad_rows = grad_output.reshape(-1, self.out_features)
        self.weight.grad += rows.T @ grad_rows
        if self.bias is not None:
            self.bias.grad += grad_rows.sum(axis=0)
        ### END SOLUTION
        if not self.needs_input_grad:
            return None  # the input is data: skip the largest product of the step
        ### BEGIN SOLUTION
        return grad_output @ self.weight.data.T
        ### END SOLUTION

    def extra_repr(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return f"{self.in_features} -> {self.out_features}{bias}"
