"""What a scope hands on when it ends, as ASL payload templates.

Two values are built from the state document when a scope ends (DESIGN §3-4):

- the **execution's result**: the outputs of the nodes that ran and lead nowhere (no
  connection out of them but from their error port), keyed by node id;
- a **loop iteration's result** when the body ends in a ``merge``: the outputs of the
  branches that ran, by node id.

On each path the compiler knows which nodes ran, so a template names only those. Nodes of
a Parallel branch that may or may not have run (``unsure``) read as their ``null`` default
after the join; a Choice on their presence picks the template without them. The template
is written where it costs no transition — as the ``ResultSelector`` of the last Task or Map
when it only names that state's own result — and otherwise by one ``Pass`` state.
"""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

MAX_UNSURE = 4  # presence tests on one Choice: 2^n templates; beyond, unsure nodes read null

Template = dict[str, Any]


def leaves(template: Template) -> list[str]:
    """The document paths a template reads."""
    out: list[str] = []
    stack: list[Any] = [template]
    while stack:
        item = stack.pop()
        for key, value in item.items():
            if isinstance(value, dict):
                stack.append(value)
            elif key.endswith(".$"):
                out.append(value)
    return out


def without(template: Template, paths: set[str]) -> Template:
    """The template without the entries reading ``paths`` (nodes that did not run)."""
    out: Template = {}
    for key, value in template.items():
        if isinstance(value, dict):
            out[key] = without(value, paths)
        elif not (key.endswith(".$") and value in paths):
            out[key] = value
    return out


def retarget(template: Template, path: str) -> Template | None:
    """The template as a ``ResultSelector`` of the state whose result is stored at
    ``path``: None unless every entry reads exactly that result."""
    out: Template = {}
    for key, value in template.items():
        if isinstance(value, dict):
            inner = retarget(value, path)
            if inner is None:
                return None
            out[key] = inner
        elif key.endswith(".$"):
            if value != path:
                return None
            out[key] = "$"
        else:
            out[key] = value
    return out


def ran_rule(path: str) -> dict[str, Any]:
    """True when a node of a Parallel branch ran: its output is there and not the default."""
    return {"And": [{"Variable": path, "IsPresent": True}, {"Not": {"Variable": path, "IsNull": True}}]}


def variants(template: Template, unsure: list[str]) -> list[tuple[dict[str, Any] | None, Template]]:
    """(Choice rule, template) per combination of unsure paths that ran, most first, so
    each rule only tests what is present (a larger combination would have matched before);
    the last has no rule (the Choice's default: none of them ran)."""
    out: list[tuple[dict[str, Any] | None, Template]] = []
    for size in range(len(unsure), -1, -1):
        for present in combinations(unsure, size):
            tests = [ran_rule(p) for p in present]
            rule = None if not tests else (tests[0] if len(tests) == 1 else {"And": tests})
            out.append((rule, without(template, set(unsure) - set(present))))
    return out


def sentinel(prefix: str, template: Template, unsure: list[str]) -> str:
    return prefix + json.dumps([template, unsure], sort_keys=True, separators=(",", ":"))


def parse(prefix: str, value: str) -> tuple[Template, list[str]]:
    template, unsure = json.loads(value[len(prefix) :])
    return template, unsure


__all__ = ["MAX_UNSURE", "leaves", "parse", "retarget", "sentinel", "variants", "without"]
