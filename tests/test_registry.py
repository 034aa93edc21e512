"""One op, one place: every registered op kind has what the passes, backends, tests and docs need.

A new op kind fails here until it has an example (run by the one-op network
tests in test_onnx_ops.py and test_torch_backend.py), a torch and an ONNX
lowering, and its rows in docs/language.md's generated tables; a new
structure until its keyword is in the grammar.
"""
import pytest

from archdsl.elaborate.structures import STRUCTURES
from archdsl.ops import REGISTRY, Merge
from archdsl.report import layer_table
from archdsl.syntax.parser import structure_keywords

KINDS = sorted(k for k, cls in REGISTRY.items() if not cls.TRAITS.source)


@pytest.mark.parametrize("kind", KINDS)
def test_every_op_has_an_example_and_documentation(kind):
    cls = REGISTRY[kind]
    assert cls.EXAMPLE, f"{kind}: no EXAMPLE (a spec item that makes it, for the one-op network tests)"
    assert (cls.__doc__ or "").strip(), f"{kind}: no docstring (its row in docs/language.md)"
    assert (cls.max_inputs == 1) == (cls.TRAITS.merge is Merge.NONE), f"{kind}: merge trait and inputs disagree"


def test_every_op_has_a_torch_and_an_onnx_lowering():
    pytest.importorskip("torch")
    from archdsl.backends.onnx.lowering import EMITTERS as ONNX_EMITTERS
    from archdsl.backends.onnx.lowering import NODES
    from archdsl.backends.torch.lowering import CALLS, EMITTERS

    no_torch = [k for k in KINDS if k not in CALLS and k not in EMITTERS]
    no_onnx = [k for k in KINDS if k not in NODES and k not in ONNX_EMITTERS and not REGISTRY[k].TRAITS.eval_identity]
    assert not no_torch, f"op kinds without a torch lowering: {no_torch}"
    assert not no_onnx, f"op kinds without an ONNX lowering: {no_onnx}"
    assert not set(CALLS) & set(EMITTERS) and not set(NODES) & set(ONNX_EMITTERS)


def test_the_docs_tables_are_generated_from_the_registry():
    assert layer_table.main(["--check"]) == 0, "run `python -m archdsl.report.layer_table`"
    text = layer_table.DOC.read_text()
    for kind in KINDS:
        assert f"| `{kind}` |" in text, kind


def test_structure_keywords_match_the_grammar():
    assert sorted(STRUCTURES) == sorted(structure_keywords())
