"""How the core reaches the backends: by name, through this registry, never by a static import.

    backend("torch")   the module archdsl.backends.torch (imported on first use)

A backend package exposes `write(arch, path, options, output)`; torch also
`build_module(arch, options)`, onnx `build_model(arch, options)`, dot
`svg_text(arch)`. Other packages can add backends through the entry-point group
`archdsl.backends` (name = module path). Options are the typed records below,
so no argparse object crosses into a backend.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

BACKENDS = {"torch": "archdsl.backends.torch", "onnx": "archdsl.backends.onnx", "dot": "archdsl.backends.dot"}


@dataclass(frozen=True)
class TorchOptions:
    fuse_bn: bool = False  # fold batch norm into the preceding convs (inference)
    seed: int | None = None  # seed for the initialisation (None: torch's current RNG)
    zero_init_residual: bool = False  # the last BN of each residual branch starts at 0
    flat: bool = False  # the straight-line form (codegen.py) instead of a class per block template


@dataclass(frozen=True)
class OnnxOptions:
    weights: object = None  # a state_dict, a .pt or .npz file, or None (seeded weights)
    fuse_bn: bool = False
    seed: int = 0
    external_data: bool | None = None  # None: only past ~2 GB of weights
    functions: bool = True  # one ONNX local function per block template (the graph shows block calls)


@dataclass(frozen=True)
class RenderOptions:
    level: str = "block"  # stage | block | layer
    expand: bool = False  # draw every block instead of folding runs into "x N"
    unravel: bool = False  # Veit et al.'s unraveled view


@dataclass(frozen=True)
class OutputOptions:
    follow_symlinks: bool = False  # an output path that is a symbolic link: write the file it points to


def backend(name: str):
    """The backend module called `name`."""
    path = BACKENDS.get(name)
    if path is None:
        path = _entry_points().get(name)
    if path is None:
        raise KeyError(f"no backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    return importlib.import_module(path)


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="archdsl.backends")}
