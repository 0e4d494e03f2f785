"""The REST API (API Gateway) in front of the API and webhook functions.

Every route needs a Cognito ID token except ``POST /hooks/{routineId}`` (open, but the
webhook function checks the HMAC signature) and the OpenAPI document and docs page.
Stage throttling applies to every request but the webhooks', which have their own
method-level throttle (``webhookRateLimit``/``webhookBurstLimit``), so a noisy webhook
sender cannot use up the API's; the usage plan adds a daily quota for callers that
present an API key. API Gateway cannot lower its 10 MB body limit: the handlers
refuse larger bodies than ``MAX_BODY_BYTES`` with 413.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from contract.names import stage_prefix
from infra.auth import Auth
from infra.nag import acknowledge
from infra.runtime import ProductFunction, log_group
from infra.settings import Settings

SECURED = ("routines", "executions", "plugins")
PUBLIC_DOCS = ("openapi.json", "docs")
HOOKS = ("hooks", "{routineId}")  # POST /hooks/{routineId}


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        auth: Auth,
        api: ProductFunction,
        webhook: ProductFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = log_group(self, "AccessLogs", settings)
        self.rest_api = apigw.RestApi(
            self,
            "Rest",
            rest_api_name=f"{stage_prefix(settings.stage)}api",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,  # execution logs need the account-level API Gateway role
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,  # shared by every stage in the region
            deploy_options=apigw.StageOptions(
                stage_name=settings.stage,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=settings.api_rate_limit,
                throttling_burst_limit=settings.api_burst_limit,
                method_options={
                    # A method's settings replace the stage's for it: logging and metrics
                    # are restated with the throttle.
                    f"/{'/'.join(HOOKS)}/POST": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=settings.webhook_rate_limit,
                        throttling_burst_limit=settings.webhook_burst_limit,
                        logging_level=apigw.MethodLoggingLevel.ERROR,
                        metrics_enabled=True,
                    )
                },
            ),
        )
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[auth.user_pool])
        to_api = apigw.LambdaIntegration(api.function, allow_test_invoke=False)
        root = self.rest_api.root
        for path in SECURED:
            resource = root.add_resource(path)
            for target in (resource, resource.add_resource("{proxy+}")):
                target.add_method(
                    "ANY",
                    to_api,
                    authorizer=authorizer,
                    authorization_type=apigw.AuthorizationType.COGNITO,
                    request_validator=validator,
                )
        for path in PUBLIC_DOCS:
            method = root.add_resource(path).add_method("GET", to_api, request_validator=validator)
            _public(method, "The OpenAPI document and its docs page describe the API to anyone")
        hook = (
            root.add_resource(HOOKS[0])
            .add_resource(HOOKS[1])
            .add_method(
                "POST",
                apigw.LambdaIntegration(webhook.function, allow_test_invoke=False),
                request_parameters={"method.request.path.routineId": True},
                request_validator=validator,
            )
        )
        _public(
            hook, "Webhook senders hold no Cognito token: the function verifies the HMAC-SHA256 signature"
        )
        self.rest_api.add_usage_plan(
            "Plan",
            throttle=apigw.ThrottleSettings(
                rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit
            ),
            quota=apigw.QuotaSettings(limit=settings.api_quota_per_day, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        acknowledge(
            self.rest_api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role: AWS's managed policy is the documented one",
        )
        acknowledge(
            self.rest_api.deployment_stage,
            "AwsSolutions-APIG3",
            "WAF is billed per web ACL and rule; attach one to the stage where the threat model needs it",
        )


def _public(method: apigw.Method, reason: str) -> None:
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        acknowledge(method, rule, reason)
