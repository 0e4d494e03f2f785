"""Where `routines compile` output will be deployed: account, region, partition and stage
of the target, or ``${…}`` placeholders for CloudFormation's ``DefinitionSubstitutions``.

Without any of these options the definition names moto's account and region, as the local
runtime deploys it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from contract.names import check_stage
from functions.cli.errors import UsageError
from statemachines.options import CompileOptions

ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
PARTITION = re.compile(r"^aws(?:-[a-z]+)*$")
TARGET_FLAGS = ("region", "account", "partition", "stage")


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not pattern.match(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return text

    return parse


def _stage(text: str) -> str:
    try:
        return check_stage(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_argument_group("deployment target (default: the local runtime's moto account)")
    target.add_argument("--region", type=_matching(REGION, "an AWS region (e.g. eu-west-1)"))
    target.add_argument("--account", type=_matching(ACCOUNT, "a 12-digit AWS account id"))
    target.add_argument("--partition", type=_matching(PARTITION, "an AWS partition (aws, aws-cn, …)"))
    target.add_argument("--stage", type=_stage, help="deployed stage (functions routines-<stage>-<plugin>)")
    target.add_argument(
        "--substitutions",
        action="store_true",
        help="write ${FunctionArn_<plugin>} placeholders for DefinitionSubstitutions instead of ARNs",
    )


class TargetError(UsageError):
    """Options that contradict each other."""


def compile_options(args: argparse.Namespace) -> CompileOptions:
    given = {flag: getattr(args, flag) for flag in TARGET_FLAGS if getattr(args, flag) is not None}
    # The partition also names the approval node's service integration, which is no
    # function ARN: it stays a flag beside --substitutions.
    conflicting = [flag for flag in given if flag != "partition"]
    if args.substitutions and conflicting:
        flags = ", ".join(f"--{flag}" for flag in conflicting)
        raise TargetError(f"--substitutions leaves every function ARN to the deployment; drop {flags}")
    return CompileOptions(
        routine_id=args.routine_id,
        substitutions=args.substitutions,
        **given,
    )


def placeholders(definition: str) -> dict[str, str]:
    """The ``DefinitionSubstitutions`` a definition needs: key → the plugin whose Lambda ARN
    it stands for."""
    keys = sorted(set(re.findall(r"\$\{(FunctionArn_[a-z0-9_]+)\}", definition)))
    return {key: key.removeprefix("FunctionArn_").replace("_", "-") for key in keys}
