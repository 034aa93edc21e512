"""Depthwise convolution: a conv whose groups and width follow its input.

    dwconv(3, padding=1)          on 728x19x19  ->  conv 3x3, 728 out, groups=728
    dwconv(3, multiplier=2)       on  32x56x56  ->  conv 3x3,  64 out, groups=32

The spec never writes the input width. `resolve` turns the op into a plain
`conv` as soon as the input shape is known, so the IR, every analysis and
every backend only ever see `conv` (torch: `nn.Conv2d(c, c*m, k, groups=c)`).
A depthwise-separable conv (Xception, MobileNet) is `dwconv` then a 1x1 `conv`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import (
    MAX_DIM,
    REQUIRED,
    ArgSpec,
    Op,
    ShapeError,
    boolean,
    padding,
    pair,
    positive_int,
    register,
    spatial,
)
from .layers import Conv


@register
@dataclass(frozen=True)
class DepthwiseConv(Op):
    """`dwconv(kernel, stride=1, padding=0, dilation=1, multiplier=1, bias=true)`."""

    kind = "dwconv"
    family = "conv"
    weight_layer = True
    ARGS = (
        ArgSpec("kernel", pair(positive_int), REQUIRED, True, "kernel size: k or [kh, kw]"),
        ArgSpec("stride", pair(positive_int), 1, doc="s or [sh, sw]"),
        ArgSpec("padding", padding, 0, doc="p, [ph, pw] or [top, bottom, left, right]"),
        ArgSpec("dilation", pair(positive_int), 1),
        ArgSpec("multiplier", positive_int, 1, doc="output channels per input channel"),
        ArgSpec("bias", boolean, True),
    )
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
        return Conv(
            out=out,
            kernel=self.kernel,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=channels,
            bias=self.bias,
        )

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
