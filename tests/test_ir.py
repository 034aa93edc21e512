"""The IR: golden text dumps, the graph wrapper, and the structure the elaborator records.

Golden files are tests/golden/<name>.ir (`archdsl check SPEC --dump`); after an
intended change, regenerate them with ARCHDSL_UPDATE_GOLDEN=1 and read the diff.
"""
import os

import pytest

import archdsl
from archdsl import ir
from archdsl.errors import ArchError
from conftest import ROOT, located

GOLDEN = ROOT / "tests" / "golden"
GATE = "parallel(merge=mul) { identity  { conv(4, 1) sigmoid } }"
SMALL = {
    "three_blocks": ("examples/three_blocks.arch", None),
    "fractal3": (None, "arch fractal3\ninput 4x8x8\nnetwork {\n  f: fractal(columns=3, drop=local) { conv(4, 3, padding=1) relu }\n}\n"),
    "highway": (None, "arch highway\ninput 4x8x8\nnetwork {\n  h: residual(gate=exclusive, gate_bias=-2.0, "
                      "shortcut=identity, after=none) { conv(4, 3, padding=1) relu }\n}\n"),
    "gate": (None, f"arch gate\ninput 4x8x8\nnetwork {{\n  g: {GATE}\n}}\n"),
    "dense": (None, "arch dense\ninput 4x8x8\nnetwork {\n  d: dense { conv(2, 3, padding=1) x 3 }\n}\n"),
    "shared": (None, "arch shared\ninput 4x8x8\nnetwork {\n  s: { conv(4, 3, padding=1) relu } x 3 shared\n}\n"),
}


def small(name):
    path, text = SMALL[name]
    return archdsl.load(path) if path else archdsl.loads(text, name=f"{name}.arch")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_dump_matches_the_golden_file(name):
    text = small(name).dump()
    golden = GOLDEN / f"{name}.ir"
    if os.environ.get("ARCHDSL_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


def test_graph_keeps_ordered_inputs_and_consumers():
    arch = small("three_blocks")
    g = arch.graph
    for nid in g.order:
        for p in g.inputs(nid):
            assert p < nid and nid in g.consumers(p)
    assert g.order == sorted(g.order) and len(g) == len(arch.shapes)
    copy = g.copy()
    copy.remove([g.output])
    assert len(copy) == len(g) - 1 and g.output in g  # the copy is independent


def test_nx_view_has_one_edge_per_input():
    g = small("dense").graph
    view = g.nx
    assert view.number_of_nodes() == len(g)
    assert view.number_of_edges() == sum(len(g.inputs(n)) for n in g.order)
    assert all(view.nodes[n]["node"] is g.node(n) for n in g.order)


def test_verify_rejects_broken_records():
    g = small("three_blocks").graph.copy()
    unit = g.units[0]
    g.joins[unit.join] = ir.Join(unit.join, (ir.Role.BODY,))
    with pytest.raises(ir.IRError, match="roles for"):
        ir.verify(g)


# ---------------------------------------------------------------- structure recorded once: gates are not residuals


def test_residual_units_are_recorded_with_their_parts():
    arch = small("three_blocks")
    g = arch.graph
    assert len(g.units) == 3
    for unit in g.units:
        roles = dict(zip(g.inputs(unit.join), g.roles(unit.join)))
        assert roles[unit.skip] is ir.Role.SKIP and unit.skip == unit.fork  # identity shortcuts
        assert [g.node(n).kind for n in unit.tail] == ["relu"]


def test_a_gate_adds_no_path_and_is_no_residual_block(spec_file, cli, tmp_path):
    arch = small("gate")
    assert arch.paths().total == 1 and arch.paths().modules.longest == 0
    assert arch.graph.units == []
    path = spec_file(f"arch t\ninput 4x8x8\nblock se() {{ {GATE} }}\nnetwork {{\n  conv(4, 1)\n  g: se\n  fc: gap\n}}\n")
    with pytest.raises(ArchError, match="not a residual block"):
        archdsl.load(path).without("g")
    code, _, err = cli("paths", path, "--drop", "g")
    assert code == 2
    located(err, path, 6)


def test_silu_written_as_a_gate_does_not_multiply_paths():
    silu = "parallel(merge=mul) { identity sigmoid }"
    text = ("arch t\ninput 4x8x8\nblock unit() { residual { conv(4, 3, padding=1) " + silu + " conv(4, 3, padding=1) } }\n"
            "network { unit x 10 }\n")
    stats = archdsl.loads(text).paths()
    assert stats.total == 2**10  # ten residual units; the ten gates inside them add nothing
    assert stats.modules.counts[5] == 252


def test_unravel_draws_a_gate_as_one_box(tmp_path):
    from archdsl.backends.dot.unravel import build_unravel_view

    text = ("arch t\ninput 4x8x8\nblock unit() { residual { conv(4, 3, padding=1) } }\n"
            f"network {{\n  a: unit\n  g: {GATE}\n  b: unit\n}}\n")
    view = build_unravel_view(archdsl.loads(text))
    gates = [item for item in view.items if item.family == "gate"]
    assert len(gates) == 1 and gates[0].ops[0][0].startswith("gate: x · σ(conv 1x1")
    assert "4 paths" in view.title


def test_transforms_return_verified_graphs():
    arch = archdsl.load("specs/cifar/resnet20.arch")
    dropped = arch.without("layer2.1")
    ir.verify(dropped.graph)
    assert dropped.paths().total == 2**8 and len(dropped.graph.units) == 8
    column = archdsl.load("specs/cifar/fractalnet20.arch").extract_column(2)
    ir.verify(column.graph)
    assert column.paths().total == 1
