"""Tools that check gradients: central differences, ``check_gradients``, hypothesis strategies."""

from pancake.testing import strategies
from pancake.testing.gradcheck import (
    GradientCheckError,
    GradientReport,
    check_gradients,
    diagnose,
    numerical_gradient,
)
from pancake.testing.properties import PropertyReport, check_data_loader, check_optimizer
from pancake.testing.tensors import check_tensor_gradients

__all__ = [
    "GradientCheckError",
    "GradientReport",
    "PropertyReport",
    "check_data_loader",
    "check_gradients",
    "check_tensor_gradients",
    "diagnose",
    "check_optimizer",
    "numerical_gradient",
    "strategies",
]
