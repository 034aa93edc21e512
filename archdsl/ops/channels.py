"""Channel rearrangements: `slice` (a channel range) and `channel_shuffle`.

ShuffleNetV2's unit splits its input in halves, transforms one and shuffles:

    parallel { slice(0, c // 2)  { slice(c // 2, c) conv(...) ... } }  channel_shuffle(2)
"""
from __future__ import annotations

from dataclasses import dataclass

from .args import REQUIRED, ArgSpec, nonneg_int, positive_int
from .base import Op, ShapeError, Traits, fmt, register


@register
@dataclass(frozen=True)
class Slice(Op):
    """`slice(start, stop)`: channels start..stop-1 (features, for flat inputs), as `x[:, start:stop]`."""

    kind = "slice"
    family = "misc"
    TRAITS = Traits(minor=True)
    ARGS = (ArgSpec("start", nonneg_int, REQUIRED, True), ArgSpec("stop", positive_int, REQUIRED, True))
    EXAMPLE = "slice(1, 3)"
    start: int = 0
    stop: int = 1

    def infer(self, inputs):
        c = inputs[0][0]
        if not self.start < self.stop <= c:
            raise ShapeError(f"slice({self.start}, {self.stop}) needs 0 <= start < stop <= {c}, "
                             f"the channels of {fmt(inputs[0])}")
        return (self.stop - self.start,) + inputs[0][1:]

    def describe(self):
        return f"channels {self.start}:{self.stop}"


@register
@dataclass(frozen=True)
class ChannelShuffle(Op):
    """`channel_shuffle(groups)`: channel g·(C/groups) + i moves to i·groups + g (ShuffleNet).

    torch's `nn.ChannelShuffle`; torchvision's shufflenet_v2 does the same with view and transpose.
    """

    kind = "channel_shuffle"
    family = "misc"
    TRAITS = Traits(minor=True)
    ARGS = (ArgSpec("groups", positive_int, REQUIRED, True),)
    EXAMPLE = "channel_shuffle(2)"
    ELEMENTWISE_DOC = "1 per element (a copy)"
    groups: int = 2

    def infer(self, inputs):
        c = inputs[0][0]
        if len(inputs[0]) != 3 or c % self.groups:
            raise ShapeError(f"channel_shuffle({self.groups}) needs a CxHxW input with channels divisible by "
                             f"{self.groups}, got {fmt(inputs[0])}")
        return inputs[0]

    def extra_ops(self, inputs, out):
        return inputs[0][0] * inputs[0][1] * inputs[0][2]

    def describe(self):
        return f"shuffle {self.groups}"
