"""Expected depth under stochastic depth (Huang et al. 2016).

Each `stochastic_depth` node keeps its residual branch with probability p. The
expected number of surviving blocks is sum(p); the expected depth is the
longest-path recurrence with the max taken in expectation where branches may
be dropped: an input kept with probability p_i contributes its depth only when
it is kept and every deeper input is dropped:

    E[max] = sum_i d_i * p_i * prod_{j < i} (1 - p_j)     (inputs sorted deepest first)

For a chain of residual blocks this is exact: E = depth - sum_l (1 - p_l) * w_l
(w_l the weight layers on block l's branch). ResNet-110, p_L = 0.5, linear decay:
40.25 of 54 blocks, expected depth 82.5 of 110.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, NodeId


@dataclass(frozen=True)
class StochasticDepthSummary:
    blocks: int  # stochastic_depth nodes (residual branches that may be dropped)
    expected_blocks: float  # sum of their survival probabilities
    survivals: tuple[float, ...]  # in network order
    depth: int  # weight layers on the longest path, nothing dropped
    expected_depth: float


def stochastic_depth_summary(g: Graph) -> StochasticDepthSummary | None:
    """None when the network has no stochastic depth."""
    keep = {nid: g.node(nid).op.branch_survival() for nid in g.order}
    survivals = tuple(p for p in keep.values() if p is not None)
    if not survivals:
        return None
    deepest: dict[NodeId, int] = {}
    expected: dict[NodeId, float] = {}
    for nid in g.order:
        here = 1 if g.node(nid).op.weight_layer else 0
        preds = g.inputs(nid)
        deepest[nid] = here + max((deepest[p] for p in preds), default=0)
        terms = sorted(((expected[p], 1.0 if keep[p] is None else keep[p]) for p in preds), reverse=True)
        value, none_kept = 0.0, 1.0
        for depth, kept in terms:
            value += depth * kept * none_kept
            none_kept *= 1.0 - kept
        expected[nid] = here + value
    return StochasticDepthSummary(len(survivals), sum(survivals), survivals, deepest[g.output], expected[g.output])
