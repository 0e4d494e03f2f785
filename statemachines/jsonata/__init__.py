"""JSONata: the expression language of routines and of Step Functions' JSONata mode."""

from statemachines.jsonata.engine import UNDEFINED, Compiled, JsonataError, compile_expression, evaluate
from statemachines.jsonata.jsonpath import looks_like_jsonpath, to_jsonata
from statemachines.jsonata.lexer import LexError, Token, template_end, tokenize
from statemachines.jsonata.references import Reference, analyze
from statemachines.jsonata.translate import translate

__all__ = [
    "UNDEFINED",
    "Compiled",
    "JsonataError",
    "LexError",
    "Reference",
    "Token",
    "analyze",
    "compile_expression",
    "evaluate",
    "looks_like_jsonpath",
    "template_end",
    "to_jsonata",
    "tokenize",
    "translate",
]
