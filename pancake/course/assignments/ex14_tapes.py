"""Exercise 14: the tape's backward walk and its recording; backward passes that record."""

import pancake.autograd as ag
from pancake.autograd import Tensor
from pancake.autograd.functions import Sin, Softplus
from pancake.autograd.tape import GradientTape, walk_tape
from pancake.course.prelude import check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.testing import check_function_gradients, check_second_derivatives
from pancake.testing.errors import remade_in_loop_hint

WALK_HINT = (
    "walk the record from the last operation to the first, and add (not assign) the "
    "gradient of a tensor used several times"
)


def walk(operations, target, seed, is_watched):
    """``walk_tape(operations, target, seed, is_watched)``; a KeyError, a crash or a result
    that is not a dictionary gets a hint."""
    try:
        walked = walk_tape(operations, target, seed, is_watched)
    except KeyError as error:
        raise AssertionError(
            f"walk_tape raised KeyError: {error}\nHint: an operation's output has no gradient "
            "when the target does not depend on it: read it with grads.get(output) and skip "
            "the operation when that is None (grads[output] raises KeyError)"
        ) from None
    except Exception as error:
        raise walk_crash(error, "walk_tape") from error
    if not isinstance(walked, dict):
        raise AssertionError(f"walk_tape returned {returned_kind(walked)}: {RETURN_HINT}")
    return walked


RETURN_HINT = (
    "return the dictionary grads itself, {tensor: gradient} for every tensor the walk reached "
    "(the tape and the checks look each tensor's gradient up in it)"
)


def returned_kind(value) -> str:
    """What a walk_tape returned instead of a dictionary, in words."""
    shape = f" of shape {np.shape(getattr(value, 'data', value))}" if value is not None else ""
    name = "array" if isinstance(value, np.ndarray) else type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}{shape}, not a dictionary"


def returned_hint():
    """The hint for a walk_tape that returns something else than a dictionary, or ''."""
    tensor = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    target = (tensor * tensor).sum()
    try:
        grads = walk_tape(graph_record(target), target, np.array(1.0), lambda t: True)
    except Exception:  # a walk that fails on its own: its error says more
        return ""
    if isinstance(grads, dict):
        return ""
    return f"walk_tape returns {returned_kind(grads)}: {RETURN_HINT}"


def first_hint(*diagnoses) -> str:
    """The first hint one of ``diagnoses`` gives, or ''; a diagnosis that fails on what the
    learner's code returns (rather than naming it) counts as no hint."""
    for diagnose in diagnoses:
        try:
            hint = diagnose()
        except Exception:  # the learner's result was stranger than the diagnosis expects
            hint = ""
        if hint:
            return hint
    return ""


def walk_crash(error, what):
    """``error``, raised by ``what`` (the learner's walk_tape, or a tape walking with it),
    with the hint of a walk that passes each output's gradient on unchanged, or that starts
    every step from the seed, if it does so; else ``error`` itself."""
    hint = first_hint(returned_hint, tuple_added_hint, passed_on_hint, seed_at_each_step_hint)
    if not hint:
        return error
    return AssertionError(f"{what} raised {type(error).__name__}: {error}\nHint: {hint}")


def graph_record(target):
    """The operations behind ``target`` as a tape lists them: (function, output), in run order."""
    return [(t.grad_fn, t) for t in ag.topological_order(target) if t.grad_fn is not None]


START_HINT = (
    "start the walk from the seed, grads = {target: seed}: the last operation's output, the "
    "target, is where the backward pass begins"
)


def start_hint():
    """START_HINT for a walk_tape whose result has no gradient for the target, or ''."""
    tensor = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    target = (tensor * tensor).sum()
    return (
        START_HINT
        if walked_gradient(graph_record(target), target, target, lambda t: True) is None
        else ""
    )


def check_walk(f, *arrays, seed_as_tensor=False):
    """walk_tape over the record of ``f(*inputs)`` against ag.grad, for every input."""
    inputs = [Tensor(array, requires_grad=True) for array in arrays]
    target = f(*inputs)
    seed = np.ones_like(target.data)
    grads = walk(
        graph_record(target),
        target,
        Tensor(seed) if seed_as_tensor else seed,
        lambda tensor: tensor.requires_grad,
    )
    expected = ag.grad(target, inputs)
    for position, (tensor, reference) in enumerate(zip(inputs, expected, strict=True)):
        got = grads.get(tensor)
        if got is None and grads.get(target) is None:
            raise AssertionError(
                f"walk_tape gave no gradient for input {position}, nor for the target itself: "
                f"{START_HINT}"
            )
        if got is None:
            raise AssertionError(f"walk_tape gave no gradient for input {position}: {walk_hint()}")
        value = got.data if isinstance(got, Tensor) else got
        if not np.allclose(value, reference.data, rtol=1e-10, atol=1e-12):
            raise AssertionError(
                f"walk_tape gave {np.round(value, 4)} for input {position}, expected "
                f"{np.round(reference.data, 4)}: {walk_hint()}"
            )
    return inputs, grads


def seed_hint():
    """The hint for a walk_tape that ignores the seed it is given, or ''."""
    tensor = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    target = (tensor * tensor).sum()  # dtarget/dx = 2x: 4x from a seed of 2
    try:
        grads = walk_tape(graph_record(target), target, np.array(2.0), lambda t: t.requires_grad)
    except Exception:  # a walk that fails on its own: its error says more
        return ""
    got = grads.get(tensor)
    got = got.data if isinstance(got, Tensor) else got
    if got is None or not np.allclose(got, 2 * tensor.data, rtol=1e-10):
        return ""
    return (
        "walk_tape ignores its seed: from a seed of 2, dL/dx is that of a seed of 1. Start "
        "the walk from the seed it is given, grads = {target: seed} (a Tensor seed makes "
        "every gradient a recorded Tensor)"
    )


def walked_gradient(operations, target, tensor, is_watched):
    """The learner's walk_tape gradient for ``tensor`` (None if it gives none or fails)."""
    try:
        return walk_tape(operations, target, np.array(1.0), is_watched).get(tensor)
    except Exception:  # a walk that fails on its own: its error says more
        return None


def unwatched_input_hint():
    """The hint for a walk_tape that stops at an operation's first unwatched input, or ''."""
    constant = Tensor(np.array([2.0, -3.0]))
    tensor = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    target = (constant * tensor).sum()  # constant, the first input of Mul, is not watched
    operations = graph_record(target)
    if (
        walked_gradient(operations, target, tensor, lambda t: True) is None  # fails anyway
        or walked_gradient(operations, target, tensor, lambda t: t.requires_grad) is not None
    ):
        return ""
    return (
        "walk_tape gives no gradient to x in (c * x).sum() when c, the first input of the "
        "product, is not watched: skip an unwatched input and go on with the next ones "
        "(if is_watched(tensor): ...), don't end the loop over the inputs there (break)"
    )


def walk_order_hint():
    """The hint for a walk_tape that walks the record first to last, or ''."""
    tensor = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    target = (tensor * tensor).exp().sum()
    operations = graph_record(target)
    if walked_gradient(operations, target, tensor, lambda t: True) is not None:
        return ""
    if walked_gradient(operations[::-1], target, tensor, lambda t: True) is None:
        return ""
    return (
        "walk_tape walks the record first to last: an output's gradient is complete only "
        "after the later operations ran, so walk it from the last operation to the first, "
        "for function, output in reversed(operations)"
    )


def own_gradient_hint():
    """The hint for a walk_tape right on one operation but not on a chain of them, or ''."""
    tensor = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    single, chain = tensor.sum(), (tensor.exp() * 3.0).sum()
    alone = walked_gradient(graph_record(single), single, tensor, lambda t: True)
    if alone is None or not np.allclose(getattr(alone, "data", alone), 1.0):
        return ""
    got = walked_gradient(graph_record(chain), chain, tensor, lambda t: True)
    if got is not None and np.allclose(getattr(got, "data", got), 3 * np.exp(tensor.data)):
        return ""
    return OWN_GRADIENT_HINT


GENERIC_X = np.array([0.5, -1.5, 2.0])  # the x of generic_walk's (3 * x).exp()


def generic_walk():
    """The learner's walk of (3 * x).exp() from a generic seed s: (s, the gradient of 3 * x,
    that of x), gradients None where it gives none; None if the walk fails."""
    tensor = Tensor(GENERIC_X.copy(), requires_grad=True)
    middle = tensor * 3.0
    target = middle.exp()
    seed = np.array([1.0, -2.0, 0.5])
    try:
        grads = walk_tape(graph_record(target), target, seed, lambda t: True)
        found = [getattr(grads.get(t), "data", grads.get(t)) for t in (middle, tensor)]
    except Exception:  # a walk that fails on its own: its error says more
        return None
    if any(value is not None and np.shape(value) != seed.shape for value in found):
        return None  # not one gradient of the tensor's shape: other hints tell
    return seed, *found


def tuple_added_hint():
    """The hint for a walk_tape that adds to an input the whole tuple of gradients that
    backward_step returns (one per input), or '': on the record of (3 * x).exp(), x's entry
    is a tuple or a list."""
    tensor = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    target = (tensor * 3.0).exp()
    try:
        grads = walk_tape(graph_record(target), target, np.ones(3), lambda t: True)
        got = grads.get(tensor)
    except Exception:  # a walk that fails on its own: its error says more
        return ""
    if not isinstance(got, tuple | list):
        return ""
    return (
        f"walk_tape gives x a {type(got).__name__} of {len(got)} gradients: backward_step "
        "returns one gradient per input of the operation, and each input gets its own: "
        "for tensor, tensor_grad in zip(function.inputs, backward_step(function, output, "
        "grad)), then add_gradient(grads, tensor, tensor_grad)"
    )


def passed_on_hint():
    """The hint for a walk_tape that adds the output's gradient to each input, instead of
    the gradient backward_step computed for that input, or ''."""
    walked = generic_walk()
    if walked is None or not all(
        got is not None and np.allclose(got, walked[0], rtol=1e-10) for got in walked[1:]
    ):
        return ""
    return (
        "walk_tape passes each output's gradient on unchanged: for (3 * x).exp() and a seed "
        "s, both 3 * x and x got s itself. Add to each input the gradient backward_step "
        "computed for it (tensor_grad, zipped with function.inputs), not the output's grad"
    )


def multiplied_again_hint():
    """The hint for a walk_tape that multiplies the gradient backward_step returns by the
    output's gradient once more (backward_step applies the chain rule already): for
    (3 * x).exp() and a seed s, 3 * x gets s times its gradient s·exp(3x); or ''."""
    walked = generic_walk()
    if walked is None or walked[1] is None:
        return ""
    seed, middle = walked[0], walked[1]
    right = seed * np.exp(3 * GENERIC_X)  # the gradient of 3 * x
    if not np.allclose(middle, seed * right, rtol=1e-10):
        return ""
    return (
        "walk_tape multiplies each gradient backward_step returns by the output's gradient "
        "once more: for (3 * x).exp() and a seed s, 3 * x got s · (s · exp(3x)), s times its "
        "gradient. backward_step(function, output, grad) applies the chain rule itself (it "
        "multiplies by grad): add what it returns for each input as it is"
    )


def seed_at_each_step_hint():
    """OWN_GRADIENT_HINT for a walk_tape whose every backward_step starts from the seed
    (for (3 * x).exp() and a seed s, x gets 3s), or ''."""
    walked = generic_walk()
    if walked is None or walked[2] is None or not np.allclose(walked[2], 3 * walked[0]):
        return ""
    return OWN_GRADIENT_HINT


def chain_record():
    """A record of four operations in a chain, x -> 3 * x -> exp -> tanh -> sum: (the
    record, its target, x, the exact gradient of the target with respect to x)."""
    tensor = Tensor(np.array([0.5, -1.5, 0.25]), requires_grad=True)
    target = (tensor * 3.0).exp().tanh().sum()
    slope = (1 - np.tanh(np.exp(3 * tensor.data)) ** 2) * np.exp(3 * tensor.data) * 3
    return graph_record(target), target, tensor, slope


def spied_walk(operations, target, tensor):
    """The learner's walk of ``operations`` from ``target``, watched: (the positions in the
    record of the operations whose backward ran, in the order they ran, the gradient it
    gives ``tensor``); None if the walk fails."""
    ran = []
    for position, (function, _) in enumerate(operations):

        def spy(grad, position=position, backward=function.backward):
            ran.append(position)
            return backward(grad)

        function.backward = spy  # on the instance: backward_step calls it too
    try:
        grads = walk_tape(operations, target, np.array(1.0), lambda t: True)
        got = grads.get(tensor)
    except Exception:  # a walk that fails on its own: its error says more
        return None
    finally:
        for function, _ in operations:
            vars(function).pop("backward", None)
    return ran, getattr(got, "data", got)


def walked_operations_hint():
    """The hint for a walk_tape that, on a record of four operations, never walks the first
    one or the last one, or walks one twice (each confirmed: the walk is right once an
    unrelated operation pads that end of the record), or ''."""
    operations, target, tensor, slope = chain_record()
    spied = spied_walk(operations, target, tensor)
    if spied is None:
        return ""
    ran, got = spied
    names = ", ".join(type(function).__name__ for function, _ in operations)
    record = f"on a record of {len(operations)} operations ({names}) walked from the target"
    if got is not None and np.allclose(got, slope, rtol=1e-10):
        return ""
    twice = sorted({type(operations[p][0]).__name__ for p in ran if ran.count(p) > 1})
    if twice:
        return (
            f"walk_tape runs an operation's backward more than once: {record}, the backward "
            f"of {' and '.join(twice)} ran {max(map(ran.count, ran))} times. Walk each "
            "recorded operation once, for function, output in reversed(operations), and "
            "call backward_step once per operation"
        )
    unrelated = Tensor(np.array([2.0]), requires_grad=True)
    padding = graph_record(unrelated * 2.0)
    if ran == list(range(len(operations) - 1, 0, -1)):
        padded = spied_walk(padding + operations, target, tensor)
        if padded is not None and padded[1] is not None and np.allclose(padded[1], slope):
            return (
                f"walk_tape never walks the first recorded operation: {record}, it ran the "
                f"backward of every operation but {names.split(', ')[0]}, the first, so x "
                "got no gradient. A slice or range that stops before index 0 "
                "(operations[:0:-1], range(len(operations) - 1, 0, -1)) leaves it out: walk "
                "reversed(operations), or operations[::-1]"
            )
    if not ran:
        padded = spied_walk(operations + padding, target, tensor)
        if padded is not None and padded[1] is not None and np.allclose(padded[1], slope):
            return (
                f"walk_tape never walks the last recorded operation, the one that made the "
                f"target: {record}, no backward ran, yet with one more (unrelated) operation "
                "at the end of the record the walk is right. Start the walk at the last "
                "operation: reversed(operations), or operations[::-1], not "
                "operations[-2::-1] or range(len(operations) - 2, -1, -1)"
            )
    return ""


OWN_GRADIENT_HINT = (
    "walk_tape is right on one operation but not on a chain of them: each operation's "
    "backward_step takes the gradient of its own output, grads[output], which the later "
    "operations built (the seed is the target's only)"
)


def walk_hint():
    """What most likely makes walk_tape's gradients wrong, from small walks of its own."""
    diagnoses = (
        remade_hint,
        start_hint,
        tuple_added_hint,
        walked_operations_hint,
        lookup_hint,
        walk_order_hint,
        passed_on_hint,
        multiplied_again_hint,
        own_gradient_hint,
        assigned_hint,
    )
    return first_hint(*diagnoses) or WALK_HINT


def remade_hint() -> str:
    """The hint for a walk_tape that makes its dictionary of gradients anew inside its loop
    (every operation starts from an empty one), or ''."""
    return remade_in_loop_hint(walk_tape) or ""


def assigned_hint():
    """The hint for a walk_tape that assigns each gradient it finds where it must add it:
    x in (2 * x + exp(x)).sum(), used twice, gets the share of one use only; or ''."""
    tensor = Tensor(np.array([0.5, -1.5, 0.25]), requires_grad=True)
    target = (tensor * 2.0 + tensor.exp()).sum()
    got = walked_gradient(graph_record(target), target, tensor, lambda t: True)
    got = getattr(got, "data", got)
    shares = (np.full(3, 2.0), np.exp(tensor.data))
    if got is None or np.allclose(got, sum(shares), rtol=1e-10):
        return ""
    if not any(np.shape(got) == (3,) and np.allclose(got, share, rtol=1e-10) for share in shares):
        return ""
    return (
        "walk_tape keeps one share of a tensor used several times: x in (2 * x + exp(x)).sum() "
        "got the gradient of one use only (2, or exp(x)), not their sum. Add each share to "
        "what the tensor has, add_gradient(grads, tensor, tensor_grad); grads[tensor] = "
        "tensor_grad keeps only the last one"
    )


def lookup_hint():
    """The hint for a walk_tape that finds no operation's gradient, even on the record of
    one operation y = x.sum() walked from y (it keeps y's seed), or ''."""
    tensor = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    target = tensor.sum()
    try:
        grads = walk_tape(graph_record(target), target, np.array(1.0), lambda t: True)
    except Exception:  # a walk that fails on its own: its error says more
        return ""
    if grads.get(target) is None or grads.get(tensor) is not None:
        return ""
    operations, target, tensor, _ = chain_record()
    if spied_walk(operations, target, tensor) != ([], None) or walked_operations_hint():
        return ""  # it walks some of a chain, or all of it but the last operation
    return (
        "walk_tape skips every operation: walked from y = x.sum() it gives y its seed but x "
        "nothing. grads maps each tensor to its gradient: look an operation's gradient up by "
        "its output tensor, grad = grads.get(output), and skip the operation only when that "
        "is None"
    )


def watched_only_hint():
    """The hint for a walk_tape that gives no gradient to a tensor that is watched but does
    not require a gradient (as tape.watch makes it), or ''."""
    tensor = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    target = (tensor * tensor).sum()
    operations = graph_record(target)
    if walked_gradient(operations, target, tensor, lambda t: t.requires_grad) is None:
        return ""  # it fails with requires_grad too
    tensor.requires_grad = False  # watched, as by tape.watch, without requires_grad
    if walked_gradient(operations, target, tensor, lambda t: t is tensor or t.grad_fn) is not None:
        return ""
    return (
        "walk_tape gives no gradient to a watched tensor that does not require a gradient "
        "(tape.watch(x) watches x without requires_grad): ask is_watched(tensor), not "
        "tensor.requires_grad"
    )


def gradient_of(tape, target, tensor):
    """tape.gradient(target, tensor), which must not be None."""
    entries = entries_hint(tape)
    try:
        gradient = tape.gradient(target, tensor)
    except Exception as error:
        if entries:
            raise AssertionError(
                f"tape.gradient raised {type(error).__name__}: {error}\nHint: {entries}"
            ) from error
        raise walk_crash(error, "tape.gradient") from error
    if gradient is None:
        hint = first_hint(
            passed_on_hint,
            start_hint,
            walked_operations_hint,
            lookup_hint,
            seed_hint,
            walk_order_hint,
            unwatched_input_hint,
            watched_only_hint,
            lambda: record_hint(tape),
        )
        raise AssertionError(f"tape.gradient gave None for a watched tensor: {hint}")
    return gradient


def no_path_hint(outer) -> str:
    """Why an outer tape finds no path from a first derivative to its source."""
    return first_hint(
        passed_on_hint,
        walked_operations_hint,
        seed_hint,
        walk_order_hint,
        unwatched_input_hint,
        lambda: record_hint(outer),
    )


def used_several_times(x, w):
    """x is used four times and w three: their shares must add up."""
    h = (x * w).tanh()
    return (h * x + (x * x).exp() * w).sum() + (h * w).mean()


def visible_check_walk_tape():
    """The visible check under the `walk_tape` answer."""
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = (x * x * x).sum()  # dy/dx = 3x²
    grads = walk(graph_record(y), y, np.ones(()), lambda t: t.requires_grad)
    print("dy/dx:", grads.get(x), " expected:", 3 * x.data**2)
    check_walk(used_several_times, np.array([0.3, -1.2]), np.array([0.7, 0.4]))
    print("walk_tape agrees with ag.grad on a graph where tensors are used several times")


@graded
@given(shape=pst.shapes(min_dims=1, max_dims=2, max_side=4), data=st.data())
def test_walk_tape_matches_grad(shape, data):
    """walk_tape gives ag.grad's gradients, for tensors used several times, on random shapes, keeps those of intermediate tensors, and leaves the record as it was"""
    x = data.draw(pst.arrays(shape))
    w = data.draw(pst.arrays(shape[-1:]))
    check_walk(used_several_times, x, w)
    tensor = Tensor(x, requires_grad=True)
    intermediate = tensor * tensor
    target = (intermediate * 3.0).sum()
    record = graph_record(target)
    recorded = [tuple(map(id, operation)) for operation in record]
    grads = walk(record, target, np.ones(()), lambda t: t.requires_grad)
    assert [tuple(map(id, operation)) for operation in record] == recorded, (
        "walk_tape changed the record it was given: walk it with reversed(operations), "
        "which leaves the list as it is (a persistent tape walks the same list again)"
    )
    got = grads.get(intermediate)
    if got is None or not np.allclose(got, 3.0, rtol=1e-10):
        raise AssertionError(
            f"walk_tape gave {got} for the intermediate x * x of (3 * x * x).sum(), expected "
            "3 everywhere: the result holds the gradient of every tensor the record reaches "
            "(read an output's gradient with grads.get; don't remove it from grads)"
        )


@graded
@given(x=pst.arrays(pst.shapes(min_dims=1, max_dims=2, max_side=4)))
def test_walk_tape_skips_what_the_target_does_not_need(x):
    """walk_tape from a target in the middle of the record: later operations are skipped,
    a watched tensor that only they use gets no gradient, nor does an unwatched constant"""
    tensor = Tensor(x, requires_grad=True)
    unused = Tensor(x + 1.0, requires_grad=True)  # watched, but the target does not need it
    constant = Tensor(np.full_like(x, 0.5))  # not watched: is_watched says no
    target = (tensor * 2.0 + constant).exp().sum()
    later = (tensor * 3.0 * unused).tanh().sum()  # after the target, which does not need it
    record = graph_record(target) + graph_record(later)
    grads = walk(record, target, np.ones(()), lambda t: t.requires_grad)
    got, expected = grads.get(tensor), 2 * np.exp(2 * x + 0.5)
    if got is None or not np.allclose(got, expected, rtol=1e-10):
        alone = walk(graph_record(target), target, np.ones(()), lambda t: t.requires_grad)
        hint = walk_hint()
        if np.allclose(alone.get(tensor, np.nan), expected, rtol=1e-10):
            hint = (
                "it is right on the target's own record, so the operations after the target "
                "spoil it: skip an operation whose output has no gradient (continue) and go on "
                "to the earlier ones; don't end the walk there (break)"
            )
        raise AssertionError(f"walk_tape gave {got} for x, expected {expected}: {hint}")
    if grads.get(unused) is not None:
        raise AssertionError(
            "walk_tape gave a gradient to a tensor that only operations after the target use "
            "(the target does not depend on it, and its gradient must be left out: None): "
            "skip an operation whose output has no gradient (continue), rather than giving "
            "it a zero gradient"
        )
    if grads.get(constant) is not None:
        raise AssertionError(
            "walk_tape gave a gradient to a constant that is not watched: add a gradient "
            "only for the inputs is_watched(tensor) accepts"
        )


@graded
@given(x=pst.arrays(pst.shapes(min_dims=1, max_dims=2, max_side=4)))
def test_walk_tape_with_a_tensor_seed_records_the_gradient(x):
    """walk_tape with a Tensor seed returns gradients that can be differentiated again"""
    (tensor,), grads = check_walk(lambda t: (t * t * t).sum(), x, seed_as_tensor=True)
    first = grads[tensor]
    if not isinstance(first, Tensor) or first.grad_fn is None:
        raise AssertionError(
            seed_hint()
            or "with a Tensor seed, the gradients must be the Tensors backward_step returns "
            "(a recorded graph): pass each gradient on as it is, without .data"
        )
    (second,) = ag.grad(first.sum(), tensor)
    if not np.allclose(second.data, 6 * x, rtol=1e-10, atol=1e-12):
        raise AssertionError(f"d²/dx² of x³ came out {second.data}, expected 6x = {6 * x}")


WALK_TAPE = Part(
    target="pancake.autograd.tape.walk_tape",
    instructions="""
        A tape is a list of `(function, output)` pairs, in the order the operations ran.
        `walk_tape(operations, target, seed, is_watched)` computes the gradient of
        `target` with respect to every tensor the record reaches, and returns them in a
        dictionary `{tensor: gradient}`:

        1. start from `{target: seed}` (`seed` is dL/d(target), ones for a plain gradient);
        2. go through the record **from the last operation to the first**; skip an
           operation whose output has no gradient (the target does not depend on it);
        3. otherwise `backward_step(function, output, grad)` returns one gradient per
           input (`function.inputs`); for each input with `is_watched(input)`, add it to
           that input's entry with `add_gradient(grads, input, gradient)`: a tensor used
           several times gets the **sum** of the gradients of its uses.

        Keep the entries of outputs (a source may be an intermediate tensor). Execution
        order is a topological order, so when you reach an operation, every later
        operation that used its output has already sent its share. When `seed` is a
        Tensor, `backward_step` computes with Tensors: pass the gradients on as they are.
    """,
    check=visible_check_walk_tape,
    tests=(
        GradedTest(test_walk_tape_matches_grad, points=2),
        GradedTest(test_walk_tape_skips_what_the_target_does_not_need, points=1),
        GradedTest(test_walk_tape_with_a_tensor_seed_records_the_gradient, points=1),
    ),
)


RECORD_HINT = (
    "record an operation when one of its inputs is watched (by watch, as a leaf with "
    "requires_grad, or as the output of a recorded operation), in the order they run"
)


def recorded_names(tape):
    """The class names of the operations on ``tape``, in order (an AssertionError with a
    hint when its entries are not (function, output) pairs)."""
    hint = entries_hint(tape)
    if hint:
        kinds = [type(entry).__name__ for entry in tape.operations[:4]]
        raise AssertionError(f"tape.operations starts with {kinds}: {hint}")
    return [type(function).__name__ for function, _ in tape.operations]


def entries_hint(tape) -> str:
    """The hint for a tape whose operations are not (function, output) pairs, or ''."""
    entries = getattr(tape, "operations", None) or []
    if all(isinstance(entry, tuple) and len(entry) == 2 for entry in entries):
        return ""
    alternating = len(entries) % 2 == 0 and all(
        isinstance(entry, Tensor) == (position % 2 == 1) for position, entry in enumerate(entries)
    )
    if alternating:
        return (
            "the tape holds each function and its output as two entries, as "
            "operations.extend((function, output)) adds them: append one pair per operation, "
            "operations.append((function, output)), so that the walk can unpack each entry"
        )
    return (
        "the tape's entries are not (function, output) pairs: append one pair per "
        "operation, operations.append((function, output))"
    )


def newest_first_hint(tape, expected):
    """The hint for a tape that holds the ``expected`` operations newest first, or ''."""
    if recorded_names(tape) != expected[::-1]:
        return ""
    return (
        "the tape holds the operations newest first: append each (function, output) at the "
        "end, so that they are in the order they ran (the walk reverses them)"
    )


def record_hint(tape, watched=None):
    """RECORD_HINT, or the hint for outputs of recorded operations that the tape does not
    watch, or (given ``watched``, the tensors passed to watch) for tensors it watches that
    are neither those nor outputs of recorded operations (once ``gradient`` has released
    the record, RECORD_HINT)."""
    pairs = tape.operations or ()
    if pairs and all(
        isinstance(pair, tuple)
        and len(pair) == 2
        and isinstance(pair[0], Tensor)
        and not isinstance(pair[1], Tensor)
        for pair in pairs
    ):
        return (
            "the tape holds (output, function) pairs: append (function, output), the "
            "function first, as walk_tape unpacks them (for function, output in ...)"
        )
    unwatched = recorded_without_a_watched_input(tape, watched or ())
    if unwatched is not None:
        return (
            f"the tape recorded {unwatched}, none of whose inputs is watched (neither passed "
            "to watch(), nor a leaf with requires_grad, nor the output of a recorded "
            "operation): record an operation only when one of its inputs is watched, with "
            "self.operations.append inside the if"
        )
    if any(not tape.is_watched(output) for _, output in tape.operations or ()):
        return (
            "the output of a recorded operation is not watched, so the operations on it "
            "are not recorded: add each recorded output to self.watched"
        )
    outputs = [output for _, output in tape.operations or ()]
    known = set(map(id, outputs)) | set(map(id, watched or ()))
    if watched is not None and any(id(t) not in known for t in getattr(tape, "watched", ())):
        return (
            "the tape watches a tensor that was neither passed to watch() nor made by a "
            "recorded operation (the output of an operation none of whose inputs was "
            "watched?), so the operations on it are recorded too: watch an output only when "
            "its operation is recorded, self.watched.add(output) inside the if"
        )
    return (
        remade_hint()
        or watched_set_replaced_hint(type(tape))
        or every_input_watched_hint(type(tape))
        or RECORD_HINT
    )


def watched_set_replaced_hint(tape_class) -> str:
    """The hint for a tape that forgets the tensors it watched once it records an
    operation (self.watched = {output} replaces the set), or '': a fresh tape of
    ``tape_class`` watching x and y, around x * y."""
    x, y = Tensor(np.array([0.5, 1.5])), Tensor(np.array([2.0, 3.0]))
    try:
        with tape_class() as tape:
            tape.watch(x)
            tape.watch(y)
            product = x * y
            forgotten = [name for name, t in (("x", x), ("y", y)) if not tape.is_watched(t)]
            still_watched = tape.is_watched(product)
    except Exception:  # a tape that fails on its own: its error says more
        return ""
    if not forgotten or not still_watched:
        return ""
    return (
        f"after recording x * y the tape no longer watches {' and '.join(forgotten)}, which "
        "watch() was given: recording an operation must add its output to the watched "
        "tensors, self.watched.add(output), not replace them (self.watched = {output})"
    )


def every_input_watched_hint(tape_class) -> str:
    """The hint for a tape that records an operation only when every input is watched, or
    only when its first (or last) input is, or '': a fresh tape of ``tape_class`` watching
    x, around x * c, c * x (c not watched) and x * x."""
    x, constant = Tensor(np.array([0.5, 1.5])), Tensor(np.array([2.0, 3.0]))
    try:
        with tape_class() as tape:
            tape.watch(x)
            products = {"x * c": x * constant, "c * x": constant * x, "x * x": x * x}
        outputs = [output for _, output in tape.operations]
    except Exception:  # a tape that fails on its own: its error says more
        return ""
    recorded = [name for name, output in products.items() if any(output is o for o in outputs)]
    if len(outputs) != len(recorded):
        return ""
    rules = {
        ("x * x",): ("every input is watched", "all(...)"),
        ("x * c", "x * x"): ("its first input is watched", "function.inputs[0] alone"),
        ("c * x", "x * x"): ("its last input is watched", "function.inputs[-1] alone"),
    }
    if tuple(recorded) not in rules:
        return ""
    rule, instead = rules[tuple(recorded)]
    missed = " and ".join(name for name in products if name not in recorded)
    return (
        f"the tape records an operation only when {rule}: watching x, it recorded "
        f"{' and '.join(recorded)} but not {missed} (c not watched), whose output depends on "
        "x too. Record an operation when any input is watched, any(self.is_watched(t) for t "
        f"in function.inputs), not {instead}"
    )


def recorded_without_a_watched_input(tape, watched) -> str | None:
    """The name of the first recorded operation none of whose inputs is watched: in
    ``watched``, a leaf that requires a gradient or that the tape watches, or the output of
    an operation recorded before it; or None."""
    known = set(map(id, watched))

    def is_watched(tensor) -> bool:
        leaf_watched = getattr(tensor, "grad_fn", None) is None and tape.is_watched(tensor)
        return id(tensor) in known or getattr(tensor, "requires_grad", False) or leaf_watched

    for function, output in tape.operations or ():
        if not any(is_watched(tensor) for tensor in getattr(function, "inputs", ())):
            return type(function).__name__
        known.add(id(output))
    return None


def visible_check_gradient_tape():
    """The visible check under the `GradientTape` answer."""
    a, b = Tensor(3.0), Tensor(4.0)
    with GradientTape() as tape:
        tape.watch(a)
        c = (a**2 + b**2) ** 0.5
    print("recorded:", recorded_names(tape), " expected: ['Pow', 'Add', 'Pow']")
    print("dc/da =", tape.gradient(c, a), " expected: a / c =", a.item() / c.item())


@graded
@given(shape=pst.shapes(min_dims=1, max_dims=2, max_side=4), data=st.data())
def test_gradient_tape_records_watched_operations(shape, data):
    """GradientTape records the operations on watched tensors, in the order they ran, no others"""
    x, constant = Tensor(data.draw(pst.arrays(shape))), Tensor(data.draw(pst.arrays(shape)))
    with GradientTape() as tape:
        scaled = constant * 2.0  # no input is watched: not recorded
        tape.watch(x)
        y = ((x * constant).tanh() + scaled).sum()
        (constant * constant).exp()  # no input is watched: not recorded
    expected = ["Mul", "Tanh", "Add", "Sum"]
    if recorded_names(tape) != expected:
        raise AssertionError(
            f"recorded {recorded_names(tape)}, expected {expected}: "
            f"{newest_first_hint(tape, expected) or record_hint(tape, [x])}"
        )
    slope = 1 - np.tanh(x.data * constant.data) ** 2
    np.testing.assert_allclose(gradient_of(tape, y, x).data, slope * constant.data, rtol=1e-10)


@graded
@given(x=pst.arrays(pst.shapes(min_dims=1, max_dims=2, max_side=4)))
def test_gradient_tape_watches_leaves_that_require_a_gradient(x):
    """GradientTape watches tensors created with requires_grad=True without watch()"""
    w = Tensor(x, requires_grad=True)
    before = w * 3.0  # before the tape: not recorded
    with GradientTape() as tape:
        y = (w * w + before).sum()
    expected = ["Mul", "Add", "Sum"]
    if recorded_names(tape) != expected:
        raise AssertionError(
            f"recorded {recorded_names(tape)}, expected {expected}: "
            f"{newest_first_hint(tape, expected) or record_hint(tape)}"
        )
    got = gradient_of(tape, y, w).data
    if not np.allclose(got, 2 * x, rtol=1e-12, atol=0):
        raise AssertionError(
            f"tape.gradient gave {got} for y = (w * w + before).sum(), expected 2w = {2 * x}: "
            f"{walk_hint()}"
        )


@graded
@given(a=pst.arrays(pst.shapes(min_dims=1, max_dims=1, max_side=5)))
def test_gradient_tape_nested_second_derivative(a):
    """Two nested GradientTapes give d²c/da² = 6a for c = a³ (this runs your walk_tape)"""
    a = Tensor(a)
    with GradientTape() as outer:
        outer.watch(a)
        with GradientTape() as inner:
            inner.watch(a)
            c = a**3
        dc_da = gradient_of(inner, c, a)
    d2c_da2 = outer.gradient(dc_da, a)
    if d2c_da2 is None:
        raise AssertionError(f"the outer tape found no path from dc/da to a: {no_path_hint(outer)}")
    np.testing.assert_allclose(dc_da.data, 3 * a.data**2, rtol=1e-12)
    check_second_derivative(d2c_da2, a, outer)


def check_second_derivative(d2c_da2, a, outer):
    """d²c/da² = 6a; a failure names the tape's recording rule when a fresh tape of its
    class shows one (a walk giving zeros for skipped outputs hides the missing path)."""
    try:
        np.testing.assert_allclose(d2c_da2.data, 6 * a.data, rtol=1e-12, atol=1e-15)
    except AssertionError as error:
        hint = first_hint(lambda: every_input_watched_hint(type(outer)))
        if not hint:
            raise
        raise AssertionError(f"{error}\nHint: {hint}") from None


GRADIENT_TAPE = Part(
    target="pancake.autograd.tape.GradientTape",
    instructions="""
        While a `GradientTape`'s `with` block runs, pancake offers it every operation
        that runs: `Function.apply` calls `tape.record(function, output)` (with
        `function.inputs` already set). Write `record`: if **any** input of the operation
        is watched (`self.is_watched(input)`), append `(function, output)` to
        `self.operations` and add `output` to `self.watched`, so that the operations on
        it are recorded too. Operations on unwatched tensors are not recorded: to the
        tape, those tensors are constants.

        The rest of the class is given: `watch`, `is_watched` (watched tensors, and
        leaves created with `requires_grad=True`), and `gradient`, which calls your
        `walk_tape`. Under another active tape, `gradient` seeds the walk with a Tensor,
        which is what makes nested tapes give second derivatives.
    """,
    check=visible_check_gradient_tape,
    tests=(
        GradedTest(test_gradient_tape_records_watched_operations, points=2),
        GradedTest(test_gradient_tape_watches_leaves_that_require_a_gradient, points=1),
        GradedTest(test_gradient_tape_nested_second_derivative, points=1),
    ),
)


def visible_check_sin():
    """The visible check under the `Sin` answer."""
    x = np.linspace(-3, 3, 7)
    print(check_function_gradients(Sin, x))
    print(check_second_derivatives(Sin, x))


@graded
@given(x=pst.arrays(pst.shapes(max_dims=3, max_side=4), scale=pst.scales()))
def test_sin_gradients(x):
    """sin(x), then check_function_gradients(Sin, x): first derivatives on random shapes and scales"""
    check_values("Sin().forward(x)", Sin().forward(x), np.sin(x), formula="sin(x)")
    check_function_gradients(Sin, x)


@graded
@given(x=pst.arrays(pst.shapes(max_dims=3, max_side=4), scale=st.sampled_from([0.3, 1.0, 3.0])))
def test_sin_second_derivatives(x):
    """check_second_derivatives(Sin, x): Hessian-vector products against differences"""
    check_second_derivatives(Sin, x)


SIN = Part(
    target="pancake.autograd.functions.Sin",
    instructions="""
        From here on, a `backward` must work twice over. On arrays, as in exercise 10:
        `grad` and the saved `x` are NumPy arrays. Under `create_graph=True` (or inside
        an outer tape), the engine passes Tensors instead: `grad` is a Tensor and the
        saved input `x` is handed over as the input Tensor itself, so the operations of
        `backward` are recorded and can be differentiated again.

        $y = \\sin x$ has the derivative $\\cos x$: $\\bar x = \\bar y \\odot \\cos x$.
        Write it with operations that arrays and Tensors share: operators, and pancake's
        `cos` (a plain function of `pancake.autograd`, which takes arrays or Tensors),
        never `np.cos`, which refuses Tensors. `check_second_derivatives` runs your
        `backward` on Tensors and compares the second derivatives it records with
        central differences of first derivatives.
    """,
    check=visible_check_sin,
    tests=(
        GradedTest(test_sin_gradients, points=1),
        GradedTest(test_sin_second_derivatives, points=2),
    ),
)


def visible_check_softplus():
    """The visible check under the `Softplus` answer."""
    x = np.linspace(-4, 4, 9)
    print(check_function_gradients(Softplus, x))
    print(check_second_derivatives(Softplus, x))


@graded
@given(x=pst.arrays(pst.shapes(max_dims=3, max_side=4), scale=pst.scales()))
def test_softplus_gradients(x):
    """log(1 + exp(x)), then check_function_gradients(Softplus, x): first derivatives on random shapes and scales, and finite for |x| = 1000"""
    softplus = np.logaddexp(0, x)
    check_values(
        "Softplus().forward(x)", Softplus().forward(x), softplus, formula="log(1 + exp(x))"
    )
    check_function_gradients(Softplus, x)
    large, function = np.array([-1000.0, -60.0, 60.0, 1000.0]), Softplus()
    function.forward(large)
    sigmoid = np.exp(-np.logaddexp(0, -large))
    check_values(
        "Softplus().backward(ones) at large |x|",
        function.backward(np.ones(4)),
        sigmoid,
        formula="sigmoid(x)",
    )


@graded
@given(x=pst.arrays(pst.shapes(max_dims=3, max_side=4), scale=st.sampled_from([0.3, 1.0, 3.0])))
def test_softplus_second_derivatives(x):
    """check_second_derivatives(Softplus, x): Hessian-vector products against differences"""
    check_second_derivatives(Softplus, x)


SOFTPLUS = Part(
    target="pancake.autograd.functions.Softplus",
    instructions="""
        $y = \\log(1 + e^x)$, a smooth ReLU, has the derivative
        $\\frac{e^x}{1 + e^x} = \\sigma(x)$, the sigmoid. Use pancake's `sigmoid` (it
        takes arrays or Tensors and never overflows), so that under `create_graph` the
        derivative is recorded and its own derivative, $\\sigma(x)(1 - \\sigma(x))$, comes
        from the engine.
    """,
    check=visible_check_softplus,
    tests=(
        GradedTest(test_softplus_gradients, points=1),
        GradedTest(test_softplus_second_derivatives, points=2),
    ),
)

ASSIGNMENT = Assignment(
    number=14,
    slug="tapes",
    title="Tapes and higher-order gradients",
    introduction="""
        This exercise goes with chapter 14. A `GradientTape` records the operations on
        watched tensors in the order they ran, and its `gradient` walks that record
        backwards, calling each operation's `backward`. You write the walk
        (`walk_tape`), then the recording (`GradientTape.record`). Then two backward
        passes that work on Tensors too, so that second derivatives work: `Sin` and
        `Softplus`. The checks compare your walk with `ag.grad`, nested tapes with the
        exact second derivative, and second derivatives with central differences of
        first derivatives. Everything else (the Tensor, the graph, the other operations)
        is pancake's.
    """,
    parts=(WALK_TAPE, GRADIENT_TAPE, SIN, SOFTPLUS),
)
