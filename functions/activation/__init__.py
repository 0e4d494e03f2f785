"""Activation: routines into state machines and triggers, and starting them."""

from functions.activation.error_routine import ErrorRoutineError
from functions.activation.service import activate, compile_record, deactivate, delete
from functions.activation.settings import Settings, execution_id
from functions.activation.triggers import TriggerError

__all__ = [
    "ErrorRoutineError",
    "Settings",
    "TriggerError",
    "activate",
    "compile_record",
    "deactivate",
    "delete",
    "execution_id",
]
