"""The closed set of op kinds: the base class, traits and the registry.

An op kind is a frozen dataclass whose fields are its attributes. It is
defined once, with everything the analyses, passes and backends need:

    kind         the name written in specs (`conv`, `bn`, ...)
    family       a colour for diagrams and tables -- nothing else reads it
    ARGS         how spec arguments map onto the fields (ops/args.py)
    TRAITS       what passes and backends may rely on (below)
    infer(ins)   output shape from input shapes; raises ShapeError
    params(ins)  learnable parameter count
    macs(ins, o) multiply-accumulates, torchvision convention
    state(ins)   the torch module's tensors (state_dict suffixes, shapes)
    extra_ops(ins, o)  elementwise work, for `info --elementwise`
    describe()   short text for tables and diagrams
    EXAMPLE      a spec item using it, run by the one-op network tests
    PARAMS_DOC / ELEMENTWISE_DOC   the rows of docs/language.md's generated tables

Passes and backends ask an op's traits, never its kind string: how its inputs
combine (`merge`), whether it is a weight layer, a shortcut, the identity in
eval, a constant scaling, a norm that folds into a conv, whether torch may run
it in place. Each backend lowers a kind from its own table (data for trivial
ops, a function where logic is needed); a test fails when a registered kind
has no lowering, no example or no row in the docs.

Shapes are tuples without the batch dimension: (C, H, W) or (features,).
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, fields
from typing import ClassVar

from .args import ArgSpec

Shape = tuple[int, ...]

REGISTRY: dict[str, type[Op]] = {}


class ShapeError(Exception):
    """Raised by an op's shape rule; the elaborator adds the spec location."""


class Merge(enum.Enum):
    """How an op's inputs combine, as the path analyses and the unraveled view see it."""

    NONE = "none"  # a single input
    SUM = "sum"  # every input's paths continue through it: add, mean, max, concat, a fractal join
    GATE = "gate"  # input 0 carries the data, the others modulate it (x * sigmoid(...)): adds no paths


@dataclass(frozen=True)
class Traits:
    merge: Merge = Merge.NONE
    weight_layer: bool = False  # counted in depth and in path lengths (conv, linear)
    shortcut: bool = False  # an op of a shortcut path (option A's zero-padding): drawn dashed, a skip
    eval_identity: bool = False  # the identity in eval mode (dropout, identity): inference backends drop it
    scales_input: bool = False  # y = a * x with a constant per call (identity, dropout, scale, stochastic depth)
    folds_into_conv: bool = False  # a norm that folds into the conv before it, for inference (bn)
    takes_fold: bool = False  # a conv that a following folding norm can be folded into
    inplace: bool = False  # torch may overwrite its first input (when that input is fresh and used once)
    fresh_output: bool = False  # its output is a new tensor backward does not need: the next op may overwrite it
    minor: bool = False  # elementwise glue (norms, activations): drawn fused into the op beside it
    source: bool = False  # the network input


def register(cls):
    if cls.kind in REGISTRY:
        raise ValueError(f"op kind {cls.kind!r} registered twice")
    REGISTRY[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class Op:
    kind: ClassVar[str] = ""
    family: ClassVar[str] = "misc"
    ARGS: ClassVar[tuple[ArgSpec, ...]] = ()
    TRAITS: ClassVar[Traits] = Traits()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    EXAMPLE: ClassVar[str] = ""  # a spec item that makes this op (on EXAMPLE_INPUT), for the one-op tests
    EXAMPLE_INPUT: ClassVar[Shape] = (4, 8, 8)
    PARAMS_DOC: ClassVar[str] = "0"
    ELEMENTWISE_DOC: ClassVar[str] = "0"

    @property
    def traits(self) -> Traits:
        return self.TRAITS

    @property
    def weight_layer(self) -> bool:
        return self.TRAITS.weight_layer

    def resolve(self, inputs: list[Shape]) -> "Op":
        """Fill attributes that depend on the input shape (a depthwise conv's groups).

        Called once by the elaborator before `infer`; the IR stores the result,
        so every later pass and backend sees concrete attributes.
        """
        return self

    def infer(self, inputs: list[Shape]) -> Shape:
        return inputs[0]

    def params(self, inputs: list[Shape]) -> int:
        return 0

    def macs(self, inputs: list[Shape], out: Shape) -> int:
        return 0

    def state(self, inputs: list[Shape]) -> tuple[tuple[str, Shape], ...]:
        """(suffix, shape) of each tensor the torch module keeps, in torch's order.

        Parameters and buffers, as in `state_dict`: conv -> weight, bias;
        bn -> weight, bias, running_mean, running_var, num_batches_tracked.
        Suffix "" is a parameter held by the node's container (`state_key`).
        """
        return ()

    def extra_ops(self, inputs: list[Shape], out: Shape) -> int:
        """Elementwise work not in `macs` (see docs/language.md, "Counting conventions"); 0 by default."""
        return 0

    INIT_JITTER: ClassVar[float] = 0.0  # seeded test weights: noise added to initial_value (see backends/onnx)

    def initial_value(self, suffix: str):
        """The constant a tensor starts at when the op fixes one (PReLU's slopes, a gate's bias); else None."""
        return None

    def branch_survival(self) -> float | None:
        """For an op that drops its whole input in training (stochastic depth): the probability it keeps it."""
        return None

    def attributes(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def describe(self) -> str:
        """Short text for tables and diagrams: `conv 3x3/2, 64`."""
        return self.kind


@dataclass(frozen=True)
class Elementwise(Op):
    """An op applied to every element on its own (activations): one elementwise op per element."""

    family = "act"
    TRAITS = Traits(minor=True)
    ELEMENTWISE_DOC = "1 per element"

    def extra_ops(self, inputs, out):
        return numel(out)


def fmt(shape: Shape) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def state_key(name: str, suffix: str) -> str:
    """The state_dict key of tensor `suffix` of node `name`; suffix "" is a parameter of the node's
    container itself, named after the node (torchvision's ConvNeXt `features.1.0.layer_scale`)."""
    return f"{name}.{suffix}" if suffix else name


def numel(shape: Shape) -> int:
    return math.prod(shape)
