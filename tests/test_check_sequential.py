"""pancake.testing.sequential: spying on a container's modules names what its forward and
backward do wrong, and never speaks on a correct container."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pancake import nn
from pancake.nn.containers import Sequential
from pancake.testing import GradientCheckError
from pancake.testing.sequential import check_sequential, sequential_hint

pytestmark = pytest.mark.ex05


def layers(seed: int = 0) -> list:
    return [nn.Linear(3, 4, rng=seed), nn.Tanh(), nn.Linear(4, 2, rng=seed + 1)]


class GivesEveryLayerTheInput(Sequential):
    def forward(self, x):
        out = x
        for layer in self.layers:
            out = layer(x)
        return out


class GivesTheLastLayerTheInput(Sequential):
    """Tanh then Linear(3, 3): shapes that chain either way, the last gets x."""

    def forward(self, x):
        hidden = self.layers[0](x)
        self.layers[1](hidden)
        return self.layers[2](x)


class RunsTheFirstLayerTwice(Sequential):
    def forward(self, x):
        x = self.layers[0](x)
        for layer in self.layers:
            x = layer(x)
        return x


class ReducesWithoutTheInput(Sequential):
    def forward(self, x):
        return functools.reduce(lambda out, layer: layer(out), self.layers)


class ZeroesTheGradients(Sequential):
    def backward(self, grad_output):
        self.zero_grad()
        return super().backward(grad_output)


class RunsTheLastBackwardTwice(Sequential):
    def backward(self, grad_output):
        grad_output = self.layers[-1].backward(grad_output)
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output


class CallsLayersInBackward(Sequential):
    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = layer(grad_output)
        return grad_output


class MultipliesTheResults(Sequential):
    """The chain rule written as a product of the modules' results."""

    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = grad_output * layer.backward(grad_output)
        return grad_output


class NeverRunsItsLoop(Sequential):
    def backward(self, grad_output):
        for index in range(len(self.layers) - 1, -1):  # the step -1 forgotten
            grad_output = self.layers[index].backward(grad_output)
        return grad_output


class ReturnsWithoutTheLoop(Sequential):
    def backward(self, grad_output):
        for layer in reversed(self.layers):
            layer.backward(grad_output)
        return grad_output


@given(seed=st.integers(0, 1000), batch=st.integers(1, 5))
def test_a_correct_sequential_gets_no_hint(seed, batch):
    x = np.random.default_rng(seed).standard_normal((batch, 3))
    assert sequential_hint(Sequential(*layers(seed)), x) is None
    nested = Sequential(Sequential(*layers(seed)[:2]), nn.Linear(4, 2, rng=seed))
    assert sequential_hint(nested, x) is None
    check_sequential(Sequential(*layers(seed)), x)


def test_a_module_given_the_models_input_is_named():
    x = np.random.default_rng(0).standard_normal((2, 3))
    assert "forward gives module 1 the model's input x, not module 0's output" in (
        sequential_hint(GivesEveryLayerTheInput(*layers()), x)
    )
    chain = [nn.Tanh(), nn.Tanh(), nn.Linear(3, 3, rng=0)]
    assert "forward gives module 2 the model's input x, not module 1's output" in (
        sequential_hint(GivesTheLastLayerTheInput(*chain), x)
    )


def test_a_module_given_a_module_as_its_input_is_named():
    x = np.random.default_rng(5).standard_normal((2, 3))
    assert "forward gives module 1 a module, Linear(3 -> 4), as its input" in (
        sequential_hint(ReducesWithoutTheInput(*layers()), x)
    )


def test_backward_calling_zero_grad_is_named_in_place_of_the_accumulation_hint():
    x = np.random.default_rng(1).standard_normal((3, 3))
    with pytest.raises(GradientCheckError) as failure:
        check_sequential(ZeroesTheGradients(*layers()), x)
    assert "backward calls zero_grad()" in str(failure.value)
    assert "+=" not in str(failure.value)  # the generic hint is replaced, not kept


def test_a_module_whose_backward_runs_twice_is_named():
    x = np.random.default_rng(2).standard_normal((3, 3))
    two = [nn.Linear(3, 3, rng=0), nn.Tanh()]  # shapes that chain: the gradient is just wrong
    with pytest.raises(GradientCheckError) as failure:
        check_sequential(RunsTheLastBackwardTwice(*two), x)
    assert "backward runs module 1's backward more than once" in str(failure.value)
    assert "[1, 1, 0]" in str(failure.value)
    hint = sequential_hint(RunsTheLastBackwardTwice(*layers()), x)  # a crash half way
    assert "backward runs module 2's backward more than once" in hint


def test_a_forward_pass_inside_backward_is_named():
    x = np.random.default_rng(3).standard_normal((3, 3))
    two = [nn.Linear(3, 3, rng=0), nn.Tanh()]
    assert "backward runs module 1's forward (layer(grad_output) is a forward pass)" in (
        sequential_hint(CallsLayersInBackward(*two), x)
    )


def test_the_spy_leaves_the_checked_model_as_it_was():
    model = Sequential(*layers())
    x = np.random.default_rng(4).standard_normal((2, 3))
    before = [p.data.copy() for p in model.parameters()]
    sequential_hint(ZeroesTheGradients(*model.layers), x)
    assert all(type(layer).forward is layer.forward.__func__ for layer in model.layers)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters(), strict=True))


def test_a_backward_that_does_not_pass_each_result_on_is_located():
    x = np.random.default_rng(6).standard_normal((3, 3))
    square = [nn.Linear(3, 3, rng=0), nn.Tanh()]  # shapes that chain: the values are wrong
    assert "gives module 0's backward something else than what module 1's backward returned" in (
        sequential_hint(MultipliesTheResults(*square), x)
    )
    assert "crashed in its own code after module 2's backward returned (an array of shape " in (
        sequential_hint(MultipliesTheResults(*layers()), x)
    )


def test_a_backward_that_runs_no_module_is_named():
    x = np.random.default_rng(7).standard_normal((3, 3))
    square = [nn.Linear(3, 3, rng=0), nn.Tanh()]
    assert "backward runs no module's backward" in sequential_hint(NeverRunsItsLoop(*square), x)


def test_results_all_dropped_are_left_to_the_checks_own_hint():
    x = np.random.default_rng(8).standard_normal((3, 3))
    square = [nn.Linear(3, 3, rng=0), nn.Tanh()]
    assert sequential_hint(ReturnsWithoutTheLoop(*square), x) is None
    with pytest.raises(GradientCheckError) as failure:
        check_sequential(ReturnsWithoutTheLoop(*square), x)
    assert "the result of each module's backward is dropped" in str(failure.value)


def test_a_module_run_twice_in_forward_is_named():
    x = np.random.default_rng(9).standard_normal((2, 3))
    square = [nn.Linear(3, 3, rng=0), nn.Tanh()]  # shapes that chain: the values are wrong
    assert "forward runs module 0 more than once in one pass" in (
        sequential_hint(RunsTheFirstLayerTwice(*square), x)
    )
    crashed = sequential_hint(RunsTheFirstLayerTwice(*layers()), x)  # stops at the second call
    assert "forward runs module 0 more than once" in crashed and "the order [0, 0]" in crashed


class SkipsModulesThatNeedNoInputGradient(Sequential):
    def backward(self, grad_output):
        for layer in reversed(self.layers):
            if layer.needs_input_grad:
                grad_output = layer.backward(grad_output)
        return grad_output


class SkipsTheFirstModule(Sequential):
    def backward(self, grad_output):
        for index in range(len(self.layers) - 1, 0, -1):
            grad_output = self.layers[index].backward(grad_output)
        return grad_output


def test_a_backward_skipped_when_the_input_is_data_is_named():
    from pancake.testing.sequential import check_as_data

    x = np.random.default_rng(0).standard_normal((5, 3))
    check_as_data(Sequential(*layers()), x)
    check_sequential(SkipsModulesThatNeedNoInputGradient(*layers()), x)  # the flag is True
    with pytest.raises(AssertionError) as failure:
        check_as_data(SkipsModulesThatNeedNoInputGradient(*layers()), x)
    message = str(failure.value)
    assert "the gradient of '0.weight', '0.bias' differs" in message
    assert (
        "backward skips module 0's backward (Linear(3 -> 4)), which it runs when the flag is True"
        in message
    )


def test_a_module_skipped_whatever_the_flag_is_not_blamed_on_the_flag():
    from pancake.testing.sequential import needs_input_grad_hint

    x = np.random.default_rng(0).standard_normal((5, 3))
    model = SkipsTheFirstModule(*layers())
    model.needs_input_grad = False
    assert needs_input_grad_hint(model, x) is None
    reference = Sequential(*layers())
    reference.needs_input_grad = False
    assert needs_input_grad_hint(reference, x) is None


class LinearWithItsParameterGradientsAfterTheReturn(nn.Linear):
    def backward(self, grad_output):
        grad_output = self.check_grad_output(grad_output)
        (x,) = self.saved_tensors
        if not self.needs_input_grad:
            return None
        self.weight.grad += x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


def test_a_layer_that_skips_its_parameter_gradients_when_its_input_is_data_is_named():
    from pancake.testing.sequential import check_as_data

    x = np.random.default_rng(0).standard_normal((5, 3))
    check_as_data(nn.Linear(3, 2, rng=0), x)
    with pytest.raises(AssertionError) as failure:
        check_as_data(LinearWithItsParameterGradientsAfterTheReturn(3, 2, rng=0), x)
    assert "the gradient of 'weight', 'bias' differs" in str(failure.value)
    assert "Hint: a layer whose input is data still computes the gradients of its parameters" in (
        str(failure.value)
    )
