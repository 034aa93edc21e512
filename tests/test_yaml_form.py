"""The YAML form builds the same AST, hence the same graph, as the .arch form."""
import archdsl
from archdsl import ir


def graph_signature(arch):
    g = arch.graph
    nodes = [(g.node(n).name, g.node(n).op, arch.shapes[n]) for n in g.order]
    edges = sorted((g.node(a).name, g.node(b).name, i) for b in g.order for i, a in enumerate(g.inputs(b)))
    mods = sorted((m.name, m.kind, m.template) for m in arch.modules.values() if m.name)
    return nodes, edges, mods


def test_yaml_example_equals_arch_spec():
    from_yaml = archdsl.load("examples/cifar_resnet20.yaml")
    from_arch = archdsl.load("specs/cifar/resnet20.arch")
    assert graph_signature(from_yaml) == graph_signature(from_arch)
    assert (from_yaml.params, from_yaml.macs, from_yaml.depth) == (from_arch.params, from_arch.macs, from_arch.depth)
    assert from_yaml.config == from_arch.config


def test_yaml_overrides_like_arch():
    for depth in (56, 110):
        y = archdsl.load("examples/cifar_resnet20.yaml", depth=depth)
        a = archdsl.load("specs/cifar/resnet20.arch", depth=depth)
        assert graph_signature(y) == graph_signature(a)


def test_yaml_spans_point_into_the_yaml_file():
    arch = archdsl.load("examples/cifar_resnet20.yaml")
    g = arch.graph
    conv = next(g.node(n) for n in g if g.node(n).name == "layer2.0.conv1")
    text = open("examples/cifar_resnet20.yaml").read().splitlines()
    line = text[conv.span.line - 1]
    assert line[conv.span.column - 1:].startswith("conv(planes, 3, stride=stride")
    assert conv.span.file.endswith("cifar_resnet20.yaml")


def test_yaml_structures_all_forms():
    text = """
arch: t
input: [16, 8, 8]
blocks:
  unit:
    args: [c]
    body: ["conv(c, 1)"]
network:
  - stem: {body: ["conv(16, 3, padding=1)", bn, relu]}
  - residual: {shortcut: identity, after: relu}
    body: ["unit(16)"]
  - mixed:
      parallel: {merge: concat}
      body: ["conv(4, 1)", "conv(4, 3, padding=1)"]
  - dense: {}
    body: ["conv(2, 3, padding=1) x 2"]
  - for: "i in range(2)"
    body: ['"extra{i}": relu']
  - if: "true"
    then: [identity]
    else: [relu]
  - tail: {body: [relu], repeat: 2}
"""
    arch = archdsl.loads(text, format="yaml")
    assert arch.output_shape == (8 + 4, 8, 8)
    names = [arch.graph.node(n).name for n in arch.graph.order]
    assert "extra0" in names and "extra1" in names and "tail.1.0" in names
