"""Who may call the API: a Cognito user pool (administrators create users; no self
sign-up) and an app client for the CLI and curl (user-password and SRP auth, no secret).
The API's authorizer validates the ID token; the API scopes records to its ``sub``."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from contract.names import stage_prefix
from infra.nag import acknowledge
from infra.settings import Settings


class Auth(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"{stage_prefix(settings.stage)}users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.REQUIRED if settings.mfa_required else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.client = self.user_pool.add_client(
            "Cli",
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            prevent_user_existence_errors=True,
        )
        if not settings.mfa_required:
            acknowledge(
                self.user_pool,
                "AwsSolutions-COG2",
                "MFA is optional by default so CLI and CI users can sign in with a password; "
                "deploy with -c mfa=required to enforce it",
            )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan (threat protection) is billed per active user; "
            "administrators create every user, and the password policy is strict",
        )
