"""JSONata: the expression language of routines and of Step Functions' JSONata mode."""

from statemachines.jsonata.engine import UNDEFINED, Compiled, JsonataError, compile_expression, evaluate

__all__ = ["UNDEFINED", "Compiled", "JsonataError", "compile_expression", "evaluate"]
