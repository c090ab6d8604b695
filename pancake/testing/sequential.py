"""Checks of a container that applies its modules in turn (``Sequential``), by spying on them.

``sequential_hint`` runs a copy of the container forward and backward on a generic input,
each inner module recording its calls: which module ran, in which order, how many times,
what it was given (the previous module's output, or the container's own input?), and
whether the container reset the gradients its modules had accumulated. It says what went
wrong where, whatever the mistake that caused it. ``check_sequential`` is
``check_gradients`` of the container with that hint in place of the generic one.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from pancake.nn.module import Module
from pancake.testing.gradcheck import GradientCheckError, GradientReport, check_gradients


class _Spy:
    """The calls of the modules inside a container: ``forward`` and ``backward`` as
    (module index, the array it got), in call order, each module's last forward output
    (``outputs``) and backward result (``returned``), the number of ``zero_grad`` calls, and
    the number of modules (``count``)."""

    def __init__(self, container):
        self.forward: list[tuple[int, np.ndarray]] = []
        self.outputs: dict[int, np.ndarray] = {}
        self.backward: list[tuple[int, np.ndarray]] = []
        self.returned: dict[int, np.ndarray] = {}
        self.zero_grad_calls = 0
        self.count = len(container.layers)
        for index, layer in enumerate(container.layers):
            layer.forward = self._recording(layer.forward, index, self.forward, self.outputs)
            layer.backward = self._recording(layer.backward, index, self.backward, self.returned)
        for module in (container, *container.layers):
            module.zero_grad = self._counting(module.zero_grad)

    @staticmethod
    def _recording(method, index: int, calls: list, results: dict):
        """``method`` recording (index, a copy of its argument) in ``calls``, and a copy
        of its result in ``results[index]``."""

        def recorded(argument, *args, **kwargs):
            calls.append((index, _copied(argument)))
            result = method(argument, *args, **kwargs)
            results[index] = _copied(result)
            return result

        return recorded

    def _counting(self, zero_grad):
        """``zero_grad`` counting its calls in ``zero_grad_calls``."""

        def counted(*args, **kwargs):
            self.zero_grad_calls += 1
            return zero_grad(*args, **kwargs)

        return counted


def _copied(value):
    """A float64 copy of an array (what a module gets may change later), or the value itself
    when it is not one (a module passed where an array belongs)."""
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return value


def sequential_hint(container, x: np.ndarray, seed: int = 0) -> str | None:
    """What a Sequential-like ``container`` (its modules in ``container.layers``) does
    wrong, seen on a copy run forward then backward on a generic input of ``x``'s shape
    (entries drawn from ``seed``), or None. Only what the calls show for sure is named:
    forward giving a module something else than the previous module's output; backward
    calling zero_grad(), a module's forward, a module's backward twice or none at all, or
    giving a module's backward something else than the next module's result. Other
    mistakes (modules skipped or out of order) are left to the hints of the checks."""
    layers = getattr(container, "layers", None)
    if not isinstance(layers, Sequence) or not layers:
        return None
    try:
        spy_on = copy.deepcopy(container)
        spy = _Spy(spy_on)
    except Exception:  # modules that cannot be copied or spied on: no hint from here
        return None
    rng = np.random.default_rng(seed)
    generic = rng.standard_normal(np.shape(x))
    try:
        output = spy_on(generic)
    except Exception:  # the calls made before the crash still tell
        output = None
    try:
        hint = _forward_hint(spy, generic)
        if hint is not None or output is None:
            return hint
        return _backward_hint(spy_on, spy, rng.standard_normal(np.shape(output)))
    except Exception:  # what the modules returned cannot be compared: no hint from here
        return None


def _forward_hint(spy: _Spy, x: np.ndarray) -> str | None:
    """The hint when a module's forward got a module, ran more than once, or got something
    else than the previous module's output (checked where the modules ran one after the
    other), or None."""
    for index, given in spy.forward:
        if isinstance(given, Module):
            return (
                f"forward gives module {index} a module, {given!r}, as its input, not an "
                "array: start the chain from x (functools.reduce needs x as its initial "
                "value), `for layer in self.layers: x = layer(x)`"
            )
    order = [index for index, _ in spy.forward]
    twice = sorted({index for index in order if order.count(index) > 1})
    if twice:
        if order == [*range(spy.count), spy.count - 1]:
            return (
                f"forward runs every module, then the last one again (the modules ran in the "
                f"order {order}): return x, the result of the loop, not layer(x)"
            )
        return (
            f"forward runs module {twice[0]} more than once in one pass (the modules ran in "
            f"the order {order}): apply each module once, in order, `for layer in "
            "self.layers: x = layer(x)` (is one applied before the loop as well?)"
        )
    for (previous, _), (index, given) in zip(spy.forward, spy.forward[1:], strict=False):
        if index != previous + 1 or _same(given, spy.outputs.get(previous)):
            continue
        what = "the model's input x" if _same(given, x) else "something else"
        return (
            f"forward gives module {index} {what}, not module {previous}'s output: feed each "
            "module's output to the next, `x = layer(x)` inside the loop"
        )
    return None


def _backward_hint(container, spy: _Spy, direction: np.ndarray) -> str | None:
    """The hint when backward resets the gradients, runs a module forward, runs a module's
    backward more than once or none at all, or passes a module's backward something else
    than the gradient it should get, or None."""
    spy.forward.clear()
    spy.zero_grad_calls = 0
    try:
        container.backward(direction.copy())
        crashed = False
    except Exception:  # the calls made before the crash still tell
        crashed = True
    if spy.zero_grad_calls:
        return (
            "backward calls zero_grad(), which resets the gradients the modules accumulated "
            "before: backward only passes the gradient through the modules, last to first "
            "(the training loop zeroes the gradients before each pass)"
        )
    if spy.forward:
        index = spy.forward[0][0]
        return (
            f"backward runs module {index}'s forward (layer(grad_output) is a forward pass): "
            "call its backward, `grad_output = layer.backward(grad_output)`"
        )
    order = [index for index, _ in spy.backward]
    twice = sorted({index for index in order if order.count(index) > 1})
    if twice:
        return (
            f"backward runs module {twice[0]}'s backward more than once (the modules' "
            f"backward ran in the order {order}): call each module's backward once, last to "
            "first, `for layer in reversed(self.layers)`"
        )
    if not order and not crashed:
        return (
            "backward runs no module's backward (does its loop run at all? "
            "range(len(self.layers) - 1, -1) is empty without the step -1): call each "
            "module's backward, last to first, `for layer in reversed(self.layers)`"
        )
    if crashed and order == list(range(len(container.layers) - 1, -1, -1))[: len(order)]:
        last = order[-1]
        if last in spy.returned and last > 0:  # the crash came after that backward returned
            return (
                f"backward crashed in its own code after module {last}'s backward returned "
                f"(an array of shape {np.shape(spy.returned[last])}), before module "
                f"{last - 1}'s backward ran: pass each result on as it is, `grad_output = "
                "layer.backward(grad_output)` (the chain rule's products happen inside each "
                "module's backward)"
            )
    return _passed_on_hint(spy, direction, len(container.layers))


def _passed_on_hint(spy: _Spy, direction: np.ndarray, count: int) -> str | None:
    """The hint when the modules' backward ran last to first but one of them was given
    something else than the gradient it should get, or None."""
    if [index for index, _ in spy.backward] != list(range(count - 1, -1, -1)):
        return None  # modules skipped or out of order: the checks' own hints say which
    if all(_same(given, direction) for _, given in spy.backward):
        return None  # every result dropped: the checks' own hint says so
    for index, given in spy.backward:
        expected = direction if index == count - 1 else spy.returned.get(index + 1)
        if _same(given, expected):
            continue
        source = (
            "backward's grad_output"
            if index == count - 1
            else (f"what module {index + 1}'s backward returned")
        )
        return (
            f"backward gives module {index}'s backward something else than {source}: pass "
            "each result on as it is, `grad_output = layer.backward(grad_output)` (the "
            "chain rule's products happen inside each module's backward)"
        )
    return None


def _same(first, second) -> bool:
    """Whether two arrays (or None) hold the same values."""
    if first is None or second is None:
        return False
    return np.shape(first) == np.shape(second) and np.allclose(first, second, rtol=1e-9, atol=1e-12)


def _backward_order(container, x: np.ndarray, needs_input_grad: bool, seed: int = 0) -> list:
    """The modules whose backward a copy of ``container`` runs, in order, with its
    needs_input_grad set to ``needs_input_grad``, on a generic input of ``x``'s shape (the
    calls made before a crash are kept)."""
    spy_on = copy.deepcopy(container)
    spy_on.needs_input_grad = needs_input_grad
    spy = _Spy(spy_on)
    rng = np.random.default_rng(seed)
    output = spy_on(rng.standard_normal(np.shape(x)))
    try:
        spy_on.backward(rng.standard_normal(np.shape(output)))
    except Exception:  # the calls made before the crash still tell
        pass
    return [index for index, _ in spy.backward]


def needs_input_grad_hint(container, x: np.ndarray) -> str | None:
    """When ``container``'s needs_input_grad is False and its backward then skips modules
    whose backward it runs when the flag is True: which, and what the flag is for; else
    None."""
    if getattr(container, "needs_input_grad", True) or not getattr(container, "layers", None):
        return None
    try:
        without, needed = (_backward_order(container, x, flag) for flag in (False, True))
    except Exception:  # modules that cannot be copied or run: no hint from here
        return None
    skipped = sorted(set(needed) - set(without))
    if not skipped:
        return None
    return (
        f"with needs_input_grad = False (its input is data), backward skips module "
        f"{skipped[0]}'s backward ({container.layers[skipped[0]]!r}), which it runs when the "
        "flag is True: the flag only lets the first module skip dL/d(its input) (its "
        "backward then returns None); every module's backward must still run, to compute "
        "the gradients of its parameters"
    )


def _parameter_gradients(container, x: np.ndarray, needs_input_grad: bool, seed: int = 0):
    """{name: gradient} of a copy of ``container`` after one forward and backward pass on
    ``x`` (in float64) along a fixed direction, with its needs_input_grad set as given."""
    model = copy.deepcopy(container)
    model.needs_input_grad = needs_input_grad
    for _, parameter in model.named_parameters():
        parameter.data = np.array(parameter.data, dtype=np.float64)
        parameter.grad = np.zeros_like(parameter.data)
    output = model(np.array(x, dtype=np.float64))
    model.backward(np.random.default_rng(seed).standard_normal(np.shape(output)))
    return {name: np.array(parameter.grad) for name, parameter in model.named_parameters()}


def check_as_data(container, x: np.ndarray) -> None:
    """With needs_input_grad = False (the input is data, as a DataLoader's batches), the
    parameter gradients of one pass of ``container`` (a layer, or modules in turn) are those
    found when it is True. Raises AssertionError, whose hint, when the spies see it, names
    the module whose backward was skipped."""
    needed = _parameter_gradients(container, x, needs_input_grad=True)
    try:
        found = _parameter_gradients(container, x, needs_input_grad=False)
    except Exception as error:
        hint = needs_input_grad_hint(_told_data(container), x)
        raise AssertionError(
            f"{container!r} with needs_input_grad = False (its input is data) raised "
            f"{type(error).__name__}: {error}" + (f"\nHint: {hint}" if hint else "")
        ) from error
    wrong = [name for name in needed if not _same(found.get(name), needed[name])]
    if wrong:
        hint = needs_input_grad_hint(_told_data(container), x) or (
            None
            if getattr(container, "layers", None)
            else "a layer whose input is data still computes the gradients of its parameters: "
            "compute them first, and return None for dL/dx only after that (the return under "
            "`if not self.needs_input_grad` ends backward)"
        )
        raise AssertionError(
            f"{container!r} with needs_input_grad = False (its input is data): the gradient "
            f"of {', '.join(repr(name) for name in wrong)} differs from the one found when it "
            "is True; only dL/dx may be skipped" + (f"\nHint: {hint}" if hint else "")
        )


def _told_data(container):
    """A copy of ``container`` whose needs_input_grad is False."""
    told = copy.deepcopy(container)
    told.needs_input_grad = False
    return told


def check_sequential(container, x: np.ndarray, **options) -> GradientReport:
    """``check_gradients(container, x, **options)``: a failure's hint, or a crash's, when
    the spies (``needs_input_grad_hint``, ``sequential_hint``) name what the container does
    wrong, is that one."""
    try:
        return check_gradients(container, x, **options)
    except GradientCheckError as error:
        hint = needs_input_grad_hint(container, x) or sequential_hint(container, x)
        if hint is None:
            raise
        raise error.with_hint(hint) from None
    except Exception as error:
        hint = needs_input_grad_hint(container, x) or sequential_hint(container, x)
        if hint is None:
            raise
        raise AssertionError(f"{type(error).__name__}: {error}\nHint: {hint}") from error
