"""Each ONNX emitter against torch.nn.functional, one small network per op (odd sizes, ceil modes, uneven windows).

The reference below is an independent reading of each op's definition in
archdsl/ops/ (torch semantics); the spec-level cross-check with the torch
backend is in test_onnx.py.
"""
import functools
import operator

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import archdsl
from archdsl import ir
from archdsl.backends.onnx import build_model, resolve_weights
from archdsl.ops import REGISTRY
from archdsl.targets import OnnxOptions

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _sym_or_pad(x, op, value):
    """torch pools take symmetric padding only; pad asymmetric sides explicitly."""
    top, bottom, left, right = op.padding
    if top == bottom and left == right:
        return x, (top, left)
    return F.pad(x, (left, right, top, bottom), value=value), (0, 0)


def _maxpool(op, xs, w):
    x, pad = _sym_or_pad(xs[0], op, float("-inf"))
    return F.max_pool2d(x, op.kernel, op.stride, pad, op.dilation, ceil_mode=op.ceil)


def _avgpool(op, xs, w):
    x, pad = _sym_or_pad(xs[0], op, 0.0)
    return F.avg_pool2d(x, op.kernel, op.stride, pad, ceil_mode=op.ceil, count_include_pad=op.count_include_pad)


def _conv(op, xs, w):
    top, bottom, left, right = op.padding
    x = F.pad(xs[0], (left, right, top, bottom))
    return F.conv2d(x, w["weight"], w.get("bias"), op.stride, 0, op.dilation, op.groups)


def _bn(op, xs, w):
    return F.batch_norm(xs[0], w["running_mean"], w["running_var"], w.get("weight"), w.get("bias"), False, 0.0, op.eps)


def _zeropad(op, xs, w):
    if op.subsample == "avgpool" and op.stride > 1:
        x = F.avg_pool2d(xs[0], op.stride, op.stride, ceil_mode=True)
    else:
        x = xs[0][:, :, :: op.stride, :: op.stride]
    extra = op.out - x.shape[1]
    return F.pad(x, (0, 0, 0, 0) + ((extra // 2, extra // 2) if op.place == "split" else (0, extra)))


def _layernorm(op, xs, w):
    x = xs[0]
    if x.dim() == 2 or op.over == "last":
        return F.layer_norm(x, x.shape[-1:], w.get("weight"), w.get("bias"), op.eps)
    if x.dim() == 2:
        return F.layer_norm(x, x.shape[1:], w.get("weight"), w.get("bias"), op.eps)
    y = F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], w.get("weight"), w.get("bias"), op.eps)
    return y.permute(0, 3, 1, 2)


def _upsample(op, xs, w):
    align = op.align_corners if op.mode == "bilinear" else None
    if op.size is not None:
        return F.interpolate(xs[0], size=op.size, mode=op.mode, align_corners=align)
    return F.interpolate(xs[0], scale_factor=op.scale, mode=op.mode, align_corners=align)


def _channel_shuffle(op, xs, w):
    n, c, h, wd = xs[0].shape
    return xs[0].view(n, op.groups, c // op.groups, h, wd).transpose(1, 2).reshape(n, c, h, wd)


def _stack(xs):
    return torch.stack(list(xs))


REFERENCE = {
    "conv": _conv,
    "bn": _bn,
    "relu": lambda op, xs, w: F.relu(xs[0]),
    "sigmoid": lambda op, xs, w: torch.sigmoid(xs[0]),
    "tanh": lambda op, xs, w: torch.tanh(xs[0]),
    "leaky_relu": lambda op, xs, w: F.leaky_relu(xs[0], op.slope),
    "elu": lambda op, xs, w: F.elu(xs[0], op.alpha),
    "prelu": lambda op, xs, w: F.prelu(xs[0], w["weight"]),
    "relu6": lambda op, xs, w: F.relu6(xs[0]),
    "hardtanh": lambda op, xs, w: F.hardtanh(xs[0], op.min, op.max),
    "silu": lambda op, xs, w: xs[0] * torch.sigmoid(xs[0]),
    "gelu": lambda op, xs, w: F.gelu(xs[0], approximate=op.approximate),
    "hardswish": lambda op, xs, w: xs[0] * F.relu6(xs[0] + 3) / 6,
    "hardsigmoid": lambda op, xs, w: F.relu6(xs[0] + 3) / 6,
    "mish": lambda op, xs, w: xs[0] * torch.tanh(F.softplus(xs[0])),
    "softplus": lambda op, xs, w: F.softplus(xs[0], op.beta, op.threshold),
    "softmax": lambda op, xs, w: torch.softmax(xs[0], 1),
    "layernorm": _layernorm,
    "permute": lambda op, xs, w: xs[0].permute(*op.dims),
    "layer_scale": lambda op, xs, w: xs[0] * w[""],
    "groupnorm": lambda op, xs, w: F.group_norm(xs[0], op.groups, w.get("weight"), w.get("bias"), op.eps),
    "instancenorm": lambda op, xs, w: F.instance_norm(xs[0], weight=w.get("weight"), bias=w.get("bias"), eps=op.eps),
    "convt": lambda op, xs, w: F.conv_transpose2d(xs[0], w["weight"], w.get("bias"), op.stride, op.padding,
                                                  op.output_padding, op.groups, op.dilation),
    "upsample": _upsample,
    "pixel_shuffle": lambda op, xs, w: F.pixel_shuffle(xs[0], op.factor),
    "pixel_unshuffle": lambda op, xs, w: F.pixel_unshuffle(xs[0], op.factor),
    "channel_shuffle": _channel_shuffle,
    "slice": lambda op, xs, w: xs[0][:, op.start:op.stop],
    "crop": lambda op, xs, w: xs[0][:, :, op.offsets([tuple(xs[0].shape[1:])])[0]:][:, :, :op.size[0], op.offsets([tuple(xs[0].shape[1:])])[1]:][..., :op.size[1]],
    "drop_path": lambda op, xs, w: xs[0],
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "adaptive_avgpool": lambda op, xs, w: F.adaptive_avg_pool2d(xs[0], op.size),
    "adaptive_maxpool": lambda op, xs, w: F.adaptive_max_pool2d(xs[0], op.size),
    "gap": lambda op, xs, w: F.adaptive_avg_pool2d(xs[0], 1),
    "flatten": lambda op, xs, w: torch.flatten(xs[0], 1),
    "linear": lambda op, xs, w: F.linear(xs[0], w["weight"], w.get("bias")),
    "dropout": lambda op, xs, w: xs[0],
    "identity": lambda op, xs, w: xs[0],
    "scale": lambda op, xs, w: xs[0] * op.factor,
    "zeropad": _zeropad,
    "add": lambda op, xs, w: functools.reduce(operator.add, xs),  # later inputs may broadcast
    "mean": lambda op, xs, w: _stack(xs).mean(0),
    "max": lambda op, xs, w: _stack(xs).amax(0),
    "mul": lambda op, xs, w: functools.reduce(operator.mul, xs),
    "concat": lambda op, xs, w: torch.cat(list(xs), 1),
    "join": lambda op, xs, w: torch.cat(list(xs), 1) if op.mode == "concat" else getattr(_stack(xs), {
        "mean": "mean", "sum": "sum", "max": "amax"}[op.mode])(0),
    "dwconv": lambda op, xs, w: _conv(op.resolve([tuple(xs[0].shape[1:])]), xs, w),
    "stochastic_depth": lambda op, xs, w: xs[0] * op.survival,
    "gate": lambda op, xs, w: torch.sigmoid(_conv(op.conv, xs, w)),
    "one_minus": lambda op, xs, w: 1 - xs[0],
    "affine_theta": lambda op, xs, w: F.linear(xs[0], w["weight"], w["bias"]),
    "affine_grid": lambda op, xs, w: F.affine_grid(xs[0].view(-1, 2, 3), [xs[0].shape[0], 1, *op.size],
                                                   align_corners=op.align_corners),
    "grid_sample": lambda op, xs, w: F.grid_sample(xs[0], xs[1], op.mode, op.padding_mode, op.align_corners),
}


def reference_forward(arch, weights, x):
    """Run the IR with REFERENCE and the given {state_dict name: array} weights."""
    g, values = arch.graph, {}
    for nid in g.order:
        node = g.node(nid)
        if node.op.traits.source:
            values[nid] = x
            continue
        owner = node.shared_with or node.name
        own = {k[len(owner) + 1:]: torch.from_numpy(v) for k, v in weights.items() if k.rpartition(".")[0] == owner}
        if owner in weights:  # a container-held parameter named after the node (layer scale)
            own[""] = torch.from_numpy(weights[owner])
        values[nid] = REFERENCE[node.kind](node.op, [values[p] for p in g.inputs(nid)], own)
    return values[g.output]


def run_onnx(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": x})[0]


ONE_OP_NETWORKS = [
    "conv(6, [3, 2], stride=[2, 1], padding=[1, 0, 2, 1], dilation=[1, 2])",
    "conv(8, 3, padding=1, groups=4, bias=false)",
    "conv(4, 1, groups=4)",
    "bn",
    "bn(affine=false, eps=0.001)",
    "relu",
    "sigmoid",
    "tanh",
    "leaky_relu(0.2)",
    "elu(0.5)",
    "prelu",
    "prelu(per_channel=true)",
    "maxpool(3, stride=2, padding=1)",
    "maxpool(3, stride=2, padding=1, ceil=true)",
    "maxpool(2, stride=2, ceil=true)",
    "maxpool(3, stride=2, dilation=2)",
    "maxpool(3, stride=[2, 1], padding=[1, 0, 0, 1])",
    "avgpool(3, stride=2, padding=1)",
    "avgpool(3, stride=2, padding=1, ceil=true)",
    "avgpool(3, stride=2, padding=1, ceil=true, count_include_pad=false)",
    "avgpool(2, stride=2, ceil=true)",
    "avgpool(3, stride=2, padding=[1, 0, 1, 1])",
    "adaptive_avgpool(1)",
    "adaptive_avgpool([5, 3])",
    "adaptive_avgpool([13, 1])",
    "adaptive_maxpool(1)",
    "adaptive_maxpool([5, 3])",
    "adaptive_maxpool([4, 11])",
    "gap",
    "gap flatten",
    "gap flatten linear(7) bn relu dropout(0.3)",
    "flatten linear(5, bias=false)",
    "dropout(0.5)",
    "identity",
    "scale(0.17)",
    "zeropad(8, stride=2)",
    "zeropad(6)",
    "zeropad(4, stride=3)",
    "dwconv(3, stride=2, padding=1, multiplier=2)",
    "gate(6, 3, padding=1, bias_init=-1) one_minus",
    "stochastic_depth(0.7)",
    "conv(4, 3, padding=1) residual(shortcut=identity) { conv(4, 3, padding=1) bn }",
    "residual(shortcut=zeropad) { conv(8, 3, stride=2, padding=1) bn relu }",
    "residual(shortcut=projection, scale=0.2) { conv(6, 3, stride=2, padding=1) }",
    "parallel(merge=concat) { conv(3, 1) conv(5, 3, padding=1) maxpool(3, stride=1, padding=1) }",
    "parallel(merge=add) { conv(4, 1) conv(4, 3, padding=1) identity }",
    "parallel(merge=mean) { conv(4, 1) conv(4, 3, padding=1) }",
    "parallel(merge=max) { conv(4, 1) conv(4, 3, padding=1) relu }",
    "parallel(merge=mul) { sigmoid tanh conv(4, 1) }",
    "dense { { bn relu conv(3, 3, padding=1) } x 3 }",
    "parallel(merge=mul) { identity { gap conv(2, 1) relu conv(4, 1) hardsigmoid } }",  # SE: a Cx1x1 gate
    "parallel(merge=add) { identity { gap conv(1, 1) } }",  # a 1x1x1 term broadcast over the map
    "gelu silu mish softplus softplus(0.5, threshold=3) hardtanh relu6 hardswish",
    "upsample(size=[20, 9]) upsample(1.5, mode=bilinear) upsample(size=7, mode=bilinear, align_corners=true)",
    "layernorm(affine=false) groupnorm(2, affine=false) groupnorm(4, eps=0.1) instancenorm",
    "convt(5, [3, 2], stride=[2, 3], padding=[1, 0], output_padding=[1, 2], bias=false)",
    "convt(4, 4, stride=2, padding=1, dilation=2)",
    "conv(8, 1) pixel_shuffle(2) pixel_unshuffle(2) channel_shuffle(4) slice(2, 7)",
    "gap flatten layernorm linear(3) softmax",
    "permute([0, 2, 3, 1]) layernorm(over=last) linear(6, over=last) gelu linear(4, bias=false, over=last) "
    "permute([0, 3, 1, 2]) layer_scale",
    "gap flatten layer_scale(0.5) relu",  # not last: its output and its parameter need two ONNX names
]


# every registered op's own example (ops/: EXAMPLE on EXAMPLE_INPUT), so a new op is tested without an edit here
EXAMPLES = [(kind, cls.EXAMPLE, cls.EXAMPLE_INPUT) for kind, cls in sorted(REGISTRY.items()) if cls.EXAMPLE]


def one_op_arch(body: str, shape=(4, 13, 11)):
    dims = "x".join(map(str, shape))
    return archdsl.loads(f"arch one_op\ninput {dims}\nnetwork {{ {body} }}", name="one_op.arch")


def build(arch, weights=None, fuse_bn=False):
    return build_model(arch, OnnxOptions(weights=weights, fuse_bn=fuse_bn))


def check_against_reference(arch, seed=3):
    weights = resolve_weights(arch, None, seed=seed)
    model = build(arch, weights)
    onnx.checker.check_model(model, full_check=True)
    x = np.random.default_rng(1).standard_normal((2, *arch.input_shape)).astype(np.float32)
    got = run_onnx(model, x)
    want = reference_forward(arch, weights, torch.from_numpy(x)).numpy()
    assert got.shape == want.shape == (2, *arch.output_shape)
    tolerance = dict(rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))
    np.testing.assert_allclose(got, want, **tolerance)
    module = arch.to_torch().eval()  # the torch lowering of the same ops, with the same weights
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}, strict=True)
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), want, **tolerance)


@pytest.mark.parametrize("body", ONE_OP_NETWORKS)
def test_emitter_matches_torch_semantics(body):
    check_against_reference(one_op_arch(body))


@pytest.mark.parametrize("kind, example, shape", EXAMPLES, ids=[k for k, _, _ in EXAMPLES])
def test_every_op_example_matches_torch_semantics(kind, example, shape):
    arch = one_op_arch(example, shape)
    made = {node.op.kind for node in arch.graph.nodes()} | {type(node.op).kind for node in arch.graph.nodes()}
    assert kind in made or (kind == "dwconv" and "conv" in made), f"{example!r} makes no {kind} node"
    check_against_reference(arch)


@pytest.mark.parametrize("body", ["conv(4, 3) bn(affine=false)", "conv(6, 3, stride=2, bias=true) bn relu conv(3, 1) bn(eps=0.1)",
                                  "residual(shortcut=projection) { conv(6, 3, stride=2, padding=1) bn }"])
def test_fuse_bn_gives_the_same_outputs(body):
    arch = one_op_arch(body)
    x = np.random.default_rng(2).standard_normal((3, *arch.input_shape)).astype(np.float32)
    plain, fused = build(arch), build(arch, fuse_bn=True)
    assert len(fused.graph.node) < len(plain.graph.node)
    assert not any(n.op_type == "BatchNormalization" and n.input[0].endswith("conv") for n in fused.graph.node)
    np.testing.assert_allclose(run_onnx(fused, x), run_onnx(plain, x), rtol=1e-4, atol=1e-5)


def test_every_registered_op_has_a_reference_case():
    missing = sorted(k for k, cls in REGISTRY.items() if not cls.TRAITS.source and k not in REFERENCE)
    assert not missing, f"op kinds without a reference case here: {missing}"


# ---------------------------------------------------------------- graphs made by structures (fractal, STN, sharing)


def hand_built(layers, input_shape=(4, 9, 9)):
    """An Architecture from [(name, op, [input names]), ...]; the last layer is the output."""
    from archdsl.architecture import Architecture
    from archdsl.errors import Span
    from archdsl.passes import infer_shapes

    g = ir.Graph("hand_built")
    ids = {"input": g.add(ir.Node(0, "input", REGISTRY["input"](shape=input_shape), Span("hand", 1, 1)), [])}
    for i, (name, op, inputs, *shared) in enumerate(layers, start=1):
        node = ir.Node(i, name, op, Span("hand", i + 1, 1), shared_with=shared[0] if shared else None)
        ids[name] = g.add(node, [ids[x] for x in inputs])
    g.input, g.output = 0, len(layers)
    ir.verify(g)
    return Architecture("hand_built", g, infer_shapes(g), {})


def _ops():
    from archdsl.ops import REGISTRY as R

    return R


def _structures():
    R = _ops()
    conv = R["conv"]
    fractal = [
        [("c1", conv(4, (3, 3), padding=(1, 1, 1, 1)), ["input"]), ("c2", conv(4, (1, 1)), ["input"]),
         ("c3", conv(4, (3, 3), padding=(1, 1, 1, 1)), ["c1"]),
         ("join", R["join"](mode=mode, columns=(1, 2, 2), drop="mix"), ["c2", "c3", "c1"])]
        for mode in ("mean", "sum", "max", "concat")
    ]
    gated = [
        ("t", R["gate"](4, (3, 3), padding=(1, 1, 1, 1), bias_init=-2.0), ["input"]),
        ("carry", R["one_minus"](), ["t"]),
        ("h", conv(4, (3, 3), padding=(1, 1, 1, 1)), ["input"]),
        ("sd", R["stochastic_depth"](0.8), ["h"]),
        ("th", R["mul"](), ["t", "sd"]),
        ("cx", R["mul"](), ["carry", "input"]),
        ("out", R["add"](), ["th", "cx"]),
    ]
    shared = [
        ("a", conv(4, (3, 3), padding=(1, 1, 1, 1), bias=False), ["input"]), ("a_bn", R["bn"](), ["a"]),
        ("r", R["relu"](), ["a_bn"]),
        ("b", conv(4, (3, 3), padding=(1, 1, 1, 1), bias=False), ["r"], "a"), ("b_bn", R["bn"](), ["b"], "a_bn"),
        ("out", R["add"](), ["b_bn", "r"]),
    ]
    stn = [
        [("loc", conv(4, (3, 3), stride=(2, 2)), ["input"]), ("relu", R["relu"](), ["loc"]),
         ("pool", R["gap"](), ["relu"]), ("flat", R["flatten"](), ["pool"]), ("theta", R["affine_theta"](), ["flat"]),
         ("grid", R["affine_grid"](size=(7, 5), align_corners=align), ["theta"]),
         ("sample", R["grid_sample"](mode=mode, padding_mode=pad, align_corners=align), ["input", "grid"])]
        for align, mode, pad in ((False, "bilinear", "zeros"), (True, "bilinear", "border"), (False, "nearest", "reflection"))
    ]
    depthwise = [("dw", R["dwconv"]((3, 3), padding=(1, 1, 1, 1), multiplier=2), ["input"]),
                 ("pw", conv(5, (1, 1)), ["dw"])]
    return {**{f"fractal_{i}": f for i, f in enumerate(fractal)}, "gated": gated, "shared": shared,
            "depthwise": depthwise,
            **{f"stn_{i}": s for i, s in enumerate(stn)}}


STRUCTURES = ["fractal_0", "fractal_1", "fractal_2", "fractal_3", "gated", "shared", "depthwise", "stn_0", "stn_1",
              "stn_2"]


@pytest.mark.parametrize("which", STRUCTURES)
@pytest.mark.parametrize("fuse_bn", [False, True])
def test_structure_ops_match_torch_semantics(which, fuse_bn):
    arch = hand_built(_structures()[which])
    weights = resolve_weights(arch, None, seed=5)
    model = build(arch, weights, fuse_bn=fuse_bn)
    onnx.checker.check_model(model, full_check=True)
    x = np.random.default_rng(4).standard_normal((2, *arch.input_shape)).astype(np.float32)
    got = run_onnx(model, x)
    want = reference_forward(arch, weights, torch.from_numpy(x)).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))
    if which == "shared":  # one set of tensors serves both convs and both BNs
        names = [t.name for t in model.graph.initializer]
        assert sorted(names) == ["a.weight", "a_bn.bias", "a_bn.running_mean", "a_bn.running_var", "a_bn.weight"]
        assert [n.op_type for n in model.graph.node].count("BatchNormalization") == 2  # shared: not folded


def test_an_op_without_an_emitter_is_a_located_error(monkeypatch, tmp_path):
    from archdsl.backends.onnx import lowering
    from archdsl.errors import ArchError

    monkeypatch.delitem(lowering.NODES, "elu")
    arch = one_op_arch("conv(4, 1) elu")
    with pytest.raises(ArchError) as err:
        arch.to_onnx(tmp_path / "m.onnx")
    assert "'elu'" in err.value.message and err.value.span.line == 3
    assert list(tmp_path.iterdir()) == []
