"""The local cron scheduler of ``routines serve``: fires each active cron routine on time
in its timezone, by the same next-run rule activation reports (``statemachines.cron``:
a time a DST gap skips does not run, a repeated one runs once — as EventBridge Scheduler).

A missed occurrence (the server was stopped, or busy) fires once, late, with the
``scheduledTime`` it was due at; earlier missed ones are not replayed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from functions.store import ExecutionRecord, ExecutionStore
from functions.triggers.active import ActiveRoutine, active_routines
from functions.triggers.start import RunMeta, start_execution
from plugins.runtime.aws import client
from statemachines.cron import parse_cron

TICK_SECONDS = 0.5


def cron_trigger_data(trigger: dict[str, Any], scheduled: datetime) -> dict[str, Any]:
    """What a cron routine sees as ``trigger`` (the shape the Scheduler target input has)."""
    return {
        "type": "cron",
        "schedule": trigger["schedule"],
        "timezone": trigger.get("timezone", "UTC"),
        "scheduledTime": scheduled.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def next_run(trigger: dict[str, Any], after: datetime) -> datetime | None:
    runs = parse_cron(trigger["schedule"]).next_runs(after, 1, trigger.get("timezone", "UTC"))
    return runs[0] if runs else None


def fire(routine: ActiveRoutine, scheduled: datetime, name: str | None = None) -> ExecutionRecord:
    meta = RunMeta(routine.owner, routine.routine_id, routine.version, "cron")
    data = cron_trigger_data(routine.trigger, scheduled)
    return start_execution(
        client("stepfunctions"), ExecutionStore(), routine.state_machine_arn, meta, data, name
    )


class CronScheduler:
    """``tick(now)`` fires what is due; ``start()`` ticks in a thread until ``stop()``."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.due: dict[tuple[str, str, int], datetime | None] = {}
        self.fired: list[ExecutionRecord] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self, now: datetime | None = None) -> list[ExecutionRecord]:
        now = now or self.clock()
        fired: list[ExecutionRecord] = []
        routines = active_routines("cron")
        current = {(r.owner, r.routine_id, r.version) for r in routines}
        for key in [k for k in self.due if k not in current]:
            del self.due[key]  # deactivated, or a new version activated
        for routine in routines:
            key = (routine.owner, routine.routine_id, routine.version)
            if key not in self.due:
                self.due[key] = next_run(routine.trigger, now)
                continue
            scheduled = self.due[key]
            if scheduled is None or scheduled > now:
                continue
            # One execution per occurrence: the name makes a repeat an idempotent no-op.
            fired.append(fire(routine, scheduled, name=f"cron-{int(scheduled.timestamp())}"))
            self.due[key] = next_run(routine.trigger, now)
        self.fired += fired
        return fired

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cron-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:  # the local AWS may be going away; try again next tick
                continue
