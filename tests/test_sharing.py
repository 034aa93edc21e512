"""Weight sharing: `x n shared`, PolyNet's poly-2; params once, MACs per application, tensors listed once."""
import dataclasses

import pytest

import archdsl
from archdsl import ir
from archdsl.passes import state_layout
from conftest import located


def node_named(arch, name):
    return next(arch.graph.node(n) for n in arch.graph if arch.graph.node(n).name == name)


def test_a_shared_repetition_counts_params_once_and_macs_per_application():
    one = archdsl.loads("arch t\ninput 8x8x8\nnetwork {\n  c: conv(8, 3, padding=1) x 1\n}\n")
    shared = archdsl.loads("arch t\ninput 8x8x8\nnetwork {\n  c: conv(8, 3, padding=1) x 4 shared\n}\n")
    separate = archdsl.loads("arch t\ninput 8x8x8\nnetwork {\n  c: conv(8, 3, padding=1) x 4\n}\n")
    ir.verify(shared.graph)
    assert shared.params == one.params == 8 * 8 * 9 + 8 and separate.params == 4 * one.params
    assert shared.macs == separate.macs == 4 * one.macs
    assert [node_named(shared, f"c.{i}").shared_with for i in range(4)] == [None, "c.0", "c.0", "c.0"]
    assert state_layout(shared.graph, shared.shapes) == [("c.0.weight", (8, 8, 3, 3)), ("c.0.bias", (8,))]


def test_resnet110_shared_has_one_block_per_stage():
    shared = archdsl.load("specs/cifar/resnet110_shared.arch")
    full = archdsl.load("specs/cifar/resnet110.arch")
    ir.verify(shared.graph)

    def block(cin, w):  # two 3x3 convs without bias, two BNs
        return 9 * cin * w + 9 * w * w + 4 * w

    counts = shared.module_counts
    assert counts["layer1"].params == block(16, 16)  # all 18 blocks apply one set of weights
    assert counts["layer2"].params == block(16, 32) + block(32, 32)  # the widening block keeps its own
    assert counts["layer3"].params == block(32, 64) + block(64, 64)
    assert shared.params == (9 * 3 * 16 + 2 * 16) + block(16, 16) + block(16, 32) + block(32, 32) + block(32, 64) + block(
        64, 64
    ) + (64 * 10 + 10) == 167_834
    assert shared.macs == full.macs and shared.depth == 110
    layout = state_layout(shared.graph, shared.shapes)
    full_layout = dict(state_layout(full.graph, full.shapes))
    assert all(full_layout[name] == shape for name, shape in layout)
    assert {name.split(".")[1] for name, _ in layout if name.startswith("layer2.")} == {"0", "1"}
    assert node_named(shared, "layer3.17.bn2").shared_with == "layer3.1.bn2"  # BN statistics are shared too


def poly_net(body: str, c: int = 8) -> str:
    return ("arch p\ninput 8x8x8\n"
            f"block unit_f(c) {{ conv1: conv(c, 3, padding=1, bias=false) bn1: bn relu conv2: conv(c, 3, padding=1, bias=false) bn2: bn }}\n"
            f"network {{\n  {body}\n}}\n")


def test_poly2_has_a_plain_residual_blocks_params_and_twice_its_macs():
    poly2 = archdsl.loads(poly_net("p: poly { F: unit_f(8) x 2 shared }"))
    plain = archdsl.loads(poly_net("p: residual { F: unit_f(8) }"))
    f = archdsl.loads(poly_net("F: unit_f(8)"))
    ir.verify(poly2.graph)
    assert poly2.params == plain.params == f.params
    assert poly2.macs == 2 * f.macs == 2 * plain.macs
    add = node_named(poly2, "p.add")  # x + F(x) + F(F(x)): one add of three
    assert [poly2.graph.node(i).name for i in poly2.graph.inputs(add.id)] == ["p.F.0.bn2", "p.F.1.bn2", "input"]
    mpoly2 = archdsl.loads(poly_net("p: poly { F: unit_f(8)  G: unit_f(8) }"))
    two_way = archdsl.loads(poly_net("p: multi_residual { F: unit_f(8)  G: unit_f(8) }"))
    assert mpoly2.params == two_way.params == 2 * f.params
    assert mpoly2.macs == two_way.macs == 2 * f.macs
    g = node_named(mpoly2, "p.G.conv1")  # G applies to F's output; in 2-way to x
    assert mpoly2.graph.node(mpoly2.graph.inputs(g.id)[0]).name == "p.F.bn2"
    g = node_named(two_way, "p.G.conv1")
    assert two_way.graph.node(two_way.graph.inputs(g.id)[0]).name == "input"


def test_polynet_small_stages():
    arch = archdsl.load("specs/cifar/polynet_small.arch")
    ir.verify(arch.graph)
    counts = arch.module_counts
    for stage, c, grid, kinds_of_f in (("stage_a", 32, 32, 1), ("stage_b", 64, 16, 2), ("stage_c", 128, 8, 2)):
        f_params = 2 * 9 * c * c + 4 * c
        f_macs = 2 * 9 * c * c * grid * grid
        assert counts[stage].params == 3 * kinds_of_f * f_params
        assert counts[stage].macs == 3 * 2 * f_macs  # every module applies F-sized units twice
    assert arch.params == 2_366_890


def test_nested_shared_repetitions_point_at_one_owner():
    arch = archdsl.loads("arch t\ninput 4x8x8\nnetwork {\n  a: { b: conv(4, 3, padding=1) x 2 shared } x 3 shared\n}\n")
    ir.verify(arch.graph)
    owners = {node_named(arch, f"a.{i}.b.{j}").shared_with for i in range(3) for j in range(2)}
    assert owners == {None, "a.0.b.0"}
    assert arch.params == 4 * 4 * 9 + 4


def test_stateless_copies_carry_no_owner():
    arch = archdsl.loads("arch t\ninput 4x8x8\nnetwork {\n  r: { relu  bn } x 2 shared\n}\n")
    assert node_named(arch, "r.1.0").shared_with is None and node_named(arch, "r.1.1").shared_with == "r.0.1"


def test_verify_checks_the_owner():
    arch = archdsl.loads("arch t\ninput 8x8x8\nnetwork {\n  c: conv(8, 3, padding=1) x 2 shared\n  d: conv(8, 3, padding=1)\n}\n")
    g = arch.graph
    nid = node_named(arch, "c.1").id
    good = g.node(nid)
    for owner, message in (("nowhere", "which does not exist"), ("d", "comes after it")):
        g.replace(nid, dataclasses.replace(good, shared_with=owner))
        with pytest.raises(ir.IRError, match=message):
            ir.verify(g)
    g.replace(nid, good)
    d = node_named(arch, "d")
    g.replace(d.id, dataclasses.replace(d, op=dataclasses.replace(d.op, kernel=(1, 1)), shared_with="c.0"))
    with pytest.raises(ir.IRError, match="has a different op"):
        ir.verify(g)
    g.replace(d.id, dataclasses.replace(d, shared_with="c.1"))
    with pytest.raises(ir.IRError, match="is itself shared"):
        ir.verify(g)


def test_yaml_shared_repetition(spec_file):
    from test_yaml_form import graph_signature

    a = archdsl.load(spec_file("arch t\ninput 4x8x8\nnetwork {\n  s: { conv(4, 3, padding=1) relu } x 3 shared\n}\n"))
    b = archdsl.load(spec_file("arch: t\ninput: 4x8x8\nnetwork:\n  - s: {body: ['conv(4, 3, padding=1)', relu], repeat: 3, shared: true}\n",
                               "t.yaml"))
    c = archdsl.load(spec_file("arch: t\ninput: 4x8x8\nnetwork:\n  - s: '{ conv(4, 3, padding=1) relu } x 3 shared'\n", "u.yaml"))
    assert graph_signature(a) == graph_signature(b) == graph_signature(c)
    assert [b.graph.node(n).shared_with for n in b.graph.order] == [None, None, None, "s.0.0", None, "s.0.0", None]


def test_copies_that_differ_are_refused(cli, spec_file):
    path = spec_file("arch t\ninput 16x8x8\nblock b(c, stride=1) { conv(c, 3, stride=stride, padding=1) }\n"
                     "network {\n  stage(stride=2) { b(32) x 3 shared }\n}\n")
    code, _, err = cli("check", path)
    assert code == 2
    assert "copy 1 of a shared repetition differs from copy 0 at 0.1.0: conv 3x3, 32 on 32x4x4, but 0.0.0 is conv 3x3/2, 32 on 16x8x8" in err
    assert "a stage's stride goes to the first copy only" in err
    located(err, path, 5, 21)
    path = spec_file("arch: t\ninput: 4x8x8\nnetwork:\n  - s: {body: [relu], shared: true}\n", "bad.yaml")
    code, _, err = cli("check", path)
    assert code == 2 and "`shared:` needs `repeat:`" in err
    located(err, path, 4, 23)
