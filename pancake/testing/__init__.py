"""Tools that check code against its documented mathematics, one module per subject.

Every check is importable from here (``from pancake.testing import check_optimizer``):

- ``gradcheck``: central differences and ``check_gradients`` for modules and losses;
- ``tensors``: ``check_tensor_gradients`` for functions of autograd Tensors;
- ``values``: ``check_values``, a result against a formula;
- ``calculus``: checks of central differences and of the chain rule (chapter 1);
- ``optimizers``: ``check_optimizer``, step for step against recorded steps of PyTorch's
  algorithms (``recorded_settings``: the settings recorded);
- ``data``: ``check_data_loader``; ``training``: ``check_train_one_epoch``;
- ``autograd``: ``unbroadcast`` and the backward passes of Functions;
- ``stax``: stax layers and ``serial``;
- ``strategies``: hypothesis strategies for well-conditioned inputs.
"""

from pancake.testing import strategies
from pancake.testing.autograd import (
    check_function_gradients,
    check_second_derivatives,
    check_unbroadcast,
)
from pancake.testing.calculus import check_chain_rule, check_numerical_gradient
from pancake.testing.data import check_data_loader
from pancake.testing.gradcheck import (
    GradientCheckError,
    GradientReport,
    check_gradients,
    diagnose,
    numerical_gradient,
)
from pancake.testing.optimizers import check_optimizer, recorded_settings
from pancake.testing.reports import PropertyReport
from pancake.testing.stax import check_serial, check_stax_layer
from pancake.testing.tensors import check_tensor_gradients
from pancake.testing.training import check_train_one_epoch
from pancake.testing.values import check_values

__all__ = [
    "GradientCheckError",
    "GradientReport",
    "PropertyReport",
    "check_chain_rule",
    "check_data_loader",
    "check_function_gradients",
    "check_second_derivatives",
    "check_gradients",
    "check_numerical_gradient",
    "check_optimizer",
    "check_serial",
    "check_stax_layer",
    "check_tensor_gradients",
    "check_train_one_epoch",
    "check_unbroadcast",
    "check_values",
    "diagnose",
    "numerical_gradient",
    "recorded_settings",
    "strategies",
]
