"""``routines serve``: the REST API over HTTP on 127.0.0.1, on the local runtime."""

from functions.serve.adapter import Dispatcher, from_result, to_event
from functions.serve.server import DEFAULT_PORT, Server, running, serve

__all__ = ["DEFAULT_PORT", "Dispatcher", "Server", "from_result", "running", "serve", "to_event"]
