"""Alarms, all published to one SNS topic (subscribe to it after deploying):
- failed executions: any failed, timed-out or aborted routine execution in 5 minutes
  (the messages sent to the failed-executions queue: a Standard execution's status event,
  an Express one's from the recorder's sweep — infra/recorder.py);
- recorder dead letters: status events the recorder could not process;
- per function: errors or throttles (a throttled plugin means its reserved concurrency
  is too small for the load; plugin errors include routine-level failures, hence the
  threshold).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.names import stage_prefix
from infra.runtime import ProductFunction
from infra.settings import Settings

PERIOD = Duration.minutes(5)
FUNCTION_ERRORS_THRESHOLD = 5


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        functions: dict[str, ProductFunction],
        dead_letters: sqs.IQueue,
        failed_executions: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "Alarms", topic_name=f"{stage_prefix(settings.stage)}alarms", enforce_ssl=True
        )
        self._action = actions.SnsAction(self.topic)
        self._alarm(
            "FailedExecutions",
            failed_executions.metric_number_of_messages_sent(period=PERIOD, statistic="Sum"),
            1,
            "Routine executions (Standard and Express) failed, timed out or were aborted "
            "(see the FailedExecutions queue)",
        )
        self._alarm(
            "RecorderDeadLetters",
            dead_letters.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            1,
            "Execution status events the recorder could not process are waiting in its dead-letter queue",
        )
        for name, function in sorted(functions.items()):
            fn = function.function
            failures = cloudwatch.MathExpression(
                expression="errors + throttles",
                using_metrics={
                    "errors": fn.metric_errors(period=PERIOD, statistic="Sum"),
                    "throttles": fn.metric_throttles(period=PERIOD, statistic="Sum"),
                },
                period=PERIOD,
                label=f"{name} errors + throttles",
            )
            self._alarm(
                f"{_id(name)}Failures",
                failures,
                FUNCTION_ERRORS_THRESHOLD,
                f"{fn.function_name}: errors or throttles",
            )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, threshold: int, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)


def _id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
