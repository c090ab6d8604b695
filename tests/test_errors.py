"""explain_error: a hint for each Python or NumPy error that learners' answers raise."""

from __future__ import annotations

import linecache
import re
import types

import numpy as np
import pytest

try:
    from builtins import ExceptionGroup
except ImportError:  # Python 3.10: the backport hypothesis depends on
    from exceptiongroup import ExceptionGroup

from pancake.course.prelude import graded
from pancake.nn import Linear, Module, ReLU, Sequential, Sigmoid
from pancake.testing.errors import (
    EXPLANATIONS,
    crashes_explained,
    explain_crash,
    explain_error,
    remade_in_loop_hint,
)

x, weight = np.ones((4, 3)), np.ones((3, 2))


def xor_for_a_power():
    return 2.0 ^ 2


def builtin_max_of_an_array():
    return max(np.array([-1.0, 2.0]), 0)


def bias_used_without_a_check():
    bias = None
    return x @ weight + bias.data


def shuffled_order_from_rng_shuffle():
    order = np.random.default_rng(0).shuffle(np.arange(4))
    return order[:2]


def the_maths_wx():
    return weight @ x


def slice_one_short():
    padded = np.zeros((6, 6))
    padded[1:4, 1:4] = np.ones((4, 4))


def axes_not_lined_up():
    return np.ones((2, 3, 4)) * np.ones((2, 4, 3))


def reshape_to_another_size():
    return np.ones((4, 3)).reshape(5, -1)


class ReturnsAList:
    def __iter__(self):
        return [1, 2]


def iter_returning_a_list():
    return list(ReturnsAList())


def reversed_generator():
    return list(reversed(Sequential(ReLU()).children()))


def named_children_called():
    model = Sequential(ReLU())
    return [layer(x) for layer in model.named_children()]


def pairs_recorded_as_single_objects():
    record = [Sigmoid(), ReLU()]  # (module, output) pairs were meant
    return [type(module).__name__ for module, _ in record]


def probabilities_minus_transposed_targets():
    return np.ones((7, 2)) - np.ones((7, 2)).T


def row_sums_without_keepdims():
    x = np.ones((4, 3))
    return x / x.sum(axis=1)


def method_iterated_without_a_call():
    model = Sequential(ReLU())
    return list(model.parameters)


def list_of_modules_called():
    layers = [ReLU(), ReLU()]
    return layers(np.ones(3))


def forward_variable_read_in_backward():
    def backward(grad):
        return grad * saved_input  # noqa: F821  a variable of forward

    return backward(np.ones(3))


def bias_gradient_summed_over_the_batch_only():
    bias_grad = np.zeros(4)
    bias_grad += np.ones((2, 3, 4)).sum(axis=0)
    return bias_grad


def sum_over_dim():
    return np.ones((2, 3)).sum(dim=0)


def size_called_as_in_pytorch():
    return np.ones((2, 3)).size(0)


def clamp_of_an_array():
    return np.ones(3).clamp(min=0)


def layers_sorted_for_reversed():
    return sorted([ReLU(), Sigmoid()], reverse=True)


def modules_of_a_sequential():
    return list(Sequential(ReLU()).modules())


def broadcast_to_a_smaller_shape():
    return np.broadcast_to(np.ones((2, 3)), (3,))


def rng_passed_by_position():
    return Linear(3, 2, True, 0)


def last_axis_counted_from_the_front():
    return x.shape[2]


def last_layer_past_the_end():
    layers = ["Linear", "ReLU"]
    return layers[len(layers)]


def labels_indexed_as_a_matrix():
    labels = np.arange(4)
    return labels[np.arange(2), :]


def index_made_for_another_axis():
    return np.zeros(3)[3]


def one_entry_tuple_without_its_comma():
    return x.shape[:-1] + (2)


class Model:
    def backward(self, grad):
        return grad


def backward_without_the_gradient():
    return Model().backward()


def call_missing_an_argument():
    def init_fun(rng, input_shape):
        return input_shape

    return init_fun(np.random.default_rng(0))


def loss_backward_as_in_pytorch():
    loss = 0.5
    loss.backward()


def arguments_in_another_order():
    def init_fun(rng, input_shape):
        return input_shape[-1]

    return init_fun((-1, 3), np.random.default_rng(0))


def three_values_unpacked_into_two():
    output_shape, params = ((-1, 3), [], "extra")
    return output_shape, params


def pair_returned_for_an_array():
    grad = np.zeros(3)
    grad[0] = (1.0, None)


def split_into_no_batches():
    return np.array_split(np.arange(4), 0)


def divided_by_an_input():
    k = 0.0
    return 2.0 / k


def key_never_stored():
    grads = {}
    return grads["x"]


def gradient_added_in_place_with_another_shape():
    grad = np.zeros((2, 1))
    grad += np.ones((2, 3))


def one_hot_targets_as_indices():
    targets = np.eye(3)[[0, 2]]
    return np.ones((2, 3))[np.arange(2), targets]


def the_maths_wx_with_np_dot():
    return np.dot(weight.T, x)


def array_kept_where_the_parameter_belongs():
    weight_values = Linear(3, 2).weight.data
    return weight_values.grad


def arrays_joined_with_other_sizes():
    return np.concatenate([np.ones((2, 3)), np.ones((2, 4))])


def method_calling_itself():
    return method_calling_itself()


def loss_item_as_in_pytorch():
    loss = 0.25  # a pancake loss: a plain float
    return loss.item() * 4


def output_detached_as_in_pytorch():
    return np.ones((2, 3)).detach()


def validation_images_with_training_labels():
    from pancake.data import ArrayDataset

    return ArrayDataset(np.ones((3, 2)), np.zeros(5))


def data_passed_as_two_arguments():
    from pancake.train import evaluate

    return evaluate(Sequential(Linear(2, 2)), None, np.ones((3, 2)), np.zeros(3))


def a_class_given_to_sequential():
    return Sequential(Linear(2, 2), ReLU)


def gradient_added_with_a_tensor_method():
    grad = np.zeros(3)
    grad.add_(np.ones(3))  # PyTorch's in-place add


def saved_tensors_counted_from_one():
    saved_tensors = (np.ones(3),)
    return saved_tensors[1]


def params_list_made_once():
    apply_funs, params = (len, len), [(), (), ()]
    return list(zip(apply_funs, params, strict=True))


def image_axes_on_a_matrix():
    return np.ones((4, 3)).mean(axis=(0, 2, 3))


def method_passed_uncalled():
    from pancake.nn import Linear

    layer = Linear(2, 2)
    layer(np.ones((1, 2)))
    return layer.backward(np.array(layer.backward))


def a_float_used_as_a_tensor_elsewhere():
    return (0.5).real_part  # not a PyTorch habit: the generic explanation


def expand_dims_of_axis_none():
    return np.expand_dims(np.ones(3), None)


def the_loss_value_passed_to_backward():
    model = Linear(3, 2)
    model(np.ones((4, 3)))
    model.backward(np.float64(0.7))


def optimizer_param_groups_as_in_pytorch():
    class SGD:
        def step(self):
            for group in self.param_groups:
                return group

    SGD().step()


def array_data_used_as_its_values():
    grad = np.ones(3)
    return 0.1 * grad.data


def torch_used_without_torch():
    return torch.zeros_like(np.ones(3))  # noqa: F821 - the learner's slip under test


class OneNumber:
    """A value of shape () with __len__ but no __bool__, as a Tensor of shape ()."""

    def __len__(self):
        return len(np.array(2.0))


def if_not_a_tensor_of_one_number():
    if not OneNumber():
        return 0
    return 1


def variance_with_pytorchs_unbiased():
    return np.ones(3).var(unbiased=False)


def math_exp_of_an_array():
    import math

    return math.exp(np.ones(3))


def axes_given_as_a_list():
    return np.ones((2, 3)).sum(axis=[0, 1])


def local_read_before_assignment():
    def backward(grad):
        result = grad * scale  # noqa: F821 - assigned below: a local, unbound here
        scale = 2.0
        return result * scale

    return backward(np.ones(2))


def saved_tensors_assigned():
    class Square:
        @property
        def saved_tensors(self):
            return ()

    Square().saved_tensors = (np.ones(2),)


CRASHES = [
    (variance_with_pytorchs_unbiased, "x.var(ddof=0) divides by n"),
    (math_exp_of_an_array, "on arrays use NumPy's np.exp"),
    (axes_given_as_a_list, "several axes are given as one tuple"),
    (local_read_before_assignment, "reads a local variable before it has a value"),
    (saved_tensors_assigned, "this attribute can be read but not assigned"),
    (if_not_a_tensor_of_one_number, "`if not x` on a Tensor of shape () asks for its len() too"),
    (optimizer_param_groups_as_in_pytorch, "pancake's optimizers keep no param_groups"),
    (array_data_used_as_its_values, "an array's .data is a memoryview of its bytes"),
    (torch_used_without_torch, "pancake runs on NumPy alone, there is no torch here"),
    (the_loss_value_passed_to_backward, "model.backward(loss_fn.backward())"),
    (expand_dims_of_axis_none, "axis=None means every axis and is not an axis number"),
    (xor_for_a_power, "bitwise XOR"),
    (builtin_max_of_an_array, "np.maximum(x, 0)"),
    (bias_used_without_a_check, "self.bias is None"),
    (shuffled_order_from_rng_shuffle, "rng.shuffle(a)"),
    (the_maths_wx, "not the math's W @ x"),
    (slice_one_short, "a slice of n entries from s ends at s + n"),
    (axes_not_lined_up, "their axes do not line up"),
    (reshape_to_another_size, "use -1 for one axis"),
    (iter_returning_a_list, "write it as a generator"),
    (reversed_generator, "reversed(self.layers)"),
    (named_children_called, "unpack them"),
    (layers_sorted_for_reversed, "use reversed(items) or items[::-1]"),
    (modules_of_a_sequential, "keeps its modules in the list self.layers"),
    (broadcast_to_a_smaller_shape, "it cannot make an array smaller"),
    (sum_over_dim, "NumPy names the axis `axis`"),
    (size_called_as_in_pytorch, "not PyTorch's x.size(0)"),
    (clamp_of_an_array, "np.clip(a, 0, None)"),
    (forward_variable_read_in_backward, "save what backward needs in forward"),
    (bias_gradient_summed_over_the_batch_only, "sum over every axis but the one of length 4"),
    (method_iterated_without_a_call, "used without calling it: add the parentheses"),
    (list_of_modules_called, "was called like a function: call each of its items"),
    (probabilities_minus_transposed_targets, "are each other's transpose"),
    (row_sums_without_keepdims, "lines up with the LAST axis of (4, 3), not the first"),
    (pairs_recorded_as_single_objects, "the value is a single object, not a pair"),
    (rng_passed_by_position, "passed by name, e.g. rng=rng"),
    (last_axis_counted_from_the_front, "shape[-1]"),
    (last_layer_past_the_end, "the last is [n - 1]"),
    (labels_indexed_as_a_matrix, "a 1-d array takes one index"),
    (index_made_for_another_axis, "an axis of size n has indices 0 to n - 1"),
    (one_entry_tuple_without_its_comma, "needs a comma, (n,)"),
    (backward_without_the_gradient, "model.backward(loss_fn.backward())"),
    (call_missing_an_argument, "called without an argument it needs"),
    (loss_backward_as_in_pytorch, "a pancake loss returns a plain float"),
    (arguments_in_another_order, "arguments passed in another order"),
    (three_values_unpacked_into_two, "another number of items than the names on the left"),
    (pair_returned_for_an_array, "returned a tuple or list where one array is expected"),
    (split_into_no_batches, "order[start : start + batch_size]"),
    (divided_by_an_input, "a division by a value that is 0"),
    (key_never_stored, "use .get(key)"),
    (method_calling_itself, "a function calls itself without end"),
    (the_maths_wx_with_np_dot, "not the math's W @ x"),
    (array_kept_where_the_parameter_belongs, "only a Parameter has .data and .grad"),
    (arrays_joined_with_other_sizes, "same sizes on every other axis"),
    (gradient_added_in_place_with_another_shape, "an in-place update (+=, -=, *=)"),
    (one_hot_targets_as_indices, "argmax(axis=1)"),
    (loss_item_as_in_pytorch, "a PyTorch habit: pancake has no Tensors here"),
    (output_detached_as_in_pytorch, "no .item()) and its modules take and return NumPy arrays"),
    (a_float_used_as_a_tensor_elsewhere, "not the kind of object the line expects"),
    (validation_images_with_training_labels, "pair each set of inputs with its own labels"),
    (a_class_given_to_sequential, "ReLU(), not the class ReLU"),
    (data_passed_as_two_arguments, "the pair (X, y) in parentheses"),
    (gradient_added_with_a_tensor_method, "an in-place Tensor method (its name ends in _"),
    (saved_tensors_counted_from_one, "what save_for_backward saved, in self.saved_tensors"),
    (params_list_made_once, "a list made once, outside the function that fills it"),
    (image_axes_on_a_matrix, "compute them from the input's number of axes"),
    (method_passed_uncalled, "a method passed without calling it"),
]


def raised_by(crash) -> BaseException:
    try:
        crash()
    except Exception as error:  # each crash raises its own type
        return error
    raise AssertionError(f"{crash.__name__} did not raise")


def test_every_explanation_is_exercised_by_a_crash_below():
    hints = [hint for _, _, hint in EXPLANATIONS]
    given = [explain_error(raised_by(crash)) for crash, _ in CRASHES]
    # an explanation is a hint, with what the shapes of a failed broadcast say after it
    exercised = {next(hint for hint in hints if text.startswith(hint)) for text in given}
    assert exercised == set(hints)


@pytest.mark.parametrize(("crash", "hint"), CRASHES, ids=[c.__name__ for c, _ in CRASHES])
def test_each_crash_gets_its_explanation(crash, hint):
    explanation = explain_error(raised_by(crash))
    assert explanation is not None and hint in explanation


@pytest.mark.parametrize(
    "error",
    [
        NotImplementedError(),
        AssertionError("Linear(x) is wrong"),
        ValueError("operands could not be broadcast together\nHint: sum over the batch axis"),
        OverflowError("math range error"),
        RuntimeError("'NoneType' object"),  # a message that matches, but not its type
    ],
    ids=["stub", "failed check", "already hinted", "unknown", "other type"],
)
def test_other_errors_get_no_explanation(error):
    assert explain_error(error) is None


def test_a_group_of_failures_gets_the_explanation_of_its_first_known_error():
    group = ExceptionGroup("2 distinct failures", [OverflowError("e"), raised_by(the_maths_wx)])
    assert "not the math's W @ x" in explain_error(group)
    assert explain_error(ExceptionGroup("unknown", [OverflowError("e")])) is None


def test_a_graded_test_that_crashes_fails_with_the_explanation():
    @graded
    def test_forward():
        the_maths_wx()

    with pytest.raises(AssertionError, match="ValueError: matmul.*\nHint: the inner sizes"):
        test_forward()


def test_a_graded_check_reporting_a_crash_is_not_prefixed_with_assertionerror_twice():
    @graded
    def test_forward():
        try:
            the_maths_wx()
        except ValueError as error:
            raise AssertionError(f"forward raised ValueError: {error}") from error

    with pytest.raises(AssertionError) as failure:
        test_forward()
    assert str(failure.value).startswith("forward raised ValueError: matmul")
    assert "\nHint: the inner sizes" in str(failure.value)


def test_a_graded_test_keeps_other_failures_as_they_are():
    @graded
    def test_stub():
        raise NotImplementedError()

    @graded
    def test_passing():
        return "passed"

    with pytest.raises(NotImplementedError):
        test_stub()
    assert test_passing() == "passed"


# -- explain_crash: where in the learner's code, with the values its names held -----------


def run_as_cell(code: str, namespace: dict) -> None:
    """Run ``code`` as a notebook cell does: its text registered for tracebacks."""
    filename = f"<cell-{abs(hash(code))}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    exec(compile(code, filename, "exec"), namespace)


ANSWER_CELL = """\
class SGD:
    def __init__(self, params):
        self.params = list(params)
        self.buffer = np.zeros(5)

    def step(self):
        for param in self.params:
            self.buffer = 0.9 * self.buffer + param.grad
            param.data -= 0.1 * self.buffer


def train(optimizer):
    optimizer.step()
"""


def crash_of(answer: str, call: str) -> BaseException:
    """The error raised by ``call`` after the answer cell ``answer`` ran."""
    namespace = {"np": np, "Linear": Linear}
    run_as_cell(answer, namespace)
    with pytest.raises(Exception) as failure:  # noqa: B017 - each call raises its own type
        run_as_cell(call, namespace)
    return failure.value


def test_a_crash_names_the_learners_line_and_the_shapes_it_combined():
    error = crash_of(ANSWER_CELL, "train(SGD(Linear(3, 4).parameters()))")
    explanation = explain_crash(error)
    lines = explanation.splitlines()
    assert lines[0] == (
        "In your `SGD.step`, line 8: `self.buffer = 0.9 * self.buffer + param.grad`"
    )
    assert lines[1] == (
        "  where `self.buffer` is an array of shape (5,), `param.grad` is an array of shape (3, 4)"
    )
    assert lines[2] == "  called from your `train`, line 13: `optimizer.step()`"
    assert lines[-1].startswith(
        "Hint: `0.9 * self.buffer + param.grad` combines `0.9 * self.buffer` of shape (5,) with "
        "`param.grad` of shape (3, 4): two arrays were combined entry by entry"
    )


def test_a_crash_shows_what_the_value_of_the_wrong_kind_is():
    answer = "def first_batch(order):\n    return order[0:2]\n"
    explanation = explain_crash(crash_of(answer, "first_batch(np.arange(4).sort())"))
    assert "where `order` is None" in explanation
    assert "rng.shuffle(a)" in explanation


def test_a_crash_shows_what_the_functions_it_calls_take():
    answer = (
        "def init_fun(rng, input_shape):\n    return input_shape[-1]\n\n"
        "def serial_init(rng, input_shape):\n    return init_fun(input_shape, rng)\n"
    )
    error = crash_of(answer, "serial_init(np.random.default_rng(0), (-1, 3))")
    explanation = explain_crash(error)
    assert "In your `init_fun`, line 2: `return input_shape[-1]`" in explanation
    assert "where `input_shape` is a Generator" in explanation
    assert "`init_fun` takes (rng, input_shape), `input_shape` is (-1, 3)" in explanation


def test_pancakes_own_lines_and_the_tests_cell_are_not_the_learners():
    answer = "def forward(x):\n    return Linear(3, 2)(x)\n"
    namespace = {"np": np, "Linear": Linear}
    run_as_cell(answer, namespace)
    test_cell = "def test_forward():\n    forward(np.ones((4, 5)))\n"
    run_as_cell(test_cell, namespace)
    with pytest.raises(ValueError) as failure:
        namespace["test_forward"]()
    lines = explain_crash(failure.value, namespace["test_forward"]).splitlines()
    assert lines[0] == "In your `forward`, line 2: `return Linear(3, 2)(x)`"  # pancake's raise
    assert not any("called from" in line for line in lines)  # test_forward is the test's


def test_a_crash_in_pancakes_layers_shows_their_line_and_the_learners():
    answer = (
        "def train_step(model, x):\n"
        "    for param in model.parameters():\n"
        "        param.grad = None\n"
        "    model.backward(model(x))\n"
    )
    error = crash_of(answer, "train_step(Linear(3, 2), np.ones((4, 3)))")
    lines = explain_crash(error).splitlines()
    assert lines[0].startswith("In pancake's `Linear.backward`, line ")
    assert "`self.weight.grad` is None" in lines[1]
    assert lines[2] == "  called from your `train_step`, line 4: `model.backward(model(x))`"
    assert lines[-1].startswith("Hint: this was raised inside pancake's `Linear.backward`")
    assert "a gradient set to None" in lines[-1]


def test_a_check_that_reports_a_crash_gets_the_crashs_explanation():
    def check():
        try:
            labels_indexed_as_a_matrix()
        except IndexError as error:
            raise AssertionError(f"iterating raised IndexError: {error}") from error

    explanation = explain_crash(raised_by(check))
    assert "In your `labels_indexed_as_a_matrix`" in explanation
    assert "`labels` is an array of shape (4,)" in explanation
    assert "a 1-d array takes one index" in explanation


def test_a_value_whose_repr_fails_is_left_out():
    answer = (
        "class Broken:\n"
        "    def __repr__(self):\n"
        "        raise RuntimeError('no repr')\n\n"
        "def combine(pair, weights):\n"
        "    return pair[0] @ weights\n"
    )
    error = crash_of(answer, "combine([Broken(), Broken()], np.ones((3, 2)))")
    explanation = explain_crash(error)
    assert "`weights` is an array of shape (3, 2)" in explanation
    assert "`pair`" not in explanation


def test_an_attribute_of_self_never_set_is_named():
    answer = (
        "class Square:\n"
        "    def forward(self, x):\n"
        "        return x * x\n\n"
        "    def backward(self, grad_output):\n"
        "        return grad_output * 2 * self.x\n"
    )
    explanation = explain_crash(crash_of(answer, "Square().backward(np.ones(3))"))
    assert "Hint: self.x was never set before this line read it" in explanation
    other = explain_crash(raised_by(loss_backward_as_in_pytorch))  # not an attribute of self
    assert "was never set" not in other


@pytest.mark.parametrize(
    "error",
    [
        NotImplementedError(),
        AssertionError("Linear(x) is wrong"),
        ValueError("operands could not be broadcast together\nHint: sum over the batch axis"),
    ],
    ids=["stub", "failed check", "already hinted"],
)
def test_stubs_failed_checks_and_hinted_errors_get_no_explanation(error):
    assert explain_crash(error) is None


def test_a_check_reporting_a_crash_with_its_likely_mistake_keeps_it_as_the_only_hint():
    def check():
        try:
            axes_not_lined_up()
        except ValueError as error:
            raise AssertionError(f"step() raised {error}\nLikely mistake: shared state") from error

    explanation = explain_crash(raised_by(check))
    assert "In your `axes_not_lined_up`" in explanation and "Hint:" not in explanation


def test_a_plain_graded_test_explains_its_crashes_too():
    namespace = {"np": np, "graded": graded}
    run_as_cell("def forward(x, weight):\n    return weight @ x\n", namespace)
    run_as_cell(
        "@graded\ndef test_script():\n    forward(np.ones((4, 3)), np.ones((3, 2)))\n", namespace
    )
    with pytest.raises(AssertionError) as failure:
        namespace["test_script"]()
    assert re.search(
        r"In your `forward`, line 2.*\n.*\nHint: `weight @ x` multiplies `weight` of shape "
        r"\(3, 2\) by `x` of shape \(4, 3\): the last axis of the left factor \(2\) must "
        r"match the second-to-last axis of the right one \(4\): the inner sizes",
        str(failure.value),
    )


def test_a_visible_check_explains_a_crash_of_the_learners_code_as_a_graded_test_does():
    with pytest.raises(AssertionError) as failure, crashes_explained():
        the_maths_wx()
    assert str(failure.value).startswith("ValueError: matmul")
    assert "In your `the_maths_wx`" in str(failure.value)
    assert "\nHint: `weight @ x` multiplies `weight` of shape" in str(failure.value)
    assert "(4): the inner sizes" in str(failure.value)


def test_a_visible_check_leaves_a_failed_check_as_it_is():
    with pytest.raises(AssertionError, match="^Linear.x. is wrong$"), crashes_explained():
        raise AssertionError("Linear(x) is wrong")


def test_a_crash_in_a_cells_own_code_is_placed_in_the_cell():
    namespace = {"np": np}
    with pytest.raises(ValueError) as failure:
        run_as_cell("pair = np.ones((2, 3))\nfirst, second, third = pair\n", namespace)
    explanation = explain_crash(failure.value)
    assert explanation.startswith("In the cell, line 2: `first, second, third = pair`")
    assert "your `<module>`" not in explanation


def test_an_array_read_through_an_attribute_it_lacks_in_its_dict_is_shown():
    answer = "def difference(probabilities, targets):\n    return probabilities - targets.T\n"
    error = crash_of(answer, "difference(np.ones((7, 2)), np.ones((7, 2)))")
    explanation = explain_crash(error)
    assert "`targets` is an array of shape (7, 2)" in explanation


def test_a_crash_inside_a_pancake_helper_shows_what_it_was_given_and_what_it_is_for():
    answer = (
        "from pancake.autograd.functions import keepdims_shape\n\n"
        "def sum_backward(grad, axis):\n"
        "    return grad.reshape(keepdims_shape(grad.shape, axis))\n"
    )
    explanation = explain_crash(crash_of(answer, "sum_backward(np.array(2.0), 0)"))
    hint = explanation.splitlines()[-1]
    assert hint.startswith(
        "Hint: this was raised inside pancake's `keepdims_shape` with shape = (), axis = 0"
    )
    assert "reduced axes become 1" in hint  # its docstring says what it is for
    assert "division" not in hint  # the division by zero is pancake's, not the learner's


def test_take_without_an_axis_is_named_as_the_line_that_lost_the_features():
    answer = (
        "def first_rows(X, order):\n    rows = X.take(order)\n    return Linear(3, 2)(rows[:2])\n"
    )
    explanation = explain_crash(crash_of(answer, "first_rows(np.ones((4, 3)), np.arange(4))"))
    assert explanation.splitlines()[-1].startswith(
        "Hint: line 2 `rows = X.take(order)` calls take without axis=: take flattens the array"
    )
    with_axis = answer.replace("X.take(order)", "X.take(order, axis=0).ravel()")
    explanation = explain_crash(crash_of(with_axis, "first_rows(np.ones((4, 3)), np.arange(4))"))
    assert "take without axis" not in explanation


def test_a_loop_over_enumerate_that_takes_the_count_for_the_inputs_is_named():
    answer = (
        "def first_loss(batches):\n"
        "    for inputs, targets in enumerate(batches):\n"
        "        return Linear(3, 2)(inputs)\n"
    )
    pairs = "[(np.ones((4, 3)), np.zeros(4))]"
    explanation = explain_crash(crash_of(answer, f"first_loss({pairs})"))
    assert explanation.splitlines()[-1].startswith(
        "Hint: line 2 `for inputs, targets in enumerate(batches):`: enumerate gives (number, "
        "item) pairs, so `inputs` is the number 0 and `targets` the whole item"
    )
    unpacked = answer.replace("for inputs, targets in", "for i, (inputs, targets) in")
    explanation = explain_crash(
        crash_of(unpacked.replace("(3, 2)", "(5, 2)"), f"first_loss({pairs})")
    )
    assert "enumerate gives" not in explanation


def test_a_loop_over_zip_that_unpacks_in_another_order_is_named():
    answer = (
        "def apply_all(params, functions, x):\n"
        "    for function, param in zip(params, functions):\n"
        "        x = function(param, x)\n"
        "    return x\n"
    )
    call = "apply_all([np.ones(2)], [lambda p, x: p * x], np.ones(2))"
    explanation = explain_crash(crash_of(answer, call))
    assert explanation.splitlines()[-1].startswith(
        "Hint: line 2 `for function, param in zip(params, functions):`: zip gives its items "
        "in the order of its arguments, so `function` is an array of shape (2,)"
    )
    in_order = answer.replace("zip(params, functions)", "zip(functions, params)")
    explanation = explain_crash(crash_of(in_order.replace("param, x)", "param, x)(x)"), call))
    assert "zip gives its items" not in explanation


def test_a_loop_over_pairs_unpacked_in_another_order_is_named():
    answer = (
        "def apply_all(pairs, x):\n"
        "    for param, function in pairs:\n"
        "        x = function(param, x)\n"
        "    return x\n"
    )
    call = "apply_all([(lambda p, x: p * x, np.ones(2))], np.ones(2))"
    explanation = explain_crash(crash_of(answer, call))
    assert explanation.splitlines()[-1].startswith(
        "Hint: line 2 `for param, function in pairs:`: each item of `pairs` holds the two in "
        "the other order, so `param` is a function and `function` is an array of shape (2,): "
        "unpack them in the items' order, `for function, param in pairs`"
    )
    labels = "def sizes(batches):\n    for x, y in batches:\n        return y.shape\n"
    explanation = explain_crash(crash_of(labels, "sizes([(np.ones(2), 3)])"))
    assert "holds the two" not in explanation  # an int label has no shape: no swap to name


def test_a_loop_over_zip_unpacked_in_another_order_is_named_by_what_the_value_lacks():
    answer = (
        "from pancake.autograd import Tensor\n"
        "def watched_grads(tensors, grads):\n"
        "    for tensor, grad in zip(grads, tensors):\n"
        "        if tensor.requires_grad:\n"
        "            yield grad\n"
    )
    call = "list(watched_grads([Tensor(np.ones(2), requires_grad=True)], [np.ones(2)]))"
    explanation = explain_crash(crash_of(answer, call))
    assert explanation.splitlines()[-1] == (
        "Hint: line 3 `for tensor, grad in zip(grads, tensors):`: zip gives its items in the "
        "order of its arguments, so `tensor` is an array of shape (2,) and `grad` is a Tensor "
        "of shape (2,): unpack them in zip's order, `for grad, tensor in zip(grads, tensors)`"
    )
    in_order = answer.replace("zip(grads, tensors)", "zip(tensors, grads)")
    explanation = explain_crash(crash_of(in_order.replace("grad\n", "grad.sum2()\n"), call))
    assert "zip gives its items" not in explanation
    hashed = answer.replace("if tensor.requires_grad:", "if tensor in {id(grad)}:")
    explanation = explain_crash(crash_of(hashed, call))
    assert "so `tensor` is an array of shape (2,) and `grad` is a Tensor" in explanation


def test_an_array_of_the_function_is_offered_in_place_of_a_variable_only_not_of_a_formula():
    answer = "def affine(x, w, b):\n    output = x @ w\n    return x + b\n"
    call = "affine(np.ones((4, 3)), np.ones((3, 2)), np.ones(2))"
    assert "was it meant in place of `x`?" in explain_crash(crash_of(answer, call))
    formula = answer.replace("x + b", "x.T.T + b")
    explanation = explain_crash(crash_of(formula, call))
    assert "`x.T.T + b` combines `x.T.T` of shape (4, 3) with `b` of shape (2,)" in explanation
    assert "was it meant in place" not in explanation


REMADE = (
    "def gradient(f, x):\n"
    "    total = 0.0\n"
    "    for index in range(len(x)):\n"
    "        grads = {}\n"
    "        grads[index] = f(x[index])\n"
    "    return grads\n"
)


def test_a_collection_made_anew_inside_the_loop_that_fills_it_is_named():
    namespace = {}
    run_as_cell(REMADE, namespace)
    assert remade_in_loop_hint(namespace["gradient"]) == (
        "in your `gradient`, line 4: `grads = {}` is inside the loop of line 3: it makes "
        "`grads` anew at every pass, so what the passes before stored in it is lost; make it "
        "once, before the loop"
    )


@pytest.mark.parametrize(
    "answer",
    [
        REMADE.replace("        grads = {}\n", "").replace(
            "    total", "    grads = {}\n    total"
        ),
        # a row made for each pass and handed on within it is not lost
        REMADE.replace(
            "grads[index] = f(x[index])", "row = [f(x[index])]\n        grads[index] = row"
        )
        .replace("        grads = {}\n", "")
        .replace("    total", "    grads = {}\n    total"),
        # a batch made anew for each pass and used up within it (a DataLoader's)
        "def batches(x):\n"
        "    for start in range(0, len(x), 2):\n"
        "        batch = []\n"
        "        for i in range(start, start + 2):\n"
        "            batch.append(x[i])\n"
        "        yield batch\n",
    ],
)
def test_a_collection_made_and_used_up_within_each_pass_is_not_named(answer):
    namespace = {}
    run_as_cell(answer, namespace)
    function = namespace.get("gradient") or namespace["batches"]
    assert remade_in_loop_hint(function) is None


def test_a_loop_that_ends_in_its_first_pass_is_named_under_any_failed_check():
    from pancake.testing.errors import explained

    answer = (
        "def forward(layers, x):\n"
        "    for layer in layers:\n"
        "        x = layer(x)\n"
        "        return x\n"
    )
    test_cell = (
        "def test_forward():\n"
        "    assert forward([abs, abs], -1.0) == 1.0, 'wrong\\nHint: a family guess'\n"
        "    assert forward([lambda x: x + 1, lambda x: x + 1], 0.0) == 2.0, 'wrong'\n"
    )
    namespace = {}
    run_as_cell(answer, namespace)
    run_as_cell(test_cell, namespace)
    with pytest.raises(AssertionError) as failure:
        namespace["test_forward"]()
    assert str(explained(failure.value, namespace["test_forward"])).endswith(
        "wrong\nHint: in your `forward`, line 4: `return x` is inside the loop of line 2 with "
        "no if around it, so the loop ends in its first pass: return after the loop (one "
        "indent less)"
    )
    hinted = AssertionError("wrong\nHint: a family guess")
    assert str(explained(hinted, namespace["test_forward"])).endswith(
        "a family guess\nAlso: in your `forward`, line 4: `return x` is inside the loop"
        " of line 2 with no if around it, so the loop ends in its first pass: return after "
        "the loop (one indent less)"
    )
    run_as_cell(answer.replace("        return x", "    return x"), namespace)
    assert explained(hinted, namespace["test_forward"]) is hinted


def test_a_numpy_result_thrown_away_is_named_under_any_failed_check():
    from pancake.testing.errors import explained

    answer = "def unbroadcast(grad, shape):\n    grad.sum(axis=0)\n    return grad\n"
    test_cell = (
        "def test_unbroadcast():\n"
        "    assert unbroadcast(np.ones((2, 3)), (3,)).shape == (3,), 'wrong\\nHint: a guess'\n"
    )
    namespace = {"np": np}
    run_as_cell(answer, namespace)
    run_as_cell(test_cell, namespace)
    with pytest.raises(AssertionError) as failure:
        namespace["test_unbroadcast"]()
    assert str(explained(failure.value, namespace["test_unbroadcast"])).endswith(
        "a guess\nAlso: in your `unbroadcast`, line 2: `grad.sum(axis=0)` computes a new array "
        "and throws it away: NumPy's sum changes nothing in place; assign its result "
        "(grad = grad.sum(axis=0))"
    )
    run_as_cell(
        answer.replace("    grad.sum(axis=0)", "    np.sum(grad, axis=0, out=grad[0])"), namespace
    )
    hinted = AssertionError("wrong\nHint: a guess")
    assert explained(hinted, namespace["test_unbroadcast"]) is hinted
    run_as_cell(answer.replace("    grad.sum(axis=0)", "    np.sum(grad, axis=0)"), namespace)
    assert "assign its result (grad = np.sum(grad, axis=0))" in str(
        explained(hinted, namespace["test_unbroadcast"])
    )


def test_a_statement_that_does_nothing_is_named_under_any_failed_check():
    from pancake.testing.errors import explained

    answer = (
        "def train(optimizer, model):\n"
        "    optimizer.zero_grad\n"
        "    model.bias == 0\n"
        "    return model\n"
    )
    test_cell = (
        "def test_train():\n"
        "    thing = SimpleNamespace(zero_grad=lambda: None, bias=1.0)\n"
        "    train(thing, thing)\n"
        "    assert False, 'the gradients add up'\n"
    )
    namespace = {"SimpleNamespace": types.SimpleNamespace}
    run_as_cell(answer, namespace)
    run_as_cell(test_cell, namespace)
    with pytest.raises(AssertionError) as failure:
        namespace["test_train"]()
    message = str(explained(failure.value, namespace["test_train"]))
    assert message.endswith(
        "Hint: in your `train`, line 2: `optimizer.zero_grad` does nothing: it names a method (or "
        "a value) without calling it: add the parentheses, optimizer.zero_grad()"
    )
    hinted = AssertionError("the gradients add up\nHint: reset them")
    assert str(explained(hinted, namespace["test_train"])).endswith(  # kept, and followed
        "Hint: reset them\nAlso: in your `train`, line 2: `optimizer.zero_grad` does nothing"
        ": it names a method (or a value) without calling it: add the parentheses, "
        "optimizer.zero_grad()"
    )
    run_as_cell(answer.replace("    optimizer.zero_grad\n", ""), namespace)
    with pytest.raises(AssertionError) as failure:
        namespace["test_train"]()
    assert "== compares and throws the answer away" in str(
        explained(failure.value, namespace["test_train"])
    )


PINPOINTED = [
    (
        "def apply(fns, x):\n    layer = fns\n    return layer(x)\n",
        "apply((1, 2), 3)",
        "`layer` is (1, 2), not a function, and the line calls it, `layer(x)`",
    ),
    (
        "def lengths(shape, axes):\n    return shape[axes]\n",
        "lengths((3, 4, 5), (0, 2))",
        "`shape[axes]` indexes the tuple `shape` with `axes`, which is (0, 2): a tuple takes "
        "one integer",
    ),
    (
        "def relu(x):\n    return x.clamp(min=0)\n",
        "relu(np.ones(2))",
        "`x` is an array of shape (2,), which has no `.clamp` (close names it has: .clip)",
    ),
    (
        "def scaled(x, y):\n    return x * y\n",
        "scaled([1, 2], 0.5)",
        "in `x * y`, `x` is [1, 2], a Python list: * repeats a list (by a whole number), it "
        "does not multiply its entries; make it an array first, np.asarray(x)",
    ),
    (
        "def variance(x):\n    return x.var(unbiased=False)\n",
        "variance(np.ones(3))",
        "`x.var` has no argument `unbiased`: it takes (axis, dtype, out, ddof, keepdims, where",
    ),
    (
        "def doubled(grad_output):\n    return 2 * grad_ouput\n",
        "doubled(np.ones(2))",
        "`grad_ouput` is not defined where this line runs, but `grad_output` is",
    ),
    (
        "def root(x):\n    return math.sqrt(x)\n",
        "root(np.ones(2))",
        "`math` is a module of Python's that this notebook never imported: import it first "
        "(import math)",
    ),
    (
        "def backwards(items):\n    return [item for item in items.reverse()]\n",
        "backwards([1, 2])",
        "`items.reverse()` changes `items` in place and returns None, which the line then "
        "uses: call it on its own line and use `items` itself, or loop over reversed(...)",
    ),
    (
        "def complement(saved):\n    y = saved\n    return 1 - y\n",
        "complement((np.ones(2),))",
        "in `1 - y`, `1` is 1 and `y` is (array([1., 1.]),): `y` holds one value, take it out, "
        "(a,) = ...",
    ),
    (
        "def shifted(a, b):\n    return a + b\n",
        "shifted({'w': 1}, 1)",
        "in `a + b`, `a` is a dict and `b` is 1",
    ),
    (
        "def watch(watched, tensors):\n    watched += tensors\n",
        "watch(set(), [np.ones(2)])",
        "in `watched += tensors`, `watched` is a set and `tensors` is [array([1., 1.])]",
    ),
    (
        "def total(grad, n):\n    return grad.sum(axis=range(n))\n",
        "total(np.ones((2, 3)), 1)",
        "`grad.sum(axis=range(n))` is given `range(n)`, which is a range, where it takes one "
        "integer",
    ),
    (
        "def combined(a, b):\n    return a * b\n",
        "combined(np.ones((4, 3)), np.ones(4))",
        "`a * b` combines `a` of shape (4, 3) with `b` of shape (4,)",
    ),
    (
        "def second(saved):\n    return saved[1]\n",
        "second((np.ones(2),))",
        "`saved[1]` asks for item 1 of `saved`, a tuple of 1 item (numbered 0 to 0)",
    ),
    (
        "def batches(order, size):\n    return order.reshape(-1, size)\n",
        "batches(np.arange(10), 4)",
        "`order.reshape(-1, size)` asks for shape (-1, 4) from `order`, 10 entries: -1 fills in "
        "what is left only when the other lengths divide the size, and 10 is not a multiple of 4",
    ),
    (
        "def rows(x, n):\n    return np.reshape(x, (n, 6))\n",
        "rows(np.ones((3, 5)), 2)",
        "`np.reshape(x, (n, 6))` asks for shape (2, 6), 12 entries, from `x`, 15 entries of "
        "shape (3, 5)",
    ),
    (
        "def rows(out, i, row):\n    out[i] = row\n",
        "rows(np.zeros(4), 0, np.ones(3))",
        "`out[i]` is one entry of `out` (shape (4,)), but is given `row`, which is an array of "
        "shape (3,)",
    ),
    (
        "def stacked(a, b):\n    return np.array([a, b])\n",
        "stacked(np.ones(3), np.ones(2))",
        "`np.array([a, b])` stacks pieces of shapes (3,) and (2,): pieces of one array must all "
        "have the same shape",
    ),
    (
        "def pad(x):\n    padded = np.zeros((3, 7))\n    padded[:, 1:6] = x.T\n",
        "pad(np.ones((6, 3)))",
        "`padded[:, 1:6] = ...` writes `x.T`, of shape (3, 6), into `padded[:, 1:6]`, of shape "
        "(3, 5)",
    ),
    (
        "def pad(x):\n    padded = np.zeros((3, 7, 6, 2))\n    padded[:, :, :, :] = x\n",
        "pad(np.ones((3, 2, 7, 6)))",
        "`padded[:, :, :, :] = ...` writes `x`, of shape (3, 2, 7, 6), into `padded[:, :, :, :]`, "
        "of shape (3, 7, 6, 2): the same lengths in another order; put its axes in the order of "
        "the place it goes to, x.transpose(0, 2, 3, 1)",
    ),
    (
        "def pad(x):\n    padded = np.zeros((1, 3, 1, 1))\n    padded[:, :, :, :] = x\n",
        "pad(np.ones((1, 1, 3, 1)))",
        "`padded[:, :, :, :] = ...` writes `x`, of shape (1, 1, 3, 1), into `padded[:, :, :, :]`, "
        "of shape (1, 3, 1, 1): the same lengths in another order; put its axes in the order of "
        "the place it goes to: values were written",
    ),
    (
        "def store(grad, rows, g):\n    grad[:, :] = g.T @ rows\n",
        "store(np.zeros((2, 3)), np.ones((4, 2)), np.ones((4, 3)))",
        "`grad[:, :] = ...` writes `g.T @ rows`, of shape (3, 2), into `grad[:, :]`, of shape "
        "(2, 3): the same lengths in another order; put its axes in the order of the place it "
        "goes to, (g.T @ rows).T",
    ),
    (
        "def accumulate(grad, rows, g):\n    grad += rows.T @ g\n",
        "accumulate(np.zeros(3), np.ones((4, 2)), np.ones((4, 3)))",
        "`grad += ...` writes `rows.T @ g`, of shape (2, 3), into `grad`, of shape (3,)",
    ),
    (
        "def accumulate(grad, rows, g):\n    grad += rows.T @ g\n",
        "accumulate(np.zeros(3), np.ones((4, 3)), np.ones((4, 2)))",
        "`grad += rows.T @ g` combines `grad` of shape (3,) with `rows.T @ g` of shape (3, 2)",
    ),
    (
        "def relu(x):\n    return max(x, 0)\n",
        "relu(np.ones(5))",
        "`max(x, 0)` is Python's max, which compares whole values, and `x` is an array of shape "
        "(5,)",
    ),
    (
        "def positive(x):\n    return 1.0 if x > 0 else 0.0\n",
        "positive(np.ones(5))",
        "the line asks `x > 0`, which is an array of shape (5,), for one truth value",
    ),
    (
        "def output_shape(shape, n):\n    return tuple(shape[:-1]) + (n)\n",
        "output_shape((4, 3), 2)",
        "in `tuple(shape[:-1]) + n`, `tuple(shape[:-1])` is (4,) and `n` is 2, not a tuple",
    ),
    (
        "def product(a, b):\n    return np.swapaxes(a, -1, -2) @ b\n",
        "product(np.ones((1, 2)), np.ones((3, 1)))",
        "`np.swapaxes(a, -1, -2) @ b` multiplies `np.swapaxes(a, -1, -2)` of shape (2, 1) by "
        "`b` of shape (3, 1)",
    ),
    (
        "def count(items, n):\n    for item in range(len(n)):\n        pass\n",
        "count([1], 5)",
        "`len(n)` asks `n`, which is 5, for its length: a single number has none",
    ),
    (  # a statement over several lines: read as a whole
        "def grads(inputs, seed):\n    return list(zip(\n        inputs, seed[3], strict=True\n    ))\n",
        "grads((1, 2), (1, 2))",
        "`seed[3]` asks for item 3 of `seed`, a tuple of 2 items (numbered 0 to 1)",
    ),
    (
        "from pancake.nn import ReLU\ndef build():\n    return ReLU(inplace=True)\n",
        "build()",
        "`ReLU` has no argument `inplace`: it takes ()",
    ),
    (
        "from pancake.optim import SGD\ndef step(opt):\n    opt.zero_grad(set_to_none=True)\n",
        "step(SGD(Linear(2, 1).parameters(), lr=0.1))",
        "`opt.zero_grad` has no argument `set_to_none`: it takes ()",
    ),
    (
        "def scaled(g, x, k):\n    k += (g * x).sum\n    return k\n",
        "scaled(np.ones(2), np.ones(2), 1.0)",
        "`(g * x).sum` is a method, not what it computes: the line uses it without calling it; "
        "add the parentheses, `(g * x).sum()`",
    ),
    (
        "def record(ops, a, b):\n    ops.append(a, b)\n",
        "record([], 1, 2)",
        "`ops.append(a, b)` gives append 2 values, but it takes one item: to keep them together, "
        "give it one tuple, ops.append((a, b))",
    ),
    (
        "from pancake.data import ArrayDataset, DataLoader\n"
        "def first_batch(loader):\n    return loader[0]\n",
        "first_batch(DataLoader(ArrayDataset(np.ones((4, 2))), batch_size=2))",
        "`loader[0]` indexes `loader`, which is a DataLoader: it gives its items one after the "
        "other, by iteration only, not by index; loop over it, `for item in loader:`",
    ),
    (
        "def second(shape):\n    return shape[1]\n",
        "second(())",
        "`shape[1]` asks for item 1 of `shape`, which is (), an empty tuple: it has no item at all",
    ),
    (
        "def past(x):\n    return x[len(x)]\n",
        "past(np.ones(3))",
        "`x[len(x)]` reads `x` of shape (3,) at index 3 on axis 0, which has 3 entries",
    ),
    (
        "def sixth(x):\n    return x[5]\n",
        "sixth(np.ones(3))",
        "`x[5]` reads `x` of shape (3,) at index 5 on axis 0, which has 3 entries",
    ),
    (
        "def first(fn):\n    return fn[0]\n",
        "first(len)",
        "`fn[0]` indexes `fn`, which is a function",
    ),
    (
        "import math\ndef sigmoid(x):\n    return 1 / (1 + math.exp(-x))\n",
        "sigmoid(np.ones(3))",
        "`math.exp(-x)` is given `-x`, which is an array of shape (3,), where it takes one number",
    ),
    (
        "def order(rng, n):\n    return rng.permuted(n)\n",
        "order(np.random.default_rng(0), 10)",
        "`rng.permuted(n)` is given `n`, which is 10, a single number, where it takes an array",
    ),
    (
        "def lookup(grads, key):\n    return grads[key]\n",
        "lookup({'a': 1}, 'b')",
        "`grads[key]` looks up `key` in `grads`, a dict of 1 entry (its keys: 'a'), which has "
        "no entry for it",
    ),
    (
        "def last(order, start, size):\n    return order[start : start + size][size]\n",
        "last(np.arange(5), 0, 2)",
        "`order[start:start + size][size]` reads `order[start:start + size]` of shape (2,) at "
        "index 2 on axis 0, which has 2 entries",
    ),
    (
        "def listed(n):\n    return [i for i in n]\n",
        "listed(5)",
        "the line loops over `n`, which is 5",
    ),
    (
        "def total(x, axes):\n    return x.sum(axis=axes)\n",
        "total(np.ones((2, 3)), [0])",
        "`x.sum(axis=axes)` is given `axes`, which is [0], where it takes one integer",
    ),
    (
        "def first(pair):\n    a, b = pair\n    return a\n",
        "first((1, 2, 3))",
        "`(a, b)` takes 2 values from `pair`, which is (1, 2, 3)",
    ),
    (
        "def firsts(batches):\n    for x, y in batches:\n        return x\n",
        "firsts([(1, 2, 3)])",
        "`(x, y)` takes 2 values from each item of `batches`, the first of which is (1, 2, 3)",
    ),
    (
        "from pancake.data import ArrayDataset\ndef size(dataset):\n    return dataset.shape[0]\n",
        "size(ArrayDataset(np.ones((4, 2))))",
        "`dataset` is an ArrayDataset, not an array: it has no `.shape`; it gives its length, "
        "len(dataset) and its items, dataset[i]",
    ),
    (
        "def weight_grad(rows, grad_rows):\n    return rows.T * grad_rows\n",
        "weight_grad(np.ones((4, 3)), np.ones((4, 2)))",
        "`rows.T * grad_rows` multiplies `rows.T` of shape (3, 4) and `grad_rows` of shape (4, 2) "
        "entry by entry, which needs shapes that line up; theirs fit a matrix product, "
        "`rows.T @ grad_rows` of shape (3, 2): * is not @",
    ),
    (  # the product computed a line above is what the bias belongs to
        "def affine(x, w, b):\n    output = x @ w\n    output = x + b\n    return output\n",
        "affine(np.ones((4, 3)), np.ones((3, 2)), np.ones(2))",
        "`x + b` combines `x` of shape (4, 3) with `b` of shape (2,), which do not line up; "
        "`output` of shape (4, 2), which this function holds, would line up with `b`: was it "
        "meant in place of `x`?",
    ),
]


@pytest.mark.parametrize("answer, call, words", PINPOINTED, ids=[c[1] for c in PINPOINTED])
def test_a_crash_names_the_part_of_the_line_it_is_about_with_its_value(answer, call, words):
    explanation = explain_crash(crash_of(answer, call))
    assert f"\nHint: {words}" in explanation


def test_reading_a_crashed_line_never_calls_numpys_in_place_methods_again():
    namespace = {"np": np}
    run_as_cell("def add_one(x):\n    return x.fill(0) + 1\n", namespace)
    namespace["x"] = x = np.array([3.0, 1.0])
    with pytest.raises(TypeError) as failure:
        run_as_cell("add_one(x)", namespace)
    x[...] = [3.0, 1.0]  # the learner's own call filled it
    assert "`x.fill(0)` changes `x` in place" in explain_crash(failure.value)
    assert x.tolist() == [3.0, 1.0]


def test_a_line_is_read_by_calling_numpy_but_never_a_method_that_changes_an_array():
    import ast
    import sys

    from pancake.testing import errors

    x = np.array([3.0, 1.0])
    here = sys._getframe()
    assert errors._value_of(ast.parse("x.sum() + np.abs(-x)[0]", mode="eval").body, here) == 7.0
    for changing in ("x.fill(0)", "x.sort()", "np.copyto(x, 0.0)"):
        assert errors._value_of(ast.parse(changing, mode="eval").body, here) is errors._MISSING
    assert x.tolist() == [3.0, 1.0]


def test_a_value_kept_on_an_object_called_as_a_method_is_named():
    answer = (
        "class Doubled(Module):\n"
        "    def forward(self, x):\n"
        "        self.save_for_backward(x)\n"
        "        return 2 * x\n"
        "    def backward(self, grad_output):\n"
        "        (x,) = self.saved_tensors()\n"
        "        return 2 * grad_output\n"
    )
    namespace = {"np": np, "Module": Module}
    run_as_cell(answer, namespace)
    with pytest.raises(TypeError) as failure:
        run_as_cell("layer = Doubled()\nlayer(np.ones(2))\nlayer.backward(np.ones(2))", namespace)
    assert explain_crash(failure.value).splitlines()[-1] == (
        "Hint: `self.saved_tensors` is (array([1., 1.]),), a value the object holds, not a "
        "method, and the line calls it, `self.saved_tensors()`: drop the parentheses, "
        "`self.saved_tensors`"
    )
