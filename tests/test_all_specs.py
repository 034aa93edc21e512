"""Every spec in specs/ and every example loads, verifies and re-infers to the same shapes."""
import json
import subprocess
import sys

import pytest

import archdsl
from archdsl.passes import infer_shapes
from conftest import EXAMPLES, ROOT, SPECS, rel


@pytest.mark.parametrize("path", SPECS + EXAMPLES, ids=rel)
def test_spec_builds_and_verifies(path):
    arch = archdsl.load(path)
    archdsl.verify(arch.graph)
    assert infer_shapes(arch.graph) == arch.shapes
    assert arch.params > 0 or arch.macs >= 0
    assert arch.depth >= 0
    d = arch.to_dict()
    assert d["params"] == arch.params and len(d["layers"]) == len(arch.graph) - 1
    json.dumps(d)


def test_analysis_path_does_not_import_torch():
    code = (
        "import sys, archdsl\n"
        "from archdsl.cli import main\n"
        "main(['info', 'specs/resnet50.arch', '--json'])\n"
        "main(['check', 'examples/cifar_resnet20.yaml'])\n"
        "heavy = [m for m in ('torch', 'onnx', 'onnxruntime', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
