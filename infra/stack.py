"""The product's stack: storage and the plugin Lambdas. Later issues add the API, the
recorder and triggers."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.plugin_functions import PluginFunctions
from infra.storage import Storage


class RoutinesStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.storage = Storage(self, "Storage")
        self.plugins = PluginFunctions(self, "Plugins", self.storage)
        CfnOutput(self, "RoutinesTableName", value=self.storage.routines.table_name)
        CfnOutput(self, "PayloadBucketName", value=self.storage.payloads.bucket_name)
