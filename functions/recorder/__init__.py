"""The recorder: execution status events → durable execution records with traces."""

from functions.recorder.recorder import Recorder, RoutineSource, StatusChange

__all__ = ["Recorder", "RoutineSource", "StatusChange"]
