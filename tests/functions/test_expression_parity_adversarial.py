"""Adversarial parity of expressions: the same ``{{ }}`` text must give the same value whether
Step Functions evaluates it natively (a Task's ``Arguments``, a Choice ``Condition``) or a
plugin Lambda does (a parameter reading a secret: ``deferred``; a parameter reading an output
offloaded to S3 without what it needs kept inline: ``late``; an ``if`` on such an output: the
``(offloaded)`` evaluator route) — and, where JSONata 2.0 or docs/expressions.md give the
value, that value.

Each table runs as ONE routine: a transform per route with one field per expression (or an
``if`` per condition and route), so that the whole file stays fast. Every case asserts the
exact value on every route, with JSON types (``1`` is not ``1.0`` is not ``true``).

Found discrepancies are kept as strict xfails whose reason says what is wrong.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.local import ExecutionResult, LocalAWS, run_routine
from statemachines.validator import validate_document

SECRET_NAME = "paritykey"
SECRET_VALUE = "parity-secret-0123456789"  # 24 characters: read by length only
PAD = "{{ $pad('', 300000, 'x') }}"  # over a variable's room: the output goes to S3
ROUTES = ("native", "offloaded", "secret")

# The data every expression reads: ROOT is ``nodes.small.d`` (native, secret) or
# ``nodes.big.d`` (offloaded); NODE is ``small`` or ``big``.
DATA: dict[str, Any] = {
    "n": 1,
    "f": 1.5,
    "one": 1.0,
    "big": 12345678901234567,
    "big16": 1234567890123456,
    "s": "C:\\temp\\new",
    "q": 'she said "hi" it\'s',
    "u": "žluťoučký kůň 🐴",
    "emoji": "👍🏽x",
    "t": True,
    "z": 0,
    "e": "",
    "nul": None,
    "arr1": [{"x": 1}],
    "arr2": [{"x": 1}, {"x": 2}],
    "nested": [{"a": [{"b": 1}, {"b": 2}]}, {"a": [{"b": 3}]}],
    "nums": [3, 1, 2, 3],
    "words": ["b", "a", "c", "a"],
    "obj": {"k1": 1, "k2": None},
    "ts": "2024-03-31T23:30:00Z",
    "ms": 1711927800000,
    "csv": "a,b,,c",
    "phone": "+49 (0)30 123-45",
    "ea": [],
    "eo": {},
}

VARIABLES: dict[str, Any] = {
    "min": 1,
    "f": 0.1,
    "s": "C:\\temp 'q' \"d\" 😀 {{ x }} %}",
    "o": {"b": 2, "a": 1},
}

LONG_INTEGER_BUG = (
    "BUG: a plain path to a 17-digit integer is rounded to a double by the native path "
    "(12345678901234567 -> 12345678901234568; the secret route too, its nodes object is built "
    "natively) but kept exact by the Lambda's plain-path walk: the same expression differs by route"
)
FIFTEEN_DIGITS_BUG = (
    "BUG: $string/& write a 16-17 digit number with every digit; JSONata 2.0 (AWS) and "
    "docs/expressions.md write numbers in text with at most 15 significant digits "
    "($string(1234567890123456) is '1234567890123460')"
)
SHADOW_BUG = (
    "BUG: natively nodes.<id> becomes the variable $<id>, so a user's own $<id> (a block "
    "binding or a function parameter) shadows the node: native null, the Lambda 1"
)


def case(name: str, template: str, expected: Any, bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(name, template, expected, id=name, marks=marks)


def whole(name: str, expression: str, expected: Any, bug: str | None = None) -> Any:
    return case(name, "{{ " + expression + " }}", expected, bug)


EXPRESSIONS = [
    # paths, undefined, singletons
    whole("undefined_field", "ROOT.missing", None),
    whole("null_field", "ROOT.nul", None),
    whole("singleton_array_path", "ROOT.arr1.x", 1),
    whole("singleton_forced_array", "ROOT.arr1.x[]", [1]),
    whole("two_element_path", "ROOT.arr2.x", [1, 2]),
    whole("nested_paths_flatten", "ROOT.nested.a.b", [1, 2, 3]),
    whole("nested_indices", "ROOT.nested[0].a[1].b", 2),
    whole("index_per_parent", "ROOT.nested.a[0].b", [1, 3]),
    whole("predicate_one_match_is_an_object", "ROOT.arr2[x > 1]", {"x": 2}),
    whole("predicate_no_match_is_null", "ROOT.arr2[x > 5]", None),
    whole("negative_index", "ROOT.nums[-1]", 3),
    whole("context_dollar_in_predicate", "ROOT.arr2[$.x > 1].x", 2),
    whole("root_from_predicate", "ROOT.arr2[x = $$.nodes.NODE.d.n].x", 1),
    whole("predicate_names_are_item_fields", "ROOT.arr2[x = nodes.NODE.d.n].x", None),
    whole(
        "object_per_item_with_root",
        "ROOT.arr2.{'v': x, 'root': $$.nodes.NODE.d.n}",
        [{"v": 1, "root": 1}, {"v": 2, "root": 1}],
    ),
    whole("root_inside_lambda", "$map(ROOT.nums, function($v) { $v + $$.nodes.NODE.d.n })", [4, 2, 3, 4]),
    whole("descendants", "$sort(ROOT.nested.**.b)", [1, 2, 3]),
    whole("wildcard_values", "ROOT.obj.*", [1, None]),
    whole("object_drops_undefined_field", "{'a': ROOT.missing, 'b': 1}", {"b": 1}),
    whole("array_drops_undefined", "[ROOT.missing, 1]", [1]),
    whole("array_constructor_flattens_paths", "[ROOT.arr2.x, [3]]", [1, 2, [3]]),
    whole("function_of_undefined_is_null", "$uppercase(ROOT.missing)", None),
    whole("keys_of_empty_object_is_null", "$keys(ROOT.eo)", None),
    whole("count_of_missing", "$count(ROOT.missing)", 0),
    whole("max_of_empty_is_null", "$max(ROOT.ea)", None),
    whole("group_by", "ROOT.arr2{ $string(x): x }", {"1": 1, "2": 2}),
    # numbers and their text
    whole("float_one_is_one", "ROOT.one", 1),
    whole("long_integer_plain_path", "ROOT.big", 12345678901234567, LONG_INTEGER_BUG),
    whole("long_integer_computed", "ROOT.big + 0", 12345678901234568),
    whole("sixteen_digit_integer", "ROOT.big16", 1234567890123456),
    whole("string_of_integer", "$string(ROOT.n)", "1"),
    whole("string_of_float_one", "$string(ROOT.one)", "1"),
    whole("string_of_1e21", "$string(1e21)", "1e+21"),
    whole("string_of_1e20", "$string(100000000000000000000)", "100000000000000000000"),
    whole("string_of_sum", "$string(0.1 + 0.2)", "0.3"),
    whole("raw_sum", "0.1 + 0.2", 0.30000000000000004),
    whole("string_of_third", "$string(1 / 3)", "0.333333333333333"),
    whole("string_of_tiny", "$string(0.0000001)", "1e-7"),
    whole("value_1e21", "1e21", 1e21),
    whole("string_of_16_digits", "$string(ROOT.big16)", "1234567890123460", FIFTEEN_DIGITS_BUG),
    whole("join_17_digits", "'id=' & ROOT.big", "id=12345678901234600", FIFTEEN_DIGITS_BUG),
    whole("string_of_2_pow_64", "$string($power(2, 64))", "18446744073709600000", FIFTEEN_DIGITS_BUG),
    whole("string_of_object_with_floats", "$string({'a': ROOT.one, 'b': [0.1 + 0.2]})", '{"a":1,"b":[0.3]}'),
    whole("string_pretty", "$string({'a': 1}, true)", '{\n  "a": 1\n}'),
    whole("round_half_even", "[$round(2.5), $round(3.5), $round(-2.5), $round(0.5)]", [2, 4, -2, 0]),
    whole(
        "round_precision",
        "[$round(1.005, 2), $round(1234.5678, -2), $round(2.675, 2), $round(84.1 * 1.19, 2)]",
        [1, 1200, 2.68, 100.08],
    ),
    whole("format_number", "$formatNumber(1234567.891, '#,##0.00')", "1,234,567.89"),
    whole(
        "format_number_rounding_and_negative",
        "[$formatNumber(0.125, '0.00'), $formatNumber(2.5, '0'),"
        " $formatNumber(-1234.5, '#,##0.0;(#,##0.0)')]",
        ["0.12", "2", "(1,234.5)"],
    ),
    whole("format_percent", "$formatNumber(37 / 120, '#0.0%')", "30.8%"),
    whole(
        "format_number_german",
        "$formatNumber(1234.5, '#.##0,00', {'decimal-separator': ',', 'grouping-separator': '.'})",
        "1.234,50",
    ),
    whole("format_number_exponent", "$formatNumber(1234.5678, '00.000e0')", "12.346e2"),
    whole("format_integer_words", "$formatInteger(1234, 'w')", "one thousand, two hundred and thirty-four"),
    whole("format_integer_roman", "$formatInteger(2024, 'I')", "MMXXIV"),
    whole("format_integer_padded", "$formatInteger(42, '000')", "042"),
    whole("format_integer_ordinal", "$formatInteger(23, '1;o')", "23rd"),
    whole("format_integer_grouped", "$formatInteger(1234567, '#,##0')", "1,234,567"),
    whole("format_base", "$formatBase(255, 16)", "ff"),
    whole("parse_integer", "$parseInteger('12,345', '#,##0')", 12345),
    whole("number_hex_and_exponent", "[$number('0x1F'), $number('1e3')]", [31, 1000]),
    whole("modulo_and_division", "[7 % 3, -7 % 3, 10 / 4, 2 / 3]", [1, -1, 2.5, 0.6666666666666666]),
    whole("float_times_int", "ROOT.one * 3", 3),
    whole("sum_of_floats", "$sum([0.1, 0.2, 0.3])", 0.6000000000000001),
    # dates (fixed inputs)
    whole("to_millis", "$toMillis(ROOT.ts)", 1711927800000),
    whole("to_millis_picture", "$toMillis('2024-01-15', '[Y0001]-[M01]-[D01]')", 1705276800000),
    whole("to_millis_offset", "$toMillis('2024-05-01T12:00:00+02:00')", 1714557600000),
    whole("from_millis_default", "$fromMillis(1711927800123)", "2024-03-31T23:30:00.123Z"),
    whole(
        "from_millis_words_zone",
        "$fromMillis(ROOT.ms, '[FNn], [D1o] [MNn] [Y0001], [h]:[m01] [P]', '-0500')",
        "Sunday, 31st March 2024, 6:30 pm",
    ),
    whole(
        "from_millis_offset",
        "$fromMillis(ROOT.ms, '[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01][Z]', '+0530')",
        "2024-04-01T05:00:00+05:30",
    ),
    whole("from_millis_date_in_zone", "$fromMillis(ROOT.ms, '[Y0001]-[M01]-[D01]', '+0100')", "2024-04-01"),
    whole(
        "from_millis_short_names", "$fromMillis(ROOT.ms, '[FNn,3-3] [D] [MNn,3-3] [Y]')", "Sun 31 Mar 2024"
    ),
    whole("from_millis_fraction", "$fromMillis(1711927800123, '[H01]:[m01]:[s01].[f001]')", "23:30:00.123"),
    whole("from_millis_iso_week", "$fromMillis(ROOT.ms, '[Y0001]-W[W01]')", "2024-W13"),
    # regular expressions, split, join
    whole(
        "match_all",
        "$match('ab12cd345', /\\d+/)",
        [{"match": "12", "index": 2, "groups": []}, {"match": "345", "index": 6, "groups": []}],
    ),
    whole(
        "match_groups",
        "$match('key=val', /(\\w+)=(\\w+)/)",
        {"match": "key=val", "index": 0, "groups": ["key", "val"]},
    ),
    whole("match_none_is_null", "$match('abc', /x/)", None),
    whole("replace_regex", "$replace(ROOT.phone, /[^0-9+]/, '')", "+4903012345"),
    whole("replace_groups", "$replace('John Smith', /(\\w+)\\s(\\w+)/, '$2, $1')", "Smith, John"),
    whole("replace_limit", "$replace('abcabc', 'b', 'X', 1)", "aXcabc"),
    whole("replace_with_dollars", "$replace('a.b', '.', '$$')", "a$$b"),
    whole("contains_regex_flag", "$contains('abc', /B/i)", True),
    whole("split_keeps_empty", "$split(ROOT.csv, ',')", ["a", "b", "", "c"]),
    whole("split_regex", "$split('a1b22c', /\\d+/)", ["a", "b", "c"]),
    whole("split_limit", "$split('a,b,c', ',', 2)", ["a", "b"]),
    whole("split_empty_separator", "$split('abc', '')", ["a", "b", "c"]),
    whole("join", "$join(ROOT.words, '-')", "b-a-c-a"),
    # higher-order functions and objects
    whole("sort_numbers", "$sort(ROOT.nums)", [1, 2, 3, 3]),
    whole("sort_comparator", "$sort(ROOT.arr2, function($l, $r) { $l.x < $r.x })", [{"x": 2}, {"x": 1}]),
    whole("sort_strings", "$sort(ROOT.words)", ["a", "a", "b", "c"]),
    whole("reduce", "$reduce(ROOT.nums, function($a, $b) { $a + $b })", 9),
    whole("reduce_with_init", "$reduce(ROOT.words, function($a, $b) { $a & $b }, '>')", ">baca"),
    whole("each", "$each(ROOT.obj, function($v, $k) { $k & '=' & $string($v) })", ["k1=1", "k2=null"]),
    whole("sift", "$sift(ROOT.obj, function($v) { $v != null })", {"k1": 1}),
    whole("spread", "$spread(ROOT.obj)", [{"k1": 1}, {"k2": None}]),
    whole("merge", "$merge([{'a': 1}, {'a': 2, 'b': 3}])", {"a": 2, "b": 3}),
    whole("distinct", "$distinct(ROOT.words)", ["b", "a", "c"]),
    whole("distinct_by_type", "$distinct([1, 1.0, '1', [1], [1]])", [1, "1", [1]]),
    whole("lookup_null_field", "$lookup(ROOT.obj, 'k2')", None),
    whole("lookup_missing_field", "$lookup(ROOT.obj, 'nope')", None),
    whole(
        "exists_null_vs_missing",
        "[$exists(ROOT.nul), $exists(ROOT.missing), $exists(ROOT.z), $exists(ROOT.e)]",
        [True, False, True, True],
    ),
    whole("type_of_null", "$type(ROOT.nul)", "null"),
    whole("zip", "$zip([1, 2], [3, 4])", [[1, 3], [2, 4]]),
    whole("single", "$single([1, 2, 3], function($v) { $v = 2 })", 2),
    whole("filter", "$filter(ROOT.nums, function($v) { $v > 1 })", [3, 2, 3]),
    whole("map_with_index", "$map(ROOT.nums, function($v, $i) { $v * $i })", [0, 1, 4, 9]),
    whole("chain", "ROOT.nums ~> $sort() ~> $reverse()", [3, 3, 2, 1]),
    whole(
        "boolean_casts",
        "[$boolean([]), $boolean([0]), $boolean(''), $boolean(' '), $boolean({})]",
        [False, False, False, True, False],
    ),
    whole(
        "typed_equality",
        "[ROOT.t = 1, ROOT.n = '1', ROOT.n in [1, 2], '1' in [1], ROOT.one = 1]",
        [False, False, True, False, True],
    ),
    whole("string_order", "['ab' < 'b', 'B' < 'a', 'é' > 'z']", [True, True, True]),
    # strings, escapes, unicode, &
    whole(
        "string_escapes",
        "'tab:\\t|dq:\\\"|bs:\\\\|u:\\u00e9|e:\\ud83d\\ude00|sl:\\/'",
        'tab:\t|dq:"|bs:\\|u:é|e:😀|sl:/',
    ),
    whole("double_quoted_apostrophe", '"it\'s"', "it's"),
    whole("emoji_length_in_code_points", "[$length(ROOT.emoji), $length(ROOT.u)]", [3, 15]),
    whole("emoji_substring", "$substring(ROOT.emoji, 1, 1)", "🏽"),
    whole("uppercase_unicode", "$uppercase(ROOT.u)", "ŽLUŤOUČKÝ KŮŇ 🐴"),
    whole("pad_unicode", "[$pad('ž', 3, '#'), $pad('ab', -4, '😀')]", ["ž##", "😀😀ab"]),
    whole("trim", "$trim('  a   b  ')", "a b"),
    whole("url_component", "$encodeUrlComponent('a b&c/ž')", "a%20b%26c%2F%C5%BE"),
    whole(
        "substring_before_after",
        "$substringBefore('ada@ex.com', '@') & '|' & $substringAfter('ada@ex.com', '@')",
        "ada|ex.com",
    ),
    whole("amp_non_strings", "1 & true & null & 'x'", "1truenullx"),
    whole("amp_missing_is_empty", "ROOT.missing & 'x'", "x"),
    whole("amp_null_path_is_null_text", "ROOT.nul & 'x'", "nullx"),
    whole("amp_array_and_object", "[1, 2] & {'a': 1}", '[1,2]{"a":1}'),
    whole("amp_floats", "ROOT.f & '|' & ROOT.one & '|' & (0.1 + 0.2)", "1.5|1|0.3"),
    whole("amp_backslashes_and_quotes", "ROOT.s & '|' & ROOT.q", 'C:\\temp\\new|she said "hi" it\'s'),
    whole("path_with_backslashes", "ROOT.s", "C:\\temp\\new"),
    # Step Functions' functions (AWS documents $hash's SHA-256 of 'input data', $partition, $range)
    whole("partition", "$partition([1, 2, 3, 4, 5], 2)", [[1, 2], [3, 4], [5]]),
    whole(
        "range",
        "{'up': $range(0, 10, 2), 'down': $range(5, 1, -2)}",
        {"up": [0, 2, 4, 6, 8, 10], "down": [5, 3, 1]},
    ),
    whole(
        "array_constructor_flattens_function_results",
        "[$split('a,b', ','), $split('c', ',')]",
        ["a", "b", "c"],
    ),
    whole(
        "hash_sha256",
        "$hash('input data', 'SHA-256')",
        "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
    ),
    whole("hash_md5", "$hash('input data', 'MD5')", "812f45842bc6d66ee14572ce20db8e86"),
    whole("hash_unicode_sha1", "$hash('žluť', 'SHA-1')", "271954b224443358706276c9cd6606d108dd42ec"),
    whole("parse", '$parse(\'{"a": [1, 2.5, null], "b": "x\\\\ty"}\')', {"a": [1, 2.5, None], "b": "x\ty"}),
    whole("random_seeded_is_repeatable", "$random(42) = $random(42)", True),
    whole("random_unseeded_in_range", "($r := $random(); $r >= 0 and $r < 1)", True),
    whole("uuid_version_4", "($u := $uuid(); [$length($u), $substring($u, 14, 1)])", [36, "4"]),
    # a user's own variables
    whole("bound_variable_named_like_the_node", "($NODE := 5; ROOT.n)", 1, SHADOW_BUG),
    whole("parameter_named_like_the_node", "$map([1], function($NODE) { ROOT.n })", 1, SHADOW_BUG),
    whole("bound_variable_named_v", "($v := 5; ROOT.n + $v)", 6),
    # other roots: the routine's variables (constants written into the machine), the trigger,
    # the execution
    whole("vars_whole", "vars", VARIABLES),
    whole("vars_keys_in_order", "$keys(vars.o)", ["b", "a"]),
    whole("vars_in_predicate", "ROOT.arr2[x > $$.vars.min].x", 2),
    whole("vars_float_arithmetic", "vars.f * 3", 0.30000000000000004),
    case("vars_text", "v={{ vars.s }}", "v=C:\\temp 'q' \"d\" 😀 {{ x }} %}"),
    whole("trigger_whole", "trigger", {"k": [1, "a"], "t": "x"}),
    whole("trigger_in_predicate_via_root", "ROOT.arr2[x = $count($$.trigger.k)].x", 2),
    whole("execution_keys", "$keys(execution)", ["id", "routineId", "startedAt"]),
    # the JSONPath dialect, translated when the routine is saved
    whole("jsonpath_wildcard", "ROOT.arr2[*].x", [1, 2]),
    whole("jsonpath_filter", "ROOT.arr2[?(@.x > 1)].x", 2),
    whole("jsonpath_slice", "ROOT.arr2[-1:].x", 2),
    whole("jsonpath_deep_scan", "ROOT.nested..b", [1, 2, 3]),
    # mixed text
    case("text_sum", "x={{ 0.1 + 0.2 }}", "x=0.3"),
    case("text_float", "v={{ ROOT.f }}", "v=1.5"),
    case("text_float_one", "v={{ ROOT.one }}", "v=1"),
    case("text_null_and_missing", "n={{ ROOT.nul }}|m={{ ROOT.missing }}", "n=|m="),
    case("text_array", "a={{ ROOT.arr1 }}", 'a=[{"x":1}]'),
    case("text_object", "o={{ ROOT.obj }}", 'o={"k1":1,"k2":null}'),
    case("text_boolean", "b={{ ROOT.t }}", "b=true"),
    case("text_17_digits", "big={{ ROOT.big }}", "big=12345678901234567", LONG_INTEGER_BUG),
    case("text_16_digits", "big={{ ROOT.big16 }}", "big=1234567890123456"),
    case("text_backslashes", "s={{ ROOT.s }}", "s=C:\\temp\\new"),
    case("text_quotes_unicode", "q={{ ROOT.q }} u={{ ROOT.u }}", 'q=she said "hi" it\'s u=žluťoučký kůň 🐴'),
    case("text_third", "{{ 1 / 3 }}!", "0.333333333333333!"),
    case("text_1e21", "{{ 1e21 }}!", "1e+21!"),
    case("text_singletons", "{{ ROOT.arr1.x }}-{{ ROOT.arr2.x }}", "1-[1,2]"),
    case(
        "text_literal_specials",
        'it\'s {{ ROOT.n }} C:\\x %} {% \u2028 😀 "q"',
        'it\'s 1 C:\\x %} {% \u2028 😀 "q"',
    ),
    case("text_two_expressions", "{{ ROOT.n }}{{ ROOT.n }}", "11"),
    case("object_with_closing_braces_in_text", "x {{ {'k': '}}'} }} y", 'x {"k":"}}"} y'),
    case("jsonata_lookalike_around_a_template", "{% {{ ROOT.n }} %}", "{% 1 %}"),
    case("whole_with_newline_and_tab_is_raw", "\n{{ ROOT.arr1 }}\t", [{"x": 1}]),
    case("whole_with_spaces_is_raw", "  {{ ROOT.n }}  ", 1),
    case("literal_that_looks_like_jsonata", "{% 1 + 1 %}", "{% 1 + 1 %}"),
]


def fill(template: str, root: str, node: str) -> str:
    return template.replace("ROOT", root).replace("NODE", node)


def transform(node_id: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}, **extra}


def static(node_id: str, data: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "static-data", "parameters": {"data": data}}


def chain(*ids: str) -> list[dict[str, Any]]:
    return [{"sourceNodeId": a, "targetNodeId": b} for a, b in itertools.pairwise(ids)]


def document(nodes: list[dict[str, Any]], connections: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "parity",
        "trigger": {"type": "manual"},
        "nodes": nodes,
        "connections": connections,
        **extra,
    }


def typed(value: Any) -> str:
    """JSON text with types kept (1, 1.0 and true differ), object keys sorted."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def scheduled(result: ExecutionResult) -> dict[str, dict[str, Any]]:
    """Each Lambda-invoking node's invocation event, as the machine sent it (the last one)."""
    out: dict[str, dict[str, Any]] = {}
    for event in result.history:
        details = event.get("lambdaFunctionScheduledEventDetails")
        if details:
            payload = json.loads(details["input"])
            out[payload["node"]] = payload
    return out


def entered(result: ExecutionResult) -> set[str]:
    return {e["stateEnteredEventDetails"]["name"] for e in result.history if "stateEnteredEventDetails" in e}


def succeeded(aws: LocalAWS, doc: dict[str, Any], trigger: Any = None) -> ExecutionResult:
    result = run_routine(aws, doc, {} if trigger is None else trigger)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def secret_field() -> dict[str, str]:
    return {"_secret": "{{ $length(secrets." + SECRET_NAME + ") }}"}


@pytest.fixture(scope="module")
def local() -> Iterator[LocalAWS]:
    with LocalAWS() as aws:
        aws.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)
        yield aws


# --- the expression table: one routine, three routes ------------------------------------------


@pytest.fixture(scope="module")
def expression_run(local: LocalAWS) -> dict[str, Any]:
    table = {str(p.values[0]): str(p.values[1]) for p in EXPRESSIONS}
    small = {name: fill(text, "nodes.small.d", "small") for name, text in table.items()}
    big = {name: fill(text, "nodes.big.d", "big") for name, text in table.items()}
    doc = document(
        [
            static("small", {"d": DATA}),
            static("big", {"d": DATA, "pad": PAD}),
            transform("native", small),
            transform("offloaded", {**big, "_force": "{{ $length(nodes.big.pad) }}"}),
            transform("secret", {**small, **secret_field()}),
        ],
        chain("small", "big", "native", "offloaded", "secret"),
        variables=VARIABLES,
    )
    result = succeeded(local, doc, {"k": [1, "a"], "t": "x"})
    return {
        "outputs": {route: result.nodes[route]["output"] for route in ROUTES},
        "events": scheduled(result),
        "table": table,
    }


def test_the_lambda_routes_are_really_taken(expression_run: dict[str, Any]) -> None:
    events, table = expression_run["events"], expression_run["table"]
    native = events["native"]
    assert (native["deferred"], native["late"]) == ([], None)
    evaluated = native["parameters"]["fields"]  # values, not the templates
    assert [
        n for n, t in table.items() if "{{" in t and evaluated[n] == fill(t, "nodes.small.d", "small")
    ] == []
    # offloaded: the machine found big's reference without what the fields read (late)...
    offloaded = events["offloaded"]
    assert (offloaded["deferred"], offloaded["late"]["deferred"]) == ([], ["fields"])
    reference = offloaded["late"]["nodes"]["big"]
    assert reference["$offloaded"].startswith("s3://") and reference["__partial"] == {"pad": True}
    assert offloaded["parameters"]["fields"] == {
        **{name: fill(text, "nodes.big.d", "big") for name, text in table.items()},
        "_force": "{{ $length(nodes.big.pad) }}",
    }
    # ... and the secret route left the whole parameter to the Lambda at compile time.
    secret = events["secret"]
    assert (secret["deferred"], "late" in secret) == (["fields"], False)
    assert secret["parameters"]["fields"] == {
        **{name: fill(text, "nodes.small.d", "small") for name, text in table.items()},
        **secret_field(),
    }
    assert expression_run["outputs"]["offloaded"]["_force"] == 300_000
    assert expression_run["outputs"]["secret"]["_secret"] == len(SECRET_VALUE)


@pytest.mark.parametrize(("name", "template", "expected"), EXPRESSIONS)
def test_expression_gives_the_same_value_on_every_route(
    expression_run: dict[str, Any], name: str, template: str, expected: Any
) -> None:
    outputs = expression_run["outputs"]
    got = {route: typed(outputs[route].get(name, "<absent>")) for route in ROUTES}
    assert got == {route: typed(expected) for route in ROUTES}, template


# --- conditions: every operator, a native Choice vs the (offloaded) evaluator ----------------

CONDITION_DATA: dict[str, Any] = {
    "one": 1,
    "onef": 1.0,
    "t": True,
    "f": False,
    "s1": "1",
    "nul": None,
    "z": 0,
    "e": "",
    "sp": " ",
    "arr": [1, "a", True],
    "ea": [],
    "eo": {},
    "obj": {"a": 1, "b": [1, 2]},
    "objr": {"b": [1, 2], "a": 1.0},
    "big": 12345678901234567,
    "path": "C:\\temp\\new",
    "q": 'it\'s "q"',
    "emo": "a😀",
    "nfc": "\u00e9",
    "nfd": "e\u0301",
    "upper": "B",
    "lower": "a",
    "ten": "10",
    "nine": "9",
    "ts1": "2024-01-02T00:00:00Z",
    "ts2": "2024-01-10T00:00:00Z",
    "tarr": [True],
    "nested": [[1, 2], [3]],
    "pair": [1, 2],
    "nularr": [None],
    "tags": ["vip", "new"],
}

CONDITION_BIG_BUG = (
    "BUG: a condition on a 17-digit integer differs by route: the native Choice compares doubles "
    "(12345678901234567 = 12345678901234568 is true), the (offloaded) evaluator exact integers (false)"
)


def leaf(name: str, left: str, op: str, right: Any, expected: bool, bug: str | None = None) -> Any:
    condition: dict[str, Any] = {"left": "{{ ROOT." + left + " }}", "op": op}
    if op not in ("exists", "isEmpty"):
        condition["right"] = right
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(name, condition, expected, id=name, marks=marks)


def raw(name: str, condition: dict[str, Any], expected: bool, bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(name, condition, expected, id=name, marks=marks)


def expression_leaf(name: str, expression: str, expected: bool) -> Any:
    return pytest.param(name, {"expression": "{{ " + expression + " }}"}, expected, id=name)


CONDITIONS = [
    leaf("eq_1_true", "one", "eq", True, False),
    leaf("eq_1_string", "one", "eq", "1", False),
    leaf("eq_1_1.0", "one", "eq", 1.0, True),
    leaf("eq_1.0_1", "onef", "eq", 1, True),
    leaf("eq_true_true", "t", "eq", True, True),
    leaf("eq_string_1", "s1", "eq", 1, False),
    leaf("eq_missing_null", "missing", "eq", None, True),
    leaf("eq_null_null", "nul", "eq", None, True),
    leaf("eq_missing_template_null", "missing", "eq", "{{ ROOT.nul }}", True),
    leaf("eq_null_template_missing", "nul", "eq", "{{ ROOT.missing2 }}", True),
    leaf("eq_zero_false", "z", "eq", False, False),
    leaf("eq_empty_null", "e", "eq", None, False),
    leaf("eq_objects_any_key_order", "obj", "eq", "{{ ROOT.objr }}", True),
    leaf("eq_object_literal", "obj", "eq", {"b": [1, 2], "a": 1}, True),
    leaf("eq_array_literal", "arr", "eq", [1, "a", True], True),
    leaf("eq_array_true_is_not_1", "arr", "eq", [1, "a", 1], False),
    leaf("eq_backslashes", "path", "eq", "C:\\temp\\new", True),
    leaf("eq_quotes", "q", "eq", 'it\'s "q"', True),
    leaf("eq_emoji", "emo", "eq", "a😀", True),
    leaf("eq_nfc_vs_nfd", "nfc", "eq", "{{ ROOT.nfd }}", False),
    leaf("eq_long_integer", "big", "eq", 12345678901234567, True),
    leaf("eq_long_integer_neighbour", "big", "eq", 12345678901234568, False, CONDITION_BIG_BUG),
    leaf("ne_missing_null", "missing", "ne", None, False),
    leaf("ne_1_true", "one", "ne", True, True),
    leaf("gt_numbers", "one", "gt", 0, True),
    leaf("gt_number_string", "one", "gt", "0", False),
    leaf("lte_number_string", "one", "lte", "0", False),
    leaf("gt_strings_compare_as_text", "ten", "gt", "{{ ROOT.nine }}", False),
    leaf("lt_upper_before_lower", "upper", "lt", "a", True),
    leaf("gte_iso_timestamps", "ts2", "gte", "{{ ROOT.ts1 }}", True),
    leaf("lt_null", "nul", "lt", 5, False),
    leaf("gte_missing", "missing", "gte", 0, False),
    leaf("gt_booleans", "t", "gt", False, False),
    leaf("lt_long_integer_neighbour", "big", "lt", 12345678901234568, True, CONDITION_BIG_BUG),
    leaf("in_true_not_1", "t", "in", [1, "a"], False),
    leaf("in_string_not_number", "s1", "in", [1, 2], False),
    leaf("in_number_1.0", "one", "in", [0, 1.0], True),
    leaf("in_missing_null", "missing", "in", [None, 1], True),
    leaf("in_missing_list", "missing", "in", [1], False),
    leaf("in_template_list", "lower", "in", "{{ ROOT.arr }}", True),
    leaf("in_not_a_list", "lower", "in", "{{ ROOT.lower }}", False),
    leaf("in_list_of_lists", "pair", "in", "{{ ROOT.nested }}", True),
    leaf("in_empty_list", "one", "in", [], False),
    leaf("in_objects", "obj", "in", [{"a": 1, "b": [1, 2]}], True),
    leaf("in_tags_absent", "lower", "in", "{{ ROOT.tags }}", False),
    leaf("in_null_in_list_of_null", "nul", "in", "{{ ROOT.nularr }}", True),
    leaf("contains_backslash", "path", "contains", "temp\\", True),
    leaf("contains_never_searches_lists", "arr", "contains", "a", False),
    leaf("contains_number", "big", "contains", "123", False),
    leaf("contains_empty", "lower", "contains", "", True),
    leaf("contains_quotes", "q", "contains", "'s \"", True),
    leaf("startswith_backslash", "path", "startsWith", "C:\\", True),
    leaf("startswith_empty_on_empty", "e", "startsWith", "", True),
    leaf("startswith_longer", "lower", "startsWith", "ab", False),
    leaf("endswith_emoji", "emo", "endsWith", "😀", True),
    leaf("endswith_empty", "lower", "endsWith", "", True),
    leaf("endswith_number", "one", "endsWith", "1", False),
    leaf("exists_missing", "missing", "exists", None, False),
    leaf("exists_null", "nul", "exists", None, False),
    leaf("exists_false", "f", "exists", None, True),
    leaf("exists_empty_list", "ea", "exists", None, True),
    leaf("isempty_missing", "missing", "isEmpty", None, True),
    leaf("isempty_empty_string", "e", "isEmpty", None, True),
    leaf("isempty_space", "sp", "isEmpty", None, False),
    leaf("isempty_empty_list", "ea", "isEmpty", None, True),
    leaf("isempty_empty_object", "eo", "isEmpty", None, True),
    leaf("isempty_zero", "z", "isEmpty", None, False),
    leaf("isempty_false", "f", "isEmpty", None, False),
    leaf("isempty_list_of_null", "nularr", "isEmpty", None, False),
    leaf("matches_python_regex", "path", "matches", "^C:\\\\temp", True),
    leaf("matches_number", "one", "matches", "1", False),
    leaf("matches_emoji", "emo", "matches", "😀$", True),
    expression_leaf("expression_true", "ROOT.one = 1", True),
    expression_leaf("expression_1_is_not_true", "ROOT.one", False),
    expression_leaf("expression_text_is_not_true", "ROOT.lower", False),
    expression_leaf("expression_list_of_true_is_not_true", "ROOT.tarr", False),
    expression_leaf("expression_path_true", "ROOT.t", True),
    expression_leaf("expression_missing", "ROOT.missing", False),
    raw("text_left_eq", {"left": "n={{ ROOT.onef }}", "op": "eq", "right": "n=1"}, True),
    raw(
        "text_left_17_digits",
        {"left": "id={{ ROOT.big }}", "op": "eq", "right": "id=12345678901234567"},
        True,
        "BUG: 'id={{ x }}' with x = 12345678901234567 is 'id=12345678901234568' in a native Choice "
        "but 'id=12345678901234567' in the (offloaded) evaluator",
    ),
    raw("literal_left_in_template", {"left": "a", "op": "in", "right": "{{ ROOT.arr }}"}, True),
    raw(
        "in_list_holding_templates",
        {"left": "{{ ROOT.lower }}", "op": "in", "right": ["{{ ROOT.lower }}", "x"]},
        True,
    ),
    raw(
        "eq_object_holding_a_template",
        {"left": "{{ ROOT.obj }}", "op": "eq", "right": {"a": "{{ ROOT.one }}", "b": [1, 2]}},
        True,
    ),
    raw("literal_null_eq_missing", {"left": None, "op": "eq", "right": "{{ ROOT.missing }}"}, True),
    raw(
        "literal_left_contains_template",
        {"left": "C:\\temp\\new!", "op": "contains", "right": "{{ ROOT.path }}"},
        True,
    ),
    raw(
        "not_any",
        {
            "not": {
                "any": [
                    {"left": "{{ ROOT.one }}", "op": "eq", "right": True},
                    {"left": "{{ ROOT.s1 }}", "op": "eq", "right": 1},
                ]
            }
        },
        True,
    ),
    raw(
        "all_of_two",
        {
            "all": [
                {"left": "{{ ROOT.t }}", "op": "eq", "right": True},
                {"left": "{{ ROOT.e }}", "op": "isEmpty"},
            ]
        },
        True,
    ),
    raw(
        "any_with_matches",
        {
            "any": [
                {"left": "{{ ROOT.z }}", "op": "exists"},
                {"left": "{{ ROOT.path }}", "op": "matches", "right": "x"},
            ]
        },
        True,
    ),
]


def substitute(value: Any, root: str) -> Any:
    if isinstance(value, str):
        return fill(value, root, "")
    if isinstance(value, dict):
        return {k: substitute(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, root) for v in value]
    return value


@pytest.fixture(scope="module")
def condition_run(local: LocalAWS) -> dict[str, Any]:
    nodes = [
        static("small", {"d": CONDITION_DATA, "pad": "p"}),
        static("big", {"d": CONDITION_DATA, "pad": PAD}),
    ]
    connections = chain("small", "big")
    names: dict[str, int] = {}
    for index, param in enumerate(CONDITIONS):
        name, condition = str(param.values[0]), param.values[1]
        names[name] = index
        for route, node in (("n", "small"), ("o", "big")):
            # exists(pad) is always true: the condition's value is the leaf's; reading big's pad
            # (over its room, never kept inline) sends the big route to the evaluator.
            guarded = {
                "all": [
                    {"left": "{{ nodes." + node + ".pad }}", "op": "exists"},
                    substitute(condition, f"nodes.{node}.d"),
                ]
            }
            if_id = f"{route}{index}"
            nodes.append({"id": if_id, "plugin": "if", "parameters": {"condition": guarded}})
            nodes.append(transform(f"yes_{if_id}", {"taken": True}))
            connections.append({"sourceNodeId": "big", "targetNodeId": if_id})
            connections.append({"sourceNodeId": if_id, "targetNodeId": f"yes_{if_id}", "sourcePort": "true"})
    result = succeeded(local, document(nodes, connections))
    return {"result": result, "entered": entered(result), "index": names}


@pytest.mark.parametrize(("name", "condition", "expected"), CONDITIONS)
def test_condition_decides_the_same_natively_and_in_the_evaluator(
    condition_run: dict[str, Any], name: str, condition: dict[str, Any], expected: bool
) -> None:
    index = condition_run["index"][name]
    result: ExecutionResult = condition_run["result"]
    states: set[str] = condition_run["entered"]
    if "matches" in json.dumps(condition):  # no native form: the evaluator decides on both routes
        assert {f"n{index} (route)", f"o{index} (route)"} <= states
    else:
        assert f"o{index} (offloaded)" in states and f"n{index} (offloaded)" not in states
        assert f"n{index} (route)" not in states
    decided = {
        route: result.nodes[f"yes_{prefix}{index}"]["status"] == "succeeded"
        for route, prefix in (("native", "n"), ("offloaded", "o"))
    }
    assert decided == {"native": expected, "offloaded": expected}, condition


# --- other roots and shapes -------------------------------------------------------------------


def test_a_node_that_did_not_run_reads_null_on_both_routes(local: LocalAWS) -> None:
    fields = {
        "eq_null": "{{ nodes.skipped = null }}",
        "exists": "{{ $exists(nodes.skipped) }}",
        "type": "{{ $type(nodes.skipped) }}",
        "field": "{{ nodes.skipped.x }}",
        "text": "<{{ nodes.skipped.x }}>",
        "merge": "{{ $keys(nodes.join) }}",
    }
    doc = document(
        [
            static("src", {"go": False}),
            {
                "id": "gate",
                "plugin": "if",
                "parameters": {"condition": {"left": "{{ nodes.src.go }}", "op": "eq", "right": True}},
            },
            transform("skipped", {"x": 1}),
            transform("ran", {"x": 2}),
            {"id": "join", "plugin": "merge"},
            transform("native", fields),
            transform("secret", {**fields, **secret_field()}),
        ],
        [
            *chain("src", "gate"),
            {"sourceNodeId": "gate", "targetNodeId": "skipped", "sourcePort": "true"},
            {"sourceNodeId": "gate", "targetNodeId": "ran", "sourcePort": "false"},
            *chain("skipped", "join"),
            *chain("ran", "join", "native", "secret"),
        ],
    )
    result = succeeded(local, doc)
    assert result.nodes["skipped"]["status"] == "skipped"
    expected = {"eq_null": True, "exists": True, "type": "null", "field": None, "text": "<>", "merge": "ran"}
    assert result.nodes["native"]["output"] == expected
    assert result.nodes["secret"]["output"] == {**expected, "_secret": len(SECRET_VALUE)}


def test_data_that_looks_like_an_expression_stays_data(local: LocalAWS) -> None:
    fields = {
        "a": "{{ trigger.a }}",
        "b": "<{{ trigger.b }}>",
        "c": "{{ trigger.c & '' }}",
        "ls": "{{ trigger.ls }}",
        "ls_text": "<{{ trigger.ls }}>",
        "ls_length": "{{ $length(trigger.ls) }}",
    }
    trigger = {
        "a": "{{ secrets." + SECRET_NAME + " }}",
        "b": "{{ 1 + 1 }}",
        "c": "{% 1 + 1 %}",
        "ls": "\u2028a\u0000b\u2029\u001f\ud7ff\ue000\uffff",
    }
    doc = document(
        [transform("native", fields), transform("secret", {**fields, **secret_field()})],
        chain("native", "secret"),
    )
    result = succeeded(local, doc, trigger)
    expected = {
        "a": trigger["a"],
        "b": "<{{ 1 + 1 }}>",
        "c": "{% 1 + 1 %}",
        "ls": trigger["ls"],
        "ls_text": f"<{trigger['ls']}>",
        "ls_length": 9,
    }
    assert result.nodes["native"]["output"] == expected
    assert result.nodes["secret"]["output"] == {**expected, "_secret": len(SECRET_VALUE)}


def test_loop_item_and_index_read_the_same_on_both_routes(local: LocalAWS) -> None:
    fields = {
        "text": "{{ loop.index }}:{{ loop.item.s }}",
        "json": "{{ $string(loop.item) }}",
        "missing": "{{ loop.item.missing }}",
        "null_test": "{{ loop.item.nul = null }}",
        "len": "{{ $length(loop.item.s) }}",
    }
    doc = document(
        [
            {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
            transform("native", fields),
            transform(
                "secret", {**fields, **{f"lambda_{k}": v for k, v in fields.items()}, **secret_field()}
            ),
            transform("after", {"results": "{{ nodes.each }}"}),
        ],
        [
            {"sourceNodeId": "each", "targetNodeId": "native", "sourcePort": "body"},
            *chain("native", "secret"),
            {"sourceNodeId": "each", "targetNodeId": "after", "sourcePort": "done"},
        ],
    )
    items = [{"s": "C:\\t 'q' \"d\" 😀", "nul": None}, {"s": "\u2028x"}]
    result = succeeded(local, doc, {"items": items})
    results = result.nodes["after"]["output"]["results"]
    expected = [
        {
            "text": "0:C:\\t 'q' \"d\" 😀",
            "json": '{"s":"C:\\\\t \'q\' \\"d\\" 😀","nul":null}',
            "missing": None,
            "null_test": True,
            "len": 14,
        },
        {"text": "1:\u2028x", "json": '{"s":"\u2028x"}', "missing": None, "null_test": False, "len": 2},
    ]
    # The body's last node is the Lambda-evaluated one: its fields are the native ones passed
    # on (evaluated natively in the first node) and its own lambda_* (evaluated in the Lambda).
    assert [{k: r[f"lambda_{k}"] for k in fields} for r in results] == expected


def test_a_distributed_loop_body_reads_every_root_the_same_on_both_routes(local: LocalAWS) -> None:
    # Iterations are child executions: trigger, execution and outer outputs arrive carried.
    fields = {
        "trigger": "{{ trigger.s }}",
        "id": "{{ execution.id }}",
        "started": "{{ execution.startedAt }}",
        "routine": "{{ execution.routineId }}",
        "outer": "{{ nodes.src.v }}",
        "item": "{{ loop.item }}",
        "index": "{{ loop.index }}",
        "vars": "{{ vars.a }}",
    }
    doc = document(
        [
            static("src", {"v": "s'rc\\"}),
            {
                "id": "each",
                "plugin": "loop",
                "parameters": {"items": "{{ trigger.items }}", "mode": "distributed"},
            },
            transform("native", fields),
            transform(
                "secret",
                {
                    "native": "{{ nodes.native }}",
                    **{f"lambda_{k}": v for k, v in fields.items()},
                    **secret_field(),
                },
            ),
            transform("after", {"results": "{{ nodes.each }}", "id": "{{ execution.id }}"}),
        ],
        [
            *chain("src", "each"),
            {"sourceNodeId": "each", "targetNodeId": "native", "sourcePort": "body"},
            *chain("native", "secret"),
            {"sourceNodeId": "each", "targetNodeId": "after", "sourcePort": "done"},
        ],
        variables={"a": "C:\\x 'q'"},
    )
    result = succeeded(local, doc, {"s": "tr'ig\\", "items": [{"a": 1}, "x"]})
    after = result.nodes["after"]["output"]
    assert len(after["results"]) == 2
    for index, (item, row) in enumerate(zip([{"a": 1}, "x"], after["results"], strict=True)):
        lambda_values = {k.removeprefix("lambda_"): v for k, v in row.items() if k.startswith("lambda_")}
        assert row["native"] == lambda_values
        assert {
            k: lambda_values[k] for k in ("trigger", "id", "routine", "outer", "item", "index", "vars")
        } == {
            "trigger": "tr'ig\\",
            "id": after["id"],
            "routine": "local",
            "outer": "s'rc\\",
            "item": item,
            "index": index,
            "vars": "C:\\x 'q'",
        }


def test_filter_conditions_follow_the_same_rules(local: LocalAWS) -> None:
    # filter evaluates its condition in its Lambda, per item: 1 = 1.0, true is not 1, "1" is not 1,
    # in agrees with eq, a missing value is null.
    items: list[Any] = [1, 1.0, True, "1", None, {"v": 1}, [1], "a1b"]
    conditions: dict[str, dict[str, Any]] = {
        "eq": {"left": "{{ item }}", "op": "eq", "right": 1},
        "in": {"left": "{{ item }}", "op": "in", "right": [1, None]},
        "exists": {"left": "{{ item }}", "op": "exists"},
        "empty": {"left": "{{ item.v }}", "op": "isEmpty"},
        "contains": {"left": "{{ item }}", "op": "contains", "right": "1"},
        "gt": {"left": "{{ item }}", "op": "gt", "right": 0},
        "expression": {"expression": "{{ item = 1 }}"},
    }
    nodes = [static("src", {"items": items})]
    nodes += [
        {
            "id": f"f_{name}",
            "plugin": "filter",
            "parameters": {"items": "{{ nodes.src.items }}", "condition": c},
        }
        for name, c in conditions.items()
    ]
    result = succeeded(local, document(nodes, chain("src", *(f"f_{name}" for name in conditions))))
    kept = {name: typed(result.nodes[f"f_{name}"]["output"]["items"]) for name in conditions}
    assert kept == {
        "eq": typed([1, 1]),
        "in": typed([1, 1, None]),
        "exists": typed([1, 1, True, "1", {"v": 1}, [1], "a1b"]),
        "empty": typed([1, 1, True, "1", None, [1], "a1b"]),
        "contains": typed(["1", "a1b"]),
        "gt": typed([1, 1]),
        "expression": typed([1, 1]),
    }


def test_execution_fields_and_seeded_random_agree(local: LocalAWS) -> None:
    fields = {
        "started": "{{ execution.startedAt }}",
        "started_text": "at {{ execution.startedAt }}",
        "routine": "{{ execution.routineId }}",
        "seeded": "{{ $random(42) }}",
        "seeded_text": "{{ $random('abc') }}",
        "millis_ok": "{{ $toMillis(execution.startedAt) > 1700000000000 }}",
        "now_shape": "{{ $contains($now(), /^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$/) }}",
        "now_picture": "{{ $contains($now('[Y0001]-[M01]-[D01]', '+0100'), /^\\d{4}-\\d{2}-\\d{2}$/) }}",
        "millis_stable": "{{ $millis() = $millis() }}",
    }
    doc = document(
        [transform("native", fields), transform("secret", {**fields, **secret_field()})],
        chain("native", "secret"),
    )
    result = succeeded(local, doc)
    native, secret = result.nodes["native"]["output"], result.nodes["secret"]["output"]
    assert secret == {**native, "_secret": len(SECRET_VALUE)}
    assert native["started_text"] == "at " + native["started"]
    assert len(native["started"]) == len("2024-01-01T00:00:00.000Z") and native["started"].endswith("Z")
    assert native["routine"] == "local" and native["millis_ok"] is True
    assert (native["now_shape"], native["now_picture"], native["millis_stable"]) == (True, True, True)
    assert 0 <= native["seeded"] < 1


def test_an_offloaded_output_reads_whole_and_by_field(local: LocalAWS) -> None:
    data = {k: v for k, v in DATA.items() if k not in ("big", "big16")}
    native_fields = {
        "d": "{{ nodes.big.d }}",
        "x": "{{ nodes.big.d.arr2[1].x }}",
        "keys": "{{ $keys(nodes.big.d) }}",
        "text": "{{ nodes.big.d.s }}|{{ nodes.big.d.u }}",
    }
    lambda_fields = {**native_fields, "pad": "{{ $length(nodes.big.pad) }}"}
    doc = document(
        [
            static("big", {"d": data, "pad": PAD}),
            transform("native", native_fields),
            transform("offloaded", lambda_fields),
        ],
        chain("big", "native", "offloaded"),
    )
    result = succeeded(local, doc)
    events = scheduled(result)
    # native: read from the values kept in the reference; offloaded: the Lambda loads it (late)
    assert (events["native"]["deferred"], events["native"]["late"]) == ([], None)
    assert events["offloaded"]["late"]["deferred"] == ["fields"]
    expected = {"d": data, "x": 2, "keys": list(data), "text": f"{data['s']}|{data['u']}"}
    assert result.nodes["native"]["output"] == expected
    assert result.nodes["offloaded"]["output"] == {**expected, "pad": 300_000}


def test_a_large_trigger_reads_the_same_natively_and_in_the_lambda(local: LocalAWS) -> None:
    kept = {"small": "{{ trigger.small }}", "text": "{{ trigger.small.s }}!", "n": "{{ trigger.small.n[1] }}"}
    loaded = {**kept, "pad_length": "{{ $length(trigger.pad) }}", "keys": "{{ $keys(trigger) }}"}
    doc = document(
        [
            transform("native", kept),
            transform("offloaded", loaded),
            transform("secret", {**loaded, **secret_field()}),
        ],
        chain("native", "offloaded", "secret"),
    )
    trigger = {"small": {"s": "C:\\temp 😀", "n": [1, 2.5, None]}, "pad": "y" * 100_000}
    result = succeeded(local, doc, trigger)
    events = scheduled(result)
    assert (events["native"]["deferred"], events["native"]["late"]) == ([], None)
    assert events["offloaded"]["late"]["deferred"] == ["fields"]
    assert events["secret"]["deferred"] == ["fields"]
    expected = {"small": trigger["small"], "text": "C:\\temp 😀!", "n": 2.5}
    assert result.nodes["native"]["output"] == expected
    expected |= {"pad_length": 100_000, "keys": ["small", "pad"]}
    assert result.nodes["offloaded"]["output"] == expected
    assert result.nodes["secret"]["output"] == {**expected, "_secret": len(SECRET_VALUE)}


def test_dollar_keys_text_and_literals_on_every_route(local: LocalAWS) -> None:
    # A key ending in '.$' makes the whole parameter one JSONata expression (natively) or one
    # literal (for the Lambda): the values must not change.
    fields = {"k.$": "{{ nodes.big.d.n }}", "t": "x{{ nodes.big.d.s }}", "lit": "{% 1 %}"}
    doc = document(
        [
            static("big", {"d": {"n": 1, "s": "a'b\\c"}, "pad": PAD}),
            transform("native", fields),
            transform("offloaded", {**fields, "p": "{{ $length(nodes.big.pad) }}"}),
            transform("secret", {**fields, **secret_field()}),
        ],
        chain("big", "native", "offloaded", "secret"),
    )
    result = succeeded(local, doc)
    events = scheduled(result)
    assert (events["native"]["deferred"], events["native"]["late"]) == ([], None)
    assert events["offloaded"]["late"]["deferred"] == ["fields"]
    expected = {"k.$": 1, "t": "xa'b\\c", "lit": "{% 1 %}"}
    assert result.nodes["native"]["output"] == expected
    assert result.nodes["offloaded"]["output"] == {**expected, "p": 300_000}
    assert result.nodes["secret"]["output"] == {**expected, "_secret": len(SECRET_VALUE)}


def test_a_switch_on_an_offloaded_value_with_a_text_operand(local: LocalAWS) -> None:
    def switch(node_id: str, source: str) -> dict[str, Any]:
        rules = [
            {
                "port": "one",
                "condition": {"left": "n={{ nodes." + source + ".d.n }}", "op": "eq", "right": "n=1"},
            },
            {"port": "two", "condition": {"left": "{{ nodes." + source + ".pad }}", "op": "exists"}},
        ]
        return {"id": node_id, "plugin": "switch", "parameters": {"rules": rules}}

    doc = document(
        [
            static("small", {"d": {"n": 1.0}, "pad": "p"}),
            static("big", {"d": {"n": 1.0}, "pad": PAD}),
            switch("native", "small"),
            switch("offloaded", "big"),
            *(transform(f"{s}_{p}", {"x": 1}) for s in ("native", "offloaded") for p in ("one", "two")),
        ],
        [
            *chain("small", "big", "native"),
            *chain("big", "offloaded"),
            *(
                {"sourceNodeId": s, "targetNodeId": f"{s}_{p}", "sourcePort": p}
                for s in ("native", "offloaded")
                for p in ("one", "two")
            ),
        ],
    )
    result = succeeded(local, doc)
    states = entered(result)
    assert "offloaded (offloaded)" in states and "native (offloaded)" not in states
    taken = {
        n: result.nodes[n]["status"] for n in ("native_one", "native_two", "offloaded_one", "offloaded_two")
    }
    assert taken == {
        "native_one": "succeeded",
        "native_two": "skipped",
        "offloaded_one": "succeeded",
        "offloaded_two": "skipped",
    }


@pytest.mark.parametrize(
    "expression",
    [
        "{{ $eval('1 + 1') }}",
        "{{ $map(['1 + 1'], $eval) }}",
        "{{ ($f := $eval; $f('1')) }}",
        "{{ trigger.$eval('1') }}",
    ],
)
def test_eval_is_refused_however_it_is_reached(expression: str) -> None:
    report = validate_document(document([transform("a", {"x": expression})], []))
    assert [(p.code, "$eval is not available" in p.message) for p in report.errors] == [
        ("invalid_expression", True)
    ]


# --- bugs found: each a minimal routine ---------------------------------------------------------


@pytest.mark.parametrize("root", ["trigger", "vars"])
@pytest.mark.xfail(
    strict=True,
    reason="BUG: {{ trigger.id }} / {{ vars.id }} holding 12345678901234567 give 12345678901234568 "
    "natively (vars are pasted as JSONata number literals; the trigger path is wrapped and computed) "
    "but 12345678901234567 in the Lambda",
)
def test_a_long_integer_of_the_trigger_or_vars_reads_the_same_on_both_routes(
    local: LocalAWS, root: str
) -> None:
    fields = {"id": "{{ " + root + ".id }}", "text": "id={{ " + root + ".id }}"}
    doc = document(
        [transform("native", fields), transform("secret", {**fields, **secret_field()})],
        chain("native", "secret"),
        variables={"id": 12345678901234567},
    )
    result = succeeded(local, doc, {"id": 12345678901234567})
    expected = {"id": 12345678901234567, "text": "id=12345678901234567"}
    assert result.nodes["secret"]["output"] == {**expected, "_secret": len(SECRET_VALUE)}
    assert result.nodes["native"]["output"] == expected


def test_a_node_named_like_a_step_functions_function_does_not_hide_the_function(local: LocalAWS) -> None:
    """Its variable was $hash, which shadowed $hash() in every native expression (T1006)."""
    fields = {"n": "{{ nodes.hash.n }}", "h": "{{ $hash('input data', 'MD5') }}"}
    doc = document(
        [
            static("hash", {"n": 2}),
            transform("secret", {**fields, **secret_field()}),
            transform("native", fields, onError="continue"),
        ],
        chain("hash", "secret", "native"),
    )
    result = succeeded(local, doc)
    expected = {"n": 2, "h": "812f45842bc6d66ee14572ce20db8e86"}
    assert result.nodes["secret"]["output"] == {**expected, "_secret": len(SECRET_VALUE)}
    assert result.nodes["native"]["output"] == expected


@pytest.mark.xfail(
    strict=True,
    reason="BUG: an output that is exactly {'Error', 'Cause'} (a transform's own fields) is taken "
    "for a Catch record by the Lambda's context and rewritten to {'error': {type, message}}: "
    "nodes.x.Error is 'E' natively, null in the Lambda",
)
def test_an_output_shaped_like_a_catch_record_is_data_on_both_routes(local: LocalAWS) -> None:
    fields = {"error": "{{ nodes.shaped.Error }}", "whole": "{{ nodes.shaped }}"}
    doc = document(
        [
            transform("shaped", {"Error": "E", "Cause": "C"}),
            transform("native", fields),
            transform("secret", {**fields, **secret_field()}),
        ],
        chain("shaped", "native", "secret"),
    )
    result = succeeded(local, doc)
    expected = {"error": "E", "whole": {"Error": "E", "Cause": "C"}}
    assert result.nodes["native"]["output"] == expected
    assert result.nodes["secret"]["output"] == {**expected, "_secret": len(SECRET_VALUE)}


def test_an_output_with_an_offloaded_key_is_data(local: LocalAWS) -> None:
    """It was taken for an S3 reference: the Lambda and the trace tried to load it (NoSuchBucket)."""
    fields = {"v": "{{ nodes.shaped.v }}"}
    doc = document(
        [
            transform("shaped", {"$offloaded": "s3://no-such-bucket/x.json", "v": 1}),
            transform("native", fields),
            transform("secret", {**fields, **secret_field()}),
        ],
        chain("shaped", "native", "secret"),
    )
    result = succeeded(local, doc)
    assert result.nodes["native"]["output"] == {"v": 1}
    assert result.nodes["secret"]["output"] == {"v": 1, "_secret": len(SECRET_VALUE)}


def test_an_integer_beyond_64_bits_in_the_trigger(local: LocalAWS) -> None:
    """It failed the execution with States.Runtime 'OverflowError(int too big to convert)'
    even when nothing read it (jsonatapy takes bindings as i64); JSONata reads it as a double."""
    doc = document([transform("native", {"other": "{{ trigger.other }}", "huge": "{{ trigger.huge }}"})], [])
    result = succeeded(local, doc, {"huge": 10**21, "other": 1})
    assert result.nodes["native"]["output"] == {"other": 1, "huge": 1e21}


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a literal 17-digit integer in a parameter (no expression) is rounded to "
    "12345678901234568 when a sibling key ends with '.$' (the whole value becomes one JSONata "
    "expression); without such a key it stays exact",
)
def test_a_literal_long_integer_beside_a_dollar_key_survives(local: LocalAWS) -> None:
    doc = document(
        [
            transform("plain", {"id": 12345678901234567}),
            transform("dollar", {"id": 12345678901234567, "path.$": "x"}),
        ],
        chain("plain", "dollar"),
    )
    result = succeeded(local, doc)
    assert result.nodes["plain"]["output"] == {"id": 12345678901234567}
    assert result.nodes["dollar"]["output"] == {"id": 12345678901234567, "path.$": "x"}


# Failed at c4367d1 with States.Runtime 'ValueError(Custom Error Names MUST NOT begin with the
# prefix States.…)' (moto's Parallel re-raising a States.* error); the working tree's Catch on the
# routine's Parallel now keeps the error and its cause.
def test_a_failing_native_expression_keeps_its_error(local: LocalAWS) -> None:
    doc = document([transform("a", {"x": "{{ trigger.s + 1 }}"})], [])
    result = run_routine(local, doc, {"s": "text"})
    assert result.status == "FAILED"
    assert (result.error, "T2001" in (result.cause or "")) == ("States.QueryEvaluationError", True)


def test_parse_reads_json_with_a_very_long_integer(local: LocalAWS) -> None:
    """It failed ('host function raised OverflowError'); JSON.parse on AWS reads a double."""
    fields = {"id": "{{ $parse(trigger.body).id }}"}
    doc = document(
        [
            transform("native", fields, onError="continue"),
            transform("secret", {**fields, **secret_field()}, onError="continue"),
        ],
        chain("native", "secret"),
    )
    result = succeeded(local, doc, {"body": '{"id": 18446744073709551616}'})
    assert result.nodes["native"]["output"] == {"id": 1.8446744073709552e19}
    assert result.nodes["secret"]["output"] == {"id": 1.8446744073709552e19, "_secret": len(SECRET_VALUE)}


@pytest.mark.parametrize("text", ["+5", ".5", "5.", " 12", "3\n"])
def test_number_refuses_text_that_is_not_a_json_number(local: LocalAWS, text: str) -> None:
    """jsonatapy read them (5); JSONata 2.0 (AWS) casts only JSON numbers and 0x/0o/0b text."""
    fields = {"x": "{{ $number(trigger.s) }}"}
    doc = document(
        [
            transform("native", fields, onError="continue"),
            transform("secret", {**fields, **secret_field()}, onError="continue"),
        ],
        chain("native", "secret"),
    )
    result = succeeded(local, doc, {"s": text})
    errors = {n: (result.nodes[n]["output"] or {}).get("error", {}).get("type") for n in ("native", "secret")}
    assert errors == {"native": "States.QueryEvaluationError", "secret": "Routines.UserError"}


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("{{ trigger.t }}", "Hello {{ name"),
        ("{{ trigger.t }}", "{{ secrets.nope }}"),
        ("{{ trigger.t }}", "{{ 1 + }}"),
        ("{{ 'a}}b' & '{{' }}", "a}}b{{"),
    ],
    ids=["unclosed", "unknown_secret", "bad_expression", "computed"],
)
def test_a_value_holding_braces_is_data(local: LocalAWS, template: str, value: str) -> None:
    """The Lambda scanned parameters the machine had evaluated (data) for secrets: an unclosed
    '{{' or bad expression text failed the node, '{{ secrets.nope }}' failed it for the secret."""
    doc = document([transform("native", {"x": template}, onError="continue")], [])
    result = succeeded(local, doc, {"t": value})
    assert result.nodes["native"]["output"] == {"x": value}
