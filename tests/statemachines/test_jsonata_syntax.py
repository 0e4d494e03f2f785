"""The JSONata lexer, reference finding, translation and the JSONPath dialect."""

from __future__ import annotations

from typing import Any

import pytest
from jsonpath_ng.ext.parser import parse as jsonpath_parse

from contract.expressions import first_or_none, parse_expression, parse_template
from contract.jsonata import evaluate
from contract.jsonata.lexer import LexError, field_text, quote_string, template_end, tokenize
from contract.jsonata.references import Reference, analyze
from contract.jsonata.translate import is_simple


def kinds(text: str) -> list[tuple[str, Any]]:
    return [(t.kind, t.value) for t in tokenize(text)]


def test_regex_literals_and_division() -> None:
    assert kinds("a / 2") == [("name", "a"), ("op", "/"), ("number", 2)]
    assert kinds("$match(s, /a\\/b[/]/i)")[4] == ("regex", ("a\\/b[/]", "i"))
    assert kinds("(x) / y")[3] == ("op", "/")


def test_comments_backticks_strings_and_operators() -> None:
    assert kinds("a /* } */ . `b c`") == [("name", "a"), ("op", "."), ("name", "b c")]
    assert kinds('\'it\\u0027s\' & "\\""') == [("string", "it's"), ("op", "&"), ("string", '"')]
    ops = [t.value for t in tokenize("$x := a ~> $f; b != c <= d >= e ?: f ** g % h ^(i) .. j")]
    for op in (":=", "~>", "!=", "<=", ">=", "?:", "**", "%", "^", ".."):
        assert op in ops
    assert kinds("$ $$ $name") == [("variable", ""), ("variable", "$"), ("variable", "name")]
    assert kinds("1.5e3 true null") == [("number", 1500.0), ("value", True), ("value", None)]


def test_lexer_errors_carry_positions() -> None:
    with pytest.raises(LexError) as caught:
        tokenize("a & 'open")
    assert caught.value.position == 4
    with pytest.raises(LexError):
        tokenize("a /* never closed")


def test_template_end_skips_nested_braces_strings_and_comments() -> None:
    text = "{{ {'a': {'b': '}}'}} /* }} */ }} tail"
    assert text[template_end(text, 2) :] == "}} tail"


def refs(text: str) -> list[tuple[str, str | None, tuple[str | int, ...], bool]]:
    return [(r.root, r.name, r.steps, r.plain) for r in analyze(text).references]


def test_references_with_positions() -> None:
    found = analyze("x + nodes.a.b[0]").references
    assert found == (
        Reference(source="x", root="x", name=None, steps=(), plain=True, start=0, end=1),
        Reference(
            source="nodes.a.b[0]", root="nodes", name="a", steps=("a", "b", 0), plain=True, start=4, end=11
        ),
    )


def test_names_inside_predicates_steps_and_group_bys_are_relative() -> None:
    assert refs("nodes.a.items[price > 5].id") == [("nodes", "a", ("a", "items"), False)]
    assert refs("nodes.a.items.(price * qty)") == [("nodes", "a", ("a", "items"), False)]
    assert refs("nodes.a.items{category: $sum(price)}") == [("nodes", "a", ("a", "items"), False)]
    assert refs("nodes.a.items^(>price)") == [("nodes", "a", ("a", "items"), False)]
    assert refs("nodes.a.items[price > $$.vars.min]") == [
        ("nodes", "a", ("a", "items"), False),
        ("vars", "min", ("min",), True),
    ]


def test_constructors_blocks_arguments_and_function_bodies_are_top_level() -> None:
    assert [r[0] for r in refs("[trigger, {'k': vars.x}, (loop.item; execution.id), $f(item)]")] == [
        "trigger",
        "vars",
        "loop",
        "execution",
        "item",
    ]
    assert refs("$map(nodes.a.l, function($v, $i)<n-n:n>{ $v + vars.k })")[1][0] == "vars"
    analysis = analyze("$map(nodes.a.l, function($v, $i) { $v + $i + $w })")
    assert [name for name, _ in analysis.free_variables] == ["map", "w"]
    assert analysis.bound == {"v", "i"}


def test_translate_replaces_heads_and_single_quotes_strings() -> None:
    expression = parse_expression('$$.nodes.a.items[name = "x\'s"].id & nodes.b')
    text = expression.translate(lambda r: f"$states.input.{r.root}" + (f".{r.name}" if r.name else ""))
    assert text == "$states.input.nodes.a.items[name = 'x\\u0027s'].id & $states.input.nodes.b"
    wrapped = parse_expression("nodes.a.x").translate(lambda r: "$lookup($s, 'a')")
    assert wrapped == "($lookup($s, 'a')).x"
    assert is_simple("$states.input.`odd key`") and not is_simple("$f(1)")
    assert field_text("a b") == "`a b`" and field_text("ok_1") == "ok_1"
    assert evaluate(quote_string("a'b\"c\\d\n")) == "a'b\"c\\d\n"


DATA: dict[str, Any] = {
    "nodes": {"a": {"items": [{"id": 1, "p": 5}, {"id": 2, "p": 20}], "name": "n"}, "e": {}},
    "vars": {"min": 10, "s": 'q"\\'},
}


@pytest.mark.parametrize(
    "text",
    [
        "{{ nodes.a.items[0].id }}",
        "{{ nodes.a.items.id }}",
        "{{ nodes.a.items[p > $$.vars.min] }}",
        "{{ nodes.e.missing }}",
        "{{ vars.s & nodes.a.name }}",
        "a {{ nodes.a.items }} b {{ nodes.e.missing }} c {{ null }} {{ vars.s }} {{ 1.5 }}",
        "{{ nodes.a.items[*].id }}",
        "{{ nodes.a..id }}",
    ],
)
def test_native_text_evaluates_to_what_render_gives(text: str) -> None:
    template = parse_template(text)
    native = template.native(lambda r: f"$ctx.{r.root}" + (f".{r.name}" if r.name else ""))
    assert evaluate(native, None, {"ctx": DATA}) == template.render(DATA)


def test_native_forms() -> None:
    def root(ref: Reference) -> str:
        return f"$states.input.{ref.root}.{ref.name}"

    assert parse_template("{{ nodes.a.x }}").native(root) == (
        "($v := $states.input.nodes.a.x; $exists($v) ? $v : null)"
    )
    assert parse_template("id: {{ nodes.a.x }}!").native(root) == (
        "'id: ' & ($v := $states.input.nodes.a.x; $v = null ? '' : $v) & '!'"
    )


SAMPLE: dict[str, Any] = {
    "nodes": {
        "a": {
            "items": [
                {"id": 1, "price": 5, "tag": "xa", "sub": {"id": 9}},
                {"id": 2, "price": 20, "tag": "yb"},
                {"id": 3, "price": 30, "tag": "xc"},
            ],
            "obj": {"k": 1, "m": 2},
            "odd key": 4,
            "odd-key": 5,
        }
    }
}


@pytest.mark.parametrize(
    ("jsonpath", "jsonata"),
    [
        ("nodes.a.items[*].id", "nodes.a.items.id"),
        ("nodes.a.items[*]", "nodes.a.items.$"),
        ("$.nodes.a.items[0].id", None),
        ("nodes.a.obj.*", None),
        ("nodes.a.items..id", "nodes.a.items.**.id"),
        ("nodes.a.items[0,2].id", "nodes.a.items[[0, 2]].id"),
        ("nodes.a.items[0:2].id", "nodes.a.items[[0..1]].id"),
        ("nodes.a.items[-2:].id", "$filter(nodes.a.items, function($v, $i, $a) { $i >= $count($a) - 2 }).id"),
        ("nodes.a.items[?(@.price > 10)].id", "nodes.a.items[price > 10].id"),
        (
            "nodes.a.items[?(@.price >= 20 & @.tag == 'yb')].id",
            "nodes.a.items[price >= 20 and tag = 'yb'].id",
        ),
        ("nodes.a.items[?(@.tag =~ '^x')].id", "nodes.a.items[$contains(tag, /^x/)].id"),
        ("nodes.a.items[?(@.sub)].id", "nodes.a.items[$exists(sub)].id"),
        ('nodes.a["odd key"]', "nodes.a.`odd key`"),
        ("nodes.a.odd-key", "nodes.a.`odd-key`"),
    ],
)
def test_jsonpath_translation_gives_what_jsonpath_ng_finds(jsonpath: str, jsonata: str | None) -> None:
    expression = parse_expression(jsonpath)
    if jsonata is None:  # valid in both dialects: plain JSONata
        assert expression.dialect == "jsonata"
    else:
        assert (expression.dialect, expression.jsonata) == ("jsonpath", jsonata)
    found = first_or_none([m.value for m in jsonpath_parse(jsonpath).find(SAMPLE)])
    assert parse_template("{{ " + jsonpath + " }}").render(SAMPLE) == found


def test_jsonata_ranges_and_plain_paths_are_not_jsonpath() -> None:
    for text in (
        "[1..5]",
        "[0..nodes.a.n]",
        "nodes.a.items[0].id",
        "nodes.a.items[-1]",
        "nodes.a.x-nodes.b.y",
    ):
        assert parse_expression(text).dialect == "jsonata", text
