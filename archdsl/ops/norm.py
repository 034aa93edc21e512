"""Normalisation layers."""
from __future__ import annotations

from dataclasses import dataclass

from .args import ArgSpec, boolean, positive_number, probability
from .base import Op, ShapeError, Traits, fmt, numel, register


@register
@dataclass(frozen=True)
class BatchNorm(Op):
    """Batch normalisation over channels. `bn(eps=1e-5, momentum=0.1, affine=true)`."""

    kind = "bn"
    family = "norm"
    TRAITS = Traits(folds_into_conv=True, fresh_output=True, minor=True)
    ARGS = (
        ArgSpec("eps", positive_number, 1e-5),
        ArgSpec("momentum", probability, 0.1),
        ArgSpec("affine", boolean, True),
    )
    EXAMPLE = "bn(eps=0.001)"
    PARAMS_DOC = "2·C (running statistics are buffers)"
    ELEMENTWISE_DOC = "2 per element (scale and shift, as folded in inference)"
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
