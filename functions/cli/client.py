"""Client commands against a running API: ``routines push`` and ``routines executions``.

They speak the REST API like any other client (``--api``, default the local server);
``--json`` prints the API's own JSON shapes.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

from functions.cli.errors import ApiFailure

DEFAULT_API = "http://127.0.0.1:8080"


class Client:
    def __init__(self, base: str, user: str) -> None:
        self.base = base.rstrip("/")
        self.user = user

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("X-User-Id", self.user)
        request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = raw.decode(errors="replace")
            raise ApiFailure(exc.code, payload) from None
        except urllib.error.URLError as exc:
            raise ApiFailure(0, f"cannot reach {self.base}: {exc.reason}") from None
        return json.loads(raw) if raw else None

    def find_by_name(self, name: str) -> dict[str, Any] | None:
        token: str | None = None
        while True:
            query = "/routines?limit=100" + (f"&nextToken={token}" if token else "")
            page = self.call("GET", query)
            for item in page["items"]:
                if item["name"] == name:
                    return dict(item)
            token = page.get("nextToken")
            if not token:
                return None


def push(client: Client, document: Any, routine_id: str | None) -> dict[str, Any]:
    """Save (a new version of the routine with this id, or else of this name) and activate."""
    existing = (
        {"id": routine_id}
        if routine_id
        else (client.find_by_name(document.get("name", "")) if isinstance(document, dict) else None)
    )
    if existing:
        current = client.call("GET", f"/routines/{existing['id']}")
        routine = client.call(
            "PUT", f"/routines/{existing['id']}", document, {"If-Match": f'"{current["version"]}"'}
        )
    else:
        routine = client.call("POST", "/routines", document)
    activation = client.call("POST", f"/routines/{routine['id']}/activate", {"version": routine["version"]})
    return {"routine": routine, "activation": activation}


def print_push(result: dict[str, Any]) -> None:
    routine, activation = result["routine"], result["activation"]
    print(f"saved {routine['id']} '{routine['name']}' version {routine['version']}")
    for warning in routine.get("warnings", []):
        print(f"  warning {warning['code']} {warning['path']}: {warning['message']}")
    print(f"active: {activation['stateMachineArn']}")
    webhook = activation.get("webhook")
    if webhook:
        print(f"webhook: POST {webhook['url']}")
        if webhook.get("secret"):
            print(f"secret:  {webhook['secret']}  (shown once: sign bodies with HMAC-SHA256)")
    for run in activation.get("nextRuns") or []:
        print(f"next run: {run['local']}  ({run['utc']})")
    event = activation.get("event")
    if event:
        print(f"event rule: {event['rule']} on bus {event['bus']}")


def print_executions(page: dict[str, Any]) -> None:
    items = page["items"]
    if not items:
        print("no executions")
        return
    width = max(len(i["executionId"]) for i in items)
    print(f"{'EXECUTION':<{width}}  {'STATUS':<10} {'STARTED':<32} STOPPED")
    for item in items:
        kind = " (test)" if item.get("test") else ""
        print(
            f"{item['executionId']:<{width}}  {item['status']:<10} {item.get('startedAt') or '':<32} "
            f"{item.get('stoppedAt') or ''}{kind}"
        )
    if page.get("nextToken"):
        print(f"more: --next-token {page['nextToken']}", file=sys.stderr)
