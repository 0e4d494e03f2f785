"""The console's files under ``routines serve``: served from the package without an
identity, with their types; nothing outside the console directory."""

from __future__ import annotations

import urllib.error
import urllib.request

from functions.serve import running


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_console_files_are_served_from_the_package() -> None:
    with running() as server:
        status, kind, body = _get(server.url + "/")
        assert status == 200 and kind.startswith("text/html") and b"/console/app.js" in body
        for name, expected in (
            ("app.js", "text/javascript"),
            ("console.css", "text/css"),
            ("vendor/dagre/dagre.min.js", "text/javascript"),
        ):
            status, kind, _ = _get(f"{server.url}/console/{name}")
            assert status == 200 and kind.startswith(expected), name
        for outside in ("/console/../static.py", "/console/%2e%2e/static.py", "/console/nope.js"):
            assert _get(server.url + outside)[0] == 404, outside
        # The API is still the API (and still wants an identity).
        assert _get(server.url + "/routines")[0] == 401
