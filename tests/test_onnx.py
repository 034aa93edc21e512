"""The ONNX backend (issue 6): every spec exports, checks, shape-infers to the analyser's shapes,
runs in onnxruntime and matches the torch backend; weights, fuse_bn, names and safe writes.

Each spec runs at a small input (conftest.small_arch) so the
whole file stays fast; big nets are cheap there. Per-op semantics: test_onnx_ops.py.
"""
import math
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import archdsl
from archdsl import ir
from archdsl.errors import ArchError
from archdsl.passes import state_layout
from archdsl.backends.onnx.model import OUTPUT_NAME, inferred_dims
from conftest import ROOT, SPECS, backend_specs, named_outputs, rel, small_arch

MODEL_SPECS = backend_specs(SPECS)  # a family's default is one of the specs; one member per size family

RELATIVE_TOLERANCE = 1e-4  # max |onnx - torch| / max |torch|


def session(path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # leave the cores to torch afterwards
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def batch(arch, n=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n, *arch.input_shape)).astype(np.float32)


def seeded_torch_module(arch, x, seed=0):
    """`arch.to_torch(seed)` with every BN made non-trivial and well conditioned, and its output on `x`.

    torchvision's init leaves each BN an identity, and a 1202-layer ResNet's
    activations overflow. Instead each BN is calibrated, in order, on the batch
    `x` itself (the first time it runs; then `x` is run again for the output): running_var = its
    input's mean square (any depth stays finite), a small random running_mean
    (0.1 rms), gamma ~ U(0.5, 1.5), beta ~ N(0.4, 0.1). With beta around 0 deep
    plain nets are chaotic: torch alone then differs from float64 by 1e-4 on
    plain56 and inception_v4; with 0.4 it is below 2e-5 and the logits still
    vary with the input by 5-90% of their scale.
    """
    torch = pytest.importorskip("torch")
    model = arch.to_torch(seed=seed).eval()
    generator = torch.Generator().manual_seed(seed)

    calibrated = set()

    def calibrate(bn, inputs):
        if bn in calibrated:  # a shared BN (x n shared, poly) runs more than once: keep its first statistics
            return
        calibrated.add(bn)
        square = inputs[0].double().pow(2).mean([d for d in range(inputs[0].dim()) if d != 1]).float()
        bn.running_var.copy_(square.clamp(min=0.1 * float(square.mean()) + 1e-3))
        bn.running_mean.copy_(0.1 * square.sqrt() * torch.randn(square.shape, generator=generator))
        if bn.affine:
            bn.weight.uniform_(0.5, 1.5, generator=generator)
            bn.bias.normal_(0.4, 0.1, generator=generator)

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    hooks = [bn.register_forward_pre_hook(calibrate) for bn in norms]
    with torch.no_grad():
        model(torch.from_numpy(x))
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        result = model(torch.from_numpy(x))
    if not arch.graph.outputs:
        return model, result.numpy()
    return model, {name: t.numpy() for name, t in named_outputs(arch, result).items()}


def skeleton(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its float weights declared as inputs instead of stored (shape inference in milliseconds)."""
    from onnx import TensorProto, helper

    g = model.graph
    def is_weight(t):  # a small float constant (Resize's scales) stays, so shape inference can read it
        return t.data_type == TensorProto.FLOAT and math.prod(t.dims) > 16

    declared = [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in g.initializer if is_weight(t)]
    kept = [t for t in g.initializer if not is_weight(t)]
    out = helper.make_model(helper.make_graph(g.node, g.name, list(g.input) + declared, g.output, initializer=kept),
                            opset_imports=model.opset_import, functions=model.functions)
    out.ir_version = model.ir_version
    return out


def check_inferred_shapes(model: onnx.ModelProto, arch) -> int:
    """Every tensor named after an IR node has the analyser's shape; returns how many were compared."""
    inferred = onnx.shape_inference.infer_shapes(skeleton(model), check_type=True, strict_mode=True, data_prop=True)
    found = {v.name: inferred_dims(v) for v in (*inferred.graph.value_info, *inferred.graph.output)}
    g, compared = arch.graph, 0
    for nid in g.order:
        outputs = {v: k for k, v in g.outputs.items()} if g.outputs else {g.output: OUTPUT_NAME}
        name = outputs.get(nid, g.node(nid).name)
        if name in found:
            assert found[name][1:] == list(arch.shapes[nid]), name
            assert not isinstance(found[name][0], int), f"{name}: the batch dimension lost its symbol"
            compared += 1
    return compared


@pytest.mark.slow
@pytest.mark.parametrize("path", MODEL_SPECS, ids=rel)
def test_spec_exports_checks_and_matches_torch(path, tmp_path):
    pytest.importorskip("torch")
    arch = small_arch(path, narrow=True)
    x = batch(arch)
    module, want = seeded_torch_module(arch, x)
    target = tmp_path / "model.onnx"
    assert arch.to_onnx(target, weights=module.state_dict()) == target  # the export ran check_model(full_check)
    model = onnx.load(target)
    onnx.checker.check_model(skeleton(model), full_check=True)
    outputs = list(arch.graph.outputs or ["logits"])
    assert [i.name for i in model.graph.input] == ["input"] and [o.name for o in model.graph.output] == outputs
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) >= 17
    emitted = {n.name for n in model.graph.node}
    assert check_inferred_shapes(model, arch) >= len(emitted & {arch.graph.node(n).name for n in arch.graph}) > 0

    got = dict(zip(outputs, session(target).run(outputs, {"input": x})))
    want = want if isinstance(want, dict) else {"logits": want}
    shapes = dict(arch.output_shapes) if arch.graph.outputs else {"logits": arch.output_shape}
    for name in outputs:
        assert got[name].shape == want[name].shape == (2, *shapes[name]), name
        assert np.isfinite(want[name]).all()
        scale = float(np.abs(want[name]).max()) or 1.0
        assert float(np.abs(got[name] - want[name]).max()) <= RELATIVE_TOLERANCE * scale, name


@pytest.mark.parametrize("path", ["specs/cifar/resnet20.arch", "specs/densenet121.arch",
                                  pytest.param("specs/resnet18.arch", marks=pytest.mark.slow)])
def test_fused_bn_export_matches_torch(path, tmp_path):
    pytest.importorskip("torch")
    arch = small_arch(path)
    x = batch(arch)
    module, want = seeded_torch_module(arch, x)
    arch.to_onnx(tmp_path / "fused.onnx", weights=module.state_dict(), fuse_bn=True)
    model = onnx.load(tmp_path / "fused.onnx")
    kinds = [n.op_type for n in model.graph.node]
    bns = sum(1 for n in arch.graph if arch.graph.node(n).kind == "bn")
    assert kinds.count("BatchNormalization") < bns  # folded where a conv feeds the BN alone
    assert not any(n.op_type == "Conv" and n.name.endswith(("bn1", "bn2")) for n in model.graph.node)
    got = session(tmp_path / "fused.onnx").run(["logits"], {"input": x})[0]
    assert float(np.abs(got - want).max()) <= RELATIVE_TOLERANCE * float(np.abs(want).max())


# ---------------------------------------------------------------- names, batch, weights


def test_block_calls_are_local_functions_named_like_the_spec(tmp_path):
    arch = small_arch("specs/resnet50.arch", narrow=True)
    model = onnx.load(arch.to_onnx(tmp_path / "r50.onnx"))
    assert sorted(f.name for f in model.functions) == ["bottleneck", "bottleneck_2", "bottleneck_3"]
    calls = [n for n in model.graph.node if n.domain == "archdsl"]
    assert len(calls) == 16 and len(model.graph.node) == 23 and calls[0].name == "layer1.0"
    ir_names = {arch.graph.node(n).name for n in arch.graph}
    functions = {f.name: f for f in model.functions}
    for call in calls:  # a call's name and its function's node names give the spec's qualified names
        assert call.name in arch.graph.modules and call.op_type.startswith(arch.graph.modules[call.name].template)
        assert all(f"{call.name}.{n.name}".partition("/")[0] in ir_names for n in functions[call.op_type].node)


def test_names_follow_the_spec(tmp_path):
    arch = small_arch("specs/resnet50.arch")
    model = onnx.load(arch.to_onnx(tmp_path / "r50.onnx", functions=False))
    ir_names = {arch.graph.node(n).name for n in arch.graph}
    assert all(n.name in ir_names or n.name.partition("/")[0] in ir_names for n in model.graph.node)
    by_name = {n.name: n for n in model.graph.node}
    assert by_name["layer1.0.conv1"].op_type == "Conv" and by_name["layer4.2.bn3"].op_type == "BatchNormalization"
    assert by_name["layer2.0.downsample.0"].op_type == "Conv" and by_name["fc"].op_type == "Gemm"
    expected = [(name, shape) for name, shape in state_layout(arch.graph, arch.shapes) if "num_batches" not in name]
    assert [(t.name, tuple(t.dims)) for t in model.graph.initializer] == expected


def test_batch_dimension_is_dynamic(tmp_path):
    arch = small_arch("specs/cifar/resnet20.arch")
    path = arch.to_onnx(tmp_path / "m.onnx", seed=1)
    run = session(path)
    xs = batch(arch, 5)
    whole = run.run(None, {"input": xs})[0]
    one = run.run(None, {"input": xs[:1]})[0]
    assert whole.shape == (5, 10) and one.shape == (1, 10)
    np.testing.assert_allclose(one[0], whole[0], rtol=1e-5, atol=1e-6)


def test_seeded_export_is_deterministic_and_seed_dependent(tmp_path):
    arch = small_arch("specs/cifar/resnet20.arch")
    a, b, c = (arch.to_onnx(tmp_path / f"{i}.onnx", seed=s) for i, s in enumerate((0, 0, 1)))
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_weights_from_pt_and_npz_files_via_the_cli(cli, tmp_path):
    torch = pytest.importorskip("torch")
    arch = archdsl.load("specs/cifar/resnet20.arch")
    x = batch(arch)
    module, want = seeded_torch_module(arch, x, seed=3)
    state = module.state_dict()
    torch.save(state, tmp_path / "w.pt")
    np.savez(tmp_path / "w.npz", **{k: v.numpy() for k, v in state.items()})
    for weights in ("w.pt", "w.npz"):
        out = tmp_path / f"{weights}.onnx"
        code, stdout, stderr = cli("compile", "specs/cifar/resnet20.arch", "--target", "onnx", "-o", out,
                                   "--weights", tmp_path / weights)
        assert code == 0, stderr
        assert "wrote" in stdout
        got = session(out).run(None, {"input": x})[0]
        assert float(np.abs(got - want).max()) <= RELATIVE_TOLERANCE * float(np.abs(want).max())


def test_weights_that_do_not_fit_are_reported(tmp_path):
    arch = archdsl.load("specs/cifar/resnet20.arch")
    weights = {name: np.zeros(shape, np.float32) for name, shape in state_layout(arch.graph, arch.shapes)}
    del weights["layer2.0.conv1.weight"]
    weights["fc.weight"] = np.zeros((3, 3), np.float32)
    weights["extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(ArchError) as err:
        arch.to_onnx(tmp_path / "m.onnx", weights=weights)
    message = err.value.message
    assert "missing 1: layer2.0.conv1.weight" in message and "unexpected 1: extra.weight" in message
    assert "fc.weight is 3x3, the spec needs 10x64" in message
    with pytest.raises(ArchError, match="does not exist"):
        arch.to_onnx(tmp_path / "m.onnx", weights=tmp_path / "nope.pt")
    assert list(tmp_path.iterdir()) == []


def test_export_without_weights_file_does_not_import_torch(tmp_path):
    code = (
        "import sys, archdsl\n"
        f"archdsl.load('specs/resnet18.arch').to_onnx({str(tmp_path / 'r18.onnx')!r}, fuse_bn=True)\n"
        "assert 'torch' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    onnx.checker.check_model(str(tmp_path / "r18.onnx"), full_check=True)


# ---------------------------------------------------------------- safe writes


def _good_file(tmp_path):
    target = tmp_path / "model.onnx"
    small_arch("specs/cifar/resnet20.arch").to_onnx(target)
    return target, target.read_bytes()


def test_a_failing_export_keeps_the_good_file(tmp_path):
    target, good = _good_file(tmp_path)
    arch = small_arch("specs/resnet18.arch")
    with pytest.raises(ArchError):
        arch.to_onnx(target, weights={"fc.weight": np.zeros((1000, 512), np.float32)})
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_model_that_fails_the_checker_is_never_written(tmp_path, monkeypatch):
    from archdsl.backends.onnx import lowering

    def broken_relu(e):
        return e.add("Relu", [e.x], alpha=0.5)  # Relu has no attribute alpha: the checker rejects it

    target, good = _good_file(tmp_path)
    monkeypatch.delitem(lowering.NODES, "relu")
    monkeypatch.setitem(lowering.EMITTERS, "relu", broken_relu)
    with pytest.raises(ArchError, match="fails onnx.checker"):
        small_arch("specs/cifar/resnet20.arch").to_onnx(target)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    with pytest.raises(ArchError, match="fails onnx.checker"):
        small_arch("specs/cifar/resnet20.arch").to_onnx(tmp_path / "new.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_an_emitter_shape_bug_is_caught_before_writing(tmp_path, monkeypatch):
    from archdsl.backends.onnx import lowering

    def wrong_pool(e):
        return e.add("MaxPool", [e.x], kernel_shape=[3, 3], strides=[3, 3])  # no padding: 16 -> 5, not 8

    monkeypatch.setitem(lowering.EMITTERS, "maxpool", wrong_pool)
    with pytest.raises(ArchError, match="ONNX infers .* for maxpool"):
        small_arch("specs/resnet18.arch").to_onnx(tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_bad_output_paths_are_errors(cli, tmp_path):
    code, _, stderr = cli("compile", "specs/cifar/resnet20.arch", "--target", "onnx", "-o", tmp_path / "no" / "m.onnx")
    assert code == 2 and "does not exist" in stderr
    code, _, stderr = cli("compile", "specs/cifar/resnet20.arch", "--target", "onnx", "-o", tmp_path)
    assert code == 2 and "is a folder" in stderr


def test_external_data_keeps_weights_beside_the_model(tmp_path):
    arch = small_arch("specs/cifar/resnet20.arch")
    single = arch.to_onnx(tmp_path / "single.onnx")
    split = arch.to_onnx(tmp_path / "split.onnx", external_data=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["single.onnx", "split.onnx", "split.onnx.data"]
    assert split.stat().st_size < 100_000 < (tmp_path / "split.onnx.data").stat().st_size
    onnx.checker.check_model(str(split), full_check=True)
    x = batch(arch)
    np.testing.assert_array_equal(session(split).run(None, {"input": x})[0], session(single).run(None, {"input": x})[0])
