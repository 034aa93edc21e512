"""Stage 6, IR -> IR rewrites, each returning a new verified graph.

    drop_blocks     residual blocks replaced by their shortcuts (`--drop`, `arch.without`)
    reorder_blocks  a chain of residual blocks run in another order (`arch.reordered`)
    bypass_blocks   plain blocks replaced by the identity (`arch.bypassed`, a layer lesion)
    extract_column  FractalNet's column k alone (`--column`, `arch.extract_column`)
    fold_bn         norms folded into the convs before them (`--fuse-bn`, both backends)
    outputs         one output of several, with the nodes it depends on (`arch.output(key)`)

blocks.py says which blocks are residual blocks (the recorded units they hold).
"""
from .blocks import ResidualBlock, residual_block, residual_blocks
from .bypass_blocks import bypass_blocks, bypassable_blocks
from .drop_blocks import drop_blocks
from .extract_column import extract_column
from .fold_bn import Fold, fold_bn, plan_folds
from .outputs import only_output
from .reorder_blocks import reorder_blocks

__all__ = ["drop_blocks", "reorder_blocks", "bypass_blocks", "bypassable_blocks", "residual_block",
           "residual_blocks", "ResidualBlock", "extract_column", "fold_bn", "plan_folds", "Fold", "only_output"]
