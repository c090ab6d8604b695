"""Element-wise activations and softmax. Each maps an array to one of the same shape."""

from __future__ import annotations

import numpy as np

from pancake.nn.module import Module
from pancake.ops import as_float_array, sigmoid, softmax


class Identity(Module):
    """y = x: ``(*) -> (*)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        x = as_float_array(x, self)
        self.save_for_backward()
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        self.require_forward()
        return self.check_grad_output(grad_output)


class ReLU(Module):
    """y = max(x, 0): ``(*) -> (*)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        x = as_float_array(x, self)
        ### BEGIN SOLUTION
        self.save_for_backward(x)
        return np.maximum(x, 0)
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``: the gradient passes where x > 0."""
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        (x,) = self.saved_tensors
        return grad_output * (x > 0)
        ### END SOLUTION


class LeakyReLU(Module):
    """y = x for x > 0, negative_slope · x otherwise: ``(*) -> (*)``."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        x = as_float_array(x, self)
        self.save_for_backward(x)
        return np.where(x > 0, x, self.negative_slope * x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        grad_output = self.check_grad_output(grad_output)
        (x,) = self.saved_tensors
        return np.where(x > 0, grad_output, self.negative_slope * grad_output)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x)): ``(*) -> (*)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        x = as_float_array(x, self)
        ### BEGIN SOLUTION
        y = sigmoid(x)
        self.save_for_backward(y)
        return y
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``: dy/dx = y (1 - y)."""
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        (y,) = self.saved_tensors
        return grad_output * y * (1 - y)
        ### END SOLUTION


class Tanh(Module):
    """y = tanh(x): ``(*) -> (*)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        x = as_float_array(x, self)
        ### BEGIN SOLUTION
        y = np.tanh(x)
        self.save_for_backward(y)
        return y
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``: dy/dx = 1 - y²."""
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        (y,) = self.saved_tensors
        return grad_output * (1 - y * y)
        ### END SOLUTION


class Softmax(Module):
    """Softmax along ``axis`` (default the last): ``(*, classes) -> (*, classes)``, rows sum to 1."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*, classes) -> (*, classes)``."""
        y = softmax(as_float_array(x, self), axis=self.axis)
        self.save_for_backward(y)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*, classes) -> (*, classes)``: the Jacobian-vector product y ⊙ (g - <g, y>)."""
        grad_output = self.check_grad_output(grad_output)
        (y,) = self.saved_tensors
        return y * (grad_output - (grad_output * y).sum(axis=self.axis, keepdims=True))

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
