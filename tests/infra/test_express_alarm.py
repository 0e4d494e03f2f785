"""Failed Express executions reach the failed-executions alarm (issue #28): Standard ones
reach its queue through the ``Failures`` rule on their status events; Express ones send
none, so the recorder's sweep sends the queue their message itself
(functions/recorder/failures.py). In the synthesized stack: the recorder is told the
queue, may send to it and to nothing else (no other SQS action, no other queue), and the
alarm counts what is sent to that queue."""

from __future__ import annotations

import os
from typing import Any

import boto3
from moto import mock_aws

from functions.recorder.failures import ENV_FAILED_EXECUTIONS_QUEUE, FailedExecutions
from functions.store.executions import ExecutionRecord
from infra.recorder import FAILED_EXECUTIONS_QUEUE_VARIABLE
from plugins.runtime.aws import reset_clients
from tests.infra.access import ACCOUNT, REGION, Calls, Deployment, Request, allowed
from tests.infra.conftest import Synth

RECORDER = "routines-dev-recorder"
SQS_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:PurgeQueue",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
    "sqs:DeleteQueue",
    "sqs:SendMessageBatch",
)


def _queues(deployment: Deployment) -> dict[str, str]:
    """Logical id → queue ARN, for every queue of the stack."""
    return {logical: deployment.arn(logical) for logical in deployment.of_type("AWS::SQS::Queue")}


def _failed_executions(deployment: Deployment) -> str:
    [logical] = [k for k in deployment.of_type("AWS::SQS::Queue") if "FailedExecutions" in k]
    return logical


def test_the_recorder_is_told_the_failed_executions_queue_and_may_only_send_to_it(synth: Synth) -> None:
    assert FAILED_EXECUTIONS_QUEUE_VARIABLE == ENV_FAILED_EXECUTIONS_QUEUE  # infra and the code agree
    deployment = Deployment(synth.template)
    queue = _failed_executions(deployment)
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{deployment.name(queue)}"
    variables = deployment.function(RECORDER)["Environment"]["Variables"]
    assert deployment.resolve(variables[ENV_FAILED_EXECUTIONS_QUEUE]) == url
    statements = deployment.statements(RECORDER)
    queues = _queues(deployment)
    assert allowed(statements, Request("sqs:SendMessage", queues[queue]))
    # Exactly that: no other queue (its own dead letters are Lambda's to send, through the
    # function's dead-letter config, which needs the same action: see below), no other action.
    for logical, arn in queues.items():
        for action in SQS_ACTIONS:
            if action == "sqs:GetQueueAttributes" and "Recorder" in logical and "DeadLetters" in logical:
                continue  # the stream's on-failure destination: CDK grants it with SendMessage
            assert not allowed(statements, Request(action, arn)), (action, logical)
    sends = [
        s
        for s in statements
        if s.get("Effect") == "Allow"
        and any(str(a).lower().startswith("sqs:") for a in _list(s.get("Action")))
    ]
    targets = sorted({str(r) for s in sends for r in _list(s.get("Resource"))})
    dead_letters = [
        arn for logical, arn in queues.items() if "DeadLetters" in logical and "Recorder" in logical
    ]
    # The recorder's own dead-letter queue (Lambda's asynchronous failures) and this queue.
    assert set(targets) <= {queues[queue], *dead_letters}
    assert queues[queue] in targets
    assert {str(a) for s in sends for a in _list(s.get("Action"))} <= {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",  # the dead letters only (above)
        "sqs:GetQueueUrl",
    }


def test_the_failed_executions_alarm_counts_what_is_sent_to_that_queue(synth: Synth) -> None:
    deployment = Deployment(synth.template)
    queue = _failed_executions(deployment)
    alarms = [
        a
        for a in deployment.of_type("AWS::CloudWatch::Alarm").values()
        if a.get("MetricName") == "NumberOfMessagesSent"
    ]
    assert len(alarms) == 1
    [alarm] = alarms
    assert alarm["Namespace"] == "AWS/SQS" and alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] == 1
    [dimension] = alarm["Dimensions"]
    assert dimension["Name"] == "QueueName"
    assert dimension["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}
    # The Standard path still feeds the same queue: the Failures rule's target.
    rules = [
        r
        for r in deployment.of_type("AWS::Events::Rule").values()
        if (r.get("EventPattern") or {}).get("detail", {}).get("status") == ["FAILED", "TIMED_OUT", "ABORTED"]
    ]
    assert len(rules) == 1
    assert [t["Arn"] for t in rules[0]["Targets"]] == [{"Fn::GetAtt": [queue, "Arn"]}]


def test_the_call_the_recorder_makes_with_its_deployed_variable_is_allowed(synth: Synth) -> None:
    """The send itself, as the recorder makes it with the deployed environment, on moto:
    one SendMessage to the queue the variable names, which the role allows."""
    deployment = Deployment(synth.template)
    variables = deployment.function(RECORDER)["Environment"]["Variables"]
    url = str(deployment.resolve(variables[ENV_FAILED_EXECUTIONS_QUEUE]))
    saved = {k: os.environ.get(k) for k in (ENV_FAILED_EXECUTIONS_QUEUE, "AWS_DEFAULT_REGION")}
    os.environ.update({ENV_FAILED_EXECUTIONS_QUEUE: url, "AWS_DEFAULT_REGION": REGION})
    calls = Calls()
    try:
        with mock_aws():
            boto3.client("sqs", region_name=REGION).create_queue(QueueName=url.rsplit("/", 1)[1])
            calls.install()
            reset_clients()  # rebuilt with the recording hook
            failures = FailedExecutions.from_env()
            assert failures is not None
            record = ExecutionRecord(
                execution_id="routines-dev-r1:abc",
                owner_id="u",
                routine_id="r1",
                status="FAILED",
                started_at=1_700_000_000.0,
                stopped_at=1_700_000_001.0,
                execution_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:express:routines-dev-r1:abc:x",
                error={"type": "Broken", "message": "bad"},
            )
            with calls.record() as made:
                failures.send(record)
    finally:
        calls.uninstall()
        reset_clients()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert [(c.prefix, c.operation, c.params["QueueUrl"]) for c in made] == [("sqs", "SendMessage", url)]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[1]}"
    assert allowed(deployment.statements(RECORDER), Request("sqs:SendMessage", queue_arn))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
