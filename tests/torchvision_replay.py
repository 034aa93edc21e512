"""Reproduce torchvision's seeded initialisation on an archdsl module, without torchvision.

`torch.manual_seed(s); torchvision.models.resnet50()` draws its weights in a
fixed order: each Conv2d / Linear draws torch's default init as it is
constructed, then the model's init loop redraws (per family) in
`modules()` order. Our module has the same tensors (names, shapes, module
order), so replaying those draws, in that order, gives bit-identical weights:
`replay_torchvision_init(model, "resnet", seed)` == torchvision's state_dict.
bench/check_torchvision.py verifies that against torchvision itself; the CI
test (test_torch_torchvision.py) then compares logits with fixtures recorded
from torchvision.

The one difference in construction order: torchvision's ResNet `_make_layer`
builds a block's `downsample` before the block's own convs.
"""
import torch
import torch.nn as nn


def family_of(spec_name: str) -> str:
    for prefix, family in (("densenet", "densenet"), ("vgg", "vgg"), ("alexnet", "alexnet"),
                           ("resnext", "resnet"), ("wide_resnet", "resnet"), ("resnet", "resnet")):
        if spec_name.startswith(prefix):
            return family
    raise ValueError(f"no torchvision family for {spec_name!r}")


def _construction_order(model: nn.Module, family: str) -> list[nn.Module]:
    order: list[tuple[str, nn.Module]] = []
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        if family == "resnet" and ".downsample." in name:
            block = name.split(".downsample.")[0] + "."
            first = next(i for i, (other, _) in enumerate(order) if other.startswith(block))
            order.insert(first, (name, module))
        else:
            order.append((name, module))
    return [module for _, module in order]


def _init_loop(module: nn.Module, family: str) -> None:
    """One step of the family's `for m in self.modules()` loop (BN constants draw nothing)."""
    if isinstance(module, nn.Conv2d):
        if family in ("resnet", "vgg"):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif family == "densenet":
            nn.init.kaiming_normal_(module.weight)
        if family == "vgg" and module.bias is not None:
            nn.init.constant_(module.bias, 0)
    elif isinstance(module, nn.Linear):
        if family == "vgg":
            nn.init.normal_(module.weight, 0, 0.01)
        if family in ("vgg", "densenet"):
            nn.init.constant_(module.bias, 0)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        module.reset_parameters()


@torch.no_grad()
def replay_torchvision_init(model: nn.Module, family: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    for module in _construction_order(model, family):
        module.reset_parameters()  # torch's default init, as drawn in the constructor
    if family != "alexnet":
        for module in model.modules():
            _init_loop(module, family)
    return model
