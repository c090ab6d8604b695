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
from pancake.nn.conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from pancake.nn.linear import Linear
from pancake.nn.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from pancake.nn.module import Module, Parameter
from pancake.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from pancake.nn.regularization import Dropout
from pancake.ops import log_softmax, sigmoid, softmax

__all__ = [
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "Mul",
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
