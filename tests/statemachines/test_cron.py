"""5-field Unix cron → EventBridge Scheduler cron(), and next runs in a timezone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from statemachines.cron import CronError, parse_cron


@pytest.mark.parametrize(
    "unix,aws",
    [
        ("*/5 * * * *", "cron(0/5 * * * ? *)"),
        ("0 9 * * *", "cron(0 9 * * ? *)"),
        ("30 2 1 * *", "cron(30 2 1 * ? *)"),  # day-of-month set → day-of-week is '?'
        ("0 9 * * 1-5", "cron(0 9 ? * 2-6 *)"),  # Mon-Fri: Unix 1-5 is AWS 2-6, day-of-month '?'
        ("0 0 * * 0", "cron(0 0 ? * 1 *)"),  # Sunday: Unix 0 is AWS 1
        ("0 0 * * 7", "cron(0 0 ? * 1 *)"),  # Unix also allows 7 for Sunday
        ("0 0 * * 6,0", "cron(0 0 ? * 1,7 *)"),  # weekend
        ("0 12 * * */2", "cron(0 12 ? * 1,3,5,7 *)"),  # AWS has no '/' in day-of-week: listed
        ("0 8 * * MON-FRI", "cron(0 8 ? * 2-6 *)"),
        ("0 8 * jan,JUL sun", "cron(0 8 ? 1,7 1 *)"),
        ("15 3 */10 * *", "cron(15 3 1/10 * ? *)"),
        ("0 0-6,18-23 * * *", "cron(0 0-6,18-23 * * ? *)"),
        ("5/15 * * * *", "cron(5/15 * * * ? *)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("@weekly", "cron(0 0 ? * 1 *)"),
    ],
)
def test_conversion_to_eventbridge(unix: str, aws: str) -> None:
    assert parse_cron(unix).to_eventbridge() == aws


@pytest.mark.parametrize(
    "bad",
    [
        "* * * *",
        "* * * * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 8",
        "5-1 * * * *",
        "*/0 * * * *",
        "a * * * *",
        "* * * * FUNDAY",
        "1,,2 * * * *",
        "0 9 1 * MON",  # both days set: Unix ORs them, AWS cannot
    ],
)
def test_invalid_schedules(bad: str) -> None:
    with pytest.raises(CronError):
        parse_cron(bad)


def test_both_days_error_explains_the_aws_rule() -> None:
    with pytest.raises(CronError, match="either matches"):
        parse_cron("0 9 15 * 1")


def test_next_runs_in_timezone() -> None:
    runs = parse_cron("0 9 * * 1-5").next_runs(datetime(2026, 11, 20, 12, tzinfo=UTC), 3, "Europe/Berlin")
    assert [r.isoformat() for r in runs] == [
        "2026-11-23T09:00:00+01:00",
        "2026-11-24T09:00:00+01:00",
        "2026-11-25T09:00:00+01:00",
    ]


def test_next_runs_skip_a_time_inside_the_dst_gap() -> None:
    # Berlin jumps from 02:00 to 03:00 on 2026-03-29: 02:30 does not exist that day.
    runs = parse_cron("30 2 * * *").next_runs(datetime(2026, 3, 27, 12, tzinfo=UTC), 3, "Europe/Berlin")
    assert [r.date().isoformat() for r in runs] == ["2026-03-28", "2026-03-30", "2026-03-31"]


def test_next_runs_of_a_repeated_hour_fire_once() -> None:
    # Berlin repeats 02:00-03:00 on 2026-10-25.
    runs = parse_cron("30 2 * * *").next_runs(datetime(2026, 10, 24, 12, tzinfo=UTC), 2, "Europe/Berlin")
    assert [r.isoformat() for r in runs] == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]


def test_schedule_that_never_fires_has_no_runs() -> None:
    assert parse_cron("0 0 31 2 *").next_runs(datetime(2026, 1, 1, tzinfo=UTC), 1) == []


def test_leap_day_fires() -> None:
    runs = parse_cron("0 0 29 2 *").next_runs(datetime(2026, 1, 1, tzinfo=UTC), 1)
    assert runs[0].date().isoformat() == "2028-02-29"
