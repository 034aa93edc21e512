"""Ops that opset 17 has no single node for, or lays out differently, as several ONNX nodes.

    silu            x * Sigmoid(x)                     (Swish: opset 24)
    gelu            x/2 (1 + Erf(x / sqrt 2)), tanh form (Gelu: opset 20)
    mish            x * Tanh(Softplus(x))              (Mish: opset 18)
    relu6 hardtanh  Clip with constant bounds
    groupnorm       InstanceNormalization over (N, G, C/G·H·W), then the per-channel affine (opset 18's
                    GroupNormalization changed meaning in opset 21)
    layernorm       LayerNormalization on the last axis: a CxHxW map is transposed to channels-last and back
    channel_shuffle, pixel_unshuffle   Reshape / Transpose / Reshape (SpaceToDepth orders channels as DCR)
    upsample to a size                 Gather (nearest) or MatMul by interpolation matrices (bilinear)

The helper nodes are named `<node>/<step>`, the last one after the node.
"""
from __future__ import annotations

import numpy as np

from .lowering import Lowering, emits


def _int64(values) -> np.ndarray:
    return np.array(values, np.int64)


def _clip(e: Lowering, low: float, high: float) -> str:
    return e.add("Clip", [e.x, e.const("min", np.float32(low)), e.const("max", np.float32(high))])


@emits("relu6")
def relu6(e: Lowering) -> str:
    return _clip(e, 0.0, 6.0)


@emits("hardtanh")
def hardtanh(e: Lowering) -> str:
    return _clip(e, e.op.min, e.op.max)


@emits("silu")
def silu(e: Lowering) -> str:
    return e.add("Mul", [e.x, e.add("Sigmoid", [e.x], step="sigmoid")])


@emits("gelu")
def gelu(e: Lowering) -> str:
    """Gelu arrives in opset 20: x/2 (1 + erf(x / sqrt 2)), or the tanh form."""
    x = e.x
    if e.op.approximate == "tanh":
        cube = e.add("Mul", [e.add("Mul", [x, x], step="square"), x], step="cube")
        inner = e.add("Add", [x, e.add("Mul", [cube, e.const("k", np.float32(0.044715))], step="k_cube")], step="inner")
        scaled = e.add("Mul", [inner, e.const("sqrt_2_over_pi", np.float32(np.sqrt(2 / np.pi)))], step="scaled")
        phi = e.add("Tanh", [scaled], step="tanh")
    else:
        phi = e.add("Erf", [e.add("Div", [x, e.const("sqrt_2", np.float32(np.sqrt(2.0)))], step="div")], step="erf")
    one_plus = e.add("Add", [phi, e.const("one", np.float32(1.0))], step="one_plus")
    half_x = e.add("Mul", [x, e.const("half", np.float32(0.5))], step="half_x")
    return e.add("Mul", [half_x, one_plus])


def _softplus(e: Lowering, beta: float, step: str | None) -> str:
    if beta == 1.0:
        return e.add("Softplus", [e.x], step=step)
    scale = e.const("beta", np.float32(beta))
    inner = e.add("Softplus", [e.add("Mul", [e.x, scale], step="beta_x")], step="softplus")
    return e.add("Div", [inner, scale], step=step)


@emits("softplus")
def softplus(e: Lowering) -> str:
    """log(1 + exp(beta x)) / beta; torch's threshold (x past it) differs from this by < 1e-8 relative."""
    return _softplus(e, e.op.beta, None)


@emits("mish")
def mish(e: Lowering) -> str:
    """Mish arrives in opset 18: x * tanh(softplus(x))."""
    return e.add("Mul", [e.x, e.add("Tanh", [_softplus(e, 1.0, "softplus")], step="tanh")])


# ---------------------------------------------------------------- norms


@emits("layernorm")
def layer_norm(e: Lowering) -> str:
    c = e.op.normalized(e.ins)
    scale = e.weight("weight") if e.op.affine else e.const("scale", np.ones(c, np.float32))
    shift = e.weight("bias") if e.op.affine else e.const("shift", np.zeros(c, np.float32))
    if len(e.ins[0]) == 1 or e.op.over == "last":
        return e.add("LayerNormalization", [e.x, scale, shift], axis=-1, epsilon=e.op.eps)
    last = e.add("Transpose", [e.x], step="channels_last", perm=[0, 2, 3, 1])
    normed = e.add("LayerNormalization", [last, scale, shift], step="norm", axis=-1, epsilon=e.op.eps)
    return e.add("Transpose", [normed], perm=[0, 3, 1, 2])


def _per_channel_affine(e: Lowering, x: str) -> str:
    if not e.op.affine:
        return e.add("Identity", [x])
    column = (lambda w: w.reshape(-1, 1, 1))
    scaled = e.add("Mul", [x, e.weight("weight", column)], step="scale")
    return e.add("Add", [scaled, e.weight("bias", column)])


@emits("groupnorm")
def group_norm(e: Lowering) -> str:
    c, h, w = e.ins[0]
    g = e.op.groups
    grouped = e.add("Reshape", [e.x, e.const("grouped_shape", _int64([0, g, -1]))], step="grouped")
    normed = e.add("InstanceNormalization", [grouped, e.const("ones", np.ones(g, np.float32)),
                                             e.const("zeros", np.zeros(g, np.float32))], step="norm", epsilon=e.op.eps)
    back = e.add("Reshape", [normed, e.const("map_shape", _int64([0, c, h, w]))], step="map")
    return _per_channel_affine(e, back)


@emits("instancenorm")
def instance_norm(e: Lowering) -> str:
    c = e.ins[0][0]
    scale = e.weight("weight") if e.op.affine else e.const("scale", np.ones(c, np.float32))
    shift = e.weight("bias") if e.op.affine else e.const("shift", np.zeros(c, np.float32))
    return e.add("InstanceNormalization", [e.x, scale, shift], epsilon=e.op.eps)


# ---------------------------------------------------------------- resolution and channel order


@emits("convt")
def conv_transpose(e: Lowering) -> str:
    op = e.op
    inputs = [e.x, e.weight("weight")] + ([e.weight("bias")] if op.bias else [])
    ph, pw = op.padding
    return e.add("ConvTranspose", inputs, kernel_shape=list(op.kernel), strides=list(op.stride),
                 pads=[ph, pw, ph, pw], output_padding=list(op.output_padding), dilations=list(op.dilation),
                 group=op.groups)


@emits("upsample")
def upsample(e: Lowering) -> str:
    """As torch's nn.Upsample. By a scale: Resize (nearest: asymmetric + floor; bilinear: half-pixel or
    align-corners). To a size: torch's source positions computed here, so the shapes stay static --
    nearest gathers rows and columns, bilinear multiplies by the two interpolation matrices."""
    op = e.op
    if op.size is None:
        if op.mode == "nearest":
            modes = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        else:
            modes = dict(mode="linear",
                         coordinate_transformation_mode="align_corners" if op.align_corners else "half_pixel")
        scales = e.const("scales", np.array([1.0, 1.0, op.scale, op.scale], np.float32))
        return e.add("Resize", [e.x, "", scales], **modes)
    (_, h, w), (_, ho, wo) = e.ins[0], e.shape
    if op.mode == "nearest":
        rows = e.add("Gather", [e.x, e.const("row_index", _int64(_nearest(h, ho)))], step="rows", axis=2)
        return e.add("Gather", [rows, e.const("column_index", _int64(_nearest(w, wo)))], axis=3)
    across = e.add("MatMul", [e.x, e.const("column_weights", _bilinear(w, wo, op.align_corners).T)], step="columns")
    return e.add("MatMul", [e.const("row_weights", _bilinear(h, ho, op.align_corners)), across])


def _nearest(size: int, out: int) -> list[int]:
    """torch's nearest source index: floor(i * (size / out)) in float32."""
    scale = np.float32(size) / np.float32(out)
    return [min(int(np.floor(np.float32(i) * scale)), size - 1) for i in range(out)]


def _bilinear(size: int, out: int, align_corners: bool) -> np.ndarray:
    """The (out, size) matrix of torch's bilinear weights along one axis (float32 source positions)."""
    if align_corners:
        scale = np.float32((size - 1) / (out - 1)) if out > 1 else np.float32(0)
    else:
        scale = np.float32(size) / np.float32(out)
    matrix = np.zeros((out, size), np.float32)
    for i in range(out):
        src = scale * np.float32(i) if align_corners else max(scale * (np.float32(i) + np.float32(0.5)) - np.float32(0.5), 0)
        low = int(src)
        high = low + (1 if low < size - 1 else 0)
        frac = np.float32(src) - np.float32(low)
        matrix[i, low] += np.float32(1) - frac
        matrix[i, high] += frac
    return matrix


@emits("pixel_shuffle")
def pixel_shuffle(e: Lowering) -> str:
    return e.add("DepthToSpace", [e.x], blocksize=e.op.factor, mode="CRD")


@emits("pixel_unshuffle")
def pixel_unshuffle(e: Lowering) -> str:
    c, h, w = e.ins[0]
    r = e.op.factor
    split = e.add("Reshape", [e.x, e.const("split_shape", _int64([0, c, h // r, r, w // r, r]))], step="split")
    moved = e.add("Transpose", [split], step="move", perm=[0, 1, 3, 5, 2, 4])
    return e.add("Reshape", [moved, e.const("out_shape", _int64([0, c * r * r, h // r, w // r]))])


@emits("channel_shuffle")
def channel_shuffle(e: Lowering) -> str:
    c, h, w = e.ins[0]
    g = e.op.groups
    split = e.add("Reshape", [e.x, e.const("split_shape", _int64([0, g, c // g, h, w]))], step="split")
    swapped = e.add("Transpose", [split], step="swap", perm=[0, 2, 1, 3, 4])
    return e.add("Reshape", [swapped, e.const("out_shape", _int64([0, c, h, w]))])


@emits("crop")
def crop(e: Lowering) -> str:
    top, left = e.op.offsets(e.ins)
    h, w = e.op.size
    return e.add("Slice", [e.x, e.const("starts", _int64([top, left])), e.const("ends", _int64([top + h, left + w])),
                           e.const("axes", _int64([2, 3]))])


@emits("slice")
def channel_slice(e: Lowering) -> str:
    return e.add("Slice", [e.x, e.const("start", _int64([e.op.start])), e.const("stop", _int64([e.op.stop])),
                           e.const("axis", _int64([1]))])


@emits("permute")
def permute(e: Lowering) -> str:
    return e.add("Transpose", [e.x], perm=list(e.op.dims))


@emits("layer_scale")
def layer_scale(e: Lowering) -> str:
    return e.add("Mul", [e.x, e.weight("")])
