"""The console's files (``GET /`` and ``GET /console/…``), served by ``routines serve`` only.

Plain files from the package (functions/serve/console/: HTML, JS modules, CSS, and the
vendored graph layout library under vendor/), no build step and no CDN. They need no
identity: the console asks for a user name and sends it as ``X-User-Id`` on its API calls.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).with_name("console")
PREFIX = "/console/"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
Answer = tuple[int, list[tuple[str, str]], bytes]


def answer(method: str, target: str) -> Answer | None:
    """The answer for a console path (a 404 for a file that is not there); None for any
    other request (the API's)."""
    if method not in ("GET", "HEAD"):
        return None
    path = unquote(urlsplit(target).path)
    if path == "/":
        name = "index.html"
    elif path.startswith(PREFIX):
        name = path.removeprefix(PREFIX)
    else:
        return None
    file = (ROOT / name).resolve()
    if not file.is_relative_to(ROOT.resolve()) or not file.is_file() or file.suffix not in TYPES:
        return 404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"
    headers = [("Content-Type", TYPES[file.suffix]), ("Cache-Control", "no-cache")]
    return 200, headers, file.read_bytes()
