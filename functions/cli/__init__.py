"""The ``routines`` command."""

from functions.cli.main import main

__all__ = ["main"]
