"""Containers: modules made of other modules."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pancake.nn.module import Module
from pancake.ops import is_data


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    Shapes are those of the first module's input and the last module's output.
    Parameters are named by position: ``"0.weight"``, ``"0.bias"``, ``"2.weight"``...

    ``needs_input_grad`` is passed down: when nobody needs dL/dx of the Sequential's input
    (``fit`` sets it False, the input being data), the first module is told so too, and
    may skip computing the gradient of its own input.
    The same holds, for one forward and backward pass, when the input is a batch straight
    from a ``DataLoader`` (``pancake.ops.is_data``): ``backward`` may then return None. To get
    dL/dx of such a batch (a saliency map, say), feed a copy: ``model(batch.copy())``.
    """

    def __init__(self, *modules: Module):
        super().__init__()
        self.input_is_data = False
        self.layers: list[Module] = []
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns ``self``."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Modules, got {type(module).__name__}")
        self.layers.append(module)
        self.pass_needs_input_grad()
        return self

    @property
    def needs_input_grad(self) -> bool:
        """Whether ``backward`` must return dL/dx; setting it informs the modules inside."""
        return self._needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value: bool) -> None:
        self._needs_input_grad = bool(value)
        self.pass_needs_input_grad()

    def pass_needs_input_grad(self) -> None:
        """Tell the first module whether dL/d(its input) is needed: it is the Sequential's
        input, needed unless the caller said no or it is data. Every later module's input
        gradient is needed, to train the modules before it (and a module without parameters,
        such as ``Flatten``, cannot pass on the None of a skipped gradient)."""
        needed = self.needs_input_grad and not getattr(self, "input_is_data", False)
        for position, layer in enumerate(getattr(self, "layers", ())):
            layer.needs_input_grad = needed or position > 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run ``forward``; when whether ``x`` is data changes, tell the modules first."""
        if is_data(x) != self.input_is_data:
            self.input_is_data = not self.input_is_data
            self.pass_needs_input_grad()
        return super().__call__(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Feed ``x`` through every module in order."""
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Feed the gradient back through every module, last to first."""
        ### BEGIN SOLUTION
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output
        ### END SOLUTION

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The modules, named by their position ``"0"``, ``"1"``..."""
        for index, layer in enumerate(self.layers):
            yield str(index), layer

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        if not self.layers:
            return "Sequential()"
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"


class Residual(Module):
    """y = x + f(x), a skip connection around ``f``; ``f`` must keep the shape: ``(*) -> (*)``."""

    def __init__(self, f: Module):
        super().__init__()
        self.f = f

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``."""
        fx = self.f(x)
        if np.shape(fx) != np.shape(x):
            raise ValueError(
                f"Residual({self.f!r}): the inner module maps shape {np.shape(x)} to "
                f"{np.shape(fx)}; a residual block needs the same shape in and out"
            )
        self.save_for_backward()
        return x + fx

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """The gradient flows both through ``f`` and around it: g + f.backward(g).

        None when ``f`` skipped its input gradient (a ``Sequential`` fed data): then nobody
        needs dL/dx of this block either.
        """
        self.require_forward()
        grad_output = self.check_grad_output(grad_output)
        grad_through_f = self.f.backward(grad_output)
        if grad_through_f is None:
            return None
        return grad_output + grad_through_f

    def extra_repr(self) -> str:
        return repr(self.f)
