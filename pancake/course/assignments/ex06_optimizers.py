"""Exercise 6: the optimizers, SGD with momentum and Adam, step for step as in PyTorch."""

from pancake.course.prelude import given, graded, st
from pancake.course.spec import Assignment, GradedTest, Part, clean
from pancake.optim import SGD, Adam
from pancake.testing import check_optimizer, recorded_settings

STATE = clean(
    """
    `self.params_with_grad()` yields each parameter with its **state**, a dict kept
    between steps (empty at the first step): store there what the update rule remembers.
    Update `param.data` **in place** (`param.data -= ...`: layers hold references to that
    array) and leave `param.grad` as it is (compute new arrays: `grad = grad + ...`).
    `check_optimizer` runs your optimizer on random parameters and gradients and compares
    every step with PyTorch's documented algorithm (steps recorded from a reference: each
    step starts from the recorded parameters, so one wrong step never spoils the next).
    """
)


def visible_check_sgd():
    """The visible check under the `SGD` answer."""
    print(check_optimizer(SGD, lr=0.1))
    print(check_optimizer(SGD, lr=0.1, momentum=0.9, dampening=0.1))


@graded
@given(settings=st.sampled_from(recorded_settings("sgd-plain")))
def test_sgd_plain(settings):
    """check_optimizer without momentum, for random learning rates"""
    check_optimizer(SGD, **settings)


@graded
@given(settings=st.sampled_from(recorded_settings("sgd-momentum")))
def test_sgd_momentum(settings):
    """check_optimizer with random momentum and dampening"""
    check_optimizer(SGD, **settings)


@graded
@given(settings=st.sampled_from(recorded_settings("sgd-nesterov")))
def test_sgd_nesterov(settings):
    """check_optimizer with Nesterov momentum"""
    check_optimizer(SGD, **settings)


@graded
@given(settings=st.sampled_from(recorded_settings("sgd-weight-decay")))
def test_sgd_weight_decay(settings):
    """check_optimizer with weight decay, with and without momentum"""
    check_optimizer(SGD, **settings)


SGD_PART = Part(
    target="pancake.optim.SGD",
    instructions=clean(
        """
        `SGD(params, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0)` follows
        `torch.optim.SGD`. For each parameter $\\theta$ with gradient $g$, `step()` does:

        1. $g \\leftarrow g + \\lambda\\theta$ (weight decay $\\lambda$, when it is not 0);
        2. if the momentum $\\mu$ is not 0: the buffer $b \\leftarrow g$ at the first step,
           $b \\leftarrow \\mu b + (1 - \\tau) g$ afterwards ($\\tau$ is the dampening);
           then $g \\leftarrow g + \\mu b$ with Nesterov, $g \\leftarrow b$ without;
        3. $\\theta \\leftarrow \\theta - \\mathrm{lr} \\cdot g$.
        """
    )
    + "\n\n"
    + STATE,
    check=visible_check_sgd,
    tests=(
        GradedTest(test_sgd_plain, points=1),
        GradedTest(test_sgd_momentum, points=2),
        GradedTest(test_sgd_nesterov, points=1),
        GradedTest(test_sgd_weight_decay, points=1),
    ),
)


def visible_check_adam():
    """The visible check under the `Adam` answer."""
    print(check_optimizer(Adam, lr=0.01))


@graded
@given(settings=st.sampled_from(recorded_settings("adam-default")))
def test_adam_default(settings):
    """check_optimizer with random learning rates"""
    check_optimizer(Adam, **settings)


@graded
@given(settings=st.sampled_from(recorded_settings("adam-betas")))
def test_adam_betas(settings):
    """check_optimizer with random betas and eps"""
    check_optimizer(Adam, **settings)


@graded
@given(settings=st.sampled_from(recorded_settings("adam-weight-decay")))
def test_adam_weight_decay(settings):
    """check_optimizer with weight decay added to the gradient"""
    check_optimizer(Adam, **settings)


@graded
@given(settings=st.sampled_from(recorded_settings("adam-decoupled")))
def test_adam_decoupled(settings):
    """check_optimizer with decoupled weight decay (AdamW)"""
    check_optimizer(Adam, **settings)


ADAM = Part(
    target="pancake.optim.Adam",
    instructions=clean(
        """
        `Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
        decoupled_weight_decay=False)` follows `torch.optim.Adam`. For each parameter
        $\\theta$ with gradient $g$, `step()` does:

        1. weight decay $\\lambda$: $g \\leftarrow g + \\lambda\\theta$; or, when it is
           decoupled (that is AdamW), $\\theta \\leftarrow \\theta (1 - \\mathrm{lr}\\,\\lambda)$;
        2. count the step, $t \\leftarrow t + 1$ (so $t = 1$ at the first step), and update
           the running means $m \\leftarrow \\beta_1 m + (1 - \\beta_1) g$ and
           $v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2$, both starting at 0;
        3. correct their bias towards 0: $\\hat m = m / (1 - \\beta_1^t)$,
           $\\hat v = v / (1 - \\beta_2^t)$;
        4. $\\theta \\leftarrow \\theta - \\mathrm{lr} \\cdot \\hat m / (\\sqrt{\\hat v} + \\varepsilon)$.
        """
    )
    + "\n\n"
    + STATE,
    check=visible_check_adam,
    tests=(
        GradedTest(test_adam_default, points=2),
        GradedTest(test_adam_betas, points=1),
        GradedTest(test_adam_weight_decay, points=1),
        GradedTest(test_adam_decoupled, points=1),
    ),
)

ASSIGNMENT = Assignment(
    number=6,
    slug="optimizers",
    title="Optimizers: SGD with momentum, and Adam",
    introduction="""
        This exercise goes with chapter 6. An optimizer turns the gradients that backward
        left in `param.grad` into a change of the parameters. Both optimizers here follow
        PyTorch's documented algorithms step for step, so that a model trains with pancake
        as it would with `torch.optim`.
    """,
    parts=(SGD_PART, ADAM),
)
