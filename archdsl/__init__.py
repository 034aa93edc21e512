"""archdsl: a declarative architecture DSL and graph compiler for convolutional networks.

    >>> import archdsl
    >>> arch = archdsl.load("specs/resnet50.arch")
    >>> arch.params, arch.macs
    (25557032, 4089184256)
"""
from .api import Architecture, load, loads
from .errors import ArchError
from .ir import verify

__version__ = "0.1.0"
__all__ = ["Architecture", "ArchError", "load", "loads", "verify", "__version__"]
