"""JSONata: the expression language of routines and of Step Functions' JSONata mode."""

from contract.jsonata.engine import UNDEFINED, Compiled, JsonataError, compile_expression, evaluate
from contract.jsonata.jsonpath import looks_like_jsonpath, to_jsonata
from contract.jsonata.lexer import LexError, Token, template_end, tokenize
from contract.jsonata.references import Reference, analyze
from contract.jsonata.translate import translate

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
