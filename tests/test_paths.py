"""`archdsl paths` and Architecture.paths(): exact path counts and length distributions (issue 7)."""
import json
from math import comb

import pytest

import archdsl
from archdsl.errors import ArchError
from archdsl.passes.paths import body_ends, path_inputs, path_stats


def brute_force(arch) -> list[tuple[int, int]]:
    """(modules, weight layers) of every input-to-output path, by enumerating them (along path-carrying inputs)."""
    g = arch.graph
    ends = body_ends(g)
    lengths = []
    stack = [(g.output, 0, 0)]
    while stack:
        nid, modules, layers = stack.pop()
        modules += nid in ends
        layers += g.node(nid).op.weight_layer
        if nid == g.input:
            lengths.append((modules, layers))
        stack.extend((p, modules, layers) for p in path_inputs(g, nid))
    return sorted(lengths)


def from_histograms(stats) -> tuple[list[int], list[int]]:
    def expand(h):
        return [k for k, c in h.items() for _ in range(c)]

    return expand(stats.modules), expand(stats.layers)


def assert_matches_brute_force(arch):
    stats = arch.paths()
    paths = brute_force(arch)
    assert stats.total == len(paths)
    modules, layers = from_histograms(stats)
    assert modules == sorted(m for m, _ in paths)
    assert layers == sorted(l for _, l in paths)


# ---------------------------------------------------------------- residual nets


def test_three_blocks_have_eight_binomial_paths():
    arch = archdsl.load("examples/three_blocks.arch")
    stats = arch.paths()
    assert stats.total == 8
    assert from_histograms(stats)[0] == [0, 1, 1, 1, 2, 2, 2, 3]
    assert stats.layers.items() == [(2, 1), (4, 3), (6, 3), (8, 1)]  # stem conv + fc, plus 2 per module
    assert (stats.modules.shortest, stats.modules.longest, stats.modules.mean, stats.modules.median) == (0, 3, 1.5, 1)
    assert_matches_brute_force(arch)


def test_resnet110_has_2_to_54_paths_mostly_of_19_to_35_modules(capsys):
    stats = archdsl.load("specs/cifar/resnet110.arch").paths()
    assert stats.total == 2**54
    assert stats.modules.counts == tuple(comb(54, k) for k in range(55))
    inside = stats.modules.count_within(19, 35)
    assert inside == sum(comb(54, k) for k in range(19, 36)) == 17_657_095_043_635_292
    share = stats.modules.fraction_within(19, 35)
    with capsys.disabled():
        print(f"\nResNet-110: {inside:,} of 2^54 paths pass 19..35 modules = {share} = {float(share):.6f}")
    assert share > 0.95
    assert (stats.layers.shortest, stats.layers.longest, stats.modules.mean) == (2, 110, 27)


def test_imagenet_resnets_count_projection_shortcuts_as_layers_not_modules():
    stats = archdsl.load("specs/resnet50.arch").paths()
    assert stats.total == 2**16
    # the shortest path: conv1, the four projection shortcuts, fc
    assert (stats.modules.shortest, stats.layers.shortest, stats.layers.longest) == (0, 6, 50)
    assert_matches_brute_force(archdsl.load("specs/resnet18.arch"))


def test_resnet1001_is_exact_and_quick():
    arch = archdsl.load("specs/cifar/preact_resnet1001.arch")
    stats = arch.paths()
    assert stats.total == 2**333
    assert stats.modules.counts[167] == comb(333, 167)
    assert stats.layers.longest == 1001


def test_plain_net_has_one_path():
    stats = archdsl.load("specs/cifar/plain20.arch").paths()
    assert stats.total == 1 and stats.modules.items() == [(0, 1)] and stats.layers.items() == [(20, 1)]


# ---------------------------------------------------------------- dropping blocks


@pytest.mark.parametrize("spec, block", [
    ("specs/cifar/resnet110.arch", "layer2.3"),   # identity shortcut
    ("specs/cifar/resnet110.arch", "layer2.0"),   # zero-padding shortcut: kept
    ("specs/resnet50.arch", "layer3.0"),          # projection shortcut: kept
])
def test_dropping_a_block_halves_the_paths(spec, block):
    arch = archdsl.load(spec)
    dropped = arch.without(block)
    archdsl.verify(dropped.graph)
    assert dropped.paths().total * 2 == arch.paths().total
    assert dropped.paths().modules.longest == arch.paths().modules.longest - 1
    assert not any(n.startswith(block + ".conv") for n in (dropped.graph.node(i).name for i in dropped.graph))
    assert dropped.output_shape == arch.output_shape
    assert dropped.graph is not arch.graph and len(arch.graph) > len(dropped.graph)


def test_dropping_keeps_a_projection_shortcut():
    dropped = archdsl.load("specs/resnet50.arch").without("layer3.0", "layer3.1")
    names = {dropped.graph.node(i).name for i in dropped.graph}
    assert {"layer3.0.downsample.0", "layer3.0.downsample.1"} <= names
    assert "layer3.1" not in dropped.modules and "layer3.0.downsample" in dropped.modules
    assert dropped.paths().total == 2**14


@pytest.mark.parametrize("block, message", [
    ("layer2.33", "no block 'layer2.33'"),
    ("layer2", "not a residual block"),
    ("conv1", "no block 'conv1'"),
])
def test_drop_errors(block, message):
    with pytest.raises(ArchError, match=message):
        archdsl.load("specs/cifar/resnet20.arch").without(block)


def test_drop_of_a_block_without_shortcut():
    with pytest.raises(ArchError, match="not a residual block"):
        archdsl.load("specs/densenet121.arch").without("features.transition1")


# ---------------------------------------------------------------- DenseNet


def small_densenet(blocks: list[int]) -> str:
    body = []
    for i, n in enumerate(blocks):
        body.append(f"dense {{ dense_layer x {n} }}")
        if i < len(blocks) - 1:
            body.append("bn relu conv(8, 1) avgpool(2)")
    return f"""
arch small_densenet
input 3x16x16
block dense_layer() {{ bn relu conv(8, 1) bn relu conv(4, 3, padding=1) }}
network {{ conv(8, 3, padding=1) {' '.join(body)} gap flatten fc: linear(10) }}
"""


@pytest.mark.parametrize("blocks", [[1], [3], [4, 2], [2, 3, 1]])
def test_densenet_brute_force_and_closed_form(blocks):
    arch = archdsl.loads(small_densenet(blocks))
    assert_matches_brute_force(arch)
    L = sum(blocks)
    stats = arch.paths()
    assert stats.total == 2**L
    # closed form: a dense block of n layers contributes (1 + x)^n; each dense layer is 2 weight layers
    assert stats.modules.counts == tuple(comb(L, k) for k in range(L + 1))
    fixed = 1 + (len(blocks) - 1) + 1  # stem conv, transition convs, fc
    assert stats.layers.items() == [(fixed + 2 * k, comb(L, k)) for k in range(L + 1)]


def test_densenet121_follows_the_closed_form():
    stats = archdsl.load("specs/densenet121.arch").paths()
    L = 6 + 12 + 24 + 16
    assert stats.total == 2**L == 2**58
    assert stats.modules.counts == tuple(comb(L, k) for k in range(L + 1))
    assert stats.layers.items() == [(5 + 2 * k, comb(L, k)) for k in range(L + 1)]
    assert archdsl.load("specs/densenet264.arch").paths().total == 2 ** (6 + 12 + 64 + 48)


# ---------------------------------------------------------------- FractalNet and other joins

FRACTAL_PATHS = {1: 1, 2: 2, 3: 5, 4: 26, 5: 677}  # P(1) = 1, P(C+1) = P(C)^2 + 1


def fractal_text(columns: int) -> str:
    """f1 = conv; f(C+1)(z) = join(fC(fC(z)), conv(z)), written with nested parallel(merge=mean)."""

    def f(c):
        if c == 1:
            return "conv(4, 3, padding=1)"
        return f"parallel(merge=mean) {{ {{ {f(c - 1)} {f(c - 1)} }} conv(4, 3, padding=1) }}"

    return f"arch fractal_shape\ninput 4x8x8\nnetwork {{ {f(columns)} gap flatten fc: linear(2) }}"


@pytest.mark.parametrize("columns", [1, 2, 3, 4, 5])
def test_fractal_path_counts(columns):
    expected = FRACTAL_PATHS[columns]
    assert FRACTAL_PATHS.get(columns - 1, 0) ** 2 + 1 == expected or columns == 1
    nested = archdsl.loads(fractal_text(columns)).paths()
    built = archdsl.loads(
        f"arch f\ninput 4x8x8\nnetwork {{ fractal(columns={columns}) {{ conv(4, 3, padding=1) bn relu }} gap flatten fc: linear(2) }}"
    )
    construct = built.paths()
    for stats in (nested, construct):
        assert stats.total == expected
        # the deepest column has 2^(C-1) convs, the shallowest one; plus the classifier
        assert (stats.layers.shortest, stats.layers.longest) == (2, 2 ** (columns - 1) + 1)
    assert nested.layers.counts == construct.layers.counts
    if columns <= 4:
        assert_matches_brute_force(built)


def test_poly_counts_each_body_passed():
    arch = archdsl.loads("""
arch poly_test
input 8x8x8
network { poly { {c1: conv(8, 3, padding=1) bn} {c2: conv(8, 3, padding=1) bn} } gap flatten fc: linear(2) }
""")
    assert from_histograms(arch.paths())[0] == [0, 1, 2]  # x + F(x) + G(F(x))
    assert_matches_brute_force(arch)


def test_inception_paths_match_brute_force():
    arch = archdsl.load("specs/googlenet.arch")
    stats = arch.paths()
    assert stats.total == 4**9 and stats.modules.items() == [(9, 4**9)]  # nine modules of four branches
    small = archdsl.loads("""
arch small_inception
input 8x8x8
block mixed() {
  parallel { conv(4, 1)  { conv(4, 1) conv(4, 3, padding=1) }  { maxpool(3, stride=1, padding=1) conv(4, 1) } }
}
network { mixed mixed residual { mixed conv(8, 1) } gap flatten fc: linear(2) }
""")
    assert small.paths().total == 3 * 3 * (3 + 1)
    assert_matches_brute_force(small)


def test_every_spec_has_paths():
    for spec in ("specs/inception_v3.arch", "specs/inception_resnet_v2.arch", "specs/xception.arch"):
        arch = archdsl.load(spec)
        assert arch.paths().total == path_stats(arch.graph).total >= 1


# ---------------------------------------------------------------- the command


def test_cli_text(cli):
    code, out, err = cli("paths", "specs/cifar/resnet110.arch", "--range", "19:35")
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "resnet110: 18,014,398,509,481,984 (2^54) paths from input to output"
    assert "paths with 19..35 modules passed: 98.02%" in out
    assert "= 17,657,095,043,635,292 / 18,014,398,509,481,984" in out
    assert "│" in out and "█" in out


def test_cli_json(cli):
    code, out, _ = cli("paths", "examples/three_blocks.arch", "--json", "--range", "1:2")
    data = json.loads(out)
    assert data["total_paths"] == "8"
    assert data["histogram_modules"] == {"0": "1", "1": "3", "2": "3", "3": "1"}
    assert data["histogram_layers"] == {"2": "1", "4": "3", "6": "3", "8": "1"}
    assert data["shortest"] == {"modules": 0, "layers": 2} and data["longest"] == {"modules": 3, "layers": 8}
    assert data["mean"] == {"modules": 1.5, "layers": 5.0} and data["median"] == {"modules": 1, "layers": 4}
    assert data["range"]["paths"] == "6" and data["range"]["fraction_exact"] == "3/4"


def test_cli_json_big_numbers_are_strings(cli):
    _, out, _ = cli("paths", "specs/cifar/preact_resnet1001.arch", "--json")
    data = json.loads(out)
    assert int(data["total_paths"]) == 2**333 and data["total_paths_log2"] == 333.0
    assert data["histogram_modules"]["166"] == str(comb(333, 166))


def test_cli_drop_and_units(cli):
    _, out, _ = cli("paths", "specs/cifar/resnet110.arch", "--drop", "layer2.3", "--drop", "layer3.5", "--json")
    assert json.loads(out)["total_paths"] == str(2**52)
    code, out, _ = cli("paths", "specs/cifar/resnet110.arch", "--unit", "layers", "--range", "50:60")
    assert code == 0 and "paths with 50..60 weight layers" in out
    code, _, err = cli("paths", "specs/cifar/resnet110.arch", "--drop", "layer9")
    assert code == 2 and "no block 'layer9'" in err
    code, _, err = cli("paths", "specs/cifar/resnet110.arch", "--range", "35:19")
    assert code == 2 and "--range expects LOW:HIGH" in err


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), pytest.param(".svg", b"<?xml", marks=pytest.mark.slow),
                                           pytest.param(".pdf", b"%PDF", marks=pytest.mark.slow)])
def test_cli_plot(cli, tmp_path, suffix, magic):
    target = tmp_path / f"hist{suffix}"
    code, out, _ = cli("paths", "specs/cifar/resnet110.arch", "--plot", target, "--range", "19:35")
    assert code == 0 and target.read_bytes().startswith(magic)
    first = target.read_bytes()
    cli("paths", "specs/cifar/resnet110.arch", "--plot", target, "--range", "19:35")
    assert target.read_bytes() == first  # the same spec gives the same bytes
    code, _, err = cli("paths", "specs/cifar/resnet110.arch", "--plot", tmp_path / "hist.gif")
    assert code == 2 and "--plot writes" in err
