"""How each op kind becomes a torch module, as source text: a table for the trivial ones, a function elsewhere.

    conv 3x3, 64 on 64x56x56   ->  nn.Conv2d(64, 64, 3, padding=1, bias=False)
    relu after a fresh tensor  ->  nn.ReLU(inplace=True)
    add of two inputs          ->  Add(inplace=True)

`CALLS` maps a kind to `Call(constructor, attributes...)`: the attributes are
printed positionally (a `(name, default)` pair only when it differs from the
default), and `inplace=True` is added where the op's traits allow it and the
code generator found its input fresh and used once. `EMITTERS` holds the
functions for ops whose lowering needs logic (padding modes, input widths).
Every node becomes a module, so the module tree mirrors the spec and forward
hooks see every node. Literals come from validated op attributes (ints,
floats, bools, tuples, known strings), never from spec text.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

from archdsl.errors import ArchError
from archdsl.ir import Node
from archdsl.ops import REGISTRY, Shape, fmt
from archdsl.ops.windows import window_out

from . import layers


@dataclass(frozen=True)
class EmitContext:
    node: Node
    inputs: list[Shape]
    out: Shape
    inplace: bool = False  # may overwrite its first input (the op allows it, and the input is fresh and used once)


@dataclass(frozen=True)
class Emitted:
    ctor: str  # constructor expression, e.g. "nn.ReLU(inplace=True)"
    drop_path: bool = False  # forward passes it the network's drop-path draw (`drop_path=dp`)
    parameter: bool = False  # ctor is an nn.Parameter of the container; forward multiplies by it

    @property
    def uses(self) -> tuple[str, ...]:
        """The torch_layers definitions the constructor names (copied into the generated file)."""
        return _uses(self.ctor)


@functools.lru_cache(maxsize=4096)  # a network has few distinct constructors, each on many nodes
def _uses(ctor: str) -> tuple[str, ...]:
    code = re.sub(r"'[^']*'", "''", ctor)  # names inside string literals do not count
    return tuple(name for name in re.findall(r"\b[A-Z]\w*", code) if name in RUNTIME)


RUNTIME = {name for name in vars(layers) if not name.startswith("_")}


@dataclass(frozen=True)
class Call:
    """A trivial lowering: `ctor(attr, ...)` from the op's attributes."""

    ctor: str
    args: tuple = ()  # attribute names, or (attribute, default) printed only when it differs

    def __call__(self, op, ctx: EmitContext) -> Emitted:
        parts = []
        for a in self.args:
            name, default = a if isinstance(a, tuple) else (a, _ALWAYS)
            value = getattr(op, name)
            if value != default:
                parts.append(lit(tuple(value) if isinstance(value, tuple) else value))
        if ctx.inplace:
            parts.append("inplace=True")
        return Emitted(f"{self.ctor}({', '.join(parts)})")


_ALWAYS = object()

CALLS: dict[str, Call] = {
    "relu": Call("nn.ReLU"),
    "leaky_relu": Call("nn.LeakyReLU", ("slope",)),
    "sigmoid": Call("nn.Sigmoid"),
    "tanh": Call("nn.Tanh"),
    "elu": Call("nn.ELU", (("alpha", 1.0),)),
    "relu6": Call("nn.ReLU6"),
    "hardtanh": Call("nn.Hardtanh", ("min", "max")),
    "silu": Call("nn.SiLU"),
    "hardswish": Call("nn.Hardswish"),
    "hardsigmoid": Call("nn.Hardsigmoid"),
    "mish": Call("nn.Mish"),
    "flatten": Call("nn.Flatten"),
    "pixel_shuffle": Call("nn.PixelShuffle", ("factor",)),
    "pixel_unshuffle": Call("nn.PixelUnshuffle", ("factor",)),
    "channel_shuffle": Call("nn.ChannelShuffle", ("groups",)),
    "dropout": Call("nn.Dropout", ("p",)),
    "identity": Call("nn.Identity"),
    "adaptive_avgpool": Call("nn.AdaptiveAvgPool2d", ("size",)),
    "adaptive_maxpool": Call("nn.AdaptiveMaxPool2d", ("size",)),
    "scale": Call("Scale", ("factor",)),
    "add": Call("Add"),
    "mean": Call("Mean"),
    "max": Call("Max"),
    "mul": Call("Mul"),
    "concat": Call("Concat"),
    "one_minus": Call("OneMinus"),
}

# The torch classes of the parameterless activations: where a block template's instances use
# different ones at one place, its class takes the class as `activation_layer` (torchvision's
# Conv2dNormActivation): `ConvBnAct(16, 64, activation_layer=nn.Hardswish)`.
ACTIVATION_LAYERS = frozenset(
    {call.ctor for kind, call in CALLS.items() if kind in REGISTRY and REGISTRY[kind].family == "act"}
    | {"nn.GELU", "nn.Softplus"})

Emitter = Callable[[object, EmitContext], Emitted]
EMITTERS: dict[str, Emitter] = {}


def emitter(kind: str):
    def register(fn: Emitter) -> Emitter:
        if kind in EMITTERS or kind in CALLS:
            raise ValueError(f"torch lowering for {kind!r} defined twice")
        EMITTERS[kind] = fn
        return fn

    return register


def emit(op, ctx: EmitContext) -> Emitted:
    fn = CALLS.get(op.kind) or EMITTERS.get(op.kind)
    if fn is None:
        raise ArchError(f"the torch backend has no emitter for op kind '{op.kind}' (in {ctx.node.name})",
                        ctx.node.span)
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


# ---------------------------------------------------------------- conv, norm, linear


@emitter("conv")
def conv(op, ctx: EmitContext) -> Emitted:
    kwargs = dict(
        stride=square(op.stride) if op.stride != (1, 1) else None,
        padding=None,
        dilation=square(op.dilation) if op.dilation != (1, 1) else None,
        groups=lit(op.groups) if op.groups != 1 else None,
        bias=None if op.bias else "False",
    )
    args = (lit(ctx.inputs[0][0]), lit(op.out), square(op.kernel))
    if _symmetric(op.padding):
        top, _, left, _ = op.padding
        kwargs["padding"] = square((top, left)) if (top, left) != (0, 0) else None
        return Emitted(call("nn.Conv2d", *args, **kwargs))
    return Emitted(call("PaddedConv2d", _torch_pad(op.padding), *args, **kwargs))


@emitter("dwconv")
def dwconv(op, ctx):  # the elaborator resolves dwconv to conv; kept for hand-built graphs
    return conv(op.resolve(ctx.inputs), ctx)


@emitter("bn")
def batchnorm(op, ctx: EmitContext) -> Emitted:
    if op.frozen:
        return Emitted(call("FrozenBatchNorm2d", lit(ctx.inputs[0][0]), eps=lit(op.eps) if op.eps != 1e-5 else None))
    cls = "nn.BatchNorm2d" if len(ctx.inputs[0]) == 3 else "nn.BatchNorm1d"
    return Emitted(call(cls, lit(ctx.inputs[0][0]), eps=lit(op.eps) if op.eps != 1e-5 else None,
                        momentum=lit(op.momentum) if op.momentum != 0.1 else None,
                        affine=None if op.affine else "False"))


@emitter("linear")
def linear(op, ctx):
    return Emitted(call("nn.Linear", lit(ctx.inputs[0][-1]), lit(op.out), bias=None if op.bias else "False"))


@emitter("layer_scale")
def layer_scale(op, ctx):
    shape = (ctx.inputs[0][0],) + (1,) * (len(ctx.inputs[0]) - 1)
    return Emitted(f"nn.Parameter(torch.full({lit(shape)}, {lit(op.init)}))", parameter=True)


@emitter("permute")
def permute(op, ctx):
    return Emitted(call("Permute", lit(tuple(op.dims))))


@emitter("gelu")
def gelu(op, ctx):
    return Emitted(call("nn.GELU", approximate=None if op.approximate == "none" else lit(op.approximate)))


@emitter("softplus")
def softplus(op, ctx):
    return Emitted(call("nn.Softplus", beta=lit(op.beta) if op.beta != 1.0 else None,
                        threshold=lit(op.threshold) if op.threshold != 20.0 else None))


@emitter("softmax")
def softmax(op, ctx):
    return Emitted(call("nn.Softmax", "1"))


@emitter("layernorm")
def layernorm(op, ctx):
    cls = "LayerNorm2d" if len(ctx.inputs[0]) == 3 and op.over == "channels" else "nn.LayerNorm"
    return Emitted(call(cls, lit(op.normalized(ctx.inputs)), eps=lit(op.eps) if op.eps != 1e-5 else None,
                        elementwise_affine=None if op.affine else "False"))


@emitter("groupnorm")
def groupnorm(op, ctx):
    return Emitted(call("nn.GroupNorm", lit(op.groups), lit(ctx.inputs[0][0]), eps=lit(op.eps) if op.eps != 1e-5 else None,
                        affine=None if op.affine else "False"))


@emitter("instancenorm")
def instancenorm(op, ctx):
    return Emitted(call("nn.InstanceNorm2d", lit(ctx.inputs[0][0]), eps=lit(op.eps) if op.eps != 1e-5 else None,
                        affine="True" if op.affine else None))


@emitter("convt")
def conv_transpose(op, ctx):
    return Emitted(call("nn.ConvTranspose2d", lit(ctx.inputs[0][0]), lit(op.out), square(op.kernel),
                        stride=square(op.stride) if op.stride != (1, 1) else None,
                        padding=square(op.padding) if op.padding != (0, 0) else None,
                        output_padding=square(op.output_padding) if op.output_padding != (0, 0) else None,
                        groups=lit(op.groups) if op.groups != 1 else None, bias=None if op.bias else "False",
                        dilation=square(op.dilation) if op.dilation != (1, 1) else None))


@emitter("upsample")
def upsample(op, ctx):
    by = dict(size=square(op.size)) if op.size is not None else dict(scale_factor=lit(float(op.scale)))
    return Emitted(call("nn.Upsample", **by, mode=lit(op.mode) if op.mode != "nearest" else None,
                        align_corners="True" if op.mode == "bilinear" and op.align_corners else
                        "False" if op.mode == "bilinear" else None))


@emitter("crop")
def crop(op, ctx):
    top, left = op.offsets(ctx.inputs)
    return Emitted(call("CenterCrop", lit(top), lit(left), lit(op.size[0]), lit(op.size[1])))


@emitter("slice")
def channel_slice(op, ctx):
    return Emitted(call("ChannelSlice", lit(op.start), lit(op.stop)))


@emitter("prelu")
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
    return Emitted(call(padded_cls, _torch_pad(op.padding), square(op.kernel), **kwargs))


def _check_padded_pool(op, ctx: EmitContext):
    """Per-side padding is F.pad then an unpadded pool; make sure that gives the analyser's shape."""
    _, h, w = ctx.inputs[0]
    top, bottom, left, right = op.padding
    dilation = getattr(op, "dilation", (1, 1))
    got = (
        window_out(h + top + bottom, op.kernel[0], op.stride[0], 0, 0, dilation[0], op.ceil, "height"),
        window_out(w + left + right, op.kernel[1], op.stride[1], 0, 0, dilation[1], op.ceil, "width"),
    )
    excluded = not getattr(op, "count_include_pad", True)
    if got != tuple(ctx.out[1:]) or excluded:
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


@emitter("gap")
def global_avgpool(op, ctx):
    return Emitted("nn.AdaptiveAvgPool2d((1, 1))")


# ---------------------------------------------------------------- shortcuts, train-time ops, gates, sampling


@emitter("zeropad")
def zeropad(op, ctx):
    stride = lit(op.stride) if op.stride != 1 else None
    return Emitted(call("ZeroPadShortcut", lit(ctx.inputs[0][0]), lit(op.out), stride=stride,
                        place=lit(op.place) if op.place != "split" else None,
                        subsample=lit(op.subsample) if op.subsample != "stride" else None))


@emitter("join")
def fractal_join(op, ctx):
    kwargs = {}
    if op.drop != "none":
        kwargs = dict(drop=lit(op.drop), p_local=lit(op.p_local), global_ratio=lit(op.global_ratio), group=lit(op.group))
    return Emitted(call("FractalJoin", lit(op.mode), lit(tuple(op.columns)), **kwargs), drop_path=op.drop != "none")


@emitter("stochastic_depth")
def stochastic_depth(op, ctx):
    mode = lit(op.mode) if op.mode != "batch" else None
    return Emitted(call("StochasticDepth", lit(op.survival), mode=mode))


@emitter("drop_path")
def drop_path(op, ctx):
    return Emitted(call("DropPath", lit(op.p), mode=lit(op.mode) if op.mode != "row" else None))


@emitter("gate")
def gate(op, ctx):
    stride = square(op.stride) if op.stride != (1, 1) else None
    return Emitted(call("Gate", _torch_pad(op.padding), lit(ctx.inputs[0][0]), lit(op.out), square(op.kernel),
                        stride=stride, bias_init=lit(op.bias_init)))


@emitter("affine_theta")
def affine_theta(op, ctx):
    return Emitted(call("AffineTheta", lit(ctx.inputs[0][0]), init=lit(tuple(op.init))))


@emitter("affine_grid")
def affine_grid(op, ctx):
    align = "True" if op.align_corners else None
    return Emitted(call("AffineGrid", lit(tuple(op.size)), align_corners=align))


@emitter("grid_sample")
def grid_sample(op, ctx):
    return Emitted(call("GridSample", lit(op.mode), lit(op.padding_mode),
                        align_corners="True" if op.align_corners else None))
