"""Branching constructs (issue 3): cardinality, dense connectivity, concatenation modules,
scaled residual sums, depthwise convs, `in_channels`, and the `compare` command."""
import pytest

import archdsl
from archdsl import ArchError, ir


def nodes(arch, kind=None):
    all_nodes = [arch.graph.node(nid) for nid in arch.graph.order]
    return [n for n in all_nodes if kind is None or n.kind == kind]


def by_name(arch):
    return {n.name: n for n in nodes(arch)}


def width(arch, name):
    return arch.shapes[by_name(arch)[name].id]


# ---------------------------------------------------------------- cardinality

GROUPED = """
arch grouped
input 256x14x14
network {
  residual(after=relu) {
    conv(128, 1, bias=false) bn relu
    conv(128, 3, padding=1, groups=32, bias=false) bn relu
    conv(256, 1, bias=false) bn
  }
}
"""

BRANCHES = """
arch branches
param c = 32
input 256x14x14
network {
  residual(after=relu) {
    parallel(merge=add) {
      path: { conv(4, 1, bias=false) bn relu conv(4, 3, padding=1, bias=false) bn relu conv(256, 1, bias=false) } x c
    }
    bn
  }
}
"""


def test_grouped_conv_equals_explicit_branches_summed():
    grouped, branches = archdsl.loads(GROUPED), archdsl.loads(BRANCHES)
    # params: 1x1 32,768 + BN 256 + grouped 3x3 4,608 + BN 256 + 1x1 32,768 + BN 512
    # MACs: 14 * 14 * (32,768 + 4,608 + 32,768)
    assert (grouped.params, grouped.macs) == (branches.params, branches.macs) == (71_168, 13_748_224)
    (add,) = [n for n in nodes(branches, "add") if len(branches.graph.inputs(n.id)) == 32]
    assert branches.shapes[add.id] == (256, 14, 14)
    assert sorted(name for name in branches.modules if name.startswith("path."))[:2] == ["path.0", "path.1"]


def test_compare_command_says_equal_or_not(cli, spec_file):
    a, b = spec_file(GROUPED, "grouped.arch"), spec_file(BRANCHES, "branches.arch")
    code, out, _ = cli("compare", a, b)
    assert code == 0
    assert out.splitlines()[-1] == "equal: same params (71,168) and MACs (13,748,224)"
    assert "grouped" in out.splitlines()[0] and "branches" in out.splitlines()[0]
    code, out, _ = cli("compare", a, b, "-p", "c=16")
    assert code == 2  # -p goes to both specs; `grouped` has no parameter c
    code, out, _ = cli("compare", "specs/resnet50.arch", "specs/resnext50_32x4d.arch")
    assert code == 1
    assert out.splitlines()[-1] == "different: params differ by -528,128, MACs differ by +141,295,616"
    assert any(line.split()[:2] == ["layer1", "params"] for line in out.splitlines())


def test_compare_bad_spec_is_a_located_error(cli, spec_file):
    bad = spec_file("arch bad\ninput 3x8x8\nnetwork { conv(4, 3, groups=3) }\n", "bad.arch")
    code, _, err = cli("compare", bad, "specs/resnet18.arch")
    assert code == 2 and "bad.arch:3:11: error: conv groups=3 does not divide the 4 output channels" in err


# ---------------------------------------------------------------- dense connectivity


def test_dense_block_channel_arithmetic_is_inferred():
    arch = archdsl.loads("""
arch d
input 16x8x8
block layer(k) { bn relu conv(k, 3, padding=1) }
network { block1: dense { layer(12) x 3 } }
""")
    convs = nodes(arch, "conv")
    ins = [arch.shapes[arch.graph.inputs(c.id)[0]][0] for c in nodes(arch, "bn")]
    assert ins == [16, 28, 40]  # each layer sees the input and every earlier output
    assert arch.output_shape == (16 + 3 * 12, 8, 8)
    assert [c.name for c in convs] == ["block1.0.2", "block1.1.2", "block1.2.2"]
    concat = nodes(arch, "concat")[-1]
    assert len(arch.graph.inputs(concat.id)) == 4


def test_transition_width_from_in_channels_and_compression():
    text = """
arch t
param theta = 0.5
input 100x8x8
block transition(out=floor(in_channels * theta)) { bn relu conv(out, 1, bias=false) avgpool(2) }
network { t1: transition  t2: transition  t3: transition(7) }
"""
    arch = archdsl.loads(text)
    assert [arch.shapes[c.id][0] for c in nodes(arch, "conv")] == [50, 25, 7]
    assert arch.output_shape == (7, 1, 1)
    assert arch.modules["t1"].info.args == (("out", 50),)
    with pytest.raises(ArchError, match="expected a positive integer, got 0"):
        archdsl.loads(text, theta=0.001)


def test_in_channels_is_the_block_input_not_the_current_layer():
    arch = archdsl.loads("""
arch up
input 32x4x4
block widen_then_restore() { conv(96, 1) relu conv(in_channels, 1) }
network { a: widen_then_restore  b: { conv(8, 1) widen_then_restore } }
""")
    assert width(arch, "a.2") == (32, 4, 4)
    assert width(arch, "b.1.2") == (8, 4, 4)


def test_a_spec_parameter_named_in_channels_wins():
    arch = archdsl.loads("""
arch p
param in_channels = 5
input 3x4x4
block b() { conv(in_channels, 1) }
network { b }
""")
    assert arch.output_shape == (5, 4, 4)


# ---------------------------------------------------------------- concatenation modules


def test_inception_module_concatenates_branches_in_order():
    arch = archdsl.load("specs/googlenet.arch")
    concat = by_name(arch)["inception3a.concat"]
    widths = [arch.shapes[i][0] for i in arch.graph.inputs(concat.id)]
    assert widths == [64, 128, 32, 32] and arch.shapes[concat.id] == (256, 28, 28)
    assert width(arch, "maxpool1") == (64, 56, 56)  # ceil mode: 112 -> 56, not 55
    assert by_name(arch)["conv1.bn"].op.eps == 0.001


def test_nested_parallel_inside_a_branch():
    arch = archdsl.load("specs/inception_v3.arch")
    assert width(arch, "Mixed_7b.concat") == (2048, 8, 8)  # 320 + (384 + 384) + (384 + 384) + 192
    split = by_name(arch)["Mixed_7b.branch3x3.concat"]
    assert [arch.shapes[i] for i in arch.graph.inputs(split.id)] == [(384, 8, 8), (384, 8, 8)]
    kernels = {n.op.kernel for n in nodes(arch, "conv")}
    assert {(1, 7), (7, 1), (1, 3), (3, 1)} <= kernels


def test_scaled_residual_sum_inception_resnet():
    arch = archdsl.load("specs/inception_resnet_v2.arch")
    names = by_name(arch)
    assert names["repeat.0.scale"].op.factor == pytest.approx(0.17)
    assert names["repeat_1.19.scale"].op.factor == pytest.approx(0.10)
    assert "block8.scale" not in names and "block8.relu_out" not in names  # scale 1, no ReLU
    up = names["repeat.0.conv2d"]
    assert up.op.bias and arch.shapes[up.id] == (320, 35, 35)  # in_channels of the block
    add = names["repeat.0.add"]
    assert [arch.graph.node(i).name for i in arch.graph.inputs(add.id)] == ["repeat.0.scale", "mixed_5b.concat"]


def test_asymmetric_padding_per_side():
    arch = archdsl.loads("arch p\ninput 3x8x8\nnetwork { conv(4, [1, 2], padding=[0, 0, 0, 1]) }")
    assert arch.output_shape == (4, 8, 8)
    assert nodes(arch, "conv")[0].op.padding == (0, 0, 0, 1)


# ---------------------------------------------------------------- depthwise


def test_dwconv_resolves_to_a_grouped_conv():
    arch = archdsl.loads("""
arch dw
input 32x16x16
network {
  dw: dwconv(3, stride=2, padding=1, bias=false)
  pw: conv(64, 1, bias=false)
  dw2: dwconv(5, padding=2, multiplier=2)
}
""")
    dw, dw2 = by_name(arch)["dw"], by_name(arch)["dw2"]
    assert dw.kind == "conv" and (dw.op.out, dw.op.groups, dw.op.stride, dw.op.bias) == (32, 32, (2, 2), False)
    assert arch.node_counts[dw.id].params == 32 * 9
    assert arch.node_counts[dw.id].macs == 32 * 9 * 8 * 8
    assert (dw2.op.out, dw2.op.groups) == (128, 64)
    assert arch.node_counts[dw2.id].params == 128 * 25 + 128
    assert arch.output_shape == (128, 8, 8)
    assert dw.op.describe() == "conv 3x3/2, 32, g32"
    from archdsl.passes import infer_shapes

    assert infer_shapes(arch.graph) == arch.shapes


def test_dwconv_needs_a_spatial_input():
    with pytest.raises(ArchError) as err:
        archdsl.loads("arch dw\ninput [10]\nnetwork { d: dwconv(3) }", name="dw.arch")
    assert "dwconv needs a CxHxW input, got 10 (in d)" in str(err.value)
    assert str(err.value).startswith("dw.arch:3:14:")


def test_separable_conv_in_xception_block():
    arch = archdsl.load("specs/xception.arch")
    names = by_name(arch)
    dw = names["block4.rep.1.conv1"]
    assert (dw.op.groups, dw.op.out, dw.op.kernel) == (728, 728, (3, 3))
    assert names["block12.rep.1.pointwise"].op.out == 728 and names["block12.rep.4.pointwise"].op.out == 1024
    assert "block4.skip" not in arch.modules and names["block1.skip.0"].op.stride == (2, 2)
    assert width(arch, "block3.add") == (728, 19, 19) and width(arch, "block12.add") == (1024, 10, 10)


# ---------------------------------------------------------------- width, pre-activation, pooling


def test_wide_resnet_width_multiplier():
    k1 = archdsl.load("specs/cifar/wrn40_1.arch")
    k4 = archdsl.load("specs/cifar/wrn40_1.arch", k=4)
    assert k4.params == 8_949_210  # = WRN-40-4
    assert width(k4, "block3.5.conv2") == (256, 8, 8) and width(k1, "block3.5.conv2") == (64, 8, 8)
    # a 1x1 shortcut only where the width or grid changes
    assert [name for name in k1.modules if name.endswith("shortcut") and any(
        n.name.startswith(name + ".") for n in nodes(k1))] == ["block2.0.shortcut", "block3.0.shortcut"]


def test_wrn_dropout_adds_nodes_not_params():
    plain = archdsl.load("specs/cifar/wrn16_8.arch")
    dropped = archdsl.load("specs/cifar/wrn16_8.arch", dropout=0.3)
    assert dropped.params == plain.params and len(nodes(dropped, "dropout")) == 6


def test_preact_unit_is_bn_relu_conv_with_nothing_after_add():
    arch = archdsl.load("specs/cifar/preact_resnet164.arch")
    first = [n.kind for n in nodes(arch) if n.name.startswith("layer1.1.")]
    assert first[:3] == ["bn", "relu", "conv"] and first[-1] == "add"
    assert not any(n.name.endswith("relu_out") for n in nodes(arch))


def test_bad_depths_are_located_errors():
    with pytest.raises(ArchError, match="WRN depth must be 6n \\+ 4, got 30"):
        archdsl.load("specs/cifar/wrn28_10.arch", depth=30)
    with pytest.raises(ArchError, match="depth must be 6 n \\+ 4, got 101"):
        archdsl.load("specs/cifar/densenet_bc100_k12.arch", depth=101)
    with pytest.raises(ArchError, match="depth must be 9n \\+ 2, got 100"):
        archdsl.load("specs/cifar/preact_resnet164.arch", depth=100)
