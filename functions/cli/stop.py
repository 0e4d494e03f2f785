"""``routines stop EXECUTION_ID [--reason TEXT]``: stop a running execution through the API
(``POST /executions/{id}/stop``). It ends ABORTED; its record says who stopped it and why.

Exit codes as every client command: 0 stopped, 1 the API refused it (not running any more:
409; unknown or another user's execution: 404), 2 usage errors and an API that cannot be
reached.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from urllib.parse import quote

MAX_REASON = 1000  # as the API (functions.store.executions.MAX_STOP_REASON)


def add_stop_command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    client_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    stop = commands.add_parser("stop", help="stop a running execution through the API")
    stop.add_argument("execution_id", metavar="EXECUTION_ID")
    stop.add_argument(
        "--reason", metavar="TEXT", help=f"why (shown in the record; at most {MAX_REASON} chars)"
    )
    client_options(stop)
    stop.set_defaults(handler=cmd_stop)


def cmd_stop(args: argparse.Namespace) -> int:
    from functions.cli.errors import UsageError
    from functions.cli.main import client_call

    if args.reason is not None and len(args.reason) > MAX_REASON:
        raise UsageError(f"--reason is {len(args.reason):,} characters; at most {MAX_REASON:,}")
    body = {"reason": args.reason} if args.reason is not None else {}
    path = f"/executions/{quote(args.execution_id, safe=':')}/stop"
    return client_call(
        args, "POST", path, body, lambda answer: print(f"{answer['executionId']}  {answer['status']}")
    )
