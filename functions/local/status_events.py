"""Step Functions status events, delivered locally as EventBridge delivers them on AWS.

moto sends no events. While installed, every ``StartExecution`` on the local AWS is
noticed (moto's backend is wrapped, as :mod:`functions.local.lambdas` wraps Lambda
invoke), and a watcher thread calls the recorder Lambda's handler — by the same handler
string the CDK stack deploys — with the real "Step Functions Execution Status Change"
event: RUNNING once the execution is seen, then its terminal status.

Executions of **Express** machines get no status events, as on AWS: their machines write
their own records (statemachines/machine/records.py), and the recorder's sweep settles
them. The sweep's EventBridge schedule (every minute on AWS) is emulated here too: while
an Express execution is in flight or its record unsettled, the recorder is called with
the scheduled rule's event every :data:`SWEEP_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from contract.names import ENV_EXECUTIONS_TABLE, EXECUTIONS_TABLE, RECORDER_HANDLER
from functions.local.environment import ACCOUNT, REGION, LocalAWS
from functions.local.fastpaths.guard import require
from functions.local.lambdas import LambdaContext

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
POLL_SECONDS = 0.05
SWEEP_SECONDS = 0.2
DELIVERY_THREADS = 4
MAX_ATTEMPTS = 3

log = logging.getLogger(__name__)


def _event(detail_type: str, source: str, resource: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event as a target receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [resource],
        "detail": detail,
    }


def scheduled_event() -> dict[str, Any]:
    """The event EventBridge's scheduled rule (infra/recorder.py) invokes the recorder with."""
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/routines-sweep"
    return _event("Scheduled Event", "aws.events", rule, {})


def status_event(description: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event Step Functions emits for ``description`` (DescribeExecution)."""

    def millis(value: Any) -> int | None:
        return int(value.timestamp() * 1000) if isinstance(value, datetime) else None

    detail: dict[str, Any] = {
        "executionArn": description["executionArn"],
        "stateMachineArn": description["stateMachineArn"],
        "name": description.get("name") or description["executionArn"].rsplit(":", 1)[1],
        "status": description["status"],
        "startDate": millis(description["startDate"]),
        "stopDate": millis(description.get("stopDate")),
        "input": description.get("input"),
        "output": description.get("output"),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if description.get("output") is not None else None,
        "error": description.get("error"),
        "cause": description.get("cause"),
        "redriveCount": description.get("redriveCount", 0),
    }
    return _event("Step Functions Execution Status Change", "aws.states", description["executionArn"], detail)


class StatusEvents:
    """``with StatusEvents(aws):`` — executions started meanwhile reach the recorder. Only
    the outermost of nested instances delivers (one event per status change)."""

    _active = 0
    _current: StatusEvents | None = None

    def __init__(self, aws: LocalAWS, handler: str = RECORDER_HANDLER) -> None:
        self.aws = aws
        self.handler = handler
        self._pending: dict[str, bool] = {}  # execution ARN → RUNNING event delivered
        self._express: set[str] = set()  # Express executions whose records are not settled
        self._last_sweep = 0.0
        self.sweeps = 0
        self._busy: set[str] = set()
        self._failures: Counter[str] = Counter()
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._original: Any = None
        self.delivered = 0
        self._delegate: StatusEvents | None = None

    def __enter__(self) -> StatusEvents:
        StatusEvents._active += 1
        if StatusEvents._active > 1:
            self._delegate = StatusEvents._current
            return self
        StatusEvents._current = self
        # A wrapper: whatever moto passes goes through, but the method must still be there.
        require(StepFunctionsParserBackend, "start_execution", None)
        self._original = StepFunctionsParserBackend.start_execution
        watcher, original = self, self._original

        def start_execution(backend: Any, *args: Any, **kwargs: Any) -> Any:
            execution = original(backend, *args, **kwargs)
            watcher.watch(execution.execution_arn)
            return execution

        StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign,assignment]
        self._pool = ThreadPoolExecutor(DELIVERY_THREADS, thread_name_prefix="status-events")
        self._thread = threading.Thread(target=self._run, name="status-events", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        StatusEvents._active = max(0, StatusEvents._active - 1)
        if StatusEvents._current is self:
            StatusEvents._current = None
        if self._original is not None:
            StepFunctionsParserBackend.start_execution = self._original  # type: ignore[method-assign]
            self._original = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def watch(self, execution_arn: str) -> None:
        with self._lock:
            self._pending.setdefault(execution_arn, False)

    def settle(self, timeout: float) -> bool:
        """Wait until every execution seen so far has had its terminal event delivered."""
        if self._delegate is not None:
            return self._delegate.settle(timeout)
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending or self._busy or self._express:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def _run(self) -> None:
        client = self.aws.client("stepfunctions")
        while not self._stop.is_set():
            with self._lock:
                todo = [(arn, sent) for arn, sent in self._pending.items() if arn not in self._busy]
            for arn, sent in todo:
                try:
                    description = client.describe_execution(executionArn=arn)
                except Exception:  # the local AWS is going away
                    continue
                if not sent and self._is_express(client, description["stateMachineArn"]):
                    with self._lock:  # no status events for Express executions, as on AWS:
                        self._pending.pop(arn, None)  # the sweep settles their records
                        self._express.add(arn)
                    continue
                events = [] if sent else [{**description, "status": "RUNNING", "stopDate": None}]
                if description["status"] in TERMINAL:
                    events.append(description)
                if events:
                    with self._lock:
                        self._busy.add(arn)
                    assert self._pool is not None
                    self._pool.submit(self._deliver, arn, events, description["status"] in TERMINAL)
            if self._express and time.monotonic() - self._last_sweep >= SWEEP_SECONDS:
                self._sweep(client)
            self._stop.wait(POLL_SECONDS)

    @staticmethod
    def _is_express(client: Any, machine_arn: str) -> bool:
        """An Express machine's executions get no status events. (A definition wrapped to
        write its own records but deployed as Standard gets them, and the recorder settles
        its record from them: functions/recorder/recorder.py.)"""
        try:
            described = client.describe_state_machine(stateMachineArn=machine_arn)
        except Exception:  # deleted meanwhile: nothing to settle
            return False
        return bool(described.get("type") == "EXPRESS")

    def _sweep(self, client: Any) -> None:
        """The recorder's scheduled sweep; then forget the Express executions that ended
        and whose records are settled (or who have none: started without an owner)."""
        self._last_sweep = time.monotonic()
        ended: list[str] = []
        for arn in list(self._express):
            try:
                status = client.describe_execution(executionArn=arn)["status"]
            except Exception:
                status = "ABORTED"
            if status in TERMINAL:
                ended.append(arn)
        try:
            handler = self.aws.lambdas.handler(self.handler)
            handler(scheduled_event(), LambdaContext("routines-recorder", "arn:local:recorder", 512, 60))
            self.sweeps += 1
        except Exception:  # the schedule fires again
            log.exception("recorder sweep failed")
            return
        dynamodb = self.aws.client("dynamodb")
        settled = []
        for arn in ended:
            key = {"executionId": {"S": arn.split(":", 6)[6]}}
            item = dynamodb.get_item(TableName=self._table(), Key=key, ConsistentRead=True).get("Item")
            if item is None or "pending" not in item:
                settled.append(arn)
        with self._lock:
            self._express.difference_update(settled)
            self._lock.notify_all()

    @staticmethod
    def _table() -> str:
        return os.environ.get(ENV_EXECUTIONS_TABLE, EXECUTIONS_TABLE.name)

    def _deliver(self, arn: str, descriptions: list[dict[str, Any]], final: bool) -> None:
        handler = self.aws.lambdas.handler(self.handler)
        done = False
        try:
            for description in descriptions:
                if description["status"] == "RUNNING":
                    description = {**description, "output": None, "error": None, "cause": None}
                context = LambdaContext("routines-recorder", "arn:local:recorder", 512, 60)
                handler(status_event(description), context)
                with self._lock:
                    self.delivered += 1
            done = True
        except Exception:  # EventBridge retries a failed invocation; so do we, a few times
            log.exception("recorder failed on %s", arn)
        finally:
            with self._lock:
                self._busy.discard(arn)
                self._failures[arn] += 0 if done else 1
                if (done and final) or self._failures[arn] >= MAX_ATTEMPTS:
                    self._pending.pop(arn, None)
                elif done and arn in self._pending:
                    self._pending[arn] = True
                self._lock.notify_all()
