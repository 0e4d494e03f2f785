"""The execution-record repository on moto's DynamoDB: owner scoping, no regressions,
newest-first pages with a status filter and opaque tokens, big bodies in S3."""

from __future__ import annotations

import pytest

from functions.local import LocalAWS
from functions.store import ExecutionRecord, ExecutionStore, InvalidListQuery, InvalidTokenError


@pytest.fixture
def store(aws: LocalAWS) -> ExecutionStore:
    return ExecutionStore()


def running(execution_id: str, started: float = 1_700_000_000.0, **fields: object) -> ExecutionRecord:
    base: dict[str, object] = {"owner_id": "alice", "routine_id": "r1", "status": "RUNNING"}
    return ExecutionRecord(execution_id=execution_id, started_at=started, **{**base, **fields})  # type: ignore[arg-type]


def test_get_is_scoped_to_the_owner(store: ExecutionStore) -> None:
    assert store.record(running("e1", version=3, trigger_type="webhook", trigger={"body": {"a": 1}}))
    record = store.get("alice", "e1")
    assert record is not None
    assert (record.status, record.version, record.trigger_type, record.trigger) == (
        "RUNNING",
        3,
        "webhook",
        {"body": {"a": 1}},
    )
    assert store.get("mallory", "e1") is None
    assert store.get("alice", "missing") is None


def test_running_after_succeeded_stays_succeeded(store: ExecutionStore) -> None:
    assert store.record(running("e1"))
    done = running("e1", status="SUCCEEDED", stopped_at=1_700_000_002.5, output={"x": 1}, nodes={"a": {}})
    assert store.record(done)
    assert not store.record(running("e1"))
    record = store.get("alice", "e1")
    assert record is not None
    assert (record.status, record.output, record.duration_ms) == ("SUCCEEDED", {"x": 1}, 2500.0)


def test_first_terminal_status_wins_and_redelivery_is_a_no_op(store: ExecutionStore) -> None:
    assert store.record(running("e1", status="FAILED", error={"type": "Boom", "message": "m"}))
    assert not store.record(running("e1", status="FAILED", error={"type": "Other", "message": ""}))
    assert not store.record(running("e1", status="SUCCEEDED", output=1))
    record = store.get("alice", "e1")
    assert record is not None
    assert (record.status, record.error, record.output) == ("FAILED", {"type": "Boom", "message": "m"}, None)


def test_a_redriven_execution_may_run_again(store: ExecutionStore) -> None:
    assert store.record(running("e1", status="FAILED"))
    assert store.record(running("e1", redrive_count=1))
    assert store.record(running("e1", status="SUCCEEDED", redrive_count=1))
    record = store.get("alice", "e1")
    assert record is not None and record.status == "SUCCEEDED"


def test_list_newest_first_with_status_filter_and_pages(store: ExecutionStore) -> None:
    for i in range(5):
        status = "FAILED" if i % 2 else "SUCCEEDED"
        store.record(running(f"e{i}", started=1_700_000_000.0 + i, status=status))
    store.record(running("other", routine_id="r2"))
    store.record(running("theirs", owner_id="bob"))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = store.list("alice", "r1", limit=2, next_token=token)
        seen += [r.execution_id for r in page.items]
        pages += 1
        token = page.next_token
        if token is None:
            break
    assert seen == ["e4", "e3", "e2", "e1", "e0"]
    assert pages == 3
    failed = store.list("alice", "r1", status="FAILED")
    assert [r.execution_id for r in failed.items] == ["e3", "e1"]
    assert failed.next_token is None
    # the status index follows status changes
    store.record(running("e5", started=1_700_000_010.0))
    assert [r.execution_id for r in store.list("alice", "r1", status="RUNNING").items] == ["e5"]
    store.record(running("e5", started=1_700_000_010.0, status="FAILED"))
    assert store.list("alice", "r1", status="RUNNING").items == []
    assert [r.execution_id for r in store.list("alice", "r1", status="FAILED").items] == ["e5", "e3", "e1"]


def test_list_summaries_carry_no_bodies(store: ExecutionStore) -> None:
    store.record(running("e1", status="SUCCEEDED", output={"big": "x"}, nodes={"n": {"status": "succeeded"}}))
    (item,) = store.list("alice", "r1").items
    assert item.output is None and item.nodes is None
    assert set(item.summary()) >= {"executionId", "status", "startedAt", "durationMs", "triggerType"}


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"status": "DONE"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"next_token": "%%%not-base64"}, "nextToken"),
        ({"next_token": "eyJhIjogMX0"}, "nextToken"),  # valid base64 JSON, not a key
    ],
)
def test_bad_list_queries_are_refused_with_the_parameter(
    store: ExecutionStore, kwargs: dict[str, object], path: str
) -> None:
    with pytest.raises((InvalidListQuery, InvalidTokenError)) as caught:
        store.list("alice", "r1", **kwargs)  # type: ignore[arg-type]
    assert caught.value.path == path


def test_a_token_from_another_query_is_refused(store: ExecutionStore) -> None:
    for i in range(3):
        store.record(running(f"e{i}", started=1_700_000_000.0 + i))
    token = store.list("alice", "r1", limit=1).next_token
    assert token is not None
    with pytest.raises(InvalidTokenError):
        store.list("bob", "r1", next_token=token)
    with pytest.raises(InvalidTokenError):
        store.list("alice", "r1", status="RUNNING", next_token=token)


def test_big_bodies_live_in_the_payload_bucket(store: ExecutionStore, aws: LocalAWS) -> None:
    big = {"blob": "x" * 400_000}
    assert store.record(running("e1", status="SUCCEEDED", output=big, trigger={"t": 1}))
    record = store.get("alice", "e1")
    assert record is not None
    assert record.output == big and record.trigger == {"t": 1}
    item = aws.client("dynamodb").get_item(TableName=store.table, Key={"executionId": {"S": "e1"}})["Item"]
    assert "bodyRef" in item and "output" not in item


def test_reruns_are_linked_on_the_original(store: ExecutionStore) -> None:
    store.record(running("e1", status="FAILED"))
    store.record(running("e2", rerun_of="e1"))
    store.link_rerun("e1", "e2")
    store.link_rerun("e1", "e3")
    original, rerun = store.get("alice", "e1"), store.get("alice", "e2")
    assert original is not None and rerun is not None
    assert original.reruns == ["e2", "e3"] and rerun.rerun_of == "e1"
    assert original.status == "FAILED"


def test_a_later_write_keeps_the_bodies_it_does_not_know(store: ExecutionStore) -> None:
    big = {"blob": "y" * 400_000}
    assert store.record(running("e1", trigger=big))  # offloaded to the bucket
    assert store.record(running("e1", status="SUCCEEDED", output={"ok": True}, nodes={"a": {}}))
    record = store.get("alice", "e1")
    assert record is not None
    assert (record.trigger, record.output, record.nodes) == (big, {"ok": True}, {"a": {}})
    store.record(running("e2", trigger={"small": 1}))
    store.record(running("e2", status="FAILED", error={"type": "X", "message": ""}))
    second = store.get("alice", "e2")
    assert second is not None and second.trigger == {"small": 1} and second.status == "FAILED"
