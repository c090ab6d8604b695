"""What a Python or NumPy error raised inside a learner's code most likely means.

A graded test that crashes shows the error's own message, which names what failed
("matmul: Input operand 1 has a mismatch...") but not where, nor the mistake behind it.
``explain_crash`` says both: the line of the learner's own code that raised (from the
traceback, with the values its names held: shapes of arrays, None, types), and a hint for
that kind of error (``explain_error``). ``pancake.course.prelude.graded`` adds it to a
crashing graded test's message.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import difflib
import inspect
import linecache
import operator
import os
import re
import sys
import sysconfig
import textwrap
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pancake.testing.hints import listed

# Methods of PyTorch's nn.Module that pancake's modules do not have.
PYTORCH_MODULE_METHODS = ("modules", "named_modules", "children")
PYTORCH_OPTIMIZER_NAMES = ("param_groups", "add_param_group")

# (exception types, a pattern of the message, the hint): the first match wins.
EXPLANATIONS: list[tuple[tuple[type[BaseException], ...], str, str]] = [
    (
        (TypeError,),
        r"unsupported operand type\(s\) for \^",
        "^ is bitwise XOR in Python, not a power: write x ** 2 (or x * x)",
    ),
    (
        (ValueError,),
        r"truth value of an array with more than one element is ambiguous",
        "Python's max, min, if, and, or compare single numbers, not arrays: for an entry-wise "
        "choice use np.maximum(x, 0), np.minimum or np.where; to test whether a value is "
        "missing, write `if x is None` (not `if not x`, which asks an array for one truth "
        "value)",
    ),
    (
        (ValueError,),
        r"backward\(\) got grad_output of shape \(\), but the forward output had shape \(\d",
        "backward was given a single number where dL/d(output) belongs, an array of the "
        "output's shape: the loss value is not its gradient; pass the loss's gradient, "
        "model.backward(loss_fn.backward())",
    ),
    (
        (TypeError,),
        r"len\(\) of unsized object",
        "a single number (shape ()) reached code that needs something with a length, an "
        "array or a list: check what the line passes (rng.permutation(n) takes a count, but "
        "rng.permuted(a), rng.shuffle(a) and np.take(a, ...) take an array); `if not x` on "
        "a Tensor of shape () asks for its len() too: test a missing value with `if x is "
        "None`",
    ),
    (
        (TypeError,),
        r"'NoneType' object cannot be interpreted as an integer",
        "None was given where an integer belongs (an axis, a length, an index): axis=None "
        "means every axis and is not an axis number; handle that case on its own (a sum "
        "over every axis keeps no axis), or use a function that takes None "
        "(keepdims_shape(shape, axis) does)",
    ),
    (
        (AttributeError, TypeError),
        r"'NoneType'",
        "a value was None: a function or method that ends without `return`, an in-place "
        "method that returns None (list.sort(), list.reverse(), rng.shuffle(a)), an "
        "optional part used without checking it (with bias=False, self.bias is None), or a "
        "gradient set to None (pancake adds to gradients: zero_grad() fills them with zeros)",
    ),
    (
        (ValueError,),
        r"matmul: Input operand \d has a mismatch in its core dimension|shapes \(.*\) and \(.*\) "
        r"not aligned",
        "the inner sizes of a matrix product differ: in a @ b the last axis of a must be as "
        "long as the second-to-last axis of b. Inputs hold one example per row, so a layer "
        "computes x @ W with x (batch, in) and W (in, out), not the math's W @ x; write down "
        "the shape of each factor",
    ),
    (
        (ValueError,),
        r"could not broadcast input array from shape",
        "values were written into a slice of another shape: check the slice's bounds (a "
        "slice of n entries from s ends at s + n) and that both sides have their axes in "
        "the same order",
    ),
    (
        (ValueError,),
        r"operands could not be broadcast together with shapes",
        "two arrays were combined entry by entry, but their axes do not line up: write down "
        "what each axis of each array holds (batch, channels, height, width...) and reshape "
        "or transpose one of them to match",
    ),
    (
        (ValueError,),
        r"non-broadcastable output operand with shape",
        "an in-place update (+=, -=, *=) of an array with a result of another shape: the "
        "result must have the shape of the array it updates (see above); sum or reshape it "
        "into that shape, with its axes in the same order",
    ),
    (
        (IndexError,),
        r"arrays used as indices must be of integer \(or boolean\) type",
        "an array of floats was used as an index: indices must be integers; class labels "
        "given as one-hot rows or probabilities become class numbers with argmax(axis=1)",
    ),
    (
        (ValueError,),
        r"cannot reshape array of size",
        "a reshape asked for another number of entries than the array has: compute the new "
        "shape from the array's own shape (or use -1 for one axis)",
    ),
    (
        (TypeError,),
        r"iter\(\) returned non-iterator",
        "__iter__ must return an iterator: write it as a generator (yield each item in "
        "turn), not return a list or one item",
    ),
    (
        (TypeError,),
        r"not reversible|argument to reversed\(\) must be a sequence",
        "reversed() needs a sequence such as a list, not a generator: reversed(self.layers)",
    ),
    (
        (TypeError,),
        r"'tuple' object is not callable",
        "a (name, value) pair was called as a function: named_children() and items() give "
        "pairs, so unpack them (for name, layer in ...) or iterate over the values",
    ),
    (
        (TypeError,),
        r"takes (from \d+ to )?\d+ positional arguments? but \d+ (were|was) given",
        "a function got more positional arguments than it takes: check its signature "
        "(arguments after * must be passed by name, e.g. rng=rng)",
    ),
    (
        (IndexError,),
        r"tuple index out of range",
        "an index past the end of a tuple: a tuple of n items (a shape, or what "
        "save_for_backward saved, in self.saved_tensors) has indices 0 to n - 1; count its "
        "items, and for a shape use shape[-1] for the last axis whatever their number",
    ),
    (
        (IndexError,),
        r"list index out of range",
        "an index past the end of a list: a list of n items has indices 0 to n - 1 (the "
        "last is [n - 1], or [-1]), and range(n) already stops at n - 1",
    ),
    (
        (IndexError,),
        r"too many indices for array",
        "an array was indexed with more indices than it has axes (see its shape above): "
        "a 1-d array takes one index, a[i] or a[order], not a[order, :]; index each array "
        "the way you index the one it goes with (x.flat[i] with grad.flat[i], or the same "
        "np.ndindex index for both)",
    ),
    (
        (IndexError,),
        r"index -?\d+ is out of bounds for axis",
        "an index past the end of an axis: an axis of size n has indices 0 to n - 1. Check "
        "the bounds of the loop or slice that made the index, and that the index was made "
        "for this array (the same axis, the same order)",
    ),
    (
        (TypeError,),
        r"can only concatenate tuple \(not \"int\"\) to tuple",
        "a tuple plus an int: (n) is just n in parentheses, a tuple of one entry needs a "
        "comma, (n,); shape[:-1] + (n,) replaces the last axis",
    ),
    (
        (TypeError,),
        r"backward\(\) missing 1 required positional argument",
        "pancake's backward(grad) takes the gradient of the output (it is not PyTorch's "
        "loss.backward()): pass it, e.g. model.backward(loss_fn.backward())",
    ),
    (
        (TypeError,),
        r"missing \d+ required (positional|keyword-only) arguments?",
        "a function was called without an argument it needs (named above): check its "
        "signature, and what the caller passes",
    ),
    (
        (AttributeError,),
        r"'numpy.ndarray' object has no attribute '(data|grad)'",
        "an array where a Parameter belongs: only a Parameter has .data and .grad; keep "
        "the Parameter itself (self.weight, not self.weight.data) where its .grad is used",
    ),
    (
        (AttributeError,),
        r"'float' object has no attribute 'backward'",
        "a pancake loss returns a plain float, which has no backward: backpropagate with "
        "the loss module, model.backward(loss_fn.backward())",
    ),
    (
        (AttributeError,),
        r"'(float|int|numpy\.\w+)' object has no attribute '[a-z]+_'",
        "a PyTorch habit: an in-place Tensor method (its name ends in _, as add_ or mul_), "
        "which NumPy arrays do not have: write the operator that works in place, a += b "
        "(a -= b, a *= b), or a[...] = b",
    ),
    (
        (AttributeError,),
        r"'(float|int|numpy\.\w+)' object has no attribute "
        r"'(item|numpy|detach|cpu|cuda|to|requires_grad|dim|unsqueeze|float|long|t|"
        r"permute|contiguous|clone|size|matmul|mm|clamp|numel|exp|log|sigmoid|softmax|"
        r"expand|expand_as|view|repeat_interleave|masked_fill|zero_|fill_|norm|pow|abs)'",
        "a PyTorch habit: pancake has no Tensors here: its losses return a plain Python float "
        "(already a number: no .item()) and its modules take and return NumPy arrays (no "
        ".numpy(), .detach(), .cpu(), .to(), .clone()): use the value as it is, or NumPy's "
        "own names (np.copy(a), a.T or a.transpose(...), a.ndim, a.astype(np.float32), "
        "a[None] or np.expand_dims, a @ b, np.clip(a, 0, None), a.size, np.exp(a))",
    ),
    (
        (AttributeError,),
        r"object has no attribute '(param_groups|add_param_group)'",  # PYTORCH_OPTIMIZER_NAMES
        "a PyTorch habit: pancake's optimizers keep no param_groups: for param, state in "
        "self.params_with_grad() gives each parameter that has a gradient, with its own "
        "state dict, and the settings are attributes (self.lr, self.momentum)",
    ),
    (
        (AttributeError, TypeError),
        r"'memoryview'",
        "a PyTorch habit: an array's .data is a memoryview of its bytes, not its values "
        "(tensor.data in PyTorch): param.grad is already the array of the gradient, use it "
        "as it is; only a Parameter's .data holds its values",
    ),
    (
        (NameError,),
        r"name '(torch|F|nn)' is not defined",
        "a PyTorch habit: pancake runs on NumPy alone, there is no torch here: NumPy's own "
        "functions do the same (np.zeros_like, np.exp, pancake.ops' softmax and "
        "log_softmax), and nothing needs torch.no_grad(): pancake computes gradients only "
        "when backward is called",
    ),
    (
        (TypeError,),
        r"unexpected keyword argument '(dim|keepdim)'",
        "a PyTorch habit: NumPy names the axis `axis` and keeping it `keepdims`: "
        "x.sum(axis=0, keepdims=True), not dim=0, keepdim=True",
    ),
    (
        (TypeError,),
        r"unexpected keyword argument 'unbiased'",
        "a PyTorch habit: NumPy's var and std choose the divisor with ddof: x.var(ddof=0) "
        "divides by n (PyTorch's unbiased=False), x.var(ddof=1) by n - 1",
    ),
    (
        (TypeError,),
        r"only (0-dimensional|length-1|size-1) arrays can be converted to Python scalars",
        "an array went where one number belongs: math.exp, math.log, math.sqrt, float() and "
        "int() take a single number; on arrays use NumPy's np.exp, np.log, np.sqrt, which "
        "work entry by entry",
    ),
    (
        (TypeError,),
        r"'(list|tuple)' object cannot be interpreted as an integer",
        "a list or tuple went where one integer belongs: several axes are given as one "
        "tuple, axis=(0, 2, 3) (not a list), and a shape held in a tuple is unpacked with *, "
        "x.reshape(n, *shape), or given whole, x.reshape((n, *shape))",
    ),
    (
        (UnboundLocalError,),
        r"",
        "the function reads a local variable before it has a value: the name is assigned "
        "somewhere in the function (later, or in a branch that did not run), so Python takes "
        "it as local everywhere in it; give it a value before this line (or read the "
        "argument or attribute it was meant to be)",
    ),
    (
        (AttributeError,),
        r"property '\w+' of '[\w.<>]+' object has no setter",
        "this attribute can be read but not assigned: pancake computes it. Save what "
        "backward needs with self.save_for_backward(x, ...), and read it back there with "
        "self.saved_tensors",
    ),
    (
        (TypeError,),
        r"'int' object is not callable",
        "a number was called like a function: NumPy's x.size and x.shape are attributes "
        "(x.shape[0] or len(x), not PyTorch's x.size(0)); or a name that holds a number "
        "hides a function of the same name",
    ),
    (
        (TypeError,),
        r"'<' not supported between instances of",
        "sorted() (or max, min) compares the items with <, which modules and most objects do "
        "not support: to go through a list last to first, use reversed(items) or "
        "items[::-1], which keep the items as they are",
    ),
    (
        (AttributeError,),
        r"object has no attribute '(modules|named_modules|children)'",  # PYTORCH_MODULE_METHODS
        "a PyTorch habit: pancake's modules have no modules() or children(); a Sequential "
        "keeps its modules in the list self.layers (for layer in self.layers: ...)",
    ),
    (
        (ValueError,),
        r"and requested shape|cannot broadcast a non-scalar to a scalar"
        r"|input operand has more dimensions than allowed by the axis remapping",
        "np.broadcast_to only stretches an array to a larger shape (axes of length 1, new "
        "leading axes): it cannot make an array smaller; to undo broadcasting, sum over the "
        "axes that were added or stretched",
    ),
    (
        (NameError,),
        r"name '\w+' is not defined",
        "the name is not defined where this line runs: a variable of another function "
        "(forward's x or y, a loop's variable) does not exist here; save what backward needs "
        "in forward (self.save_for_backward(...)) and read it back (self.saved_tensors), or "
        "define the name first (and check its spelling)",
    ),
    (
        (TypeError,),
        r"'(method|function|builtin_function_or_method)' object is not (iterable|subscriptable)",
        "a method or function was used without calling it: add the parentheses, "
        "self.params_with_grad(), model.parameters(), so that it runs and gives its result",
    ),
    (
        (TypeError,),
        r"'(list|tuple|dict)' object is not callable",
        "a list (or tuple, dict) was called like a function: call each of its items "
        "(for layer in self.layers: x = layer(x)), or index it with square brackets, [i]",
    ),
    (
        (TypeError,),
        r"cannot unpack non-iterable",
        "the line unpacks one value into several names (a, b = value, or for a, b in "
        "items), but the value is a single object, not a pair: where it is made, put the "
        "pair together (append((a, b)), return a, b), or unpack something else",
    ),
    (
        (AttributeError, TypeError),
        r"'[\w.]+' object (has no attribute|is not (subscriptable|callable|iterable))",
        "this value is not the kind of object the line expects (its type is named above): "
        "look where it comes from: arguments passed in another order, the parts of a pair "
        "unpacked in another order, or a function that returns something else",
    ),
    (
        (ValueError,),
        r"zip\(\) argument \d+ is (longer|shorter) than argument \d+",
        "zip(..., strict=True) was given sequences of different lengths (see above): one "
        "holds more or fewer items than it should, e.g. a list made once, outside the "
        "function that fills it, which grows with every call; make it where it is filled",
    ),
    (
        (ValueError,),
        r"axis -?\d+ is out of bounds for array of dimension \d+",
        "an axis number past the array's axes: an array of d axes has axes 0 to d - 1; axes "
        "written for another layout (an image's (0, 2, 3) on an (N, C) input) fail: compute "
        "them from the input's number of axes, e.g. (0, *range(2, x.ndim))",
    ),
    (
        (TypeError,),
        r"got dtype object",
        "an array of Python objects reached code that computes with numbers: a function, "
        "a method passed without calling it (loss_fn.backward instead of "
        "loss_fn.backward()), or a list of arrays of different shapes",
    ),
    (
        (ValueError,),
        r"(not enough|too many) values to unpack",
        "the value unpacked has another number of items than the names on the left: check "
        "what it holds (see above) and what the function that made it returns",
    ),
    (
        (ValueError,),
        r"all the input array dimensions except for the concatenation axis must match",
        "arrays joined along one axis (np.concatenate, np.stack) must have the same sizes on "
        "every other axis: check the shapes above, and the axis you join them on",
    ),
    (
        (ValueError,),
        r"setting an array element with a sequence",
        "a list or tuple of arrays (or of arrays and None) was made into one array: a "
        "function returned a tuple or list where one array is expected",
    ),
    (
        (ValueError,),
        r"number sections must be larger than 0",
        "np.array_split got 0 sections (a count that is 0 for some data, e.g. len(self) of "
        "an empty epoch): slice in steps of the batch size instead, "
        "order[start : start + batch_size] for start in range(0, n, batch_size)",
    ),
    (
        (ValueError,),
        r"ArrayDataset: all arrays must have the same length",
        "the arrays given together hold different numbers of samples (see above): pair each "
        "set of inputs with its own labels, (X_val, y_val) and (X_train, y_train), shuffled "
        "or sliced the same way",
    ),
    (
        (TypeError,),
        r"expected a DataLoader or a tuple \(X, y\), got ndarray",
        "the data goes in as one argument, a DataLoader or the pair (X, y) in parentheses: "
        "evaluate(model, loss_fn, (X_val, y_val)), not evaluate(model, loss_fn, X_val, y_val)",
    ),
    (
        (TypeError,),
        r"Sequential takes Modules, got type",
        "a class where a module belongs: create the module with parentheses, ReLU(), not the "
        "class ReLU",
    ),
    (
        (ZeroDivisionError,),
        r"",
        "a division by a value that is 0 for some inputs (see above): rewrite the formula "
        "without that division (e.g. the chain rule's product instead of a quotient)",
    ),
    (
        (KeyError,),
        r"",
        "a dictionary has no entry for this key: it was never stored there (check where the "
        "dictionary is filled, and what it starts with), or use .get(key) where an entry "
        "may be missing",
    ),
    (
        (RecursionError,),
        r"",
        "a function calls itself without end: a method that calls itself (self.forward "
        "inside forward) where it should call another object's",
    ),
]


def explain_error(error: BaseException) -> str | None:
    """A hint for ``error`` raised by a learner's code, or None if it is not a known one
    (or already carries a hint). For a group (hypothesis found several distinct failures),
    the hint of its first known error."""
    inner_errors = getattr(error, "exceptions", None)  # an ExceptionGroup (Python >= 3.11)
    if isinstance(inner_errors, tuple | list):
        hints = (explain_error(inner) for inner in inner_errors)
        return next((hint for hint in hints if hint is not None), None)
    message = str(error)
    if "Hint:" in message:
        return None
    for error_types, pattern, hint in EXPLANATIONS:
        if isinstance(error, error_types) and re.search(pattern, message):
            return hint + _broadcast_shapes_hint(message) + _update_shapes_hint(message)
    return None


def parsed_shape(text: str) -> tuple[int, ...]:
    """The shape a message writes as ``(2,3)`` or ``(2, 3)``, as a tuple of ints."""
    return tuple(int(length) for length in re.findall(r"\d+", text))


def _update_shapes_hint(message: str) -> str:
    """What the shapes of a failed in-place update say, or '': a result with more axes than
    the array it updates, which are to be summed away."""
    found = re.fullmatch(
        r"non-broadcastable output operand with shape (\S+) doesn't match the broadcast "
        r"shape (\S+) ?",
        message,
    )
    if not found:
        return ""
    target, result = (parsed_shape(shape) for shape in found.groups())
    extra = len(result) - len(target)
    if extra <= 0 or len(target) != 1 or target[0] not in result:
        return ""
    return (
        f". The array has shape {target} and the result {result}: the result keeps axes "
        f"the array does not have; sum over every axis but the one of length {target[0]} "
        "(axis=(0, 2, 3) for one value per channel of (N, C, H, W))"
    )


def _broadcast_shapes_hint(message: str) -> str:
    """What the two shapes of a failed broadcast say, or '': each other's transpose, or a
    vector as long as the first axis of the other array (broadcasting lines it up with
    the last)."""
    found = re.fullmatch(
        r"operands could not be broadcast together with shapes (\S+) (\S+) ?", message
    )
    if not found:
        return ""
    a, b = (parsed_shape(shape) for shape in found.groups())
    if a != b and a == b[::-1]:
        return (
            f". The shapes {a} and {b} are each other's transpose: one of the two is "
            "transposed (a .T too many or missing)"
        )
    short, long = sorted((a, b), key=len)
    if len(short) == 1 and len(long) >= 2 and short[0] == long[0] != long[-1]:
        return (
            f". A vector of shape {short} lines up with the LAST axis of {long}, not the "
            "first: if it holds one value per row (a row sum, a mean), make it a column, "
            f"shape ({short[0]}, 1) (keepdims=True in the reduction that made it); if it holds "
            f"class labels, turn them into one-hot rows of shape {long} first"
        )
    return ""


def explain_crash(error: BaseException, test: types.FunctionType | None = None) -> str | None:
    """What to add to the message of ``error``, raised while ``test`` ran: where it happened
    in the learner's code (``where_it_failed``) and a hint (``explain_error``) unless the
    message has one, one per line. None when there is neither, for a stub
    (NotImplementedError), or for a failed check (an AssertionError) unless it reports a
    learner's crash (``raise ... from error``): then for that crash.
    """
    inner_errors = getattr(error, "exceptions", None)  # an ExceptionGroup (Python >= 3.11)
    if isinstance(inner_errors, tuple | list):
        explanations = (explain_crash(inner, test) for inner in inner_errors)
        return next((text for text in explanations if text is not None), None)
    hinted = _hinted(error)
    if isinstance(error, AssertionError):
        error = error.__cause__
    if error is None or isinstance(error, AssertionError | NotImplementedError):
        return None
    lines = where_it_failed(error, test)
    hint = None if hinted else own_code_hint(error, test)
    if hint is None and not hinted:
        hint = with_the_part(error, explain_error(error), test)
        callee = _framework_callee(error, test)
        if lines and callee is not None and (hint is not None or _documented(callee)):
            hint = _callee_hint(callee, None if isinstance(error, ZeroDivisionError) else hint)
    if hint is not None:
        lines.append(f"Hint: {hint}")
    return "\n".join(lines) or None


def _hinted(error: BaseException) -> bool:
    """Whether the message of ``error`` already holds a hint."""
    return any(marker in str(error) for marker in ("Hint:", "Likely mistake:"))


def with_the_part(
    error: BaseException, hint: str | None, test: types.FunctionType | None = None
) -> str | None:
    """``hint``, about an error's kind, led by what the part of the learner's line that
    ``error`` is about holds (``_pinpoint``), when it is found."""
    found = _pinpoint(error, test)
    if found is None or hint is None:
        return found[0] if found else hint
    part, complete = found
    return part if complete else f"{part}: {hint}"


def explained(error: Exception, test: types.FunctionType | None = None) -> Exception:
    """``error`` as the learner sees it: an AssertionError with ``explain_crash``'s lines
    under its message (not prefixed twice with AssertionError), or ``error`` itself when
    there is nothing to add."""
    explanation = explain_crash(error, test)
    hinted = _hinted(error)
    if explanation is None and test is not None:
        slip = slip_in_code_hint(test)
        if slip is not None and slip not in str(error):
            explanation = f"{'Also' if hinted else 'Hint'}: {slip}"
    if explanation is None:
        return error
    failure = error if isinstance(error, AssertionError) else f"{type(error).__name__}: {error}"
    return AssertionError(f"{failure}\n{explanation}")


def slip_in_code_hint(test: types.FunctionType) -> str | None:
    """A slip read from the learner's code that ``test`` can reach, sure enough to name
    under any failed check: a statement that does nothing (a method named without its
    call, == where = belongs, a result thrown away), a loop that ends in its first pass, a
    dict, list or total made anew inside the loop that fills it, or the new array of a
    NumPy call thrown away; None if there is none."""
    test_file = _code_of(test).co_filename
    readers = (_does_nothing_at_all, _ends_in_first_pass, _remade_in_loop, _result_thrown_away)
    for code in _reachable_codes(test):
        found = _is_learner_code(code, test_file) and _slip_in(code, readers)
        if found:
            return found
    return None


def remade_in_loop_hint(function) -> str | None:
    """The hint for a ``function`` that makes a dict, list, set, array or total anew inside
    the loop that adds to it (``_remade_in_loop``); None if there is none."""
    code = getattr(function, "__code__", None)
    return _slip_in(code, (_remade_in_loop,)) if code is not None else None


def _slip_in(code: types.CodeType, readers) -> str | None:
    """ "in your `f`, line 4: `text` ...": the first slip one of ``readers`` finds in the
    source of ``code``; each takes (node, line) pairs and the line of each node, and gives
    (the line, what is wrong with it) or None."""
    nodes = _nodes_of(code)
    lines = {id(node): line for node, line in nodes}
    for reader in readers:
        found = reader(nodes, lines)
        if found:
            line, words = found
            text = linecache.getline(code.co_filename, line).strip()
            return f"in your `{code.co_name}`, line {line}: `{text}` {words}"
    return None


def _does_nothing_at_all(nodes, lines) -> tuple[int, str] | None:
    """A statement that does nothing (``_does_nothing``)."""
    for node, line in nodes:
        why = _does_nothing(node)
        if why:
            return line, f"does nothing: {why}"
    return None


def _ends_in_first_pass(nodes, lines) -> tuple[int, str] | None:
    """A return or break in the body of a for loop with no if around it: the loop ends in
    its first pass."""
    for loop, _ in nodes:
        if not isinstance(loop, ast.For):
            continue
        for statement in loop.body:
            if isinstance(statement, ast.Return | ast.Break):
                fix = (
                    "return after the loop (one indent less)"
                    if isinstance(statement, ast.Return)
                    else "break only under an if"
                )
                return lines[id(statement)], (
                    f"is inside the loop of line {lines[id(loop)]} with no if around it, so "
                    f"the loop ends in its first pass: {fix}"
                )
    return None


# NumPy's functions, array methods and Generator methods that change nothing and give a new
# array (or value)
_GIVES_A_NEW_ARRAY = frozenset(
    {
        "sum", "mean", "max", "min", "prod", "std", "var", "cumsum", "reshape", "transpose",
        "swapaxes", "moveaxis", "squeeze", "expand_dims", "broadcast_to", "astype", "copy",
        "clip", "flatten", "ravel", "exp", "log", "sqrt", "tanh", "abs", "maximum", "minimum",
        "where", "dot", "matmul", "outer", "concatenate", "stack", "zeros_like", "ones_like",
        "permutation", "permuted", "argsort", "flip", "roll", "pad", "repeat", "tile",
    }
)  # fmt: skip


def _result_thrown_away(nodes, lines) -> tuple[int, str] | None:
    """A statement that calls a NumPy function or array method that gives a new array, and
    throws it away (grad.sum(axis=0) on its own line)."""
    for node, line in nodes:
        call = node.value if isinstance(node, ast.Expr) else None
        if not isinstance(call, ast.Call) or any(k.arg == "out" for k in call.keywords):
            continue
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        if method in _GIVES_A_NEW_ARRAY:
            owner = _dotted(call.func.value)
            given = call.args[0] if owner in ("np", "numpy") and call.args else call.func.value
            kept = ast.unparse(given) if isinstance(given, ast.Name | ast.Attribute) else "x"
            return line, (
                f"computes a new array and throws it away: NumPy's {method} changes nothing "
                f"in place; assign its result ({kept} = {ast.unparse(call)})"
            )
    return None


def _remade_in_loop(nodes, lines) -> tuple[int, str] | None:
    """A dict, list, set, array or total made anew inside the loop that adds to it (grads =
    {...} in the body of the loop that fills grads), and kept past the loop: what the
    earlier passes stored is lost."""
    for loop, _ in nodes:
        if not isinstance(loop, ast.For | ast.While):
            continue
        for statement in loop.body:
            name = _made_anew(statement)
            if name and _added_to(loop, name) and _kept_past(loop, name, nodes):
                return lines[id(statement)], (
                    f"is inside the loop of line {lines[id(loop)]}: it makes `{name}` anew at "
                    "every pass, so what the passes before stored in it is lost; make it "
                    "once, before the loop"
                )
    return None


_MAKERS = frozenset({"dict", "list", "set", "zeros", "zeros_like", "empty", "empty_like"})


def _made_anew(statement: ast.AST) -> str | None:
    """The name ``statement`` binds to a new dict, list, set, array of zeros or 0; or None."""
    targets = getattr(statement, "targets", None) or [getattr(statement, "target", None)]
    value = getattr(statement, "value", None)
    if not (
        isinstance(statement, ast.Assign | ast.AnnAssign)
        and len(targets) == 1
        and isinstance(targets[0], ast.Name)
    ):
        return None
    made = (
        isinstance(value, ast.Dict | ast.List | ast.Set)
        or (isinstance(value, ast.Constant) and value.value == 0)
        or (isinstance(value, ast.Call) and (_dotted(value.func) or "").split(".")[-1] in _MAKERS)
    )
    return targets[0].id if made else None


def _added_to(loop: ast.For | ast.While, name: str) -> bool:
    """Whether the body of ``loop`` adds to ``name``: stores in it, updates it in place,
    appends to it, or hands it to a function."""
    for node in (inner for statement in loop.body for inner in ast.walk(statement)):
        if isinstance(node, ast.Subscript | ast.AugAssign):
            target = node.value if isinstance(node, ast.Subscript) else node.target
            if isinstance(target, ast.Subscript):
                target = target.value
            if (
                isinstance(target, ast.Name)
                and target.id == name
                and (isinstance(node, ast.AugAssign) or isinstance(node.ctx, ast.Store))
            ):
                return True
        if isinstance(node, ast.Call):
            if any(isinstance(arg, ast.Name) and arg.id == name for arg in node.args):
                return True
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == name
                and func.attr in ("append", "extend", "update", "add", "setdefault")
            ):
                return True
    return False


def _kept_past(loop: ast.For | ast.While, name: str, nodes) -> bool:
    """Whether the function reads ``name`` after ``loop`` (returns it, say)."""
    return any(
        isinstance(node, ast.Name)
        and node.id == name
        and isinstance(node.ctx, ast.Load)
        and node.lineno > (loop.end_lineno or loop.lineno)
        for node, _ in nodes
    )


def _nodes_of(code: types.CodeType) -> list[tuple[ast.AST, int]]:
    """Every node of the source of ``code`` with the line it starts on, numbered as its
    file (or cell) is; [] when there is no source to read."""
    try:
        lines, first = inspect.getsourcelines(code)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):  # no source to read
        return []
    return [
        (node, max(first, 1) + node.lineno - 1)
        for node in ast.walk(tree)
        if hasattr(node, "lineno")
    ]


def _does_nothing(node: ast.AST) -> str | None:
    """Why ``node``, a statement, does nothing; None if it does something (or is a docstring)."""
    if not isinstance(node, ast.Expr):
        return None
    value = node.value
    if isinstance(value, ast.Attribute | ast.Name):
        return (
            "it names a method (or a value) without calling it: add the parentheses, "
            f"{ast.unparse(value)}()"
        )
    if isinstance(value, ast.Compare) and any(isinstance(op, ast.Eq) for op in value.ops):
        return "== compares and throws the answer away: to assign, write ="
    if isinstance(value, ast.BinOp | ast.Subscript | ast.Compare):
        return (
            "its result is computed and thrown away: assign it (x = x + ...), or update in "
            "place (x += ...)"
        )
    return None


def _reachable_codes(test: types.FunctionType, limit: int = 200) -> list[types.CodeType]:
    """The code objects ``test`` can reach through the names it uses: the functions and
    the methods of the classes of its globals, and theirs in turn (at most ``limit``)."""
    inner = _unwrapped(test)
    namespace = getattr(inner, "__globals__", {})
    found, todo = [], [inner.__code__]
    while todo and len(found) < limit:
        code = todo.pop()
        if code in found:
            continue
        found.append(code)
        todo += [const for const in code.co_consts if isinstance(const, types.CodeType)]
        for name in code.co_names:
            todo += _codes_of(namespace.get(name))
    return found


def _codes_of(value) -> list[types.CodeType]:
    """The code of a function (and of the function a decorator wrapped in it), or of each
    method a class defines itself."""
    if isinstance(value, types.FunctionType):
        return [value.__code__, *_codes_of(getattr(value, "__wrapped__", None))]
    if isinstance(value, type):
        return [
            member.__code__
            for member in vars(value).values()
            if isinstance(member, types.FunctionType)
        ]
    return []


@contextlib.contextmanager
def crashes_explained():
    """``with crashes_explained():`` around a visible check: a crash of the learner's code
    in it is explained as in a graded test (``explained``)."""
    try:
        yield
    except Exception as error:
        failure = explained(error)
        if failure is error:
            raise
        raise failure from error


def _attribute_never_set(error: BaseException) -> str | None:
    """The hint for an attribute of ``self`` read before anything set it, or None."""
    match = re.search(r"'(\w+)' object has no attribute '(\w+)'", str(error))
    frames = list(_traceback_frames(error.__traceback__))
    if not isinstance(error, AttributeError) or match is None or not frames:
        return None
    if match[2] in PYTORCH_MODULE_METHODS + PYTORCH_OPTIMIZER_NAMES:  # explain_error names it
        return None
    if not _is_learner_code(frames[-1][0].f_code, None):  # pancake's own attributes: not this
        return None
    owner = frames[-1][0].f_locals.get("self")
    if type(owner).__name__ != match[1]:
        return None
    return (
        f"self.{match[2]} was never set before this line read it: set it first (in "
        "__init__, or in forward for what backward needs: self.save_for_backward(...), read "
        "back with self.saved_tensors), and check its spelling"
    )


def own_code_hint(error: BaseException, test: types.FunctionType | None) -> str | None:
    """A hint read from the learner's own code, surer than one read from the error's
    message: an attribute never set, or take without axis=; None if neither."""
    return (
        _attribute_never_set(error)
        or _take_without_axis_hint(error, test)
        or _enumerate_unpacked_hint(error, test)
        or _zip_unpacked_hint(error, test)
    )


def _zip_unpacked_hint(error: BaseException, test: types.FunctionType | None) -> str | None:
    """The hint for a loop ``for f, p in zip(functions, params)`` unpacked in another order
    than zip's arguments: one name holds a value that fails as ``error`` says (not callable,
    no such attribute, unhashable) and the other one a value that would not; or for a loop
    ``for f, p in pairs`` whose ``f``, called, holds the data and ``p`` the function. None
    if there is none."""
    fails = _what_fails(error)
    if fails is None:
        return None
    for frame, node, line in _learner_nodes(error, test):
        zipped = _loop_names(node, "zip")
        names = zipped or (
            _pair_names(node) if "not callable" in str(error) else None  # a function for data
        )
        if names is None or len(names) != 2:
            continue
        values = [frame.f_locals.get(name, _MISSING) for name in names]
        failing = [fails(value) for value in values]
        if any(value is _MISSING for value in values) or sorted(failing, key=str) != [False, True]:
            continue
        if "not callable" in str(error) and names[failing.index(True)] not in _called_names(node):
            continue
        first, second = names
        held, order = (
            ("zip gives its items in the order of its arguments", "zip's order")
            if zipped
            else (
                f"each item of `{_short(node.iter)}` holds the two in the other order",
                "the items' order",
            )
        )
        return (
            f"{_quoted(frame.f_code, line)}: {held}, so `{first}` {_is_(values[0])} and "
            f"`{second}` {_is_(values[1])}: unpack them in {order}, `for {second}, {first} "
            f"in {ast.unparse(node.iter)}`"
        )
    return None


def _pair_names(node: ast.AST) -> tuple[str, ...] | None:
    """The two names of a loop ``for a, b in pairs`` over anything but enumerate(...) or
    zip(...), or None."""
    names = _unpacked_names(node)
    if names is None or len(names) != 2:
        return None
    if isinstance(node.iter, ast.Call) and _dotted(node.iter.func) in ("enumerate", "zip"):
        return None
    return names


def _called_names(node: ast.AST) -> set[str]:
    """The names called as functions in ``node``: f in f(x)."""
    return {
        inner.func.id
        for inner in ast.walk(node)
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
    }


def _what_fails(error: BaseException) -> Callable[[object], bool | None] | None:
    """Whether a value would raise ``error`` again where it was raised (not callable,
    without the attribute asked for, unhashable): True; False when it would not; None when
    neither is sure. None for any other error."""
    message = str(error)
    if isinstance(error, TypeError) and "not callable" in message:
        return lambda value: not callable(value)
    found = re.search(r"'([\w.]+)' object has no attribute '(\w+)'", message)
    if isinstance(error, AttributeError) and found:
        kind, attribute = found.groups()
        raised_on = getattr(error, "obj", _MISSING)

        def lacks(value) -> bool | None:
            if hasattr(value, attribute):
                return False
            the_one = raised_on is _MISSING or raised_on is value
            return True if _type_named(value, kind) and the_one else None

        return lacks
    found = re.search(r"unhashable type: '([\w.]+)'", message)
    if isinstance(error, TypeError) and found:

        def unhashable(value) -> bool | None:
            if _hashable(value):
                return False
            return True if _type_named(value, found[1]) else None

        return unhashable
    return None


def _enumerate_unpacked_hint(error: BaseException, test: types.FunctionType | None) -> str | None:
    """The hint for a loop ``for a, b in enumerate(items)`` whose ``a`` holds a count and
    ``b`` a pair where the item's own two parts were meant; None if there is none."""
    for frame, node, line in _learner_nodes(error, test):
        names = _loop_names(node, "enumerate")
        if names is None or len(names) != 2 or len(node.iter.args) != 1:
            continue
        count, item = (frame.f_locals.get(name, _MISSING) for name in names)
        if isinstance(count, int) and isinstance(item, tuple | list) and len(item) == 2:
            first, second = names
            return (
                f"{_quoted(frame.f_code, line)}: enumerate gives (number, item) pairs, so "
                f"`{first}` is the number {count} and `{second}` the whole item, a pair: loop "
                f"over the items themselves, `for {first}, {second} in "
                f"{ast.unparse(node.iter.args[0])}`, or unpack the item too, "
                f"`for i, ({first}, {second}) in enumerate(...)`"
            )
    return None


def _learner_nodes(error: BaseException, test: types.FunctionType | None):
    """(the frame, a node of its source, the line the node starts on) for the frames of the
    learner's code on ``error``'s traceback, innermost first."""
    frames, learners = _learner_frames(test, error)
    for number in reversed(learners):
        frame = frames[number][0]
        for node, line in _nodes_of(frame.f_code):
            yield frame, node, line


def _quoted(code: types.CodeType, line: int) -> str:
    """ "line 7 `x = f(y)`": a line of the learner's code, with its text."""
    return f"line {line} `{linecache.getline(code.co_filename, line).strip()}`"


def _loop_names(node: ast.AST, over: str) -> tuple[str, ...] | None:
    """The names of a loop ``for a, b, ... in over(...)`` (``over`` is enumerate or zip), or
    None for any other node."""
    names = _unpacked_names(node)
    if names is None or not isinstance(node.iter, ast.Call) or _dotted(node.iter.func) != over:
        return None
    return names


def _unpacked_names(node: ast.AST) -> tuple[str, ...] | None:
    """The names of a loop ``for a, b, ... in ...`` that unpacks each item into names, or
    None for any other node."""
    if not (isinstance(node, ast.For) and isinstance(node.target, ast.Tuple)):
        return None
    if not all(isinstance(element, ast.Name) for element in node.target.elts):
        return None
    return tuple(element.id for element in node.target.elts)


def _take_without_axis_hint(error: BaseException, test: types.FunctionType | None) -> str | None:
    """The hint for a shape error in code that calls ``take`` without ``axis=``: the array
    is flattened first, so picking rows by index picks single numbers; or None."""
    if not isinstance(error, ValueError | IndexError):
        return None
    for frame, node, line in _learner_nodes(error, test):
        if _takes_without_axis(node):
            return (
                f"{_quoted(frame.f_code, line)} calls take without axis=: take flattens the "
                "array first, so the indices pick single numbers, not rows (the features are "
                "lost); pick rows with axis=0, X.take(order, axis=0), or index them, X[order]"
            )
    return None


def _takes_without_axis(node: ast.AST) -> bool:
    """Whether ``node`` is a call ``x.take(indices)`` or ``np.take(x, indices)`` without axis."""
    called = _array_and_arguments(node, ("take",))
    if called is None or any(keyword.arg == "axis" for keyword in node.keywords):
        return False
    return len(called[1]) == 1


def _array_and_arguments(node: ast.AST, names: tuple[str, ...]):
    """(the array, the other arguments) of a call ``np.f(a, ...)`` or ``a.f(...)`` with f in
    ``names``; None for any other node (or np.f without its array)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr not in names:
        return None
    if _dotted(node.func.value) in ("np", "numpy"):
        return (node.args[0], node.args[1:]) if node.args else None
    return node.func.value, node.args


def _framework_callee(
    error: BaseException, test: types.FunctionType | None
) -> types.FrameType | None:
    """The frame of the pancake function the learner's last line called, when the error was
    raised in (or under) pancake's framework code; else None."""
    frames, learners = _learner_frames(test, error)
    inner = (
        [frame for frame, _ in frames[learners[-1] + 1 :] if _is_framework_code(frame.f_code)]
        if learners
        else []
    )
    return inner[0] if inner else None


def _documented(frame: types.FrameType) -> str | None:
    """The first line of the docstring of the function ``frame`` runs, or None."""
    function = frame.f_globals.get(frame.f_code.co_name)
    doc = getattr(function, "__doc__", None) if callable(function) else None
    return doc.strip().splitlines()[0].replace("``", "") if doc else None


def _callee_hint(frame: types.FrameType, hint: str | None) -> str:
    """The hint for an error raised inside the pancake function ``frame`` runs: the values
    the learner's line passed to it, what the function is for, and ``hint`` (about the
    error itself) when there is one."""
    code = frame.f_code
    parameters = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    passed = [
        f"{name} = {described.removeprefix('is ')}"
        for name in parameters
        if name != "self" and (described := _described(frame.f_locals.get(name))) is not None
    ]
    name = _name(frame)
    called = f"`{name}` with {', '.join(passed)}" if passed else f"`{name}`"
    doc = _documented(frame)
    return (
        f"this was raised inside pancake's {called}, which your line calls: check what your "
        "line passes to it" + (f" (`{name}`: {doc})" if doc else "") + (f". {hint}" if hint else "")
    )


def _learner_frames(test: types.FunctionType | None, error: BaseException) -> tuple[list, list]:
    """The (frame, line) entries of ``error``'s traceback under ``test``, and the positions
    among them of the learner's own code."""
    frames = _frames_under(test, error.__traceback__)
    test_file = _code_of(test).co_filename if test is not None else None
    learners = [
        number
        for number, (frame, _) in enumerate(frames)
        if _is_learner_code(frame.f_code, test_file)
    ]
    return frames, learners


# Where a learner's code is not: pancake's own files, the standard library, installed packages.
_PANCAKE = Path(__file__).resolve().parents[1]
_NOT_THE_FRAMEWORK = (str(_PANCAKE / "testing") + os.sep, str(_PANCAKE / "course") + os.sep)
_LIBRARY_DIRECTORIES = tuple(
    os.path.realpath(directory) + os.sep
    for directory in {
        str(_PANCAKE),
        sys.prefix,
        sys.base_prefix,
        *sysconfig.get_paths().values(),
    }
)
_SHOWN_CALLERS = 1  # the line that raised, and the learner's line that called it


def where_it_failed(error: BaseException, test: types.FunctionType | None = None) -> list[str]:
    """The learner's lines on ``error``'s traceback (the one that raised, then its caller),
    each with its text and the values of the names it uses; [] if none is known. When the
    error was raised in pancake's framework code called from there on a value that is None
    (a gradient set to None), that line first.

    A learner's line is code that is neither pancake's nor a library's, and whose text is
    known (a notebook cell registers its text), called by ``test`` but outside its cell."""
    frames, learners = _learner_frames(test, error)
    if not learners:
        return []
    shown = [(_whose(frames[number][0]), *frames[number]) for number in learners]
    shown = shown[-1 - _SHOWN_CALLERS :]
    inner = [frame for frame in frames[learners[-1] + 1 :] if _is_framework_code(frame[0].f_code)]
    if inner and any(
        " is None" in value for value in _values_in(_line_of(*inner[-1]), inner[-1][0])
    ):
        shown.append((f"pancake's `{_name(inner[-1][0])}`", *inner[-1]))
    lines = []
    for number, (whose, frame, line) in enumerate(reversed(shown)):
        text = _line_of(frame, line)
        where = f"{whose}, line {line}: `{text}`"
        lines.append(f"In {where}" if number == 0 else f"  called from {where}")
        values = _values_in(text, frame)
        if values:
            lines.append("  where " + ", ".join(values))
    return lines


def _whose(frame: types.FrameType) -> str:
    """How a learner's frame is named: your `Linear.forward`, or the cell (a cell's own code)."""
    name = _name(frame)
    return "the cell" if name == "<module>" else f"your `{name}`"


def _line_of(frame: types.FrameType, line: int) -> str:
    """The text of a line of the code a frame runs."""
    return linecache.getline(frame.f_code.co_filename, line).strip()


def _name(frame: types.FrameType) -> str:
    """The qualified name of the function a frame runs (Linear.backward)."""
    return getattr(frame.f_code, "co_qualname", frame.f_code.co_name)


def _frames_under(test: types.FunctionType | None, traceback) -> list:
    """(frame, line) of a traceback's entries, outermost first, under ``test``'s own frame."""
    frames = list(_traceback_frames(traceback))
    if test is None:
        return frames
    test_code = _code_of(test)
    entered = [number for number, (frame, _) in enumerate(frames) if frame.f_code is test_code]
    return frames[entered[0] + 1 :] if entered else frames


def _code_of(test: types.FunctionType) -> types.CodeType:
    """The code of the test function itself, under hypothesis's and functools' wrappers."""
    return _unwrapped(test).__code__


def _unwrapped(test: types.FunctionType) -> types.FunctionType:
    """The test function itself, under hypothesis's and functools' wrappers."""
    inner = getattr(getattr(test, "hypothesis", None), "inner_test", test)
    while hasattr(inner, "__wrapped__"):
        inner = inner.__wrapped__
    return inner


def _traceback_frames(traceback: types.TracebackType | None):
    """(frame, line number) of each entry of a traceback, outermost first."""
    while traceback is not None:
        yield traceback.tb_frame, traceback.tb_lineno
        traceback = traceback.tb_next


def _is_framework_code(code: types.CodeType) -> bool:
    """Whether ``code`` is pancake's framework (its layers, optimizers...), not a check."""
    path = os.path.realpath(code.co_filename)
    return path.startswith(str(_PANCAKE) + os.sep) and not path.startswith(_NOT_THE_FRAMEWORK)


def _is_learner_code(code: types.CodeType, test_file: str | None) -> bool:
    filename = code.co_filename
    if filename == test_file or not linecache.getline(filename, code.co_firstlineno):
        return False
    return filename.startswith("<") or not os.path.realpath(filename).startswith(
        _LIBRARY_DIRECTORIES
    )


_MOST_VALUES_SHOWN = 6


def _values_in(text: str, frame: types.FrameType) -> list[str]:
    """ "`name` is ..." for the names (and attributes such as self.buffer) a line reads, and
    "`f` takes (a, b)" for the Python functions it calls."""
    shown = []
    for expression, called in _names_read(text):
        value = _looked_up(expression, frame)
        while value is _MISSING and "." in expression:  # x.T: show x itself
            expression, called = expression.rsplit(".", 1)[0], False
            value = _looked_up(expression, frame)
        if value is _MISSING or expression == "self":
            continue
        try:
            described = _signature(value) if called else _described(value)
        except Exception:  # a learner's object whose repr fails: not shown
            continue
        if described is not None:
            shown.append(f"`{expression}` {described}")
    return list(dict.fromkeys(shown))[:_MOST_VALUES_SHOWN]


def _names_read(text: str) -> list[tuple[str, bool]]:
    """The names and dotted attributes (a, self.buffer) a line of code reads, in order, each
    with whether the line calls it."""
    statement = text + " pass" if text.endswith(":") else text
    try:
        tree = ast.parse(statement)
    except SyntaxError:  # part of a statement (a continued line): its names
        return [(name, False) for name in re.findall(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", text)]
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    inside_a_chain = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and _dotted(node)
    }
    read = []
    for node in ast.walk(tree):
        augmented = isinstance(node, ast.AugAssign)
        target = node.target if augmented else node
        dotted = _dotted(target) if id(target) not in inside_a_chain else None
        if dotted and (augmented or isinstance(getattr(target, "ctx", None), ast.Load)):
            read.append((target.col_offset, dotted, id(target) in called))
    return [(dotted, is_called) for _, dotted, is_called in sorted(read)]


def _signature(function) -> str | None:
    """ "takes (a, b)" for a function written in Python, else None."""
    if not isinstance(function, types.FunctionType | types.MethodType):
        return None
    try:
        parameters = inspect.signature(function).parameters.values()
    except ValueError:  # no signature to show
        return None
    names, keyword_only = [], False
    for parameter in parameters:
        if parameter.kind is parameter.KEYWORD_ONLY and not keyword_only:
            names.append("*")
            keyword_only = True
        star = {parameter.VAR_POSITIONAL: "*", parameter.VAR_KEYWORD: "**"}.get(parameter.kind, "")
        default = "=..." if parameter.default is not parameter.empty else ""
        names.append(f"{star}{parameter.name}{default}")
    return f"takes ({', '.join(names)})"


def _dotted(node: ast.AST) -> str | None:
    """``a`` or ``a.b.c`` for a name or a chain of attributes of a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value)
        return f"{owner}.{node.attr}" if owner else None
    return None


_MISSING = object()


def _looked_up(expression: str, frame: types.FrameType):
    """The value of ``a.b.c`` in ``frame``, reading attributes from instance dictionaries
    and pancake's own properties only (no learner code runs), or _MISSING."""
    first, *attributes = expression.split(".")
    value = frame.f_locals.get(first, frame.f_globals.get(first, _MISSING))
    for attribute in attributes:
        if value is _MISSING:
            break
        kept = getattr(value, "__dict__", {}).get(attribute, _MISSING)
        value = kept if kept is not _MISSING else _pancakes_property(value, attribute)
    return value


def _pancakes_property(owner, attribute: str):
    """``owner.attribute`` when it is a property defined in pancake's own code (a Module's
    saved_tensors), whose reading runs no learner code; else _MISSING."""
    found = inspect.getattr_static(owner, attribute, None)
    getter = getattr(found, "fget", None)
    if not isinstance(found, property) or getter is None or not _is_framework_code(getter.__code__):
        return _MISSING
    try:
        return getter(owner)
    except Exception:  # nothing to read yet (nothing saved): no value
        return _MISSING


def _described(value) -> str | None:
    """ "is ..." with a short description of a value (None for functions, classes and
    modules)."""
    if value is None or isinstance(value, bool | int | np.integer):
        return f"is {value!r}"
    if isinstance(value, float | np.floating):
        return f"is {value:.6g}"
    if isinstance(value, np.ndarray):
        return f"is an array of shape {value.shape}"
    data = getattr(value, "__dict__", {}).get("data")
    if isinstance(data, np.ndarray):
        return f"is {_a(type(value).__name__)} of shape {data.shape}"
    if isinstance(value, tuple | list):
        text = repr(value)
        return (
            f"is {text}"
            if len(text) <= 40
            else f"is a {type(value).__name__} of {len(value)} item{'s' * (len(value) != 1)}"
        )
    if isinstance(value, str):
        return f"is {value!r}" if len(value) <= 30 else "is a str"
    if callable(value) or isinstance(value, types.ModuleType):
        return None
    return f"is {_a(type(value).__name__)}"


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: a Generator, an ArrayDataset."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


# -- the part of the learner's line a crash is about ----------------------------------------


def _pinpoint(error: BaseException, test: types.FunctionType | None) -> tuple[str, bool] | None:
    """What the part of the learner's line that ``error`` is about holds, read from the
    frame (the callee, the container, the operands, the object), as the first words of a
    hint: "`self.axis` is (1, 2, 0), a tuple", with whether those words name the whole
    mistake; None when the line or the part is not found."""
    frames, learners = _learner_frames(test, error)
    if not learners:
        return None
    frame, line = frames[learners[-1]]
    tree = _statement_around(frame, line)
    if tree is None:
        return None
    for pattern, error_types, reader in _PINPOINTS:
        found = re.search(pattern, str(error))
        if found and isinstance(error, error_types):
            try:
                said = reader(tree, frame, *found.groups())
            except Exception:  # a reader must never cost the learner the error itself
                said = None
            if said:
                return said, reader in _COMPLETE
    return None


def _statement_around(frame: types.FrameType, line: int) -> ast.AST | None:
    """The statement of the learner's code that ``line`` is part of (all its lines; of a
    loop, an if or a with, the header alone), from the source of the code the frame runs,
    or from the line alone when that source is not known; None if neither parses."""
    around = [
        (start, node)
        for node, start in _nodes_of(frame.f_code)
        if isinstance(node, ast.stmt) and start <= line <= start + node.end_lineno - node.lineno
    ]
    if not around:
        text = _line_of(frame, line)
        try:
            return ast.parse(text + " pass" if text.endswith(":") else text)
        except SyntaxError:
            return None
    start, statement = max(around, key=lambda found: (found[0], not hasattr(found[1], "body")))
    if not hasattr(statement, "body"):
        return statement
    header = copy.copy(statement)  # the body runs on other lines: not part of this one
    for part in ("body", "orelse", "handlers", "finalbody"):
        if hasattr(header, part):
            setattr(header, part, [])
    return header


def _value_of(node: ast.AST, frame: types.FrameType):
    """The value of ``node`` in ``frame`` when reading it runs no code of the learner's:
    constants, names, attributes kept in instance dictionaries or pancake's properties,
    NumPy's attributes, arithmetic and comparisons of numbers and arrays, slices, tuples,
    indexing into tuples, lists, dicts and arrays, and the calls ``_called`` allows; else
    _MISSING."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _value_of(node.operand, frame)
        return -value if _is_number_or_array(value) else _MISSING
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _computed(node.op, _value_of(node.left, frame), _value_of(node.right, frame))
    if isinstance(node, ast.Call):
        return _called(node, frame)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARISONS:
        left, right = _value_of(node.left, frame), _value_of(node.comparators[0], frame)
        if _is_number_or_array(left) and _is_number_or_array(right):
            return _COMPARISONS[type(node.ops[0])](left, right)
    if isinstance(node, ast.Slice):
        bounds = [
            None if b is None else _value_of(b, frame) for b in (node.lower, node.upper, node.step)
        ]
        return _MISSING if _any_missing(bounds) else slice(*bounds)
    if isinstance(node, ast.Tuple):
        items = [_value_of(item, frame) for item in node.elts]
        return _MISSING if _any_missing(items) else tuple(items)
    if isinstance(node, ast.Attribute):
        owner = _value_of(node.value, frame)
        if isinstance(owner, np.ndarray | np.generic):  # NumPy's own attributes run no learner code
            return getattr(owner, node.attr, _MISSING)
        dotted = _dotted(node)
        return _looked_up(dotted, frame) if dotted else _MISSING
    if isinstance(node, ast.Name):
        return _looked_up(node.id, frame)
    if isinstance(node, ast.Subscript):
        container, index = _value_of(node.value, frame), _value_of(node.slice, frame)
        readable = type(container) in (tuple, list, dict) or isinstance(container, np.ndarray)
        if readable and index is not _MISSING:
            try:
                return container[index]
            except Exception:  # the indexing that failed: no value
                return _MISSING
    return _MISSING


def _called(node: ast.Call, frame: types.FrameType):
    """The value of a call that runs no learner code: a safe builtin (range, len, tuple,
    list) or NumPy's own function or array method (not np.random's, not with out=), on
    plain values only; else _MISSING."""
    name = _dotted(node.func)
    function = _SAFE_BUILTINS.get(name) if name in _SAFE_BUILTINS else _value_of(node.func, frame)
    if function is _MISSING or not (name in _SAFE_BUILTINS or _numpys_own(function)):
        return _MISSING
    arguments = [_value_of(argument, frame) for argument in node.args]
    keywords = {k.arg: _value_of(k.value, frame) for k in node.keywords}
    values = [*arguments, *keywords.values()]
    if None in keywords or "out" in keywords or _any_missing(values):
        return _MISSING
    if not all(map(_plain, values)):
        return _MISSING
    try:
        with np.errstate(all="ignore"):
            return function(*arguments, **keywords)
    except Exception:  # the call that failed: no value
        return _MISSING


# NumPy's functions and array methods that change an array in place or touch files: never
# called again to read a line
_NOT_READ = frozenset(
    "fill sort resize put itemset setflags partition byteswap tofile dump dumps setfield "
    "save savez savez_compressed savetxt load loadtxt genfromtxt fromfile copyto place "
    "putmask put_along_axis fill_diagonal shuffle".split()
)


def _numpys_own(function) -> bool:
    """Whether ``function`` is NumPy's (a function of numpy outside numpy.random, a ufunc,
    or a method of an array), so that calling it runs no learner code, and one that
    changes nothing (``_NOT_READ``)."""
    if getattr(function, "__name__", None) in _NOT_READ:
        return False
    owner = getattr(function, "__self__", None)
    if isinstance(owner, np.ndarray | np.generic):
        return True
    module = getattr(function, "__module__", None) or ""
    if isinstance(function, np.ufunc):
        return True
    return module.split(".")[0] == "numpy" and not module.startswith("numpy.random")


def _any_missing(values) -> bool:
    """Whether any of ``values`` is _MISSING (by identity: arrays do not compare to it)."""
    return any(value is _MISSING for value in values)


# builtins whose calls on plain values (``_plain``) run no learner code
_SAFE_BUILTINS = {"range": range, "len": len, "tuple": tuple, "list": list}


def _plain(value) -> bool:
    """Whether ``value`` is a number, an array, or a built-in container of plain values."""
    if type(value) in (tuple, list):
        return all(map(_plain, value))
    return _is_number_or_array(value) or value is None or type(value) in (range, str, dict, bool)


def _is_number_or_array(value) -> bool:
    """Whether arithmetic on ``value`` runs NumPy's or Python's code only."""
    return type(value) in (int, float) or type(value) is np.ndarray or isinstance(value, np.generic)


# each operator's symbol and function
_OPERATORS = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv), ast.MatMult: ("@", operator.matmul),
    ast.Pow: ("**", operator.pow), ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
}  # fmt: skip


_COMPARISONS = {
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}  # fmt: skip


def _symbol(node: ast.AST) -> str | None:
    """The symbol of a binary operation ("+", "@") or of an update in place ("+=", "@="),
    None for any other node."""
    if not isinstance(node, ast.BinOp | ast.AugAssign) or type(node.op) not in _OPERATORS:
        return None
    return _OPERATORS[type(node.op)][0] + ("=" if isinstance(node, ast.AugAssign) else "")


def _operands(node: ast.BinOp | ast.AugAssign) -> tuple[ast.AST, ast.AST]:
    """The left and right operands of an operation, or the target and value of an update."""
    return (node.left, node.right) if isinstance(node, ast.BinOp) else (node.target, node.value)


def _computed(operation: ast.operator, left, right):
    """``left`` (operation) ``right`` for numbers and arrays; _MISSING for anything else, or
    if it fails."""
    if not (_is_number_or_array(left) and _is_number_or_array(right)):
        return _MISSING
    try:
        with np.errstate(all="ignore"):
            return _OPERATORS[type(operation)][1](left, right)
    except Exception:  # the operation that failed: no value
        return _MISSING


def _type_named(value, name: str) -> bool:
    """Whether ``value``'s type is the one an error message names ('numpy.ndarray', 'int')."""
    kind = type(value)
    return name in (kind.__name__, f"{kind.__module__}.{kind.__qualname__}")


def _is_(value) -> str:
    """ "is ..." for any value: ``_described``, or the kind of a function or class."""
    described = _described(value)
    if described is not None:
        return described
    if isinstance(value, type):
        return f"is the class {value.__name__}"
    if isinstance(value, types.FunctionType | types.MethodType | types.BuiltinFunctionType):
        return "is a function"
    return f"is {_a(type(value).__name__)}"


def _called_values(tree, frame, kind: str):
    """(the call, the value it calls) for each call of ``tree`` whose function is a value of
    the type an error message names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            value = _value_of(node.func, frame)
            if value is not _MISSING and _type_named(value, kind):
                yield node, value


def _not_callable(tree, frame, kind: str) -> str | None:
    """ "`f` is ..., not a function, and the line calls it"."""
    for node, value in _called_values(tree, frame, kind):
        return (
            f"`{ast.unparse(node.func)}` {_is_(value)}, not a function, and the line calls it, "
            f"`{_short(node)}`"
        )
    return None


def _attribute_called(tree, frame, kind: str) -> str | None:
    """ "`self.saved_tensors` is (...), a value kept on the object, not a method: drop the
    parentheses" for an attribute (or property) the line calls."""
    for node, value in _called_values(tree, frame, kind):
        if isinstance(node.func, ast.Attribute):
            return (
                f"`{ast.unparse(node.func)}` {_is_(value)}, a value the object holds, not a "
                f"method, and the line calls it, `{_short(node)}`: drop the parentheses, "
                f"`{ast.unparse(node.func)}`"
            )
    return None


def _bad_index(tree, frame, container_kind: str, index_kind: str) -> str | None:
    """ "`t[i]` indexes the tuple `t` with `i`, which is ..."."""
    for node, container, index in _subscripts(tree, frame):
        if _type_named(container, container_kind) and _type_named(index, index_kind):
            return (
                f"`{ast.unparse(node)}` indexes the {container_kind} "
                f"`{ast.unparse(node.value)}` with `{ast.unparse(node.slice)}`, which "
                f"{_is_(index)}: a {container_kind} takes one integer (or a slice) at a "
                f"time; for several positions pick each, "
                f"tuple({ast.unparse(node.value)}[i] for i in {ast.unparse(node.slice)})"
            )
    return None


def _attribute_owners(tree, frame, kind: str, attribute: str):
    """(the attribute's node, its owner) for each ``x.attribute`` of ``tree`` whose ``x`` is
    a value of the type an error message names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == attribute:
            owner = _value_of(node.value, frame)
            if owner is not _MISSING and _type_named(owner, kind):
                yield node, owner


def _no_attribute(tree, frame, kind: str, attribute: str) -> str | None:
    """ "`x` is ..., which has no `.a` (close names: ...)"."""
    for node, owner in _attribute_owners(tree, frame, kind, attribute):
        close = difflib.get_close_matches(
            attribute, [name for name in dir(owner) if not name.startswith("_")], 3, 0.65
        )
        alike = f" (close names it has: {', '.join(f'.{c}' for c in close)})" if close else ""
        return f"`{ast.unparse(node.value)}` {_is_(owner)}, which has no `.{attribute}`{alike}"
    return None


_ARRAY_ATTRIBUTES = frozenset({"shape", "ndim", "size", "dtype", "T"})


def _not_an_array(tree, frame, kind: str, attribute: str) -> str | None:
    """ "`self.dataset` is an ArrayDataset, not an array: ... len(self.dataset)", for an
    array's attribute read from a container of pancake's or the learner's (a Dataset)."""
    if attribute not in _ARRAY_ATTRIBUTES:
        return None
    for node, owner in _attribute_owners(tree, frame, kind, attribute):
        if _plain(owner):
            continue
        name = ast.unparse(node.value)
        offers = [
            words
            for method, words in (
                ("__len__", f"its length, len({name})"),
                ("__getitem__", f"its items, {name}[i]"),
                ("__iter__", f"its items one by one, for item in {name}"),
            )
            if hasattr(owner, method)
        ]
        if offers:
            return (
                f"`{name}` {_is_(owner)}, not an array: it has no `.{attribute}`; it gives "
                f"{' and '.join(offers)}"
            )
    return None


def _typed_operands(tree, frame, symbol: str, left_kind: str, right_kind: str):
    """(the operation, its operands' nodes, their values) for each operation ``symbol`` of
    ``tree`` whose operands are of the types an error message names."""
    for node in ast.walk(tree):
        if _symbol(node) != symbol:
            continue
        left_node, right_node = _operands(node)
        left, right = _value_of(left_node, frame), _value_of(right_node, frame)
        if _type_named(left, left_kind) and _type_named(right, right_kind):
            yield node, left_node, right_node, left, right


def _bad_operands(tree, frame, symbol: str, left_kind: str, right_kind: str) -> str | None:
    """ "in `a + b`, `a` is ... and `b` is ..." (or `a += b`)."""
    found = _typed_operands(tree, frame, symbol, left_kind, right_kind)
    for node, left_node, right_node, left, right in found:
        wrapped = next(
            (
                ast.unparse(side)
                for side, value in ((left_node, left), (right_node, right))
                if type(value) in (tuple, list) and len(value) == 1
            ),
            None,
        )
        unwrap = f": `{wrapped}` holds one value, take it out, (a,) = ..." if wrapped else ""
        return (
            f"in `{_short(node)}`, `{ast.unparse(left_node)}` {_is_(left)} and "
            f"`{ast.unparse(right_node)}` {_is_(right)}{unwrap}"
        )
    return None


# methods that change their object in place and return None
_IN_PLACE = ("reverse", "sort", "shuffle", "append", "extend", "insert", "update", "fill")


def _in_place_result(tree, frame, kind: str = "") -> str | None:
    """ "`order.reverse()` reverses `order` in place and returns None"."""
    for node in ast.walk(tree):
        is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if is_call and node.func.attr in _IN_PLACE:
            owner = ast.unparse(node.func.value)
            return (
                f"`{_short(node)}` changes `{owner}` in place and returns None, which the line "
                f"then uses: call it on its own line and use `{owner}` itself"
                + (", or loop over reversed(...)" if node.func.attr == "reverse" else "")
            )
    return None


def _sequence_multiplied(tree, frame, kind: str) -> str | None:
    """ "in `x * 0.5`, `x` is [1, 2], a list: * repeats a list"."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
            continue
        for sequence, number in ((node.left, node.right), (node.right, node.left)):
            values = _value_of(sequence, frame), _value_of(number, frame)
            if isinstance(values[0], list | tuple) and _type_named(values[1], kind):
                named = type(values[0]).__name__
                return (
                    f"in `{_short(node)}`, `{ast.unparse(sequence)}` {_is_(values[0])}, a Python "
                    f"{named}: * repeats a {named} (by a whole number), it does not multiply "
                    f"its entries; make it an array first, np.asarray({ast.unparse(sequence)})"
                )
    return None


def _method_not_called(tree, frame) -> str | None:
    """ "`(g * x).sum` is a method, not what it computes: call it, `(g * x).sum()`" for a
    method the line uses as a value."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in called:
            value = _value_of(node, frame)
            if isinstance(value, types.MethodType | types.BuiltinMethodType):
                return (
                    f"`{_short(node)}` is a method, not what it computes: the line uses it "
                    f"without calling it; add the parentheses, `{_short(node)}()`"
                )
    return None


def _one_item_only(tree, frame, method: str) -> str | None:
    """ "`ops.append(a, b)` gives append 2 values, but it takes one item: append the pair"."""
    for node in ast.walk(tree):
        is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if is_call and node.func.attr == method and len(node.args) > 1:
            items = ", ".join(ast.unparse(argument) for argument in node.args)
            return (
                f"`{_short(node)}` gives {method} {len(node.args)} values, but it takes one "
                f"item: to keep them together, give it one tuple, "
                f"{ast.unparse(node.func)}(({items}))"
            )
    return None


def _unexpected_keyword(tree, frame, keyword: str) -> str | None:
    """ "`f` has no argument `k`: it takes (...)"."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(k.arg == keyword for k in node.keywords):
            takes = _parameters_of(_callee(node.func, frame))
            if takes is None:
                return None
            close = difflib.get_close_matches(keyword, takes, n=1)
            alike = f" (did you mean `{close[0]}`?)" if close else ""
            return (
                f"`{ast.unparse(node.func)}` has no argument `{keyword}`{alike}: it takes "
                f"({', '.join(takes)})"
            )
    return None


def _callee(node: ast.AST, frame: types.FrameType):
    """What a call's function is, for its signature: its value, or for a method that is not
    kept on the object, the function its class defines (found without running it)."""
    value = _value_of(node, frame)
    if value is not _MISSING or not isinstance(node, ast.Attribute):
        return value
    owner = _value_of(node.value, frame)
    found = inspect.getattr_static(owner, node.attr, None) if owner is not _MISSING else None
    return types.MethodType(found, owner) if isinstance(found, types.FunctionType) else _MISSING


def _parameters_of(function) -> list[str] | None:
    """The parameter names of ``function``: from its signature, or when that is missing or
    ends in **kwargs (NumPy's methods), from the first line of its docstring; None when
    neither is readable."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        parameters = None
    if parameters is not None and all(p.kind is not p.VAR_KEYWORD for p in parameters.values()):
        return list(parameters)
    found = re.match(r"\s*[\w.]+\(([^)]*)\)", getattr(function, "__doc__", None) or "")
    if found:
        names = [part.split("=")[0].strip() for part in found.group(1).split(",")]
        return [name for name in names if name.isidentifier()]
    return list(parameters) if parameters is not None else None


def _module_not_imported(tree, frame, name: str) -> str | None:
    """ "`math` is a module that this notebook never imported" (Python's own modules, and
    NumPy as np)."""
    if name == "np":
        return "`np` is NumPy's usual name, which this notebook never gave: import numpy as np"
    if name not in sys.stdlib_module_names:
        return None
    return (
        f"`{name}` is a module of Python's that this notebook never imported: import it first "
        f"(import {name}), or use NumPy's own function, which works on arrays"
    )


def _undefined_name(tree, frame, name: str) -> str | None:
    """ "`x` is not defined here; close names that are: ..."."""
    known = [*frame.f_locals, *frame.f_globals, *vars(builtins)]
    close = [c for c in difflib.get_close_matches(name, known, 3, 0.75) if c != name]
    if not close:
        return None
    quoted = listed([f"`{known_name}`" for known_name in close], "or")
    return f"`{name}` is not defined where this line runs, but {quoted} is"


def _short(node: ast.AST, most: int = 60) -> str:
    """The source of ``node``, cut to ``most`` characters."""
    text = ast.unparse(node)
    return text if len(text) <= most else text[: most - 3] + "..."


def _shape(value) -> tuple | None:
    """The shape of an array (or of a Tensor's data), None for anything else."""
    data = value if isinstance(value, np.ndarray) else getattr(value, "__dict__", {}).get("data")
    return data.shape if isinstance(data, np.ndarray) else None


def _operand_pairs(tree: ast.AST, frame: types.FrameType, symbols: tuple[str, ...]):
    """(the operation, its left and right operands' source and shape) for each binary
    operation of ``symbols`` in ``tree`` whose operands are both arrays (or Tensors), and
    for each call np.dot(a, b), np.matmul(a, b) or a.dot(b) when "@" is among them."""
    for node in ast.walk(tree):
        if _symbol(node) and _symbol(node).rstrip("=") in symbols:
            left, right = _operands(node)
        elif "@" in symbols and _array_and_arguments(node, ("dot", "matmul")):
            left, others = _array_and_arguments(node, ("dot", "matmul"))
            if len(others) != 1:
                continue
            right = others[0]
        else:
            continue
        shapes = _shape(_value_of(left, frame)), _shape(_value_of(right, frame))
        if None not in shapes:
            yield node, (ast.unparse(left), shapes[0]), (ast.unparse(right), shapes[1])


def _matmul_mismatch(tree, frame) -> str | None:
    """ "`a @ b` multiplies `a` of shape (4, 2) by `b` of shape (3, 2): 2 and 3 differ"."""
    for node, (left, a), (right, b) in _operand_pairs(tree, frame, ("@",)):
        if not a or not b:
            continue
        inner = b[0] if len(b) == 1 else b[-2]
        if a[-1] != inner:
            return (
                f"`{_short(node)}` multiplies `{left}` of shape {a} by `{right}` of shape {b}: "
                f"the last axis of the left factor ({a[-1]}) must match the "
                f"{'only' if len(b) == 1 else 'second-to-last'} axis of the right one ({inner})"
            )
    return None


def _broadcast_mismatch(tree, frame) -> str | None:
    """ "`a * b` combines `a` of shape (4, 3) with `b` of shape (4,)"."""
    for node, (left, a), (right, b) in _operand_pairs(tree, frame, ("+", "-", "*", "/", "**")):
        if not _could_broadcast(a, b):
            return f"`{_short(node)}` combines `{left}` of shape {a} with `{right}` of shape {b}"
    return None


def _entrywise_product(tree, frame) -> str | None:
    """ "`a * b` multiplies ... entry by entry ...: theirs fit a matrix product, `a @ b`",
    for two matrices that do not broadcast but whose inner lengths match."""
    for node, (left, a), (right, b) in _operand_pairs(tree, frame, ("*",)):
        if len(a) == len(b) == 2 and a[1] == b[0] and not _could_broadcast(a, b):
            return (
                f"`{_short(node)}` multiplies `{left}` of shape {a} and `{right}` of shape {b} "
                "entry by entry, which needs shapes that line up; theirs fit a matrix product, "
                f"`{left} @ {right}` of shape {(a[0], b[1])}: * is not @"
            )
    return None


def _broadcast_stand_in(tree, frame) -> str | None:
    """ "`x + b` combines ...: `output` of shape (4, 2), which this function holds, would
    line up with `b`": another array of the frame that fits in place of a variable of a
    failed broadcast (the product computed a line above, where the input was written)."""
    for node, (left, a), (right, b) in _operand_pairs(tree, frame, ("+", "-", "*", "/", "**")):
        if _could_broadcast(a, b):
            continue
        if _could_be_reordered(a, b):
            return None  # a transpose or a reshape may be all it takes: other hints tell
        for kept, kept_shape, replaced, replaced_shape in (
            (left, a, right, b),
            (right, b, left, a),
        ):
            stand_ins = replaced.isidentifier() and _stand_ins(
                node, frame, kept_shape, replaced_shape
            )
            if stand_ins:
                return (
                    f"`{_short(node)}` combines `{left}` of shape {a} with `{right}` of shape "
                    f"{b}, which do not line up; {' and '.join(stand_ins[:3])}, which this "
                    f"function holds, would line up with `{kept}`: was it meant in place of "
                    f"`{replaced}`?"
                )
    return None


def _stand_ins(node: ast.AST, frame: types.FrameType, kept: tuple, replaced: tuple) -> list[str]:
    """ "`name` of shape (4, 2)" for the arrays of ``frame`` that ``node`` does not use, with
    as many axes as ``replaced`` and a shape that an array of shape ``kept`` broadcasts into:
    those the function computed itself, or else those it was given."""
    written = set(re.findall(r"\w+", ast.unparse(node)))
    arguments = frame.f_code.co_varnames[: frame.f_code.co_argcount]
    fitting = [
        (name in arguments, f"`{name}` of shape {_shape(value)}")
        for name, value in frame.f_locals.items()
        if name not in written
        and _shape(value) is not None
        and len(_shape(value)) == len(replaced)
        and _could_broadcast(kept, _shape(value))
        and np.broadcast_shapes(kept, _shape(value)) == _shape(value)
    ]
    computed = [text for given, text in fitting if not given]
    return computed or [text for _, text in fitting]


def _could_be_reordered(a: tuple, b: tuple) -> bool:
    """Whether every axis of the shorter shape has a size the other shape has too (so that
    reordering or reshaping might line them up)."""
    short, long = sorted((a, b), key=len)
    return all(size in long for size in short if size != 1)


def _could_broadcast(a: tuple, b: tuple) -> bool:
    """Whether arrays of shapes ``a`` and ``b`` broadcast together."""
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _subscripts(tree: ast.AST, frame: types.FrameType):
    """(the node, the container's value, the index's value) for each subscript of ``tree``
    whose container and index are both readable."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            container, index = _value_of(node.value, frame), _value_of(node.slice, frame)
            if container is not _MISSING and index is not _MISSING:
                yield node, container, index


def _past_the_end(tree, frame, kind: str) -> str | None:
    """ "`t[1]` asks for item 1 of `t`, a tuple of 1 item"."""
    for node, container, index in _subscripts(tree, frame):
        if _type_named(container, kind) and isinstance(index, int) and index >= len(container):
            asked = f"`{ast.unparse(node)}` asks for item {index} of `{ast.unparse(node.value)}`"
            if not container:
                return f"{asked}, which is {container!r}, an empty {kind}: it has no item at all"
            return (
                f"{asked}, a {kind} of {_counted(len(container), 'item')} (numbered 0 to "
                f"{len(container) - 1})"
            )
    return None


def _array_past_the_end(tree, frame, index: str, axis: str, size: str) -> str | None:
    """ "`x[i]` reads `x` of shape (3, 4), whose axis 0 has 3 entries"."""
    for node, container, _ in _subscripts(tree, frame):
        shape = _shape(container)
        if shape and int(axis) < len(shape) and shape[int(axis)] == int(size):
            return (
                f"`{_short(node)}` reads `{ast.unparse(node.value)}` of shape {shape} at index "
                f"{index} on axis {axis}, which has {_counted(int(size), 'entry')}"
            )
    return None


def _indexed_values(tree, frame, kind: str):
    """(the subscript, the value it indexes) for each subscript of ``tree`` that indexes a
    value of the type an error message names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            value = _value_of(node.value, frame)
            if value is not _MISSING and _type_named(value, kind):
                yield node, value


def _iterable_indexed(tree, frame, kind: str) -> str | None:
    """ "`loader[i]` indexes `loader`, a DataLoader, which gives its items by iteration
    only: loop over it" for an object that can be iterated over but not indexed."""
    for node, value in _indexed_values(tree, frame, kind):
        if hasattr(type(value), "__iter__") and not hasattr(type(value), "__getitem__"):
            name = ast.unparse(node.value)
            return (
                f"`{_short(node)}` indexes `{name}`, which {_is_(value)}: it gives its items "
                f"one after the other, by iteration only, not by index; loop over it, "
                f"`for item in {name}:` (or list({name}) to index them)"
            )
    return None


def _not_subscriptable(tree, frame, kind: str) -> str | None:
    """ "`f[0]` indexes `f`, which is a function"."""
    for node, value in _indexed_values(tree, frame, kind):
        return f"`{_short(node)}` indexes `{ast.unparse(node.value)}`, which {_is_(value)}"
    return None


def _not_iterable(tree, frame, kind: str) -> str | None:
    """ "the line loops over `n`, which is 10"."""
    for node in ast.walk(tree):
        iterated = getattr(node, "iter", None)  # a for loop, or a comprehension's for
        value = _value_of(iterated, frame) if iterated is not None else _MISSING
        if value is not _MISSING and _type_named(value, kind):
            return f"the line loops over `{ast.unparse(iterated)}`, which {_is_(value)}"
    return None


def _not_an_integer(tree, frame, kind: str) -> str | None:
    """ "`x.sum(axis=axes)` is given `axes`, which is [0], where it takes one integer"."""
    for call, argument, value in _arguments(tree, frame):
        if _type_named(value, kind):
            return (
                f"`{_short(call)}` is given `{ast.unparse(argument)}`, which {_is_(value)}, "
                "where it takes one integer"
            )
    return None


def _arguments(tree: ast.AST, frame: types.FrameType):
    """(the call, the argument's node, its value) for each readable argument of each call
    in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                value = _value_of(argument, frame)
                if value is not _MISSING:
                    yield node, argument, value


def _array_for_a_number(tree, frame) -> str | None:
    """ "`math.exp(-x)` is given `-x`, an array of shape (3,), where it takes one number"."""
    for call, argument, value in _arguments(tree, frame):
        if isinstance(value, np.ndarray) and value.size > 1:
            return (
                f"`{_short(call)}` is given `{ast.unparse(argument)}`, which {_is_(value)}, "
                "where it takes one number"
            )
    return None


def _number_for_a_sequence(tree, frame) -> str | None:
    """ "`rng.permuted(n)` is given `n`, which is 10, a single number"."""
    for call, argument, value in _arguments(tree, frame):
        if _is_number_or_array(value) and np.ndim(value) == 0:
            return (
                f"`{_short(call)}` is given `{ast.unparse(argument)}`, which {_is_(value)}, a "
                "single number, where it takes an array or a list"
            )
    return None


def _missing_key(tree, frame, key: str) -> str | None:
    """ "`grads[output]` looks up `output` in `grads`, a dict of 3 entries, which has none
    for it"."""
    for node, container, index in _subscripts(tree, frame):
        if type(container) is dict and _hashable(index) and index not in container:
            keys = [repr(k) for k in list(container)[:4]]
            short = container and all(type(key) in (str, int) for key in container)
            more = ", ..." if len(container) > 4 else ""
            shown = f" (its keys: {', '.join(keys)}{more})" if short else ""
            return (
                f"`{_short(node)}` looks up `{ast.unparse(node.slice)}` in "
                f"`{ast.unparse(node.value)}`, a dict of {_counted(len(container), 'entry')}"
                f"{shown}, which has no entry for it"
            )
    return None


def _counted(count: int, noun: str) -> str:
    """'1 entry', '3 entries', '2 items'."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def _hashable(value) -> bool:
    """Whether ``value`` can be a dict's key."""
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _no_length(tree, frame, kind: str) -> str | None:
    """ "`len(n)` asks `n`, which is 5, for its length"."""
    for call, argument, value in _arguments(tree, frame):
        if _dotted(call.func) == "len" and _type_named(value, kind):
            return (
                f"`{_short(call)}` asks `{ast.unparse(argument)}`, which {_is_(value)}, for its "
                "length: a single number has none (a count is already the number itself)"
            )
    return None


def _reshape_mismatch(tree, frame, size: str) -> str | None:
    """ "`order.reshape(-1, 4)` asks for rows of 4 from `order`, an array of 10 entries"."""
    for node in ast.walk(tree):
        called = _array_and_arguments(node, ("reshape",))
        if not called or not called[1]:
            continue
        source, lengths = called
        array = _value_of(source, frame)
        asked = [_value_of(length, frame) for length in lengths]
        if len(asked) == 1 and isinstance(asked[0], tuple):
            asked = list(asked[0])
        if _shape(array) is None or np.size(array) != int(size) or _any_missing(asked):
            continue
        if not all(isinstance(length, int | np.integer) for length in asked):
            continue
        known = [int(length) for length in asked if length != -1]
        entries = int(np.prod(known))
        what = f"`{_short(node)}` asks for shape {tuple(int(n) for n in asked)}"
        if -1 in asked:
            return (
                f"{what} from `{ast.unparse(source)}`, {_counted(int(size), 'entry')}: -1 "
                f"fills in what is left only when the other lengths divide the size, and "
                f"{size} is not a multiple of {entries}"
            )
        return (
            f"{what}, {_counted(entries, 'entry')}, from `{ast.unparse(source)}`, "
            f"{_counted(int(size), 'entry')} of shape {_shape(array)}"
        )
    return None


def _sequence_into_an_entry(tree, frame) -> str | None:
    """ "`out[i] = row` puts `row`, an array of shape (3,), into one entry of `out`" or
    "`np.array([a, b])` stacks pieces of shapes (3,) and (2,)"."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            target = node.targets[0]
            container, value = _value_of(target.value, frame), _value_of(node.value, frame)
            entry = _value_of(target, frame)
            if _shape(container) and np.ndim(entry) == 0 and np.ndim(value) > 0:
                return (
                    f"`{_short(target)}` is one entry of `{ast.unparse(target.value)}` (shape "
                    f"{_shape(container)}), but is given `{_short(node.value)}`, which "
                    f"{_is_(value)}"
                )
        stacked = isinstance(node, ast.Call) and _dotted(node.func) in ("np.array", "np.asarray")
        if stacked and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            pieces = [_value_of(piece, frame) for piece in node.args[0].elts]
            shapes = [np.shape(piece) for piece in pieces if piece is not _MISSING]
            if len(shapes) == len(pieces) and len(set(shapes)) > 1:
                return (
                    f"`{_short(node)}` stacks pieces of shapes {listed(shapes)}: pieces of one "
                    "array must all have the same shape"
                )
    return None


def _written_shapes(tree, frame) -> str | None:
    """ "`a[:, 1:] = b` writes `b`, of shape (3, 6), into `a[:, 1:]`, of shape (3, 5)" (also
    for +=, -=, ...)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, operator_text = node.targets[0], "="
        elif _symbol(node) and isinstance(node, ast.AugAssign):
            target, operator_text = node.target, _symbol(node)
        else:
            continue
        written, value = _shape(_value_of(target, frame)), _shape(_value_of(node.value, frame))
        if written is not None and value is not None and written != value:
            return (
                f"`{_short(target)} {operator_text} ...` writes `{_short(node.value)}`, of shape "
                f"{value}, into `{_short(target)}`, of shape {written}"
                + _reordered(node.value, value, written)
            )
    return None


def _reordered(node: ast.AST, shape: tuple, wanted: tuple) -> str:
    """ ": the same lengths in another order ..." when ``shape`` is ``wanted`` with its axes
    in another order, with the transpose when there is one way only (no two lengths
    alike); ''."""
    if sorted(shape) != sorted(wanted):
        return ""
    said = ": the same lengths in another order; put its axes in the order of the place it goes to"
    if len(set(shape)) != len(shape):
        return said
    simple = isinstance(node, ast.Name | ast.Attribute | ast.Call | ast.Subscript)
    text = _short(node) if simple else f"({_short(node)})"
    order = tuple(shape.index(n) for n in wanted)
    return f"{said}, {text}.T" if order == (1, 0) else f"{said}, {text}.transpose{order}"


def _truth_of_an_array(tree, frame) -> str | None:
    """ "`max(x, 0)` is Python's max, which compares whole values, and `x` is an array" or
    "`if x` asks `x`, an array of shape (5,), for one truth value"."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func) in ("max", "min", "sorted", "bool"):
            for argument in node.args:
                value = _value_of(argument, frame)
                if isinstance(value, np.ndarray) and value.size > 1:
                    return (
                        f"`{_short(node)}` is Python's {_dotted(node.func)}, which compares "
                        f"whole values, and `{ast.unparse(argument)}` {_is_(value)}"
                    )
        tested = getattr(node, "test", None)  # if, while, a conditional expression
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            tested = node.operand
        value = _value_of(tested, frame) if tested is not None else _MISSING
        if isinstance(value, np.ndarray) and value.size > 1:
            return (
                f"the line asks `{_short(tested)}`, which {_is_(value)}, for one truth value "
                "(if, while, not, and, or)"
            )
    return None


def _concatenated(tree, frame, kind: str, other: str) -> str | None:
    """ "in `shape + (n)`, `(n)` is 3, an int"."""
    for node, left_node, right_node, left, right in _typed_operands(tree, frame, "+", kind, other):
        return (
            f"in `{_short(node)}`, `{ast.unparse(left_node)}` {_is_(left)} and "
            f"`{ast.unparse(right_node)}` {_is_(right)}, not a {kind}"
        )
    return None


def _unpacked(tree, frame, how: str, expected: str, got: str | None = None) -> str | None:
    """ "`a, b` takes 2 values from `value`, which is ..." (or from each item of a loop's
    sequence, the first of which is ...)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, source, each = node.targets, node.value, ""
        elif isinstance(node, ast.For | ast.comprehension):
            targets, source, each = [node.target], node.iter, "each item of "
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Tuple) and len(target.elts) == int(expected):
                value = _value_of(source, frame)
                if each and isinstance(value, tuple | list) and value:
                    value, what = value[0], "the first of which"
                else:
                    what = "which"
                said = f", {what} {_is_(value)}" if value is not _MISSING else ""
                values = "1 value" if expected == "1" else f"{expected} values"
                return f"`{ast.unparse(target)}` takes {values} from {each}`{_short(source)}`{said}"
    return None


# (a pattern of the message, the errors it applies to, the reader of the line, which takes
# the tree of the line, the frame and the pattern's groups)
_PINPOINTS: list[tuple[str, tuple[type[BaseException], ...], Callable[..., str | None]]] = [
    (r"'NoneType'", (TypeError, AttributeError), _in_place_result),
    (r"'([\w.]+)' object is not callable", (TypeError,), _attribute_called),
    (r"method|dtype\('O'\)|dtype object", (TypeError,), _method_not_called),
    (r"\w+\.(\w+)\(\) takes exactly one argument", (TypeError,), _one_item_only),
    (r"'([\w.]+)' object is not callable", (TypeError,), _not_callable),
    (r"(tuple|list) indices must be integers or slices, not ([\w.]+)", (TypeError,), _bad_index),
    (r"'([\w.]+)' object has no attribute '(\w+)'", (AttributeError,), _not_an_array),
    (r"'([\w.]+)' object has no attribute '(\w+)'", (AttributeError,), _no_attribute),
    (
        r"unsupported operand type\(s\) for (\S+): '([\w.]+)' and '([\w.]+)'",
        (TypeError,),
        _bad_operands,
    ),
    (r"can't multiply sequence by non-int of type '([\w.]+)'", (TypeError,), _sequence_multiplied),
    (r"got an unexpected keyword argument '(\w+)'", (TypeError,), _unexpected_keyword),
    (r"name '(\w+)' is not defined", (NameError,), _module_not_imported),
    (r"name '(\w+)' is not defined", (NameError,), _undefined_name),
    (r"matmul: Input operand|not aligned", (ValueError,), _matmul_mismatch),
    (r"operands could not be broadcast together", (ValueError,), _entrywise_product),
    (r"operands could not be broadcast together", (ValueError,), _broadcast_stand_in),
    (r"operands could not be broadcast together", (ValueError,), _broadcast_mismatch),
    (r"(tuple|list) index out of range", (IndexError,), _past_the_end),
    (
        r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)",
        (IndexError,),
        _array_past_the_end,
    ),
    (r"'([\w.]+)' object is not subscriptable", (TypeError,), _iterable_indexed),
    (r"'([\w.]+)' object is not subscriptable", (TypeError,), _not_subscriptable),
    (r"'([\w.]+)' object is not iterable", (TypeError,), _not_iterable),
    (r"'([\w.]+)' object cannot be interpreted as an integer", (TypeError,), _not_an_integer),
    (
        r"only (?:0-dimensional|length-1|size-1) arrays can be converted to Python scalars",
        (TypeError,),
        _array_for_a_number,
    ),
    (r"len\(\) of unsized object", (TypeError,), _number_for_a_sequence),
    (r"object of type '([\w.]+)' has no len\(\)", (TypeError,), _no_length),
    (
        r"could not broadcast input array from shape|non-broadcastable output operand",
        (ValueError,),
        _written_shapes,
    ),
    (r"truth value of an array with more than one element", (ValueError,), _truth_of_an_array),
    (r'can only concatenate (\w+) \(not "(\w+)"\)', (TypeError,), _concatenated),
    (r"setting an array element with a sequence", (ValueError,), _sequence_into_an_entry),
    (r"cannot reshape array of size (\d+) into shape", (ValueError,), _reshape_mismatch),
    (r"(.*)", (KeyError,), _missing_key),
    (
        r"(too many|not enough) values to unpack \(expected (\d+)(?:, got (\d+))?\)",
        (ValueError,),
        _unpacked,
    ),
]

# readers whose words name the whole mistake: the hint about the error's kind is left out
_COMPLETE = (
    _not_an_array,
    _broadcast_stand_in,
    _entrywise_product,
    _module_not_imported,
    _in_place_result,
    _attribute_called,
    _method_not_called,
    _one_item_only,
    _iterable_indexed,
)
