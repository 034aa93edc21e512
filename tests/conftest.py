import os
import re
import sys
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs two workers on two cores: one torch thread each
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # (two each oversubscribe the cores: the slow tier ran 3-6x slower)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archdsl  # noqa: E402  (after the path is set)
from archdsl.errors import ArchError  # noqa: E402
os.chdir(ROOT)  # spec paths in tests and error messages are relative to the project root

SPECS = sorted(p for p in (ROOT / "specs").rglob("*.arch"))
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*") if p.suffix in (".arch", ".yaml", ".yml"))


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


SMALL_SIDES = (32, 64, 96, 128, 160, 224, 299)
GLOBAL_POOLS = ("gap", "adaptive_avgpool", "adaptive_maxpool")


# Size variants of one family (the same structure, other numbers): the generic backend tests run
# the family's smallest member; test_zoo and test_modern_zoo check every one against its reference.
SIZE_VARIANTS = {f"efficientnet_b{i}" for i in range(1, 8)} | {f"convnext_{v}" for v in ("small", "base", "large")} \
    | {f"shufflenet_v2_{v}" for v in ("x1_0", "x1_5", "x2_0")} \
    | {"resnet34", "resnet101", "resnet152", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet101_2",
       "densenet161", "densenet169", "densenet201", "densenet264", "vgg13", "vgg16", "vgg19", "vgg13_bn", "vgg16_bn",
       "vgg19_bn"} \
    | {f"regnet_{v}" for v in ("x_800mf", "x_1_6gf", "x_3_2gf", "x_8gf", "x_16gf", "x_32gf",
                               "y_800mf", "y_1_6gf", "y_3_2gf", "y_8gf", "y_16gf", "y_32gf", "y_128gf")}


def backend_specs(specs):
    """The model specs a generic backend test runs: no family files, one member per size family."""
    return [p for p in specs if "families" not in p.parts and p.stem not in SIZE_VARIANTS]


# Backend tests narrow VGG's two hidden fully connected layers (120M of its 138M weights, the
# same lowering at any width): exporting and checking 550 MB nine times took 90 s; and U-Net's widths.
NARROW = {"vgg": {"hidden": 256}, "unet": {"width": 8}}  # U-Net: 64 -> 1,024 channels at 572x572 took 70 s


def narrow_params(path) -> dict:
    name = Path(path).name
    return next((dict(p) for prefix, p in NARROW.items() if name.startswith(prefix)), {})



def named_outputs(arch, result) -> dict:
    """A torch module's result by output name: one tensor ("output"), a dict, or a tuple in output order."""
    if isinstance(result, dict):
        return result
    return dict(zip(arch.graph.outputs, result)) if isinstance(result, tuple) else {"output": result}

def small_arch(path, narrow: bool = False, **params) -> archdsl.Architecture:
    """The spec at the smallest input side that keeps every feature map at least 2x2.

    `narrow`: also the NARROW parameters (tests of lowering, not of the net's size).

    For backend tests: big nets are cheap there, and with 2x2 maps a batch-2
    train-mode BN or a batch-calibrated BN is not a function of two numbers
    (at 1x1, Inception-v4's float32 logits differ from float64 by 2e-4).
    Else the smallest side the spec accepts, else its own input.
    """
    if narrow:
        params = {**narrow_params(path), **params}
    full = archdsl.load(path, **params)
    if len(full.input_shape) != 3:
        return full
    smallest = None
    for side in SMALL_SIDES:
        if side >= min(full.input_shape[1:]):
            break
        try:
            arch = archdsl.load(path, input_shape=(full.input_shape[0], side, side), **params)
        except ArchError:
            continue
        if min(_sides_before_global_pooling(arch), default=2) >= 2:
            return arch
        smallest = smallest or arch
    return smallest or full


def _sides_before_global_pooling(arch) -> list[int]:
    """The smaller spatial side of every feature map not produced by or after a pooling to 1x1."""
    g, shapes = arch.graph, arch.shapes
    pooled = {n for n in g if g.node(n).kind in GLOBAL_POOLS and shapes[n][1:] == (1, 1)}
    after = pooled.union(*(g.descendants(n) for n in pooled))
    return [min(shapes[n][1:]) for n in g if n not in after and len(shapes[n]) == 3]


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from archdsl.cli import main

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def spec_file(tmp_path):
    """Write a spec to a temporary file; returns its path."""

    def write(text: str, name: str = "t.arch") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def located(err: str, path, line: int, col: int | None = None):
    """Assert the error names path:line[:col], shows that source line and a caret under col.

    Lines are counted as archdsl's front ends count them: `\\n` ends an .arch line; YAML also
    breaks at \\r, NEL, U+2028 and U+2029 (splitlines would also break at form feeds).
    """
    from archdsl.errors import visible

    first = err.splitlines()[0]
    m = re.match(rf"^{re.escape(str(path))}:(\d+):(\d+): error: ", first)
    assert m, first
    assert int(m.group(1)) == line, first
    if col is not None:
        assert int(m.group(2)) == col, first
    text = open(path, newline="").read()
    lines = re.split("\r\n|[\r\n\x85\u2028\u2029]", text) if str(path).endswith((".yaml", ".yml")) else text.split("\n")
    shown = err.split("\n")
    assert shown[1].endswith(visible(lines[line - 1].expandtabs(1)).rstrip()), shown[1]
    caret_col = shown[2].index("^") - shown[2].index("|") - 1
    assert caret_col == int(m.group(2)), (shown[2], m.group(2))
    assert "Traceback" not in err


@pytest.fixture
def expect_error(cli, spec_file):
    """Check a spec (GOOD_HEAD + body) and assert a located error with `fragment` at line:col."""

    def check(text: str, line: int, col: int, fragment: str, head: str = "arch t\ninput 3x8x8\n"):
        path = spec_file(head + text)
        code, _, err = cli("check", path)
        assert code == 2
        assert fragment in err, err
        located(err, path, line, col)

    return check
