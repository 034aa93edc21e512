"""Activations: elementwise (softmax: over channels), no parameters but PReLU's slopes."""
from __future__ import annotations

from dataclasses import dataclass

from .args import ArgSpec, boolean, choice, number, positive_number
from .base import Elementwise, ShapeError, Traits, register

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


@register
@dataclass(frozen=True)
class ReLU6(Elementwise):
    """min(max(x, 0), 6) (MobileNetV2)."""

    kind = "relu6"
    TRAITS = _IN_PLACE
    EXAMPLE = "relu6"


@register
@dataclass(frozen=True)
class Hardtanh(Elementwise):
    """`hardtanh(min=-1, max=1)`: x clipped to [min, max]."""

    kind = "hardtanh"
    TRAITS = _IN_PLACE
    ARGS = (ArgSpec("min", number, -1.0, True), ArgSpec("max", number, 1.0, True))
    EXAMPLE = "hardtanh(-2, 2)"
    min: float = -1.0
    max: float = 1.0

    def resolve(self, inputs):
        if self.min >= self.max:
            raise ShapeError(f"hardtanh needs min < max, got min={self.min:g}, max={self.max:g}")
        return self


@register
@dataclass(frozen=True)
class SiLU(Elementwise):
    """x * sigmoid(x), also called swish (EfficientNet, RegNetY's SE-free stages in timm)."""

    kind = "silu"
    TRAITS = _IN_PLACE
    EXAMPLE = "silu"


@register
@dataclass(frozen=True)
class GELU(Elementwise):
    """`gelu(approximate=none)`: x * Phi(x), exact (erf) or `approximate=tanh`."""

    kind = "gelu"
    ARGS = (ArgSpec("approximate", choice("none", "tanh"), "none"),)
    EXAMPLE = "gelu(approximate=tanh)"
    approximate: str = "none"

    def describe(self):
        return "gelu" if self.approximate == "none" else "gelu tanh"


@register
@dataclass(frozen=True)
class Hardswish(Elementwise):
    """x * relu6(x + 3) / 6 (MobileNetV3)."""

    kind = "hardswish"
    TRAITS = _IN_PLACE
    EXAMPLE = "hardswish"


@register
@dataclass(frozen=True)
class Hardsigmoid(Elementwise):
    """relu6(x + 3) / 6 (MobileNetV3's squeeze-and-excitation gate)."""

    kind = "hardsigmoid"
    TRAITS = _IN_PLACE
    EXAMPLE = "hardsigmoid"


@register
@dataclass(frozen=True)
class Mish(Elementwise):
    """x * tanh(softplus(x))."""

    kind = "mish"
    TRAITS = _IN_PLACE
    EXAMPLE = "mish"


@register
@dataclass(frozen=True)
class Softplus(Elementwise):
    """`softplus(beta=1, threshold=20)`: log(1 + exp(beta x)) / beta, and x where beta x > threshold."""

    kind = "softplus"
    ARGS = (ArgSpec("beta", positive_number, 1.0, True), ArgSpec("threshold", positive_number, 20.0))
    EXAMPLE = "softplus(2)"
    beta: float = 1.0
    threshold: float = 20.0


@register
@dataclass(frozen=True)
class Softmax(Elementwise):
    """Softmax over channels (features for flat inputs): exp(x) / sum over C of exp(x)."""

    kind = "softmax"
    TRAITS = Traits(minor=True, fresh_output=True)
    EXAMPLE = "softmax"
    ELEMENTWISE_DOC = "3 per element (exp, sum, divide)"

    def extra_ops(self, inputs, out):
        return 3 * super().extra_ops(inputs, out)
