"""torchvision 0.29.1's segmentation nets and ResNet-50-FPN (issue 12) against tests/fixtures/segmentation.

FCN and DeepLabV3 on a dilated ResNet-50 (with and without the auxiliary head), DeepLabV3 and
LR-ASPP on a dilated MobileNetV3-Large, num_classes=21, and the detection backbone
resnet_fpn_backbone("resnet50", trainable_layers=5) (frozen BN; outputs "0".."3", "pool"),
at 3x224x224 and 3x320x480. For each:
params exact, MACs equal to FlopCounterMode's count of the reference, the reference's
state_dict names, shapes and order; then, with every tensor drawn from its name
(weights_by_name.py: BN statistics and 1-D parameters random), `load_state_dict(strict=True)`,
and every output (`out`, `aux`: dict keys as torchvision's, at the input's size) in eval and in
train mode (dropout off) equal to the reference's within 1e-5 x max|output|; the ONNX export's
named outputs in onnxruntime equal to torch's.
"""
import json
from functools import cache

import pytest

import archdsl
from archdsl.passes import state_layout
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "segmentation"
MODELS = ("fcn_resnet50", "fcn_resnet50_aux", "deeplabv3_resnet50", "deeplabv3_resnet50_aux",
          "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large", "resnet50_fpn")
CASES = [f"{m}_{size}" for m in MODELS for size in ("224", "320x480")]
QUICK = {"lraspp_mobilenet_v3_large_224"}  # outputs compared in the default suite (the rest: slow)
ONNX_MAX_PARAMS = 12_000_000


@cache
def fixture(case: str) -> dict:
    return json.loads((FIXTURES / f"{case}.json").read_text())


@cache
def arch_of(case: str):
    ref = fixture(case)
    folder = ref.get("folder", "segmentation")
    return archdsl.load(ROOT / "specs" / folder / f"{ref['model']}.arch", input_shape=tuple(ref["input"]))


@pytest.mark.parametrize("case", CASES)
def test_params_macs_and_state_dict_are_the_references(case):
    arch, ref = arch_of(case), fixture(case)
    assert (arch.params, arch.macs) == (ref["params"], ref["reference_macs"])
    assert state_layout(arch.graph, arch.shapes) == [(k, tuple(s)) for k, s in ref["state_dict"]]
    if "output_shapes" in ref:
        assert arch.output_shapes == {k: tuple(v) for k, v in ref["output_shapes"].items()}
    else:
        assert arch.output_shapes == {k: (21, *ref["input"][1:]) for k in ref["eval"]}


def _close(got: dict, want: dict, key: str) -> None:
    scale = want["max_abs"]
    worst = max(abs(a - b) for a, b in zip(got["first"], want["first"]))
    assert worst <= 1e-5 * scale, f"{key} differs by {worst:.3g} (max |{key}| {scale:.3g})"
    for stat in ("sum", "abs_sum"):
        assert abs(got[stat] - want[stat]) <= 1e-5 * want["abs_sum"], f"{key} {stat}"
    assert abs(got["square_sum"] - want["square_sum"]) <= 1e-5 * want["square_sum"], f"{key} square_sum"


def _close_all(got: dict, want: dict) -> None:
    from weights_by_name import summary

    assert list(got) == list(want)
    for key in want:
        _close(summary(got[key]), want[key], key)


@pytest.mark.parametrize("case", [pytest.param(c, marks=() if c in QUICK else pytest.mark.slow) for c in CASES])
def test_outputs_are_the_references(case, tmp_path):
    torch = pytest.importorskip("torch")
    from weights_by_name import disable_dropout, fill_by_name, sample_input

    arch, ref = arch_of(case), fixture(case)
    model = arch.to_torch(seed=0).eval()
    fill_by_name(model)
    weights = {k: v.clone() for k, v in model.state_dict().items()}  # train mode updates BN's statistics
    assert not model.load_state_dict(weights, strict=True).missing_keys
    x = sample_input(tuple(ref["input"]))
    model.double()  # as the fixture: float64, so no machine's float32 conv algorithms move the numbers
    with torch.no_grad():
        eval_out = model(x.double())
        _close_all(eval_out, ref["eval"])
        disable_dropout(model)
        model.train()
        _close_all(model(x.double()), ref["train"])
    if arch.params > ONNX_MAX_PARAMS:
        return
    import onnxruntime as ort

    target = tmp_path / f"{case}.onnx"
    arch.to_onnx(target, weights=weights)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == list(ref["eval"])
    for name, got in zip(ref["eval"], session.run(None, {"input": x.numpy()})):
        want = eval_out[name].numpy()
        assert float(abs(got - want).max()) <= 1e-4 * float(abs(want).max()), name
