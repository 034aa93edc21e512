"""The spatial transformer: localisation net -> 2x3 theta -> affine grid -> bilinear sampling."""
import pytest

import archdsl
from archdsl import ir
from archdsl.passes import state_layout


def nodes(arch):
    g = arch.graph
    return {g.node(n).name: (g.node(n), arch.shapes[n]) for n in g}


def test_stn_small_shapes_and_params():
    arch = archdsl.load("specs/stn_small.arch")
    ir.verify(arch.graph)
    by_name = nodes(arch)
    theta, grid, sample = by_name["stn.theta"], by_name["stn.grid"], by_name["stn.sample"]
    assert (theta[1], grid[1], sample[1]) == ((6,), (28, 28, 2), (1, 28, 28))
    assert theta[0].op.init == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # starts as the identity transform
    assert (sample[0].op.mode, sample[0].op.padding_mode, sample[0].op.align_corners) == ("bilinear", "zeros", False)
    g = arch.graph  # the sampler reads the input image and the grid
    assert [g.node(i).name for i in g.inputs(sample[0].id)] == ["input", "stn.grid"]
    assert by_name["stn.localization.4"][1] == (10, 3, 3)
    localisation = (8 * 49 + 8) + (10 * 8 * 25 + 10) + (90 * 32 + 32) + (32 * 6 + 6)
    classifier = (10 * 25 + 10) + (20 * 10 * 25 + 20) + (320 * 50 + 50) + (50 * 10 + 10)
    assert arch.params == localisation + classifier == 27_360
    layout = dict(state_layout(arch.graph, arch.shapes))
    assert layout["stn.theta.weight"] == (6, 32) and layout["stn.theta.bias"] == (6,)
    assert arch.output_shape == (10,)


def test_output_size_and_yaml_form(spec_file):
    from test_yaml_form import graph_signature

    a = archdsl.load(spec_file("arch s\ninput 3x32x32\nnetwork {\n  t: spatial_transformer(size=[16, 24], mode=nearest)"
                               " { conv(4, 3, stride=2) gap flatten linear(8) }\n}\n"))
    b = archdsl.load(spec_file("arch: s\ninput: 3x32x32\nnetwork:\n  - t:\n      spatial_transformer: {size: [16, 24], mode: nearest}\n"
                               "      body: ['conv(4, 3, stride=2)', gap, flatten, 'linear(8)']\n", "s.yaml"))
    assert graph_signature(a) == graph_signature(b)
    assert a.output_shape == (3, 16, 24)


ERRORS = {
    "not_flat": ("network {\n  spatial_transformer { conv(4, 3) }\n}\n", 4, 3, "affine_theta needs flat features, got 4x6x6"),
    "flat_input": ("network {\n  flatten\n  spatial_transformer { linear(4) }\n}\n", 5, 3, "a spatial transformer needs a CxHxW input, got 192"),
    "bad_size": ("network {\n  spatial_transformer(size=[8, 0]) { flatten }\n}\n", 4, 28, "size must be a positive integer or [height, width]"),
    "bad_mode": ("network {\n  spatial_transformer(mode=cubic) { flatten }\n}\n", 4, 28, "spatial_transformer mode must be one of bilinear, nearest"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_located(case, expect_error):
    expect_error(*ERRORS[case])
