"""The Python API: `archdsl.load(path, **params)` and `archdsl.loads(text, ...)` -> Architecture.

    >>> arch = archdsl.load("specs/resnet50.arch")
    >>> arch.params, arch.macs, arch.output_shape
    (25557032, 4089184256, (1000,))
    >>> archdsl.load("specs/resnet50.arch", depth=101).params
    44549160

An Architecture is the IR graph plus its analyses, computed on demand. Every
graph it holds has passed `ir.verify` (after loading and after every
transform). The backends are reached through archdsl.targets.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .elaborate import elaborate
from .errors import ArchError
from .gcpause import without_gc
from .ir import Graph, Module, dump
from .ops import Shape, fmt
from .passes import Counts, count_nodes, depth, infer_shapes, path_stats, totals_by_module
from .report.tables import info_dict, summary_text
from .syntax.loader import load_program, program_from_text
from .targets import OnnxOptions, OutputOptions, TorchOptions, backend
from .transforms import bypass_blocks, drop_blocks, extract_column, only_output, reorder_blocks


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

    def __init__(self, name: str, graph: Graph, shapes: dict[int, Shape], config: dict, source: str | None = None):
        self.name = name
        self.graph = graph
        self.shapes = shapes
        self.config = config  # the spec's parameters as used (defaults + overrides)
        self.source = source
        self._per_output: dict[str, Architecture] = {}

    # -- analyses -----------------------------------------------------------
    @cached_property
    @without_gc
    def node_counts(self) -> dict[int, Counts]:
        return count_nodes(self.graph, self.shapes)

    @cached_property
    @without_gc
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
    @without_gc
    def depth(self) -> int:
        """The longest of the outputs' depths."""
        if self.graph.outputs:
            return max(self.output(key).depth for key in self.graph.outputs)
        return depth(self.graph)

    @property
    def input_shape(self) -> Shape:
        return self.shapes[self.graph.input]

    @property
    def input_shapes(self) -> dict[str, Shape]:
        """Each input's shape, by name (one input: {"input": its shape})."""
        return {key: self.shapes[nid] for key, nid in self.graph.input_nodes().items()}

    @property
    def inputs_text(self) -> str:
        """`3x224x224`, or `image 3x224x224, depth 1x224x224` for several inputs."""
        if not self.graph.more_inputs:
            return fmt(self.input_shape)
        return ", ".join(f"{key} {fmt(shape)}" for key, shape in self.input_shapes.items())

    @property
    def output_shape(self) -> Shape:
        """The shape of the (first) output."""
        return self.shapes[self.graph.output]

    @property
    def output_shapes(self) -> dict[str, Shape]:
        """Each output's shape, by name (one output: {"output": its shape})."""
        return {key: self.shapes[nid] for key, nid in self.graph.output_nodes().items()}

    def output(self, key: str) -> "Architecture":
        """One output of several with what it depends on: its params, MACs, depth and paths."""
        cached = self._per_output.get(key)
        if cached is None:
            graph = only_output(self.graph, key)
            cached = self._per_output[key] = Architecture(f"{self.name}.{key}", graph,
                                                          {nid: self.shapes[nid] for nid in graph}, self.config,
                                                          self.source)
        return cached

    @property
    def outputs_text(self) -> str:
        """`21x224x224`, or `out 21x224x224, aux 21x224x224` for several named outputs."""
        if not self.graph.outputs:
            return fmt(self.output_shape)
        return ", ".join(f"{key} {fmt(shape)}" for key, shape in self.output_shapes.items())

    @property
    def modules(self) -> dict[str, Module]:
        return self.graph.modules

    @without_gc
    def layers(self) -> list[LayerRow]:
        """Every node but the input, in topological order."""
        rows = []
        for nid in self.graph.order:
            node = self.graph.node(nid)
            if node.op.traits.source:
                continue
            c = self.node_counts[nid]
            rows.append(LayerRow(node.name, node.kind, node.op.describe(), self.shapes[nid], c.params, c.macs,
                                 c.extra_ops))
        return rows

    def stages(self) -> list[str]:
        """Qualified names of the stages; the top-level items where no stage is declared."""
        declared = [name for name, m in self.modules.items() if m.kind == "stage"]
        if declared:
            return declared
        seen: dict[str, None] = {}
        for node in self.graph.nodes():
            if not node.op.traits.source:
                seen.setdefault(node.name.split(".")[0], None)
        return list(seen)

    @cached_property
    @without_gc
    def _paths(self):
        return path_stats(self.graph)

    def paths(self):
        """Exact path statistics (passes/paths.py): `.total`, `.modules`, `.layers` histograms."""
        return self._paths

    # -- transforms ---------------------------------------------------------
    def without(self, *blocks: str) -> "Architecture":
        """A copy with the named residual blocks replaced by their shortcuts (transforms/drop_blocks.py)."""
        if not blocks:
            return self
        graph = drop_blocks(self.graph, list(blocks))
        shapes = {nid: self.shapes[nid] for nid in graph}
        return Architecture(f"{self.name} without {', '.join(blocks)}", graph, shapes, self.config, self.source)

    def reordered(self, order: list[str]) -> "Architecture":
        """A copy in which the chain of residual blocks named in `order` runs in that order
        (transforms/reorder_blocks.py); names and weights carry over."""
        graph = reorder_blocks(self.graph, list(order))
        return Architecture(f"{self.name} reordered", graph, infer_shapes(graph), self.config, self.source)

    def bypassed(self, *blocks: str) -> "Architecture":
        """A copy with the named shape-keeping blocks replaced by the identity (transforms/bypass_blocks.py)."""
        graph = bypass_blocks(self.graph, list(blocks))
        shapes = {nid: self.shapes[nid] for nid in graph}
        return Architecture(f"{self.name} bypassing {', '.join(blocks)}", graph, shapes, self.config, self.source)

    def extract_column(self, k: int, group: str | None = None) -> "Architecture":
        """FractalNet's column k (1 = shallowest) as a plain network; names and weights carry over."""
        graph = extract_column(self.graph, k, group)
        return Architecture(f"{self.name}_column{k}", graph, infer_shapes(graph), {**self.config, "column": k},
                            self.source)

    # -- reports and backends -----------------------------------------------
    @without_gc
    def summary(self, **options) -> str:
        return summary_text(self, **options)

    @without_gc
    def to_dict(self, elementwise: bool = False) -> dict:
        return info_dict(self, elementwise=elementwise)

    def dump(self) -> str:
        """The IR as text (ir/dump.py), with shapes."""
        return dump(self.graph, self.shapes)

    def to_torch(self, seed: int | None = None, fuse_bn: bool = False, zero_init_residual: bool = False,
                 weights=None, flat: bool = False):
        """An nn.Module (docs/torch.md); imports torch on first use.

        `seed` makes the torchvision-style initialisation deterministic; `weights` (a state_dict
        in the spec's layout) is loaded strictly; `fuse_bn` folds BN into convs for inference;
        `flat` builds the straight-line form instead of a class per block template.
        """
        options = TorchOptions(fuse_bn=fuse_bn, seed=seed, zero_init_residual=zero_init_residual, flat=flat)
        return backend("torch").build_module(self, options, weights=weights)

    def to_onnx(self, path, weights=None, fuse_bn: bool = False, seed: int = 0, external_data: bool | None = None,
                follow_symlinks: bool = False, functions: bool = True):
        """Write a checked ONNX model (docs/onnx.md); `weights`: a state_dict, a .pt/.npz file, or None (seeded);
        `functions`: one ONNX local function per block template."""
        options = OnnxOptions(weights=weights, fuse_bn=fuse_bn, seed=seed, external_data=external_data,
                              functions=functions)
        return backend("onnx").write(self, path, options, OutputOptions(follow_symlinks))

    def _repr_svg_(self) -> str | None:
        """Jupyter shows the block-level diagram; None (plain repr) without graphviz's `dot`."""
        return backend("dot").svg_text(self)

    def __repr__(self) -> str:
        return (f"<Architecture {self.name}: {self.inputs_text} -> {self.outputs_text}, "
                f"{self.params:,} params, {self.macs:,} MACs, depth {self.depth}>")


def _build(program, params: dict, input_shape, source) -> Architecture:
    try:
        shape = dict(input_shape) if isinstance(input_shape, dict) else tuple(input_shape) if input_shape else None
        graph, shapes, config = elaborate(program, params, shape)
    except ArchError as err:
        if isinstance(err.partial, tuple):
            graph, shapes = err.partial
            err.partial = Architecture(program.name, graph, shapes, {}, source) if graph.input is not None else None
        raise
    return Architecture(program.name, graph, shapes, config, source)  # elaborate() verified the graph


def load(path: str | Path, *, input_shape: Shape | None = None, import_path=(), **params) -> Architecture:
    """Load a `.arch` or YAML spec file ("-": standard input); keyword arguments override its parameters.

    Imports may come from the spec's folder tree, archdsl's specs/ and the folders in `import_path`.
    """
    return _build(load_program(path, import_path), params, input_shape, str(path))


def loads(text: str, format: str = "arch", *, input_shape: Shape | None = None, name: str = "<string>",
          import_path=(), base_dir=None, **params) -> Architecture:
    """Load a spec from text (`format` is "arch" or "yaml"); imports resolve from `base_dir` (default: the
    working directory), confined to its tree, archdsl's specs/ and `import_path`."""
    return _build(program_from_text(text, format, name, import_path, base_dir), params, input_shape, None)
