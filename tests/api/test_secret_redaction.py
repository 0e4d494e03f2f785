"""Secret values never leave a plugin's Lambda: a routine that writes three secrets into
its outputs (a transform field, an http-request whose server echoes the Authorization
header back, an error message built from a secret) leaves no plaintext in the execution
record, the executions table, the node logs, the Step Functions history, the payload
bucket, the Lambdas' logs, the API's answers or ``routines run``'s output."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main
from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.store import ExecutionStore
from plugins.runtime.aws import secret_id
from plugins.runtime.observability import redact_secrets
from tests.api.conftest import Api

TOKEN = "tok-4f1c9a7e2b5d8c3a"  # a plain string secret
SHOP = {"user": "shopuser-55e2d9b1", "token": "shpat-a93f0c7d61e84b2f"}  # JSON, two leaves
API_KEY = "apikey-0d6b3e8f27c4a915"  # read by http-request's credential (run.secret)
SECRETS: dict[str, Any] = {"tok": TOKEN, "shop": SHOP, "api": API_KEY}
PLAINTEXTS = [TOKEN, SHOP["user"], SHOP["token"], API_KEY]


@pytest.fixture
def echo() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server answering every request with its path and headers (Authorization too)."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = dict(self.headers)
            seen.append(headers)
            status = 404 if self.path.startswith("/missing") else 200
            data = json.dumps({"path": self.path, "headers": headers}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def leaky_routine(base: str) -> dict[str, Any]:
    return {
        "name": "leaky",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "mix",
                "plugin": "transform",
                "parameters": {
                    "fields": {
                        "tok": "{{ secrets.tok }}",
                        "user": "{{ secrets.shop.user }}",
                        "note": "token={{ secrets.shop.token }};",
                        "whole": "{{ secrets.shop }}",
                        "nested": {"list": ["{{ secrets.tok }}", {"deep": "x{{ secrets.shop.user }}x"}]},
                    }
                },
            },
            {
                "id": "call",
                "plugin": "http-request",
                "parameters": {
                    "url": f"{base}/echo?t={{{{ secrets.tok }}}}",
                    "headers": {"X-Shop": "{{ secrets.shop.token }}", "X-User": "{{ secrets.shop.user }}"},
                    "credential": "api",
                },
            },
            {
                "id": "broken",
                "plugin": "http-request",
                "onError": "continue",
                "parameters": {
                    "url": f"{base}/missing/{{{{ secrets.shop.token }}}}",
                    "headers": {"Authorization": "Bearer {{ secrets.tok }}"},
                },
            },
        ],
        "connections": [
            {"sourceNodeId": "mix", "targetNodeId": "call"},
            {"sourceNodeId": "call", "targetNodeId": "broken"},
        ],
    }


def occurrences(texts: list[str]) -> dict[str, int]:
    return {secret: sum(text.count(secret) for text in texts) for secret in PLAINTEXTS}


def everything_stored(aws: LocalAWS, execution_arn: str) -> list[str]:
    """Every item of every DynamoDB table (records, executions, node logs), the execution's
    Step Functions history, every object in S3, every Lambda invocation's logs."""
    texts: list[str] = []
    dynamodb = aws.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            texts += [json.dumps(item, default=str) for item in page["Items"]]
    stepfunctions = aws.client("stepfunctions")
    for page in stepfunctions.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        texts += [json.dumps(event, default=str) for event in page["events"]]
    texts.append(json.dumps(stepfunctions.describe_execution(executionArn=execution_arn), default=str))
    s3 = aws.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"].read()
                texts.append(body.decode(errors="replace"))
    texts += [invocation.logs for invocation in aws.lambdas.invocations]
    return texts


def test_no_secret_value_is_stored_anywhere_after_an_api_run(
    api: Api, aws: LocalAWS, echo: tuple[str, list[dict[str, str]]]
) -> None:
    base, seen = echo
    for name, value in SECRETS.items():
        aws.put_secret(secret_id(name), value)
    routine_id = api.ok("POST", "/routines", leaky_routine(base))["id"]
    api.ok("POST", f"/routines/{routine_id}/activate")
    with StatusEvents(aws) as events:
        execution_id = api.ok("POST", f"/routines/{routine_id}/executions", {})["executionId"]
        assert events.settle(60)
    record = ExecutionStore().get("alice", execution_id)
    assert record is not None and record.status == "SUCCEEDED", record
    # The secrets were used: the server got the real values.
    assert seen[0]["Authorization"] == f"Bearer {API_KEY}" and seen[0]["X-Shop"] == SHOP["token"]
    assert seen[1]["Authorization"] == f"Bearer {TOKEN}"
    shown = api.ok("GET", f"/executions/{execution_id}")
    assert shown["nodes"]["mix"]["output"]["tok"] == "[secret]"
    assert shown["nodes"]["mix"]["output"]["note"] == "token=[secret];"
    assert shown["nodes"]["call"]["output"]["body"]["headers"]["Authorization"] == "Bearer [secret]"
    assert "[secret]" in shown["nodes"]["broken"]["error"]["message"]
    listed = api.ok("GET", f"/routines/{routine_id}/executions")
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{execution_id}"
    arns = [
        e["executionArn"]
        for m in aws.client("stepfunctions").list_state_machines()["stateMachines"]
        for e in aws.client("stepfunctions").list_executions(stateMachineArn=m["stateMachineArn"])[
            "executions"
        ]
    ]
    (arn,) = [a for a in arns if a.endswith(execution_id.split(":", 1)[1])] or [arn]
    texts = everything_stored(aws, arn)
    texts += [json.dumps(record.to_json(), default=str), json.dumps(shown), json.dumps(listed)]
    assert occurrences(texts) == dict.fromkeys(PLAINTEXTS, 0)


def test_no_secret_value_in_routines_run_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], echo: tuple[str, list[dict[str, str]]]
) -> None:
    base, seen = echo
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(leaky_routine(base)))
    options = [f"--secret={name}={v if isinstance(v, str) else json.dumps(v)}" for name, v in SECRETS.items()]
    outputs = []
    for extra in (["--json"], []):
        code = main(["run", *extra, *options, str(path)])
        out, err = capsys.readouterr()
        assert code == 0, (out, err)
        outputs += [out, err]
    result = json.loads(outputs[0])
    assert result["nodes"]["mix"]["output"]["whole"] == {"user": "[secret]", "token": "[secret]"}
    assert result["nodes"]["call"]["output"]["body"]["headers"]["Authorization"] == "Bearer [secret]"
    assert seen[0]["Authorization"] == f"Bearer {API_KEY}"
    assert occurrences(outputs) == dict.fromkeys(PLAINTEXTS, 0)


def test_redaction_covers_whole_values_leaves_and_keys_but_not_short_texts() -> None:
    secrets = {"a": "long-secret", "j": {"k": "leafvalue", "short": "abc", "n": 12345}}
    value = {
        "x": "long-secret and leafvalue",
        "leafvalue": ["abc", 12345, '{"k": "leafvalue", "short": "abc", "n": 12345}'],
    }
    assert redact_secrets(value, secrets) == {
        "x": "[secret] and [secret]",
        "[secret]": ["abc", 12345, "[secret]"],
    }
    assert redact_secrets(value, {}) is value
    deep: Any = "long-secret"
    for _ in range(5000):
        deep = [deep]
    redacted = redact_secrets(deep, secrets)
    for _ in range(5000):
        redacted = redacted[0]
    assert redacted == "[secret]"
