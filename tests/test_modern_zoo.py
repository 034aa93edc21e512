"""The modern families (issue 11) against torchvision 0.29.1 and timm, from tests/fixtures/modern.

For each spec: params and MACs exact, the reference's state_dict names, shapes and order; then,
with every tensor drawn from its name (weights_by_name.py: BN statistics and 1-D parameters
random), `load_state_dict(strict=True)` of the reference's keys, eval logits and train-mode logits
(dropout and drop-path off) equal to the reference's within 1e-5 x max|logit|, and the ONNX
export's logits in onnxruntime equal to torch's.
"""
import json
from functools import cache

import pytest

import archdsl
from archdsl.passes import state_layout
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "modern"

# fixture -> (spec, parameters)
SPECS = {
    "mobilenet_v2": ("mobilenet_v2", {}),
    "mobilenet_v2_w0_5": ("mobilenet_v2", {"width": 0.5}),
    "mobilenet_v2_w1_4": ("mobilenet_v2", {"width": 1.4}),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}),
    **{f"efficientnet_{v}": (f"efficientnet_{v}", {}) for v in ("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "v2_s")},
    **{f"convnext_{v}": (f"convnext_{v}", {}) for v in ("tiny", "small", "base", "large")},
    **{f"shufflenet_v2_{v}": (f"shufflenet_v2_{v}", {}) for v in ("x0_5", "x1_0", "x1_5", "x2_0")},
    "squeezenet1_0": ("squeezenet1_0", {}),
    "squeezenet1_1": ("squeezenet1_1", {}),
    "mnasnet1_0": ("mnasnet1_0", {}),
    "seresnet50": ("seresnet50", {}),
    "resnet50d": ("resnet50d", {}),
    **{f"regnet_{v}": (f"regnet_{v}", {}) for v in ("x_400mf", "x_800mf", "x_1_6gf", "x_3_2gf", "x_8gf", "x_16gf", "x_32gf",
                                                    "y_400mf", "y_800mf", "y_1_6gf", "y_3_2gf", "y_8gf", "y_16gf", "y_32gf",
                                                    "y_128gf")},
}
# outputs not compared: 645M parameters (filling them and a 128 GFLOP forward take minutes here);
# its params, MACs and state_dict are checked, and its smaller siblings' outputs
NO_OUTPUTS = {"regnet_y_128gf"}
ONNX_MAX_PARAMS = 30_000_000  # larger exports repeat a smaller sibling's lowering at length (convnext_large: 0.8 GB)
# outputs compared in the default suite (the rest: slow)
QUICK = {"mobilenet_v3_small", "shufflenet_v2_x0_5"}  # SE, hard swish; split and shuffle


@cache
def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@cache
def arch_of(name: str):
    spec, params = SPECS[name]
    return archdsl.load(ROOT / "specs" / f"{spec}.arch", input_shape=tuple(fixture(name)["input"]), **params)


@pytest.mark.parametrize("name", SPECS)
def test_params_macs_and_state_dict_are_the_references(name):
    arch, ref = arch_of(name), fixture(name)
    assert (arch.params, arch.macs) == (ref["params"], ref["macs"])
    assert state_layout(arch.graph, arch.shapes) == [(k, tuple(s)) for k, s in ref["state_dict"]]


def _close(got: dict, want: dict) -> None:
    scale = want["max_abs"]
    worst = max(abs(a - b) for a, b in zip(got["first"], want["first"]))
    assert worst <= 1e-5 * scale, f"logits differ by {worst:.3g} (max |logit| {scale:.3g})"
    total = want["abs_sum"]
    for key in ("sum", "abs_sum"):
        assert abs(got[key] - want[key]) <= 1e-5 * total, key
    assert abs(got["square_sum"] - want["square_sum"]) <= 1e-5 * want["square_sum"]


def outputs_case(name: str):
    return pytest.param(name, marks=() if name in QUICK else pytest.mark.slow)


@pytest.mark.parametrize("name", [outputs_case(n) for n in SPECS if n not in NO_OUTPUTS])
def test_outputs_are_the_references(name, tmp_path):
    torch = pytest.importorskip("torch")
    from weights_by_name import disable_dropout, fill_by_name, sample_input, summary

    arch, ref = arch_of(name), fixture(name)
    model = arch.to_torch(seed=0).eval()
    fill_by_name(model)
    weights = {k: v.clone() for k, v in model.state_dict().items()}  # train mode updates BN's statistics
    x = sample_input(tuple(ref["input"]))
    model.double()  # as the fixture: float64, so no machine's float32 conv algorithms move the numbers
    with torch.no_grad():
        eval_logits = model(x.double())
        _close(summary(eval_logits), ref["eval"])
        disable_dropout(model)
        model.train()
        _close(summary(model(x.double())), ref["train"])
    if arch.params > ONNX_MAX_PARAMS:
        return
    import onnxruntime as ort

    target = tmp_path / f"{name}.onnx"
    arch.to_onnx(target, weights=weights)
    got = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    scale = float(eval_logits.abs().max())
    assert float(abs(got - eval_logits.numpy()).max()) <= 1e-4 * scale
