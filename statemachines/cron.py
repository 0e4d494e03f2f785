"""Five-field Unix cron → EventBridge Scheduler ``cron()``, and the next run times.

The two dialects differ where users get hurt:

* day-of-week is 0-7 with 0 and 7 = Sunday in Unix, 1-7 with 1 = Sunday in AWS, and AWS
  allows no ``/`` step there, so weekday sets are written out as lists;
* AWS wants ``?`` in exactly one of day-of-month / day-of-week. Unix runs a schedule that
  restricts both when *either* matches, which AWS cannot express, so we refuse it;
* AWS adds a year field (always ``*`` here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from contract.errors import RoutinesError

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(RoutinesError, ValueError):
    """A schedule that is not valid 5-field cron, or that AWS cannot run."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTH_NAMES, 1),
    _Field("day-of-week", 0, 7, DAY_NAMES, 0),
)
_ITEM = re.compile(r"^(?:(\*)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/([0-9]+))?$")


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed schedule: the matching values of each field, Unix numbering (Sunday = 0)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    def to_eventbridge(self) -> str:
        day = _render(self.days, 1, 31) if self.days_restricted else "*"
        weekday = (
            _render_list(sorted({d % 7 + 1 for d in self.weekdays})) if self.weekdays_restricted else "*"
        )
        if self.weekdays_restricted:
            day = "?"
        else:
            weekday = "?"
        fields = (
            _render(self.minutes, 0, 59),
            _render(self.hours, 0, 23),
            day,
            _render(self.months, 1, 12),
            weekday,
            "*",
        )
        return f"cron({' '.join(fields)})"

    def matches_day(self, moment: datetime) -> bool:
        if moment.month not in self.months:
            return False
        weekday = (moment.weekday() + 1) % 7  # Python: Monday = 0; Unix: Sunday = 0
        if self.days_restricted:
            return moment.day in self.days
        if self.weekdays_restricted:
            return weekday in self.weekdays
        return True

    def next_runs(self, after: datetime, count: int, timezone: str = "UTC") -> list[datetime]:
        """The next ``count`` run times strictly after ``after``, in the schedule's zone.

        Walks local calendar days (at most ~5 years), so a schedule that never fires ends.
        As EventBridge Scheduler does: a time a DST gap skips does not run; a repeated one
        runs once.
        """
        zone = ZoneInfo(timezone)
        start = after.astimezone(zone)
        runs: list[datetime] = []
        day = start.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        for _ in range(366 * 5):
            if self.matches_day(day):
                runs.extend(self._runs_on(day, zone, start, count - len(runs)))
                if len(runs) >= count:
                    break
            day += timedelta(days=1)
        return runs

    def _runs_on(self, day: datetime, zone: ZoneInfo, start: datetime, want: int) -> list[datetime]:
        out: list[datetime] = []
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                local = day.replace(hour=hour, minute=minute).replace(tzinfo=zone)
                if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
                    continue  # in a DST gap this wall-clock time does not exist: AWS skips it
                if local > start and local.fold == 0:
                    out.append(local)
                    if len(out) >= want:
                        return out
        return out


def parse_cron(expression: str) -> CronSchedule:
    text = MACROS.get(expression.strip().lower(), expression)
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}")
    values = [_parse_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in values[4])
    days_restricted, weekdays_restricted = parts[2] != "*", parts[4] != "*"
    if days_restricted and weekdays_restricted:
        raise CronError(
            "day-of-month and day-of-week are both set; Unix cron runs when either matches, "
            "which EventBridge cannot express: set one of them to '*'"
        )
    return CronSchedule(
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=weekdays,
        days_restricted=days_restricted,
        weekdays_restricted=weekdays_restricted,
    )


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    out: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise CronError(f"{spec.name}: '{item}' is not a value, range or step")
        star, first, last, step_text = match.groups()
        low = spec.low if star else _value(first, spec)
        high = spec.high if star or (step_text and last is None) else _value(last or first, spec)
        step = int(step_text) if step_text else 1
        if low > high:
            raise CronError(f"{spec.name}: range '{item}' runs backwards")
        if step < 1 or step > spec.high:
            raise CronError(f"{spec.name}: step in '{item}' must be between 1 and {spec.high}")
        out.update(range(low, high + 1, step))
    return frozenset(out)


def _value(token: str, spec: _Field) -> int:
    if token.isdigit():
        number = int(token)
    elif token.upper() in spec.names:
        number = spec.names.index(token.upper()) + spec.name_base
    else:
        raise CronError(f"{spec.name}: '{token}' is not a number or a name")
    if not spec.low <= number <= spec.high:
        raise CronError(f"{spec.name}: {number} is outside {spec.low}-{spec.high}")
    return number


def _render(values: frozenset[int], low: int, high: int) -> str:
    ordered = sorted(values)
    if ordered == list(range(low, high + 1)):
        return "*"
    if len(ordered) >= 3:
        step = ordered[1] - ordered[0]
        if step > 1 and ordered == list(range(ordered[0], high + 1, step)):
            return f"{ordered[0]}/{step}"
    return _render_list(ordered)


def _render_list(ordered: list[int]) -> str:
    """``[1, 2, 3, 5]`` → ``"1-3,5"``: ranges and lists are valid in every AWS cron field."""
    runs: list[str] = []
    start = prev = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == prev + 1:
            prev = value
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ",".join(runs)
