"""``GET /executions/{id}/events``: an execution as Server-Sent Events — what they are and
how they are numbered: functions/control/events.py.

API Gateway (REST) cannot stream a response: on AWS one request answers the events so
far (with ``retry: 1000``) and closes; ``EventSource`` reconnects with ``Last-Event-ID``
and gets the next ones, and once the terminal event was delivered a reconnect is
answered ``204`` (which tells ``EventSource`` to stop). ``routines serve`` holds the
connection open and streams as the execution runs (``functions/serve/server.py``);
``X-Events-Complete: true`` marks an answer that ends with the terminal status.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header

from functions.api import context
from functions.api.responses import ERRORS
from functions.api.routes.executions import ExecutionId
from functions.control.events import execution_events, parse_id

router = Router()  # type: ignore[no-untyped-call]

EVENT_STREAM = "text/event-stream"
COMPLETE_HEADER = "X-Events-Complete"
RETRY_MS = 1000
EVENT_ID = r"^[0-9]{1,15}(\.[0-9]{1,6})?$"


@router.get(
    "/executions/<execution_id>/events",
    summary="The execution as Server-Sent Events: node starts and ends, status changes",
    description=(
        "`text/event-stream`; each event has an `id:` (stable, from the execution history) and "
        "`data:` JSON `{type: node|status, node, status, at, durationMs?, error?}`; the last one "
        "is the terminal status. Under `routines serve` the connection stays open until then; on "
        "AWS (API Gateway cannot stream) the answer holds the events so far and the client "
        "reconnects with `Last-Event-ID` (`EventSource` does so by itself); `204` once the "
        "terminal event was delivered. `X-Events-Complete: true`: this answer ends the stream."
    ),
    responses={
        200: {
            "description": "the events after Last-Event-ID (all of them without it)",
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
        },
        204: {"description": "the stream ended before Last-Event-ID's successor: nothing more will come"},
        **ERRORS,
    },
    tags=["executions"],
)
def execution_event_stream(
    execution_id: ExecutionId,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            pattern=EVENT_ID,
            description="the id of the last event received: only the ones after it are sent",
        ),
    ] = None,
) -> Response[str]:
    owner = context.owner(router.current_event)
    settings = context.settings(router.lambda_context)
    events = execution_events(context.services(), settings, owner, execution_id)
    complete = bool(events) and events[-1].terminal
    after = parse_id(last_event_id) if last_event_id else (-1, -1)
    if complete and after >= events[-1].seq:
        return Response(204, None, "")
    body = "".join(event.text() for event in events if event.seq > after)
    headers = {"Cache-Control": "no-cache"}
    if complete:
        headers[COMPLETE_HEADER] = "true"
    return Response(200, EVENT_STREAM, f"retry: {RETRY_MS}\n\n{body}", headers)
