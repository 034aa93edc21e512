"""The structured torch form (issue 13): a class per block template, loops for repetitions.

Checked against the flat form (codegen.py), which the rest of the torch tests
pin to torchvision: the same state_dict names, order and shapes, the same
seeded weights, every node's module at its qualified name, and the same
outputs. Then what a reader sees: line counts that grow with the spec, not
with the depth; torchvision-like blocks; `ruff check` and `ruff format
--check` clean files.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import archdsl
from archdsl.backends.torch import codegen, printing as structured
from archdsl.backends.torch.scopes import Scopes
from conftest import ROOT, SPECS, backend_specs, named_outputs, rel, small_arch

# Structurally different nets, cheap at their small input: the default suite runs these.
REPRESENTATIVE = ["resnet18", "resnet50", "cifar/resnet20", "cifar/preact_resnet164", "cifar/wrn16_8",
                  "densenet121", "mobilenet_v3_small", "inception_v3", "cifar/fractalnet20", "cifar/highway",
                  "cifar/polynet_small", "cifar/resnet110_shared", "convnext_tiny", "shufflenet_v2_x0_5",
                  "squeezenet1_1", "stn_small", "efficientnet_b0", "regnet_y_400mf", "xception", "alexnet"]
LINE_LIMIT = 400  # every library spec
LINE_TARGETS = {"resnet152": 200, "cifar/resnet1202": 200, "densenet264": 200}


def _spec(name: str) -> Path:
    return ROOT / "specs" / f"{name}.arch"


def _class(source: str, name: str):
    namespace = {"__name__": "generated"}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace[name]


def _calibrate_norms(model, xs):
    """Each BN's running variance set to its input's mean square on `xs`, so a 1,000-layer net stays finite."""
    def calibrate(bn, inputs):
        dims = [d for d in range(inputs[0].dim()) if d != 1]
        bn.running_var.copy_(inputs[0].pow(2).mean(dims).clamp(min=1e-3))

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    hooks = [bn.register_forward_pre_hook(calibrate) for bn in norms]
    with torch.no_grad():
        model.eval()(*xs)
    for hook in hooks:
        hook.remove()


def _agree_with_flat(path):
    arch = small_arch(path, narrow=True)
    source, name = structured.module_source(arch)
    flat_source, _ = codegen.module_source(arch)
    torch.manual_seed(0)
    model = _class(source, name)()
    torch.manual_seed(0)
    flat = _class(flat_source, name)()
    ours, theirs = model.state_dict(), flat.state_dict()
    assert [(k, v.shape) for k, v in ours.items()] == [(k, v.shape) for k, v in theirs.items()]
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)  # the same draws in the same order
    copies = tuple(p + "." for p in Scopes(arch.graph, arch.shapes).shared_copies())  # `x n shared`: applied
    flat_modules = {n for n, _ in flat.named_modules() if not (n + ".").startswith(copies)}  # again, not made
    assert flat_modules <= {n for n, _ in model.named_modules()}
    assert model.ZERO_INIT_RESIDUAL_BNS == flat.ZERO_INIT_RESIDUAL_BNS
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in list(flat.parameters()) + list(flat.buffers()):
            if p.dtype.is_floating_point and p.dim() == 1:
                p.copy_(torch.rand(p.shape, generator=generator) + 0.5)  # BN statistics and 1-D params
    xs = [torch.randn(2, *shape, generator=generator) for shape in arch.input_shapes.values()]
    _calibrate_norms(flat, xs)
    model.load_state_dict(flat.state_dict())
    with torch.no_grad():
        want, got = named_outputs(arch, flat.eval()(*xs)), named_outputs(arch, model.eval()(*xs))
    assert list(got) == list(want)
    for key in want:
        assert torch.isfinite(want[key]).all(), key
        assert (got[key] - want[key]).abs().max().item() <= 1e-5 * max(1.0, want[key].abs().max().item())


# compared with the flat form in the default suite (every spec: slow)
EQUALITY = ["resnet50", "cifar/preact_resnet164", "densenet121", "mobilenet_v3_small", "cifar/fractalnet20",
            "cifar/resnet110_shared", "detection/yolov8n_neck"]


@pytest.mark.parametrize("name", EQUALITY)
def test_structured_module_equals_flat(name):
    _agree_with_flat(_spec(name))


@pytest.mark.slow
@pytest.mark.parametrize("path", backend_specs(SPECS), ids=rel)
def test_structured_module_equals_flat_every_spec(path):
    _agree_with_flat(path)


def _lines(path, **params) -> int:
    source, _ = structured.module_source(archdsl.load(path, **params))
    return len(source.splitlines())


@pytest.mark.parametrize("name, limit", LINE_TARGETS.items())
def test_line_count_targets(name, limit):
    assert _lines(_spec(name)) <= limit


def test_depth_changes_numbers_not_lines():
    small, big = (structured.module_source(archdsl.load(_spec(n)))[0] for n in ("cifar/resnet20", "cifar/resnet1202"))
    assert len(big.splitlines()) - len(small.splitlines()) <= 5
    assert "range(199)" in big and "range(2)" in small


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in SPECS if "families" not in p.parts], ids=rel)
def test_every_spec_is_short(path):
    assert _lines(path) <= LINE_LIMIT


def test_resnet50_reads_like_torchvision():
    source, _ = structured.module_source(archdsl.load(_spec("resnet50")))
    assert "class Bottleneck(Group):" in source and source.count("\nclass ") == 4  # Group, Add, Bottleneck, the network
    assert "def __init__(self, in_channels, planes, stride=1, downsample=False):" in source
    assert "        if self.downsample is not None:\n            x = self.downsample(x)\n" in source
    assert "Bottleneck(512, 256, stride=2, downsample=True)," in source
    assert "*[Bottleneck(1024, 256) for _ in range(5)]," in source
    assert "x = self.layer3(x)  # 1024x14x14" in source  # shape comments in the network's forward
    assert "self.layer1[0]" not in source


def test_densenet_dense_block_is_a_loop():
    source, _ = structured.module_source(archdsl.load(_spec("densenet121")))
    assert "class DenseBlock(Group):" in source
    assert "DenseBlock([DenseLayer(64 + 32 * i, 32) for i in range(6)])" in source


def test_activations_are_a_class_argument():
    """MobileNetV3's conv_bn_act with hardswish, relu or none: one class, as torchvision's Conv2dNormActivation."""
    source, _ = structured.module_source(archdsl.load(_spec("mobilenet_v3_large")))
    assert "class ConvBnAct(" in source and "class ConvBnAct2" not in source
    assert "        if activation_layer is not None:\n            self[2] = activation_layer(inplace=True)\n" in source
    assert "ConvBnAct(3, 16, kernel=3, stride=2, activation_layer=nn.Hardswish)," in source
    assert "padding=(kernel - 1) // 2 * dilation," in structured.module_source(
        archdsl.load(_spec("segmentation/deeplabv3_mobilenet_v3_large")))[0]


def test_shared_repetition_is_one_block_applied_again():
    source, _ = structured.module_source(archdsl.load(_spec("cifar/resnet110_shared")))
    assert "self.layer1 = SharedRepeat(Basic(16, 16), times=(18,))" in source
    assert "Basic(16, 32, stride=2, downsample=True), Basic(32, 32), times=(1, 17)" in source
    assert "self.layer2[5]" not in source


def test_items_some_instances_lack_are_appended_under_a_condition():
    """MobileNetV3's inverted residual: one class, as torchvision's, whether it expands and has SE or not."""
    source, _ = structured.module_source(archdsl.load(_spec("mobilenet_v3_large")))
    assert source.count("class InvertedResidual") == 1
    assert "        if in_channels != expanded:\n            layers.append(\n" in source
    assert "        if squeeze is not None:\n            layers.append(SqueezeExcitation(expanded, squeeze))\n" in source
    assert "        self.block = nn.Sequential(*layers)\n" in source


def test_repeated_parallel_branches_are_a_module_list():
    source, _ = structured.module_source(archdsl.load(_spec("resnext50_32x4d_branches")))
    assert source.count("class Bottleneck") == 1
    assert "        self.branch = nn.ModuleList(branches)\n" in source
    assert "return self.add(*[branch(x) for branch in self.branch])" in source
    assert '("2", nn.ReLU(inplace=True)),' in source and "for _ in range(32)" in source


def test_tuple_arguments_are_generalised_per_element():
    source, _ = structured.module_source(archdsl.load(_spec("convnext_tiny")))
    assert "def __init__(self, in_channels, p):" in source
    assert "self.layer_scale = nn.Parameter(torch.full((in_channels, 1, 1), 1e-06))" in source


def test_fractal_columns_are_module_lists():
    source, _ = structured.module_source(archdsl.load(_spec("cifar/fractalnet40")))
    assert "self.fractal.col4 = nn.ModuleList(" in source and "for _ in range(8)" in source


def test_flat_option_keeps_the_straight_line_form(cli, tmp_path):
    path = tmp_path / "flat.py"
    assert cli("compile", "specs/cifar/resnet20.arch", "--target", "torch", "--flat", "-o", path)[0] == 0
    assert "self.layer1[0].conv1 = " in path.read_text()
    model = archdsl.load("specs/cifar/resnet20.arch").to_torch(seed=0, flat=True)
    assert "layer1.0.conv1.weight" in model.state_dict()


def _ruff():
    found = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(found).exists():
        pytest.skip("ruff is not installed (pip install -e .[dev])")
    return found


def _ruff_clean(paths, tmp_path):
    files = []
    for path in paths:
        for fuse in (False, True):
            source, _ = structured.module_source(archdsl.load(path), fold_bn=fuse)
            out = tmp_path / f"{rel(path).replace('/', '_').replace('.arch', '')}{'_fused' if fuse else ''}.py"
            out.write_text(source)
            files.append(str(out))
    ruff = _ruff()
    for command in (["check", "--no-cache", "--isolated"], ["format", "--check", "--no-cache", "--isolated"]):
        proc = subprocess.run([ruff, *command, *files], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_generated_files_pass_ruff(tmp_path):
    _ruff_clean([_spec(n) for n in REPRESENTATIVE], tmp_path)


@pytest.mark.slow
def test_every_generated_file_passes_ruff(tmp_path):
    _ruff_clean([p for p in SPECS if "families" not in p.parts], tmp_path)
