"""Following one execution through moto's own record of it, instead of boto3 polls.

``describe_execution`` and ``get_execution_history`` through boto3 serialize the whole
record on every call — a poll every few milliseconds made following a long execution
quadratic. The runner instead waits for the execution's end (a wake-up from the
interpreter, see :mod:`functions.local.accelerate`) and reads new history events
straight from the interpreter's event list — the very list ``get_execution_history`` copies and serializes
(tests/functions/test_local_speed_paths.py holds the two equal).
"""

from __future__ import annotations

import copy
import re
import threading
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from botocore.utils import get_tzinfo_options, parse_timestamp
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from functions.local import accelerate

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# moto's event timestamps (iso_8601_datetime_with_milliseconds of a UTC time)
MOTO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
LOCAL = get_tzinfo_options()[0]()  # the zone botocore reads epoch timestamps in
MAX_SECONDS = 4096  # UTC seconds whose local wall time is kept
MILLISECONDS = [timedelta(milliseconds=n) for n in range(1000)]


class Observer:
    def __init__(self, execution_arn: str) -> None:
        parts = execution_arn.split(":")
        self.arn = execution_arn
        self.ended = accelerate.ended_event(execution_arn)  # before the first status read
        backend = stepfunctions_parser_backends[parts[4]][parts[3]]
        self.execution: Any = backend.describe_execution(execution_arn)

    def status(self) -> str:
        status = self.execution.exec_status
        return str(status.value) if status is not None else "RUNNING"

    def wait(self, seconds: float) -> bool:
        """True once the execution has ended (waits at most ``seconds``)."""
        return self.status() in TERMINAL or self.ended.wait(seconds) or self.status() in TERMINAL

    def events_since(self, seen: int) -> list[dict[str, Any]]:
        """History events after the first ``seen``, copied under the interpreter's lock
        (deeply while it may still write to them)."""
        worker = self.execution.exec_worker
        env = worker.env if worker is not None else None
        if env is None:
            return []
        manager = env.event_manager
        with manager._mutex:
            events = manager._history_event_list[seen:]
            return events if self.status() in TERMINAL else copy.deepcopy(events)

    def history(self) -> list[dict[str, Any]]:
        """The whole history as ``get_execution_history`` returns it (event types as plain
        strings), without serializing it through the API."""
        return [plain(event) for event in self.events_since(0)]

    def close(self) -> None:
        accelerate.forget(self.arn)


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
