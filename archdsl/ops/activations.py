"""Activations: elementwise, no parameters but PReLU's slopes."""
from __future__ import annotations

from dataclasses import dataclass

from .args import ArgSpec, boolean, number
from .base import Elementwise, Traits, register

_IN_PLACE = Traits(minor=True, inplace=True)


@register
@dataclass(frozen=True)
class ReLU(Elementwise):
    """max(x, 0)."""

    kind = "relu"
    TRAITS = _IN_PLACE
    EXAMPLE = "relu"


@register
@dataclass(frozen=True)
class Sigmoid(Elementwise):
    """1 / (1 + exp(-x))."""

    kind = "sigmoid"
    EXAMPLE = "sigmoid"


@register
@dataclass(frozen=True)
class Tanh(Elementwise):
    """tanh(x)."""

    kind = "tanh"
    EXAMPLE = "tanh"


@register
@dataclass(frozen=True)
class LeakyReLU(Elementwise):
    """`leaky_relu(slope=0.01)`: x, or slope * x below zero."""

    kind = "leaky_relu"
    TRAITS = _IN_PLACE
    ARGS = (ArgSpec("slope", number, 0.01, True, "negative slope"),)
    EXAMPLE = "leaky_relu(0.2)"
    slope: float = 0.01


@register
@dataclass(frozen=True)
class ELU(Elementwise):
    """`elu(alpha=1.0)`: x, or alpha * (exp(x) - 1) below zero."""

    kind = "elu"
    ARGS = (ArgSpec("alpha", number, 1.0, True),)
    EXAMPLE = "elu(0.5)"
    alpha: float = 1.0


@register
@dataclass(frozen=True)
class PReLU(Elementwise):
    """Parametric ReLU: one learned slope, or one per channel (`per_channel=true`)."""

    kind = "prelu"
    TRAITS = Traits(minor=True, fresh_output=True)
    ARGS = (ArgSpec("per_channel", boolean, False), ArgSpec("init", number, 0.25))
    EXAMPLE = "prelu(per_channel=true)"
    PARAMS_DOC = "1, or C with per_channel"
    per_channel: bool = False
    init: float = 0.25

    def params(self, inputs):
        return inputs[0][0] if self.per_channel else 1

    def state(self, inputs):
        return (("weight", (self.params(inputs),)),)

    def initial_value(self, suffix):
        return self.init
