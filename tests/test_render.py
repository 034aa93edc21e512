"""`archdsl render`: graphviz diagrams at three levels, folding, unravel, determinism (issue 7)."""
import re

import networkx as nx
import pytest

import archdsl
from archdsl.backends.dot.render import dot_text, svg_text, write
from archdsl.targets import RenderOptions
from archdsl.backends.dot.unravel import build_unravel_view
from archdsl.backends.dot.view import build_view

MAGIC = {".svg": b"<?xml", ".png": b"\x89PNG", ".pdf": b"%PDF", ".dot": b"digraph"}


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf", ".dot"])
def test_formats_by_extension(cli, tmp_path, suffix):
    target = tmp_path / f"resnet20{suffix}"
    code, out, err = cli("render", "specs/cifar/resnet20.arch", "-o", target)
    assert code == 0 and err == "" and out.strip() == f"wrote {target}"
    assert target.read_bytes().startswith(MAGIC[suffix])
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # written atomically: no stray temporaries


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_same_spec_same_bytes(tmp_path, suffix):
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    write(archdsl.load("specs/resnet50.arch"), first)
    write(archdsl.load("specs/resnet50.arch"), second)
    assert first.read_bytes() == second.read_bytes()


def test_dot_text_is_deterministic_at_every_level():
    for level in ("stage", "block", "layer"):
        texts = {dot_text(archdsl.load("specs/densenet121.arch"), level) for _ in range(2)}
        assert len(texts) == 1


def test_stage_level_one_box_per_stage():
    view = build_view(archdsl.load("specs/resnet152.arch"), "stage")
    stages = {item.title: item for item in view.items if item.family == "stage"}
    assert list(stages) == ["layer1", "layer2", "layer3", "layer4"]
    assert stages["layer3"].ops[0][0] == "bottleneck x 36" and stages["layer3"].shape == "1024x14x14"
    assert len(view.items) <= 12 and not view.clusters  # fits one screen


def test_block_level_folds_identical_blocks():
    arch = archdsl.load("specs/resnet152.arch")
    view = build_view(arch, "block")
    folds = [c for c in view.clusters if c.style == "fold"]
    assert [c.subtitle for c in folds] == ["bottleneck x 2", "bottleneck x 7", "bottleneck x 35", "bottleneck x 2"]
    assert folds[2].title == "layer3.1 … layer3.35"
    blocks = [c.title for c in view.clusters if c.style == "block"]
    assert blocks == ["layer1.0", "layer2.0", "layer3.0", "layer4.0"]  # the stride-2 / projection blocks differ
    text = dot_text(arch, "block")
    assert "bottleneck x 35" in text and "bottleneck x 36" in dot_text(arch, "stage")
    expanded = build_view(arch, "block", expand=True)
    assert not any(c.style == "fold" for c in expanded.clusters)
    assert len([c for c in expanded.clusters if c.style == "block"]) == 3 + 8 + 36 + 3


def test_dense_blocks_fold_across_their_concats():
    view = build_view(archdsl.load("specs/densenet121.arch"), "block")
    assert [c.subtitle for c in view.clusters if c.style == "fold"] == [
        "dense_layer x 6", "dense_layer x 12", "dense_layer x 24", "dense_layer x 16"]
    assert len(view.items) < 40
    assert sum(e.skip for e in view.edges) == 4  # each block input straight to the block's concat


def test_blocks_separated_by_a_layer_do_not_fold():
    # GoogLeNet's inception4e and inception5a have equal arguments but a max-pool between them
    view = build_view(archdsl.load("specs/googlenet.arch"), "block")
    assert not [c for c in view.clusters if c.style == "fold"]
    assert "inception4e" in [c.title for c in view.clusters]


def test_block_level_clusters_shortcuts_and_labels():
    arch = archdsl.load("specs/resnet50.arch")
    view = build_view(arch, "block", expand=True)
    cluster = next(c for c in view.clusters if c.title == "layer2.0")
    assert cluster.subtitle == "bottleneck(planes=128, stride=2, dilation=1, width=128)"
    inside = [i for i in view.items if i.cluster == cluster.key]
    assert [i.title for i in inside] == ["conv1", "conv2", "conv3", "downsample", "add"]
    conv2 = inside[1]
    assert conv2.ops == [("conv 3x3/2, 128", True), ("bn", False), ("relu", False)] and conv2.shape == "128x28x28"
    assert conv2.family == "conv" and inside[3].shortcut and inside[4].join
    skips = [e for e in view.edges if e.skip]
    assert len(skips) == 4 * 2 + 12  # projection blocks: into and out of the projection; identity blocks: one
    text = dot_text(arch, "block")
    assert text.count("style=dashed") == 4 * 2 + 4  # folded: one identity skip per fold
    assert 'fillcolor="#d6e6f5"' in text  # conv colour


def test_layer_level_draws_every_op():
    arch = archdsl.load("specs/cifar/resnet20.arch")
    view = build_view(arch, "layer", expand=True)
    assert len(view.items) == len(arch.graph)
    assert len([c for c in view.clusters if c.style == "block"]) == 9
    folded = build_view(arch, "layer")
    assert [c.subtitle for c in folded.clusters if c.style == "fold"] == ["basic x 3", "basic x 2", "basic x 2"]


def test_single_box_blocks_need_no_cluster():
    view = build_view(archdsl.load("specs/googlenet.arch"), "block")
    titles = [c.title for c in view.clusters]
    assert "conv1" not in titles and any(i.title == "conv1" for i in view.items)


def test_unravel_draws_every_path():
    view = build_unravel_view(archdsl.load("examples/three_blocks.arch"))
    g = nx.DiGraph([(e.src, e.dst) for e in view.edges])
    source = next(i.key for i in view.items if i.family == "io")
    sink = view.items[-1].key
    assert len(list(nx.all_simple_paths(g, source, sink))) == 8
    copies = [i.ops[0][0] for i in view.items if i.family.startswith("module")]
    assert sorted(copies) == ["f₁", "f₂", "f₂", "f₃", "f₃", "f₃", "f₃"]
    sums = [i for i in view.items if i.ops[0][0] == "Σ"]
    assert len(sums) == 1 and sums[0].shape == "sum of 8 paths"


def test_unravel_six_blocks_with_zero_pad_shortcuts(tmp_path):
    arch = archdsl.load("specs/cifar/resnet20.arch", depth=14)
    view = build_unravel_view(arch)
    g = nx.DiGraph([(e.src, e.dst) for e in view.edges])
    source = next(i.key for i in view.items if i.family == "io")
    assert len(list(nx.all_simple_paths(g, source, view.items[-1].key))) == 64
    assert sum(i.shortcut for i in view.items) == 2**2 + 2**4  # a zero-pad copy on each path past layer2.0, layer3.0
    target = tmp_path / "u.svg"
    write(arch, target, RenderOptions(unravel=True))
    assert target.read_bytes().startswith(b"<?xml")


def test_unravel_refuses_what_it_cannot_draw(cli, tmp_path):
    code, _, err = cli("render", "specs/cifar/resnet20.arch", "--unravel", "-o", tmp_path / "u.svg")
    assert code == 2 and "9 residual modules" in err
    code, _, err = cli("render", "specs/densenet121.arch", "--unravel", "-o", tmp_path / "u.svg")
    assert code == 2 and "--unravel draws residual nets" in err
    code, _, err = cli("render", "specs/cifar/plain20.arch", "--unravel", "-o", tmp_path / "u.svg")
    assert code == 2 and "no residual modules" in err


def test_without_dot_writes_dot_and_says_how(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "r.png"
    code, out, err = cli("render", "specs/cifar/resnet20.arch", "-o", target)
    assert code == 0 and not target.exists()
    written = tmp_path / "r.dot"
    assert written.read_text().startswith("digraph")
    assert len(out.strip().splitlines()) == 1
    assert "apt-get install graphviz" in out and f"dot -Tpng {written} -o {target}" in out
    assert svg_text(archdsl.load("specs/cifar/resnet20.arch")) is None  # Jupyter falls back to the repr


def test_repr_svg():
    svg = archdsl.load("examples/three_blocks.arch")._repr_svg_()
    assert svg.startswith("<?xml") and "<svg" in svg and "basic x 3" in svg


def test_render_errors_and_drop(cli, tmp_path):
    code, _, err = cli("render", "specs/cifar/resnet20.arch", "-o", tmp_path / "r.jpg")
    assert code == 2 and "render writes .svg, .png, .pdf or .dot" in err and not (tmp_path / "r.jpg").exists()
    code, out, err = cli("render", "specs/cifar/resnet20.arch", "-o", "-")
    assert code == 2 and not out and "<-o>:1:1: error: render writes" in err and "standard output" in err
    assert "    1 | -\n      | ^" in err  # located, with its caret
    code, _, err = cli("render", "specs/cifar/resnet20.arch", "-o", tmp_path / "missing" / "r.svg")
    assert code == 2 and "does not exist" in err
    target = tmp_path / "d.dot"
    code, _, _ = cli("render", "specs/cifar/resnet20.arch", "--drop", "layer1.1", "--level", "layer", "--expand", "-o", target)
    text = target.read_text()
    assert code == 0 and "without layer1.1" in text and "layer1.1  <FONT" not in text and "layer1.2  <FONT" in text


def test_labels_are_escaped_html():
    text = dot_text(archdsl.load("specs/inception_v3.arch"), "block")
    for label in re.findall(r"label=<(.*?)>[ \];]", text):
        assert "&" not in label.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").replace("&quot;", "")


@pytest.mark.parametrize("level", ["stage", "block", "layer"])
def test_each_named_output_gets_a_box_fed_by_its_tensor(level):
    view = build_view(archdsl.load("specs/detection/yolov8n_neck.arch"), level)
    outputs = {item.key: item for item in view.items if item.ops and item.ops[0][0].startswith("output ")}
    assert [item.ops[0][0] for item in outputs.values()] == ["output p3", "output p4", "output p5"]
    assert [item.shape for item in outputs.values()] == ["64x80x80", "128x40x40", "256x20x20"]
    fed = {e.dst for e in view.edges if e.dst in outputs}
    assert fed == set(outputs)


def test_unet_is_drawn_as_the_paper_draws_it():
    view = build_view(archdsl.load("specs/segmentation/unet.arch"), "stage")
    titles = {item.key: item.title for item in view.items}
    assert [[titles[k] for k in rank] for rank in view.ranks] == [[f"down{k}", f"up{k}"] for k in (4, 3, 2, 1)]
    skips = {(titles[e.src], titles[e.dst]) for e in view.edges if e.skip}
    assert skips == {(f"down{k}", f"up{k}") for k in (1, 2, 3, 4)}
