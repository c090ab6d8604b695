"""Checks of stax layers, ``(init_fun, apply_fun)`` pairs, and of ``serial``.

Shapes, outputs against a documented formula, the same parameters for the same seed,
and gradients with respect to the parameters (through pancake Tensors) against central
differences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from pancake.autograd import Tensor
from pancake.stax import tree_map
from pancake.testing.errors import own_code_hint
from pancake.testing.gradcheck import (
    DIRECTION_STREAM,
    compare_tensor,
    gradient_failure,
)
from pancake.testing.reports import PropertyReport
from pancake.testing.values import check_values

INPUT_STREAM = 0x1A7E  # the seed stream of the inputs, apart from the parameters' and u's


def check_stax_layer(
    layer,
    input_shape: Sequence[int],
    *,
    param_shapes=None,
    expected: Callable | None = None,
    formula: str = "the documented formula",
    batch_size: int = 3,
    rtol: float = 1e-6,
    atol: float = 1e-10,
    eps: float = 1e-5,
    seed: int = 0,
) -> PropertyReport:
    """Check a stax layer ``(init_fun, apply_fun)`` on inputs of ``input_shape`` (-1: a batch).

    - ``init_fun(rng, input_shape)`` returns ``(output_shape, params)``, params being arrays
      nested in tuples, lists or dicts, the same ones for the same seed; with
      ``param_shapes`` (their shapes nested in tuples), they must have those shapes;
    - ``apply_fun(params, x)``, for x of ``input_shape`` with -1 = ``batch_size``, has the
      shape ``output_shape`` announced, and equals ``expected(params, x)`` if given
      (``formula`` says what that is);
    - ``apply_fun`` runs on pancake.autograd Tensors, and its gradients with respect to
      every parameter, through ``sum(u * output)`` as in ``check_gradients``, match
      central differences.

    Returns a ``PropertyReport``; raises ``AssertionError`` (``GradientCheckError`` for
    the gradients) with a hint.
    """
    init_fun, apply_fun = layer
    input_shape = tuple(input_shape)
    described = f"{_layer_name(init_fun)} on inputs of shape {input_shape}"
    output_shape, params = _initialised(init_fun, input_shape, seed, described)
    shapes = _shapes(params)
    if param_shapes is not None:
        _check_param_shapes(shapes, param_shapes, described, input_shape)
    _, again = _initialised(init_fun, input_shape, seed, described)
    if not _same_leaves(params, again):
        raise AssertionError(
            f"{described}: init_fun gave other parameters for the same seed.\nHint: draw every "
            "random number from rng (pass rng=rng to the initializers)"
        )
    x = np.random.default_rng((seed, INPUT_STREAM)).standard_normal(
        _concrete(input_shape, batch_size)
    )
    announced = _concrete(output_shape, batch_size)
    y = np.asarray(_applied(apply_fun, params, x, described, announced))
    if y.shape != announced:
        hint = (
            _PARAMS_REVERSED
            if _fits_with_params_reversed(apply_fun, params, x, announced)
            else "work out the output shape from input_shape: the axes the layer does not "
            "change stay as they are, -1 included"
        )
        raise AssertionError(
            f"{described}: init_fun announced the output shape {output_shape}, but apply_fun's "
            f"output for inputs of shape {x.shape} (-1 = {batch_size}) has shape {y.shape}.\n"
            f"Hint: {hint}"
        )
    ignored = _ignored_params(apply_fun, params, x, y)
    if ignored:
        raise AssertionError(_ignored_params_message(described, ignored, params, formula))
    lines = [
        f"init_fun: output shape {output_shape}, parameter shapes {shapes}",
        "the same seed gives the same parameters: OK",
        f"apply_fun: output of shape {y.shape} for inputs of shape {x.shape}: OK",
    ]
    if expected is not None:
        lines.append(check_values("apply_fun(params, x)", y, expected(params, x), formula=formula))
    comparisons = _parameter_comparisons(
        apply_fun, params, x, y, described, eps=eps, rtol=rtol, atol=atol, seed=seed
    )
    lines.append("gradients with respect to the parameters, through Tensors:")
    lines += [
        f"  {c.name:<16}{str(c.shape):<12} max abs error {c.max_abs_error():.2e}"
        for c in comparisons
    ]
    return PropertyReport(f"stax layer check of {described}: OK", lines)


_PARAMS_REVERSED = (
    "apply_fun gives the announced output shape when given the params in the other order: "
    "unpack params in the order init_fun returns them (W, b = params)"
)


def _applied(apply_fun: Callable, params, x: np.ndarray, described: str, announced: tuple):
    """``apply_fun(params, x)``; a shape error in a product names the order of the factors,
    or of the params."""
    try:
        return apply_fun(params, x)
    except ValueError as error:
        if "matmul" not in str(error) and "broadcast" not in str(error):
            raise
        hint = (
            _PARAMS_REVERSED
            if _fits_with_params_reversed(apply_fun, params, x, announced)
            else "the inputs hold one example per row (features on the last axis): multiply "
            "them on the left, inputs @ W, which keeps the leading axes (not W @ inputs, the "
            "math's Wx)"
        )
        raise AssertionError(
            f"{described}: apply_fun raised ValueError for inputs of shape {x.shape} and "
            f"parameters of shapes {_shapes(params)}: {error}\nHint: {hint}"
        ) from error


def _fits_with_params_reversed(apply_fun: Callable, params, x: np.ndarray, announced) -> bool:
    """Whether ``apply_fun``, given a pair of params (W, b) in the other order, computes the
    layer, inputs @ W + b, of the announced shape (the shape alone may fit by coincidence)."""
    if not (isinstance(params, tuple | list) and len(params) == 2):
        return False
    weight, bias = params
    try:
        got = apply_fun(type(params)(reversed(params)), x)
        return np.shape(got) == announced and bool(np.allclose(got, x @ weight + bias))
    except Exception:  # it fails that way too: not the order of the params
        return False


def _ignored_params_message(described: str, ignored: list[str], params, formula: str) -> str:
    """The failure for an apply_fun whose output does not depend on the params ``ignored``."""
    every = len(ignored) == len(_leaves(params))
    which = "the params" if every else " and ".join(ignored)
    hint = (
        "compute from the params argument (W, b = params), not from arrays kept in "
        "init_fun's closure or elsewhere: grad differentiates apply_fun with respect to the "
        "params it passes"
        if every
        else f"every parameter takes part in the output, {formula}"
    )
    return (
        f"{described}: apply_fun gave the same output with other values in {which} (each "
        f"entry doubled plus 1): it does not use {which}.\nHint: {hint}"
    )


def _ignored_params(apply_fun: Callable, params, x: np.ndarray, y: np.ndarray) -> list[str]:
    """The paths of the parameters (params[1]) that ``apply_fun`` gives ``y`` without: it
    gives the very same output when that parameter alone takes other values."""
    ignored = []
    for changed, (path, _) in enumerate(_leaves(params)):
        try:
            again = np.asarray(apply_fun(_with_one_leaf_changed(params, changed), x))
        except Exception:  # it fails with other values there: it reads them
            continue
        if again.shape == y.shape and np.array_equal(again, y):
            ignored.append(path)
    return ignored


def _with_one_leaf_changed(params, changed: int):
    """``params`` with its leaf number ``changed`` (in ``_leaves`` order) doubled plus 1."""
    numbers = iter(range(len(_leaves(params))))
    return tree_map(
        lambda leaf: np.asarray(leaf) * 2.0 + 1.0 if next(numbers) == changed else leaf, params
    )


def _layer_name(init_fun: Callable) -> str:
    """``Dense`` for the ``init_fun`` that ``Dense(...)`` defines."""
    return getattr(init_fun, "__qualname__", "layer").split(".<locals>")[0]


def _concrete(shape: Sequence[int], batch_size: int) -> tuple[int, ...]:
    return tuple(batch_size if size == -1 else size for size in shape)


def _initialised(init_fun: Callable, input_shape: tuple, seed: int, described: str):
    """``init_fun(default_rng(seed), input_shape)`` as ``(output_shape, params)``."""
    try:
        result = init_fun(np.random.default_rng(seed), input_shape)
    except Exception as error:
        if not _runs_without_the_batch_axis(init_fun, input_shape, seed):
            raise
        raise AssertionError(
            f"{described}: init_fun raised {type(error).__name__}: {error}, but runs when "
            f"the -1 of input_shape is a positive size.\nHint: {_FIRST_AXIS_HINT}"
        ) from error
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise AssertionError(
            f"{described}: init_fun returned {type(result).__name__}, expected a pair "
            "(output_shape, params)"
        )
    output_shape, params = result
    if _is_shape(tuple(params)) and not _is_shape(tuple(output_shape)):
        raise AssertionError(
            f"{described}: init_fun returned a pair whose second item is the shape "
            f"{tuple(params)}.\nHint: return (output_shape, params), the output shape first"
        )
    return tuple(output_shape), params


def _runs_without_the_batch_axis(init_fun: Callable, input_shape: tuple, seed: int) -> bool:
    """Whether ``init_fun`` runs once the -1 (batch) of ``input_shape`` is a positive size."""
    if -1 not in input_shape:
        return False
    try:
        init_fun(np.random.default_rng(seed), _concrete(input_shape, 3))
    except Exception:
        return False
    return True


def _leaves(tree, path: str = "params") -> list[tuple[str, object]]:
    """The arrays of a parameter tree with their paths, ``("params[0][1]", b)``, in order."""
    if isinstance(tree, tuple | list):
        return [
            leaf
            for index, branch in enumerate(tree)
            for leaf in _leaves(branch, f"{path}[{index}]")
        ]
    if isinstance(tree, dict):
        return [
            leaf for key, branch in tree.items() for leaf in _leaves(branch, f"{path}[{key!r}]")
        ]
    return [(path, tree)]


def _shapes(tree):
    """The shapes of a parameter tree's arrays, nested alike (lists become tuples)."""
    if isinstance(tree, tuple | list):
        return tuple(_shapes(branch) for branch in tree)
    if isinstance(tree, dict):
        return {key: _shapes(branch) for key, branch in tree.items()}
    return np.shape(tree)


def _same_leaves(tree, other) -> bool:
    """Whether two parameter trees hold equal arrays, nested alike."""
    if _shapes(tree) != _shapes(other):
        return False
    pairs = zip(_leaves(tree), _leaves(other), strict=True)
    return all(np.array_equal(a, b) for (_, a), (_, b) in pairs)


def _check_param_shapes(shapes, expected, described: str, input_shape: tuple) -> None:
    mismatch = _shape_mismatch(shapes, expected, "params")
    if mismatch is None:
        return
    path, got, want = mismatch
    hint = "each parameter's shape follows from input_shape"
    if isinstance(shapes, dict) and not isinstance(expected, dict):
        hint = (
            "params is a dict (the Flax/Haiku habit): a stax layer's params are a tuple in a "
            "fixed order, (W, b), which serial and grad pass on as they are; return them so, "
            "and unpack them so in apply_fun (W, b = params)"
        )
    if _is_shape(got) and _is_shape(want) and len(got) == 2 and got == want[::-1]:
        hint = f"{path} is transposed: {want}, not {got}"
    elif _is_shape(got) and _is_shape(want) and _first_axis_for_last(got, want, input_shape):
        hint = _FIRST_AXIS_HINT
    elif _is_shape(got) and _is_shape(want) and _input_size_for_output(got, want, input_shape):
        hint = (
            f"{path} has the input's size, input_shape[-1] = {input_shape[-1]}, where the "
            "output's size belongs (out_dim: one entry per output feature)"
        )
    raise AssertionError(
        f"{described}: the shapes of {path} are {got}, expected {want} (all parameters: "
        f"{shapes}, expected {expected}).\nHint: {hint}"
    )


_FIRST_AXIS_HINT = (
    "a parameter's size was read off the batch axis of input_shape (input_shape[0]; -1 "
    "stands for any batch size): read in_dim off the last axis, input_shape[-1]"
)


def _first_axis_for_last(got: tuple, want: tuple, input_shape: tuple) -> bool:
    """Whether ``got`` is ``want`` with input_shape[-1] replaced by input_shape[0]."""
    if len(input_shape) < 2 or len(got) != len(want) or input_shape[0] == input_shape[-1]:
        return False
    swapped = tuple(input_shape[0] if size == input_shape[-1] else size for size in want)
    return got != want and got == swapped


def _input_size_for_output(got: tuple, want: tuple, input_shape: tuple) -> bool:
    """Whether ``got`` differs from ``want`` only where it has input_shape[-1]."""
    if len(got) != len(want) or not input_shape:
        return False
    differ = [g for g, w in zip(got, want, strict=True) if g != w]
    return bool(differ) and all(g == input_shape[-1] for g in differ)


def _is_shape(node) -> bool:
    return isinstance(node, tuple) and all(isinstance(size, int | np.integer) for size in node)


def _shape_mismatch(got, expected, path: str):
    """The first place where two trees of shapes differ, as ``(path, got, expected)``."""
    if _is_shape(got) or _is_shape(expected):
        return None if got == expected else (path, got, expected)
    if isinstance(expected, dict):
        if not isinstance(got, dict) or got.keys() != expected.keys():
            return path, got, expected
        branches = [(got[key], expected[key], f"{path}[{key!r}]") for key in expected]
    else:
        if not isinstance(got, tuple) or len(got) != len(expected):
            return path, got, expected
        branches = [
            (g, e, f"{path}[{i}]") for i, (g, e) in enumerate(zip(got, expected, strict=True))
        ]
    return next(
        (found for branch in branches if (found := _shape_mismatch(*branch)) is not None), None
    )


def _parameter_comparisons(apply_fun, params, x, y, described, *, eps, rtol, atol, seed):
    """Gradients of ``sum(u * apply_fun(params, x))`` through Tensors vs central differences."""
    leaves = _leaves(params)
    arrays = [np.array(leaf, dtype=np.float64) for _, leaf in leaves]
    direction = np.random.default_rng((seed, DIRECTION_STREAM)).standard_normal(y.shape)
    tensors = [Tensor(array, requires_grad=True) for array in arrays]
    hint = (
        "apply_fun must also run on pancake.autograd Tensors, which is how grad differentiates "
        "it: use operators (@, +, *) and pancake.autograd's functions, not np.* functions"
    )
    try:
        output = apply_fun(_with_leaves(params, tensors), x)
        if not isinstance(output, Tensor):
            raise TypeError(f"it returned a {type(output).__name__}, not a Tensor")
        (output * direction).sum().backward()
    except Exception as error:
        raise AssertionError(
            f"{described}: apply_fun on Tensor parameters failed: {type(error).__name__}: "
            f"{error}\nHint: {hint}"
        ) from error
    magnitude = float(np.sum(np.abs(direction * np.asarray(y, dtype=np.float64))))
    comparisons = []
    for position, ((path, _), values, tensor) in enumerate(
        zip(leaves, arrays, tensors, strict=True)
    ):

        def objective(moved: np.ndarray, position=position) -> float:
            moved_leaves = [*arrays[:position], moved, *arrays[position + 1 :]]
            output = apply_fun(_with_leaves(params, moved_leaves), x)
            return float(np.sum(direction * np.asarray(output, dtype=np.float64)))  # see gradcheck

        analytic = np.zeros_like(values) if tensor.grad is None else tensor.grad
        comparison = compare_tensor(path, objective, values, analytic, magnitude, eps, rtol, atol)
        if not comparison.passes():
            raise gradient_failure(described, comparison, batch_size=1, input_size=values.size)
        comparisons.append(comparison)
    return comparisons


def _with_leaves(tree, leaves: Sequence):
    """``tree`` with its arrays replaced, in order, by ``leaves``."""
    replacements = iter(leaves)
    return tree_map(lambda _: next(replacements), tree)


class RecordedLayer:
    """A stax layer whose ``init_fun`` and ``apply_fun`` record each call (spies).

    ``inits``: ``(input_shape, output_shape, params)`` per call of init_fun;
    ``applies``: ``(params, inputs, outputs)`` per call of apply_fun that returned;
    ``given``: ``(params, inputs)`` per call of apply_fun, as it starts.
    """

    def __init__(self, layer):
        self.layer_init, self.layer_apply = layer
        self.inits: list[tuple] = []
        self.applies: list[tuple] = []
        self.given: list[tuple] = []

    def init_fun(self, rng, input_shape):
        output_shape, params = self.layer_init(rng, input_shape)
        self.inits.append((tuple(input_shape), tuple(output_shape), params))
        return output_shape, params

    def apply_fun(self, params, inputs, **kwargs):
        self.given.append((params, inputs))
        outputs = self.layer_apply(params, inputs, **kwargs)
        self.applies.append((params, inputs, outputs))
        return outputs

    @property
    def pair(self):
        return self.init_fun, self.apply_fun


IN_TURN = "each layer's apply_fun applied in turn, first to last, each with its own params"


def check_serial(
    serial_fn: Callable, layers: Sequence, input_shape: Sequence[int], *, seed: int = 0
) -> PropertyReport:
    """Check ``serial_fn(*layers)`` by what it does with the layers, then as a stax layer.

    The layers given to ``serial_fn`` record their calls. ``init_fun`` must call each
    layer's init_fun once, giving the first one ``input_shape`` and each next one the
    output shape the one before returned, all with the one rng (so that layers of one
    shape get different parameters), and return the last output shape and the list of
    the params the layers returned, in order. ``apply_fun(params, x)`` must call each
    layer's apply_fun once, first to last, each with its own params, the first on x and
    each next one on the output of the one before, and return the last output. Then
    ``check_stax_layer``.
    """
    input_shape = tuple(input_shape)
    recorded = [RecordedLayer(layer) for layer in layers]
    init_fun, apply_fun = serial_fn(*(layer.pair for layer in recorded))
    described = f"serial of {len(layers)} layers on inputs of shape {input_shape}"
    output_shape, params = _initialised(init_fun, input_shape, seed, described)
    _check_initialised(recorded, input_shape, output_shape, params, described)
    _check_layers_differ(params, described)
    x = np.random.default_rng((seed, INPUT_STREAM)).standard_normal(_concrete(input_shape, 3))
    for layer in recorded:
        layer.applies.clear()
        layer.given.clear()
    try:
        output = apply_fun(params, x)
    except Exception as error:
        hint = (
            _swapped_arguments_hint(recorded, params)
            or _other_layers_params_hint(recorded, params)
            or own_code_hint(error, None)
            or f"it should be {IN_TURN}"
        )
        raise AssertionError(
            f"{described}: apply_fun raised {type(error).__name__}: {error}\nHint: {hint}"
        ) from error
    _check_applied_in_turn(recorded, params, x, output, described)
    report = check_stax_layer((init_fun, apply_fun), input_shape, seed=seed)
    report.lines[:0] = [
        "each layer's init_fun gets the output shape of the one before: "
        f"{[layer.inits[0][0] for layer in recorded]}",
        f"apply_fun(params, x) is {IN_TURN}: OK",
    ]
    return report


def _swapped_arguments_hint(recorded: list, params) -> str:
    """The hint when a layer's apply_fun was called with (inputs, params), or ''."""
    for index, (layer, layer_params) in enumerate(zip(recorded, params, strict=False)):
        for first, second in layer.given:
            if isinstance(first, np.ndarray) and _same_leaves(second, layer_params):
                return (
                    f"the apply_fun of layer {index} was called with (inputs, params): a stax "
                    "apply_fun takes the params first, layer_apply(layer_params, inputs)"
                )
    return ""


def _other_layers_params_hint(recorded: list, params) -> str:
    """The hint when a layer's apply_fun was given the params of another layer, or ''."""
    for index, layer in enumerate(recorded):
        for given_params, _ in layer.given:
            other = next(
                (j for j, entry in enumerate(params) if _same_leaves(given_params, entry)), None
            )
            if (
                other is not None
                and other != index
                and not _same_leaves(params[other], params[index])
            ):
                return (
                    f"the apply_fun of layer {index} got params[{other}], the params of layer "
                    f"{other}: pair each layer's apply_fun with its own params, "
                    "zip(apply_funs, params), both in the order of the layers"
                )
    return ""


def _flat_params_hint(params, returned: list) -> str:
    """The hint for the layers' params put into one flat list, or ''."""
    flattened = [leaf for layer_params in returned for leaf in layer_params]
    if (
        isinstance(params, tuple | list)
        and len(params) == len(flattened)
        and all(map(_same_leaves, params, flattened))
    ):
        return (
            "the layers' params are in one flat list: append each layer's params as one "
            "entry, params.append(layer_params) (not extend or +=)"
        )
    return ""


def _check_initialised(recorded, input_shape, output_shape, params, described: str) -> None:
    """What init_fun did with the layers' init_funs, and what it returned."""
    for index, layer in enumerate(recorded):
        if len(layer.inits) != 1:
            raise AssertionError(
                f"{described}: init_fun called the init_fun of layer {index} "
                f"{len(layer.inits)} times.\nHint: call each layer's init_fun once, in turn"
            )
    returned = [layer.inits[0][2] for layer in recorded]
    if not isinstance(params, tuple | list) or len(params) != len(recorded):
        hint = _flat_params_hint(params, returned) or (
            "params is a list with one entry per layer, the params that layer's init_fun "
            "returned, in order"
        )
        raise AssertionError(f"{described}: params has shapes {_shapes(params)}.\nHint: {hint}")
    if not all(map(_same_leaves, params, returned)):
        if all(map(_same_leaves, reversed(params), returned)):
            raise AssertionError(
                f"{described}: params has shapes {_shapes(params)}: the layers' params, last "
                "layer first.\nHint: append each layer's params in the order of the layers"
            )
        output_shapes = [layer.inits[0][1] for layer in recorded]
        hint = _flat_params_hint(params, returned)
        if not hint and any(
            _is_shape(tuple(entry)) and tuple(entry) in output_shapes
            for entry in params
            if isinstance(entry, tuple | list) and entry
        ):
            hint = (
                "params holds a layer's output shape where its params belong: each init_fun "
                "returns the pair (output_shape, params), in that order: unpack it as "
                "output_shape, layer_params = layer_init(rng, input_shape)"
            )
        if not hint:
            hint = (
                "params is a list with one entry per layer, the params that layer's init_fun "
                "returned, in order"
            )
        raise AssertionError(
            f"{described}: params has shapes {_shapes(params)}, but the layers' init_funs "
            f"returned params of shapes {_shapes(returned)}.\nHint: {hint}"
        )
    expected_input = input_shape
    for index, layer in enumerate(recorded):
        got_input, layer_output, _ = layer.inits[0]
        if got_input != expected_input:
            raise AssertionError(
                f"{described}: the init_fun of layer {index} got the input shape {got_input}, "
                f"but the layer before it outputs {expected_input}.\nHint: give each layer's "
                "init_fun the output shape of the layer before it (the first one gets "
                "input_shape)"
            )
        expected_input = layer_output
    if tuple(output_shape) != expected_input:
        raise AssertionError(
            f"{described}: init_fun returned the output shape {output_shape}, expected "
            f"{expected_input}.\nHint: return the output shape of the last layer"
        )


def _check_applied_in_turn(recorded, params, x, output, described: str) -> None:
    """What apply_fun did with the layers' apply_funs, and what it returned."""
    inputs = x
    for index, (layer, layer_params) in enumerate(zip(recorded, params, strict=True)):
        problem, hint = None, ""
        if len(layer.applies) != 1:
            problem = f"it called the apply_fun of layer {index} {len(layer.applies)} times"
            if index > 0 and not any(later.applies for later in recorded[index:]):
                hint = (
                    f"apply_fun stops after layer {index - 1}, the layers after it never run: "
                    "is its `return` inside the loop, or does the loop stop early? It should "
                    f"be {IN_TURN}"
                )
        else:
            got_params, got_inputs, outputs = layer.applies[0]
            if not _same_leaves(got_params, layer_params):
                problem = f"the apply_fun of layer {index} got other params than params[{index}]"
                hint = _other_layers_params_hint(recorded, params)
            elif not _same_array(got_inputs, inputs):
                source = "x" if index == 0 else f"the output of layer {index - 1}"
                problem = f"the apply_fun of layer {index} did not get {source}"
            inputs = outputs
        if problem is not None:
            raise AssertionError(
                f"{described}: apply_fun(params, x) is wrong: {problem}.\nHint: "
                f"{hint or f'it should be {IN_TURN}'}"
            )
    if not _same_array(output, inputs):
        raise AssertionError(
            f"{described}: apply_fun(params, x) is not the output of the last layer.\nHint: "
            f"it should be {IN_TURN}"
        )


def _same_array(a, b) -> bool:
    return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))


def _check_layers_differ(params: Sequence, described: str) -> None:
    """Two layers with parameters of the same shapes must not get the same values."""
    for later, layer_params in enumerate(params):
        for earlier in range(later):
            if _leaves(layer_params) and _same_leaves(layer_params, params[earlier]):
                raise AssertionError(
                    f"{described}: layers {earlier} and {later} got the same parameters.\n"
                    "Hint: pass the one rng to every layer's init_fun in turn (it moves on as "
                    "it draws); don't make a new generator for each layer"
                )
