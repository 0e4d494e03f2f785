"""Express ends reach the recorder as they are written (issue #28): the executions table
streams its new images and an event source mapping, filtered on ``pending = ENDED``,
invokes the recorder, whose handler settles them (``Recorder.settle_written``) — not a
minute later at the sweep. Checked on the synthesized template, and the event as Lambda
delivers a stream batch parsed by the recorder."""

from __future__ import annotations

import json
from typing import Any

from contract.names import EXECUTIONS_TABLE, PENDING_ENDED
from functions.recorder.recorder import stream_images
from statemachines.machine import records
from tests.infra.access import Deployment, Request, allowed
from tests.infra.conftest import Synth

RECORDER = "routines-dev-recorder"


def _tables(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        props["Properties"]["TableName"]: props["Properties"]
        for props in synth.resources("AWS::DynamoDB::GlobalTable").values()
    }


def test_only_the_executions_table_streams_its_new_images(synth: Synth) -> None:
    streams = {name: table.get("StreamSpecification") for name, table in _tables(synth).items()}
    executions = next(name for name in streams if name.endswith(EXECUTIONS_TABLE.name))
    assert streams.pop(executions) == {"StreamViewType": "NEW_IMAGE"}
    assert set(streams.values()) == {None}


def test_the_recorder_is_invoked_by_the_stream_for_ended_records_only(synth: Synth) -> None:
    [mapping] = [m["Properties"] for m in synth.resources("AWS::Lambda::EventSourceMapping").values()]
    deployment = Deployment(synth.template)
    assert deployment.resolve(mapping["FunctionName"]) == RECORDER
    [table] = [k for k, v in synth.resources("AWS::DynamoDB::GlobalTable").items() if "Executions" in k]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
    [pattern] = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern == {"dynamodb": {"NewImage": {"pending": {"S": [PENDING_ENDED]}}}}
    assert mapping["StartingPosition"] == "LATEST"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 3
    [dead_letters] = [k for k in synth.resources("AWS::SQS::Queue") if "Recorder" in k and "DeadLetters" in k]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dead_letters, "Arn"]}
    # and the recorder may read that stream (Lambda's poller reads it with the function's role)
    stream = deployment.resolve(mapping["EventSourceArn"])
    assert allowed(deployment.statements(RECORDER), Request("dynamodb:GetRecords", stream))


def test_the_filter_matches_what_the_machine_writes_at_its_end() -> None:
    assert PENDING_ENDED == records.PENDING_ENDED != records.PENDING_RUNNING


def test_a_stream_batch_as_lambda_delivers_it_names_the_ended_records() -> None:
    def record(execution_id: str, pending: str | None) -> dict[str, Any]:
        image = {"executionId": {"S": execution_id}, "status": {"S": "SUCCEEDED"}}
        if pending is not None:
            image["pending"] = {"S": pending}
        return {
            "eventID": "1",
            "eventName": "MODIFY",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_765_000_000,
                "Keys": {"executionId": {"S": execution_id}},
                "NewImage": image,
                "SequenceNumber": "111",
                "SizeBytes": 26,
                "StreamViewType": "NEW_IMAGE",
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/executions/stream/x",
        }

    batch = {"Records": [record("m:a", PENDING_ENDED), record("m:b", None)]}
    assert stream_images(batch) == [("m:a", PENDING_ENDED), ("m:b", None)]
    assert stream_images({"Records": [{"eventSource": "aws:sqs"}]}) is None
