"""Shape rules shared by windowed ops (conv, pooling): torch's output sizes."""
from __future__ import annotations

from .base import Shape, ShapeError, fmt


def spatial(shape: Shape, what: str) -> Shape:
    if len(shape) != 3:
        raise ShapeError(f"{what} needs a CxHxW input, got {fmt(shape)}")
    return shape


def window_out(size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, dilation: int, ceil: bool, axis: str) -> int:
    """Output extent of a sliding window, with torch's rounding rules."""
    effective = dilation * (kernel - 1) + 1
    span = size + pad_lo + pad_hi - effective
    if span < 0:
        raise ShapeError(
            f"the {axis} of the input ({size}, padded to {size + pad_lo + pad_hi}) is smaller than the window ({effective})"
        )
    if ceil:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + pad_lo:  # the last window must start inside the input
            out -= 1
    else:
        out = span // stride + 1
    return out


def check_tiling(size: int, kernel: int, stride: int, pads: tuple, ceil: bool, axis: str):
    """A window that tiles its input (kernel == stride, no padding) must divide it.

    Otherwise the last rows or columns are silently dropped: a 2x2/2 pool on a
    15x15 map ignores row 15. (Overlapping windows, like ResNet's 7x7/2 stem,
    round as torch does.)
    """
    if kernel == stride and stride > 1 and not any(pads) and not ceil and size % stride:
        raise ShapeError(
            f"stride {stride} does not divide the input {axis} {size}: the last {size % stride} would be dropped"
            " (use an input size divisible by the stride, padding, or ceil=true)"
        )


def windowed_out(op, shape, ceil=False, tiling=True) -> Shape:
    """(C, H', W') of a window op with `kernel`, `stride`, `padding`, `dilation` attributes."""
    c, h, w = spatial(shape, op.kind)
    top, bottom, left, right = op.padding
    if tiling:
        check_tiling(h, op.kernel[0], op.stride[0], op.padding, ceil, "height")
        check_tiling(w, op.kernel[1], op.stride[1], op.padding, ceil, "width")
    ho = window_out(h, op.kernel[0], op.stride[0], top, bottom, op.dilation[0], ceil, "height")
    wo = window_out(w, op.kernel[1], op.stride[1], left, right, op.dilation[1], ceil, "width")
    return (c, ho, wo)


def kxk(k) -> str:
    return f"{k[0]}x{k[1]}" if k[0] != k[1] else f"{k[0]}x{k[0]}"


def stride_text(s) -> str:
    return "" if s == (1, 1) else f"/{s[0]}" if s[0] == s[1] else f"/{s[0]},{s[1]}"
