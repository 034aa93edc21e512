"""Any DAG: named tensors (@name), joins of them, several outputs, inline and recursive blocks."""
import numpy as np
import pytest

import archdsl
from conftest import ROOT

TINY = """arch tiny_dag
input 3x16x16
network {
  stem: conv(8, 3, padding=1)
  down: { conv(16, 3, stride=2, padding=1) bn relu }
  up: upsample(to=@stem, mode=bilinear)
  cat: concat(@up, @stem)
  head: conv(4, 1)
  @down
  aux: conv(4, 1)
}
output out = @head, aux
"""

TINY_YAML = """arch: tiny_dag
input: 3x16x16
network:
  - "stem: conv(8, 3, padding=1)"
  - down: {body: ["conv(16, 3, stride=2, padding=1)", bn, relu]}
  - "up: upsample(to=@stem, mode=bilinear)"
  - "cat: concat(@up, @stem)"
  - "head: conv(4, 1)"
  - "@down"
  - "aux: conv(4, 1)"
output: {out: "@head", aux: "@aux"}
"""


def test_named_tensors_make_a_dag_with_two_outputs():
    arch = archdsl.loads(TINY)
    g = arch.graph
    names = {n.name: n.id for n in g.nodes()}
    assert g.inputs(names["cat"]) == (names["up"], names["stem"])
    assert g.inputs(names["aux"]) == (names["down.2"],)
    assert arch.output_shapes == {"out": (4, 16, 16), "aux": (4, 8, 8)}
    # conv 3->8 (224), conv 8->16 (1,168), bn (32), head 24->4 (100), aux 16->4 (68)
    assert arch.params == 224 + 1168 + 32 + 100 + 68
    assert arch.output("out").params == 224 + 1168 + 32 + 100  # aux is not on out's side
    assert arch.output("aux").params == 224 + 1168 + 32 + 68
    assert arch.output("aux").macs == 8 * 27 * 256 + 16 * 72 * 64 + 4 * 16 * 64
    info = arch.to_dict()
    assert [o["name"] for o in info["outputs"]] == ["out", "aux"]
    assert "output aux: 4x8x8" in arch.summary()


def test_the_yaml_form_gives_the_same_graph():
    a, b = archdsl.loads(TINY), archdsl.loads(TINY_YAML, format="yaml")
    assert a.dump() == b.dump() and a.graph.outputs == b.graph.outputs


def test_the_torch_module_returns_a_dict_and_onnx_names_its_outputs(tmp_path):
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    arch = archdsl.loads(TINY)
    model = arch.to_torch(seed=0).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        y = model(x)
    assert list(y) == ["out", "aux"] and y["aux"].shape == (2, 4, 8, 8)
    path = tmp_path / "t.onnx"
    arch.to_onnx(path, weights=model.state_dict())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["out", "aux"]
    got = session.run(None, {"input": x.numpy()})
    for value, key in zip(got, ("out", "aux")):
        ref = y[key].numpy()
        assert np.abs(value - ref).max() <= 1e-5 * np.abs(ref).max()


def test_a_tuple_output():
    torch = pytest.importorskip("torch")
    arch = archdsl.loads(TINY.replace("output out = @head, aux", "output (head, aux)"))
    y = arch.to_torch(seed=0).eval()(torch.randn(1, 3, 16, 16))
    assert isinstance(y, tuple) and [t.shape[1:] for t in y] == [(4, 16, 16), (4, 8, 8)]


def test_dotted_and_interpolated_references():
    arch = archdsl.loads("""arch t
input 3x8x8
block pair(c) { a: conv(c, 3, padding=1) b: relu }
network {
  p: pair(4) x 2
  @p.0.a
  k = 1
}
""".replace("  k = 1\n", "  \"x{1}\": conv(4, 1)\n  cat: concat(@\"x{1}\", @p.1.b)\n"))
    g = arch.graph
    names = {n.name: n.id for n in g.nodes()}
    assert g.inputs(names["x1"]) == (names["p.0.a"],)
    assert g.inputs(names["cat"]) == (names["x1"], names["p.1.b"])


def test_a_block_takes_a_tensor_argument():
    arch = archdsl.loads("""arch t
input 3x8x8
block fuse(c, skip) { conv(c, 1) cat: concat(@skip, @1) }
network { stem: conv(4, 3, padding=1) relu f: fuse(4, @stem) }
""".replace("@1", "@0"))
    names = {n.name: n.id for n in arch.graph.nodes()}
    assert arch.graph.inputs(names["f.cat"]) == (names["stem"], names["f.0"])


@pytest.mark.parametrize("body, line, col, fragment", [
    ("network { a: conv(4, 1) cat: concat(@a, @b) }", 3, 41, "no tensor named 'b' before this point"),
    ("network { cat: concat(@b, @b) b: conv(4, 1) }", 3, 23, "no tensor named 'b'"),
    ("network { a: conv(4, 1) @a.x }", 3, 25, "'a' has no item 'x'"),
    ("network { a: conv(4, 1) b: conv(5, 1, stride=2) cat: concat(@a, @b) }", 3, 54, "@a is 4x8x8"),
    ("network { a: conv(4, 1) relu @a conv(2, 1) }", 3, 25, "the output of '1' is never used"),
    ("network { a: conv(4, 1) concat(@a) x 2 }", 3, 25, "x"),
    ("network { a: conv(4, 1) b: @a }", 3, 25, "makes no layer"),
    ("network { a: conv(4, 1) conv(4, 1, @a) }", 3, 36, "takes one input"),
    ("block f(t) { concat(@t, @0) }\nnetwork { a: conv(4, 1) f(@a) }", 3, 25, "no tensor named '0'"),
    ("network { a: conv(4, 1) }\noutput a, b", 4, 11, "no tensor named 'b'"),
    ("network { a: conv(4, 1) }\noutput a, a", 4, 11, "named twice"),
    ('network { a: conv(4, 1) }\noutput "x y" = @a', 4, 8, "not a valid output name"),
    ("param p = @a\nnetwork { a: conv(4, 1) }", 3, 11, "only be used in a network or block body"),
    ("block f(c) { x: inline f(c) }\nnetwork { f(4) }", 3, 14, "inline call has no name"),
    ("block f(c) { relu inline f(c) }\nnetwork { f(4) }", 3, 26, "nest more than 48 deep"),
])
def test_reference_errors_are_located(expect_error, body, line, col, fragment):
    expect_error(body, line, col, fragment)


def test_a_join_mismatch_names_both_tensors_and_where_they_were_made():
    with pytest.raises(archdsl.ArchError) as err:
        archdsl.loads("arch t\ninput 3x8x8\nnetwork {\n  a: conv(4, 1)\n  b: conv(5, 1, stride=2)\n"
                      "  cat: concat(@a, @b)\n}\n")
    text = str(err.value)
    assert "@a is 4x8x8 (made at <string>:4:6" in text and "@b is 5x4x4 (made at <string>:5:6" in text


def test_unet_of_the_paper_is_one_recursive_level():
    arch = archdsl.load(ROOT / "specs/segmentation/unet.arch")
    assert arch.input_shape == (1, 572, 572) and arch.output_shape == (2, 388, 388)

    def conv(cin, cout, k=3):
        return cin * cout * k * k + cout

    widths = [64, 128, 256, 512, 1024]
    down = sum(conv(cin, c) + conv(c, c) for cin, c in zip([1] + widths, widths))
    up = sum(conv(2 * c, c, 2) + conv(2 * c, c) + conv(c, c) for c in widths[:-1])  # convt 2c->c 2x2, double conv
    assert arch.params == down + up + conv(64, 2, 1) == 31_030_658
    names = [n.name for n in arch.graph.nodes()]
    assert {"down1.conv1", "down5.conv2", "up4.up", "up4.skip", "up1.conv2", "head"} <= set(names)
    shapes = {n.name: arch.shapes[n.id] for n in arch.graph.nodes()}
    assert shapes["up1.skip"] == (64, 392, 392)  # down1's 568x568 cropped to the up-convolution's size
    assert shapes["up4.cat"] == (1024, 56, 56)


@pytest.mark.parametrize("spec, params", [("unet_same", 31_037_633), ("unet_bilinear", 28_948_673)])
def test_same_padding_unets_keep_the_input_size(spec, params):
    arch = archdsl.load(ROOT / f"specs/segmentation/{spec}.arch")
    assert arch.output_shape == (1, 256, 256) and arch.params == params
    torch = pytest.importorskip("torch")
    narrow = archdsl.load(ROOT / f"specs/segmentation/{spec}.arch", width=4)
    model = narrow.to_torch(seed=0).eval()
    assert list(model.state_dict())[:2] == ["down1.conv1.weight", "down1.bn1.weight"]
    with torch.no_grad():
        assert model(torch.randn(1, 3, 256, 256)).shape == (1, 1, 256, 256)


def test_input_in_a_block_is_the_blocks_input():
    arch = archdsl.loads("""arch t
input 3x16x16
block pooled(c) { a: conv(c, 1) gap b: conv(c, 1) up: upsample(to=@input) cat: concat(@a, @up) }
network { stem: conv(4, 3, stride=2, padding=1) p: pooled(4) }
""")
    names = {n.name: n.id for n in arch.graph.nodes()}
    assert arch.shapes[names["p.up"]] == (4, 8, 8)  # the block's input is 8x8, the network's 16x16


def test_a_hand_written_residual_has_the_paths_of_the_structure():
    by_hand = archdsl.loads("""arch t
input 4x8x8
block unit() { f: conv(4, 3, padding=1) relu g: conv(4, 3, padding=1) out: add(@input, @g) }
network { unit() x 3 }
""")
    built = archdsl.loads("""arch t
input 4x8x8
network { residual(after=none) { conv(4, 3, padding=1) relu conv(4, 3, padding=1) } x 3 }
""")
    a, b = by_hand.paths(), built.paths()
    assert (a.total, a.modules.counts, a.layers.counts) == (b.total, b.modules.counts, b.layers.counts)
    assert a.modules.counts == (1, 3, 3, 1)


def test_unet_paths_skip_levels():
    stats = archdsl.load(ROOT / "specs/segmentation/unet.arch").paths()
    # one path per level: the skip of level k passes the bodies of the k - 1 up-levels above it (0 at the top)
    assert stats.total == 5 and stats.modules.counts == (1, 1, 1, 1, 1)


@pytest.mark.slow
def test_torch_export_keeps_the_named_outputs():
    torch = pytest.importorskip("torch")
    model = archdsl.loads(TINY).to_torch(seed=0).eval()
    x = torch.randn(1, 3, 16, 16)
    exported = torch.export.export(model, (x,))
    got, ref = exported.module()(x), model(x)
    assert list(got) == ["out", "aux"] and all(torch.equal(got[k], ref[k]) for k in ref)


@pytest.mark.slow
def test_torch_compile_fullgraph_of_a_dag():
    torch = pytest.importorskip("torch")
    model = archdsl.loads(TINY).to_torch(seed=0).eval()
    x = torch.randn(1, 3, 16, 16)
    compiled = torch.compile(model, fullgraph=True)
    got, ref = compiled(x), model(x)
    assert all(torch.allclose(got[k], ref[k], rtol=1e-5, atol=1e-6 * ref[k].abs().max().item()) for k in ref)



@pytest.mark.slow
def test_distributed_data_parallel_of_a_dag(tmp_path):
    torch = pytest.importorskip("torch")
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        model = archdsl.loads(TINY).to_torch(seed=0)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        out = ddp(torch.randn(2, 3, 16, 16))
        assert list(out) == ["out", "aux"]
        (out["out"].square().mean() + out["aux"].square().mean()).backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    finally:
        dist.destroy_process_group()

def _yolo_params(d: float, w: float, max_channels: int) -> int:
    """Hand-counted params of the YOLOv8 backbone and neck (ultralytics/cfg/models/v8/yolov8.yaml)."""
    import math

    def ch(c):
        return math.ceil(min(c, max_channels) * w / 8) * 8

    def reps(n):
        return max(round(n * d), 1)

    def cbs(cin, cout, k=1):  # conv without bias + BN (weight, bias)
        return cin * cout * k * k + 2 * cout

    def c2f(cin, cout, n):
        c = cout // 2
        return cbs(cin, 2 * c) + n * 2 * cbs(c, c, 3) + cbs((2 + n) * c, cout)

    def sppf(cin, cout):
        return cbs(cin, cin // 2) + cbs(4 * (cin // 2), cout)

    c64, c128, c256, c512, c1024 = (ch(c) for c in (64, 128, 256, 512, 1024))
    backbone = (cbs(3, c64, 3) + cbs(c64, c128, 3) + c2f(c128, c128, reps(3)) + cbs(c128, c256, 3)
                + c2f(c256, c256, reps(6)) + cbs(c256, c512, 3) + c2f(c512, c512, reps(6)) + cbs(c512, c1024, 3)
                + c2f(c1024, c1024, reps(3)) + sppf(c1024, c1024))
    neck = (c2f(c1024 + c512, c512, reps(3)) + c2f(c512 + c256, c256, reps(3)) + cbs(c256, c256, 3)
            + c2f(c256 + c512, c512, reps(3)) + cbs(c512, c512, 3) + c2f(c512 + c1024, c1024, reps(3)))
    return backbone + neck


@pytest.mark.parametrize("size, d, w, max_channels", [("n", 0.33, 0.25, 1024), ("s", 0.33, 0.5, 1024),
                                                      ("m", 0.67, 0.75, 768), ("l", 1.0, 1.0, 512)])
def test_yolo_backbone_and_neck_scale_as_ultralytics(size, d, w, max_channels):
    arch = archdsl.load(ROOT / "specs/detection/yolov8n_neck.arch", depth_multiple=d, width_multiple=w,
                        max_channels=max_channels)
    assert arch.params == _yolo_params(d, w, max_channels)
    strides = {key: 640 // shape[1] for key, shape in arch.output_shapes.items()}
    assert strides == {"p3": 8, "p4": 16, "p5": 32}
    if size == "n":
        # Ultralytics reports 3,157,200 for yolov8n; its Detect head (nc=80) holds 897,664 of them
        assert arch.params == 2_259_536 == 3_157_200 - 897_664
        assert [s[0] for s in arch.output_shapes.values()] == [64, 128, 256]


TWO_INPUTS = """arch two_inputs
input image: 3x16x16, depth: 1x16x16
network {
  a: conv(8, 3, padding=1) relu
  @depth
  d: conv(8, 3, padding=1) relu
  cat: concat(@1, @3)
  head: conv(4, 1)
}
output seg = @head, depth_features = @d
"""

TWO_INPUTS_YAML = """arch: two_inputs
input: {image: 3x16x16, depth: 1x16x16}
network: ["a: conv(8, 3, padding=1)", relu, "@depth", "d: conv(8, 3, padding=1)", relu, "cat: concat(@1, @3)",
          "head: conv(4, 1)"]
output: {seg: "@head", depth_features: "@d"}
"""


def test_several_inputs_in_torch_and_onnx(tmp_path):
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    arch = archdsl.loads(TWO_INPUTS)
    assert arch.input_shapes == {"image": (3, 16, 16), "depth": (1, 16, 16)}
    assert archdsl.loads(TWO_INPUTS_YAML, format="yaml").dump() == arch.dump()
    assert arch.output("depth_features").params == 8 * 9 + 8  # reads only the depth input
    model = arch.to_torch(seed=0).eval()
    x, depth = torch.randn(2, 3, 16, 16), torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        y = model(x, depth)
    # d's output is an output: the relu after it must not overwrite it in place
    assert torch.equal(y["depth_features"], model.d(depth))
    path = tmp_path / "two.onnx"
    arch.to_onnx(path, weights=model.state_dict())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input", "depth"]
    got = session.run(None, {"input": x.numpy(), "depth": depth.numpy()})
    for value, ref in zip(got, y.values()):
        assert np.abs(value - ref.numpy()).max() <= 1e-5 * np.abs(ref.numpy()).max()


def test_each_input_can_be_resized(cli, spec_file):
    path = spec_file(TWO_INPUTS)
    code, out, _ = cli("info", path, "--input", "image=3x32x32", "--input", "depth=1x32x32")
    assert code == 0 and "image 3x32x32, depth 1x32x32 -> seg 4x32x32" in out
    code, _, err = cli("info", path, "--input", "dpth=1x32x32")
    assert code == 2 and "<--input>:1:1" in err and "did you mean 'depth'" in err
    code, _, err = cli("info", path, "--input", "image=3x32x32", "--input", "image=3x8x8")
    assert code == 2 and "twice" in err


def test_paths_per_output(cli):
    code, out, _ = cli("paths", str(ROOT / "specs/segmentation/fcn_resnet50_aux.arch"), "--of", "aux")
    assert code == 0 and out.startswith("fcn_resnet50_aux.aux: 8,192 (2^13) paths")  # layer1..3: 13 blocks
    code, _, err = cli("paths", str(ROOT / "specs/segmentation/fcn_resnet50_aux.arch"), "--of", "ax")
    assert code == 2 and "<--of>:1:1" in err and "did you mean 'aux'" in err
