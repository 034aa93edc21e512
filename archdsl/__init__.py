"""archdsl: a declarative architecture DSL and graph compiler for convolutional networks.

    >>> import archdsl
    >>> arch = archdsl.load("specs/resnet50.arch")
    >>> arch.params, arch.macs
    (25557032, 4089184256)

The package is the pipeline (docs/internals.md): syntax -> elaborate -> ir ->
passes -> transforms -> report -> architecture -> cli, with the op registry
in ops/ and the backends in archdsl.backends. The names below are imported on
first use, so `import archdsl.errors` does not load the parser.
"""
from .version import __version__

__all__ = ["Architecture", "ArchError", "load", "loads", "verify", "__version__"]


def __getattr__(name):
    if name in ("Architecture", "load", "loads"):
        from . import architecture

        return getattr(architecture, name)
    if name == "ArchError":
        from .errors import ArchError

        return ArchError
    if name == "verify":
        from .ir import verify

        return verify
    raise AttributeError(f"module 'archdsl' has no attribute {name!r}")
