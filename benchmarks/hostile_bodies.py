"""Hostile request bodies against a running ``routines serve``: how many answers are 5xx or
no answer at all (goal 0), over every route that reads a body, the webhook included.

    .venv/bin/routines serve --port 8799 &
    .venv/bin/python benchmarks/hostile_bodies.py --api http://127.0.0.1:8799

Pushes one webhook routine as user ``hostile`` to have real ids, then sends each body of
the corpus (not JSON, not UTF-8, deep nesting, huge numbers, repeated keys, wrong shapes,
oversized, control characters, NaN...) to each route, signed where the route wants it.
Prints a line per 5xx or dropped connection and the totals.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functions.webhook import sign  # noqa: E402


def corpus() -> dict[str, bytes]:
    deep = b"[" * 5000 + b"]" * 5000
    return {
        "empty": b"",
        "not json": b"{nodes:",
        "not utf-8": b"\xff\xfe\x00{",
        "nan": b'{"a": NaN}',
        "deep 1000": b'{"a":' * 1000 + b"1" + b"}" * 1000,
        "deep 5000 list": deep,
        "5000 digits": b'{"n": ' + b"9" * 5000 + b"}",
        "1e400": b'{"n": 1e400}',
        "repeated key": b'{"name": "a", "name": "b", "trigger": {"type": "manual"}, "nodes": []}',
        "lone surrogate": b'{"s": "\\ud800"}',
        "array": b"[1, 2, 3]",
        "string": b'"just text"',
        "null": b"null",
        "control chars": b'{"s": "\x01\x02"}',
        "wrong types": b'{"name": 5, "trigger": [], "nodes": {"x": 1}, "connections": "no"}',
        "trigger type object": b'{"name": "x", "trigger": {"type": {}}, "nodes": []}',
        "oversized": b'{"s": "' + b"x" * 3_000_000 + b'"}',
        "bom": b"\xef\xbb\xbf{}",
    }


def call(api: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(api + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0  # no answer at all


def post(api: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(api + path, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:8799")
    args = parser.parse_args()
    user = {"X-User-Id": "hostile", "Content-Type": "application/json"}
    document = json.loads((ROOT / "examples" / "webhook-order-handling.json").read_text())
    created = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                args.api + "/routines", data=json.dumps(document).encode(), method="POST", headers=user
            )
        ).read()
    )
    routine = created["id"]
    shown = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                args.api + f"/routines/{routine}/activate", data=b"", method="POST", headers=user
            )
        ).read()
    )
    secret = shown["webhook"]["secret"]
    routes: list[tuple[str, str, dict[str, str] | None]] = [
        ("POST", "/routines", None),
        ("POST", "/routines/validate", None),
        ("PUT", f"/routines/{routine}", None),
        ("POST", f"/routines/{routine}/activate", None),
        ("POST", f"/routines/{routine}/executions", None),
        ("POST", "/executions/0000000000000000/approvals/ask", None),
        ("POST", f"/hooks/{routine}", {"signed": "yes"}),
        ("POST", f"/hooks/{routine}", {}),
    ]
    bad = total = 0
    for name, body in corpus().items():
        for method, path, hook in routes:
            headers: dict[str, str] = dict(user)
            if hook is not None:
                headers = {"Content-Type": "application/json"}
                if hook:
                    headers["X-Signature-256"] = sign(secret, body)
            status = call(args.api, method, path, body, headers)
            total += 1
            if status == 0 or status >= 500:
                bad += 1
                print(f"{status or 'no answer'}  {method} {path}  {name}")
    print(f"{total} hostile requests, {bad} answered 5xx or not at all")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
