"""BN folding for inference: conv -> bn becomes one conv with a bias. Planned once, used by both backends.

    conv1 (bias=false) -> bn1 -> relu      =>      conv1 (bias=true) -> relu      folds: (conv1, bn1, eps)

A norm folds (trait `folds_into_conv`) when its input is a conv that can take
it (`takes_fold`), feeds nothing else, and neither shares weights. The
backends fold the weights themselves from `folds` (the torch file with
`fold_batchnorm`, ONNX with numpy): y = bn(conv(x)) with s = gamma /
sqrt(var + eps) is w' = w * s, b' = (b - mean) * s + beta.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..ir import Graph, NodeId, verify


@dataclass(frozen=True)
class Fold:
    conv: str  # qualified names
    norm: str
    eps: float
    conv_bias: bool  # the conv had a bias of its own
    affine: bool  # the norm has gamma and beta


def plan_folds(g: Graph) -> dict[NodeId, NodeId]:
    """{norm: conv} for every norm that folds into the conv before it."""
    shared = {n.shared_with for n in g.nodes()} | {n.name for n in g.nodes() if n.shared_with}
    folds = {}
    for nid in g.order:
        node = g.node(nid)
        if not node.op.traits.folds_into_conv or node.name in shared:
            continue
        (src,) = g.inputs(nid)
        conv = g.node(src)
        if conv.op.traits.takes_fold and g.consumers(src) == [nid] and conv.name not in shared:
            folds[nid] = src
    return folds


def fold_bn(g: Graph) -> tuple[Graph, tuple[Fold, ...]]:
    """The graph with every foldable norm folded into its conv, and what was folded."""
    plan = plan_folds(g)
    new = g.copy()
    folds = []
    for norm_id, conv_id in plan.items():
        conv, norm = g.node(conv_id), g.node(norm_id)
        folds.append(Fold(conv.name, norm.name, norm.op.eps, conv.op.bias, norm.op.affine))
        new.replace(conv_id, replace(conv, op=replace(conv.op, bias=True)))
        new.rewire(norm_id, conv_id)
    new.remove(plan)
    new.units = [u for u in g.units if not set(plan).intersection(u.nodes)]
    verify(new)
    return new, tuple(folds)
