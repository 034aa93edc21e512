"""One output of a network with several (`output out, aux`): the nodes it depends on, as a network.

    fcn:  input -> backbone -> head -> out;  backbone.layer3 -> aux_head -> aux
    only_output(g, "aux"):  input -> backbone up to layer3 -> aux_head -> aux

Params, MACs, depth and paths per output are the analyses of this graph.
"""
from __future__ import annotations

from ..errors import ArchError, suggest
from ..ir import Graph, verify


def only_output(g: Graph, key: str) -> Graph:
    outputs = g.output_nodes()
    if key not in outputs:
        raise ArchError(f"no output '{key}'{suggest(key, outputs)}; the outputs are: {', '.join(outputs)}")
    sink = outputs[key]
    new = g.copy()
    keep = g.ancestors(sink)
    new.remove([nid for nid in g.order if nid not in keep])
    new.output, new.outputs, new.outputs_as_tuple = sink, None, False
    inputs = {name: nid for name, nid in g.input_nodes().items() if nid in keep}  # those this output reads
    new.input = next(iter(inputs.values()))
    new.more_inputs = dict(list(inputs.items())[1:])
    kept_names = {g.node(nid).name for nid in keep}
    new.modules = {name: m for name, m in g.modules.items()
                   if not name or any(n == name or n.startswith(name + ".") for n in kept_names)}
    verify(new)
    return new
