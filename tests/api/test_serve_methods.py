"""Any HTTP method reaches the handlers: a method a path does not take is a JSON 405 with
Allow, never http.server's 501 HTML page (schemathesis sends TRACE and QUERY)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlparse

import pytest

from functions.serve import running


@pytest.mark.parametrize(
    ("method", "path"), [("TRACE", "/routines"), ("QUERY", "/routines"), ("TRACE", "/local/events")]
)
def test_an_unknown_method_is_a_json_405_with_allow(method: str, path: str) -> None:
    with running() as server:
        where = urlparse(server.url)
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        connection.request(method, path, headers={"X-User-Id": "alice"})
        answer = connection.getresponse()
        body = json.loads(answer.read())
        connection.close()
    assert answer.status == 405, body
    assert answer.getheader("Allow")
    assert body["errors"][0]["code"] == "method_not_allowed"
