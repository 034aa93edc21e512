"""FractalNet: the expansion rule's arithmetic, drop-path in the IR, column extraction, the specs."""
import json

import pytest

import archdsl
from archdsl import ir
from archdsl.passes import fractal_summaries, state_layout
from archdsl.passes.paths import path_stats


def fractal_net(columns: int, blocks: int = 1, join: str = "mean", extra: str = "") -> str:
    body = "\n".join(f'  "b{i}": fractal(columns={columns}, join={join}{extra}) {{ conv: conv(4, 3, padding=1) }}'
                     for i in range(blocks))
    return f"arch f\ninput 4x8x8\nnetwork {{\n{body}\n}}\n"


def kinds(arch) -> list[str]:
    return [arch.graph.node(n).kind for n in arch.graph.order]


@pytest.mark.parametrize("C", [1, 2, 3, 4, 5])
def test_node_and_path_counts(C):
    arch = archdsl.loads(fractal_net(C))
    ir.verify(arch.graph)
    # 2^C - 1 copies of the base; the flattened joins: f_(C+1) has twice f_C's (C >= 2)
    assert kinds(arch).count("conv") == 2**C - 1
    assert kinds(arch).count("join") == (2 ** (C - 2) if C >= 2 else 0)
    assert len(arch.graph) == 1 + 2**C - 1 + (2 ** (C - 2) if C >= 2 else 0)
    # paths: P(1) = 1, P(C+1) = P(C)^2 + 1 -> 1, 2, 5, 26, 677
    assert path_stats(arch.graph).total == [1, 2, 5, 26, 677][C - 1]
    (summary,) = fractal_summaries(arch.graph)
    assert summary.column_depths == tuple(2**c for c in range(C))
    assert arch.depth == 2 ** (C - 1)


@pytest.mark.parametrize("B, C", [(1, 3), (3, 2), (5, 3), (5, 4), (2, 5)])
def test_deepest_column_depth_is_B_times_2_to_the_C_minus_1(B, C):
    arch = archdsl.loads(fractal_net(C, blocks=B))
    assert arch.depth == B * 2 ** (C - 1)
    assert arch.extract_column(C).depth == B * 2 ** (C - 1)
    assert arch.extract_column(1).depth == B


def test_join_structure_and_drop_path_attributes():
    arch = archdsl.loads(fractal_net(4, extra=", drop=mix, p_local=0.2, global_ratio=0.25"))
    joins = [arch.graph.node(n).op for n in arch.graph if arch.graph.node(n).kind == "join"]
    # f_4 = join(f_3(f_3(z)), conv(z)); each f_3 = join(f_2(f_2(z)), conv(z)), f_2 = join(conv(conv(z)), conv(z))
    assert [j.columns for j in joins] == [(4, 3), (4, 3, 2), (4, 3), (4, 3, 2, 1)]
    assert {(j.mode, j.drop, j.p_local, j.global_ratio, j.group, j.num_columns) for j in joins} == {
        ("mean", "mix", 0.2, 0.25, "level1", 4)
    }
    (summary,) = fractal_summaries(arch.graph)
    assert summary.joins == (2, 3, 2, 4)


def test_join_modes():
    for join, out_channels in (("mean", 4), ("sum", 4), ("max", 4), ("concat", 8)):
        arch = archdsl.loads(fractal_net(2, join=join))
        assert arch.output_shape == (out_channels, 8, 8)
    concat = archdsl.loads(fractal_net(3, join="concat"))
    # the second f_2 sees the first's 8-channel concat: its convs take 8 input channels
    assert concat.output_shape == (12, 8, 8)
    with pytest.raises(archdsl.ArchError, match="concat join's width depends on all its columns"):
        concat.extract_column(3)


def test_fractal_of_fractals():
    text = (
        "arch ff\ninput 3x8x8\n"
        'block inner(c) { "fractal": fractal(columns=2) { conv: conv(c, 3, padding=1) } }\n'
        "network {\n  outer: fractal(columns=3, drop=global) { inner(4) }\n}\n"
    )
    arch = archdsl.loads(text)
    ir.verify(arch.graph)
    summaries = {s.name: s for s in fractal_summaries(arch.graph)}
    outer = summaries.pop("outer")
    assert (outer.columns, outer.column_depths, outer.group) == (3, (2, 4, 8), "level1")
    assert len(summaries) == 7 and {s.group for s in summaries.values()} == {"level2"}
    # each base has P = 2 paths: P(1) = 2, P(C+1) = P(C)^2 + 2 -> 2, 6, 38
    assert path_stats(arch.graph).total == 38
    assert arch.depth == 8
    assert arch.extract_column(3, group="level1").depth == 8  # inner fractals keep both columns
    assert arch.extract_column(2).depth == 4  # column 2 of every fractal: 2 inner fractals of column 2
    with pytest.raises(archdsl.ArchError, match="column 3 does not exist"):
        arch.extract_column(3)


def test_column_extraction_is_a_plain_network_with_the_same_names():
    arch = archdsl.load("specs/cifar/fractalnet20.arch")
    deepest = arch.extract_column(3)
    ir.verify(deepest.graph)
    assert "join" not in kinds(deepest)
    assert path_stats(deepest.graph).total == 1
    # 20 convs of the deepest column + 5 widening 1x1 convs + the linear layer
    assert kinds(deepest).count("conv") == 25 and deepest.depth == 26
    full = dict(state_layout(arch.graph, arch.shapes))
    column = state_layout(deepest.graph, deepest.shapes)
    assert all(full[name] == shape for name, shape in column)  # a subset: the trained weights load
    # by hand: per block a widening 1x1 conv + BN, then 4 units of 3x3 conv (bias) + BN; the linear layer
    widths = [(3, 64), (64, 128), (128, 256), (256, 512), (512, 512)]
    per_block = [cin * w + w + 2 * w + 4 * (9 * w * w + w + 2 * w) for cin, w in widths]
    assert deepest.params == sum(per_block) + 512 * 10 + 10
    # column 1: one conv per block
    assert kinds(arch.extract_column(1)).count("conv") == 10


def test_fractalnet_params_near_the_paper():
    net20 = archdsl.load("specs/cifar/fractalnet20.arch")
    net40 = archdsl.load("specs/cifar/fractalnet40.arch")
    assert net20.params == 38_923_978 and abs(net20.params / 38.6e6 - 1) < 0.02
    assert net40.params == 22_860_068 and abs(net40.params / 22.9e6 - 1) < 0.02
    # the expansion applied literally (first unit of each column widens): 33.7M
    assert archdsl.load("specs/cifar/fractalnet20.arch", widen=False).params == 33_734_922
    for net, C in ((net20, 3), (net40, 4)):
        depths = [s.column_depths for s in fractal_summaries(net.graph)]
        assert depths == [tuple(2**c for c in range(C))] * 5
        assert net.extract_column(C).depth == 5 * 2 ** (C - 1) + 5 + 1  # + widening 1x1s + fc


def test_hand_count_of_one_literal_block():
    # C = 3, 3 -> 64 channels: 3 convs see the input (one per column), 4 see 64 channels
    arch = archdsl.loads("arch f\ninput 3x32x32\nnetwork {\n  f: fractal(columns=3) { conv(64, 3, padding=1) bn relu }\n}\n")
    assert arch.params == 3 * (3 * 64 * 9 + 64) + 4 * (64 * 64 * 9 + 64) + 7 * 2 * 64


def test_info_reports_columns_and_joins(cli):
    code, out, _ = cli("info", "specs/cifar/fractalnet20.arch", "--level", "stage")
    assert code == 0
    assert ("fractal block1.fractal .. block5.fractal (5 alike): 3 columns, join mean, drop-path mix (group level1); "
            "column depths 1, 2, 4; joins of 2, 3 inputs") in out
    assert "fractal group level1 (5 fractals): column depths summed over them 5, 10, 20" in out
    code, out, _ = cli("info", "specs/cifar/fractalnet20.arch", "--json")
    data = json.loads(out)
    assert data["fractals"][0] == {"name": "block1.fractal", "columns": 3, "join": "mean", "drop_path": "mix",
                                   "group": "level1", "column_depths": [1, 2, 4], "join_inputs": [2, 3]}
    code, out, _ = cli("info", "specs/resnet18.arch", "--json")
    assert "fractals" not in json.loads(out)  # keys only where they apply


def test_cli_column_option(cli):
    code, out, _ = cli("check", "specs/cifar/fractalnet20.arch", "--column", "3")
    assert code == 0 and "fractalnet20_column3" in out and "22,432,522 params" in out
    code, out, _ = cli("info", "specs/cifar/fractalnet20.arch", "--column", "3", "--json")
    assert json.loads(out)["depth"] == 26 and "fractals" not in json.loads(out)
    code, _, err = cli("check", "specs/cifar/fractalnet20.arch", "--column", "4")
    assert code == 2 and "column 4 does not exist: fractal 'block1.fractal' has columns 1..3" in err
    code, _, err = cli("check", "specs/resnet18.arch", "--column", "1")
    assert code == 2 and "there is no fractal" in err


def test_yaml_form_builds_the_same_fractal(spec_file):
    from test_yaml_form import graph_signature

    arch_text = (
        "arch f\ninput 3x8x8\nnetwork {\n"
        "  f: fractal(columns=3, join=max, drop=local, p_local=0.1, group=\"g\") { conv: conv(4, 3, padding=1)  relu }\n}\n"
    )
    yaml_text = (
        "arch: f\ninput: 3x8x8\nnetwork:\n"
        "  - f:\n      fractal: {columns: 3, join: max, drop: local, p_local: 0.1, group: '\"g\"'}\n"
        '      body: ["conv: conv(4, 3, padding=1)", relu]\n'
    )
    a = archdsl.load(spec_file(arch_text))
    b = archdsl.load(spec_file(yaml_text, "f.yaml"))
    assert graph_signature(a) == graph_signature(b)


ERRORS = {
    "columns_missing": ("network {\n  fractal { conv(4, 3) }\n}\n", 4, 3, "fractal needs columns=C, the number of columns"),
    "columns_zero": ("network {\n  fractal(columns=0) { conv(4, 3) }\n}\n", 4, 19, "fractal needs columns=C with 1 <= C <= 16, got 0"),
    "bad_join": ("network {\n  fractal(columns=2, join=avg) { conv(4, 3) }\n}\n", 4, 27, "fractal join must be one of mean, sum, max, concat"),
    "bad_drop": ("network {\n  fractal(columns=2, drop=sometimes) { conv(4, 3) }\n}\n", 4, 27, "fractal drop must be one of"),
    "p_local": ("network {\n  fractal(columns=2, p_local=1.5) { conv(4, 3) }\n}\n", 4, 30, "p_local must be in [0, 1], got 1.5"),
    "shape_change": ("network {\n  fractal(columns=2) { conv(4, 3) }\n}\n", 4, 3,
                     "join (mean) needs inputs of one shape, got 4x4x4 (column 2) and 4x6x6 (column 1)"),
    "groups_differ": ("network {\n  fractal(columns=2, drop=global) { conv(4, 3, padding=1) }\n"
                      "  fractal(columns=3, drop=mix) { conv(4, 3, padding=1) }\n}\n", 5, 3,
                      "global drop-path draws one column for the whole group 'level1', but this fractal has 3 columns"),
    "stage_stride": ("block u(c, stride=1) { conv(c, 3, stride=stride, padding=1) }\n"
                     "network {\n  stage(stride=2) { fractal(columns=2) { u(4) } }\n}\n", 5, 21,
                     "a stage's stride cannot go into a fractal"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_located(case, expect_error):
    expect_error(*ERRORS[case])
