"""Tools that check gradients: central differences, ``check_gradients``, hypothesis strategies."""

from pancake.testing import strategies
from pancake.testing.gradcheck import (
    GradientCheckError,
    GradientReport,
    check_gradients,
    diagnose,
    numerical_gradient,
)

__all__ = [
    "GradientCheckError",
    "GradientReport",
    "check_gradients",
    "diagnose",
    "numerical_gradient",
    "strategies",
]
