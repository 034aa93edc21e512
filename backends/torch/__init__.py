"""The PyTorch backend: IR -> nn.Module source (codegen.py) -> a module (module.py); needs torch.

    lowering.py  how each op kind becomes a torch module (a table, and functions where logic is needed)
    codegen.py   the generated class: module tree, forward, init, BN folding
    layers.py    the runtime pieces copied into generated files (Add, FractalJoin, init_like_torchvision, ...)
"""
from .module import build_module, module_class, source, write

__all__ = ["build_module", "module_class", "source", "write"]
