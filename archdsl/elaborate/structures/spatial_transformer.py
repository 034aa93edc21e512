"""`spatial_transformer(size=[h, w]) { localisation net }` (Jaderberg et al. 2015).

    x -> L -> affine_theta -> affine_grid(size) -> grid_sample(x, grid)

The body is the localisation net; it must end in flat features. The
construct appends `theta` (a 2x3 affine matrix, initialised to the identity),
`grid` (HxWx2) and `sample` (the construct's input sampled at the grid).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ArchError
from ...ops import fmt
from ...values import is_int, show
from .base import Structure, anything, arg, flag, one_of, structure


@structure
class SpatialTransformer(Structure):
    keyword = "spatial_transformer"

    @dataclass(frozen=True)
    class Config:
        size: object = arg(None, anything, "the output grid: s or [h, w] (default: the input's)")
        mode: str = arg("bilinear", one_of("bilinear", "nearest"))
        padding_mode: str = arg("zeros", one_of("zeros", "border", "reflection"))
        align_corners: bool = arg(False, flag)

    def build(self, e, call, cur: int) -> int:
        c, names, span = call.config, call.names, call.span
        image = e.shapes[cur]
        if len(image) != 3:
            raise ArchError(f"a spatial transformer needs a CxHxW input, got {fmt(image)}", span)
        size = image[1:] if c.size is None else c.size
        if is_int(size):
            size = (size, size)
        if not (isinstance(size, tuple) and len(size) == 2 and all(is_int(d) and d > 0 for d in size)):
            raise ArchError(f"size must be a positive integer or [height, width], got {show(size)}",
                            call.span_of("size"))
        features = e.sequence(call.unit.body, cur, call.scope, names)
        theta = e.op("affine_theta", names, "theta", span, [features])
        grid = e.op("affine_grid", names, "grid", span, [theta], size=size, align_corners=c.align_corners)
        return e.op("grid_sample", names, "sample", span, [cur, grid], mode=c.mode, padding_mode=c.padding_mode,
                    align_corners=c.align_corners)
