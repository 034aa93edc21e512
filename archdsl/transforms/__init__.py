"""Stage 6, IR -> IR rewrites, each returning a new verified graph.

    drop_blocks     residual blocks replaced by their shortcuts (`--drop`, `arch.without`)
    extract_column  FractalNet's column k alone (`--column`, `arch.extract_column`)
    fold_bn         norms folded into the convs before them (`--fuse-bn`, both backends)
    outputs         one output of several, with the nodes it depends on (`arch.output(key)`)
"""
from .drop_blocks import drop_blocks
from .extract_column import extract_column
from .fold_bn import Fold, fold_bn, plan_folds
from .outputs import only_output

__all__ = ["drop_blocks", "extract_column", "fold_bn", "plan_folds", "Fold", "only_output"]
