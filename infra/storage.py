"""Storage: one DynamoDB table per ``TableSpec`` in :mod:`contract.names` (keys, indexes and
TTL come from the spec, so a table or index added there is deployed too), and the S3
payload bucket with its access-log bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contract.names import (
    APPROVALS_TABLE,
    EXECUTIONS_TABLE,
    IDEMPOTENCY_TABLE,
    NODE_LOGS_TABLE,
    PAYLOAD_PREFIX,
    PLUGIN_LEDGER_TABLE,
    RECORDS_PREFIX,
    ROUTINES_TABLE,
    TABLES,
    TRIGGER_OBJECT,
    TableSpec,
    table_name,
)
from infra.nag import acknowledge
from infra.runtime import ProductFunction
from infra.settings import Settings

TABLE_READ = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]
TABLE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]


def _key(name: str | None) -> dynamodb.Attribute | None:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING) if name else None


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self.specs = {spec.name: spec for spec in (*TABLES, IDEMPOTENCY_TABLE, PLUGIN_LEDGER_TABLE)}
        self.tables = {name: self._table(spec, settings) for name, spec in self.specs.items()}
        self.routines = self.tables[ROUTINES_TABLE.name]
        self.executions = self.tables[EXECUTIONS_TABLE.name]
        self.node_logs = self.tables[NODE_LOGS_TABLE.name]
        self.approvals = self.tables[APPROVALS_TABLE.name]
        self.idempotency = self.tables[IDEMPOTENCY_TABLE.name]
        # Plugins that declare a ledger (plugins/runtime/ledger.py): only their functions.
        self.ledger = self.tables[PLUGIN_LEDGER_TABLE.name]
        access_logs = self._bucket("AccessLogs", Duration.days(90))
        acknowledge(
            access_logs, "AwsSolutions-S1", "This is the access-log bucket; logging it to itself would loop"
        )
        self.payloads = self._bucket("Payloads", Duration.days(settings.payload_expiry_days), access_logs)

    def grant(self, function: ProductFunction, spec: TableSpec, write: bool = False) -> None:
        """Item access to a table and its indexes, by exact ARN (index names come from
        the spec, so no ``index/*``)."""
        table = self.tables[spec.name]
        arns = [
            table.table_arn,
            *(f"{table.table_arn}/index/{i.name}" for i in self.specs[spec.name].indexes),
        ]
        function.allow(TABLE_READ + (TABLE_WRITE if write else []), arns)

    def record_objects(self) -> str:
        """ARN pattern of the execution-record bodies the control plane keeps in the bucket."""
        return self.payloads.arn_for_objects(f"{RECORDS_PREFIX}*")

    def trigger_objects(self) -> str:
        """ARN pattern of the offloaded triggers the start paths (API, webhook) write."""
        return self.payloads.arn_for_objects(f"{PAYLOAD_PREFIX}*/{TRIGGER_OBJECT}")

    def payload_objects(self) -> str:
        """ARN pattern of the only objects the product reads and writes."""
        return self.payloads.arn_for_objects(f"{PAYLOAD_PREFIX}*")

    def _table(self, spec: TableSpec, settings: Settings) -> dynamodb.TableV2:
        key = "".join(part.capitalize() for part in spec.name.split("-"))
        return dynamodb.TableV2(
            self,
            key,
            table_name=table_name(spec, settings.stage),
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=_key(spec.sort_key),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=dynamodb.Attribute(
                        name=index.partition_key, type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=_key(index.sort_key),
                )
                for index in spec.indexes
            ]
            or None,
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl,
            dynamo_stream=dynamodb.StreamViewType.NEW_IMAGE if spec.stream else None,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _bucket(self, construct_id: str, expiry: Duration, logs: s3.IBucket | None = None) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=expiry, abort_incomplete_multipart_upload_after=Duration.days(1))
            ],
            server_access_logs_bucket=logs,
            server_access_logs_prefix="payloads/" if logs else None,
            removal_policy=RemovalPolicy.RETAIN,
        )
