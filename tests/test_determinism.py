"""The same spec gives the same bytes in every process: torch source, ONNX model, diagrams, JSON.

Run in two fresh interpreters with different PYTHONHASHSEEDs (set and dict
iteration must never decide an order).
"""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

SPECS = ["specs/cifar/fractalnet20.arch", "specs/googlenet.arch", "specs/cifar/resnet110_shared.arch"]
SCRIPT = """
import hashlib, json, sys
import archdsl
from archdsl.backends.dot.render import dot_text
from archdsl.backends.torch.codegen import module_source
from archdsl.backends.onnx.model import build_model
from archdsl.targets import OnnxOptions
out = {}
for spec in sys.argv[1:]:
    arch = archdsl.load(spec)
    parts = [module_source(arch)[0], module_source(arch, fold_bn=True)[0], dot_text(arch, "block"),
             dot_text(arch, "stage"), json.dumps(arch.to_dict()), arch.dump(), str(arch.paths().modules.counts)]
    digest = hashlib.sha256("\\0".join(parts).encode())
    digest.update(build_model(arch, OnnxOptions(fuse_bn=True)).SerializeToString())
    out[spec] = digest.hexdigest()
print(json.dumps(out))
"""


@pytest.mark.slow
def test_outputs_do_not_depend_on_the_hash_seed():
    pytest.importorskip("torch")
    runs = []
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", SCRIPT, *SPECS], cwd=ROOT, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        runs.append(proc.stdout)
    assert runs[0] == runs[1]
