"""Weights drawn from each tensor's state_dict name, so two implementations of a net get the same ones.

    fill_by_name(model)        # ours or the reference (torchvision, timm): the same numbers for the same keys

Every float tensor is redrawn from a generator seeded by the CRC32 of its
name: matrices and kernels ~ N(0, 1/fan_in); running variances and 1-D
weights (norm scales, layer scale) ~ U(0.5, 1.5); biases and running means
~ N(0, 0.1²). BN statistics and every 1-D parameter are thus random, not
their defaults, so a wrong activation or a missing affine cannot look right
(with default init many of these nets give near-zero logits). Used by
tests/fixtures/make_modern_fixtures.py (reference side) and test_modern_zoo.py.
"""
import zlib

import torch


def fill_by_name(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
            if tensor.dim() >= 2:
                fan_in = tensor[0].numel()
                value = torch.randn(tensor.shape, generator=gen) / fan_in ** 0.5
            elif name.endswith("running_var") or name.endswith("weight") or tensor.dim() == 0:
                value = torch.rand(tensor.shape, generator=gen) + 0.5
            else:
                value = torch.randn(tensor.shape, generator=gen) * 0.1
            tensor.copy_(value.to(tensor.dtype))


def disable_dropout(model: torch.nn.Module) -> None:
    """Dropout and drop-path probabilities to 0 (train mode then differs from eval only in BN)."""
    for module in model.modules():
        if hasattr(module, "p") and isinstance(getattr(module, "p"), float):
            module.p = 0.0
        if hasattr(module, "drop_prob"):  # timm's DropPath
            module.drop_prob = 0.0


def sample_input(shape, batch: int = 2) -> torch.Tensor:
    return torch.randn((batch, *shape), generator=torch.Generator().manual_seed(0))


def summary(logits: torch.Tensor) -> dict:
    """What a fixture keeps of a batch of logits (or maps): the first 100 of sample 0, and sums over everything."""
    x = logits.detach().double()
    return {"first": x[0].flatten()[:100].tolist(), "sum": x.sum().item(), "abs_sum": x.abs().sum().item(),
            "square_sum": (x * x).sum().item(), "max_abs": x.abs().max().item()}
