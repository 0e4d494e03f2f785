"""``routines serve --state-dir``: keep routines and execution records across restarts —
and across a crash (``kill -9``).

moto's state lives in the server process, so it is saved as data and replayed. The
directory holds two kinds of file:

- ``state.json``, a snapshot: the routines, execution-record and idempotency tables, the
  execution-record bodies kept in the payload bucket, and the webhook secrets. Written
  whole to a temporary file, flushed to disk, then renamed over the previous one: a crash
  leaves the old snapshot or the new one, never part of one. A mutating API request is
  answered once a snapshot taken after it is on disk; requests that arrive meanwhile share
  the next snapshot (group commit), so the cost is one scan per batch of requests.
- ``journal-<n>.jsonl``: each execution record written outside a request — by the
  recorder (terminal statuses, settled Express records), the cron scheduler, and an
  Express machine itself (its own RUNNING and end: the end settled by the recorder as it
  is written, :func:`record_status`) — is read back after the write and appended as one
  JSON line before the writer goes on — under the server's request lock, so no request
  can show a record that is not on disk yet. Saving the whole state for
  each of those writes would be too slow: a snapshot costs a scan of every kept table
  (~55 ms for 200 executions, growing with every execution kept) and the recorder writes
  a record per execution, on a pool of four threads; an append costs ~0.4 ms (one read,
  one ``write``) whatever the size of the state. Each snapshot starts a new journal and
  names it; older journals are then deleted. A snapshot is also taken, in the
  background, once a journal has :data:`COMPACT_AFTER` lines.

Journal lines are handed to the operating system before the writer goes on: they survive
the process being killed; a power cut may lose the last ones (snapshots are fsync'd).

At start (:func:`read`, then :func:`restore`) the snapshot is put back and the journals
after it replayed in order (a last line cut short by a crash is ignored); every routine
that was active is activated again — same state machine names, schedules and rules, the
same webhook secrets; and every execution still RUNNING is closed ``ABORTED`` with the
error ``Routines.LocalServerStopped``: the new process cannot resume it (Step Functions'
own executions, their histories and their waiting task tokens are not kept), and an
aborted execution can be re-run. Node logs and approval tokens are working data of those
executions and are not kept either.

A damaged file stops the start with :class:`StateFileError`: one line naming the file and
what is wrong with it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from contract.errors import RoutinesError
from contract.names import (
    EXECUTIONS_TABLE,
    IDEMPOTENCY_TABLE,
    PAYLOAD_BUCKET,
    RECORDS_PREFIX,
    ROUTINES_TABLE,
)
from contract.problems import json_type_name
from functions import activation
from functions.activation import Settings
from functions.local import LocalAWS
from functions.recorder import Recorder
from functions.recorder.error_routines import StoredErrorRoutines
from functions.recorder.failures import FailedExecutions
from functions.recorder.handler import StoredRoutines
from functions.recorder.handler import lambda_handler as recorder_handler
from functions.recorder.recorder import stream_images
from functions.store import RoutineStore
from functions.store.executions import ExecutionRecord, ExecutionStore

logger = Logger(service="routines-serve", child=True)
FILE = "state.json"
FORMAT = 1
JOURNAL = "journal-{}.jsonl"
_JOURNAL_NAME = re.compile(r"^journal-(\d{1,12})\.jsonl$")
# What outlives the process. Node logs and approval tokens belong to executions, which do
# not (older state files may hold them: they are skipped).
KEPT_TABLES = (ROUTINES_TABLE.name, EXECUTIONS_TABLE.name, IDEMPOTENCY_TABLE.name)
COMPACT_AFTER = 500  # journal lines before a background snapshot folds them in
HANDLER = "functions.serve.state.record_status"  # the recorder, as routines serve runs it
STOPPED_ERROR = {
    "type": "Routines.LocalServerStopped",
    "message": "the local server stopped while this execution ran",
}
ATTRIBUTE_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})


class StateFileError(RoutinesError):
    """A state file that cannot be used; the message is one line naming the file."""


# -- snapshot encoding ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """DynamoDB-JSON with binary values made JSON-safe (``bytes`` → ``{"__b64__": str}``)."""
    if isinstance(value, bytes):
        return {"__b64__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"], validate=True)
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return value


def _encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- reading (before the local AWS starts: a damaged file fails fast) ----------------------


@dataclass
class Saved:
    """What a state directory holds, checked: typed items per table, then the journals'
    writes in the order they were made."""

    directory: Path
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    objects: dict[str, bytes] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    journal: int = 0  # the first journal the snapshot does not contain
    writes: list[tuple[str, dict[str, Any], dict[str, bytes], str]] = field(default_factory=list)
    last_journal: int = 0


def _journals(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        match = _JOURNAL_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def read(directory: Path) -> Saved | None:
    """The state kept in ``directory``, or None when there is none yet."""
    path = directory / FILE
    try:
        journals = _journals(directory) if directory.is_dir() else []
        exists = path.exists()
    except OSError as exc:
        raise StateFileError(f"{directory}: cannot read the state directory: {exc.strerror or exc}") from None
    if not exists and not journals:
        return None
    saved = Saved(directory)
    if exists:
        _read_snapshot(path, saved)
    for number, journal in journals:
        saved.last_journal = max(saved.last_journal, number)
        if number >= saved.journal:
            _read_journal(journal, saved)
    return saved


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise StateFileError(f"{path}: is a directory, not a state file") from None
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateFileError(f"{path}: not UTF-8 text (byte {exc.start}); not a state file") from None


def _json(path: Path, text: str, where: str = "") -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # Unterminated: a string or value still open at the end of the text.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise StateFileError(
                f"{path}: {where}cut short: the JSON ends after {len(text)} bytes, inside a value"
            ) from None
        raise StateFileError(
            f"{path}: {where}not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None


def _read_snapshot(path: Path, saved: Saved) -> None:
    text = _text(path)
    if not text.strip():
        raise StateFileError(f"{path}: the file is empty")
    state = _json(path, text)
    if not isinstance(state, dict):
        raise StateFileError(
            f"{path}: expected a JSON object with 'format' and 'tables', found {json_type_name(state)}"
        )
    if state.get("format") != FORMAT:
        raise StateFileError(
            f"{path}: unknown state format {state.get('format')!r} (this version reads format {FORMAT})"
        )
    tables = state.get("tables")
    if not isinstance(tables, dict):
        raise StateFileError(
            f"{path}: 'tables' must be an object of table name → items, found {json_type_name(tables)}"
        )
    for name, items in tables.items():
        if not isinstance(items, list):
            found = json_type_name(items)
            raise StateFileError(f"{path}: tables.{name} must be a list of items, found {found}")
        if name not in KEPT_TABLES:
            continue
        saved.tables[name] = [_item(path, item, f"tables.{name}[{i}]") for i, item in enumerate(items)]
    secrets = state.get("webhookSecrets", {})
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        raise StateFileError(f"{path}: 'webhookSecrets' must be an object of name → secret text")
    saved.secrets = dict(secrets)
    saved.objects = _objects(path, state.get("objects", {}), "objects")
    journal = state.get("journal", 0)
    if not isinstance(journal, int) or isinstance(journal, bool) or journal < 0:
        raise StateFileError(f"{path}: 'journal' must be a journal number, found {journal!r}")
    saved.journal = journal


def _read_journal(path: Path, saved: Saved) -> None:
    text = _text(path)
    lines = text.split("\n")
    # A crash while appending cuts the last line short (no newline after it): that write
    # had not happened yet. Anything else unreadable is damage.
    complete, tail = lines[:-1], lines[-1]
    for number, line in enumerate(complete, start=1):
        where = f"line {number}: "
        entry = _json(path, line, where)
        if not isinstance(entry, dict) or not isinstance(entry.get("table"), str):
            raise StateFileError(
                f"{path}: {where}expected an object with 'table' and 'item', found {json_type_name(entry)}"
            )
        item = _item(path, entry.get("item"), f"{where}item")
        objects = _objects(path, entry.get("objects", {}), f"{where}objects")
        if entry["table"] in KEPT_TABLES:
            saved.writes.append((entry["table"], item, objects, f"{path}: line {number}"))
    if tail.strip():
        logger.warning("ignored the last journal line, cut short by a crash", extra={"journal": str(path)})


def _objects(path: Path, objects: Any, where: str) -> dict[str, bytes]:
    if not isinstance(objects, dict) or not all(isinstance(v, str) for v in objects.values()):
        raise StateFileError(f"{path}: {where} must be an object of key → base64 text")
    try:
        return {key: base64.b64decode(value, validate=True) for key, value in objects.items()}
    except binascii.Error:
        raise StateFileError(f"{path}: {where}: a value is not base64") from None


def _item(path: Path, item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not item:
        raise StateFileError(
            f"{path}: {where} is not a DynamoDB item (an object of attributes), but {json_type_name(item)}"
        )
    for name, value in item.items():
        problem = _attribute_problem(value)
        if problem:
            raise StateFileError(f"{path}: {where}.{name} is not a DynamoDB attribute value: {problem}")
    try:
        typed: dict[str, Any] = _typed(item)
    except binascii.Error:
        raise StateFileError(f"{path}: {where}: a binary value is not base64") from None
    return typed


def _attribute_problem(value: Any) -> str:
    """Why ``value`` is not DynamoDB-JSON (as :func:`_plain` writes it); empty when it is."""
    if not isinstance(value, dict) or len(value) != 1:
        return f"expected an object with one type key, found {json_type_name(value)}"
    ((kind, inner),) = value.items()
    if kind not in ATTRIBUTE_TYPES:
        return f"unknown type {kind!r}"
    binary = isinstance(inner, dict) and set(inner) == {"__b64__"} and isinstance(inner["__b64__"], str)
    expected: dict[str, bool] = {
        "S": isinstance(inner, str),
        "N": isinstance(inner, str),
        "B": binary,
        "BOOL": isinstance(inner, bool),
        "NULL": inner is True,
        "SS": isinstance(inner, list) and all(isinstance(v, str) for v in inner),
        "NS": isinstance(inner, list) and all(isinstance(v, str) for v in inner),
        "BS": isinstance(inner, list) and all(isinstance(v, dict) and set(v) == {"__b64__"} for v in inner),
        "M": isinstance(inner, dict),
        "L": isinstance(inner, list),
    }
    if not expected[kind]:
        return f"{kind} holds {json_type_name(inner)}"
    if kind == "M":
        return next((f"{k}: {p}" for k, v in inner.items() if (p := _attribute_problem(v))), "")
    if kind == "L":
        return next((f"[{i}]: {p}" for i, v in enumerate(inner) if (p := _attribute_problem(v))), "")
    return ""


# -- restoring (on the local AWS) ----------------------------------------------------------


@dataclass
class Restored:
    activated: int = 0
    aborted: int = 0


def restore(aws: LocalAWS, saved: Saved) -> Restored:
    """Put ``saved`` back: tables, bodies, secrets, then the journals' writes in order;
    close the executions that were running; activate the routines that were active."""
    db = aws.client("dynamodb")
    existing = set(db.list_tables()["TableNames"])
    s3 = aws.client("s3")
    source = saved.directory / FILE
    for name, items in saved.tables.items():
        if name in existing:
            for index, item in enumerate(items):
                _put(db, name, item, f"{source}: tables.{name}[{index}]")
    for key, data in saved.objects.items():
        s3.put_object(Bucket=PAYLOAD_BUCKET, Key=key, Body=data)
    manager = aws.client("secretsmanager")
    for name, value in saved.secrets.items():
        manager.create_secret(Name=name, SecretString=value)
    for name, item, objects, where in saved.writes:
        for key, data in objects.items():
            s3.put_object(Bucket=PAYLOAD_BUCKET, Key=key, Body=data)
        if name in existing:
            _put(db, name, item, where)
    result = Restored(aborted=_close_interrupted(aws))
    store, settings = RoutineStore(), Settings.from_env()
    for item in _scan(aws, store.table):
        sk, owner, routine_id = (item.get(k, {}).get("S") for k in ("sk", "ownerId", "routineId"))
        active = item.get("activeVersion", {}).get("N")
        if not (sk and sk.startswith("R#") and owner and routine_id and active and active.isdigit()):
            continue
        try:
            activation.activate(store, owner, routine_id, settings, version=int(active))
            result.activated += 1
        except Exception:  # one routine that no longer activates must not keep the server down
            logger.exception("could not re-activate a saved routine", extra={"routineId": routine_id})
    return result


def _put(db: Any, table: str, item: dict[str, Any], where: str) -> None:
    try:
        db.put_item(TableName=table, Item=item)
    except (ClientError, BotoCoreError) as exc:
        reason = " ".join(str(exc).split())
        raise StateFileError(f"{where}: DynamoDB refuses this item: {reason}") from None


def _scan(aws: LocalAWS, table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=table, **kwargs):
        yield from page["Items"]


def _close_interrupted(aws: LocalAWS) -> int:
    """Every execution still RUNNING ran in a process that is gone: nothing will ever
    finish it. Closed ABORTED (which can be re-run) with the reason."""
    store = ExecutionStore()
    now, closed = time.time(), 0
    running = _scan(
        aws,
        store.table,
        FilterExpression="#s = :running",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":running": {"S": "RUNNING"}},
    )
    for item in list(running):
        record = store.find(item["executionId"]["S"])
        if record is None or record.terminal:
            continue
        closed += store.record(record.aborted(dict(STOPPED_ERROR), now))
    return closed


# -- saving while serving ------------------------------------------------------------------


class Durable:
    """A state directory being written: snapshots (group commit) and the journal.

    ``commit()`` returns once a snapshot taken after the call is on disk; ``journal()``
    appends an execution record as it is now. One instance per serving process
    (:attr:`current`, which :func:`record_status` uses). ``guard`` is held while a record
    is written and journaled outside a request: the server's request lock, so that no
    request can show a record before it is journaled."""

    current: ClassVar[Durable | None] = None

    def __init__(self, aws: LocalAWS, directory: Path, journal: int = 0) -> None:
        self.aws = aws
        self.directory = directory
        self.guard: AbstractContextManager[Any] = nullcontext()
        self.number = journal  # the journal being appended to
        self._journal_lock = threading.Lock()
        self._fd: int | None = None
        self._lines = 0
        self._changes = threading.Condition()
        self._wanted = 0  # snapshot tickets handed out
        self._done = 0  # tickets covered by the last snapshot that ended
        self._failure: str | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.snapshots = 0

    # The snapshot thread ------------------------------------------------------------------

    def start(self) -> Durable:
        """Write a first snapshot (OSError: the directory cannot be written), then keep
        taking them as they are asked for."""
        self.snapshot()
        self._thread = threading.Thread(target=self._run, name="state-snapshots", daemon=True)
        self._thread.start()
        Durable.current = self
        return self

    def close(self) -> None:
        """No more snapshots (one asked for is still taken) nor journal lines. What was
        journaled since the last snapshot is replayed at the next start."""
        if self._thread is not None:
            with self._changes:
                self._stopping = True
                self._changes.notify_all()
            self._thread.join(timeout=60)
            self._thread = None
        if Durable.current is self:
            Durable.current = None
        with self._journal_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def request(self) -> int:
        """Ask for a snapshot of everything written so far; a ticket for :meth:`wait`."""
        with self._changes:
            self._wanted += 1
            self._changes.notify_all()
            return self._wanted

    def wait(self, ticket: int, timeout: float = 60.0) -> str | None:
        """Wait until a snapshot covering ``ticket`` ends; None once it is on disk, else
        why it is not."""
        deadline = time.monotonic() + timeout
        with self._changes:
            while self._done < ticket:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    return "no snapshot was written in time"
                self._changes.wait(remaining)
            return self._failure

    def commit(self, timeout: float = 60.0) -> str | None:
        return self.wait(self.request(), timeout)

    def _run(self) -> None:
        while True:
            with self._changes:
                while self._wanted == self._done and not self._stopping:
                    self._changes.wait()
                if self._wanted == self._done:
                    return
                target = self._wanted
            try:
                self.snapshot()
                failure = None
            except Exception as exc:  # a full disk, a directory removed: say so, keep serving
                failure = f"cannot write {self.directory / FILE}: {getattr(exc, 'strerror', None) or exc}"
                logger.exception("state snapshot failed")
            with self._changes:
                self._done = max(self._done, target)
                self._failure = failure
                self._changes.notify_all()

    def snapshot(self) -> None:
        """Start a new journal, then write every kept table as it is now to a new
        ``state.json`` that names that journal; then delete the older journals."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._journal_lock:
            number = self.number + 1
            fd = os.open(
                self.directory / JOURNAL.format(number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
            )
            if self._fd is not None:
                os.close(self._fd)
            self._fd, self.number, self._lines = fd, number, 0
        # Everything written before the switch is in the tables now, and the scan below
        # reads it; whatever is journaled from here on is replayed after this snapshot.
        db = self.aws.client("dynamodb")
        existing = set(db.list_tables()["TableNames"])
        tables = {name: _plain(list(_scan(self.aws, name))) for name in KEPT_TABLES if name in existing}
        objects = {key: _encoded(data) for key, data in self._objects()}
        state = {
            "format": FORMAT,
            "journal": number,
            "tables": tables,
            "objects": objects,
            "webhookSecrets": self._secrets(),
        }
        temporary = self.directory / (FILE + ".tmp")
        # Not for other users to read: it holds the webhook secrets.
        temporary.unlink(missing_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "w", encoding="utf-8") as out:
            json.dump(state, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.directory / FILE)
        _sync_directory(self.directory)
        for older, path in _journals(self.directory):
            if older < number:
                path.unlink(missing_ok=True)
        self.snapshots += 1

    def _objects(self) -> Iterator[tuple[str, bytes]]:
        """Execution-record bodies too large for their item (functions/store/executions.py)."""
        s3 = self.aws.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=PAYLOAD_BUCKET, Prefix=RECORDS_PREFIX)
        for page in pages:
            for entry in page.get("Contents", []):
                yield entry["Key"], s3.get_object(Bucket=PAYLOAD_BUCKET, Key=entry["Key"])["Body"].read()

    def _secrets(self) -> dict[str, str]:
        manager = self.aws.client("secretsmanager")
        prefix = Settings.from_env().webhook_secret_prefix
        secrets: dict[str, str] = {}
        for page in manager.get_paginator("list_secrets").paginate():
            for entry in page["SecretList"]:
                if entry["Name"].startswith(prefix):
                    secrets[entry["Name"]] = manager.get_secret_value(SecretId=entry["ARN"])["SecretString"]
        return secrets

    # The journal ---------------------------------------------------------------------------

    def journal(self, execution_id: str) -> None:
        """Append the execution record as it is now (and its body, when that lives in the
        payload bucket). Read under the journal's lock, so that of two appends of one
        record the later one holds the later state."""
        table = ExecutionStore().table
        with self._journal_lock:
            if self._fd is None:
                return
            item = (
                self.aws.client("dynamodb")
                .get_item(TableName=table, Key={"executionId": {"S": execution_id}}, ConsistentRead=True)
                .get("Item")
            )
            if item is None:
                return
            entry: dict[str, Any] = {"table": table, "item": _plain(item)}
            reference = item.get("bodyRef", {}).get("S")
            if reference:
                body = self.aws.client("s3").get_object(Bucket=PAYLOAD_BUCKET, Key=reference)["Body"].read()
                entry["objects"] = {reference: _encoded(body)}
            line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
            self._lines += 1
            compact = self._lines == COMPACT_AFTER
        if compact:
            self.request()  # folded into a snapshot in the background; nobody waits


def _sync_directory(directory: Path) -> None:
    """The rename itself on disk (a power cut after it keeps the new snapshot)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class JournaledStore(ExecutionStore):
    """The execution-record store as the recorder uses it under ``--state-dir``: a record
    written is journaled before anyone can read it (under the durable's guard)."""

    def __init__(self, durable: Durable) -> None:
        super().__init__()
        self.durable = durable

    def record(self, record: ExecutionRecord) -> bool:
        with self.durable.guard:
            written = super().record(record)
            if written:
                self.durable.journal(record.execution_id)
        return written

    def settle(self, record: ExecutionRecord) -> bool:
        """An Express record settled (by the sweep, or as its machine wrote it), journaled
        as :meth:`record` journals."""
        with self.durable.guard:
            settled = super().settle(record)
            if settled:
                self.durable.journal(record.execution_id)
        return settled


def record_status(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The recorder Lambda as ``routines serve`` runs it (:data:`HANDLER`): with a state
    directory, what it records — a terminal status above all — is journaled before any
    request can see it and before it returns, so it survives a crash.

    An Express machine's record write comes as its stream record, under the guard
    (functions/local/status_events.py): an end is settled and journaled, and any other
    write (the RUNNING one, a child's first record) journaled as written, before the guard
    is released — so the end of an Express execution, which its machine writes straight
    into the table, is on disk before any request can see it (issue #28)."""
    durable = Durable.current
    if durable is None:
        return recorder_handler(event, context)
    recorder = Recorder(
        JournaledStore(durable), StoredRoutines(), StoredErrorRoutines(), FailedExecutions.from_env()
    )
    written = stream_images(event)
    if written is None:
        return recorder.handle(event)
    settled: list[str] = []
    with durable.guard:
        try:
            result = recorder.handle(event)
            settled = list(result.get("executionIds") or [])
        finally:
            # Settled ones were journaled by their settle; the rest as the machine wrote them
            # (also when settling failed: the sweep settles them later).
            for execution_id in dict.fromkeys(e for e, _ in written):
                if execution_id not in settled:
                    durable.journal(execution_id)
    return result
