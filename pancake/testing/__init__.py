"""Tools that check gradients: central differences, ``check_gradients``, hypothesis strategies."""

from pancake.testing import strategies
from pancake.testing.gradcheck import (
    GradientCheckError,
    GradientReport,
    check_gradients,
    numerical_gradient,
)

__all__ = [
    "GradientCheckError",
    "GradientReport",
    "check_gradients",
    "numerical_gradient",
    "strategies",
]
