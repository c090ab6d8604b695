"""Layers, containers and losses: ``from pancake.nn import Linear, ReLU, Sequential``."""

from pancake.nn.activations import (
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from pancake.nn.basic import Mul, Square
from pancake.nn.containers import Residual, Sequential
from pancake.nn.linear import Linear
from pancake.nn.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from pancake.nn.module import Module, Parameter
from pancake.nn.regularization import Dropout
from pancake.ops import log_softmax, sigmoid, softmax

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "Mul",
    "Module",
    "Parameter",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Square",
    "Tanh",
    "log_softmax",
    "sigmoid",
    "softmax",
]
