"""Built-in plugins: one module per plugin, each defining ``PLUGIN`` (found by discovery)."""
