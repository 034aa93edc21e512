"""Tables and JSON for `archdsl info` (and `Architecture.summary()`).

Rows can be grouped at three levels: every layer, every block (a call of a
block template, its MACs also given per output position), or every stage.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Module, qualified_parent
from ..ops import fmt
from .structure import structure_info

LEVELS = ("layer", "block", "stage")


@dataclass
class Row:
    name: str
    what: str
    output: tuple
    params: int = 0
    macs: int = 0
    extra: int = 0
    stage: str | None = None

    @property
    def macs_per_position(self) -> int | None:
        if len(self.output) == 3:
            return self.macs // (self.output[1] * self.output[2])
        return None


def _stage_of(name: str, stages: set[str]) -> str | None:
    """The stage a qualified name lies in (its nearest ancestor, or itself, that is a stage)."""
    while name:
        if name in stages:
            return name
        name = qualified_parent(name)
    return None


def _outermost_block(name: str, modules: dict[str, Module]) -> str | None:
    """The outermost block call above a node: below a stage it reads best."""
    parent = qualified_parent(name)
    found = None
    while parent:
        if modules[parent].kind == "block":
            found = parent
        parent = qualified_parent(parent)
    return found


def rows(arch, level: str = "layer") -> list[Row]:
    """Layer rows of `arch`, grouped at `level`, in topological order."""
    modules = arch.modules
    stages = set(arch.stages())
    subtitles = _stage_texts(modules)
    out: list[Row] = []
    index: dict[str, Row] = {}
    for layer in arch.layers():
        stage = _stage_of(layer.name, stages)
        if level == "layer":
            key, what = layer.name, layer.description
        elif level == "block":
            block = _outermost_block(layer.name, modules)
            key = block or layer.name
            what = modules[block].template if block else layer.description
        else:
            key = stage or layer.name.split(".")[0]
            what = subtitles.get(key, "stage") if stage else layer.description
        row = index.get(key)
        if row is None:
            row = index[key] = Row(key, what, layer.output_shape, stage=stage)
            out.append(row)
        row.output = layer.output_shape
        row.params += layer.params
        row.macs += layer.macs
        row.extra += layer.extra_ops
    return out


def _stage_texts(modules: dict[str, Module]) -> dict[str, str]:
    """For each module with block calls as children: "bottleneck x 36", or "7 blocks"."""
    children: dict[str, list[Module]] = {}
    for name, m in modules.items():
        if name and m.kind == "block":
            children.setdefault(qualified_parent(name), []).append(m)
    texts = {}
    for parent, blocks in children.items():
        templates = {m.template for m in blocks}
        texts[parent] = f"{blocks[0].template} x {len(blocks)}" if len(templates) == 1 else f"{len(blocks)} blocks"
    return texts


def _si(n: int) -> str:
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


class TextTable:
    """A plain aligned table; fast for thousands of rows (rich takes seconds there)."""

    def __init__(self, title: str, columns: list[tuple[str, str]]):
        self.title = title
        self.columns = columns  # (header, "<" or ">")
        self.rows: list[list[str] | None] = []  # None: a section rule
        self.styles: list[bool] = []

    def add_row(self, *cells: str, bold: bool = False):
        self.rows.append(list(cells))
        self.styles.append(bold)

    def add_section(self):
        if self.rows and self.rows[-1] is not None:
            self.rows.append(None)
            self.styles.append(False)

    def render(self, color: bool = False) -> str:
        widths = [len(h) for h, _ in self.columns]
        for row in self.rows:
            if row is not None:
                widths = [max(w, len(c)) for w, c in zip(widths, row)]

        def line(cells):
            out = []
            for (_, align), w, c in zip(self.columns, widths, cells):
                out.append(c.rjust(w) if align == ">" else c.ljust(w))
            return " │ ".join(out).rstrip()

        rule = "─┼─".join("─" * w for w in widths)
        bold, reset = ("\x1b[1m", "\x1b[0m") if color else ("", "")
        lines = [self.title, bold + line([h for h, _ in self.columns]) + reset, "━╇━".join("━" * w for w in widths)]
        for row, strong in zip(self.rows, self.styles):
            if row is None:
                lines.append(rule)
            else:
                text = line(row)
                lines.append(bold + text + reset if strong else text)
        return "\n".join(lines)


def build_table(arch, level: str = "layer", elementwise: bool = False, per_position: bool = False, error=None) -> TextTable:
    columns = [(level.capitalize(), "<"), ("Op", "<"), ("Output", "<"), ("Params", ">"), ("MACs", ">")]
    if per_position:
        columns.append(("MACs/pos", ">"))
    if elementwise:
        columns.append(("Elementwise", ">"))
    title = f"{arch.name}  {arch.inputs_text} -> {arch.outputs_text}"
    table = TextTable(title, columns)

    def add(row: Row, bold=False, name=None):
        cells = [name or row.name, row.what, fmt(row.output), f"{row.params:,}", f"{row.macs:,}"]
        if per_position:
            pos = row.macs_per_position
            cells.append(f"{pos:,}" if pos is not None else "")
        if elementwise:
            cells.append(f"{row.extra:,}")
        table.add_row(*cells, bold=bold)

    all_rows = rows(arch, level)
    stage_totals = {s: arch.module_counts[s] for s in arch.stages() if s in arch.module_counts}
    rows_per_stage: dict[str, int] = {}
    for row in all_rows:
        if row.stage:
            rows_per_stage[row.stage] = rows_per_stage.get(row.stage, 0) + 1
    stage_totals = {s: c for s, c in stage_totals.items() if rows_per_stage.get(s, 0) > 1}
    for i, row in enumerate(all_rows):
        add(row)
        nxt = all_rows[i + 1].stage if i + 1 < len(all_rows) else None
        if level != "stage" and row.stage and row.stage != nxt and row.stage in stage_totals:
            c = stage_totals[row.stage]
            add(Row(row.stage, "stage total", row.output, c.params, c.macs, c.extra_ops), bold=True,
                name=f"{row.stage} total")
            table.add_section()
    if error is None:
        t = arch.totals
        table.add_section()
        add(Row("total", "", arch.output_shape, t.params, t.macs, t.extra_ops), bold=True)
    return table


def totals_text(arch, elementwise: bool = False) -> str:
    t = arch.totals
    parts = [
        f"params {t.params:,} ({_si(t.params)})",
        f"MACs {t.macs:,} ({_si(t.macs)})",
        f"FLOPs {t.flops:,} ({_si(t.flops)})",
        f"depth {arch.depth}",
    ]
    if elementwise:
        parts.append(f"elementwise ops {t.extra_ops:,} (MACs + elementwise: {_si(t.macs + t.extra_ops)})")
    return "  ".join(parts)


def summary_text(arch, level: str = "layer", elementwise: bool = False, per_position: bool = False) -> str:
    table = build_table(arch, level, elementwise, per_position)
    return table.render() + "\n" + totals_text(arch, elementwise) + "\n" + outputs_text(arch)


def outputs_text(arch) -> str:
    """Per output of several: its shape and what it depends on (shared layers count in each)."""
    if not arch.graph.outputs:
        return ""
    lines = []
    for key, shape in arch.output_shapes.items():
        one = arch.output(key)
        lines.append(f"output {key}: {fmt(shape)}  params {one.params:,}  MACs {one.macs:,}  depth {one.depth}")
    return "\n".join(lines) + "\n"


def info_dict(arch, elementwise: bool = False) -> dict:
    t = arch.totals
    layers = []
    for layer in arch.layers():
        entry = {
            "name": layer.name,
            "op": layer.op,
            "output_shape": list(layer.output_shape),
            "params": layer.params,
            "macs": layer.macs,
        }
        if elementwise:
            entry["elementwise_ops"] = layer.extra_ops
        layers.append(entry)
    stages = []
    for s in arch.stages():
        c = arch.module_counts.get(s)
        if c is not None:
            stages.append({"name": s, "params": c.params, "macs": c.macs})
    result = {
        "name": arch.name,
        "config": arch.config,
        "input_shape": list(arch.input_shape),
        **({"inputs": [{"name": k, "shape": list(v)} for k, v in arch.input_shapes.items()]}
           if arch.graph.more_inputs else {}),
        "output_shape": list(arch.output_shape),
        "params": t.params,
        "macs": t.macs,
        "flops": t.flops,
        "depth": arch.depth,
        "stages": stages,
        "layers": layers,
    }
    if arch.graph.outputs:
        result["outputs"] = [{"name": key, "shape": list(shape), "params": arch.output(key).params,
                              "macs": arch.output(key).macs, "depth": arch.output(key).depth}
                             for key, shape in arch.output_shapes.items()]
    if elementwise:
        result["elementwise_ops"] = t.extra_ops
    result.update(structure_info(arch))  # fractals, stochastic_depth, weight_sharing: only when present
    return result
