"""The runner reads moto's event times as botocore would: the local wall time of each
UTC instant, worked out once per second, equals dateutil's conversion of the instant
itself — fold included — at every second around DST changes, in zones whose changes
fall on the hour and on the half hour."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.tz import tzlocal

from functions.local.observe import LOCAL, local_time, timestamp

CHANGES = {  # UTC instants at which the zone's offset changes
    "America/New_York": ["2026-03-08T07:00:00", "2026-11-01T06:00:00"],
    "Australia/Lord_Howe": ["2026-04-04T15:00:00", "2026-10-03T15:30:00"],
    "UTC": ["2026-06-01T00:00:00"],
}


@pytest.fixture
def zone(request: pytest.FixtureRequest) -> Iterator[tzlocal]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield tzlocal()
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def seconds_around(change: str) -> Iterator[datetime]:
    """Every second from two minutes before to two after, and around the hour after
    (a fall-back's repeated hour)."""
    at = datetime.fromisoformat(change)
    for start in (at - timedelta(minutes=2), at + timedelta(minutes=58)):
        for n in range(240):
            yield start + timedelta(seconds=n)


@pytest.mark.parametrize(
    ("zone", "name"), [(name, name) for name in CHANGES], indirect=["zone"], ids=list(CHANGES)
)
def test_wall_times_per_second_equal_dateutils_per_instant(zone: tzlocal, name: str) -> None:
    draw = random.Random(name)
    folds = set()
    for change in CHANGES[name]:
        for second in seconds_around(change):
            for milliseconds in (0, 999, draw.randrange(1000)):
                instant = second + timedelta(milliseconds=milliseconds)
                expected = instant.replace(tzinfo=UTC).astimezone(zone)
                mine = local_time(second.isoformat(), milliseconds, zone)
                assert mine == expected
                assert (repr(mine), mine.fold, mine.utcoffset()) == (
                    repr(expected),
                    expected.fold,
                    expected.utcoffset(),
                )
                folds.add(mine.fold)
    if name == "America/New_York":
        assert folds == {0, 1}  # the repeated hour was met


def test_moto_timestamps_read_in_the_local_zone() -> None:
    read = timestamp("2026-11-22T05:51:02.579Z")
    assert read == datetime(2026, 11, 22, 5, 51, 2, 579000, tzinfo=UTC)
    assert read.tzinfo is LOCAL
    assert timestamp("2026-11-22T05:51:02+00:00") == datetime(2026, 11, 22, 5, 51, 2, tzinfo=UTC)
