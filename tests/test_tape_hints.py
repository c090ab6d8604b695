"""Exercise 14's hints from small walks and tapes of the learner's code: each names its
mistake, and none speaks on the reference."""

from __future__ import annotations

import numpy as np
import pytest

from pancake.autograd import Tensor
from pancake.autograd.tape import GradientTape, add_gradient, backward_step
from pancake.course.assignments import ex14_tapes

pytestmark = pytest.mark.ex14


def passes_the_output_gradient_on(operations, target, seed, is_watched):
    grads = {target: seed}
    for function, output in reversed(operations):
        grad = grads.get(output)
        if grad is None:
            continue
        for tensor, _ in zip(function.inputs, backward_step(function, output, grad), strict=True):
            if is_watched(tensor):
                add_gradient(grads, tensor, grad)
    return grads


def seeds_every_step(operations, target, seed, is_watched):
    grads = {target: seed}
    for function, output in reversed(operations):
        if grads.get(output) is None:
            continue
        for tensor, tensor_grad in zip(
            function.inputs, backward_step(function, output, seed), strict=True
        ):
            if is_watched(tensor):
                add_gradient(grads, tensor, tensor_grad)
    return grads


def multiplies_by_the_output_gradient_again(operations, target, seed, is_watched):
    grads = {target: seed}
    for function, output in reversed(operations):
        grad = grads.get(output)
        if grad is None:
            continue
        for tensor, tensor_grad in zip(
            function.inputs, backward_step(function, output, grad), strict=True
        ):
            if is_watched(tensor):
                add_gradient(grads, tensor, tensor_grad * grad)
    return grads


def looks_gradients_up_by_function(operations, target, seed, is_watched):
    grads = {target: seed}
    for function, output in reversed(operations):
        grad = grads.get(function)  # keyed by tensors: never found
        if grad is None:
            continue
        for tensor, tensor_grad in zip(
            function.inputs, backward_step(function, output, grad), strict=True
        ):
            if is_watched(tensor):
                add_gradient(grads, tensor, tensor_grad)
    return grads


class WatchesEveryOutput(GradientTape):
    def record(self, function, output):
        if any(self.is_watched(tensor) for tensor in function.inputs):
            self.operations.append((function, output))
        self.watched.add(output)


class ReplacesTheWatchedSet(GradientTape):
    def record(self, function, output):
        if any(self.is_watched(tensor) for tensor in function.inputs):
            self.operations.append((function, output))
            self.watched = {output}


def test_a_tape_that_replaces_its_watched_set_is_named():
    assert ex14_tapes.watched_set_replaced_hint(GradientTape) == ""
    hint = ex14_tapes.watched_set_replaced_hint(ReplacesTheWatchedSet)
    assert hint.startswith("after recording x * y the tape no longer watches x and y")


def test_the_reference_walk_gets_no_walk_hint():
    assert ex14_tapes.passed_on_hint() == ""
    assert ex14_tapes.lookup_hint() == ""
    assert ex14_tapes.walk_hint() == ex14_tapes.WALK_HINT


def test_a_walk_passing_the_output_gradient_on_is_named(monkeypatch):
    monkeypatch.setattr(ex14_tapes, "walk_tape", passes_the_output_gradient_on)
    assert "passes each output's gradient on unchanged" in ex14_tapes.passed_on_hint()
    assert "passes each output's gradient on unchanged" in ex14_tapes.walk_hint()
    error = ex14_tapes.walk_crash(IndexError("tuple index out of range"), "walk_tape")
    assert str(error).startswith("walk_tape raised IndexError: tuple index out of range\nHint:")


def test_a_walk_starting_every_step_from_the_seed_is_named(monkeypatch):
    monkeypatch.setattr(ex14_tapes, "walk_tape", seeds_every_step)
    assert ex14_tapes.passed_on_hint() == ""
    assert ex14_tapes.seed_at_each_step_hint() == ex14_tapes.OWN_GRADIENT_HINT
    error = ex14_tapes.walk_crash(IndexError("tuple index out of range"), "tape.gradient")
    assert ex14_tapes.OWN_GRADIENT_HINT in str(error)


def test_a_walk_multiplying_by_the_output_gradient_again_is_named(monkeypatch):
    assert ex14_tapes.multiplied_again_hint() == ""
    monkeypatch.setattr(ex14_tapes, "walk_tape", multiplies_by_the_output_gradient_again)
    assert "3 * x got s · (s · exp(3x)), s times its gradient" in ex14_tapes.walk_hint()


def test_a_crash_of_the_reference_walk_is_left_as_it_is():
    assert ex14_tapes.seed_at_each_step_hint() == ""
    error = IndexError("tuple index out of range")
    assert ex14_tapes.walk_crash(error, "walk_tape") is error


@pytest.mark.parametrize("tape_class", [GradientTape, WatchesEveryOutput])
def test_a_tape_watching_outputs_it_did_not_record_is_named(tape_class):
    x, constant = Tensor(np.array([0.5, -1.5])), Tensor(np.array([2.0, 3.0]))
    with tape_class() as tape:
        tape.watch(x)
        (x * constant).sum()
        (constant * constant).exp()  # unrecorded: its output must not be watched
    hint = ex14_tapes.record_hint(tape, [x])
    named = "self.watched.add(output) inside the if" in hint
    assert named == (tape_class is WatchesEveryOutput)


def test_a_tape_is_not_said_to_watch_too_much_without_the_tensors_passed_to_watch():
    x, constant = Tensor(np.array([0.5, -1.5])), Tensor(np.array([2.0, 3.0]))
    with GradientTape() as tape:
        tape.watch(x)
        (x * constant).sum()
    assert "inside the if" not in ex14_tapes.record_hint(tape)  # x is not known as watched


class RecordsNewestFirst(GradientTape):
    def record(self, function, output):
        if any(self.is_watched(tensor) for tensor in function.inputs):
            self.operations.insert(0, (function, output))
            self.watched.add(output)


@pytest.mark.parametrize("tape_class", [GradientTape, RecordsNewestFirst])
def test_a_tape_holding_the_newest_operation_first_is_named(tape_class):
    x = Tensor(np.array([0.5, -1.5]))
    with tape_class() as tape:
        tape.watch(x)
        (x * x).exp().sum()
    hint = ex14_tapes.newest_first_hint(tape, ["Mul", "Exp", "Sum"])
    assert ("newest first" in hint) == (tape_class is RecordsNewestFirst)


def test_a_walk_that_finds_no_operations_gradient_is_named(monkeypatch):
    monkeypatch.setattr(ex14_tapes, "walk_tape", looks_gradients_up_by_function)
    assert "walk_tape skips every operation" in ex14_tapes.walk_hint()
    assert "grad = grads.get(output)" in ex14_tapes.lookup_hint()


@pytest.mark.parametrize("seed", [np.array(1.0), Tensor(np.array(1.0))], ids=["array", "tensor"])
def test_backward_step_with_output_and_grad_swapped_says_so(seed):
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    target = (x * x).sum()
    function = target.grad_fn
    with pytest.raises(
        TypeError, match=r"backward_step\(Sum, output, grad\).*\(function, output, grad\)"
    ):
        backward_step(function, seed, target)
    assert len(backward_step(function, target, seed)) == 1


class RecordsEveryOperation(GradientTape):
    def record(self, function, output):
        if any(self.is_watched(tensor) for tensor in function.inputs):
            self.watched.add(output)
        self.operations.append((function, output))


@pytest.mark.parametrize("tape_class", [GradientTape, RecordsEveryOperation])
@pytest.mark.parametrize("passed", [True, False], ids=["watched-known", "watched-unknown"])
def test_a_tape_recording_operations_on_unwatched_tensors_is_named(tape_class, passed):
    x, constant = Tensor(np.array([0.5, -1.5])), Tensor(np.array([2.0, 3.0]))
    with tape_class() as tape:
        tape.watch(x)
        (x * constant).sum()
        (constant * constant).exp()  # no input is watched: not recorded
    hint = ex14_tapes.record_hint(tape, [x] if passed else None)
    named = "the tape recorded Mul, none of whose inputs is watched" in hint
    assert named == (tape_class is RecordsEveryOperation)


def walk_through(order):
    """A walk_tape like the reference's that walks the operations ``order(operations)``."""

    def walk_tape(operations, target, seed, is_watched):
        grads = {target: seed}
        for function, output in order(operations):
            grad = grads.get(output)
            if grad is None:
                continue
            for tensor, tensor_grad in zip(
                function.inputs, backward_step(function, output, grad), strict=True
            ):
                if is_watched(tensor):
                    add_gradient(grads, tensor, tensor_grad)
        return grads

    return walk_tape


@pytest.mark.parametrize(
    "order, named",
    [
        (lambda operations: operations[:0:-1], "never walks the first recorded operation"),
        (lambda operations: operations[-2::-1], "never walks the last recorded operation"),
        (lambda operations: [*operations[::-1], operations[0]], "more than once"),
        (lambda operations: [operations[i] for i in range(len(operations) - 1, 0, -1)], "Mul"),
    ],
    ids=["first-skipped", "last-skipped", "first-twice", "range-stops-at-1"],
)
def test_a_walk_skipping_or_repeating_operations_is_named(monkeypatch, order, named):
    monkeypatch.setattr(ex14_tapes, "walk_tape", walk_through(order))
    hint = ex14_tapes.walk_hint()
    assert named in hint
    assert "skips every operation" not in hint
    assert ex14_tapes.lookup_hint() == ""


@pytest.mark.parametrize("order", [reversed, lambda operations: operations[::-1]])
def test_a_walk_of_every_operation_once_gets_no_walked_operations_hint(monkeypatch, order):
    assert ex14_tapes.walked_operations_hint() == ""
    monkeypatch.setattr(ex14_tapes, "walk_tape", walk_through(order))
    assert ex14_tapes.walked_operations_hint() == ""


def test_a_walk_in_recorded_order_is_not_said_to_skip_an_end(monkeypatch):
    monkeypatch.setattr(ex14_tapes, "walk_tape", walk_through(list))
    assert ex14_tapes.walked_operations_hint() == ""
    assert "walks the record first to last" in ex14_tapes.walk_hint()


def assigns_gradients(operations, target, seed, is_watched):
    grads = {target: seed}
    for function, output in reversed(operations):
        grad = grads.get(output)
        if grad is None:
            continue
        for tensor, tensor_grad in zip(
            function.inputs, backward_step(function, output, grad), strict=True
        ):
            if is_watched(tensor):
                grads[tensor] = tensor_grad  # the share of an earlier use is lost
    return grads


def test_a_walk_assigning_gradients_is_named(monkeypatch):
    assert ex14_tapes.assigned_hint() == ""
    monkeypatch.setattr(ex14_tapes, "walk_tape", assigns_gradients)
    assert "keeps one share of a tensor used several times" in ex14_tapes.walk_hint()


class RecordsWhenEveryInputIsWatched(GradientTape):
    def record(self, function, output):
        if all(self.is_watched(tensor) for tensor in function.inputs):
            self.operations.append((function, output))
            self.watched.add(output)


@pytest.mark.parametrize("tape_class", [GradientTape, RecordsWhenEveryInputIsWatched])
def test_a_tape_recording_only_when_every_input_is_watched_is_named(tape_class):
    hint = ex14_tapes.every_input_watched_hint(tape_class)
    assert ("any input is watched" in hint) == (tape_class is RecordsWhenEveryInputIsWatched)


class RecordsOutputFirst(GradientTape):
    def record(self, function, output):
        if any(self.is_watched(tensor) for tensor in function.inputs):
            self.operations.append((output, function))
            self.watched.add(output)


@pytest.mark.parametrize("tape_class", [GradientTape, RecordsOutputFirst])
def test_a_tape_holding_output_function_pairs_is_named(tape_class):
    x = Tensor(np.array([0.5, -1.5]))
    with tape_class() as tape:
        tape.watch(x)
        (x * x).exp().sum()
    named = "holds (output, function) pairs" in ex14_tapes.record_hint(tape, [x])
    assert named == (tape_class is RecordsOutputFirst)


def returns_the_targets_gradient(operations, target, seed, is_watched):
    return seed


def test_a_walk_returning_something_else_than_a_dictionary_is_named(monkeypatch):
    assert ex14_tapes.returned_hint() == ""
    monkeypatch.setattr(ex14_tapes, "walk_tape", returns_the_targets_gradient)
    assert "walk_tape returns an array of shape (), not a dictionary" in (
        ex14_tapes.returned_hint()
    )
    with pytest.raises(AssertionError, match="return the dictionary grads itself"):
        ex14_tapes.walk([], Tensor(1.0), np.array(1.0), lambda t: True)


class RecordsWhenTheFirstInputIsWatched(GradientTape):
    def record(self, function, output):
        if self.is_watched(function.inputs[0]):
            self.operations.append((function, output))
            self.watched.add(output)


def test_a_tape_looking_at_the_first_input_only_is_named():
    hint = ex14_tapes.every_input_watched_hint(RecordsWhenTheFirstInputIsWatched)
    assert "only when its first input is watched" in hint
    assert "not c * x" in hint


def adds_the_whole_tuple(operations, target, seed, is_watched):
    grads = {target: seed}
    for function, output in reversed(operations):
        grad = grads.get(output)
        if grad is None:
            continue
        for tensor in function.inputs:
            if is_watched(tensor):
                add_gradient(grads, tensor, backward_step(function, output, grad))
    return grads


def test_a_walk_adding_the_whole_tuple_of_gradients_is_named(monkeypatch):
    assert ex14_tapes.tuple_added_hint() == ""
    monkeypatch.setattr(ex14_tapes, "walk_tape", adds_the_whole_tuple)
    assert "walk_tape gives x a tuple of 2 gradients" in ex14_tapes.tuple_added_hint()
    assert ex14_tapes.seed_at_each_step_hint() == ""  # no crash of the hints themselves
    assert ex14_tapes.passed_on_hint() == ""


class ExtendsTheRecord(GradientTape):
    def record(self, function, output):
        if any(self.is_watched(tensor) for tensor in function.inputs):
            self.operations.extend((function, output))
            self.watched.add(output)


@pytest.mark.parametrize("tape_class", [GradientTape, ExtendsTheRecord])
def test_a_tape_holding_functions_and_outputs_as_separate_entries_is_named(tape_class):
    x = Tensor(np.array([0.5, -1.5]))
    with tape_class() as tape:
        tape.watch(x)
        (x * x).exp().sum()
    named = "holds each function and its output as two entries" in ex14_tapes.entries_hint(tape)
    assert named == (tape_class is ExtendsTheRecord)
    if named:
        with pytest.raises(AssertionError, match="operations.extend"):
            ex14_tapes.recorded_names(tape)
    else:
        assert ex14_tapes.recorded_names(tape) == ["Mul", "Exp", "Sum"]
