"""The weights an ONNX model stores: a given state_dict (checked against the spec), or seeded ones.

`weights` is None (seeded initialisation), a mapping name -> array/tensor, or
a path to a torch state_dict (`.pt`, needs torch) or a numpy `.npz`.
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from archdsl.errors import ArchError
from archdsl.ops import state_key
from archdsl.passes import state_layout

UNTRACKED = "num_batches_tracked"  # a state_dict counter that inference never reads
MAX_WEIGHT_BYTES = 64 * 2**30  # float32 weights archdsl will allocate for an export


def resolve_weights(arch, weights=None, seed: int = 0) -> dict[str, np.ndarray]:
    """{state_dict name: float32 array} for every tensor the model reads."""
    layout = {name: shape for name, shape in state_layout(arch.graph, arch.shapes) if not name.endswith(UNTRACKED)}
    total = 4 * sum(int(np.prod(shape, dtype=object)) for shape in layout.values())
    if total > MAX_WEIGHT_BYTES:
        raise ArchError(f"{arch.name} has {total // 4:,} weights ({total / 2**30:,.0f} GiB as float32); an ONNX "
                        f"export stores at most {MAX_WEIGHT_BYTES // 2**30} GiB", arch.graph.node(arch.graph.output).span)
    if weights is None:
        return seeded_weights(arch, seed)
    if isinstance(weights, (str, os.PathLike)):
        weights = _read_state_dict(Path(weights))
    if not isinstance(weights, Mapping):
        raise ArchError(f"weights must be a state_dict (a mapping of names to tensors), got {type(weights).__name__}")
    arrays = {name: _to_numpy(name, value) for name, value in weights.items() if not str(name).endswith(UNTRACKED)}
    missing = [name for name in layout if name not in arrays]
    unexpected = [str(name) for name in arrays if name not in layout]
    wrong = [f"{name} is {_dims(arrays[name].shape)}, the spec needs {_dims(shape)}"
             for name, shape in layout.items() if name in arrays and tuple(arrays[name].shape) != tuple(shape)]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)}: {_some(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)}: {_some(unexpected)}")
    if wrong:
        problems.append(f"wrong shape: {_some(wrong)}")
    if problems:
        raise ArchError(f"the weights do not fit {arch.name}: " + "; ".join(problems))
    return arrays


def _read_state_dict(path: Path):
    if not path.is_file():
        raise ArchError(f"weights file '{path}' does not exist")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError) as err:  # not a zip, a pickled array, a truncated file
            raise ArchError(f"cannot read weights from '{path}': {err}") from None
    try:
        import torch
    except ImportError:
        raise ArchError(f"reading '{path}' needs torch (pip install torch), or save the weights as .npz") from None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt or non-state_dict file: report, never a traceback
        raise ArchError(f"cannot read weights from '{path}': {err}") from None
    if isinstance(data, Mapping) and isinstance(data.get("state_dict"), Mapping):
        data = data["state_dict"]  # a training checkpoint that wraps the state_dict
    return data


def _to_numpy(name: str, value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor; torch is already imported by whoever made it
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ArchError(f"weight {name} is not an array: {err}") from None
    if not np.issubdtype(array.dtype, np.floating):
        raise ArchError(f"weight {name} has dtype {array.dtype}, expected floating point")
    return array.astype(np.float32, copy=False)


def _dims(shape) -> str:
    return "x".join(map(str, shape)) or "scalar"


def _some(items: list[str], limit: int = 4) -> str:
    return ", ".join(items[:limit]) + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def seeded_weights(arch, seed: int = 0) -> dict[str, np.ndarray]:
    """A deterministic initialisation for structure-only export; each tensor depends on (seed, name) only.

    conv/linear weights uniform with variance 1/fan_in, biases U(+-1/sqrt(fan_in));
    BN gets non-trivial statistics (gamma, var ~ U(0.5, 1.5), beta, mean with std 0.1)
    so a BN lowering bug cannot hide behind an identity; a tensor whose op fixes its
    start (`initial_value`: PReLU's slopes, a gate's bias) gets that, plus the op's jitter.
    """
    g, weights = arch.graph, {}
    for nid in g.order:
        node = g.node(nid)
        if node.shared_with:  # the owner's tensors serve both
            continue
        entries = dict(node.op.state([arch.shapes[p] for p in g.inputs(nid)]))
        weight_shape = entries.get("weight", ())
        fan_in = int(np.prod(weight_shape[1:])) if len(weight_shape) >= 2 else 1
        for suffix, shape in entries.items():
            if suffix == UNTRACKED:
                continue
            name = state_key(node.name, suffix)
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            weights[name] = _init_tensor(rng, node.op, suffix, shape, fan_in)
    return weights


def _init_tensor(rng, op, suffix: str, shape, fan_in: int) -> np.ndarray:
    start = op.initial_value(suffix)
    if start is not None:
        if op.INIT_JITTER:
            return _uniform(rng, shape, op.INIT_JITTER) + np.asarray(start, np.float32)
        return np.full(shape, start, np.float32)
    if suffix == "weight" and len(shape) >= 2:
        return _uniform(rng, shape, (3 / fan_in) ** 0.5)  # variance 1/fan_in
    if suffix == "bias" and fan_in > 1:
        return _uniform(rng, shape, fan_in**-0.5)
    if suffix in ("weight", "running_var"):
        return _uniform(rng, shape, 0.5) + np.float32(1.0)
    return _uniform(rng, shape, 0.1 * 3**0.5)  # biases, means: standard deviation 0.1


def _uniform(rng, shape, bound: float) -> np.ndarray:
    """U(-bound, bound) in float32 (5x faster than normal draws: ResNet-152 in 0.1 s)."""
    x = rng.random(shape, np.float32)
    x *= np.float32(2 * bound)
    x -= np.float32(bound)
    return x
