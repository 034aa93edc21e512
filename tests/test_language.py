"""The language: expressions, naming, structures, imports, the YAML form."""
import pytest

import archdsl
from archdsl import ir
from archdsl.errors import ArchError
from archdsl.elaborate.evaluator import evaluate
from archdsl.syntax.parser import parse_fragment


def ev(text, **scope):
    return evaluate(parse_fragment(text, "expr", "<test>"), scope)


@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 // 2", 3), ("7 % 4", 3), ("7 / 2", 3.5), ("-3 + +1", -2),
    ("1 < 2 <= 2", True), ("1 < 2 < 2", False), ("3 == 3 and not false", True), ("false or 1 != 1", False),
    ("if depth >= 50 then 4 else 1", 4), ("{18: [2, 2], 50: [3, 4]}[depth][1]", 4), ("[1, 2, 3][-1]", 3),
    ("min(3, 1, 2) + max([4, 5])", 6), ("len(range(2, 10, 3))", 3), ("floor(2.7) + ceil(2.1) + round(2.5)", 7),
    ("sum([1, 2, 3]) + abs(-2) + int(3.0)", 11), ('"a" + "b"', "ab"), ("[1] + [2]", (1, 2)), ("1e-3", 0.001),
])
def test_expressions(text, value):
    assert ev(text, depth=50) == value


@pytest.mark.parametrize("text, fragment", [
    ("1 / 0", "division by zero"), ("1 + true", "'+' needs two numbers"), ("[1][3]", "out of range"),
    ("nope", "unknown name 'nope'"), ("foo(1)", "unknown function 'foo'"), ("range(10 ** 2)", "syntax error"),
    ("range(1000000)", "too long"), ("if 1 then 2 else 3", "expected a condition"), ("10000000000 * 10000000000", "too large"),
])
def test_expression_errors(text, fragment):
    with pytest.raises(ArchError) as err:
        ev(text)
    assert fragment in err.value.message


def names_of(arch):
    return [arch.graph.node(n).name for n in arch.graph.order]


def test_unnamed_items_are_numbered_like_sequential():
    arch = archdsl.loads("""
        arch t
        input 3x8x8
        network {
          features: { conv(8, 3, padding=1) relu conv(8, 3, padding=1) relu maxpool(2) }
          flatten
          classifier: { linear(10) relu dropout linear(5) }
        }""")
    assert names_of(arch) == ["input", "features.0", "features.1", "features.2", "features.3", "features.4",
                              "1", "classifier.0", "classifier.1", "classifier.2", "classifier.3"]


def test_named_repetition_is_a_container_and_unnamed_repetition_splices():
    arch = archdsl.loads("""
        arch t
        input 3x8x8
        block b(c) { conv1: conv(c, 1) }
        network {
          group: b(4) x 2
          relu x 2
          b(4)
        }""")
    assert names_of(arch) == ["input", "group.0.conv1", "group.1.conv1", "1", "2", "3.conv1"]
    assert arch.modules["group"].kind == "repeat" and arch.modules["group.0"].template == "b"


def test_name_templates_and_loops():
    arch = archdsl.loads("""
        arch t
        input 3x8x8
        network {
          for i in range(1, 4) { "conv{i}": conv(4 * i, 1)  "relu{i}": relu }
        }""")
    assert names_of(arch)[1:] == ["conv1", "relu1", "conv2", "relu2", "conv3", "relu3"]
    assert arch.output_shape == (12, 8, 8)


def test_stage_passes_its_stride_to_the_first_block_only():
    arch = archdsl.loads("""
        arch t
        input 3x16x16
        block b(c, stride=1) { conv(c, 3, stride=stride, padding=1) }
        network { s: stage(stride=2) { b(4) x 3 } }""")
    strides = [arch.graph.node(n).op.stride for n in arch.graph.order[1:]]
    assert strides == [(2, 2), (1, 1), (1, 1)]
    assert arch.output_shape == (4, 8, 8)
    assert arch.stages() == ["s"]


def test_residual_shortcut_choices():
    text = """
        arch t
        param kind = "auto"
        input 16x8x8
        network { residual(shortcut=kind, after=relu) { conv(32, 3, stride=2, padding=1) } }"""
    kinds = lambda a: [a.graph.node(n).kind for n in a.graph.order][1:]
    assert kinds(archdsl.loads(text)) == ["conv", "conv", "bn", "add", "relu"]
    assert kinds(archdsl.loads(text, kind="projection")) == ["conv", "conv", "bn", "add", "relu"]
    assert kinds(archdsl.loads(text, kind="zeropad")) == ["conv", "zeropad", "add", "relu"]
    assert kinds(archdsl.loads(text, kind="none")) == ["conv", "relu"]
    with pytest.raises(ArchError, match="the branch gives 32x4x4 but the shortcut gives 16x8x8"):
        archdsl.loads(text, kind="identity")
    with pytest.raises(ArchError, match="residual shortcut must be one of"):
        archdsl.loads(text, kind="sideways")
    same = archdsl.loads(text.replace("conv(32, 3, stride=2, padding=1)", "conv(16, 3, padding=1)"), kind="projection")
    assert kinds(same) == ["conv", "conv", "bn", "add", "relu"]  # projection even where shapes match (option C)
    auto_same = archdsl.loads(text.replace("conv(32, 3, stride=2, padding=1)", "conv(16, 3, padding=1)"))
    assert kinds(auto_same) == ["conv", "add", "relu"]


def test_preactivation_after_none_and_scaled_residual():
    arch = archdsl.loads("""
        arch t
        input 8x4x4
        network { residual(after=none, scale=0.5) { bn relu conv(8, 3, padding=1) } }""")
    kinds = [arch.graph.node(n).kind for n in arch.graph.order][1:]
    assert kinds == ["bn", "relu", "conv", "scale", "add"]


def test_parallel_and_dense_channel_arithmetic():
    arch = archdsl.loads("""
        arch t
        input 16x8x8
        network {
          parallel(merge=concat) { conv(8, 1)  conv(4, 3, padding=1)  maxpool(3, stride=1, padding=1) }
          dense { conv(6, 3, padding=1) x 3 }
        }""")
    assert arch.output_shape == (28 + 18, 8, 8)


def test_imports_override_params_and_blocks(tmp_path):
    (tmp_path / "family.arch").write_text("""
        arch family
        param width = 8
        input 3x8x8
        block unit(c) { conv(c, 1) }
        network { a: unit(width)  b: unit(width) }""")
    (tmp_path / "model.arch").write_text("""
        import "family.arch"
        arch model
        param width = 16
        block unit(c) { conv(c, 1) relu }""")
    arch = archdsl.load(tmp_path / "model.arch")
    assert arch.name == "model" and arch.config == {"width": 16}
    assert names_of(arch) == ["input", "a.0", "a.1", "b.0", "b.1"]
    assert arch.output_shape == (16, 8, 8)
    assert archdsl.load(tmp_path / "family.arch").output_shape == (8, 8, 8)


def test_bare_words_are_symbols_only_where_options_are_enumerated():
    with pytest.raises(ArchError, match="unknown name 'auto'"):
        archdsl.loads("arch t\nlet k = auto\ninput 3x8x8\nnetwork { relu }")


def test_api_loads_yaml_and_summary():
    arch = archdsl.loads(open("examples/cifar_resnet20.yaml").read(), format="yaml", depth=32)
    assert arch.params == 464_154
    text = arch.summary(level="stage")
    assert "layer3" in text and "464,154" in text
    assert repr(arch).startswith("<Architecture resnet20: 3x32x32 -> 10, 464,154 params")
