"""The nets meant to train do train: each overfits one fixed batch of random labels.

Adam (lr 1e-3) on 8 seeded CIFAR-sized images with random labels: a residual
net memorises them within a few dozen steps (the loss falls by orders of
magnitude), so the bound below -- a tenth of the first loss -- holds on any
machine. (A plain net's test asserts only what is true of plain nets:
test_torch_specs.py checks finite losses and gradients for every spec.)
"""
import pytest

import archdsl

torch = pytest.importorskip("torch")
F = torch.nn.functional
STEPS = 30


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["specs/cifar/resnet20.arch", "specs/cifar/resnet56.arch",
                                  "specs/cifar/preact_resnet164.arch"])
def test_a_residual_net_overfits_one_batch(spec):
    arch = archdsl.load(spec)
    model = arch.to_torch(seed=0).train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, *arch.input_shape, generator=g)
    y = torch.randint(0, arch.output_shape[0], (8,), generator=g)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(STEPS):
        loss = F.cross_entropy(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < 0.1 * losses[0], losses
