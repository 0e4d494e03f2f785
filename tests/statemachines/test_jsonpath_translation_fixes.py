"""JSONPath-dialect fixes: '||' filters (a traceback and an HTTP 500), the root inside a
filter (read from each item), a quoted string with \\' taken for a path, and migrate
keeping \\u escapes. A path matching one value gives the value itself, as this product
read JSONPath before JSONata (tests/statemachines/test_jsonata_syntax.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonpath_ng.ext.parser import parse as jsonpath_parse

from contract.expressions import ExpressionSyntaxError, parse_expression, parse_template
from functions.cli.main import main
from functions.cli.migrate import migrate_text
from functions.local import LocalAWS, run_routine
from statemachines.validator import validate_document
from tests.api.conftest import Api, api, aws
from tests.conftest import routine

__all__ = ["api", "aws"]  # pytest fixtures, imported to be used here

ITEMS = [{"id": "a", "price": 2.5}, {"id": "b", "price": 120}, {"id": "c", "price": 30}]
STATE: dict[str, Any] = {
    "trigger": {
        "body": {
            "min": 25,
            "items": ITEMS,
            "orders": [{"id": 1, "paid": True}, {"id": 2, "paid": False}],
            "one": [{"id": 1, "paid": True}],
            "flags": {"beta": True, "dark": False},
            "users": [{"roles": ["r1"]}, {"roles": ["r2", "r3"]}],
        }
    }
}


def singleton(found: list[Any]) -> Any:
    """What a path gives: nothing is null, one match the value itself, several a list."""
    return None if not found else found[0] if len(found) == 1 else found


@pytest.mark.parametrize(
    ("jsonpath", "jsonata"),
    [
        # bug 1: '||', nested and/or, parentheses, negation
        (
            "trigger.body.items[?(@.price < 3 || @.price > 100)].id",
            "trigger.body.items[price < 3 or price > 100].id",
        ),
        (
            "trigger.body.items[?(@.price > 1 && (@.id == 'a' || @.id == 'c') && @.price < 100)].id",
            "trigger.body.items[price > 1 and (id = 'a' or id = 'c') and price < 100].id",
        ),
        (
            "trigger.body.items[?((@.price > 1 && @.id == 'a') || !@.price)].id",
            "trigger.body.items[price > 1 and id = 'a' or $not($exists(price))].id",
        ),
        (
            "trigger.body.items[?(@.price > 100 || @.id == 'a' && @.price < 3)].id",
            "trigger.body.items[price > 100 or id = 'a' and price < 3].id",
        ),
        # bug 2: a root inside a filter is '$$'
        (
            "trigger.body.items[?(@.price > $.trigger.body.min)].id",
            "trigger.body.items[price > $$.trigger.body.min].id",
        ),
        ("trigger.body.items[?(@.price > 100)].id", "trigger.body.items[price > 100].id"),
    ],
)
def test_translation_and_its_value_match_jsonpath_ng(jsonpath: str, jsonata: str) -> None:
    expression = parse_expression(jsonpath)
    assert (expression.dialect, expression.jsonata) == ("jsonpath", jsonata)
    found = [m.value for m in jsonpath_parse(jsonpath).find(STATE)]
    assert parse_template("{{ " + jsonpath + " }}").render(STATE) == singleton(found)


def test_a_filter_jsonpath_ng_has_but_jsonata_has_not_is_a_syntax_error() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("trigger.body.items[?(@.price * 2 > 3)]")
    assert "has no JSONata equivalent here" in str(caught.value)
    with pytest.raises(ExpressionSyntaxError):  # a sort: was silently dropped
        parse_expression("trigger.body.items[/price].id")


def fields_routine(**fields: str) -> dict[str, Any]:
    return routine({"id": "t", "plugin": "transform", "parameters": {"fields": fields}})


def test_validate_accepts_the_or_filter_with_a_warning_showing_jsonata() -> None:
    report = validate_document(
        fields_routine(cheap_or_dear="{{ trigger.body.items[?(@.price < 3 || @.price > 100)].id }}")
    )
    assert report.errors == []
    [warning] = [w for w in report.warnings if w.code == "jsonpath_expression"]
    assert warning.path == "nodes[t].parameters.fields.cheap_or_dear"
    assert "trigger.body.items[price < 3 or price > 100].id" in warning.message


def test_validate_reports_an_untranslatable_filter_as_invalid_expression() -> None:
    report = validate_document(fields_routine(x="{{ trigger.body.items[?(@.price * 2 > 3)] }}"))
    assert [(p.code, p.path) for p in report.errors] == [
        ("invalid_expression", "nodes[t].parameters.fields.x")
    ]


def test_a_quoted_string_with_an_escaped_apostrophe_is_not_jsonpath() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("'it\\'s'")
    assert "Unsupported escape sequence" in str(caught.value)
    assert 'write text with an apostrophe in double quotes, "it\'s"' in str(caught.value)
    report = validate_document(fields_routine(msg="{{ 'it\\'s' }}"))
    assert [(p.code, p.path) for p in report.errors] == [
        ("invalid_expression", "nodes[t].parameters.fields.msg")
    ]
    assert not [w for w in report.warnings if w.code == "jsonpath_expression"]
    text = json.dumps(fields_routine(msg="{{ 'it\\'s' }}"))
    assert migrate_text(text) == (text, [])
    assert parse_expression('"it\'s"').jsonata == '"it\'s"'


def test_migrate_keeps_unicode_escapes_and_crlf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        '{"name": "caf\\u00e9 m",\r\n "trigger": {"type": "manual"},\r\n'
        ' "nodes": [{"id": "s", "plugin": "static-data", "parameters": {"data": {"b": ['
        '"x \\u2014 {{  trigger.body.items[?(@.n > 1)].id }} \\ud83d\\ude00 \\"q\\" {{ trigger..id }}\\n", '
        '"\\u00e9 {{ trigger.body.items[?(@.n > 1 || @.m)] }}"]}}}],\r\n "connections": []}\r\n'
    )
    path = tmp_path / "r.json"
    path.write_bytes(text.encode())
    assert main(["migrate", str(path)]) == 0
    out = capsys.readouterr().out
    expected = (
        text.replace("trigger.body.items[?(@.n > 1)].id", "trigger.body.items[n > 1].id")
        .replace("trigger..id", "trigger.**.id")
        .replace("trigger.body.items[?(@.n > 1 || @.m)]", "trigger.body.items[n > 1 or $exists(m)]")
    )
    assert out == expected
    assert json.loads(out)["nodes"][0]["parameters"]["data"]["b"][0] == (
        'x \u2014 {{  trigger.body.items[n > 1].id }} \U0001f600 "q" {{ trigger.**.id }}\n'
    )


def test_migrate_rewrites_the_or_filter_and_the_root_in_a_filter() -> None:
    document = fields_routine(
        a="{{ trigger.body.items[?(@.price < 3 || @.price > 100)].id }}",
        b="{{ trigger.body.items[?(@.price > $.trigger.body.min)].id }}",
    )
    text = json.dumps(document, indent=1)
    new, changes = migrate_text(text)
    assert [new for _, _, new in changes] == [
        "trigger.body.items[price < 3 or price > 100].id",
        "trigger.body.items[price > $$.trigger.body.min].id",
    ]
    assert new == text.replace(
        "[?(@.price < 3 || @.price > 100)].id", "[price < 3 or price > 100].id"
    ).replace("[?(@.price > $.trigger.body.min)].id", "[price > $$.trigger.body.min].id")


@pytest.fixture
def local() -> Iterator[LocalAWS]:
    with LocalAWS() as aws:
        yield aws


def test_run_or_filter_and_root_filter(local: LocalAWS) -> None:
    document = fields_routine(
        cheap_or_dear="{{ trigger.body.items[?(@.price < 3 || @.price > 100)].id }}",
        over_min="{{ trigger.body.items[?(@.price > $.trigger.body.min)].id }}",
        one="{{ trigger.body.items[?(@.price > 100)].id }}",
    )
    body = {"min": 25, "items": ITEMS, "flags": {"beta": True, "dark": False}}
    result = run_routine(local, document, {"body": body}, timeout=60)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"t": {"cheap_or_dear": ["a", "b"], "over_min": ["b", "c"], "one": "b"}}


def test_the_api_saves_the_or_filter_and_refuses_an_untranslatable_one(api: Api) -> None:
    good = fields_routine(cheap_or_dear="{{ trigger.body.items[?(@.price < 3 || @.price > 100)].id }}")
    status, payload, _ = api("POST", "/routines", good, user="alice")
    assert status == 201, payload
    bad = fields_routine(x="{{ trigger.body.items[?(@.price * 2 > 3)] }}")
    status, payload, _ = api("POST", "/routines", bad, user="alice")
    assert status == 422, payload
    assert [(e["code"], e["path"]) for e in payload["errors"]] == [
        ("invalid_expression", "nodes[t].parameters.fields.x")
    ]
    status, payload, _ = api("POST", "/routines/validate", good, user="alice")
    assert status < 300, payload
