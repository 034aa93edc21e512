"""Published numbers of the core specs (issue 2): each is an assertion."""
import pytest

import archdsl

RESNETS = {
    # depth: (params, MACs at 224x224) -- torchvision's figures
    18: (11_689_512, 1_814_073_344),
    34: (21_797_672, 3_663_761_408),
    50: (25_557_032, 4_089_184_256),
    101: (44_549_160, 7_801_405_440),
    152: (60_192_808, 11_513_626_624),
}

CIFAR_RESNETS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962, 1202: 19_421_274}


@pytest.mark.parametrize("depth", RESNETS)
def test_imagenet_resnet_params_macs_depth(depth):
    arch = archdsl.load(f"specs/resnet{depth}.arch")
    params, macs = RESNETS[depth]
    assert arch.params == params
    assert arch.macs == macs
    assert arch.flops == 2 * macs
    assert arch.depth == depth
    assert arch.output_shape == (1000,)


@pytest.mark.parametrize("depth", CIFAR_RESNETS)
def test_cifar_resnet_params(depth):
    arch = archdsl.load(f"specs/cifar/resnet{depth}.arch")
    assert arch.params == CIFAR_RESNETS[depth]
    assert arch.depth == depth
    assert arch.output_shape == (10,)
    # option A: the shortcuts add no parameters, and there is one zero-pad per stage change
    assert [n.kind for n in _nodes(arch)].count("zeropad") == 2


def test_paper_stride_placement_gives_3_8_gmacs():
    v15 = archdsl.load("specs/resnet50.arch")
    paper = archdsl.load("specs/resnet50.arch", stride_in_1x1=True)
    assert paper.params == v15.params
    assert paper.macs == 3_857_973_248  # the paper's "3.8 x 10^9"
    assert round(paper.macs / 1e9, 2) == 3.86


def test_param_override_turns_resnet50_into_resnet101():
    arch = archdsl.load("specs/resnet50.arch", depth=101)
    assert (arch.params, arch.macs) == RESNETS[101]


def test_input_override_changes_shapes_not_params():
    arch = archdsl.load("specs/resnet50.arch", input_shape=(3, 320, 320))
    assert arch.params == RESNETS[50][0]
    by_name = {n.name: arch.shapes[n.id] for n in _nodes(arch)}
    assert by_name["layer4.2.relu_out"] == (2048, 10, 10)
    assert arch.macs > RESNETS[50][1] * 2


@pytest.mark.parametrize("plain, resnet", [("plain18", "resnet18"), ("plain34", "resnet34"),
                                           ("cifar/plain20", "cifar/resnet20"), ("cifar/plain56", "cifar/resnet56")])
def test_plain_counterparts_drop_only_the_shortcuts(plain, resnet):
    p, r = archdsl.load(f"specs/{plain}.arch"), archdsl.load(f"specs/{resnet}.arch")
    kinds = [n.kind for n in _nodes(p)]
    assert "add" not in kinds and "zeropad" not in kinds
    assert p.depth == r.depth
    projections = sum(c.params for name, c in r.module_counts.items() if name.endswith(".downsample"))
    assert p.params == r.params - projections


def test_bottleneck_arithmetic_per_position():
    from archdsl.report.tables import rows

    arch = archdsl.load("examples/bottleneck_arithmetic.arch")
    per_pos = {row.name: row.macs_per_position for row in rows(arch, "block")}
    assert per_pos["one_3x3"] == 589_824  # ~600K
    assert per_pos["basic"] == 1_179_648  # ~1.2M
    assert per_pos["bottleneck"] == 69_632  # ~70K


def test_per_stage_totals_add_up():
    arch = archdsl.load("specs/resnet152.arch")
    stages = arch.stages()
    assert stages == ["layer1", "layer2", "layer3", "layer4"]
    stem_and_head = sum(arch.node_counts[n.id].params for n in _nodes(arch) if not n.name.startswith("layer"))
    assert sum(arch.module_counts[s].params for s in stages) + stem_and_head == arch.params
    assert arch.modules["layer3"].kind == "stage"
    assert sum(1 for name, m in arch.modules.items() if m.kind == "block" and name.startswith("layer3.")) == 36


def test_torchvision_state_dict_layout_for_resnets():
    import json

    from archdsl.passes import state_layout

    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
        arch = archdsl.load(f"specs/{name}.arch")
        fixture = json.load(open(f"tests/fixtures/torchvision/{name}.json"))
        expected = [(key, tuple(shape)) for key, shape in fixture["state_dict"]]
        assert state_layout(arch.graph, arch.shapes) == expected
        assert fixture["params"] == arch.params and fixture["macs"] == arch.macs


def test_elementwise_counts_are_separate_and_documented_conventions():
    arch = archdsl.load("specs/cifar/resnet20.arch")
    bn_elems = sum(arch.shapes[n.id][0] * arch.shapes[n.id][1] * arch.shapes[n.id][2]
                   for n in _nodes(arch) if n.kind == "bn")
    assert arch.macs == 40_551_040  # unchanged by the option
    by_kind = {}
    for n in _nodes(arch):
        by_kind[n.kind] = by_kind.get(n.kind, 0) + arch.node_counts[n.id].extra_ops
    assert by_kind["bn"] == 2 * bn_elems  # scale + shift per element
    assert by_kind["add"] == sum(arch.shapes[n.id][0] * arch.shapes[n.id][1] * arch.shapes[n.id][2]
                                 for n in _nodes(arch) if n.kind == "add")
    assert by_kind["linear"] == 10  # the bias adds
    assert arch.elementwise_ops == sum(by_kind.values())


def _nodes(arch):
    from archdsl import ir

    return [arch.graph.node(nid) for nid in arch.graph.order]
