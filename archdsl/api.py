"""The Python API: `archdsl.load(path, **params)` and `archdsl.loads(text, ...)`.

    >>> arch = archdsl.load("specs/resnet50.arch")
    >>> arch.params, arch.macs, arch.output_shape
    (25557032, 4089184256, (1000,))
    >>> archdsl.load("specs/resnet50.arch", depth=101).params
    44549160
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import networkx as nx

from . import ir
from .elaborate import elaborate
from .errors import ArchError
from .loader import load_program, program_from_text
from .ops import Shape, fmt
from .passes import Counts, count_nodes, depth, totals_by_module


@dataclass(frozen=True)
class LayerRow:
    name: str
    op: str  # op kind
    description: str
    output_shape: Shape
    params: int
    macs: int
    extra_ops: int


class Architecture:
    """An elaborated spec: the IR graph plus its analyses (computed on demand)."""

    def __init__(self, name: str, graph: nx.DiGraph, shapes: dict[int, Shape], config: dict, source: str | None = None):
        self.name = name
        self.graph = graph
        self.shapes = shapes
        self.config = config  # the spec's parameters as used (defaults + overrides)
        self.source = source

    # -- analyses -----------------------------------------------------------
    @cached_property
    def node_counts(self) -> dict[int, Counts]:
        return count_nodes(self.graph, self.shapes)

    @cached_property
    def module_counts(self) -> dict[str, Counts]:
        return totals_by_module(self.graph, self.node_counts)

    @cached_property
    def totals(self) -> Counts:
        return self.module_counts[""]

    @property
    def params(self) -> int:
        return self.totals.params

    @property
    def macs(self) -> int:
        return self.totals.macs

    @property
    def flops(self) -> int:
        return self.totals.flops

    @property
    def elementwise_ops(self) -> int:
        return self.totals.extra_ops

    @cached_property
    def depth(self) -> int:
        return depth(self.graph)

    @property
    def input_shape(self) -> Shape:
        return self.shapes[self.graph.graph["input"]]

    @property
    def output_shape(self) -> Shape:
        return self.shapes[self.graph.graph["output"]]

    @property
    def modules(self) -> dict[str, ir.Module]:
        return ir.modules(self.graph)

    def layers(self) -> list[LayerRow]:
        """Every node but the input, in topological order."""
        rows = []
        for nid in ir.topo_order(self.graph):
            node = ir.node(self.graph, nid)
            if node.kind == "input":
                continue
            c = self.node_counts[nid]
            rows.append(LayerRow(node.name, node.kind, node.op.describe(), self.shapes[nid], c.params, c.macs, c.extra_ops))
        return rows

    def stages(self) -> list[str]:
        """Qualified names of the stages; the top-level items where no stage is declared."""
        mods = self.modules
        declared = [name for name, m in mods.items() if m.kind == "stage"]
        if declared:
            return declared
        return [name for name in _top_level_names(self.graph)]

    def paths(self):
        """Exact path statistics (archdsl/passes/paths.py): `.total`, `.modules`, `.layers` histograms."""
        if "_path_stats" not in self.__dict__:
            from .passes.paths import path_stats

            self._path_stats = path_stats(self.graph)
        return self._path_stats

    def without(self, *blocks: str) -> "Architecture":
        """A copy with the named residual blocks replaced by their shortcuts (archdsl/transforms.py)."""
        from .transforms import drop_blocks

        return drop_blocks(self, list(blocks))

    def _repr_svg_(self) -> str | None:
        """Jupyter shows the block-level diagram; None (plain repr) without graphviz's `dot`."""
        from backends.dot import svg_text

        return svg_text(self)

    def extract_column(self, k: int, group: str | None = None) -> "Architecture":
        """FractalNet's column k (1 = shallowest) as a plain network; names and weights carry over."""
        from .passes import extract_column

        graph, shapes = extract_column(self.graph, k, group)
        ir.verify(graph)
        return Architecture(f"{self.name}_column{k}", graph, shapes, {**self.config, "column": k}, self.source)

    def summary(self, **options) -> str:
        from .report import summary_text

        return summary_text(self, **options)

    def to_dict(self, elementwise: bool = False) -> dict:
        from .report import info_dict

        return info_dict(self, elementwise=elementwise)

    def to_torch(self, seed: int | None = None, fuse_bn: bool = False, zero_init_residual: bool = False, weights=None):
        """An nn.Module with generated straight-line forward (docs/torch.md); imports torch lazily.

        `seed` makes the torchvision-style initialisation deterministic; `weights` (a state_dict
        in the spec's layout) is loaded strictly; `fuse_bn` folds BN into convs for inference.
        """
        from backends.torch_module import build_module

        return build_module(self, seed=seed, fuse_bn=fuse_bn, zero_init_residual=zero_init_residual, weights=weights)

    def to_onnx(self, path, weights=None, fuse_bn: bool = False, seed: int = 0, external_data: bool | None = None):
        """Write a checked ONNX model (docs/onnx.md); `weights`: a state_dict, a .pt/.npz file, or None (seeded)."""
        from backends.onnx_model import export

        return export(self, path, weights=weights, fuse_bn=fuse_bn, seed=seed, external_data=external_data)

    def __repr__(self) -> str:
        return (
            f"<Architecture {self.name}: {fmt(self.input_shape)} -> {fmt(self.output_shape)}, "
            f"{self.params:,} params, {self.macs:,} MACs, depth {self.depth}>"
        )


def _top_level_names(g: nx.DiGraph) -> list[str]:
    seen: dict[str, None] = {}
    for nid in ir.topo_order(g):
        name = ir.node(g, nid).name
        if name == "input":
            continue
        seen.setdefault(name.split(".")[0], None)
    return list(seen)


def _build(program, params: dict, input_shape, source) -> Architecture:
    try:
        graph, shapes, config = elaborate(program, params, tuple(input_shape) if input_shape else None)
    except ArchError as err:
        if err.partial is not None and not isinstance(err.partial, Architecture):
            partial = err.partial
            err.partial = Architecture(program.name, partial, _partial_shapes(partial), {}, source)
        raise
    return Architecture(program.name, graph, shapes, config, source)


def _partial_shapes(g: nx.DiGraph) -> dict[int, Shape]:
    from .passes import infer_shapes

    return infer_shapes(g)


def load(path: str | Path, *, input_shape: Shape | None = None, import_path=(), **params) -> Architecture:
    """Load a `.arch` or YAML spec file; keyword arguments override its parameters.

    Imports may come from the spec's folder tree, archdsl's specs/ and the folders in `import_path`.
    """
    return _build(load_program(path, import_path), params, input_shape, str(path))


def loads(text: str, format: str = "arch", *, input_shape: Shape | None = None, name: str = "<string>",
          import_path=(), **params) -> Architecture:
    """Load a spec from text (`format` is "arch" or "yaml"); imports resolve from the working directory."""
    return _build(program_from_text(text, format, name, import_path), params, input_shape, None)
