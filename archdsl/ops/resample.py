"""Changes of resolution without weights: `upsample`, `pixel_shuffle`, `pixel_unshuffle`.

    upsample(2)                         64x14x14 ->  64x28x28   nearest, torch's nn.Upsample(scale_factor=2.0)
    upsample(size=[32, 32], mode=bilinear)  on any CxHxW  ->  Cx32x32
    pixel_shuffle(2)                   256x14x14 ->  64x28x28   sub-pixel convolution's rearrangement
"""
from __future__ import annotations

from dataclasses import dataclass

from .args import MAX_DIM, REQUIRED, ArgSpec, boolean, choice, pair, positive_int, positive_number
from .base import Op, ShapeError, Traits, fmt, numel, register
from .windows import spatial

_RESHAPE = Traits(minor=True)


def _optional(convert):
    def conv(v):
        return None if v is None else convert(v)

    return conv


@register
@dataclass(frozen=True)
class Upsample(Op):
    """`upsample(scale=2, size=none, mode=nearest, align_corners=false)`: torch's `nn.Upsample`.

    Give `scale` (output side floor(side·scale)) or `size` (an int or [h, w]); `mode` is nearest or
    bilinear (with `align_corners`).
    """

    kind = "upsample"
    family = "pool"
    TRAITS = _RESHAPE
    ARGS = (
        ArgSpec("scale", _optional(positive_number), None, True, "factor for both sides"),
        ArgSpec("size", _optional(pair(positive_int)), None, doc="output side h or [h, w]"),
        ArgSpec("mode", choice("nearest", "bilinear"), "nearest"),
        ArgSpec("align_corners", boolean, False, doc="bilinear only"),
    )
    EXAMPLE = "upsample(2, mode=bilinear, align_corners=true)"
    ELEMENTWISE_DOC = "nearest 1, bilinear 4 per output element"
    scale: float | None = None
    size: tuple[int, int] | None = None
    mode: str = "nearest"
    align_corners: bool = False

    def resolve(self, inputs):
        if (self.scale is None) == (self.size is None):
            raise ShapeError("upsample takes either a scale or a size")
        if self.align_corners and self.mode != "bilinear":
            raise ShapeError("align_corners applies to mode=bilinear only")
        return self

    def infer(self, inputs):
        c, h, w = spatial(inputs[0], self.kind)
        self.resolve(inputs)
        sides = self.size if self.size is not None else (int(h * self.scale), int(w * self.scale))
        if min(sides) < 1 or max(sides) > MAX_DIM:
            raise ShapeError(f"upsample of {fmt(inputs[0])} gives sides {sides[0]}x{sides[1]}, out of range")
        return (c, *sides)

    def extra_ops(self, inputs, out):
        return numel(out) * (4 if self.mode == "bilinear" else 1)

    def describe(self):
        by = f"x{self.scale:g}" if self.size is None else f"to {self.size[0]}x{self.size[1]}"
        return f"upsample {by}" + ("" if self.mode == "nearest" else f" {self.mode}")


@register
@dataclass(frozen=True)
class PixelShuffle(Op):
    """`pixel_shuffle(r)`: (C·r²)xHxW -> Cx(H·r)x(W·r), torch's `nn.PixelShuffle`."""

    kind = "pixel_shuffle"
    family = "pool"
    TRAITS = _RESHAPE
    ARGS = (ArgSpec("factor", positive_int, REQUIRED, True, "upscale factor r"),)
    EXAMPLE = "pixel_shuffle(2)"
    EXAMPLE_INPUT = (8, 3, 5)
    ELEMENTWISE_DOC = "1 per element (a copy)"
    factor: int = 2

    def infer(self, inputs):
        c, h, w = spatial(inputs[0], self.kind)
        r = self.factor
        if c % (r * r):
            raise ShapeError(f"pixel_shuffle({r}) needs channels divisible by {r * r}, got {c}")
        if max(h, w) * r > MAX_DIM:
            raise ShapeError(f"pixel_shuffle({r}) of {fmt(inputs[0])} is absurdly large")
        return (c // (r * r), h * r, w * r)

    def extra_ops(self, inputs, out):
        return numel(out)


@register
@dataclass(frozen=True)
class PixelUnshuffle(Op):
    """`pixel_unshuffle(r)`: CxHxW -> (C·r²)x(H/r)x(W/r), torch's `nn.PixelUnshuffle`."""

    kind = "pixel_unshuffle"
    family = "pool"
    TRAITS = _RESHAPE
    ARGS = (ArgSpec("factor", positive_int, REQUIRED, True, "downscale factor r"),)
    EXAMPLE = "pixel_unshuffle(2)"
    ELEMENTWISE_DOC = "1 per element (a copy)"
    factor: int = 2

    def infer(self, inputs):
        c, h, w = spatial(inputs[0], self.kind)
        r = self.factor
        if h % r or w % r:
            raise ShapeError(f"pixel_unshuffle({r}) needs sides divisible by {r}, got {fmt(inputs[0])}")
        return (c * r * r, h // r, w // r)

    def extra_ops(self, inputs, out):
        return numel(out)


@register
@dataclass(frozen=True)
class Crop(Op):
    """`crop(size)` or `crop(to=@t)`: the centre h x w of each map (the U-Net paper's cropped skips).

    Rows (h_in - h) // 2 .. on are kept, and the same for columns, as torchvision's `center_crop`.
    """

    kind = "crop"
    family = "pool"
    TRAITS = _RESHAPE
    ARGS = (ArgSpec("size", pair(positive_int), REQUIRED, True, "output side h or [h, w]"),)
    EXAMPLE = "crop(4)"
    size: tuple[int, int] = (1, 1)

    def infer(self, inputs):
        c, h, w = spatial(inputs[0], self.kind)
        oh, ow = self.size
        if oh > h or ow > w:
            raise ShapeError(f"crop to {oh}x{ow} needs an input at least that large, got {fmt(inputs[0])}")
        return (c, oh, ow)

    def offsets(self, inputs) -> tuple[int, int]:
        _, h, w = inputs[0]
        return (h - self.size[0]) // 2, (w - self.size[1]) // 2

    def describe(self):
        return f"crop to {self.size[0]}x{self.size[1]}"
