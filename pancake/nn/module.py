"""Parameter and Module: the two building blocks of every pancake layer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from pancake.ops import as_float_array


class Parameter:
    """A trainable array and the gradient accumulated for it.

    ``data`` and ``grad`` have the same shape and dtype; ``grad`` starts at zero.
    """

    def __init__(self, data: np.ndarray):
        self.data = np.array(data)
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data``."""
        return self.data.dtype

    def zero_grad(self) -> None:
        """Reset the gradient to zero, in place."""
        self.grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"

    # A Parameter is not an array: arithmetic on it (self.k * x) names the array to use.
    __array_ufunc__ = None  # NumPy defers `array * parameter` to the methods below

    def _not_an_array(self, *_):
        raise TypeError(
            f"{self!r} is not an array: compute with its values, .data (e.g. self.k.data * x), "
            "and add gradients to its .grad"
        )

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _not_an_array
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __neg__ = _not_an_array


class Module:
    """Base class of layers and losses: a forward pass and its backward pass.

    ``forward`` computes the output and saves what ``backward`` needs;
    ``backward(grad_output)`` returns the gradient with respect to the input and
    adds (``+=``) the gradients of the module's parameters to their ``.grad``.
    A module whose ``needs_input_grad`` is False may return None instead of dL/dx.
    """

    def __init__(self) -> None:
        self.training = True
        # False for a first layer fed with data: nobody needs dL/dx, so backward may skip it.
        self.needs_input_grad = True
        self._saved_tensors: tuple | None = None
        self._output_shape: tuple[int, ...] | None = None
        self._buffer_names: list[str] = []

    # -- the two methods every layer writes ---------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for input ``x``."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Given dL/d(output), accumulate parameter gradients and return dL/d(input)."""
        raise NotImplementedError(f"{type(self).__name__} has no backward()")

    def __call__(self, *inputs):
        """Run ``forward`` and remember the output's shape to check ``backward``'s argument."""
        output = self.forward(*inputs)
        self._output_shape = np.shape(output)
        return output

    def check_grad_output(self, grad_output) -> np.ndarray:
        """Return ``grad_output`` as a float array; it must have the shape of the last output."""
        grad_output = as_float_array(grad_output, self)
        expected = getattr(self, "_output_shape", None)
        if expected is not None and grad_output.shape != expected:
            raise ValueError(
                f"{self!r}: backward() got grad_output of shape {grad_output.shape}, "
                f"but the forward output had shape {expected}"
            )
        return grad_output

    # -- what forward() keeps for backward() --------------------------------
    def save_for_backward(self, *arrays) -> None:
        """Keep the arrays that ``backward`` will need (read them with ``saved_tensors``)."""
        self._saved_tensors = arrays

    def require_forward(self) -> None:
        """Raise a clear error unless a ``forward`` has saved what ``backward`` needs."""
        if getattr(self, "_saved_tensors", None) is None:
            raise RuntimeError(
                f"{self!r}: backward() found nothing saved by forward(): forward must keep "
                "what backward needs with self.save_for_backward(...), and run before backward()"
            )

    @property
    def saved_tensors(self) -> tuple:
        """The arrays stored by the last ``forward``; an error if there was none."""
        self.require_forward()
        return self._saved_tensors

    # -- parameters and sub-modules ------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules, with their attribute names, in definition order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in definition order."""
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """All parameters with dotted names (``"0.weight"``), in definition order."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix=f"{prefix}{name}.")

    def parameters(self) -> Iterator[Parameter]:
        """All parameters of this module and its sub-modules."""
        for _, parameter in self.named_parameters():
            yield parameter

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for parameter in self.parameters():
            parameter.zero_grad()

    # -- modes ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Switch this module and its sub-modules to training mode (or eval if ``mode`` is False)."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (dropout off)."""
        return self.train(False)

    # -- buffers: arrays that are saved but not trained ---------------------
    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep ``value`` as attribute ``name``, saved in the state dict but not trained.

        BatchNorm's running mean is a buffer: part of the model, updated by ``forward``.
        """
        setattr(self, name, np.array(value))
        self._buffer_names.append(name)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """All buffers with dotted names (``"1.running_mean"``), in registration order."""
        for name in self._buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix=f"{prefix}{name}.")

    # -- saving and loading ----------------------------------------------------
    def _named_arrays(self) -> dict[str, np.ndarray]:
        """Every array the state dict holds, by dotted name: parameters, then buffers."""
        arrays = {name: p.data for name, p in self.named_parameters()}
        arrays.update(self.named_buffers())
        return arrays

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer array, keyed by its dotted name."""
        return {name: array.copy() for name, array in self._named_arrays().items()}

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy arrays from ``state`` into the parameters and buffers, in place; keys and shapes must match."""
        own = self._named_arrays()
        missing = sorted(own.keys() - state.keys())
        unexpected = sorted(state.keys() - own.keys())
        if missing or unexpected:
            raise KeyError(
                f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        for name, array in own.items():
            value = np.asarray(state[name])
            if value.shape != array.shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: '{name}' has shape "
                    f"{array.shape} in the model but {value.shape} in the state dict"
                )
        for name, array in own.items():
            array[...] = state[name]

    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of ``repr``."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
