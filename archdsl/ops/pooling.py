"""Pooling: windowed max/average, adaptive pooling to a fixed grid, global average pooling."""
from __future__ import annotations

from dataclasses import dataclass

from .args import REQUIRED, ArgSpec, boolean, padding, pair, positive_int
from .base import Op, ShapeError, numel, register
from .windows import kxk, spatial, stride_text, windowed_out


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
    ELEMENTWISE_DOC = "kh·kw per output element"
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
        return windowed_out(self, inputs[0], self.ceil)

    def extra_ops(self, inputs, out):
        return numel(out) * self.kernel[0] * self.kernel[1]

    def describe(self):
        return f"{self.kind} {kxk(self.kernel)}{stride_text(self.stride)}" + (" ceil" if self.ceil else "")


@register
@dataclass(frozen=True)
class MaxPool(_Pool):
    """`maxpool(kernel, stride=kernel, padding=0, ceil=false, dilation=1)`."""

    kind = "maxpool"
    ARGS = _pool_args(False)
    EXAMPLE = "maxpool(3, stride=2, padding=1, ceil=true)"
    dilation: tuple[int, int] = (1, 1)


@register
@dataclass(frozen=True)
class AvgPool(_Pool):
    """`avgpool(kernel, stride=kernel, padding=0, ceil=false, count_include_pad=true)`."""

    kind = "avgpool"
    ARGS = _pool_args(True)
    EXAMPLE = "avgpool(3, stride=1, padding=1, count_include_pad=false)"
    count_include_pad: bool = True

    @property
    def dilation(self):
        return (1, 1)


@dataclass(frozen=True)
class _AdaptivePool(Op):
    """Pool to a fixed grid whatever the input size: `adaptive_avgpool(7)` gives Cx7x7."""

    family = "pool"
    ARGS = (ArgSpec("size", pair(positive_int), REQUIRED, True),)
    ELEMENTWISE_DOC = "1 per input element"
    size: tuple[int, int] = (1, 1)

    def infer(self, inputs):
        c, _, _ = spatial(inputs[0], self.kind)
        return (c, self.size[0], self.size[1])

    def extra_ops(self, inputs, out):
        return numel(inputs[0])

    def describe(self):
        return f"{self.kind.replace('_', ' ')} {kxk(self.size)}"


@register
@dataclass(frozen=True)
class AdaptiveAvgPool(_AdaptivePool):
    """`adaptive_avgpool(size)`: average over torch's adaptive windows to a size x size (or [h, w]) grid."""

    kind = "adaptive_avgpool"
    EXAMPLE = "adaptive_avgpool(3)"


@register
@dataclass(frozen=True)
class AdaptiveMaxPool(_AdaptivePool):
    """`adaptive_maxpool(size)`: maximum over torch's adaptive windows."""

    kind = "adaptive_maxpool"
    EXAMPLE = "adaptive_maxpool([3, 2])"


@register
@dataclass(frozen=True)
class GlobalAvgPool(Op):
    """Global average pooling: CxHxW -> Cx1x1 (torch: AdaptiveAvgPool2d(1))."""

    kind = "gap"
    family = "pool"
    EXAMPLE = "gap"
    ELEMENTWISE_DOC = "1 per input element"

    def infer(self, inputs):
        c, _, _ = spatial(inputs[0], "gap")
        return (c, 1, 1)

    def extra_ops(self, inputs, out):
        return numel(inputs[0])

    def describe(self):
        return "global avgpool"
