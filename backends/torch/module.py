"""IR -> a torch nn.Module: in memory (`arch.to_torch()`) or as a standalone .py file.

    arch = archdsl.load("specs/resnet50.arch")
    model = arch.to_torch(seed=0)                  # nn.Module, initialised like torchvision
    model.load_state_dict(torchvision_resnet50.state_dict())   # same names, same shapes

    archdsl compile specs/resnet50.arch --target torch -o resnet50.py [--fuse-bn]

Both paths run the same generated source: by default the structured form
(structured.py, printing.py: a class per block template, nn.Sequential for repetitions),
with `flat` the straight-line one (codegen.py). The
in-memory class is that source compiled under a `<archdsl ...>` file name
registered with linecache, so tracebacks and debuggers show the generated
lines. `torch.manual_seed(n); Resnet50()` from the written file and
`arch.to_torch(seed=n)` give identical weights.

An Architecture does not change once built (its analyses are cached on it too),
so its source and compiled class are made once per (fold_bn, flat) and kept
while the arch lives: a second `to_torch()` only constructs the module. The
build runs with the cyclic garbage collector paused (archdsl/gcpause.py): it
allocates some 10^5 long-lived objects and no cyclic garbage, and the collections
those allocations trigger took a quarter of a cold ResNet-1202 `to_torch()`.
"""
from __future__ import annotations

import contextlib
import itertools
import linecache
import weakref

import torch

from archdsl.files import atomic_write
from archdsl.gcpause import paused_gc, without_gc
from archdsl.targets import OutputOptions, TorchOptions

from . import codegen, printing
from .layers import fold_batchnorm

_serial = itertools.count(1)
# arch -> {("source" | "class", fold_bn, flat): (source, class name) | class}; an entry goes with its arch
_made: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cache(arch) -> dict:
    made = _made.get(arch)
    if made is None:
        made = _made[arch] = {}
    return made


@without_gc
def module_source(arch, fold_bn: bool = False, flat: bool = False) -> tuple[str, str]:
    """(the generated file's source, its network class name); made once per arch and options."""
    made, key = _cache(arch), ("source", bool(fold_bn), bool(flat))
    if key not in made:
        made[key] = (codegen if flat else printing).module_source(arch, fold_bn)
    return made[key]


@without_gc
def module_class(arch, fold_bn: bool = False, flat: bool = False) -> type[torch.nn.Module]:
    """The generated source for `arch` compiled: its module class (compiled once per arch and options)."""
    made, key = _cache(arch), ("class", bool(fold_bn), bool(flat))
    if key not in made:
        source, name = module_source(arch, fold_bn, flat)
        filename = f"<archdsl {arch.name}{' bn-folded' if fold_bn else ''}{' flat' if flat else ''} #{next(_serial)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace: dict = {"__name__": f"archdsl_generated.{name}"}
        exec(compile(source, filename, "exec"), namespace)  # generated from validated names only
        made[key] = namespace[name]
    return made[key]


@contextlib.contextmanager
def _seeded(seed: int | None):
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_module(arch, options: TorchOptions = TorchOptions(), weights: dict | None = None) -> torch.nn.Module:
    """The spec as an nn.Module (see Architecture.to_torch)."""
    with paused_gc():
        return _build_module(arch, options, weights)


def _build_module(arch, options: TorchOptions, weights: dict | None) -> torch.nn.Module:
    with _seeded(options.seed):
        model = module_class(arch, flat=options.flat)(zero_init_residual=options.zero_init_residual)
    if weights is not None:
        model.load_state_dict(weights)
    if not options.fuse_bn:
        return model
    folded_cls = module_class(arch, fold_bn=True, flat=options.flat)
    with _seeded(0):  # its own initialisation is overwritten; keep the caller's RNG untouched
        folded = folded_cls()
    folded.load_state_dict(fold_batchnorm(model.state_dict(), folded_cls.BN_FOLDS))
    return folded.eval()


def write(arch, path, options: TorchOptions = TorchOptions(), output: OutputOptions = OutputOptions()) -> None:
    """`archdsl compile --target torch`: write the module's standalone source."""
    atomic_write(path, source(arch, options), follow_symlinks=output.follow_symlinks)


def source(arch, options: TorchOptions = TorchOptions()) -> str:
    """The module's standalone source (`archdsl compile --target torch -o -` prints it)."""
    return module_source(arch, fold_bn=options.fuse_bn, flat=options.flat)[0]
