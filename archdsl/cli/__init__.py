"""Stage 9, the command line (main.py lists the commands; options.py is the one loader)."""
from .main import main

__all__ = ["main"]
