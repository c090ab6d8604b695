"""The two smallest modules of chapter 2: a function with no parameter and one with a parameter."""

from __future__ import annotations

import numpy as np

from pancake.nn.module import Module, Parameter
from pancake.ops import as_float_array


class Square(Module):
    """y = x²: ``(*) -> (*)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        x = as_float_array(x, self)
        ### BEGIN SOLUTION
        self.save_for_backward(x)
        return x * x
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``: dy/dx = 2x."""
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        (x,) = self.saved_tensors
        return grad_output * 2 * x
        ### END SOLUTION


class Mul(Module):
    """y = k · x with a trainable scalar ``k`` (a Parameter of shape ``()``): ``(*) -> (*)``."""

    def __init__(self, k: float = 1.0, *, dtype=np.float64):
        super().__init__()
        self.k = Parameter(np.array(k, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        x = as_float_array(x, self)
        ### BEGIN SOLUTION
        self.save_for_backward(x)
        return self.k.data * x
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``: dL/dk = sum(g · x) is accumulated, dL/dx = k · g is returned."""
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        (x,) = self.saved_tensors
        self.k.grad += np.sum(grad_output * x)
        return self.k.data * grad_output
        ### END SOLUTION

    def extra_repr(self) -> str:
        return f"k={float(self.k.data):g}"
