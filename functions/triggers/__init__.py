"""What starts routine executions: the shared start path, cron firing, event matching."""

from functions.triggers.start import META_KEY, RunMeta, execution_id, execution_input, start_execution

__all__ = ["META_KEY", "RunMeta", "execution_id", "execution_input", "start_execution"]
