"""Normalisation layers."""
from __future__ import annotations

from dataclasses import dataclass

from .args import REQUIRED, ArgSpec, boolean, choice, positive_int, positive_number, probability
from .base import Op, ShapeError, Traits, fmt, numel, register
from .windows import spatial


@register
@dataclass(frozen=True)
class BatchNorm(Op):
    """Batch normalisation over channels. `bn(eps=1e-5, momentum=0.1, affine=true, frozen=false)`.

    `frozen`: torchvision's FrozenBatchNorm2d (detection backbones): scale, shift and statistics are
    buffers, never updated, the same in training as in eval; no parameters.
    """

    kind = "bn"
    family = "norm"
    TRAITS = Traits(folds_into_conv=True, fresh_output=True, minor=True)
    ARGS = (
        ArgSpec("eps", positive_number, 1e-5),
        ArgSpec("momentum", probability, 0.1),
        ArgSpec("affine", boolean, True),
        ArgSpec("frozen", boolean, False, doc="all buffers, eval behaviour always (FrozenBatchNorm2d)"),
    )
    EXAMPLE = "bn(eps=0.001)"
    PARAMS_DOC = "2·C (running statistics are buffers); frozen: 0"
    ELEMENTWISE_DOC = "2 per element (scale and shift, as folded in inference)"
    eps: float = 1e-5
    momentum: float = 0.1
    affine: bool = True
    frozen: bool = False

    def infer(self, inputs):
        if len(inputs[0]) not in (1, 3):
            raise ShapeError(f"bn needs CxHxW or C features, got {fmt(inputs[0])}")
        if self.frozen and (len(inputs[0]) != 3 or not self.affine):
            raise ShapeError(f"a frozen bn needs a CxHxW map and affine=true, got {fmt(inputs[0])}")
        return inputs[0]

    def params(self, inputs):
        return 2 * inputs[0][0] if self.affine and not self.frozen else 0

    def state(self, inputs):
        c = (inputs[0][0],)
        if self.frozen:
            return (("weight", c), ("bias", c), ("running_mean", c), ("running_var", c))
        stats = (("running_mean", c), ("running_var", c), ("num_batches_tracked", ()))
        return ((("weight", c), ("bias", c)) if self.affine else ()) + stats

    def extra_ops(self, inputs, out):
        return 2 * numel(out)

    def describe(self):
        name = "frozen bn" if self.frozen else "bn"
        return name if self.eps == 1e-5 else f"{name} eps={self.eps:g}"


def _channels(inputs, kind: str) -> int:
    if len(inputs[0]) not in (1, 3):
        raise ShapeError(f"{kind} needs CxHxW or C features, got {fmt(inputs[0])}")
    return inputs[0][0]


@dataclass(frozen=True)
class _ChannelNorm(Op):
    """A norm over a CxHxW map with an optional per-channel scale and shift (group, instance)."""

    family = "norm"
    TRAITS = Traits(fresh_output=True, minor=True)
    ELEMENTWISE_DOC = "4 per element"

    def params(self, inputs):
        return 2 * inputs[0][0] if self.affine else 0

    def state(self, inputs):
        c = (inputs[0][0],)
        return (("weight", c), ("bias", c)) if self.affine else ()

    def extra_ops(self, inputs, out):
        return 4 * numel(out)


@register
@dataclass(frozen=True)
class LayerNorm(Op):
    """Layer normalisation over channels. `layernorm(eps=1e-5, affine=true)`.

    On C features it is torch's `nn.LayerNorm(C)`; on a CxHxW map it normalises
    each position's C channels (ConvNeXt's LayerNorm2d), with one scale and shift per channel.
    `over=last` normalises the last axis instead (a channels-last map: ConvNeXt's blocks).
    """

    kind = "layernorm"
    family = "norm"
    TRAITS = Traits(fresh_output=True, minor=True)
    ARGS = (ArgSpec("eps", positive_number, 1e-5), ArgSpec("affine", boolean, True),
            ArgSpec("over", choice("channels", "last"), "channels", doc="last: the last axis (channels-last maps)"))
    EXAMPLE = "layernorm(eps=1e-6)"
    PARAMS_DOC = "2·C"
    ELEMENTWISE_DOC = "4 per element (mean, variance, normalise, scale and shift)"
    eps: float = 1e-5
    affine: bool = True
    over: str = "channels"

    def infer(self, inputs):
        if self.over == "channels":
            _channels(inputs, self.kind)
        return inputs[0]

    def normalized(self, inputs) -> int:
        return inputs[0][0] if self.over == "channels" else inputs[0][-1]

    def params(self, inputs):
        return 2 * self.normalized(inputs) if self.affine else 0

    def state(self, inputs):
        c = (self.normalized(inputs),)
        return (("weight", c), ("bias", c)) if self.affine else ()

    def extra_ops(self, inputs, out):
        return 4 * numel(out)

    def describe(self):
        return "layernorm" if self.eps == 1e-5 else f"layernorm eps={self.eps:g}"


@register
@dataclass(frozen=True)
class GroupNorm(_ChannelNorm):
    """Group normalisation: `groupnorm(groups, eps=1e-5, affine=true)`; the channels must divide by `groups`."""

    kind = "groupnorm"
    ARGS = (ArgSpec("groups", positive_int, REQUIRED, True), ArgSpec("eps", positive_number, 1e-5),
            ArgSpec("affine", boolean, True))
    EXAMPLE = "groupnorm(2)"
    PARAMS_DOC = "2·C"
    groups: int = 1
    eps: float = 1e-5
    affine: bool = True

    def infer(self, inputs):
        c = spatial(inputs[0], self.kind)[0]
        if c % self.groups:
            raise ShapeError(f"groupnorm groups={self.groups} does not divide the {c} channels")
        return inputs[0]

    def describe(self):
        return f"groupnorm {self.groups}"


@register
@dataclass(frozen=True)
class InstanceNorm(_ChannelNorm):
    """Instance normalisation of each channel of a CxHxW map: `instancenorm(eps=1e-5, affine=false)`.

    torch's defaults: no running statistics, so train and eval agree.
    """

    kind = "instancenorm"
    ARGS = (ArgSpec("eps", positive_number, 1e-5), ArgSpec("affine", boolean, False))
    EXAMPLE = "instancenorm(affine=true)"
    PARAMS_DOC = "0, or 2·C with affine"
    eps: float = 1e-5
    affine: bool = False

    def infer(self, inputs):
        spatial(inputs[0], self.kind)
        return inputs[0]
