"""Storage: DynamoDB tables for routines, executions, node logs and paused approvals; S3
for large payloads."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.names import APPROVALS_TABLE, EXECUTIONS_TABLE, NODE_LOGS_TABLE, ROUTINES_TABLE, TableSpec


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.routines = self._table("Routines", ROUTINES_TABLE)
        self.executions = self._table("Executions", EXECUTIONS_TABLE)
        self.node_logs = self._table("NodeLogs", NODE_LOGS_TABLE, ttl="expiresAt")
        self.approvals = self._table("Approvals", APPROVALS_TABLE, ttl="expiresAt")
        self.payloads = s3.Bucket(
            self,
            "Payloads",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(30))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _table(self, construct_id: str, spec: TableSpec, ttl: str | None = None) -> dynamodb.TableV2:
        string = dynamodb.AttributeType.STRING
        indexes = [
            dynamodb.GlobalSecondaryIndexPropsV2(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=string),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=string) if index.sort_key else None,
            )
            for index in spec.indexes
        ]
        return dynamodb.TableV2(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING)
            if spec.sort_key
            else None,
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=ttl,
            global_secondary_indexes=indexes or None,
            removal_policy=RemovalPolicy.RETAIN,
        )
