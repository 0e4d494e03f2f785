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

An Express machine's record writes (its native ``dynamodb:updateItem`` on the executions
table) are also handed to the recorder the moment the local Step Functions applies them,
as the DynamoDB Stream record of the write (:func:`stream_event`), on the machine's own
thread: an end is settled (trace, error routine, failed-executions queue) before the
machine goes on — before the execution has ended — not up to a sweep later. While
:attr:`StatusEvents.guard` is held (``routines serve --state-dir`` sets its request lock),
the write and its settling are one step no request can see half of, and the recorder as
``routines serve`` runs it journals the result before the guard is released
(functions/serve/state.py): a ``kill -9`` loses no Express end a client could have seen.

The stage's failed-executions queue is emulated too: a local SQS queue, named to the
recorder by its environment (:data:`~functions.recorder.failures.ENV_FAILED_EXECUTIONS_QUEUE`),
receives what AWS sends it — each Standard execution's FAILED, TIMED_OUT or ABORTED status
event (the ``Failures`` rule of infra/recorder.py), and what the recorder sends for failed
Express executions.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_dynamodb as dynamodb_task,
)
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from contract.names import ENV_EXECUTIONS_TABLE, EXECUTIONS_TABLE, RECORDER_HANDLER
from functions.local.environment import ACCOUNT, REGION, LocalAWS
from functions.local.fastpaths.guard import require
from functions.local.lambdas import LambdaContext
from functions.recorder.failures import ENV_FAILED_EXECUTIONS_QUEUE

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
POLL_SECONDS = 0.05
SWEEP_SECONDS = 0.2
DELIVERY_THREADS = 4
MAX_ATTEMPTS = 3
FAILURES = ("FAILED", "TIMED_OUT", "ABORTED")  # the Failures rule's statuses
FAILED_EXECUTIONS_QUEUE = "routines-local-failed-executions"
# The service integration task's evaluation (moto), wrapped to hand record writes on.
EVAL_PARAMETERS = ("self", "env", "resource_runtime_part", "normalised_parameters", "state_credentials")

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


def _ended_now(status: str) -> int | None:
    """AWS dates every end; moto leaves a TIMED_OUT execution's stopDate unset. The watcher
    sees an end within POLL_SECONDS of it: now is its date, to that precision."""
    return int(time.time() * 1000) if status in TERMINAL else None


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
        "stopDate": millis(description.get("stopDate")) or _ended_now(description["status"]),
        "input": description.get("input"),
        "output": description.get("output"),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if description.get("output") is not None else None,
        "error": description.get("error"),
        "cause": description.get("cause"),
        "redriveCount": description.get("redriveCount", 0),
    }
    return _event("Step Functions Execution Status Change", "aws.states", description["executionArn"], detail)


def stream_event(key: dict[str, Any], image: dict[str, Any] | None) -> dict[str, Any]:
    """The DynamoDB Stream event (an event source mapping's batch of one) of a write to
    the executions table: its key and new image (NEW_IMAGE view)."""
    change: dict[str, Any] = {"Keys": key, "StreamViewType": "NEW_IMAGE"}
    if image is not None:
        change["NewImage"] = image
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": change,
            }
        ]
    }


def _machine_of(env: Any) -> str:
    """The state machine ARN of the execution a task runs in (its context object)."""
    try:
        return str(env.states.context_object.context_object_data["StateMachine"]["Id"])
    except (AttributeError, KeyError, TypeError):
        return ""


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
        # Held while a machine's record write and the recorder's handling of it run (see
        # the module); ``routines serve --state-dir`` sets its request lock (reentrant).
        self.guard: AbstractContextManager[Any] = nullcontext()
        self.written = 0  # record writes handed to the recorder
        self._original_eval: Any = None
        self._queued: set[str] = set()  # executions whose failure event was queued
        self._saved_queue: str | None = None
        self.failed_executions_queue: str | None = None

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
        require(dynamodb_task.StateTaskServiceDynamoDB, "_eval_service_task", EVAL_PARAMETERS)
        self._original_eval = dynamodb_task.StateTaskServiceDynamoDB._eval_service_task
        evaluate = self._original_eval

        def eval_service_task(
            task: Any,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: Any,
            state_credentials: Any,
        ) -> Any:
            key = normalised_parameters.get("Key") if isinstance(normalised_parameters, dict) else None
            if (
                not isinstance(key, dict)
                or normalised_parameters.get("TableName") != watcher._table()
                or not watcher._is_express(watcher.aws.client("stepfunctions"), _machine_of(env))
            ):
                # Not a record write, or a Standard machine's: its status events settle it.
                return evaluate(task, env, resource_runtime_part, normalised_parameters, state_credentials)
            with watcher.guard:
                result = evaluate(task, env, resource_runtime_part, normalised_parameters, state_credentials)
                watcher.record_written(key)  # only once the write applied (a refused one raised)
            return result

        dynamodb_task.StateTaskServiceDynamoDB._eval_service_task = eval_service_task  # type: ignore[method-assign,assignment]
        self._open_failures_queue()
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
        if self._original_eval is not None:
            dynamodb_task.StateTaskServiceDynamoDB._eval_service_task = self._original_eval  # type: ignore[method-assign]
            self._original_eval = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self.failed_executions_queue is not None:
            if self._saved_queue is None:
                os.environ.pop(ENV_FAILED_EXECUTIONS_QUEUE, None)
            else:
                os.environ[ENV_FAILED_EXECUTIONS_QUEUE] = self._saved_queue
            self.failed_executions_queue = None

    def _open_failures_queue(self) -> None:
        """The local failed-executions queue, named to the recorder (see the module)."""
        self._saved_queue = os.environ.get(ENV_FAILED_EXECUTIONS_QUEUE)
        url = str(self.aws.client("sqs").create_queue(QueueName=FAILED_EXECUTIONS_QUEUE)["QueueUrl"])
        os.environ[ENV_FAILED_EXECUTIONS_QUEUE] = url
        self.failed_executions_queue = url

    def failed_executions(self) -> list[dict[str, Any]]:
        """The messages in the local failed-executions queue (each taken off it)."""
        if self._delegate is not None:
            return self._delegate.failed_executions()
        if self.failed_executions_queue is None:
            return []
        sqs = self.aws.client("sqs")
        out: list[dict[str, Any]] = []
        while True:
            received = sqs.receive_message(
                QueueUrl=self.failed_executions_queue, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not received:
                return out
            for message in received:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.failed_executions_queue, ReceiptHandle=message["ReceiptHandle"]
                )

    def record_written(self, key: dict[str, Any]) -> None:
        """A machine wrote the execution record under ``key``: hand the write to the
        recorder as its stream record (see the module). A failure is logged, not raised:
        the machine's write happened, and the sweep settles what this did not."""
        try:
            item = (
                self.aws.client("dynamodb")
                .get_item(TableName=self._table(), Key=key, ConsistentRead=True)
                .get("Item")
            )
            handler = self.aws.lambdas.handler(self.handler)
            handler(
                stream_event(key, item), LambdaContext("routines-recorder", "arn:local:recorder", 512, 60)
            )
            with self._lock:
                self.written += 1
        except Exception:
            log.exception("recorder failed on the record write of %s", key)

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
        if not machine_arn:
            return False
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

    def _queue_failure(self, arn: str, description: dict[str, Any]) -> None:
        """The Failures rule: a Standard execution's FAILED, TIMED_OUT or ABORTED status
        event to the failed-executions queue, once (whatever the recorder's retries)."""
        if description["status"] not in FAILURES or self.failed_executions_queue is None:
            return
        with self._lock:
            if arn in self._queued:
                return
            self._queued.add(arn)
        body = json.dumps(status_event(description), default=str)
        try:  # a target of its own: whatever happens here, the recorder still gets the event
            self.aws.client("sqs").send_message(QueueUrl=self.failed_executions_queue, MessageBody=body)
        except Exception:
            log.exception("failed-executions queue refused the event of %s", arn)

    @staticmethod
    def _table() -> str:
        return os.environ.get(ENV_EXECUTIONS_TABLE, EXECUTIONS_TABLE.name)

    def _deliver(self, arn: str, descriptions: list[dict[str, Any]], final: bool) -> None:
        handler = self.aws.lambdas.handler(self.handler)
        done = False
        try:
            self._queue_failure(arn, descriptions[-1])
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
