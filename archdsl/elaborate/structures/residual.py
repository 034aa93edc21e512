"""`residual(...) { F } [shortcut { h }]`: x's shortcut plus the branch, with the residual options.

    x -> F -> [scale] -> [mul T] -> [stochastic_depth] ----+
    x -> h -> [shortcut_scale] -> [dropout] -> [mul 1-T] --+-> add -> [relu | bn, relu]
    (T = gate(x), for gate=exclusive; shortcut_only gates h only)

`sum_paths` is shared with multi_residual (x + F1(x) + F2(x)) and poly
(x + F(x) + G(F(x))). Each unit is recorded in the IR (ir.ResidualUnit: its
fork, body, shortcut, join and tail) and its add's inputs get their roles
(branches close a body, the shortcut skips), so the path analyses, the
unraveled view, `without` and zero-init read the structure instead of
guessing it.

| `shortcut=` | shortcut path |
|---|---|
| auto | identity where the branch keeps the shape, else projection |
| identity | always identity; a shape change is an error naming both shapes |
| projection | 1x1 conv (stride to match) + BN, named `downsample.0`, `downsample.1` |
| zeropad | identity, or subsample + zero channels where the shape changes (option A) |
| conv | a 1x1 conv, no BN (the identity-mappings paper's "1x1 conv shortcut") |
| none | no shortcut: the plain counterpart |
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ...errors import ArchError, Span
from ...ir import ResidualUnit, Role
from ...ops import REGISTRY, Shape, fmt
from .base import Structure, arg, flag, name, number, one_of, positive_odd, record_join, structure

SHORTCUTS = ("auto", "identity", "projection", "zeropad", "conv", "none")


@dataclass(frozen=True)
class ResidualArgs:
    shortcut: str = arg("auto", one_of(*SHORTCUTS), "the shortcut path (table above)")
    after: str = arg("relu", one_of("relu", "bn_relu", "none"), "what follows the add")
    scale: float = arg(1.0, number(), "the branch is multiplied by it before the add")
    shortcut_name: str = arg("downsample", name, "the name of a projection or zero-padding shortcut")
    frozen_norm: bool = arg(False, flag, "the projection's BN is frozen (torchvision's FrozenBatchNorm2d)")
    zeropad_place: str = arg("split", one_of("split", "end"), "zeropad: the zero channels around the input's, or after")
    zeropad_subsample: str = arg("stride", one_of("stride", "avgpool"), "zeropad: subsample by striding or pooling")
    shortcut_scale: float = arg(1.0, number(), "the shortcut is multiplied by it")
    shortcut_dropout: float = arg(0.0, number(0.0, 1.0), "dropout on the shortcut")
    survival: float = arg(1.0, number(0.0, 1.0, low_open=True), "stochastic depth: the branch survives with p")
    decay: str = arg("uniform", one_of("uniform", "linear"), "linear: block l of L survives with 1 - l/L (1 - p_L)")


@dataclass(frozen=True)
class GatedResidualArgs(ResidualArgs):
    gate: str = arg("none", one_of("none", "exclusive", "shortcut_only"), "highway / gated shortcut")
    gate_bias: float = arg(0.0, number(), "the gate's bias at initialisation")
    gate_kernel: int = arg(1, positive_odd, "the gate conv's kernel")


@structure
class Residual(Structure):
    keyword = "residual"
    Config = GatedResidualArgs
    takes_shortcut = True

    def build(self, e, call, cur: int) -> int:
        start = len(e.shapes)
        branch = e.sequence(call.unit.body, cur, call.scope, call.names)
        if branch == cur and call.config.shortcut != "none":
            raise ArchError("this residual branch is empty: the block would add its input to itself "
                            "(write `identity` in the branch if that is meant)", call.unit.body.span)
        return sum_paths(e, call, cur, [branch], start, "residual")

    def finish(self, e) -> None:
        """Resolve linear-decay survival: p_l = 1 - l/L * (1 - p_L), l = 1..L in network order."""
        decays = e.state.get("linear_decay", [])
        for l, (nid, last) in enumerate(decays, start=1):
            node = e.g.node(nid)
            survival = 1.0 - l / len(decays) * (1.0 - last)
            e.g.replace(nid, replace(node, op=replace(node.op, survival=survival)))


def sum_paths(e, call, cur: int, branches: list[int], start: int, kind: str) -> int:
    """x's shortcut plus every branch, with the residual options applied; see the module doc."""
    c, names, span = call.config, call.names, call.span
    out_shape = e.shapes[branches[0]]
    for b in branches[1:]:
        if e.shapes[b] != out_shape:
            raise ArchError(f"the branches give different shapes: {fmt(out_shape)} and {fmt(e.shapes[b])}", span)
    in_shape = e.shapes[cur]
    if c.scale != 1.0:
        branches = [e.op("scale", names, "scale", span, [b], factor=c.scale) for b in branches]
    gate = getattr(c, "gate", "none")
    carry = None
    if gate != "none":
        t = _gate(e, call, in_shape, out_shape, cur)
        if gate == "exclusive":
            branches = [e.op("mul", names, "gated", span, [branches[0], t])]
        carry = e.op("one_minus", names, "carry", span, [t])
    if c.survival < 1.0:
        branches = [_stochastic_depth(e, call, b) for b in branches]
    shortcut_start = len(e.shapes)
    shortcut = _shortcut_path(e, call, cur, in_shape, out_shape, carry)
    inputs = branches + ([shortcut] if shortcut is not None else [])
    if len(inputs) == 1:
        out = join = inputs[0]
    else:
        join = e.op("add", names, "add", span, inputs)
        record_join(e, join, (Role.BODY,) * len(branches) + ((Role.SKIP,) if shortcut is not None else ()))
        out = join
    tail_start = len(e.shapes)
    if c.after == "bn_relu":
        out = e.op("bn", names, "bn_out", span, [out])
    if c.after in ("relu", "bn_relu"):
        out = e.op("relu", names, "relu_out", span, [out])
    if shortcut is not None and len(inputs) > 1:
        e.g.units.append(ResidualUnit(kind, cur, tuple(range(start, shortcut_start)),
                                      tuple(range(shortcut_start, join)), shortcut, join,
                                      tuple(range(tail_start, len(e.shapes)))))
    return out


def _stochastic_depth(e, call, branch: int) -> int:
    nid = e.op("stochastic_depth", call.names, "stochastic_depth", call.span, [branch], survival=call.config.survival)
    if call.config.decay == "linear":
        e.state.setdefault("linear_decay", []).append((nid, call.config.survival))
    return nid


def _shortcut_path(e, call, cur, in_shape, out_shape, carry) -> int | None:
    """The shortcut's last node (cur for the identity), with its scaling, dropout and carry gate; None for none."""
    c, names, span = call.config, call.names, call.span
    shortcut = _shortcut(e, call, cur, in_shape, out_shape)
    if shortcut is None:
        if carry is not None:
            raise ArchError("a gate needs a shortcut to gate (shortcut=none was given)", call.span_of("gate"))
        return None
    if c.shortcut_scale != 1.0:
        shortcut = e.op("scale", names, "shortcut_scale", span, [shortcut], factor=c.shortcut_scale)
    if c.shortcut_dropout > 0.0:
        shortcut = e.op("dropout", names, "shortcut_dropout", span, [shortcut], p=c.shortcut_dropout)
    if carry is not None:
        shortcut = e.op("mul", names, "carried", span, [shortcut, carry])
    if e.shapes[shortcut] != out_shape:
        raise ArchError(f"residual add: the branch gives {fmt(out_shape)} but the shortcut gives "
                        f"{fmt(e.shapes[shortcut])} (input {fmt(in_shape)}); use shortcut=auto or projection", span)
    return shortcut


def _shortcut(e, call, cur, in_shape, out_shape) -> int | None:
    unit, c, names, span = call.unit, call.config, call.names, call.span
    if unit.shortcut is not None:
        if "shortcut" in call.spans:
            raise ArchError("give either shortcut=... or a shortcut { } body, not both", call.span_of("shortcut"))
        inner = names.child(names.claim(c.shortcut_name, unit.shortcut.span))
        e.module(inner.prefix, "shortcut", unit.shortcut.span)
        return e.sequence(unit.shortcut, cur, call.scope, inner)
    choice = c.shortcut
    if choice == "none":
        return None
    if choice == "identity" or (choice in ("auto", "zeropad") and in_shape == out_shape):
        return cur
    stride = shortcut_stride(in_shape, out_shape, span)
    if choice == "zeropad":
        return e.add(REGISTRY["zeropad"](out=out_shape[0], stride=stride[0], place=c.zeropad_place,
                                         subsample=c.zeropad_subsample),
                     names.qualify(names.claim(c.shortcut_name, span)), span, [cur])
    conv = REGISTRY["conv"](out=out_shape[0], kernel=(1, 1), stride=stride, bias=False)
    if choice == "conv":
        return e.add(conv, names.qualify(names.claim(c.shortcut_name, span)), span, [cur])
    # projection, or auto with a change of shape: 1x1 conv + BN (torchvision's `downsample`)
    inner = names.child(names.claim(c.shortcut_name, span))
    e.module(inner.prefix, "shortcut", span)
    proj = e.add(conv, inner.qualify(inner.claim(None, span)), span, [cur])
    return e.add(REGISTRY["bn"](frozen=c.frozen_norm), inner.qualify(inner.claim(None, span)), span, [proj])


def _gate(e, call, in_shape, out_shape, cur) -> int:
    """T(x) = sigmoid(conv_k(x) + b) with the branch's output shape."""
    k = call.config.gate_kernel
    stride = shortcut_stride(in_shape, out_shape, call.span)
    return e.op("gate", call.names, "gate", call.span, [cur], out=out_shape[0], kernel=(k, k), stride=stride,
                padding=(k // 2,) * 4, bias_init=call.config.gate_bias)


def shortcut_stride(in_shape: Shape, out_shape: Shape, span: Span) -> tuple[int, int]:
    """The stride a 1x1 shortcut needs to map in_shape's grid onto out_shape's."""
    if len(in_shape) != 3 or len(out_shape) != 3:
        raise ArchError(f"a residual shortcut needs CxHxW shapes, got {fmt(in_shape)} -> {fmt(out_shape)}", span)
    strides = []
    for size_in, size_out, axis in ((in_shape[1], out_shape[1], "height"), (in_shape[2], out_shape[2], "width")):
        stride = next((s for s in range(1, size_in + 1) if -(-size_in // s) == size_out), None)
        if stride is None:
            raise ArchError(f"no strided shortcut maps the input {axis} {size_in} onto the branch's {size_out} "
                            f"(input {fmt(in_shape)}, branch {fmt(out_shape)})", span)
        strides.append(stride)
    return (strides[0], strides[1])
