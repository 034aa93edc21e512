"""Image classification data for the experiments, fitted to a spec's input shape.

    load_data("digits", (3, 16, 16))   scikit-learn's bundled digits (1,797 8x8 images, 10 classes)
    load_data("cifar.npz", shape)      a tensor file holding x (N, C, H, W) or (N, H, W) and y (N,)
    load_data("photos/", shape)        an image folder, one sub-folder per class (torchvision's ImageFolder)

Images are scaled to [0, 1], resized (bilinear) to the spec's H x W, and a
one-channel image is replicated to the spec's channels (CIFAR-style specs take
3); then each channel is standardised with the training split's mean and
standard deviation. The digits (values 0..16) are divided by 16, so an 8x8
digit becomes, e.g., a 3x16x16 image by bilinear upsampling. A file without
its own test split (x_test, y_test) is split 80/20 by a fixed permutation
(seed 0), so every command sees the same split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import ArchError

TEST_FRACTION = 0.2
SPLIT_SEED = 0


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: torch.Tensor  # (N, C, H, W) float32, standardised
    y_train: torch.Tensor  # (N,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int

    def describe(self) -> str:
        shape = "x".join(str(d) for d in self.x_train.shape[1:])
        return f"{self.name}: {len(self.y_train)} training and {len(self.y_test)} test images, {shape}, " \
               f"{self.classes} classes"


def load_data(source: str | None, shape: tuple[int, ...], max_classes: int | None = None) -> Dataset:
    """The data named by `source` (None: digits), fitted to `shape` (C, H, W)."""
    if len(shape) != 3:
        raise ArchError(f"the experiments need an image input (CxHxW); this spec takes {shape}")
    source = source or "digits"
    if source == "digits":
        x, y, split, name = *_digits(), None, "digits"
    else:
        path = Path(source)
        if path.is_dir():
            x, y, split = *_image_folder(path), None
        elif path.suffix in (".pt", ".npz") and path.is_file():
            x, y, split = _tensor_file(path)
        else:
            raise ArchError(f"--data: '{source}' is neither 'digits', an existing .pt/.npz file nor a folder")
        name = path.name
    if split is None:
        x, y, x_test, y_test = _split(x, y)
    else:
        x_test, y_test = split
    classes = int(max(y.max(), y_test.max()).item()) + 1 if len(y) else 0
    if max_classes is not None and classes > max_classes:
        raise ArchError(f"--data: {name} has {classes} classes but the spec's output has {max_classes} features")
    x, x_test = _fit(x, shape, name), _fit(x_test, shape, name)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return Dataset(name, (x - mean) / std, y, (x_test - mean) / std, y_test, classes)


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ArchError("the digits data need scikit-learn: pip install 'archdsl[experiments]'") from None
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    return x, torch.tensor(digits.target, dtype=torch.int64)


def _tensor_file(path: Path):
    try:
        if path.suffix == ".npz":
            import numpy

            with numpy.load(path, allow_pickle=False) as data:
                tensors = {k: torch.from_numpy(data[k]) for k in data.files}
        else:
            tensors = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt or foreign file: say which, never a traceback
        raise ArchError(f"--data: cannot read '{path}': {err}") from None
    if not isinstance(tensors, dict) or not {"x", "y"} <= set(tensors):
        raise ArchError(f"--data: '{path}' must hold tensors named x and y (and optionally x_test, y_test)")
    x, y = _checked(tensors["x"], tensors["y"], path, "x", "y")
    split = None
    if "x_test" in tensors and "y_test" in tensors:
        split = _checked(tensors["x_test"], tensors["y_test"], path, "x_test", "y_test")
    return x, y, split


def _checked(x, y, path, xn, yn):
    if not (torch.is_tensor(x) and torch.is_tensor(y)) or x.dim() not in (3, 4) or y.dim() != 1 \
            or len(x) != len(y) or len(y) == 0 or y.is_floating_point() or int(y.min()) < 0:
        raise ArchError(f"--data: in '{path}', {xn} must be (N, C, H, W) or (N, H, W) and {yn} (N,) class "
                        "indices >= 0, with N > 0")
    x = x.float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.max() > 1.0:  # 8-bit images
        x = x / 255.0
    return x, y.long()


def _image_folder(path: Path):
    try:
        from torchvision import datasets, transforms
    except ImportError:
        raise ArchError(f"--data: reading the image folder '{path}' needs torchvision (pip install torchvision)") \
            from None
    try:
        folder = datasets.ImageFolder(str(path), transform=transforms.ToTensor())
        images = [folder[i] for i in range(len(folder))]
    except Exception as err:
        raise ArchError(f"--data: cannot read the image folder '{path}': {err}") from None
    sizes = {tuple(img.shape) for img, _ in images}
    if len(sizes) > 1:  # resize each to the first image's size before stacking
        size = images[0][0].shape[1:]
        images = [(F.interpolate(img[None], size=size, mode="bilinear", align_corners=False)[0], c)
                  for img, c in images]
    return torch.stack([img for img, _ in images]), torch.tensor([c for _, c in images])


def _split(x, y):
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_test = max(1, round(TEST_FRACTION * len(y)))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def _fit(x: torch.Tensor, shape, name: str) -> torch.Tensor:
    channels, height, width = shape
    if x.shape[2:] != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
    if x.shape[1] == channels:
        return x.contiguous()
    if x.shape[1] == 1:
        return x.repeat(1, channels, 1, 1)
    raise ArchError(f"--data: {name} has {x.shape[1]}-channel images; the spec takes {channels} channels")
