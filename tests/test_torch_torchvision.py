"""The torch modules of resnet18/50 and densenet121 compute torchvision's logits (issue 5).

CI has no torchvision. tests/fixtures/torchvision/outputs_<name>.json holds
torchvision's logits for seeded weights (tests/fixtures/make_torchvision_outputs.py);
`torchvision_replay` rebuilds those exact weights on our module by replaying
torchvision's RNG draws (checked bit for bit against torchvision by
bench/check_torchvision.py), and the logits must then agree.
"""
import json

import pytest
import torch

import archdsl
from conftest import ROOT
from torchvision_replay import family_of, replay_torchvision_init

FIXTURES = ROOT / "tests" / "fixtures" / "torchvision"


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "densenet121"])
def test_logits_equal_torchvision_fixture(name):
    ref = json.loads((FIXTURES / f"outputs_{name}.json").read_text())
    arch = archdsl.load(f"specs/{name}.arch", input_shape=tuple(ref["input_shape"][1:]))
    model = arch.to_torch().eval()
    replay_torchvision_init(model, family_of(name), seed=ref["seed"])
    x = torch.randn(*ref["input_shape"])  # drawn right after construction, as in the fixture
    with torch.no_grad():
        logits = model.double()(x.double())  # float64, as the fixture: the same numbers on any machine
    first = torch.tensor(ref["logits_first_row_first_10"], dtype=torch.float64)
    scale = max(first.abs().max().item(), 1.0)  # error relative to the output's size
    assert (logits[0, :10] - first).abs().max().item() <= 1e-5 * scale
    assert abs(logits.sum().item() - ref["logits_sum"]) <= 1e-5 * ref["logits_abs_sum"]
    assert abs(logits.abs().sum().item() - ref["logits_abs_sum"]) <= 1e-5 * ref["logits_abs_sum"]
