"""One emitter per op kind: the torch module that computes a node, as source text.

    conv 3x3, 64 on 64x56x56   ->  nn.Conv2d(64, 64, 3, padding=1, bias=False)
    add of two inputs          ->  Add(inplace=True)

An emitter gets the node's op and an `EmitContext` (input and output shapes,
whether it may work in place, whether a following BN is folded into it) and
returns an `Emitted`: the constructor expression and the names of the
`torch_layers` definitions it needs. Every node becomes a module, so the
module tree mirrors the spec and forward hooks see every node; only nodes with
state add `state_dict` entries. Literals come from validated op attributes
(ints, floats, bools), never from spec text.

`FRESH_OUTPUT` lists the kinds whose output is a new tensor that backward does
not need: a single-use output of such a node may be overwritten in place by
the next node (ReLU, Add), as torchvision does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from archdsl.errors import ArchError
from archdsl.ir import Node
from archdsl.ops import Shape, fmt
from archdsl.ops.base import window_out


@dataclass(frozen=True)
class EmitContext:
    node: Node
    inputs: list[Shape]
    out: Shape
    inplace: bool = False  # may overwrite its first input
    fold_bn: bool = False  # a conv whose BN is folded into it: give it a bias


@dataclass(frozen=True)
class Emitted:
    ctor: str  # constructor expression, e.g. "nn.ReLU(inplace=True)"
    uses: tuple[str, ...] = ()  # torch_layers definitions it needs
    drop_path: bool = False  # forward passes it the network's drop-path draw (`drop_path=dp`)


Emitter = Callable[[object, EmitContext], Emitted]
EMITTERS: dict[str, Emitter] = {}
FRESH_OUTPUT: set[str] = set()
INPLACE_CAPABLE: set[str] = set()  # kinds whose emitter honours ctx.inplace


def emitter(kind: str, *, fresh_output: bool = False, inplace: bool = False):
    def register(fn: Emitter) -> Emitter:
        if kind in EMITTERS:
            raise ValueError(f"torch emitter for {kind!r} registered twice")
        EMITTERS[kind] = fn
        if fresh_output:
            FRESH_OUTPUT.add(kind)
        if inplace:
            INPLACE_CAPABLE.add(kind)
        return fn

    return register


def emit(op, ctx: EmitContext) -> Emitted:
    fn = EMITTERS.get(op.kind)
    if fn is None:
        raise ArchError(
            f"the torch backend has no emitter for op kind '{op.kind}' (in {ctx.node.name})", ctx.node.span
        )
    return fn(op, ctx)


# ---------------------------------------------------------------- literals


def lit(value) -> str:
    """A Python literal for a validated attribute value (repr of a str is a safe literal)."""
    if isinstance(value, (bool, str)) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, tuple):
        return "(" + ", ".join(lit(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    raise TypeError(f"no literal for {type(value).__name__}")  # a bug: ops hold only these


def square(pair: tuple[int, int]) -> str:
    """(3, 3) -> "3"; (1, 7) -> "(1, 7)"."""
    return lit(pair[0]) if pair[0] == pair[1] else lit(tuple(pair))


def call(ctor: str, *args: str, **kwargs: str | None) -> str:
    parts = list(args) + [f"{k}={v}" for k, v in kwargs.items() if v is not None]
    return f"{ctor}({', '.join(parts)})"


def _symmetric(padding) -> bool:
    top, bottom, left, right = padding
    return top == bottom and left == right


def _torch_pad(padding) -> str:
    top, bottom, left, right = padding
    return lit((left, right, top, bottom))


# ---------------------------------------------------------------- conv, norm


@emitter("conv", fresh_output=True)
def conv(op, ctx: EmitContext) -> Emitted:
    cin = ctx.inputs[0][0]
    bias = op.bias or ctx.fold_bn
    kwargs = dict(
        stride=square(op.stride) if op.stride != (1, 1) else None,
        padding=None,
        dilation=square(op.dilation) if op.dilation != (1, 1) else None,
        groups=lit(op.groups) if op.groups != 1 else None,
        bias=None if bias else "False",
    )
    args = (lit(cin), lit(op.out), square(op.kernel))
    if _symmetric(op.padding):
        top, _, left, _ = op.padding
        kwargs["padding"] = square((top, left)) if (top, left) != (0, 0) else None
        return Emitted(call("nn.Conv2d", *args, **kwargs))
    return Emitted(call("PaddedConv2d", _torch_pad(op.padding), *args, **kwargs), ("PaddedConv2d",))


@emitter("bn", fresh_output=True)
def batchnorm(op, ctx: EmitContext) -> Emitted:
    cls = "nn.BatchNorm2d" if len(ctx.inputs[0]) == 3 else "nn.BatchNorm1d"
    return Emitted(call(
        cls,
        lit(ctx.inputs[0][0]),
        eps=lit(op.eps) if op.eps != 1e-5 else None,
        momentum=lit(op.momentum) if op.momentum != 0.1 else None,
        affine=None if op.affine else "False",
    ))


# ---------------------------------------------------------------- activations


@emitter("relu", inplace=True)
def relu(op, ctx):
    return Emitted("nn.ReLU(inplace=True)" if ctx.inplace else "nn.ReLU()")


@emitter("leaky_relu", inplace=True)
def leaky_relu(op, ctx):
    return Emitted(call("nn.LeakyReLU", lit(op.slope), inplace="True" if ctx.inplace else None))


@emitter("sigmoid")
def sigmoid(op, ctx):
    return Emitted("nn.Sigmoid()")


@emitter("tanh")
def tanh(op, ctx):
    return Emitted("nn.Tanh()")


@emitter("elu")
def elu(op, ctx):
    return Emitted(call("nn.ELU", *((lit(op.alpha),) if op.alpha != 1.0 else ())))


@emitter("prelu", fresh_output=True)
def prelu(op, ctx):
    count = ctx.inputs[0][0] if op.per_channel else 1
    return Emitted(call("nn.PReLU", lit(count), init=lit(op.init) if op.init != 0.25 else None))


# ---------------------------------------------------------------- pooling


def _pool(op, ctx: EmitContext, torch_cls: str, padded_cls: str, extra: dict) -> Emitted:
    kwargs = dict(stride=square(op.stride) if op.stride != op.kernel else None, padding=None,
                  ceil_mode="True" if op.ceil else None, **extra)
    if _symmetric(op.padding):
        top, _, left, _ = op.padding
        kwargs["padding"] = square((top, left)) if (top, left) != (0, 0) else None
        return Emitted(call(torch_cls, square(op.kernel), **kwargs))
    _check_padded_pool(op, ctx)
    return Emitted(call(padded_cls, _torch_pad(op.padding), square(op.kernel), **kwargs), (padded_cls,))


def _check_padded_pool(op, ctx: EmitContext):
    """Per-side padding is F.pad then an unpadded pool; make sure that gives the analyser's shape."""
    _, h, w = ctx.inputs[0]
    top, bottom, left, right = op.padding
    dilation = getattr(op, "dilation", (1, 1))
    got = (
        window_out(h + top + bottom, op.kernel[0], op.stride[0], 0, 0, dilation[0], op.ceil, "height"),
        window_out(w + left + right, op.kernel[1], op.stride[1], 0, 0, dilation[1], op.ceil, "width"),
    )
    if got != tuple(ctx.out[1:]) or (op.kind == "avgpool" and not op.count_include_pad):
        raise ArchError(
            f"the torch backend cannot express this {op.kind} with per-side padding {op.padding}"
            f"{' and count_include_pad=false' if got == tuple(ctx.out[1:]) else ''}: torch would give "
            f"{fmt((ctx.out[0],) + got)} instead of {fmt(ctx.out)} (in {ctx.node.name})",
            ctx.node.span,
        )


@emitter("maxpool")
def maxpool(op, ctx):
    extra = {"dilation": square(op.dilation) if op.dilation != (1, 1) else None}
    return _pool(op, ctx, "nn.MaxPool2d", "PaddedMaxPool2d", extra)


@emitter("avgpool")
def avgpool(op, ctx):
    extra = {"count_include_pad": None if op.count_include_pad else "False"}
    return _pool(op, ctx, "nn.AvgPool2d", "PaddedAvgPool2d", extra)


@emitter("adaptive_avgpool")
def adaptive_avgpool(op, ctx):
    return Emitted(call("nn.AdaptiveAvgPool2d", lit(tuple(op.size))))


@emitter("adaptive_maxpool")
def adaptive_maxpool(op, ctx):
    return Emitted(call("nn.AdaptiveMaxPool2d", lit(tuple(op.size))))


@emitter("gap")
def global_avgpool(op, ctx):
    return Emitted("nn.AdaptiveAvgPool2d((1, 1))")


# ---------------------------------------------------------------- shape, linear, regularisers


@emitter("flatten")
def flatten(op, ctx):
    return Emitted("nn.Flatten()")


@emitter("linear", fresh_output=True)
def linear(op, ctx):
    return Emitted(call("nn.Linear", lit(ctx.inputs[0][0]), lit(op.out), bias=None if op.bias else "False"))


@emitter("dropout")
def dropout(op, ctx):
    return Emitted(call("nn.Dropout", lit(op.p)))


@emitter("identity")
def identity(op, ctx):
    return Emitted("nn.Identity()")


@emitter("scale", fresh_output=True)
def scale(op, ctx):
    return Emitted(call("Scale", lit(op.factor)), ("Scale",))


@emitter("zeropad")
def zeropad(op, ctx):
    stride = lit(op.stride) if op.stride != 1 else None
    return Emitted(call("ZeroPadShortcut", lit(ctx.inputs[0][0]), lit(op.out), stride=stride), ("ZeroPadShortcut",))


# ---------------------------------------------------------------- joins


@emitter("add", fresh_output=True, inplace=True)
def add(op, ctx):
    return Emitted("Add(inplace=True)" if ctx.inplace else "Add()", ("Add",))


def _join(kind: str, cls: str):
    @emitter(kind, fresh_output=True)
    def join(op, ctx):
        return Emitted(f"{cls}()", (cls,))

    return join


_join("mean", "Mean")
_join("max", "Max")
_join("mul", "Mul")
_join("concat", "Concat")


# ---------------------------------------------------------------- train-time ops, gates, sampling (issue 4)


@emitter("dwconv", fresh_output=True)
def dwconv(op, ctx):  # the elaborator resolves dwconv to conv; kept for hand-built graphs
    return conv(op.resolve(ctx.inputs), ctx)


@emitter("join", fresh_output=True)
def fractal_join(op, ctx):
    kwargs = {}
    if op.drop != "none":
        kwargs = dict(drop=lit(op.drop), p_local=lit(op.p_local), global_ratio=lit(op.global_ratio), group=lit(op.group))
    return Emitted(call("FractalJoin", lit(op.mode), lit(tuple(op.columns)), **kwargs), ("FractalJoin",),
                   drop_path=op.drop != "none")


@emitter("stochastic_depth", fresh_output=True)
def stochastic_depth(op, ctx):
    mode = lit(op.mode) if op.mode != "batch" else None
    return Emitted(call("StochasticDepth", lit(op.survival), mode=mode), ("StochasticDepth",))


@emitter("gate")  # not fresh: sigmoid's backward reads its output
def gate(op, ctx):
    stride = square(op.stride) if op.stride != (1, 1) else None
    return Emitted(call("Gate", _torch_pad(op.padding), lit(ctx.inputs[0][0]), lit(op.out), square(op.kernel),
                        stride=stride, bias_init=lit(op.bias_init)), ("Gate",))


@emitter("one_minus", fresh_output=True)
def one_minus(op, ctx):
    return Emitted("OneMinus()", ("OneMinus",))


@emitter("affine_theta", fresh_output=True)
def affine_theta(op, ctx):
    return Emitted(call("AffineTheta", lit(ctx.inputs[0][0]), init=lit(tuple(op.init))), ("AffineTheta",))


@emitter("affine_grid", fresh_output=True)
def affine_grid(op, ctx):
    align = "True" if op.align_corners else None
    return Emitted(call("AffineGrid", lit(tuple(op.size)), align_corners=align), ("AffineGrid",))


@emitter("grid_sample", fresh_output=True)
def grid_sample(op, ctx):
    return Emitted(call("GridSample", lit(op.mode), lit(op.padding_mode),
                        align_corners="True" if op.align_corners else None), ("GridSample",))
