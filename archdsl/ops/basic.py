"""The input, reshaping, fully connected layers, regularisers and option A's shortcut."""
from __future__ import annotations

from dataclasses import dataclass

from .args import REQUIRED, ArgSpec, boolean, choice, number, positive_int, probability
from .base import Op, Shape, ShapeError, Traits, fmt, numel, register
from .windows import spatial


@register
@dataclass(frozen=True)
class Input(Op):
    """The network input; `shape` excludes the batch dimension. Made by `input 3x224x224`, not called."""

    kind = "input"
    family = "io"
    TRAITS = Traits(source=True)
    min_inputs = 0
    max_inputs = 0
    shape: Shape = (3, 224, 224)

    def infer(self, inputs):
        return self.shape

    def describe(self):
        return f"input {fmt(self.shape)}"


@register
@dataclass(frozen=True)
class Flatten(Op):
    """CxHxW -> C·H·W features."""

    kind = "flatten"
    family = "shape"
    TRAITS = Traits(minor=True)
    EXAMPLE = "flatten"

    def infer(self, inputs):
        return (numel(inputs[0]),)


@register
@dataclass(frozen=True)
class Linear(Op):
    """Fully connected layer: `linear(out, bias=true, over=features)`.

    Over flat features; `over=last`, as torch's nn.Linear, over the last axis of any
    input: the C of a channels-last HxWxC map that `permute([0, 2, 3, 1])` made (ConvNeXt).
    """

    kind = "linear"
    family = "linear"
    TRAITS = Traits(weight_layer=True, fresh_output=True)
    ARGS = (ArgSpec("out", positive_int, REQUIRED, True), ArgSpec("bias", boolean, True),
            ArgSpec("over", choice("features", "last"), "features", doc="last: the last axis of any input"))
    EXAMPLE = "linear(5)"
    EXAMPLE_INPUT = (12,)
    PARAMS_DOC = "in·out (+out)"
    ELEMENTWISE_DOC = "1 per output with a bias"
    out: int
    bias: bool = True
    over: str = "features"

    def infer(self, inputs):
        if self.over == "features" and len(inputs[0]) != 1:
            raise ShapeError(f"linear needs flat features, got {fmt(inputs[0])} (add `flatten` before it; "
                             "over=last applies it to the last axis of a channels-last map)")
        return inputs[0][:-1] + (self.out,)

    def params(self, inputs):
        return inputs[0][-1] * self.out + (self.out if self.bias else 0)

    def macs(self, inputs, out):
        return numel(inputs[0]) * self.out

    def state(self, inputs):
        weight = ("weight", (self.out, inputs[0][-1]))
        return (weight, ("bias", (self.out,))) if self.bias else (weight,)

    def extra_ops(self, inputs, out):
        return numel(out) if self.bias else 0

    def describe(self):
        return f"linear {self.out}"


@register
@dataclass(frozen=True)
class Dropout(Op):
    """`dropout(p=0.5)`: zeroes elements with probability p and scales by 1/(1-p) in training; identity in eval."""

    kind = "dropout"
    family = "reg"
    TRAITS = Traits(eval_identity=True, scales_input=True, minor=True)
    ARGS = (ArgSpec("p", probability, 0.5, True),)
    EXAMPLE = "dropout(0.3)"
    p: float = 0.5

    def describe(self):
        return f"dropout {self.p:g}"


@register
@dataclass(frozen=True)
class Identity(Op):
    """The input, unchanged (an explicit identity branch)."""

    kind = "identity"
    family = "shape"
    TRAITS = Traits(eval_identity=True, scales_input=True, minor=True)
    EXAMPLE = "identity"


@register
@dataclass(frozen=True)
class Scale(Op):
    """Multiply by a constant: `scale(0.17)` (Inception-ResNet's residual scaling)."""

    kind = "scale"
    family = "merge"
    TRAITS = Traits(scales_input=True, fresh_output=True)
    ARGS = (ArgSpec("factor", number, REQUIRED, True),)
    EXAMPLE = "scale(0.5)"
    ELEMENTWISE_DOC = "1 per element"
    factor: float = 1.0

    def extra_ops(self, inputs, out):
        return numel(out)

    def describe(self):
        return f"scale {self.factor:g}"


@register
@dataclass(frozen=True)
class ZeroPadShortcut(Op):
    """ResNet "option A" shortcut: `zeropad(out, stride=1, place=split, subsample=stride)`.

    Subsamples by `stride` (`x[:, :, ::s, ::s]`, or `subsample=avgpool`: a 2x2-style
    average pool with ceil mode, PyramidNet's) and zero-pads the channels to `out`:
    split evenly before and after the input's (`place=split`, the common CIFAR
    implementation: F.pad(x[:, :, ::s, ::s], (0,0, 0,0, p, p))), or all after them
    (`place=end`, PyramidNet's, any increase).
    """

    kind = "zeropad"
    family = "shortcut"
    TRAITS = Traits(shortcut=True)
    ARGS = (ArgSpec("out", positive_int, REQUIRED, True), ArgSpec("stride", positive_int, 1),
            ArgSpec("place", choice("split", "end"), "split", doc="where the zero channels go"),
            ArgSpec("subsample", choice("stride", "avgpool"), "stride", doc="how a stride subsamples"))
    EXAMPLE = "zeropad(7, stride=2, place=end, subsample=avgpool)"
    out: int
    stride: int = 1
    place: str = "split"
    subsample: str = "stride"

    def infer(self, inputs):
        c, h, w = spatial(inputs[0], "zeropad shortcut")
        if self.out < c or (self.place == "split" and (self.out - c) % 2):
            raise ShapeError(f"a zero-pad shortcut goes from {c} to {self.out} channels; it needs a non-negative "
                             f"increase{', and an even one to split it (place=end pads after)' if self.out >= c else ''}")
        return (self.out, -(-h // self.stride), -(-w // self.stride))  # x[:, :, ::s, ::s], or ceil-mode pooling

    def extra_ops(self, inputs, out):
        return numel((inputs[0][0],) + out[1:]) if self.subsample == "avgpool" and self.stride > 1 else 0

    def describe(self):
        text = f"zero-pad shortcut /{self.stride}, {self.out}" if self.stride > 1 else f"zero-pad shortcut, {self.out}"
        return text + (" (pool)" if self.subsample == "avgpool" and self.stride > 1 else "")


def _dims(v) -> tuple[int, ...]:
    if not isinstance(v, tuple) or sorted(v) != list(range(len(v))) or not all(isinstance(d, int) for d in v):
        raise ValueError(f"expected a permutation of 0..n-1 such as [0, 2, 3, 1], got {v!r}")
    if v[0] != 0:
        raise ValueError("the batch dimension (0) must stay first")
    return v


@register
@dataclass(frozen=True)
class Permute(Op):
    """`permute([0, 2, 3, 1])`: reorder the dimensions, batch (0) included and kept first (torchvision's Permute).

    ConvNeXt's blocks go channels-last for a LayerNorm and two linear layers, and back.
    """

    kind = "permute"
    family = "shape"
    TRAITS = Traits(minor=True)
    ARGS = (ArgSpec("dims", _dims, REQUIRED, True, "the new order, batch included"),)
    EXAMPLE = "permute([0, 2, 3, 1])"
    dims: tuple[int, ...] = (0, 1, 2, 3)

    def infer(self, inputs):
        if len(self.dims) != len(inputs[0]) + 1:
            raise ShapeError(f"permute({list(self.dims)}) needs a {len(self.dims) - 1}-d input, got {fmt(inputs[0])}")
        full = (0,) + inputs[0]
        return tuple(full[d] for d in self.dims[1:])

    def describe(self):
        return f"permute {list(self.dims)}"


@register
@dataclass(frozen=True)
class LayerScale(Op):
    """`layer_scale(init=1e-6)`: a learned per-channel factor γ of a CxHxW map or C features (CaiT, ConvNeXt).

    Its parameter belongs to the enclosing container and is named after the item: torchvision's
    ConvNeXt `features.1.0.layer_scale`, shape Cx1x1 (C for features).
    """

    kind = "layer_scale"
    family = "reg"
    TRAITS = Traits(fresh_output=True, minor=True)
    ARGS = (ArgSpec("init", number, 1e-6, True, "the starting value of every γ"),)
    EXAMPLE = "layer_scale(0.1)"
    PARAMS_DOC = "C"
    ELEMENTWISE_DOC = "1 per element"
    INIT_JITTER = 0.5
    init: float = 1e-6

    def infer(self, inputs):
        if len(inputs[0]) not in (1, 3):
            raise ShapeError(f"layer_scale needs CxHxW or C features, got {fmt(inputs[0])}")
        return inputs[0]

    def params(self, inputs):
        return inputs[0][0]

    def state(self, inputs):
        return (("", (inputs[0][0],) + (1,) * (len(inputs[0]) - 1)),)

    def initial_value(self, suffix):
        return self.init

    def extra_ops(self, inputs, out):
        return numel(out)
