"""Stage 3, the graph IR: `Graph` (graph.py), its records (records.py), `verify` and `dump`."""
from .dump import dump
from .graph import Graph
from .records import (BlockInfo, ColumnInfo, FractalInfo, Join, Module, Node, NodeId, RepeatInfo, ResidualUnit, Role,
                      qualified_parent)
from .verify import IRError, verify

__all__ = ["Graph", "Node", "NodeId", "Module", "BlockInfo", "RepeatInfo", "FractalInfo", "ColumnInfo", "Join",
           "ResidualUnit", "Role", "IRError", "verify", "dump", "qualified_parent"]
