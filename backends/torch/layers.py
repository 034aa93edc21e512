"""The runtime pieces of generated torch modules: small nn.Modules and helpers.

Generated code uses torch's own modules wherever one fits (nn.Conv2d, ...).
What torch lacks is defined here, once; the code generators copy the source of
the pieces a network uses into the file they write (`inspect.getsource`), so it
imports torch only. Everything here may refer only to `torch`, `nn`, `F`,
`math` and the other definitions in this file, and is formatted as `ruff
format` does (88 columns), as the structured form's files must be.

    Group                  a level of the spec's hierarchy (stage, block, shortcut)
    Add Mean Max Mul, Concat, Scale                  element-wise joins, concatenation, a constant
    ZeroPadShortcut; PaddedConv2d, PaddedMaxPool2d, PaddedAvgPool2d   option-A shortcut; per-side padding
    Gate, OneMinus; AffineTheta, AffineGrid, GridSample   gates; the spatial transformer
    StochasticDepth, DropPath                        a branch kept with probability p (paper, torchvision)
    LayerNorm2d, ChannelSlice, Permute               channels: LayerNorm over them, a range, reordered
    FrozenBatchNorm2d, CenterCrop                    buffers-only batch norm; U-Net's cropped skips
    FractalJoin, sample_drop_path                    FractalNet's join with drop-path
    init_like_torchvision, residual_branch_bns       the initialisation, the BNs zero-init zeroes
    fold_batchnorm         BN folding of a state_dict
"""

from __future__ import annotations

import math  # noqa: F401  (available to the copied definitions)

import torch
import torch.nn as nn
import torch.nn.functional as F


class Group(nn.Module):
    """A level of the spec's hierarchy; numeric children by index, as in nn.Sequential: `self[2]`."""

    def __getitem__(self, name):
        name = str(name)
        return self._modules[name] if name in self._modules else self._parameters[name]

    def __setitem__(self, name, module):
        if isinstance(module, nn.Parameter):  # of the level itself (layer scale)
            self.register_parameter(str(name), module)
        else:
            self.add_module(str(name), module)


class SharedRepeat(nn.Sequential):
    """`x n shared`: item i applied `times[i]` times in a row, with the same weights each time."""

    def __init__(self, *blocks, times):
        super().__init__(*blocks)
        self.times = tuple(times)

    def forward(self, x):
        for block, times in zip(self, self.times):
            for _ in range(times):
                x = block(x)
        return x

    def extra_repr(self):
        return f"times={self.times}"


class Add(nn.Module):
    """Element-wise sum (a residual join); `inplace` adds into the first input (`out += identity`).

    The code generator sets `inplace` only where that input is fresh and used nowhere else.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, first, *rest):
        for other in rest:
            first = first.add_(other) if self.inplace else first + other
        return first

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Mean(nn.Module):
    """Element-wise mean of the inputs (FractalNet's join)."""

    def forward(self, *inputs):
        total = inputs[0]
        for other in inputs[1:]:
            total = total + other
        return total / len(inputs)


class Max(nn.Module):
    """Element-wise maximum of the inputs."""

    def forward(self, first, *rest):
        for other in rest:
            first = torch.maximum(first, other)
        return first


class Mul(nn.Module):
    """Element-wise product of the inputs (gates)."""

    def forward(self, first, *rest):
        for other in rest:
            first = first * other
        return first


class Concat(nn.Module):
    """Concatenation along channels (features for flat inputs), in input order."""

    def forward(self, *inputs):
        return torch.cat(inputs, 1)


class Scale(nn.Module):
    """Multiply by a constant (Inception-ResNet's residual scaling)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor

    def extra_repr(self):
        return f"{self.factor:g}"


class ZeroPadShortcut(nn.Module):
    """ResNet option-A shortcut: subsample by `stride`, zero-pad the channels to `out`.

    The new channels are split evenly before and after the input's (`place="split"`), or
    all after them (`"end"`, PyramidNet); `subsample="avgpool"` pools (ceil mode) instead of striding.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        place: str = "split",
        subsample: str = "stride",
    ):
        super().__init__()
        self.stride, self.subsample = stride, subsample
        extra = out_channels - in_channels
        self.pad = (extra // 2, extra // 2) if place == "split" else (0, extra)

    def forward(self, x):
        if self.stride > 1:
            if self.subsample == "avgpool":
                x = F.avg_pool2d(x, self.stride, self.stride, ceil_mode=True)
            else:
                x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0) + self.pad)

    def extra_repr(self):
        return f"pad={self.pad}, stride={self.stride}, subsample={self.subsample}"


class PaddedConv2d(nn.Conv2d):
    """nn.Conv2d with per-side zero padding `pad` = (left, right, top, bottom)."""

    def __init__(self, pad, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = tuple(pad)

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))

    def extra_repr(self):
        return f"pad={self.pad}, " + super().extra_repr()


class PaddedMaxPool2d(nn.MaxPool2d):
    """nn.MaxPool2d after per-side padding with -inf, `pad` = (left, right, top, bottom)."""

    def __init__(self, pad, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = tuple(pad)

    def forward(self, x):
        return super().forward(F.pad(x, self.pad, value=float("-inf")))


class PaddedAvgPool2d(nn.AvgPool2d):
    """nn.AvgPool2d after per-side zero padding (the padding counts in the average)."""

    def __init__(self, pad, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = tuple(pad)

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))


class Gate(nn.Conv2d):
    """T(x) = sigmoid(conv(x) + b), the bias starting at `bias_init` (highway, gated shortcuts).

    `pad` is (left, right, top, bottom). Keeps its own initialisation: the
    weight as torch's Conv2d default, the bias the constant `bias_init`.
    """

    own_init = True

    def __init__(self, pad, *args, bias_init: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = tuple(pad)
        with torch.no_grad():
            self.bias.fill_(bias_init)

    def forward(self, x):
        return torch.sigmoid(super().forward(F.pad(x, self.pad)))


class OneMinus(nn.Module):
    """1 - x: the carry gate (1 - T(x))."""

    def forward(self, x):
        return 1 - x


class AffineTheta(nn.Linear):
    """The localisation net's last layer: features -> the 6 numbers of a 2x3 affine theta.

    Keeps its own initialisation: weight 0, bias `init` (the identity transform).
    """

    own_init = True

    def __init__(self, in_features: int, init=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0)):
        super().__init__(in_features, 6)
        with torch.no_grad():
            self.weight.zero_()
            self.bias.copy_(torch.tensor(init))


class AffineGrid(nn.Module):
    """theta (N, 6) -> a sampling grid (N, H, W, 2), torch's affine_grid layout."""

    def __init__(self, size, align_corners: bool = False):
        super().__init__()
        self.size = tuple(size)
        self.align_corners = align_corners

    def forward(self, theta):
        n = theta.shape[0]
        return F.affine_grid(
            theta.view(n, 2, 3), (n, 1) + self.size, align_corners=self.align_corners
        )


class GridSample(nn.Module):
    """Sample the image (N, C, H, W) at the grid (N, H', W', 2) -> (N, C, H', W')."""

    def __init__(
        self,
        mode: str = "bilinear",
        padding_mode: str = "zeros",
        align_corners: bool = False,
    ):
        super().__init__()
        self.mode, self.padding_mode, self.align_corners = (
            mode,
            padding_mode,
            align_corners,
        )

    def forward(self, image, grid):
        return F.grid_sample(
            image,
            grid.to(image.dtype),
            mode=self.mode,
            padding_mode=self.padding_mode,
            align_corners=self.align_corners,
        )


class StochasticDepth(nn.Module):
    """The last op of a residual branch kept with probability `survival` (Huang et al. 2016).

    Training: times b ~ Bernoulli(survival), one draw per mini-batch (`mode="batch"`) or
    sample (`"row"`), no rescaling; still computed when dropped (a static graph).
    Eval: times `survival`.
    """

    def __init__(self, survival: float, mode: str = "batch"):
        super().__init__()
        self.survival, self.mode = survival, mode

    def forward(self, x):
        if not self.training:
            return x * self.survival
        shape = (x.shape[0],) + (1,) * (x.dim() - 1) if self.mode == "row" else ()
        keep = torch.rand(shape, device=x.device) < self.survival
        return x * keep.to(x.dtype)

    def extra_repr(self):
        return f"survival={self.survival:.4g}, mode={self.mode}"


class DropPath(nn.Module):
    """torchvision's StochasticDepth / timm's DropPath, with torchvision's draws.

    Training: zero each sample (`"row"`) or the batch with probability p, divide
    what is kept by 1 - p. Eval: the identity.
    """

    def __init__(self, p: float, mode: str = "row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        shape = (
            (x.shape[0],) + (1,) * (x.dim() - 1)
            if self.mode == "row"
            else [1] * x.dim()
        )
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            keep.div_(survival)
        return x * keep

    def extra_repr(self):
        return f"p={self.p:.4g}, mode={self.mode}"


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (torchvision's ConvNeXt LayerNorm2d)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    """Reorder the dimensions, batch included (torchvision's Permute)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return torch.permute(x, self.dims)


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine terms, all buffers (torchvision.ops.FrozenBatchNorm2d)."""

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)

    def extra_repr(self):
        return f"{self.weight.shape[0]}, eps={self.eps}"


class CenterCrop(nn.Module):
    """The h x w window at (top, left): the centre of the input it was built for."""

    def __init__(self, top: int, left: int, height: int, width: int):
        super().__init__()
        self.top, self.left, self.height, self.width = top, left, height, width

    def forward(self, x):
        bottom, right = self.top + self.height, self.left + self.width
        return x[:, :, self.top : bottom, self.left : right]

    def extra_repr(self):
        return f"top={self.top}, left={self.left}, size=({self.height}, {self.width})"


class ChannelSlice(nn.Module):
    """Channels start..stop-1: `x[:, start:stop]`."""

    def __init__(self, start: int, stop: int):
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, x):
        return x[:, self.start : self.stop]

    def extra_repr(self):
        return f"{self.start}, {self.stop}"


def sample_drop_path(groups, training: bool, device):
    """One drop-path draw per mini-batch for the whole network (FractalNet).

    Returns None in eval mode, else {"u": U(0, 1) deciding global vs local for
    `mix` joins, "column": {group: the column kept by global drop-path}}.
    Everything is a tensor on `device`, so the draw stays inside a compiled graph.
    """
    if not training:
        return None
    columns = {
        group: torch.randint(1, count + 1, (), device=device)
        for group, count in dict(groups).items()
    }
    return {"u": torch.rand((), device=device), "column": columns}


class FractalJoin(nn.Module):
    """The join of a fractal block: merge (mean, sum, max, concat) with drop-path in training.

    Eval mode, or drop="none": a plain merge of all inputs. Training, per mini-batch:
    local drops each input with probability p_local (one is kept if all would be);
    global keeps only the inputs of the sampled column of `group`; mix is global when
    the network's draw u < global_ratio, else local. mean/sum/max use the kept inputs
    (a join with none kept is off the sampled path and gives zeros); concat zero-fills
    the dropped slots.
    """

    def __init__(
        self,
        mode: str,
        columns,
        drop: str = "none",
        p_local: float = 0.15,
        global_ratio: float = 0.5,
        group: str = "fractal",
    ):
        super().__init__()
        self.mode, self.columns, self.drop = mode, tuple(columns), drop
        self.p_local, self.global_ratio, self.group = p_local, global_ratio, group

    def forward(self, *inputs, drop_path=None):
        if not self.training or self.drop == "none" or drop_path is None:
            return self.merge(inputs)
        keep = self.kept(len(inputs), inputs[0].device, drop_path)
        if self.mode == "concat":
            return torch.cat(
                [torch.where(keep[i], x, 0.0) for i, x in enumerate(inputs)], 1
            )
        if self.mode == "max":
            out = torch.where(keep[0], inputs[0], float("-inf"))
            for i, x in enumerate(inputs[1:], start=1):
                out = torch.maximum(out, torch.where(keep[i], x, float("-inf")))
            return torch.where(keep.any(), out, 0.0)
        total = torch.where(keep[0], inputs[0], 0.0)
        for i, x in enumerate(inputs[1:], start=1):
            total = total + torch.where(keep[i], x, 0.0)
        if self.mode == "sum":
            return total
        return total / keep.sum().clamp(min=1).to(total.dtype)

    def merge(self, inputs):
        if self.mode == "concat":
            return torch.cat(inputs, 1)
        out = inputs[0]
        for x in inputs[1:]:
            out = torch.maximum(out, x) if self.mode == "max" else out + x
        return out / len(inputs) if self.mode == "mean" else out

    def kept(self, n: int, device, drop_path):
        """Boolean mask over the inputs: which ones this mini-batch keeps."""
        columns = torch.tensor(self.columns, device=device)
        global_keep = (
            columns == drop_path["column"][self.group] if self.drop != "local" else None
        )
        if self.drop == "global":
            return global_keep
        local = torch.rand(n, device=device) >= self.p_local
        rescue = F.one_hot(torch.randint(0, n, (), device=device), n).bool()
        local = torch.where(local.any(), local, rescue)
        if self.drop == "local":
            return local
        return torch.where(drop_path["u"] < self.global_ratio, global_keep, local)

    def extra_repr(self):
        text = f"{self.mode}, columns={self.columns}"
        return text + (
            f", drop={self.drop}, group={self.group!r}" if self.drop != "none" else ""
        )


# the initialisation and BN folding, defined beside (copied into generated files the same way)
from .initialisation import fold_batchnorm, init_like_torchvision, residual_branch_bns  # noqa: E402
