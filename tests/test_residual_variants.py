"""Residual variants: the identity-mappings paper's ResNet-110s, stochastic depth, RoR, Multi-ResNet, highway."""
import pytest

import archdsl
from archdsl import ir
from archdsl.passes import state_layout, stochastic_depth_summary

RESNET110 = "specs/cifar/resnet110.arch"
BASE_PARAMS = 1_727_962
# (input channels, output channels) of the 54 blocks of ResNet-110
BLOCKS = [(16, 16)] * 18 + [(16, 32)] + [(32, 32)] * 17 + [(32, 64)] + [(64, 64)] * 17


def ops(arch, kind):
    return [arch.graph.node(n).op for n in arch.graph.order if arch.graph.node(n).kind == kind]


def signature(arch):
    g = arch.graph
    return [(g.node(n).name, g.node(n).op, arch.shapes[n]) for n in g.order], state_layout(g, arch.shapes)


@pytest.mark.parametrize("depth", [20, 110])
def test_defaults_are_the_cifar_family_exactly(depth):
    plain = archdsl.load("specs/families/cifar_resnet.arch", depth=depth)
    variants = archdsl.load("specs/families/cifar_resnet_variants.arch", depth=depth)
    assert signature(variants) == signature(plain)
    assert archdsl.load(RESNET110).params == BASE_PARAMS


GATES = sum(cin * cout + cout for cin, cout in BLOCKS)  # a 1x1 conv with bias per block: 96,224
CONVS = sum(cin * cout for cin, cout in BLOCKS)  # a 1x1 conv without bias per block: 94,208
SHORTCUTS = {"original": 0, "constant_scaling": 0, "exclusive_gate": GATES, "shortcut_only_gate": GATES,
             "conv": CONVS, "dropout": 0}


@pytest.mark.parametrize("shortcut", SHORTCUTS)
def test_shortcut_variants_of_resnet110(shortcut):
    arch = archdsl.load(RESNET110, shortcut=shortcut)
    ir.verify(arch.graph)
    assert arch.params - BASE_PARAMS == SHORTCUTS[shortcut]
    assert arch.depth == 110
    if shortcut == "constant_scaling":  # 0.5 on F and on h, every block
        assert [s.factor for s in ops(arch, "scale")] == [0.5] * 108
    if shortcut.endswith("gate"):
        gates = ops(arch, "gate")
        assert len(gates) == 54 and {g.kernel for g in gates} == {(1, 1)}
        assert {g.bias_init for g in gates} == {-6.0 if shortcut == "exclusive_gate" else 0.0}
        assert len(ops(arch, "one_minus")) == 54
        assert len(ops(arch, "mul")) == (108 if shortcut == "exclusive_gate" else 54)
        assert arch.macs - archdsl.load(RESNET110).macs == sum(
            h * h * cout * cin for (cin, cout), h in zip(BLOCKS, [32] * 18 + [16] * 18 + [8] * 18)
        )
    if shortcut == "conv":
        assert len(ops(arch, "conv")) == 109 + 54 and not ops(arch, "zeropad")
    if shortcut == "dropout":
        assert [d.p for d in ops(arch, "dropout")] == [0.5] * 54


BN_AFTER_ADD = sum(2 * cout for _, cout in BLOCKS)  # 4,032
# full pre-activation: the stem loses its BN (-32); a block's first BN sees its input width
# (-2*16 and -2*32 in the two widening blocks); a final BN before pooling (+128)
FULL_PREACT = -2 * 16 + sum(2 * (cin - cout) for cin, cout in BLOCKS) + 2 * 64
UNITS = {"original": 0, "bn_after_add": BN_AFTER_ADD, "relu_before_add": 0, "relu_preact": 0, "full_preact": FULL_PREACT}
ORDER = {  # op kinds of layer2.0, the widening block
    "original": "conv bn relu conv bn zeropad add relu",
    "bn_after_add": "conv bn relu conv bn zeropad add bn relu",
    "relu_before_add": "conv bn relu conv bn relu zeropad add",
    "relu_preact": "relu conv bn relu conv bn zeropad add",
    "full_preact": "bn relu conv bn relu conv zeropad add",
}


@pytest.mark.parametrize("unit", UNITS)
def test_after_add_variants_of_resnet110(unit):
    arch = archdsl.load(RESNET110, unit=unit)
    ir.verify(arch.graph)
    assert arch.params - BASE_PARAMS == UNITS[unit]
    assert FULL_PREACT == 0 and BN_AFTER_ADD == 4032
    g = arch.graph
    block = [g.node(n).kind for n in g.order if g.node(n).name.startswith("layer2.0.")]
    assert " ".join(block) == ORDER[unit]
    assert len(ops(arch, "relu")) == 109  # one per unit's inner layer pair, one per block or stem/final


def test_variants_combine_and_take_cli_parameters(cli):
    arch = archdsl.load(RESNET110, shortcut="exclusive_gate", unit="full_preact", gate_bias=-3.0)
    assert arch.params == BASE_PARAMS + GATES
    assert {g.bias_init for g in ops(arch, "gate")} == {-3.0}
    code, out, _ = cli("check", RESNET110, "-p", "shortcut=exclusive_gate", "-p", "unit=full_preact")
    assert code == 0 and f"{BASE_PARAMS + GATES:,} params" in out
    code, _, err = cli("check", RESNET110, "-p", "shortcut=gated")
    assert code == 2 and '"gated" is not a key of this map; expected one of "original", "constant_scaling"' in err


def test_stochastic_depth_linear_decay_and_expected_depth(cli):
    arch = archdsl.load("specs/cifar/resnet110_stochastic_depth.arch")
    assert arch.params == BASE_PARAMS
    survivals = [op.survival for op in ops(arch, "stochastic_depth")]
    assert survivals == pytest.approx([1 - l / 54 * 0.5 for l in range(1, 55)])
    sd = stochastic_depth_summary(arch.graph)
    assert sd.blocks == 54 and sd.expected_blocks == pytest.approx(40.25)  # the paper: "about 40"
    assert sd.depth == 110 and sd.expected_depth == pytest.approx(110 - 2 * (54 - 40.25))
    code, out, _ = cli("info", "specs/cifar/resnet110_stochastic_depth.arch", "--level", "stage")
    assert "stochastic depth: 54 blocks, survival 0.9907 -> 0.5; expected 40.25 of 54 blocks, expected depth 82.50 of 110" in out
    assert stochastic_depth_summary(archdsl.load(RESNET110).graph) is None


def test_expected_depth_of_uniform_survival_and_of_parallel_branches():
    text = ("arch t\ninput 4x8x8\nnetwork {\n  residual(survival=0.5) { conv(4, 3, padding=1) conv(4, 3, padding=1) } x 3\n"
            "  multi_residual(survival=0.25) { conv(4, 3, padding=1)  { conv(4, 3, padding=1) conv(4, 3, padding=1) } }\n}\n")
    sd = stochastic_depth_summary(archdsl.loads(text).graph)
    assert sd.survivals == (0.5, 0.5, 0.5, 0.25, 0.25)
    # chain: 3 * 2 * 0.5 = 3; then E[max] of a 2-deep branch (p 1/4), a 1-deep one (p 1/4), the shortcut 0
    assert sd.expected_depth == pytest.approx(3 + 2 * 0.25 + 1 * 0.25 * 0.75)


def test_ror3_adds_its_shortcuts_by_hand():
    arch = archdsl.load("specs/cifar/ror3_resnet110.arch")
    ir.verify(arch.graph)
    extra = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64) + (16 * 64 + 2 * 64)  # stage 2, stage 3, root: 1x1 conv + BN
    assert arch.params == BASE_PARAMS + extra == 1_731_866
    root = [arch.graph.node(n) for n in arch.graph if arch.graph.node(n).name == "root_shortcut.0"][0]
    assert root.op.stride == (4, 4) and root.op.out == 64
    assert len(ops(arch, "add")) == 54 + 3 + 1  # blocks, stages, root


def test_multiresnet_sums_k_residual_functions():
    def params(k, blocks=4):
        total = 3 * 16 * 9 + 2 * 16 + 64 * 10 + 10
        for i, w in enumerate((16, 32, 64)):
            cin = 16 if i == 0 else w // 2
            first = 9 * cin * w + 9 * w * w + 4 * w
            total += k * (first + (blocks - 1) * (2 * 9 * w * w + 4 * w))
        return total

    for k in (1, 2, 3):
        arch = archdsl.load("specs/cifar/multiresnet.arch", k=k)
        assert arch.params == params(k)
        assert [len(arch.graph.inputs(n)) for n in arch.graph if arch.graph.node(n).kind == "add"] == [k + 1] * 12
    assert archdsl.load("specs/cifar/multiresnet.arch").params == 732_762


def test_highway_layers():
    arch = archdsl.load("specs/cifar/highway.arch")
    ir.verify(arch.graph)
    gates = ops(arch, "gate")
    assert len(gates) == 28 and {(g.kernel, g.bias_init) for g in gates} == {((3, 3), -2.0)}
    by_hand = (3 * 32 * 9 + 32) + (32 * 48 + 48) + (48 * 64 + 64) + (64 * 10 + 10)
    by_hand += sum(n * 2 * (9 * w * w + w) for n, w in ((10, 32), (9, 48), (9, 64)))  # H and T per layer
    assert arch.params == by_hand == 1_230_042
    assert arch.depth == 32
    g = arch.graph  # y = H * T + x * (1 - T)
    layer = [g.node(n).kind for n in g.order if g.node(n).name.startswith("stage1.0.")]
    assert layer == ["conv", "relu", "gate", "mul", "one_minus", "mul", "add"]


def test_residual_options_in_yaml_form(spec_file):
    from test_yaml_form import graph_signature

    arch_text = ("arch r\ninput 8x8x8\nnetwork {\n  r: residual(gate=shortcut_only, gate_bias=-1.0, shortcut_scale=0.5, "
                 "shortcut_dropout=0.1, survival=0.9, after=bn_relu) { conv(16, 3, stride=2, padding=1) }\n"
                 "  m: multi_residual(shortcut=conv) { conv(16, 3, padding=1)  conv(16, 1) }\n}\n")
    yaml_text = ("arch: r\ninput: 8x8x8\nnetwork:\n"
                 "  - r:\n      residual: {gate: shortcut_only, gate_bias: -1.0, shortcut_scale: 0.5, shortcut_dropout: 0.1,"
                 " survival: 0.9, after: bn_relu}\n      body: [\"conv(16, 3, stride=2, padding=1)\"]\n"
                 "  - m:\n      multi_residual: {shortcut: conv}\n      body: [\"conv(16, 3, padding=1)\", \"conv(16, 1)\"]\n")
    a, b = archdsl.load(spec_file(arch_text)), archdsl.load(spec_file(yaml_text, "r.yaml"))
    assert graph_signature(a) == graph_signature(b)
    kinds = [a.graph.node(n).kind for n in a.graph.order]
    assert kinds == ["input", "conv", "gate", "one_minus", "stochastic_depth", "conv", "bn", "scale", "dropout", "mul",
                     "add", "bn", "relu", "conv", "conv", "conv", "add", "relu"]


ERRORS = {
    "gate_without_shortcut": ("network {\n  residual(gate=exclusive, shortcut=none) { conv(3, 1) }\n}\n", 4, 17,
                              "a gate needs a shortcut to gate"),
    "even_gate_kernel": ("network {\n  residual(gate=exclusive, gate_kernel=2) { conv(3, 1) }\n}\n", 4, 40,
                         "gate_kernel must be a positive odd integer, got 2"),
    "survival_zero": ("network {\n  residual(survival=0) { conv(3, 1) }\n}\n", 4, 21, "survival must be in (0, 1], got 0"),
    "bad_decay": ("network {\n  residual(survival=0.5, decay=fast) { conv(3, 1) }\n}\n", 4, 32,
                  "residual decay must be one of uniform, linear"),
    "gate_in_multi": ("network {\n  multi_residual(gate=exclusive) { conv(3, 1) }\n}\n", 4, 18,
                      "multi_residual has no argument 'gate'"),
    "branches_differ": ("network {\n  multi_residual(shortcut=none) { conv(3, 1)  conv(4, 1) }\n}\n", 4, 3,
                        "the branches give different shapes: 3x8x8 and 4x8x8"),
    "empty_poly": ("network {\n  poly { }\n}\n", 4, 3, "poly needs at least one item"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_located(case, expect_error):
    expect_error(*ERRORS[case])
