"""Exercise 1: central differences (the course's gradient checker) and the chain rule by hand."""

from pancake.calculus import chain_rule_gradients
from pancake.course.prelude import given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.testing import check_chain_rule, check_numerical_gradient
from pancake.testing.gradcheck import numerical_gradient

scales = st.sampled_from([0.01, 0.1, 1.0])


vectors = pst.arrays(pst.shapes(max_dims=1, max_side=8), scale=scales)


arrays = pst.arrays(pst.shapes(min_dims=0, max_dims=3, max_side=3), scale=0.1)


values = st.floats(-10, 10, allow_subnormal=False)


def visible_check_numerical_gradient():
    """The visible check under the `numerical_gradient` answer."""
    # f(x) = Σ c·x² + (Σ u·x)², whose exact gradient the check knows
    print(check_numerical_gradient(numerical_gradient, np.array([0.5, -1.0, 0.0, 2.0])))


def with_a_zero(x):
    """A copy of ``x`` whose first entry is 0 (an entry like any other)."""
    zeroed = np.array(x, dtype=np.float64)
    zeroed.flat[0] = 0.0
    return zeroed


@graded
@given(x=vectors, seed=pst.seeds())
def test_numerical_gradient_vectors(x, seed):
    """central differences on vectors of random values and lengths, and on the same with an entry 0"""
    check_numerical_gradient(numerical_gradient, x, seed=seed)
    check_numerical_gradient(numerical_gradient, with_a_zero(x), seed=seed)


@graded
@given(x=arrays, seed=pst.seeds())
def test_numerical_gradient_any_shape(x, seed):
    """central differences on arrays of 0 to 3 axes, and on the same with an entry 0"""
    check_numerical_gradient(numerical_gradient, x, seed=seed)
    check_numerical_gradient(numerical_gradient, with_a_zero(x), seed=seed)


NUMERICAL_GRADIENT = Part(
    target="pancake.testing.gradcheck.numerical_gradient",
    instructions="""
        Every later exercise is checked against **central differences**: for each entry
        $x_i$ of an array, nudge it by $\\pm\\varepsilon$ and measure how $f$ changes,

        $$\\frac{\\partial f}{\\partial x_i} \\approx \\frac{f(x + \\varepsilon e_i) - f(x - \\varepsilon e_i)}{2\\varepsilon}.$$

        Complete `numerical_gradient(f, x, eps)`, where `f` maps an array to a number:

        - fill `grad` (already of the shape of `x`) with one such quotient per entry;
        - perturb **one entry at a time**, in place, and put it back before the next one;
        - it must work for arrays of any shape: `np.ndindex(x.shape)` yields every index.

        The central difference is accurate to $O(\\varepsilon^2)$; the one-sided
        $(f(x + \\varepsilon e_i) - f(x)) / \\varepsilon$ only to $O(\\varepsilon)$, which
        is not enough to check a backward pass.
    """,
    check=visible_check_numerical_gradient,
    tests=(
        GradedTest(test_numerical_gradient_vectors, points=2),
        GradedTest(test_numerical_gradient_any_shape, points=2),
    ),
)


def visible_check_chain_rule_gradients():
    """The visible check under the `chain_rule_gradients` answer."""
    print(chain_rule_gradients(0.5, 42.0))
    print(check_chain_rule(chain_rule_gradients, 0.5, 42.0))


@graded
@given(k=values, v=values)
def test_chain_rule_gradients_values(k, v):
    """E, dE_dk and dE_dv against central differences for random k and v"""
    check_chain_rule(chain_rule_gradients, k, v)


CHAIN_RULE = Part(
    target="pancake.calculus.chain_rule_gradients",
    instructions="""
        Now the other way to get a derivative: by hand, with the **chain rule**. Take
        $E = (k \\cdot v)^2$, computed in two steps, $M = k \\cdot v$ then $E = M^2$. Then

        $$\\frac{\\partial E}{\\partial k} = \\frac{\\partial E}{\\partial M}\\frac{\\partial M}{\\partial k},
        \\qquad
        \\frac{\\partial E}{\\partial v} = \\frac{\\partial E}{\\partial M}\\frac{\\partial M}{\\partial v}.$$

        Complete `chain_rule_gradients(k, v)` so that it returns the tuple
        `(E, dE_dk, dE_dv)`. Compute $M$ once and the shared factor
        $\\partial E / \\partial M$ once, then reuse them: this is exactly what a
        backward pass does, one layer at a time.
    """,
    check=visible_check_chain_rule_gradients,
    tests=(GradedTest(test_chain_rule_gradients_values, points=3),),
)

ASSIGNMENT = Assignment(
    number=1,
    slug="chain-rule",
    title="Central differences and the chain rule",
    introduction="""
        This exercise goes with chapter 1. You will write the two ways of getting a
        derivative that the whole course rests on: **central differences**, the numerical
        estimate that `pancake.testing.check_gradients` uses to check every backward pass
        you will write, and the **chain rule**, worked by hand on $E = (k \\cdot v)^2$.
    """,
    parts=(NUMERICAL_GRADIENT, CHAIN_RULE),
)
