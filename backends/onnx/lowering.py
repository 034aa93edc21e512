"""How each op kind becomes ONNX nodes: a table for the one-node ones, a function elsewhere.

`NODES` maps a kind to (ONNX op type, {ONNX attribute: op attribute name or a
constant}); an op that is the identity in eval (trait `eval_identity`:
dropout, identity) emits nothing. `EMITTERS` holds the functions: each gets a
`Lowering` (the node, its input tensor names and shapes, the name its result
must have) and returns the name of the tensor holding the node's output. Most
emit one ONNX node named like the IR node:

    layer1.0.conv1: conv(64, 3, padding=1, bias=false)
      ->  Conv(layer1.0.relu_out, layer1.0.conv1.weight) -> layer1.0.conv1
          name "layer1.0.conv1", kernel_shape [3, 3], pads [1, 1, 1, 1]

Ops that need several ONNX nodes name the helpers `<node>/<step>`
(`layer2.0.downsample/subsample`); ops that are the identity in eval mode
(dropout, identity) emit nothing and return their input's name.
Shapes are static except the batch, so emitters may compute constants from them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from onnx import helper

from archdsl.errors import ArchError

NODES: dict[str, tuple[str, dict]] = {
    "relu": ("Relu", {}),
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "gap": ("GlobalAveragePool", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": "slope"}),
    "elu": ("Elu", {"alpha": "alpha"}),
    "flatten": ("Flatten", {"axis": 1}),
    "hardswish": ("HardSwish", {}),
    "hardsigmoid": ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}),
    "softmax": ("Softmax", {"axis": 1}),
}
EMITTERS: dict[str, Callable[["Lowering"], str]] = {}


def emits(*kinds: str):
    def register(fn):
        for kind in kinds:
            if kind in EMITTERS or kind in NODES:
                raise ValueError(f"ONNX lowering for {kind!r} defined twice")
            EMITTERS[kind] = fn
        return fn

    return register


def lowers(op) -> bool:
    """Whether the ONNX backend can lower this op."""
    return op.kind in NODES or op.kind in EMITTERS or op.traits.eval_identity


def lower(e: "Lowering") -> str:
    """Emit the ONNX nodes of one IR node; returns the tensor holding its output."""
    kind = e.op.kind
    if kind in NODES:
        op_type, attributes = NODES[kind]
        values = {k: getattr(e.op, v) if isinstance(v, str) else v for k, v in attributes.items()}
        return e.add(op_type, [e.x], **values)
    if kind in EMITTERS:
        return EMITTERS[kind](e)
    if e.op.traits.eval_identity:
        return e.x  # eval behaviour: nothing to compute
    raise ArchError(f"the ONNX backend cannot lower '{kind}' (node {e.node.name}): no ONNX emitter for this op kind",
                    e.node.span)


class Lowering:
    """What an emitter sees of one IR node, and how it adds ONNX nodes and tensors."""

    def __init__(self, model, nid, node, xs, ins, shape, out):
        self.model = model  # the ModelBuilder (nodes, initializers, weights)
        self.nid = nid
        self.node = node  # ir.Node
        self.op = node.op
        self.xs = xs  # input tensor names, in input order
        self.ins = ins  # input shapes (no batch)
        self.shape = shape  # output shape (no batch)
        self.out = out  # the name the node's final output must have

    @property
    def x(self) -> str:
        return self.xs[0]

    def add(self, op_type: str, inputs: list[str], step: str | None = None, **attrs) -> str:
        """Add an ONNX node; the final one (step=None) is named after the IR node and writes `out`."""
        name = self.node.name if step is None else f"{self.node.name}/{step}"
        output = self.out if step is None else name
        self.model.nodes.append(helper.make_node(op_type, inputs, [output], name=name, **attrs))
        return output

    def weight(self, suffix: str, transform=None) -> str:
        """The state_dict tensor `<node>.<suffix>` as an initializer (optionally reshaped/transformed)."""
        key = self.model.weight_name(self.node, suffix)
        name = key if suffix else f"{key}/parameter"  # a container's parameter named like the node's output
        if name not in self.model.initialized:
            value = self.model.weights[key]
            self.model.add_initializer(name, value if transform is None else transform(value))
        return name

    def const(self, step: str, value) -> str:
        name = f"{self.node.name}/{step}"
        self.model.add_initializer(name, np.asarray(value))
        return name


def _pads(p):
    """IR padding (top, bottom, left, right) -> ONNX pads (top, left, bottom, right)."""
    top, bottom, left, right = p
    return [top, left, bottom, right]


# ---------------------------------------------------------------- layers


@emits("conv")
def conv(e: Lowering) -> str:
    op = e.op
    if e.node.name in e.model.folds:
        weight, bias = e.model.folded_conv(e.node)
        inputs = [e.x, e.model.add_initializer(f"{e.node.name}.weight", weight),
                  e.model.add_initializer(f"{e.node.name}.bias", bias)]
    else:
        inputs = [e.x, e.weight("weight")] + ([e.weight("bias")] if op.bias else [])
    return e.add("Conv", inputs, kernel_shape=list(op.kernel), strides=list(op.stride),
                 pads=_pads(op.padding), dilations=list(op.dilation), group=op.groups)


@emits("bn")
def batch_norm(e: Lowering) -> str:
    c = e.ins[0][0]
    if e.op.affine:
        scale, shift = e.weight("weight"), e.weight("bias")
    else:
        scale, shift = e.const("scale", np.ones(c, np.float32)), e.const("shift", np.zeros(c, np.float32))
    return e.add("BatchNormalization", [e.x, scale, shift, e.weight("running_mean"), e.weight("running_var")],
                 epsilon=e.op.eps)


@emits("dwconv")
def depthwise_conv(e: Lowering) -> str:
    """The elaborator resolves dwconv to a grouped conv; an unresolved one lowers the same way."""
    e.op = e.op.resolve(e.ins)
    return conv(e)


@emits("linear")
def linear(e: Lowering) -> str:
    if len(e.ins[0]) > 1:  # over the last axis of a channels-last map: MatMul by the transposed weight
        product = e.add("MatMul", [e.x, e.weight("weight", lambda w: np.ascontiguousarray(w.T))],
                        step="matmul" if e.op.bias else None)
        return e.add("Add", [product, e.weight("bias")]) if e.op.bias else product
    inputs = [e.x, e.weight("weight")] + ([e.weight("bias")] if e.op.bias else [])
    return e.add("Gemm", inputs, transB=1)


@emits("affine_theta")
def affine_theta(e: Lowering) -> str:
    return e.add("Gemm", [e.x, e.weight("weight"), e.weight("bias")], transB=1)


@emits("prelu")
def prelu(e: Lowering) -> str:
    # torch keeps one slope per channel as (C,); ONNX broadcasts from the right, so CxHxW needs (C, 1, 1)
    tail = (1,) * (len(e.ins[0]) - 1)
    return e.add("PRelu", [e.x, e.weight("weight", lambda w: w.reshape(w.shape + tail))])


@emits("scale")
def scale(e: Lowering) -> str:
    return e.add("Mul", [e.x, e.const("factor", np.float32(e.op.factor))])


@emits("stochastic_depth")
def stochastic_depth(e: Lowering) -> str:
    """Eval mode: the branch times its survival probability (Huang et al.'s test rule)."""
    if e.op.survival == 1.0:
        return e.x
    return e.add("Mul", [e.x, e.const("survival", np.float32(e.op.survival))])


@emits("gate")
def gate(e: Lowering) -> str:
    """T(x) = sigmoid(conv(x) + b)."""
    op = e.op
    z = e.add("Conv", [e.x, e.weight("weight"), e.weight("bias")], step="conv", kernel_shape=list(op.kernel),
              strides=list(op.stride), pads=_pads(op.padding), dilations=[1, 1], group=1)
    return e.add("Sigmoid", [z])


@emits("one_minus")
def one_minus(e: Lowering) -> str:
    return e.add("Sub", [e.const("one", np.float32(1.0)), e.x])


# ---------------------------------------------------------------- pooling


@emits("maxpool")
def max_pool(e: Lowering) -> str:
    op = e.op
    return e.add("MaxPool", [e.x], kernel_shape=list(op.kernel), strides=list(op.stride), pads=_pads(op.padding),
                 dilations=list(op.dilation), ceil_mode=int(op.ceil))


@emits("avgpool")
def avg_pool(e: Lowering) -> str:
    op = e.op
    return e.add("AveragePool", [e.x], kernel_shape=list(op.kernel), strides=list(op.stride), pads=_pads(op.padding),
                 ceil_mode=int(op.ceil), count_include_pad=int(op.count_include_pad))


def _adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """torch's adaptive pooling windows: [floor(i*size/out), ceil((i+1)*size/out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def _even_adaptive_pool(e: Lowering, global_op: str, pool_op: str) -> str | None:
    """Adaptive pooling to 1x1, or with windows that divide the input evenly, as one ONNX pool; else None."""
    (_, h, w), (oh, ow) = e.ins[0], e.op.size
    if (oh, ow) == (1, 1):
        return e.add(global_op, [e.x])
    if h % oh == 0 and w % ow == 0:
        k = [h // oh, w // ow]
        return e.add(pool_op, [e.x], kernel_shape=k, strides=k)
    return None


@emits("adaptive_avgpool")
def adaptive_avg_pool(e: Lowering) -> str:
    if pooled := _even_adaptive_pool(e, "GlobalAveragePool", "AveragePool"):
        return pooled
    (_, h, w), (oh, ow) = e.ins[0], e.op.size
    # uneven windows: averaging is linear and separable, so out = A_h @ x @ A_w^T
    a_h, a_w = (_averaging_matrix(size, out) for size, out in ((h, oh), (w, ow)))
    cols = e.add("MatMul", [e.x, e.const("average_cols", a_w.T)], step="cols")
    return e.add("MatMul", [e.const("average_rows", a_h), cols])


def _averaging_matrix(size: int, out: int) -> np.ndarray:
    m = np.zeros((out, size), np.float32)
    for i, (lo, hi) in enumerate(_adaptive_windows(size, out)):
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


@emits("adaptive_maxpool")
def adaptive_max_pool(e: Lowering) -> str:
    if pooled := _even_adaptive_pool(e, "GlobalMaxPool", "MaxPool"):
        return pooled
    (_, h, w), (oh, ow) = e.ins[0], e.op.size
    # uneven windows: the max over a rectangle is the max over its rows of the max over its columns
    rows = _window_max(e, e.x, axis=2, size=h, out=oh, step="rows")
    return _window_max(e, rows, axis=3, size=w, out=ow, step=None)


def _window_max(e: Lowering, x: str, axis: int, size: int, out: int, step: str | None) -> str:
    tag = "rows" if axis == 2 else "cols"
    parts = []
    for i, (lo, hi) in enumerate(_adaptive_windows(size, out)):
        part = e.add("Slice", [x, e.const(f"{tag}{i}_start", np.array([lo], np.int64)),
                               e.const(f"{tag}{i}_end", np.array([hi], np.int64)),
                               e.const(f"{tag}{i}_axis", np.array([axis], np.int64))], step=f"{tag}{i}")
        parts.append(e.add("ReduceMax", [part], step=f"{tag}{i}_max", axes=[axis], keepdims=1))
    return e.add("Concat", parts, step=step, axis=axis)


# ---------------------------------------------------------------- spatial transformer


@emits("affine_grid")
def affine_grid(e: Lowering) -> str:
    """theta (N, 6) -> grid (N, H, W, 2) = base (H*W, 3) @ theta(N, 2, 3)^T, as torch's affine_grid.

    (ONNX's own AffineGrid needs opset 20; this is opset 17 and constant-size.)
    """
    h, w = e.op.size
    xs, ys = _grid_coords(w, e.op.align_corners), _grid_coords(h, e.op.align_corners)
    base = np.stack([np.tile(xs, h), np.repeat(ys, w), np.ones(h * w, np.float32)], axis=1)
    theta = e.add("Reshape", [e.x, e.const("theta_shape", np.array([0, 2, 3], np.int64))], step="theta")
    theta_t = e.add("Transpose", [theta], step="theta_t", perm=[0, 2, 1])
    points = e.add("MatMul", [e.const("base", base), theta_t], step="points")
    return e.add("Reshape", [points, e.const("grid_shape", np.array([0, h, w, 2], np.int64))])


def _grid_coords(steps: int, align_corners: bool) -> np.ndarray:
    """torch's normalised pixel centres in [-1, 1] (a single step is 0)."""
    if steps <= 1:
        return np.zeros(steps, np.float32)
    coords = np.linspace(-1.0, 1.0, steps)
    if not align_corners:
        coords = coords * (steps - 1) / steps
    return coords.astype(np.float32)


@emits("grid_sample")
def grid_sample(e: Lowering) -> str:
    op = e.op
    return e.add("GridSample", e.xs, mode=op.mode, padding_mode=op.padding_mode, align_corners=int(op.align_corners))


# ---------------------------------------------------------------- shortcuts and joins


@emits("zeropad")
def zero_pad_shortcut(e: Lowering) -> str:
    """x[:, :, ::s, ::s] (or a ceil-mode average pool), then zero channels split around or after the input's."""
    op = e.op
    c, s = e.ins[0][0], op.stride
    extra = op.out - c
    before, after = (extra // 2, extra // 2) if op.place == "split" else (0, extra)
    x = e.x
    if s > 1:
        step = None if extra == 0 else "subsample"
        if op.subsample == "avgpool":
            x = e.add("AveragePool", [x], step=step, kernel_shape=[s, s], strides=[s, s], ceil_mode=1)
        else:
            x = e.add("Slice", [x, e.const("starts", np.array([0, 0], np.int64)),
                                e.const("ends", np.array([np.iinfo(np.int64).max] * 2, np.int64)),
                                e.const("axes", np.array([2, 3], np.int64)), e.const("steps", np.array([s, s], np.int64))],
                      step=step)
    if extra == 0:
        return x if s > 1 else e.x
    return e.add("Pad", [x, e.const("pads", np.array([0, before, 0, 0, 0, after, 0, 0], np.int64))])


@emits("add")
def add(e: Lowering) -> str:
    return e.add("Add" if len(e.xs) == 2 else "Sum", e.xs)


_JOIN = {"mean": "Mean", "sum": "Sum", "max": "Max"}


@emits("join")
def fractal_join(e: Lowering) -> str:
    """Eval mode: drop-path keeps every column, so the join is a plain merge of all inputs."""
    if e.op.mode == "concat":
        return e.add("Concat", e.xs, axis=1)
    if e.op.mode == "sum" and len(e.xs) == 2:
        return e.add("Add", e.xs)
    return e.add(_JOIN[e.op.mode], e.xs)


@emits("mean")
def mean(e: Lowering) -> str:
    return e.add("Mean", e.xs)


@emits("max")
def maximum(e: Lowering) -> str:
    return e.add("Max", e.xs)


@emits("mul")
def multiply(e: Lowering) -> str:
    x = e.xs[0]
    for i, y in enumerate(e.xs[1:-1], start=1):
        x = e.add("Mul", [x, y], step=f"mul{i}")
    return e.add("Mul", [x, e.xs[-1]])


@emits("concat")
def concat(e: Lowering) -> str:
    if len(e.xs) == 1:
        return e.x
    return e.add("Concat", e.xs, axis=1)


def fold_bn_into_conv(weight, bias, gamma, beta, mean_, var, eps):
    """conv -> bn (eval) as one conv: w' = w * g/sqrt(v+eps), b' = (b - m) * g/sqrt(v+eps) + beta."""
    factor = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    w = (weight.astype(np.float64) * factor.reshape((-1,) + (1,) * (weight.ndim - 1))).astype(np.float32)
    b = ((bias.astype(np.float64) - mean_) * factor + beta).astype(np.float32)
    return w, b

