"""Where jsonatapy differs from JSONata 2.0.6 (JavaScript, what Step Functions runs), the
engine restores JavaScript's behaviour: ``$now(picture, timezone)``; the URL functions,
which JSONata defines as ``encodeURI``, ``encodeURIComponent``, ``decodeURI`` and
``decodeURIComponent``; ``$number`` (JSON numbers only); ``$parse`` (``JSON.parse``). Their
values on good input are in the conformance table (tests/data/jsonata_conformance.json, also
run natively); here: errors, undefined, the context as argument, and that the definitions
leave the rest of an expression alone."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest

from contract.jsonata import UNDEFINED, JsonataError, evaluate


def _error(source: str, data: Any = None) -> JsonataError:
    with pytest.raises(JsonataError) as caught:
        evaluate(source, data)
    return caught.value


# Every printable ASCII character, and some beyond it: what ECMA-262's Encode leaves as it is.
PRINTABLE = "".join(chr(c) for c in range(32, 127)) + "é€😀"
URI_UNESCAPED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
URI_RESERVED = set(";/?:@&=+$,#")


@pytest.mark.parametrize(
    ("function", "kept"),
    [("encodeUrl", URI_UNESCAPED | URI_RESERVED), ("encodeUrlComponent", URI_UNESCAPED)],
)
def test_encoding_escapes_exactly_what_javascript_escapes(function: str, kept: set[str]) -> None:
    encoded = evaluate(f"${function}(s)", {"s": PRINTABLE})
    expected = "".join(c if c in kept else urllib.parse.quote(c, safe="") for c in PRINTABLE)
    assert encoded == expected
    escapes = re.findall(r"%(..)", encoded)
    assert escapes and all(e == e.upper() for e in escapes)  # upper-case hex digits, as JavaScript's


@pytest.mark.parametrize("function", ["decodeUrl", "decodeUrlComponent"])
def test_decoding_undoes_the_matching_encoding(function: str) -> None:
    encoder = function.replace("decode", "encode")
    assert evaluate(f"${function}(${encoder}(s))", {"s": PRINTABLE}) == PRINTABLE


def test_decode_url_leaves_the_escapes_of_reserved_characters_as_written() -> None:
    assert evaluate("$decodeUrl('%2f%2F%3a%23%25%20%41')") == "%2f%2F%3a%23% A"
    assert evaluate("$decodeUrlComponent('%2f%2F%3a%23%25%20%41')") == "//:#% A"


@pytest.mark.parametrize(
    "escaped",
    [
        "%",  # no digits
        "a%2",  # one digit
        "%zz",  # not hex
        "%80",  # a continuation byte first
        "%C3",  # a lead byte without its continuation
        "%C3%41",  # a lead byte followed by an ASCII byte
        "%E0%A4%A",  # a truncated escape inside a sequence
        "%C0%80",  # an overlong form of U+0000
        "%ED%A0%80",  # a surrogate, U+D800
        "%F4%90%80%80",  # past U+10FFFF
        "%F8%80%80%80",  # no UTF-8 lead byte
    ],
)
@pytest.mark.parametrize("function", ["decodeUrl", "decodeUrlComponent"])
def test_a_malformed_escape_is_javascripts_error_not_text(function: str, escaped: str) -> None:
    error = _error(f"${function}(s)", {"s": escaped})
    assert error.jsonata_code == "D3140"
    assert error.message == f'Malformed URL passed to ${function}(): "{escaped}"'


@pytest.mark.parametrize("function", ["encodeUrl", "encodeUrlComponent", "decodeUrl", "decodeUrlComponent"])
def test_url_functions_keep_jsonatas_signature(function: str) -> None:
    assert evaluate(f"${function}(missing)", {}) is UNDEFINED
    assert evaluate(f"{{'v': ${function}(missing), 'k': 1}}", {}) == {"k": 1}
    assert evaluate(f"s.${function}()", {"s": "a"}) == "a"  # the context is the argument
    assert evaluate(f"$map(['a', 'b'], ${function})") == ["a", "b"]
    for value in ("null", "5", "true", "['a']"):
        assert _error(f"${function}({value})").jsonata_code == "T0410"


def test_now_with_a_picture_and_a_zone_is_from_millis_of_the_same_instant() -> None:
    same = evaluate(
        "[$now('[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z]', '+0530'),"
        " $fromMillis($millis(), '[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z]', '+0530'),"
        " $now(), $fromMillis($millis()), $now(missing, '-0500'), $fromMillis($millis(), missing, '-0500')]",
        {},
    )
    assert same[0] == same[1] and same[2] == same[3] and same[4] == same[5]
    assert same[0].endswith("+05:30") and same[2].endswith("Z") and same[4].endswith("-05:00")


def test_now_refuses_what_its_signature_refuses() -> None:
    assert _error("$now(null)").jsonata_code == "T0410"
    assert _error("$now('[Y]', 5)").jsonata_code == "T0410"


def test_the_definitions_leave_the_rest_of_the_expression_alone() -> None:
    # The context, the root, a binding the caller passes, and a user's own $now.
    data = {"a": {"b": "x y"}}
    assert evaluate("a.($encodeUrl(b) & '|' & $$.a.b)", data) == "x%20y|x y"
    assert evaluate("($now := function() { 'mine' }; $now())") == "mine"
    assert evaluate("$encodeUrl($v)", None, {"v": "a b"}) == "a%20b"


def test_a_syntax_error_is_the_users_own() -> None:
    """The user's text is compiled alone first: its syntax errors never name the definitions."""
    for source in ("$encodeUrl('a' &)", "$now(", "$decodeUrl(s) +"):
        error = _error(source)
        assert error.jsonata_code is not None and error.jsonata_code.startswith("S0")
        assert "$f" not in error.message and "$text" not in error.message and "$picture" not in error.message
    assert _error("$encodeUrl('a' &)").message == _error("$uppercase('a' &)").message


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12),
        ("-0", 0),
        ("1.50", 1.5),
        ("1.5e3", 1500),
        ("2E-2", 0.02),
        ("0x1F", 31),
        ("0o17", 15),
        ("0b101", 5),
    ],
)
def test_number_reads_json_numbers_and_prefixed_integers(text: str, number: float) -> None:
    assert evaluate("$number(s)", {"s": text}) == number
    assert evaluate("s.$number()", {"s": text}) == number


@pytest.mark.parametrize("text", ["+5", ".5", "5.", " 12", "12 ", "3\n", "1e400", "0x", "0b2", "1_000", ""])
def test_number_refuses_text_that_is_not_a_json_number(text: str) -> None:
    error = _error("$number(s)", {"s": text})
    assert error.jsonata_code == "D3030" and error.message == f"Cannot convert '{text}' to number"


def test_number_keeps_its_signature() -> None:
    assert evaluate("$number(missing)", {}) is UNDEFINED
    assert evaluate("[$number(true), $number(false), $number(2.5)]") == [1, 0, 2.5]
    for value in ("null", "[1]", "{}"):
        assert _error(f"$number({value})").jsonata_code == "T0410"


def test_parse_reads_json_as_json_parse_does() -> None:
    assert evaluate("$parse(s)", {"s": '{"id": 18446744073709551616, "n": 1}'}) == {
        "id": 1.8446744073709552e19,
        "n": 1,
    }
    for text in ("NaN", "[Infinity]", "-Infinity"):
        assert "not JSON text" in _error("$parse(s)", {"s": text}).message
