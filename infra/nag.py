"""cdk-nag acknowledgments, always on the construct they concern and with a reason.

:func:`allow` is how every product role gets a permission: a resource containing ``*``
must come with a reason, which becomes the acknowledgment of exactly that finding
(``AwsSolutions-IAM5[Resource::...]``) — so no wildcard is ever unexplained.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Suppress ``rule`` on ``scope`` and its children; the reason is kept in metadata."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def allow(
    holder: iam.Role | iam.ManagedPolicy, actions: list[str], resources: list[str], why: str | None = None
) -> None:
    """A statement on a role or a managed policy. A resource with a wildcard needs a reason,
    which acknowledges exactly that cdk-nag finding (``AwsSolutions-IAM5[Resource::…]``)."""
    statement = iam.PolicyStatement(actions=actions, resources=resources)
    if isinstance(holder, iam.ManagedPolicy):
        holder.add_statements(statement)
    else:
        holder.add_to_principal_policy(statement)
    stack = Stack.of(holder)
    for resource in resources:
        text = nag_text(stack.resolve(resource))
        if "*" not in text:
            continue
        if why is None:
            raise ValueError(f"{holder.node.path}: '{text}' has a wildcard and no reason")
        acknowledge(holder, f"AwsSolutions-IAM5[Resource::{text}]", why)


def nag_text(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it in finding ids."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(nag_text(part) for part in parts)
    raise ValueError(f"cannot name {value!r} as cdk-nag does")
