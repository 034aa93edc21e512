"""A small trainer for the experiments: SGD with momentum, weight decay, a step or cosine schedule.

    model, history = train(arch, data, TrainConfig(epochs=20), seed=0)

He et al. 2015 (CIFAR-10): SGD, momentum 0.9, weight decay 1e-4, batch 128,
learning rate 0.1 divided by 10 at 32k and 48k of 64k iterations. Scaled down
here to a number of epochs, the step schedule divides the rate by 10 at 50% and
75% of them; `cosine` anneals it to 0 per iteration instead. The training error
of an epoch is measured on the fly (train mode, as the papers' curves); the
test error after it, in eval mode. With the same seed, data and thread count a
run is repeatable: the initialisation and the shuffling draw from the seed only.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from ..errors import ArchError
from ..files import atomic_path
from .data import Dataset

SCHEDULES = ("step", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "step"  # step: /10 at 50% and 75% of the epochs; cosine: to 0 per iteration
    warmup_epochs: int = 0  # He et al.'s ResNet-110 warm-up: lr/10 for the first epochs


@dataclass
class History:
    """Per epoch: the training error (on the fly), loss, test error, learning rate and seconds."""

    name: str
    config: dict
    train_error: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_error: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def learning_rate(config: TrainConfig, epoch: int, step: int, steps_per_epoch: int) -> float:
    """The rate for iteration `step` of `epoch` (both from 0)."""
    if epoch < config.warmup_epochs:
        return config.lr / 10
    if config.schedule == "cosine":
        done = (epoch * steps_per_epoch + step) / (config.epochs * steps_per_epoch)
        return config.lr * 0.5 * (1 + math.cos(math.pi * done))
    drops = sum(epoch >= round(config.epochs * f) for f in (0.5, 0.75))
    return config.lr * 0.1 ** drops


def train(arch, data: Dataset, config: TrainConfig = TrainConfig(), seed: int = 0, progress="stderr",
          model=None):
    """Train `arch` (or the given `model` of it) on `data`; returns (model, History). `progress`: a stream for
    the progress bar, None for none; by default the standard error stream at the time of the call."""
    progress = sys.stderr if progress == "stderr" else progress
    if config.schedule not in SCHEDULES:
        raise ArchError(f"--schedule must be one of {', '.join(SCHEDULES)}, got '{config.schedule}'")
    model = model if model is not None else arch.to_torch(seed=seed)
    optimiser = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    shuffle = torch.Generator().manual_seed(seed)
    history = History(arch.name, asdict(config) | {"seed": seed})
    bar = ProgressBar(progress, config.epochs)
    steps = math.ceil(len(data.y_train) / config.batch_size)
    for epoch in range(config.epochs):
        start, wrong, loss_sum = time.perf_counter(), 0, 0.0
        model.train()
        order = torch.randperm(len(data.y_train), generator=shuffle)
        for step in range(steps):
            rate = learning_rate(config, epoch, step, steps)
            for group in optimiser.param_groups:
                group["lr"] = rate
            batch = order[step * config.batch_size:(step + 1) * config.batch_size]
            x, y = data.x_train[batch], data.y_train[batch]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            wrong += int((logits.argmax(1) != y).sum())
            loss_sum += loss.item() * len(y)
            bar.update(epoch, step + 1, steps, loss_sum / min(len(data.y_train), (step + 1) * config.batch_size))
        history.train_error.append(wrong / len(data.y_train))
        history.train_loss.append(loss_sum / len(data.y_train))
        history.test_error.append(error_rate(model, data.x_test, data.y_test))
        history.lr.append(rate)
        history.seconds.append(time.perf_counter() - start)
        bar.epoch_done(epoch, history)
    model.eval()
    return model, history


@torch.no_grad()
def error_rate(model, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """The share of misclassified images, in eval mode."""
    was_training = model.training
    model.eval()
    wrong = 0
    for i in range(0, len(y), batch_size):
        wrong += int((model(x[i:i + batch_size]).argmax(1) != y[i:i + batch_size]).sum())
    model.train(was_training)
    return wrong / len(y)


class ProgressBar:
    """`epoch  3/20 [##########..........] 12/12 loss 0.512` on a terminal (redrawn); a line per epoch otherwise."""

    WIDTH = 24

    def __init__(self, stream, epochs: int):
        self.stream, self.epochs = stream, epochs
        self.live = stream is not None and getattr(stream, "isatty", lambda: False)()

    def update(self, epoch: int, done: int, steps: int, loss: float) -> None:
        if not self.live:
            return
        filled = round(self.WIDTH * done / steps)
        self.stream.write(f"\repoch {epoch + 1:>3}/{self.epochs} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                          f"{done}/{steps} loss {loss:.3f}")
        self.stream.flush()

    def epoch_done(self, epoch: int, h: History) -> None:
        if self.stream is None:
            return
        line = (f"epoch {epoch + 1:>3}/{self.epochs}  train error {100 * h.train_error[-1]:5.1f}%  loss "
                f"{h.train_loss[-1]:.3f}  test error {100 * h.test_error[-1]:5.1f}%  lr {h.lr[-1]:.4f}  "
                f"{h.seconds[-1]:.1f}s")
        self.stream.write(("\r" + line + " " * 8 if self.live else line) + "\n")
        self.stream.flush()


def save_weights(model, path: str, follow_symlinks: bool = False) -> None:
    """The model's state_dict as a .pt file (written atomically); it loads with `arch.to_torch(weights=...)`."""
    with atomic_path(path, follow_symlinks) as tmp:
        torch.save(model.state_dict(), tmp)


def load_weights(arch, path: str):
    """The spec's model with the weights in `path` (a state_dict saved by `archdsl train`), in eval mode."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ArchError(f"--weights: no file '{path}'") from None
    except Exception as err:
        raise ArchError(f"--weights: cannot read '{path}': {err}") from None
    model = arch.to_torch(seed=0)
    expected = model.state_dict()
    if not isinstance(state, dict) or set(state) != set(expected) or \
            any(tuple(state[k].shape) != tuple(v.shape) for k, v in expected.items()):
        missing = sorted(set(expected) - set(state)) if isinstance(state, dict) else []
        hint = f" (e.g. it lacks {', '.join(missing[:3])})" if missing else ""
        raise ArchError(f"--weights: '{path}' is not a state_dict of {arch.name}{hint}; train one with "
                        "`archdsl train` on the same spec and parameters")
    model.load_state_dict(state)
    return model.eval()
