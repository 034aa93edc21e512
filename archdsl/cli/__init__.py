"""Stage 9, the command line (app.py lists the commands; options.py is the one loader)."""
from .app import main

__all__ = ["main"]
