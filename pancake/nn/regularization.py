"""Regularisation layers."""

from __future__ import annotations

import numpy as np

from pancake import init
from pancake.nn.module import Module
from pancake.ops import as_float_array


class Dropout(Module):
    """Zero each element with probability ``p`` in training, scale the rest by 1/(1-p); ``(*) -> (*)``.

    In eval mode it is the identity, so no rescaling is needed at test time.
    """

    def __init__(self, p: float = 0.5, *, rng: init.Seed = None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = init.as_generator(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        x = as_float_array(x, self)
        if not self.training or self.p == 0:
            scale = np.ones((), dtype=x.dtype)
        else:
            keep = self.rng.random(x.shape) >= self.p
            scale = (keep / (1 - self.p)).astype(x.dtype)
        self.save_for_backward(scale)
        return x * scale

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``: the gradient goes through the same mask and scale as the forward pass."""
        grad_output = self.check_grad_output(grad_output)
        (scale,) = self.saved_tensors
        return grad_output * scale

    def extra_repr(self) -> str:
        return f"p={self.p}"
