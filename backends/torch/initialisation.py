"""The initialisation of generated modules (torchvision's) and BN folding of a state_dict.

Part of the runtime pieces of layers.py (re-exported there, copied into generated files by
source): it may refer only to `torch` and `nn`.
"""

from __future__ import annotations


import torch
import torch.nn as nn


def init_like_torchvision(model: nn.Module, zero_init: tuple = ()) -> None:
    """Initialise as torchvision's ResNet does.

    Convs: Kaiming normal, fan_out, ReLU gain; conv biases 0. Batch norm:
    weight 1, bias 0, fresh running statistics. Linear and everything else:
    torch's default (`reset_parameters`). Layers marked `own_init` keep the
    initialisation they were constructed with. Then the BNs named in `zero_init`
    (the last BN of each residual branch, when asked) get weight 0.
    """
    for module in model.modules():
        if getattr(module, "own_init", False):
            continue  # a layer with its paper's initialisation (a gate's bias, a theta's identity)
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_parameters()
        elif isinstance(module, (nn.Linear, nn.PReLU)):
            pass  # constructed with torch's default initialisation already
        elif hasattr(module, "reset_parameters"):
            module.reset_parameters()
    for name in zero_init:
        nn.init.zeros_(model.get_submodule(name).weight)


def residual_branch_bns(model: nn.Module) -> tuple:
    """The last BN of each residual branch: each module's RESIDUAL_BNS, qualified, in module order."""
    names = []
    for name, module in model.named_modules():
        names += [
            f"{name}.{n}".lstrip(".") for n in getattr(module, "RESIDUAL_BNS", ())
        ]
    return tuple(names)


def fold_batchnorm(state_dict: dict, folds: tuple) -> dict:
    """Fold eval-mode batch norm into the preceding conv, on a state_dict.

    `folds` lists (conv name, bn name, eps). For y = bn(conv(x)):
        s = gamma / sqrt(running_var + eps)
        conv.weight <- conv.weight * s (per output channel)
        conv.bias   <- (conv.bias - running_mean) * s + beta
    The BN's entries are dropped. Computed in float64, stored in the conv's dtype.
    """
    state = dict(state_dict)
    for conv, bn, eps in folds:
        weight = state[f"{conv}.weight"]
        mean = state.pop(f"{bn}.running_mean").double()
        var = state.pop(f"{bn}.running_var").double()
        state.pop(f"{bn}.num_batches_tracked", None)
        gamma = state.pop(f"{bn}.weight", None)
        beta = state.pop(f"{bn}.bias", None)
        gamma = torch.ones_like(mean) if gamma is None else gamma.double()
        beta = torch.zeros_like(mean) if beta is None else beta.double()
        bias = state.get(f"{conv}.bias")
        bias = torch.zeros_like(mean) if bias is None else bias.double()
        s = gamma / torch.sqrt(var + eps)
        state[f"{conv}.weight"] = (weight.double() * s.reshape(-1, 1, 1, 1)).to(
            weight.dtype
        )
        state[f"{conv}.bias"] = ((bias - mean) * s + beta).to(weight.dtype)
    return state
