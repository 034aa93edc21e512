"""Block calls built once and replayed (archdsl/elaborate/replay.py) give the graph a fresh build gives."""
import pytest

import archdsl
from archdsl.elaborate import builder
from archdsl.ir import dump

from conftest import EXAMPLES, ROOT, SPECS, backend_specs, rel


def _graph_text(arch) -> str:
    g = arch.graph
    nodes = [(n.id, n.name, n.op, n.span, n.shared_with, g.inputs(n.id), arch.shapes[n.id]) for n in g.nodes()]
    return repr((dump(g, arch.shapes), nodes, list(g.modules.values()), sorted(g.joins.items()), g.units,
                 g.input, g.output))


def _fresh(monkeypatch, path, **params):
    with monkeypatch.context() as m:
        m.setattr(builder, "_replay_key", lambda *args: None)  # every call built
        return archdsl.load(path, **params)


# one spec of each kind of structure in the default suite; every spec and example: slow
QUICK = {f"{name}.arch" for name in ("resnet50", "cifar/resnet110", "densenet121", "efficientnet_b0", "convnext_tiny",
                                     "cifar/fractalnet20", "cifar/resnet110_shared", "inception_v3", "regnet_y_400mf",
                                     "segmentation/unet", "detection/yolov8n_neck", "detection/resnet50_fpn",
                                     "segmentation/lraspp_mobilenet_v3_large")}
ALL = backend_specs(SPECS) + [p for p in EXAMPLES if p.suffix == ".arch"]


@pytest.mark.parametrize("path", [pytest.param(p, marks=() if rel(p).removeprefix("specs/") in QUICK else pytest.mark.slow)
                                  for p in ALL], ids=rel)
def test_replayed_blocks_equal_built_ones(path, monkeypatch):
    assert _graph_text(archdsl.load(path)) == _graph_text(_fresh(monkeypatch, path))


def test_a_deep_net_is_mostly_replayed(monkeypatch):
    calls = []
    real = builder.Recording.replay
    monkeypatch.setattr(builder.Recording, "replay", lambda self, *a: calls.append(1) or real(self, *a))
    archdsl.load(ROOT / "specs" / "cifar" / "resnet110.arch")
    # built: stage 1's first block; stage 2's and 3's first (stride 2) and second (a new input shape)
    assert len(calls) == 54 - 5


def test_a_call_that_reaches_outside_is_built_every_time(monkeypatch):
    # linear-decay stochastic depth numbers its blocks in the structures' bookkeeping: never replayed
    text = """arch t
input 8x8x8
block b(c) { residual(survival=0.5, decay=linear) { conv(c, 3, padding=1) bn relu } }
network { b(8) x 4 }
"""
    calls = []
    monkeypatch.setattr(builder.Recording, "replay", lambda self, *a: calls.append(1))
    arch = archdsl.loads(text)
    assert calls == []
    survivals = [n.op.survival for n in arch.graph.nodes() if n.kind == "stochastic_depth"]
    assert survivals == [0.875, 0.75, 0.625, 0.5]


def test_the_same_values_of_other_types_are_not_replayed():
    text = """arch t
input 8x8x8
block b(k) { conv(8, 3, stride=k) }
network { b(1) b(true) }
"""
    with pytest.raises(archdsl.ArchError):  # a bool stride is refused, not replayed from b(1)
        archdsl.loads(text)
