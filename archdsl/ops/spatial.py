"""The spatial transformer's ops (Jaderberg et al. 2015): theta -> grid -> sampling.

    localisation net -> affine_theta -> affine_grid(size) -> grid_sample(image, grid)
         (F,)             (6,)           (H, W, 2)              (C, H, W)

`spatial_transformer(size=[H, W]) { localisation net }` builds the chain; the
grid's shape (H, W, 2) is torch's `affine_grid` layout (without the batch).
"""
from __future__ import annotations

from dataclasses import dataclass

from .args import ArgSpec, boolean, pair, positive_int
from .base import Merge, Op, ShapeError, Traits, fmt, numel, register
from .windows import spatial

IDENTITY_THETA = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@register
@dataclass(frozen=True)
class AffineTheta(Op):
    """The localisation net's regression layer: F features -> the 6 numbers of a 2x3 affine matrix.

    A linear layer (torch state: weight (6, F), bias (6,)) initialised to the
    identity transform: weight 0, bias = `init` (row-major theta).
    """

    kind = "affine_theta"
    family = "linear"
    TRAITS = Traits(weight_layer=True, fresh_output=True)
    EXAMPLE = "affine_theta"
    EXAMPLE_INPUT = (10,)
    PARAMS_DOC = "6·F + 6"
    ELEMENTWISE_DOC = "6 (the biases)"
    INIT_JITTER = 0.05  # seeded test weights: near the identity, so sampling is exercised
    init: tuple[float, ...] = IDENTITY_THETA

    def infer(self, inputs):
        if len(inputs[0]) != 1:
            raise ShapeError(f"affine_theta needs flat features, got {fmt(inputs[0])} (add `flatten` before it)")
        return (6,)

    def params(self, inputs):
        return 6 * inputs[0][0] + 6

    def macs(self, inputs, out):
        return 6 * inputs[0][0]

    def state(self, inputs):
        return (("weight", (6, inputs[0][0])), ("bias", (6,)))

    def extra_ops(self, inputs, out):
        return 6

    def initial_value(self, suffix):
        return self.init if suffix == "bias" else 0.0

    def describe(self):
        return "affine theta 2x3 (identity init)"


@register
@dataclass(frozen=True)
class AffineGrid(Op):
    """`affine_grid(size, align_corners=false)`: theta (6,) -> sampling grid (H, W, 2)."""

    kind = "affine_grid"
    family = "sample"
    TRAITS = Traits(fresh_output=True)
    EXAMPLE = "affine_grid([4, 3], align_corners=true)"
    EXAMPLE_INPUT = (6,)
    ELEMENTWISE_DOC = "6 per grid point"
    ARGS = (
        ArgSpec("size", pair(positive_int), None, True, "output height and width: s or [h, w]"),
        ArgSpec("align_corners", boolean, False),
    )
    size: tuple[int, int] = (1, 1)
    align_corners: bool = False

    def infer(self, inputs):
        if inputs[0] != (6,):
            raise ShapeError(f"affine_grid needs the 6 numbers of a 2x3 theta, got {fmt(inputs[0])}")
        return (self.size[0], self.size[1], 2)

    def extra_ops(self, inputs, out):
        return 6 * self.size[0] * self.size[1]  # 2 coordinates x 3 terms per grid point

    def describe(self):
        return f"affine grid {self.size[0]}x{self.size[1]}"


@register
@dataclass(frozen=True)
class GridSample(Op):
    """Sample input 0 (C, H, W) at the grid of input 1 (H', W', 2) -> (C, H', W')."""

    kind = "grid_sample"
    family = "sample"
    TRAITS = Traits(merge=Merge.GATE, fresh_output=True)  # the grid steers the image's samples; adds no path
    EXAMPLE = "spatial_transformer(size=4) { flatten linear(8) }"
    ELEMENTWISE_DOC = "4 per output element (bilinear taps)"
    min_inputs = 2
    max_inputs = 2
    mode: str = "bilinear"  # bilinear | nearest
    padding_mode: str = "zeros"  # zeros | border | reflection
    align_corners: bool = False

    def infer(self, inputs):
        image, grid = inputs
        c, _, _ = spatial(image, "grid_sample")
        if len(grid) != 3 or grid[2] != 2:
            raise ShapeError(f"grid_sample needs a sampling grid HxWx2 as its second input, got {fmt(grid)}")
        return (c, grid[0], grid[1])

    def extra_ops(self, inputs, out):
        return 4 * numel(out)  # four weighted taps per output element (bilinear)

    def describe(self):
        return f"grid sample {self.mode}"

