"""Convolutions: `conv`, and `dwconv`, a conv whose groups and width follow its input.

    dwconv(3, padding=1)          on 728x19x19  ->  conv 3x3, 728 out, groups=728
    dwconv(3, multiplier=2)       on  32x56x56  ->  conv 3x3,  64 out, groups=32

The spec never writes a depthwise conv's input width: `resolve` turns the op
into a plain `conv` as soon as the input shape is known, so the IR, every
analysis and every backend only ever see `conv`. A depthwise-separable conv
(Xception, MobileNet) is `dwconv` then a 1x1 `conv`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .args import MAX_DIM, REQUIRED, ArgSpec, boolean, nonneg_int, padding, pair, positive_int
from .base import Op, ShapeError, Traits, numel, register
from .windows import kxk, spatial, stride_text, windowed_out

CONV_TRAITS = Traits(weight_layer=True, takes_fold=True, fresh_output=True)
WINDOW_ARGS = (  # the sliding-window arguments both convs take
    ArgSpec("stride", pair(positive_int), 1, doc="s or [sh, sw]"),
    ArgSpec("padding", padding, 0, doc="p, [ph, pw] or [top, bottom, left, right]"),
    ArgSpec("dilation", pair(positive_int), 1),
)
KERNEL = ArgSpec("kernel", pair(positive_int), REQUIRED, True, "kernel size: k or [kh, kw]")


@register
@dataclass(frozen=True)
class Conv(Op):
    """2-D convolution. `conv(out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=true)`."""

    kind = "conv"
    family = "conv"
    TRAITS = CONV_TRAITS
    ARGS = (
        ArgSpec("out", positive_int, REQUIRED, True, "output channels"),
        KERNEL,
        *WINDOW_ARGS,
        ArgSpec("groups", positive_int, 1, doc="the input channels must divide by it"),
        ArgSpec("bias", boolean, True),
    )
    EXAMPLE = "conv(6, 3, stride=2, padding=1, groups=2, bias=false)"
    PARAMS_DOC = "out·(in/groups)·kh·kw (+out)"
    ELEMENTWISE_DOC = "1 per output element with a bias"
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
        _, ho, wo = windowed_out(self, inputs[0])
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
        text = f"conv {kxk(self.kernel)}{stride_text(self.stride)}, {self.out}"
        if self.groups > 1:
            text += f", g{self.groups}"
        if self.dilation != (1, 1):
            text += f", d{self.dilation[0]}"
        return text


@register
@dataclass(frozen=True)
class DepthwiseConv(Op):
    """Depthwise conv: `dwconv(kernel, stride=1, padding=0, dilation=1, multiplier=1, bias=true)`; becomes a `conv`."""

    kind = "dwconv"
    family = "conv"
    TRAITS = CONV_TRAITS
    ARGS = (
        KERNEL,
        *WINDOW_ARGS,
        ArgSpec("multiplier", positive_int, 1, doc="output channels per input channel"),
        ArgSpec("bias", boolean, True),
    )
    EXAMPLE = "dwconv(3, padding=1, multiplier=2)"
    PARAMS_DOC = "out·kh·kw (+out), out = in·multiplier"
    ELEMENTWISE_DOC = "as conv"
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    multiplier: int = 1
    bias: bool = True

    def resolve(self, inputs):
        channels = spatial(inputs[0], "dwconv")[0]
        out = channels * self.multiplier
        if out > MAX_DIM:
            raise ShapeError(f"dwconv multiplier {self.multiplier} gives {out:,} channels, absurdly many")
        return Conv(out=out, kernel=self.kernel, stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=channels, bias=self.bias)

    # Unresolved use (a pass that builds ops by hand) behaves like the resolved conv.
    def infer(self, inputs):
        return self.resolve(inputs).infer(inputs)

    def params(self, inputs):
        return self.resolve(inputs).params(inputs)

    def macs(self, inputs, out):
        return self.resolve(inputs).macs(inputs, out)

    def state(self, inputs):
        return self.resolve(inputs).state(inputs)

    def extra_ops(self, inputs, out):
        return self.resolve(inputs).extra_ops(inputs, out)

    def describe(self):
        k = self.kernel
        text = f"dwconv {k[0]}x{k[1]}" + ("" if self.stride == (1, 1) else f"/{self.stride[0]}")
        return text + (f", x{self.multiplier}" if self.multiplier > 1 else "")


@register
@dataclass(frozen=True)
class ConvTranspose(Op):
    """Transposed convolution (U-Net's up-convolution, FCN's learned upsampling).

    `convt(out, kernel, stride=1, padding=0, output_padding=0, groups=1, dilation=1, bias=true)`; output side
    (H - 1)·stride - 2·padding + dilation·(kernel - 1) + output_padding + 1, as torch's `nn.ConvTranspose2d`.
    """

    kind = "convt"
    family = "conv"
    TRAITS = Traits(weight_layer=True, fresh_output=True)
    ARGS = (
        ArgSpec("out", positive_int, REQUIRED, True, "output channels"),
        KERNEL,
        ArgSpec("stride", pair(positive_int), 1, doc="s or [sh, sw]"),
        ArgSpec("padding", pair(nonneg_int), 0, doc="p or [ph, pw], removed from both sides"),
        ArgSpec("output_padding", pair(nonneg_int), 0, doc="added to one side; less than stride or dilation"),
        ArgSpec("groups", positive_int, 1),
        ArgSpec("dilation", pair(positive_int), 1),
        ArgSpec("bias", boolean, True),
    )
    EXAMPLE = "convt(6, 3, stride=2, padding=1, output_padding=1, groups=2)"
    PARAMS_DOC = "in·(out/groups)·kh·kw (+out)"
    ELEMENTWISE_DOC = "1 per output element with a bias"
    out: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    output_padding: tuple[int, int] = (0, 0)
    groups: int = 1
    dilation: tuple[int, int] = (1, 1)
    bias: bool = True

    def infer(self, inputs):
        c, h, w = spatial(inputs[0], "convt")
        for what, n in (("input", c), ("output", self.out)):
            if n % self.groups:
                raise ShapeError(f"convt groups={self.groups} does not divide the {n} {what} channels")
        sides = []
        for axis, size in enumerate((h, w)):
            s, p, op, d, k = (self.stride[axis], self.padding[axis], self.output_padding[axis], self.dilation[axis],
                              self.kernel[axis])
            if op >= max(s, d):
                raise ShapeError(f"convt output_padding {op} must be smaller than the stride ({s}) or dilation ({d})")
            side = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
            if side <= 0:
                raise ShapeError(f"convt gives an empty output ({side} {('rows', 'columns')[axis]}): padding too large")
            sides.append(side)
        return (self.out, *sides)

    def params(self, inputs):
        return inputs[0][0] * (self.out // self.groups) * self.kernel[0] * self.kernel[1] + (self.out if self.bias else 0)

    def macs(self, inputs, out):
        """Each input position meets every kernel tap (torch's FlopCounterMode counts the same)."""
        c, h, w = inputs[0]
        return h * w * c * (self.out // self.groups) * self.kernel[0] * self.kernel[1]

    def state(self, inputs):
        weight = ("weight", (inputs[0][0], self.out // self.groups) + self.kernel)
        return (weight, ("bias", (self.out,))) if self.bias else (weight,)

    def extra_ops(self, inputs, out):
        return numel(out) if self.bias else 0

    def describe(self):
        return f"convt {kxk(self.kernel)}{stride_text(self.stride)}, {self.out}" + (
            f", g{self.groups}" if self.groups > 1 else "")
