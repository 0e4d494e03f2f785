"""The recorder: Step Functions "Execution Status Change" events of this stage's routine
state machines (matched by name prefix) → ``functions/recorder`` → execution records; the
ends Express machines write themselves, from the executions table's stream, settled as
they are written; and every minute its sweep, which settles what the stream missed and
times out Express executions that never wrote their end.

Delivery is at least once with retries (EventBridge target retry policy, then Lambda's
asynchronous retries); what still fails lands in a dead-letter queue, whose depth is
alarmed (see monitoring). Failed, timed-out and aborted executions are also copied to a
queue of their own, which operators can read and the failed-executions alarm counts — a
Standard one's status event by the ``Failures`` rule, an Express one (which sends no status
events) by the recorder, when its sweep settles the record as FAILED or TIMED_OUT
(functions/recorder/failures.py: the same event shape, once per execution); the recorder
starts their routine's ``errorRoutine`` (StartExecution on the stage's routine state
machines).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.names import (
    EXECUTIONS_TABLE,
    NODE_LOGS_TABLE,
    PENDING_ENDED,
    RECORDER_HANDLER,
    ROUTINES_TABLE,
    state_machine_prefix,
)
from infra.control_plane import TRIGGERS
from infra.nag import acknowledge
from infra.plugin_functions import PAYLOADS, RECORDS, arn
from infra.runtime import FunctionKit, ProductFunction

STATUS_CHANGE = "Step Functions Execution Status Change"
# The recorder's variable naming the failed-executions queue: read by
# functions/recorder/failures.py (ENV_FAILED_EXECUTIONS_QUEUE; a test checks they agree —
# infra does not import the functions' code).
FAILED_EXECUTIONS_QUEUE_VARIABLE = "FAILED_EXECUTIONS_QUEUE_URL"


def _queue(scope: Construct, construct_id: str, why_no_redrive: str) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(queue, rule, why_no_redrive)
    return queue


class Recorder(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, kit: FunctionKit) -> None:
        super().__init__(scope, construct_id)
        settings, storage = kit.settings, kit.storage
        self.dead_letters = _queue(self, "DeadLetters", "This is the dead-letter queue; nothing consumes it")
        self.failed_executions = _queue(
            self, "FailedExecutions", "A record of failed executions read by operators, never by a consumer"
        )
        self.function = ProductFunction(
            self,
            "Recorder",
            name="recorder",
            handler=RECORDER_HANDLER,
            code=kit.code,
            settings=settings,
            environment={
                **kit.environment,
                FAILED_EXECUTIONS_QUEUE_VARIABLE: self.failed_executions.queue_url,
            },
            timeout=Duration.seconds(60),
            dead_letter_queue=self.dead_letters,  # after Lambda's two asynchronous retries
        )
        fn = self.function.function
        storage.grant(self.function, EXECUTIONS_TABLE, write=True)
        storage.grant(self.function, ROUTINES_TABLE)
        storage.grant(self.function, NODE_LOGS_TABLE)
        self.function.allow(["s3:GetObject"], [storage.payload_objects()], PAYLOADS)
        self.function.allow(["s3:GetObject", "s3:PutObject"], [storage.record_objects()], RECORDS)
        self.function.allow(
            ["states:ListTagsForResource"],
            [arn(self, "states", f"stateMachine:{state_machine_prefix(settings.stage)}*")],
            "Routine state machines (their tags name the routine) are named under the stage prefix",
        )
        self.function.allow(
            ["states:DescribeExecution", "states:GetExecutionHistory"],
            [arn(self, "states", f"execution:{state_machine_prefix(settings.stage)}*")],
            "Executions of any routine state machine of the stage (named under its prefix)",
        )
        # Error routines: a failed execution starts its routine's errorRoutine (once), whose
        # trigger data may be over its inline slot and offloaded first.
        self.function.allow(
            ["states:StartExecution"],
            [arn(self, "states", f"stateMachine:{state_machine_prefix(settings.stage)}*")],
            "Error routines are routine state machines, created at activation under the stage prefix",
        )
        self.function.allow(["s3:PutObject"], [storage.trigger_objects()], TRIGGERS)
        # Failed Express executions (no status events, so no Failures rule) are sent to the
        # failed-executions queue by the sweep that settles them: that action, that queue.
        self.function.allow(
            ["sqs:SendMessage"],
            [self.failed_executions.queue_arn],
            "The failed-executions queue, for the Express executions the sweep settles as failed",
        )
        machines = arn(self, "states", f"stateMachine:{state_machine_prefix(settings.stage)}")
        pattern = {"stateMachineArn": events.Match.prefix(machines)}
        self.rule = events.Rule(
            self,
            "StatusChanges",
            description="Execution status changes of this stage's routine state machines → recorder",
            event_pattern=events.EventPattern(
                source=["aws.states"], detail_type=[STATUS_CHANGE], detail=pattern
            ),
            targets=[
                targets.LambdaFunction(
                    fn,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=8,
                    max_event_age=Duration.hours(2),
                )
            ],
        )
        # Express executions send no status events: their machines write their records. The
        # table's stream brings each end as it is written (only those: filtered on the new
        # image's pending = ENDED, so the machines' RUNNING writes invoke nothing); a batch
        # that keeps failing is split, then its records go to the dead-letter queue, and
        # the sweep settles them a minute later anyway.
        fn.add_event_source(
            sources.DynamoEventSource(
                storage.executions,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=10,
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "dynamodb": {
                                "NewImage": {"pending": {"S": lambda_.FilterRule.is_equal(PENDING_ENDED)}}
                            }
                        }
                    )
                ],
                retry_attempts=3,
                bisect_batch_on_error=True,
                max_record_age=Duration.hours(1),
                on_failure=sources.SqsDlq(self.dead_letters),
            )
        )
        # And this schedule runs the recorder's sweep, which settles them (trace, error
        # routine) and times out those that never wrote their end.
        self.sweep = events.Rule(
            self,
            "ExpressSweep",
            description="Every minute: settle the records of Express executions (functions/recorder)",
            schedule=events.Schedule.rate(Duration.minutes(1)),
            targets=[
                targets.LambdaFunction(
                    fn,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=0,  # the next minute's sweep does what this one missed
                    max_event_age=Duration.minutes(1),
                )
            ],
        )
        failed = {**pattern, "status": ["FAILED", "TIMED_OUT", "ABORTED"]}
        events.Rule(
            self,
            "Failures",
            description="Failed, timed-out and aborted executions of this stage's routines",
            event_pattern=events.EventPattern(
                source=["aws.states"], detail_type=[STATUS_CHANGE], detail=failed
            ),
            targets=[targets.SqsQueue(self.failed_executions, dead_letter_queue=self.dead_letters)],
        )
