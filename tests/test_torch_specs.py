"""Analysis and torch module agree, for every spec in specs/ (issue 5).

For each spec, at a small input (the spec's own if it is <= 32 pixels, else
the smallest of 32, 64, 96, ... it accepts) and batch 2:
  * state_dict names and shapes, in order, are `passes.state_layout`'s
  * the parameter count is `arch.params`
  * forward hooks see the analyser's shape at every node
  * FlopCounterMode counts exactly 2 x `arch.macs` per image
  * SGD on one seeded batch gives finite losses that decrease
"""
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import archdsl
from archdsl import ir
from archdsl.errors import ArchError
from archdsl.passes import state_layout
from conftest import SPECS, rel

SIZES = (32, 64, 96, 128, 160, 224, 299)
MODEL_SPECS = [p for p in SPECS if "families" not in p.parts]


def small(path) -> archdsl.Architecture:
    """The spec at the smallest input size it accepts (its own if that is small already)."""
    arch = archdsl.load(path)
    shape = arch.input_shape
    if len(shape) != 3 or shape[1] <= SIZES[0]:
        return arch
    for size in SIZES:
        if size >= shape[1]:
            break
        try:
            return archdsl.load(path, input_shape=(shape[0], size, size))
        except ArchError:
            continue
    return arch


def record_shapes(model):
    seen: dict[str, set] = {}
    hooks = [
        module.register_forward_hook(lambda m, i, out, name=name: seen.setdefault(name, set()).add(tuple(out.shape[1:])))
        for name, module in model.named_modules()
        if name
    ]
    return seen, hooks


def loss_of(out):
    torch.manual_seed(1)
    target = torch.randint(0, out.shape[1], (out.shape[0],) + tuple(out.shape[2:]))
    return F.cross_entropy(out, target)


@pytest.mark.parametrize("path", MODEL_SPECS, ids=rel)
def test_module_agrees_with_analysis(path):
    torch.set_num_threads(2)
    arch = small(path)
    model = arch.to_torch(seed=0)

    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == [(k, tuple(s)) for k, s in state_layout(arch.graph, arch.shapes)]
    assert sum(p.numel() for p in model.parameters()) == arch.params

    torch.manual_seed(0)
    x = torch.randn(2, *arch.input_shape)
    seen, hooks = record_shapes(model)
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as flops:
        out = model(x)
    for h in hooks:
        h.remove()
    assert flops.get_total_flops() == 2 * 2 * arch.macs  # batch 2
    assert tuple(out.shape[1:]) == arch.output_shape
    wrong = []
    for nid in ir.topo_order(arch.graph):
        node = ir.node(arch.graph, nid)
        module = getattr(node, "shared_with", None) or node.name
        if node.kind != "input" and seen.get(module) != {arch.shapes[nid]}:
            wrong.append(f"{node.name}: module saw {seen.get(module)}, analyser says {arch.shapes[nid]}")
    assert not wrong, "\n".join(wrong[:10])

    model.train()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
    losses = []
    for step in range(3):
        torch.manual_seed(2)  # the same dropout / drop-path / stochastic-depth draws every step
        loss = loss_of(model(x))
        losses.append(loss.item())
        if step < 2:
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # a bounded step, even for ResNet-1202
            optimiser.step()

    assert all(torch.isfinite(torch.tensor(losses))), losses
    assert losses[2] < losses[0], losses
