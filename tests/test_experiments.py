"""The experiments' mechanics, exactly, on tiny nets (archdsl.experiments; docs/experiments.md).

Deleting a block equals running its shortcut; a reordered net equals composing
its blocks by hand in that order, keeps every parameter, and reordering back
restores the outputs; the effective-path gates split the input gradient into
the 2^n paths' gradients, which sum to the whole (backprop is linear), with
the path counts of the closed form; a plain net's layer lesion is refused.
"""
import itertools
from math import comb

import pytest

import archdsl
from archdsl.errors import ArchError

torch = pytest.importorskip("torch")
nn = torch.nn

SHAPE = (3, 8, 8)


def randomised(model):
    """Random BN statistics and affine parameters, so an identity-like BN cannot hide a wrong wiring."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


def cifar(depth=8, kind="resnet"):
    return archdsl.load(f"specs/cifar/{kind}20.arch", input_shape=SHAPE, depth=depth)


def close(a, b):
    return torch.allclose(a, b, rtol=1e-5, atol=1e-5 * float(b.abs().max()))


class TakeShortcut(nn.Module):
    """A join that returns its shortcut input only: the branch computed, then ignored."""

    def __init__(self, index):
        super().__init__()
        self.index = index

    def forward(self, *inputs):
        return inputs[self.index]


def shortcut_only(arch, model, block):
    """The full model with `block`'s join taking only its shortcut and the ops after the join skipped."""
    from archdsl.ir import Role
    from archdsl.transforms import residual_block

    g = arch.graph
    unit = residual_block(g, block).unit
    names = [g.node(unit.join).name] + [g.node(n).name for n in unit.tail]
    parent = model.get_submodule(block)
    setattr(parent, names[0].rpartition(".")[2], TakeShortcut(g.roles(unit.join).index(Role.SKIP)))
    for name in names[1:]:
        setattr(parent, name.rpartition(".")[2], nn.Identity())
    return model


@pytest.mark.parametrize("spec, params, block", [
    ("specs/cifar/resnet20.arch", {"depth": 8}, "layer1.0"),  # identity shortcut
    ("specs/cifar/resnet20.arch", {"depth": 8}, "layer2.0"),  # zero-padding shortcut, stride 2
    ("specs/resnet18.arch", {}, "layer3.0"),  # 1x1 conv + BN projection
    ("specs/cifar/preact_resnet164.arch", {"depth": 11}, "layer2.0"),  # pre-activation, nothing after the join
])
def test_deleting_a_block_equals_running_its_shortcut(spec, params, block):
    shape = (3, 32, 32) if "resnet18" in spec else SHAPE
    arch = archdsl.load(spec, input_shape=shape, **params)
    from archdsl.experiments.lesion import lesioned

    model = randomised(arch.to_torch(seed=0))
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        deleted = lesioned(arch, model, [block])(x)
        whole = model(x)
        reference = shortcut_only(arch, randomised(arch.to_torch(seed=0)), block)(x)
    assert close(deleted, reference)
    assert not close(deleted, whole)  # the block did something


def block_by_hand(model, name, x):
    """A basic block of the CIFAR family: relu(bn2(conv2(relu(bn1(conv1(x))))) + x)."""
    b = model.get_submodule(name)
    return torch.relu(b.bn2(b.conv2(torch.relu(b.bn1(b.conv1(x))))) + x)


def test_a_reordered_net_equals_its_blocks_composed_in_that_order():
    arch = archdsl.load("examples/three_blocks.arch", input_shape=SHAPE)
    model = randomised(arch.to_torch(seed=0))
    order = ["layer1.2", "layer1.0", "layer1.1"]
    moved = arch.reordered(order)
    other = moved.to_torch(seed=5)
    other.load_state_dict(model.state_dict())  # strict: the same tensors under the same names
    assert moved.params == arch.params and moved.macs == arch.macs
    x = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        h = torch.relu(model.bn1(model.conv1(x)))
        for name in order:
            h = block_by_hand(model, name, h)
        by_hand = model.fc(torch.flatten(model.avgpool(h), 1))
        assert close(other.eval()(x), by_hand)
        assert not close(by_hand, model(x))
        back = moved.reordered(["layer1.0", "layer1.1", "layer1.2"]).to_torch(seed=6)
        back.load_state_dict(model.state_dict())
        assert close(back.eval()(x), model(x))


def test_reordering_keeps_the_records_and_refuses_what_cannot_move():
    arch = cifar(depth=20)
    moved = arch.reordered(["layer2.2", "layer2.1"])
    assert moved.paths().modules.counts == arch.paths().modules.counts
    assert [moved.graph.node(u.join).name for u in moved.graph.units][3:6] == \
        ["layer2.0.add", "layer2.2.add", "layer2.1.add"]
    with pytest.raises(ArchError, match="changes the shape"):
        arch.reordered(["layer2.1", "layer2.0"])
    with pytest.raises(ArchError, match="do not follow one another"):
        arch.reordered(["layer1.2", "layer1.0"])
    from archdsl.experiments.reorder import reorderable_runs

    assert reorderable_runs(arch) == [["layer1.0", "layer1.1", "layer1.2"], ["layer2.1", "layer2.2"],
                                      ["layer3.1", "layer3.2"]]


def test_permutations_at_a_target_tau_have_exactly_that_many_discordant_pairs():
    import random

    from archdsl.experiments.reorder import inversions, kendall_tau, permutation_at

    rng = random.Random(0)
    for d in (0, 1, 5, 12, 21):
        (perm,) = permutation_at([7], d, rng)
        assert sorted(perm) == list(range(7)) and inversions(perm) == d
        assert kendall_tau(perm) == pytest.approx(1 - 2 * d / 21)
    assert kendall_tau(list(range(6))[::-1]) == -1


def test_effective_path_gradients_sum_over_all_2n_paths_to_the_whole_gradient():
    from archdsl.experiments.effective_paths import PathGates, measure

    arch = cifar(depth=14)  # 6 residual units, two of them downsampling (zero-padding shortcuts)
    n = len(arch.graph.units)
    assert n == 6
    counts = arch.paths().modules.counts
    assert list(counts) == [comb(n, k) for k in range(n + 1)] and sum(counts) == 2 ** n
    assert sum(k * c for k, c in enumerate(counts)) == n * 2 ** (n - 1)  # mean length n/2
    model = randomised(arch.to_torch(seed=0))
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(3, *SHAPE, generator=g).requires_grad_(True), torch.tensor([1, 4, 7])
    with PathGates(arch, model) as gates:
        loss = nn.functional.cross_entropy(model(x), y, reduction="sum")
        (whole,) = torch.autograd.grad(loss, x, retain_graph=True)
        parts, by_length = torch.zeros_like(whole), [0] * (n + 1)
        for k in range(n + 1):
            for chosen in itertools.combinations(range(n), k):
                gates.select(set(chosen))
                (part,) = torch.autograd.grad(loss, x, retain_graph=True)
                parts += part
                by_length[k] += 1
                assert not close(part, whole)
    assert by_length == list(counts)
    assert close(parts, whole)
    ep = measure(arch, model, x.detach(), y, samples=2, lengths=[0, 3, 6])
    assert ep.path_counts == [1, 20, 1] and len(ep.total) == 3


def test_effective_paths_of_a_weight_shared_net_gate_each_application():
    """`x n shared`: the structured module applies one block again; the measurement gates each unit's
    application (its flat form, same weights), as the gradient's sum over all paths shows."""
    from archdsl.experiments.effective_paths import measure

    arch = archdsl.load("specs/cifar/resnet110_shared.arch", input_shape=SHAPE, depth=14)
    n = len(arch.graph.units)
    model = randomised(arch.to_torch(seed=0))
    assert "layer1.1.add" not in dict(model.named_modules())  # the copy calls layer1.0 again
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(3, *SHAPE, generator=g), torch.tensor([1, 4, 7])
    ep = measure(arch, model, x, y, samples=2, lengths=[0, 1, n])
    assert ep.path_counts == [1, n, 1] and all(t > 0 for t in ep.total)


def test_a_plain_nets_layer_lesion_is_refused_or_reported_as_breaking_the_chain():
    from archdsl.experiments.data import Dataset
    from archdsl.experiments.lesion import candidates, lesion_each

    plain = cifar(depth=8, kind="plain")
    with pytest.raises(ArchError, match="breaks the chain") as err:
        candidates(plain)
    assert err.value.span is not None  # located at the spec's first block
    with pytest.raises(ArchError, match="not a residual block"):
        plain.without("layer1.0")
    g = torch.Generator().manual_seed(5)
    data = Dataset("noise", torch.randn(8, *SHAPE, generator=g), torch.arange(8) % 10,
                   torch.randn(20, *SHAPE, generator=g), torch.arange(20) % 10, 10)
    model = randomised(plain.to_torch(seed=0))
    result = lesion_each(plain, model, data, layers=True)
    assert result.mode == "identity"
    assert [name for name, _, _ in result.deleted] == ["layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv2",
                                                       "layer3.0.conv2"]
    x = data.x_test[:2]
    bypassed = plain.bypassed("layer1.0.conv2").to_torch(seed=0)
    bypassed.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("layer1.0.conv2.")})
    with torch.no_grad():
        b = model.layer1[0]
        h = torch.relu(model.bn1(model.conv1(x)))
        h = b.bn2(torch.relu(b.bn1(b.conv1(h))))  # conv2 gone: bn2 reads relu's output
        h = torch.relu(h)
        for stage in ("layer2", "layer3"):  # the remaining stages, run by the full model's modules
            blk = model.get_submodule(f"{stage}.0")
            h = torch.relu(blk.bn2(blk.conv2(torch.relu(blk.bn1(blk.conv1(h))))))
        expected = model.fc(torch.flatten(model.avgpool(h), 1))
        assert close(bypassed.eval()(x), expected)


def test_the_trainer_is_deterministic_and_its_schedules_scale_down():
    from archdsl.experiments.data import load_data
    from archdsl.experiments.train import TrainConfig, learning_rate, train

    step = TrainConfig(epochs=8, lr=0.1)
    assert [learning_rate(step, e, 0, 10) for e in range(8)] == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)
    cosine = TrainConfig(epochs=2, lr=0.1, schedule="cosine")
    assert learning_rate(cosine, 0, 0, 10) == pytest.approx(0.1) and learning_rate(cosine, 1, 0, 10) == \
        pytest.approx(0.05)
    arch = cifar(depth=8)
    data = load_data("digits", SHAPE, 10)
    assert data.x_train.shape == (1438, 3, 8, 8) and data.x_test.shape == (359, 3, 8, 8)
    assert abs(float(data.x_train.mean())) < 1e-4
    small = type(data)("digits", data.x_train[:96], data.y_train[:96], data.x_test[:50], data.y_test[:50], 10)
    config = TrainConfig(epochs=1, batch_size=32)
    (a, ha), (b, hb) = (train(arch, small, config, seed=7, progress=None) for _ in range(2))
    assert ha.train_loss == hb.train_loss and ha.test_error == hb.test_error
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))


def _write_image_folder(root, sizes):
    """Two classes of small RGB PNGs (class b's images brighter), one size per image."""
    image = pytest.importorskip("PIL.Image")
    for c, value in (("a", 40), ("b", 200)):
        (root / c).mkdir(parents=True)
        for i, (w, h) in enumerate(sizes):
            image.new("RGB", (w, h), (value, value // 2, i * 10)).save(root / c / f"{i}.png")


def test_an_image_folder_is_read_through_torchvision(tmp_path):
    pytest.importorskip("torchvision")
    from archdsl.experiments.data import load_data

    _write_image_folder(tmp_path / "photos", [(12, 12), (10, 14), (12, 12), (8, 8), (12, 12)])
    data = load_data(str(tmp_path / "photos"), (3, 16, 16))
    assert data.classes == 2 and len(data.y_train) + len(data.y_test) == 10  # 80/20: 8 and 2
    assert len(data.y_test) == 2 and data.x_train.shape[1:] == (3, 16, 16)
    assert sorted(torch.cat([data.y_train, data.y_test]).tolist()) == [0] * 5 + [1] * 5


def test_an_image_folder_without_torchvision_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    from archdsl.experiments.data import load_data

    (tmp_path / "photos" / "a").mkdir(parents=True)
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import torchvision raises ImportError
    with pytest.raises(ArchError, match="needs torchvision"):
        load_data(str(tmp_path / "photos"), (3, 16, 16))
