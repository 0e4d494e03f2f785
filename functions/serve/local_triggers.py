"""What ``routines serve`` runs besides the API, as AWS would: the webhook Lambda at
``/hooks/``, Step Functions status events delivered to the recorder Lambda, a cron
scheduler in place of EventBridge Scheduler, and the development-only ``/local/`` routes
(fire a cron routine now, put events)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING

from contract.names import ENV_API_BASE_URL
from functions.local.status_events import StatusEvents
from functions.serve.local_api import lambda_handler as local_handler
from functions.serve.state import Durable
from functions.store import ExecutionRecord
from functions.triggers.cron import CronScheduler
from functions.webhook.handler import lambda_handler as webhook_handler

if TYPE_CHECKING:
    from functions.serve.server import Server


class JournaledCron(CronScheduler):
    """The cron scheduler; with ``--state-dir``, the RUNNING record of each execution it
    starts (outside any request) is journaled before a request can see it, as the
    recorder's records are."""

    def tick(self, now: datetime | None = None) -> list[ExecutionRecord]:
        durable = Durable.current
        if durable is None:
            return super().tick(now)
        with durable.guard:
            fired = super().tick(now)
            for record in fired:
                durable.journal(record.execution_id)
        return fired


class LocalTriggers:
    def __init__(self, server: Server) -> None:
        server.dispatcher.add("/hooks/", webhook_handler, "routines-webhook")
        server.dispatcher.add("/local/", local_handler, "routines-local")
        self.events = StatusEvents(server.aws)
        self.events.__enter__()
        self.cron = JournaledCron()
        self.cron.start()
        # Approval links the approval notifier sends point at this server.
        self._saved_base = os.environ.get(ENV_API_BASE_URL)
        os.environ[ENV_API_BASE_URL] = server.url

    def close(self) -> None:
        if self._saved_base is None:
            os.environ.pop(ENV_API_BASE_URL, None)
        else:
            os.environ[ENV_API_BASE_URL] = self._saved_base
        self.cron.stop()
        self.events.__exit__(None, None, None)
