"""While a caller waits for a local execution, threads take the GIL in longer turns; the
interval the process had is restored when the last waiter is done."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import plugins.runtime.handler as plugin_handler
from functions.local import LocalAWS, run_routine, slices
from tests.conftest import link, routine


@pytest.fixture
def interval() -> Iterator[float]:
    saved = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        yield 0.005
    finally:
        sys.setswitchinterval(saved)


def test_turns_are_longer_while_a_caller_waits_then_as_they_were(interval: float) -> None:
    entered, release = threading.Event(), threading.Event()

    def other_waiter() -> None:
        with slices.long_slices():
            entered.set()
            release.wait(5)

    with slices.long_slices():
        assert sys.getswitchinterval() == pytest.approx(slices.SLICE_SECONDS)
        other = threading.Thread(target=other_waiter)
        other.start()
        assert entered.wait(5)
    # the first waiter is done, the other still waits: the turns stay long
    assert sys.getswitchinterval() == pytest.approx(slices.SLICE_SECONDS)
    release.set()
    other.join(5)
    assert sys.getswitchinterval() == pytest.approx(interval)


def test_a_longer_interval_set_by_the_process_is_kept(interval: float) -> None:
    sys.setswitchinterval(0.5)
    with slices.long_slices():
        assert sys.getswitchinterval() == pytest.approx(0.5)
    assert sys.getswitchinterval() == pytest.approx(0.5)


def test_a_loop_waited_for_runs_in_long_turns(
    aws: LocalAWS, interval: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[float] = []
    invoke = plugin_handler.invoke

    def recorded(*args: Any, **kwargs: Any) -> Any:
        seen.append(sys.getswitchinterval())
        return invoke(*args, **kwargs)

    monkeypatch.setattr(plugin_handler, "invoke", recorded)
    document = routine(
        {"id": "order", "plugin": "static-data", "parameters": {"data": {"items": [1, 2, 3]}}},
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ nodes.order.items }}"}},
        {"id": "row", "plugin": "transform", "parameters": {"fields": {"n": "{{ loop.item }}"}}},
        connections=[link("order", "each"), link("each", "row", "body")],
    )
    result = run_routine(aws, document)
    assert result.status == "SUCCEEDED" and [row["n"] for row in result.output["each"]] == [1, 2, 3]
    assert seen[1:] == [pytest.approx(slices.SLICE_SECONDS)] * 3  # the loop's rows (the first
    # node may run before the caller starts waiting)
    assert sys.getswitchinterval() == pytest.approx(interval)
