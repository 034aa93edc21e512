"""The torch backend (issue 5): generated modules, files, init, BN folding, torch tooling."""
import importlib.util
import subprocess
import sys
import traceback

import pytest
import torch
import torch.nn as nn

import archdsl
from archdsl.errors import ArchError

CIFAR20 = "specs/cifar/resnet20.arch"


@pytest.fixture(scope="module")
def resnet20():
    return archdsl.load(CIFAR20)


def _import_file(path, name="generated_model"):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _randomise_bn(model, seed=0):
    """Non-trivial BN statistics and affine parameters, so folding and loading are really tested."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


# ---------------------------------------------------------------- generated source and files


def test_compiled_file_imports_only_torch_and_matches_memory_module(cli, tmp_path, resnet20):
    path = tmp_path / "resnet20_model.py"
    code, out, err = cli("compile", CIFAR20, "--target", "torch", "-o", path)
    assert code == 0, err
    text = path.read_text()
    assert "import archdsl" not in text and "from archdsl" not in text
    assert "resnet20" in text and "depth=20" in text  # spec name and parameters in the docstring
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, resnet20_model; assert 'archdsl' not in sys.modules; print(resnet20_model.Resnet20.SPEC)"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "resnet20", proc.stderr

    module = _import_file(path)
    torch.manual_seed(5)
    from_file = module.Resnet20().eval()
    in_memory = resnet20.to_torch(seed=5).eval()  # same seed, same source: same weights
    for (k1, v1), (k2, v2) in zip(from_file.state_dict().items(), in_memory.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    _randomise_bn(in_memory)
    from_file.load_state_dict(in_memory.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(from_file(x), in_memory(x))


def test_forward_is_straight_line_readable_source(resnet20):
    from archdsl.backends.torch.codegen import module_source

    source, name = module_source(resnet20)
    cls = source[source.index("class Resnet20(Group):"):]
    forward = cls[cls.index("    def forward(self, x):"):]
    assert name == "Resnet20"
    assert "for " not in forward and "while " not in forward  # no interpreter loop over the graph
    assert "x = self.conv1(x)  # 16x32x32" in forward
    assert "self.layer2[0].add(" in forward and "self.layer3[2].relu_out(" in forward
    compile(source, "<test>", "exec")


def test_traceback_shows_the_generated_line(resnet20):
    model = resnet20.to_torch(seed=0)
    with pytest.raises(RuntimeError) as info:
        model(torch.randn(1, 4, 32, 32))  # 4 channels: conv1 expects 3
    text = "".join(traceback.format_exception(info.value))
    assert "<archdsl resnet20" in text and "x = self.conv1(x)  # 16x32x32" in text


def test_layer_named_like_a_module_attribute_is_a_located_error(spec_file):
    path = spec_file("arch t\ninput 3x8x8\nnetwork {\n  conv1: conv(4, 3)\n  train: relu\n}\n")
    arch = archdsl.load(path)
    with pytest.raises(ArchError) as info:
        arch.to_torch()
    assert "'train'" in info.value.message and info.value.span.line == 5


def test_op_without_emitter_is_a_located_error(resnet20):
    from archdsl.backends.torch.lowering import EmitContext, emit
    from archdsl import ir

    node = resnet20.graph.node(1)

    class Unknown:
        kind = "no_such_op"

    with pytest.raises(ArchError, match="no emitter for op kind 'no_such_op'"):
        emit(Unknown(), EmitContext(node, [(3, 32, 32)], (16, 32, 32)))


# ---------------------------------------------------------------- initialisation


def test_seed_makes_construction_deterministic_and_leaves_global_rng_alone(resnet20):
    before = torch.random.get_rng_state()
    a, b, c = (resnet20.to_torch(seed=s).state_dict() for s in (3, 3, 4))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], c["conv1.weight"])


def test_initialisation_is_torchvision_resnets():
    model = archdsl.load("specs/resnet18.arch").to_torch(seed=0)
    w = model.layer3[0].conv2.weight  # 256 x 256 x 3 x 3, fan_out = 256 * 9
    assert abs(w.std().item() - (2 / (256 * 9)) ** 0.5) < 0.02 * (2 / (256 * 9)) ** 0.5
    bn = model.layer3[0].bn2
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    bound = 1 / 512**0.5  # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert model.fc.weight.abs().max() <= bound and model.fc.bias.abs().max() <= bound


def test_zero_init_residual_zeroes_the_last_bn_of_each_branch():
    arch = archdsl.load("specs/resnet50.arch")
    plain = arch.to_torch(seed=0)
    zeroed = arch.to_torch(seed=0, zero_init_residual=True)
    assert len(plain.ZERO_INIT_RESIDUAL_BNS) == 16
    assert torch.all(zeroed.layer1[0].bn3.weight == 0) and torch.all(zeroed.layer4[2].bn3.weight == 0)
    assert torch.all(zeroed.layer1[0].bn2.weight == 1)  # not the last BN of the branch
    assert torch.all(zeroed.layer1[0].downsample[1].weight == 1)  # the shortcut's BN stays
    assert torch.all(plain.layer1[0].bn3.weight == 1)
    cifar = archdsl.load(CIFAR20).to_torch(zero_init_residual=True)
    assert cifar.ZERO_INIT_RESIDUAL_BNS[:2] == ("layer1.0.bn2", "layer1.1.bn2")
    assert torch.all(cifar.layer2[0].bn2.weight == 0)


# ---------------------------------------------------------------- BN folding


@pytest.mark.parametrize("spec, size", [("specs/resnet18.arch", 64), (CIFAR20, 32), ("specs/densenet121.arch", 32)])
def test_fuse_bn_gives_the_same_eval_outputs(spec, size):
    arch = archdsl.load(spec, input_shape=(3, size, size))
    model = arch.to_torch(seed=0)
    _randomise_bn(model)
    fused = arch.to_torch(fuse_bn=True, weights=model.state_dict())
    assert not fused.training
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    left = sum(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert left < n_bn and len(fused.BN_FOLDS) == n_bn - left
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        ref, got = model.eval()(x), fused(x)
    assert (ref - got).abs().max().item() <= 1e-5 * max(1.0, ref.abs().max().item())


def test_fuse_bn_file_folds_an_unfolded_state_dict(cli, tmp_path, resnet20):
    path = tmp_path / "fused20.py"
    assert cli("compile", CIFAR20, "--target", "torch", "--fuse-bn", "-o", path)[0] == 0
    module = _import_file(path, "fused20")
    model = resnet20.to_torch(seed=1)
    _randomise_bn(model)
    fused = module.Resnet20.from_unfolded_state_dict(model.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (fused(x) - model.eval()(x)).abs().max().item() < 1e-5


# ---------------------------------------------------------------- torch tooling


@pytest.mark.slow
def test_torch_compile_fullgraph_has_no_graph_breaks(resnet20):
    model = resnet20.to_torch(seed=0).eval()
    x = torch.randn(2, 3, 32, 32)
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-5)
    assert torch._dynamo.explain(model)(x).graph_break_count == 0


@pytest.mark.slow
def test_torch_export_and_jit_trace(resnet20):
    model = resnet20.to_torch(seed=0).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        exported = torch.export.export(model, (x,))
        assert torch.allclose(exported.module()(x), ref, atol=1e-5)
        traced = torch.jit.trace(model, (x,))
        assert torch.allclose(traced(x), ref, atol=1e-5)


def test_autocast_bf16_and_channels_last(resnet20):
    model = resnet20.to_torch(seed=0).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x)
        assert low.dtype == torch.bfloat16
        assert (low.float() - ref).abs().max() < 0.05 * ref.abs().max()
        last = model.to(memory_format=torch.channels_last)
        out = last(x.to(memory_format=torch.channels_last))
    assert torch.allclose(out, ref, atol=1e-4)


@pytest.mark.slow
def test_distributed_data_parallel_world_size_1(tmp_path, resnet20):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        model = resnet20.to_torch(seed=0)
        ddp = nn.parallel.DistributedDataParallel(model)
        x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
        loss = nn.functional.cross_entropy(ddp(x), y)
        loss.backward()
        assert model.fc.weight.grad is not None and torch.isfinite(loss)
    finally:
        dist.destroy_process_group()


# ---------------------------------------------------------------- train-time semantics


def test_dropout_is_random_in_training_and_identity_in_eval(spec_file):
    arch = archdsl.load(spec_file("arch d\ninput [16]\nnetwork {\n  drop: dropout(0.5)\n  fc: linear(4)\n}\n"))
    model = arch.to_torch(seed=0)
    x = torch.randn(8, 16)
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x)) and torch.equal(model(x), model.fc(x))


def test_fractal_join_drop_path_local_global_and_mix():
    from archdsl.backends.torch.layers import FractalJoin, sample_drop_path

    a, b, c = torch.ones(2, 3), torch.full((2, 3), 2.0), torch.full((2, 3), 6.0)
    join = FractalJoin("mean", (1, 2, 3), drop="global", group="g")
    draw = {"u": torch.tensor(0.0), "column": {"g": torch.tensor(2)}}
    assert torch.equal(join(a, b, c, drop_path=draw), b)  # only column 2 is kept
    assert torch.equal(join.eval()(a, b, c, drop_path=draw), torch.full((2, 3), 3.0))  # eval: plain mean
    off_path = FractalJoin("mean", (1, 3), drop="global", group="g")
    assert torch.equal(off_path(a, c, drop_path=draw), torch.zeros(2, 3))

    local = FractalJoin("sum", (1, 2, 3), drop="local", p_local=1.0)  # all dropped -> exactly one rescued
    for seed in range(5):
        torch.manual_seed(seed)
        assert local(a, b, c, drop_path=draw).unique().item() in (1.0, 2.0, 6.0)
    mix = FractalJoin("max", (1, 2, 3), drop="mix", p_local=0.0, global_ratio=0.5, group="g")
    assert torch.equal(mix(a, b, c, drop_path=draw), b)  # u < ratio: global
    draw["u"] = torch.tensor(0.9)
    assert torch.equal(mix(a, b, c, drop_path=draw), c)  # local with p=0 keeps all: max
    concat = FractalJoin("concat", (1, 2), drop="global", group="g")
    assert torch.equal(concat(a, b, drop_path=draw | {"u": torch.tensor(0.0)}),
                       torch.cat([torch.zeros(2, 3), b], 1))
    assert sample_drop_path({"g": 3}, False, "cpu") is None
    assert 1 <= sample_drop_path({"g": 3}, True, "cpu")["column"]["g"].item() <= 3


def test_stochastic_depth_batch_and_row_modes():
    from archdsl.backends.torch.layers import StochasticDepth

    x = torch.ones(64, 2)
    assert torch.equal(StochasticDepth(0.25).eval()(x), x * 0.25)
    seen = {StochasticDepth(0.5)(x).sum().item() for _ in range(30)}
    assert seen == {0.0, 128.0}  # one draw for the whole mini-batch
    rows = StochasticDepth(0.5, mode="row")(x)
    assert 0 < rows[:, 0].sum() < 64 and torch.equal(rows[:, 0], rows[:, 1])


def test_fractalnet_trains_with_drop_path_and_is_deterministic_in_eval():
    arch = archdsl.load("specs/cifar/fractalnet20.arch", widths=(8, 8, 8, 8, 8))
    model = arch.to_torch(seed=0)
    assert model.DROP_PATH_GROUPS
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    first = model(x)
    outs = {tuple(model(x).flatten()[:4].tolist()) for _ in range(6)}
    assert len(outs) > 1  # drop-path varies per mini-batch
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
    assert torch.isfinite(first).all()


def test_weight_sharing_uses_one_module():
    arch = archdsl.load("specs/cifar/resnet110_shared.arch", depth=20)
    model = arch.to_torch(seed=0)
    shared = [n for n in (arch.graph.node(i) for i in arch.graph) if n.shared_with]
    assert shared
    names = {name for name, _ in model.named_modules()}
    assert all(n.name not in names for n in shared)
    assert sum(p.numel() for p in model.parameters()) == arch.params
    x = torch.randn(2, 3, 32, 32)
    model(x).sum().backward()
    owner = model.get_submodule(shared[0].shared_with)
    assert owner.weight.grad is not None


def test_per_side_padding_is_exact(spec_file):
    text = (
        "arch pad\ninput 2x9x9\nnetwork {\n"
        "  c: conv(3, 3, padding=[0, 1, 1, 2], bias=false)\n"
        "  p: maxpool(2, stride=2, padding=[1, 0, 0, 1])\n"
        "  a: avgpool(3, stride=1, padding=[1, 0, 1, 1])\n}\n"
    )
    arch = archdsl.load(spec_file(text))
    model = arch.to_torch(seed=0)
    x = torch.randn(1, 2, 9, 9)
    F = nn.functional
    y = F.conv2d(F.pad(x, (1, 2, 0, 1)), model.c.weight)
    y = F.max_pool2d(F.pad(y, (0, 1, 1, 0), value=float("-inf")), 2, 2)
    y = F.avg_pool2d(F.pad(y, (1, 1, 1, 0)), 3, 1)
    out = model(x)
    assert tuple(out.shape[1:]) == arch.output_shape and torch.allclose(out, y)
