"""Ops with train-time behaviour: fractal joins with drop-path, stochastic depth, gates.

Their training semantics are attributes, so every backend reads them from the
IR (docs/internals.md, "Train-time ops and weight sharing"):

    join              FractalNet's join: merge mode, the column of each input,
                      local/global drop-path probabilities and group
    stochastic_depth  a residual branch kept with probability `survival` (scaled by it in eval)
    drop_path         torchvision's StochasticDepth: dropped with probability `p`, inverted, eval identity
    gate              T(x) = sigmoid(conv(x) + b), the bias starting at `bias_init`
    one_minus         1 - x (the carry gate of highway / gated shortcuts)

`join` is made by `fractal { }` only; the others may also be written as layers.
"""
from __future__ import annotations

from dataclasses import dataclass

from .args import REQUIRED, ArgSpec, choice, number, padding, pair, positive_int, probability
from .base import Merge, Op, ShapeError, Traits, fmt, numel, register
from .conv import Conv

JOIN_MODES = ("mean", "sum", "max", "concat")
DROP_PATH = ("none", "local", "global", "mix")


@register
@dataclass(frozen=True)
class Join(Op):
    """The join of a fractal block: merges the columns meeting here.

    `columns[i]` is the column (1 = the shallowest, C = the deepest) input i
    belongs to. In eval mode, and with drop="none", it is a plain merge of all
    inputs. In training:

      local   each input is dropped with probability p_local; at least one is kept
      global  one column k in 1..num_columns is drawn per mini-batch for each
              `group` (all joins of a group share k and num_columns); only inputs
              of column k are kept (a join without a column-k input is off the
              sampled path: its output is not used)
      mix     per mini-batch, global with probability global_ratio, else local

    mean/max/sum merge the kept inputs only; concat keeps every slot and fills
    dropped ones with zeros.
    """

    kind = "join"
    family = "merge"
    TRAITS = Traits(merge=Merge.SUM, fresh_output=True)
    EXAMPLE = "fractal(columns=3, join=mean, drop=mix) { conv(4, 3, padding=1) relu }"
    ELEMENTWISE_DOC = "mean: n, sum and max: n-1, concat: 1 per output element"
    min_inputs = 2
    max_inputs = None
    mode: str = "mean"
    columns: tuple[int, ...] = ()
    num_columns: int = 2  # C of the fractal this join belongs to
    drop: str = "none"
    p_local: float = 0.15
    global_ratio: float = 0.5
    group: str = "fractal"

    def infer(self, inputs):
        if len(self.columns) != len(inputs):
            raise ShapeError(f"join has {len(inputs)} inputs but {len(self.columns)} column labels")
        first = inputs[0]
        for i, shape in enumerate(inputs[1:], start=1):
            same = shape[1:] == first[1:] and len(shape) == len(first) if self.mode == "concat" else shape == first
            if not same:
                what = "that differ only in channels" if self.mode == "concat" else "of one shape"
                raise ShapeError(f"join ({self.mode}) needs inputs {what}, got {fmt(first)} (column "
                                 f"{self.columns[0]}) and {fmt(shape)} (column {self.columns[i]})")
        if self.mode == "concat":
            return (sum(s[0] for s in inputs),) + first[1:]
        return first

    def extra_ops(self, inputs, out):
        n = len(inputs)
        return numel(out) * {"mean": n, "sum": n - 1, "max": n - 1, "concat": 1}[self.mode]

    def describe(self):
        text = f"join {self.mode} of columns {','.join(map(str, self.columns))}"
        if self.drop != "none":
            text += f", drop-path {self.drop}"
        return text


@register
@dataclass(frozen=True)
class StochasticDepth(Op):
    """`stochastic_depth(survival, mode=batch)`: the last op of a residual branch.

    Training: the branch is multiplied by b ~ Bernoulli(survival), drawn once per
    mini-batch (mode=batch, Huang et al. 2016) or per sample (mode=row).
    Eval: multiplied by `survival` (the paper's test rule). Made by
    `residual(survival=..., decay=linear|uniform)`.
    """

    kind = "stochastic_depth"
    family = "reg"
    TRAITS = Traits(scales_input=True, fresh_output=True, minor=True)
    EXAMPLE = "stochastic_depth(0.8, mode=row)"
    ELEMENTWISE_DOC = "1 per element"
    ARGS = (
        ArgSpec("survival", probability, REQUIRED, True, "probability that the branch is kept"),
        ArgSpec("mode", choice("batch", "row"), "batch", doc="draw per mini-batch or per sample"),
    )
    survival: float = 1.0
    mode: str = "batch"

    def branch_survival(self):
        return self.survival

    def extra_ops(self, inputs, out):
        return numel(out)

    def describe(self):
        return f"stochastic depth p={self.survival:.4g}"


@register
@dataclass(frozen=True)
class DropPath(Op):
    """`drop_path(p, mode=row)`: torchvision's `StochasticDepth` (timm's `DropPath`), inverted.

    Training: each sample (mode=row) or the whole batch (mode=batch) is zeroed
    with probability p, and what is kept is divided by 1 - p. Eval: the identity.
    torchvision's EfficientNet and ConvNeXt put it at the end of each residual
    branch with p = stochastic_depth_prob · block index / blocks.
    """

    kind = "drop_path"
    family = "reg"
    TRAITS = Traits(eval_identity=True, minor=True)
    EXAMPLE = "drop_path(0.2)"
    ELEMENTWISE_DOC = "0 (the identity in eval)"
    ARGS = (
        ArgSpec("p", probability, REQUIRED, True, "probability that the input is dropped"),
        ArgSpec("mode", choice("row", "batch"), "row", doc="draw per sample or per mini-batch"),
    )
    p: float = 0.0
    mode: str = "row"

    def branch_survival(self):
        return 1.0 - self.p

    def describe(self):
        return f"drop path p={self.p:.4g}"


@register
@dataclass(frozen=True)
class Gate(Op):
    """`gate(out, kernel=1, stride=1, padding=0, bias_init=0)`: T(x) = sigmoid(conv(x) + b).

    A convolution with bias followed by a sigmoid; its bias is initialised to
    `bias_init` (negative: the gate starts nearly closed, as in highway networks
    and the identity-mappings paper's gated shortcuts). torch state: weight, bias.
    """

    kind = "gate"
    family = "gate"
    TRAITS = Traits(weight_layer=True)  # not a fresh output: sigmoid's backward reads it
    EXAMPLE = "gate(4, 3, padding=1, bias_init=-1.0)"
    PARAMS_DOC = "out·in·kh·kw + out"
    ELEMENTWISE_DOC = "2 per output element (bias, sigmoid)"
    ARGS = (
        ArgSpec("out", positive_int, REQUIRED, True, "output channels"),
        ArgSpec("kernel", pair(positive_int), 1, True),
        ArgSpec("stride", pair(positive_int), 1),
        ArgSpec("padding", padding, 0),
        ArgSpec("bias_init", number, 0.0, doc="initial value of every bias"),
    )
    out: int = 1
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    bias_init: float = 0.0

    @property
    def conv(self) -> Conv:
        return Conv(self.out, self.kernel, self.stride, self.padding, bias=True)

    def infer(self, inputs):
        return self.conv.infer(inputs)

    def params(self, inputs):
        return self.conv.params(inputs)

    def macs(self, inputs, out):
        return self.conv.macs(inputs, out)

    def state(self, inputs):
        return self.conv.state(inputs)

    def extra_ops(self, inputs, out):
        return 2 * numel(out)  # bias, sigmoid

    def initial_value(self, suffix):
        return self.bias_init if suffix == "bias" else None

    def describe(self):
        k = self.kernel
        return f"gate {k[0]}x{k[1]}{'' if self.stride == (1, 1) else f'/{self.stride[0]}'}, {self.out}, b={self.bias_init:g}"


@register
@dataclass(frozen=True)
class OneMinus(Op):
    """1 - x: the carry gate (1 - T(x)) of a highway layer or gated shortcut."""

    kind = "one_minus"
    family = "gate"
    TRAITS = Traits(fresh_output=True)
    EXAMPLE = "one_minus"
    ELEMENTWISE_DOC = "1 per element"

    def extra_ops(self, inputs, out):
        return numel(out)

    def describe(self):
        return "1 - x"
