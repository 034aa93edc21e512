"""Analysis and torch module agree, for every spec in specs/ (issue 5).

For each spec, at a small input (conftest.small_arch: every feature map at
least 2x2, so train-mode BN is well conditioned) and batch 4:
  * state_dict names and shapes, in order, are `passes.state_layout`'s
  * the parameter count is `arch.params`
  * forward hooks see the analyser's shape at every node
  * FlopCounterMode counts exactly 2 x `arch.macs` per image
  * a training step gives a finite loss and finite gradients for every
    parameter (two SGD steps need not lower the loss: of a 56-layer plain
    net they do not, the degradation problem the literature describes).
    That the nets meant to train do train is test_training.py's: they
    overfit one fixed batch.
"""
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from archdsl import ir
from archdsl.backends.torch.scopes import Scopes
from archdsl.passes import state_layout
from conftest import SPECS, backend_specs, named_outputs, rel, small_arch

BATCH = 4
MODEL_SPECS = backend_specs(SPECS)  # one member per size family (conftest.SIZE_VARIANTS)


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


@pytest.mark.slow
@pytest.mark.parametrize("path", MODEL_SPECS, ids=rel)
def test_module_agrees_with_analysis(path):
    arch = small_arch(path, narrow=True)
    model = arch.to_torch(seed=0, zero_init_residual=True)

    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == [(k, tuple(s)) for k, s in state_layout(arch.graph, arch.shapes)]
    assert sum(p.numel() for p in model.parameters()) == arch.params

    torch.manual_seed(0)
    x = torch.randn(BATCH, *arch.input_shape)
    seen, hooks = record_shapes(model)
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as flops:
        out = model(x)
    for h in hooks:
        h.remove()
    assert flops.get_total_flops() == 2 * BATCH * arch.macs
    outs = named_outputs(arch, out)
    assert {k: tuple(v.shape[1:]) for k, v in outs.items()} == dict(arch.output_shapes)
    wrong = []
    copies = Scopes(arch.graph, arch.shapes).shared_copies()  # `x n shared`: a copy applies its owner's modules
    for nid in arch.graph.order:
        node = arch.graph.node(nid)
        copy = next((c for c in copies if node.name.startswith(c + ".")), None)
        module = node.shared_with or (copies[copy] + node.name[len(copy):] if copy else node.name)
        held = dict(node.op.state([arch.shapes[p] for p in arch.graph.inputs(nid)]))
        if "" in held:  # a parameter of its container (layer scale), multiplied in forward: no module to hook
            continue
        if node.kind != "input" and seen.get(module) != {arch.shapes[nid]}:
            wrong.append(f"{node.name}: module saw {seen.get(module)}, analyser says {arch.shapes[nid]}")
    assert not wrong, "\n".join(wrong[:10])

    model.train()
    torch.manual_seed(2)  # the same dropout / drop-path / stochastic-depth draws on every machine
    loss = sum(loss_of(o) for o in named_outputs(arch, model(x)).values())
    loss.backward()
    assert torch.isfinite(loss), loss
    bad = [name for name, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not bad, bad[:5]
