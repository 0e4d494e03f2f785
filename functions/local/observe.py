"""Following one execution: its status, its history events as they come, its end.

On plain moto, through the Step Functions API (:class:`ApiObserver`, polling). With the
``interpreter-programs`` fast path, through moto's own record of it
(:class:`~functions.local.fastpaths.interpreter.InterpreterObserver`): ``describe_execution``
and ``get_execution_history`` through boto3 serialize the whole record on every call — a
poll every few milliseconds made following a long execution quadratic. Both give events
as botocore parses them (:func:`plain`; tests/functions/test_local_speed_paths.py holds
the two equal).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from botocore.utils import get_tzinfo_options, parse_timestamp

from functions.local import fastpaths
from functions.trace import execution_history

POLL_SECONDS = 0.02
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# moto's event timestamps (iso_8601_datetime_with_milliseconds of a UTC time)
MOTO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
LOCAL = get_tzinfo_options()[0]()  # the zone botocore reads epoch timestamps in
MAX_SECONDS = 4096  # UTC seconds whose local wall time is kept
MILLISECONDS = [timedelta(milliseconds=n) for n in range(1000)]


class ApiObserver:
    """An execution followed through the Step Functions API, as on plain moto: polls."""

    def __init__(self, client: Any, execution_arn: str) -> None:
        self.client = client
        self.arn = execution_arn

    def status(self) -> str:
        return str(self.client.describe_execution(executionArn=self.arn)["status"])

    def wait(self, seconds: float) -> bool:
        """True once the execution has ended (waits at most ``seconds``)."""
        deadline = time.monotonic() + seconds
        while self.status() not in TERMINAL:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(POLL_SECONDS, left))
        return True

    def events_since(self, seen: int) -> list[dict[str, Any]]:
        return self.history()[seen:]

    def history(self) -> list[dict[str, Any]]:
        return execution_history(self.client, self.arn)

    def close(self) -> None:
        return None


def observer(client: Any, execution_arn: str) -> Any:
    """The interpreter's own record of the execution where the ``interpreter-programs``
    fast path is engaged (it wakes the runner at the end); otherwise the API's."""
    if fastpaths.engaged("interpreter-programs"):
        from functions.local.fastpaths.interpreter import InterpreterObserver

        return InterpreterObserver(execution_arn)
    return ApiObserver(client, execution_arn)


def plain(event: dict[str, Any]) -> dict[str, Any]:
    """An event as botocore parses it: the type a string, the timestamp a datetime (moto
    keeps ISO-8601 text), no empty fields."""
    out = {key: value for key, value in event.items() if value is not None}
    kind = out["type"]
    out["type"] = str(getattr(kind, "value", kind))
    if isinstance(out.get("timestamp"), str):
        out["timestamp"] = timestamp(out["timestamp"])
    return out


def timestamp(text: str) -> datetime:
    """The datetime botocore gives for this event's timestamp: the API sends it as epoch
    seconds, which botocore reads in the local zone (``fromtimestamp(value, tzlocal())``).
    moto's own format is read directly (dateutil's parser is ~100 µs an event)."""
    if MOTO_TIMESTAMP.fullmatch(text):
        return local_time(text[:19], int(text[20:23]))
    return parse_timestamp(text)


# (id of the zone, UTC second) -> (the zone, so that its id stays its own; wall time; fold)
_walls: dict[tuple[int, str], tuple[tzinfo, datetime, int]] = {}
_walls_lock = threading.Lock()


def local_time(second: str, milliseconds: int, zone: tzinfo = LOCAL) -> datetime:
    """``datetime.fromisoformat(f"{second}.{milliseconds:03}").replace(tzinfo=UTC)
    .astimezone(zone)`` for a UTC second ``YYYY-MM-DDTHH:MM:SS``, with the conversion
    done once per second: dateutil's local zone takes ~15 µs a conversion, and a run's
    events fall within a few seconds. Its answer depends on the whole second only (it
    asks ``time.localtime``, which reads whole seconds, and its offsets are whole
    seconds), so each instant of a second is that second's wall time plus its
    milliseconds, with the same fold (tests/functions/test_local_observe.py compares the
    two across DST changes)."""
    key = (id(zone), second)
    known = _walls.get(key)
    if known is None or known[0] is not zone:
        wall = datetime.fromisoformat(second).replace(tzinfo=UTC).astimezone(zone)
        known = (zone, wall.replace(fold=0), wall.fold)
        with _walls_lock:
            if len(_walls) >= MAX_SECONDS:
                _walls.clear()
            _walls[key] = known
    _, wall, fold = known
    out = wall + MILLISECONDS[milliseconds]  # wall-clock arithmetic: same zone
    return out.replace(fold=1) if fold else out
