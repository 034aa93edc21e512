"""Single-input layers: conv, norm, activations, pooling, linear, reshaping."""
from __future__ import annotations

from dataclasses import dataclass

from .base import (
    REQUIRED,
    ArgSpec,
    Op,
    Shape,
    ShapeError,
    boolean,
    check_tiling,
    fmt,
    number,
    numel,
    padding,
    pair,
    positive_int,
    positive_number,
    probability,
    register,
    spatial,
    window_out,
)


def _kxk(k) -> str:
    return f"{k[0]}x{k[1]}" if k[0] != k[1] else f"{k[0]}x{k[0]}"


def _stride_text(s) -> str:
    return "" if s == (1, 1) else f"/{s[0]}" if s[0] == s[1] else f"/{s[0]},{s[1]}"


@register
@dataclass(frozen=True)
class Input(Op):
    """The network input; `shape` excludes the batch dimension."""

    kind = "input"
    family = "io"
    min_inputs = 0
    max_inputs = 0
    shape: Shape = (3, 224, 224)

    def infer(self, inputs):
        return self.shape

    def describe(self):
        return f"input {fmt(self.shape)}"


def _windowed_out(op, shape, ceil=False, tiling=True) -> Shape:
    c, h, w = spatial(shape, op.kind)
    top, bottom, left, right = op.padding
    if tiling:
        check_tiling(h, op.kernel[0], op.stride[0], op.padding, ceil, "height")
        check_tiling(w, op.kernel[1], op.stride[1], op.padding, ceil, "width")
    ho = window_out(h, op.kernel[0], op.stride[0], top, bottom, op.dilation[0], ceil, "height")
    wo = window_out(w, op.kernel[1], op.stride[1], left, right, op.dilation[1], ceil, "width")
    return (c, ho, wo)


@register
@dataclass(frozen=True)
class Conv(Op):
    """2-D convolution. `conv(out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=true)`."""

    kind = "conv"
    family = "conv"
    weight_layer = True
    ARGS = (
        ArgSpec("out", positive_int, REQUIRED, True, "output channels"),
        ArgSpec("kernel", pair(positive_int), REQUIRED, True, "kernel size: k or [kh, kw]"),
        ArgSpec("stride", pair(positive_int), 1, doc="s or [sh, sw]"),
        ArgSpec("padding", padding, 0, doc="p, [ph, pw] or [top, bottom, left, right]"),
        ArgSpec("dilation", pair(positive_int), 1),
        ArgSpec("groups", positive_int, 1, doc="groups; the input channels must divide by it"),
        ArgSpec("bias", boolean, True),
    )
    out: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True

    def infer(self, inputs):
        c = spatial(inputs[0], "conv")[0]
        if c % self.groups:
            raise ShapeError(f"conv groups={self.groups} does not divide the {c} input channels")
        if self.out % self.groups:
            raise ShapeError(f"conv groups={self.groups} does not divide the {self.out} output channels")
        _, ho, wo = _windowed_out(self, inputs[0])
        return (self.out, ho, wo)

    def params(self, inputs):
        cin = inputs[0][0]
        return self.out * (cin // self.groups) * self.kernel[0] * self.kernel[1] + (self.out if self.bias else 0)

    def macs(self, inputs, out):
        cin = inputs[0][0]
        return out[1] * out[2] * self.out * (cin // self.groups) * self.kernel[0] * self.kernel[1]

    def state(self, inputs):
        weight = ("weight", (self.out, inputs[0][0] // self.groups) + self.kernel)
        return (weight, ("bias", (self.out,))) if self.bias else (weight,)

    def extra_ops(self, inputs, out):
        return numel(out) if self.bias else 0

    def describe(self):
        text = f"conv {_kxk(self.kernel)}{_stride_text(self.stride)}, {self.out}"
        if self.groups > 1:
            text += f", g{self.groups}"
        if self.dilation != (1, 1):
            text += f", d{self.dilation[0]}"
        return text


@register
@dataclass(frozen=True)
class BatchNorm(Op):
    """Batch normalisation over channels. `bn(eps=1e-5, momentum=0.1, affine=true)`."""

    kind = "bn"
    family = "norm"
    ARGS = (
        ArgSpec("eps", positive_number, 1e-5),
        ArgSpec("momentum", probability, 0.1),
        ArgSpec("affine", boolean, True),
    )
    eps: float = 1e-5
    momentum: float = 0.1
    affine: bool = True

    def infer(self, inputs):
        if len(inputs[0]) not in (1, 3):
            raise ShapeError(f"bn needs CxHxW or C features, got {fmt(inputs[0])}")
        return inputs[0]

    def params(self, inputs):
        return 2 * inputs[0][0] if self.affine else 0

    def state(self, inputs):
        c = (inputs[0][0],)
        stats = (("running_mean", c), ("running_var", c), ("num_batches_tracked", ()))
        return ((("weight", c), ("bias", c)) if self.affine else ()) + stats

    def extra_ops(self, inputs, out):
        return 2 * numel(out)

    def describe(self):
        return "bn" if self.eps == 1e-5 else f"bn eps={self.eps:g}"


@dataclass(frozen=True)
class _Activation(Op):
    family = "act"

    def extra_ops(self, inputs, out):
        return numel(out)


@register
@dataclass(frozen=True)
class ReLU(_Activation):
    kind = "relu"


@register
@dataclass(frozen=True)
class Sigmoid(_Activation):
    kind = "sigmoid"


@register
@dataclass(frozen=True)
class Tanh(_Activation):
    kind = "tanh"


@register
@dataclass(frozen=True)
class LeakyReLU(_Activation):
    kind = "leaky_relu"
    ARGS = (ArgSpec("slope", number, 0.01, True, "negative slope"),)
    slope: float = 0.01


@register
@dataclass(frozen=True)
class ELU(_Activation):
    kind = "elu"
    ARGS = (ArgSpec("alpha", number, 1.0, True),)
    alpha: float = 1.0


@register
@dataclass(frozen=True)
class PReLU(_Activation):
    """Parametric ReLU: one learned slope, or one per channel (`per_channel=true`)."""

    kind = "prelu"
    ARGS = (ArgSpec("per_channel", boolean, False), ArgSpec("init", number, 0.25))
    per_channel: bool = False
    init: float = 0.25

    def params(self, inputs):
        return inputs[0][0] if self.per_channel else 1

    def state(self, inputs):
        return (("weight", (self.params(inputs),)),)


def _pool_args(with_pad_mode: bool):
    args = (
        ArgSpec("kernel", pair(positive_int), REQUIRED, True),
        ArgSpec("stride", pair(positive_int), None, True, "defaults to the kernel"),
        ArgSpec("padding", padding, 0),
        ArgSpec("ceil", boolean, False, doc="ceil_mode rounding"),
    )
    if with_pad_mode:
        args += (ArgSpec("count_include_pad", boolean, True),)
    else:
        args += (ArgSpec("dilation", pair(positive_int), 1),)
    return args


@dataclass(frozen=True)
class _Pool(Op):
    family = "pool"
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    ceil: bool = False

    def __post_init__(self):
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel)

    def infer(self, inputs):
        top, bottom, left, right = self.padding
        for pad, k in ((top, self.kernel[0]), (bottom, self.kernel[0]), (left, self.kernel[1]), (right, self.kernel[1])):
            if pad > k // 2:
                raise ShapeError(f"{self.kind} padding {pad} must be at most half the kernel ({k})")
        return _windowed_out(self, inputs[0], self.ceil)

    def extra_ops(self, inputs, out):
        return numel(out) * self.kernel[0] * self.kernel[1]

    def describe(self):
        return f"{self.kind} {_kxk(self.kernel)}{_stride_text(self.stride)}" + (" ceil" if self.ceil else "")


@register
@dataclass(frozen=True)
class MaxPool(_Pool):
    """`maxpool(kernel, stride=kernel, padding=0, ceil=false, dilation=1)`."""

    kind = "maxpool"
    ARGS = _pool_args(False)
    dilation: tuple[int, int] = (1, 1)


@register
@dataclass(frozen=True)
class AvgPool(_Pool):
    """`avgpool(kernel, stride=kernel, padding=0, ceil=false, count_include_pad=true)`."""

    kind = "avgpool"
    ARGS = _pool_args(True)
    count_include_pad: bool = True

    @property
    def dilation(self):
        return (1, 1)


@dataclass(frozen=True)
class _AdaptivePool(Op):
    """Pool to a fixed grid whatever the input size: `adaptive_avgpool(7)` gives Cx7x7."""

    family = "pool"
    ARGS = (ArgSpec("size", pair(positive_int), REQUIRED, True),)
    size: tuple[int, int] = (1, 1)

    def infer(self, inputs):
        c, _, _ = spatial(inputs[0], self.kind)
        return (c, self.size[0], self.size[1])

    def extra_ops(self, inputs, out):
        return numel(inputs[0])

    def describe(self):
        return f"{self.kind.replace('_', ' ')} {_kxk(self.size)}"


@register
@dataclass(frozen=True)
class AdaptiveAvgPool(_AdaptivePool):
    kind = "adaptive_avgpool"


@register
@dataclass(frozen=True)
class AdaptiveMaxPool(_AdaptivePool):
    kind = "adaptive_maxpool"


@register
@dataclass(frozen=True)
class GlobalAvgPool(Op):
    """Global average pooling: CxHxW -> Cx1x1 (torch: AdaptiveAvgPool2d(1))."""

    kind = "gap"
    family = "pool"

    def infer(self, inputs):
        c, _, _ = spatial(inputs[0], "gap")
        return (c, 1, 1)

    def extra_ops(self, inputs, out):
        return numel(inputs[0])

    def describe(self):
        return "global avgpool"


@register
@dataclass(frozen=True)
class Flatten(Op):
    kind = "flatten"
    family = "shape"

    def infer(self, inputs):
        return (numel(inputs[0]),)


@register
@dataclass(frozen=True)
class Linear(Op):
    """Fully connected layer over flat features: `linear(out, bias=true)`."""

    kind = "linear"
    family = "linear"
    weight_layer = True
    ARGS = (ArgSpec("out", positive_int, REQUIRED, True), ArgSpec("bias", boolean, True))
    out: int
    bias: bool = True

    def infer(self, inputs):
        if len(inputs[0]) != 1:
            raise ShapeError(f"linear needs flat features, got {fmt(inputs[0])} (add `flatten` before it)")
        return (self.out,)

    def params(self, inputs):
        return inputs[0][0] * self.out + (self.out if self.bias else 0)

    def macs(self, inputs, out):
        return inputs[0][0] * self.out

    def state(self, inputs):
        weight = ("weight", (self.out, inputs[0][0]))
        return (weight, ("bias", (self.out,))) if self.bias else (weight,)

    def extra_ops(self, inputs, out):
        return self.out if self.bias else 0

    def describe(self):
        return f"linear {self.out}"


@register
@dataclass(frozen=True)
class Dropout(Op):
    """Dropout with probability p in training; identity in eval."""

    kind = "dropout"
    family = "reg"
    ARGS = (ArgSpec("p", probability, 0.5, True),)
    p: float = 0.5

    def describe(self):
        return f"dropout {self.p:g}"


@register
@dataclass(frozen=True)
class Identity(Op):
    kind = "identity"
    family = "shape"


@register
@dataclass(frozen=True)
class Scale(Op):
    """Multiply by a constant: `scale(0.17)` (Inception-ResNet's residual scaling)."""

    kind = "scale"
    family = "merge"
    ARGS = (ArgSpec("factor", number, REQUIRED, True),)
    factor: float = 1.0

    def extra_ops(self, inputs, out):
        return numel(out)

    def describe(self):
        return f"scale {self.factor:g}"


@register
@dataclass(frozen=True)
class ZeroPadShortcut(Op):
    """ResNet "option A" shortcut: subsample by `stride`, then zero-pad channels to `out`.

    The new channels are split evenly before and after the input's, as in the
    common CIFAR implementation: F.pad(x[:, :, ::s, ::s], (0,0, 0,0, p, p)).
    """

    kind = "zeropad"
    family = "shortcut"
    ARGS = (ArgSpec("out", positive_int, REQUIRED, True), ArgSpec("stride", positive_int, 1))
    out: int
    stride: int = 1

    def infer(self, inputs):
        c, h, w = spatial(inputs[0], "zeropad shortcut")
        if self.out < c or (self.out - c) % 2:
            raise ShapeError(
                f"a zero-pad shortcut goes from {c} to {self.out} channels; it needs an even, non-negative increase"
            )
        return (self.out, -(-h // self.stride), -(-w // self.stride))  # x[:, :, ::s, ::s]

    def describe(self):
        return f"zero-pad shortcut /{self.stride}, {self.out}" if self.stride > 1 else f"zero-pad shortcut, {self.out}"

