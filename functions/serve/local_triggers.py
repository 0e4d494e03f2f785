"""What ``routines serve`` runs besides the API, as AWS would: the webhook Lambda at
``/hooks/``, and Step Functions status events delivered to the recorder Lambda."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.local.status_events import StatusEvents
from functions.webhook.handler import lambda_handler as webhook_handler

if TYPE_CHECKING:
    from functions.serve.server import Server


class LocalTriggers:
    def __init__(self, server: Server) -> None:
        server.dispatcher.add("/hooks/", webhook_handler, "routines-webhook")
        self.events = StatusEvents(server.aws)
        self.events.__enter__()

    def close(self) -> None:
        self.events.__exit__(None, None, None)
