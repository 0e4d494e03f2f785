"""Control plane: API handlers, the recorder, the CLI and their adapters."""
