"""``routines``: validate, compile and run routines locally, and inspect the catalogue.

Exit codes: 0 success, 1 the routine is invalid (or its run failed), 2 usage errors and
files that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from contract.errors import RoutinesError
from contract.problems import Problem, Report
from functions.cli import startup
from functions.cli.errors import EXIT_INVALID, EXIT_OK, exit_code
from functions.cli.loading import parse_json, read_source
from functions.cli.target import add_target_arguments, compile_options, placeholders

USER_VARIABLE, DEFAULT_USER = "ROUTINES_USER", "local"
SETTLE_LATER = ("run", "test")  # they settle once their local AWS is up


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="routines", description="Routines on AWS Step Functions")
    parser.add_argument("--version", action="version", version=f"routines {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check routine files; exit 1 if any is invalid")
    validate.add_argument("files", nargs="+", metavar="FILE", help="routine JSON file ('-' = stdin)")
    validate.add_argument("--json", action="store_true", help="one JSON report per file")
    validate.set_defaults(handler=cmd_validate)

    compile_ = commands.add_parser("compile", help="print the Step Functions definition (ASL) of a routine")
    compile_.add_argument("file", metavar="FILE", help="routine JSON file ('-' = stdin)")
    compile_.add_argument("--report", action="store_true", help="print the compile report instead")
    compile_.add_argument("--routine-id", default="local", help="routine id baked into the definition")
    add_target_arguments(compile_)
    compile_.set_defaults(handler=cmd_compile)

    run = commands.add_parser("run", help="run a routine on the local runtime (moto, in-process)")
    run.add_argument("file", metavar="FILE", help="routine JSON file ('-' = stdin)")
    run.add_argument("--input", metavar="JSON", help="the trigger payload (default {})")
    run.add_argument("--json", action="store_true", help="print the execution report as JSON")
    run.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="stop the execution after this long (default 300; approvals wait for someone)",
    )
    run.add_argument(
        "--secret",
        action="append",
        metavar="NAME=VALUE",
        help="create a secret in the local Secrets Manager (repeatable; JSON text is read as JSON)",
    )
    for flag, verb in (("--approve", "approve"), ("--reject", "reject")):
        run.add_argument(
            flag,
            action="append",
            default=[],
            metavar="NODE",
            help=f"{verb} this approval node each time it waits (repeatable)",
        )
    run.set_defaults(handler=cmd_run)

    test = commands.add_parser("test", help="run routine test files (*.test.json) on the local runtime")
    test.add_argument("paths", nargs="*", metavar="PATH", help="test files or directories (default .)")
    test.add_argument(
        "--secret",
        action="append",
        metavar="NAME=VALUE",
        help="a secret for every case, unless its test file sets that secret (repeatable)",
    )
    test.add_argument("-k", dest="only", metavar="TEXT", help="only the cases whose name contains TEXT")
    test.set_defaults(handler=cmd_test)

    plugins = commands.add_parser("plugins", help="list the plugin catalogue")
    plugins.add_argument("--json", action="store_true", help="full metadata with parameter schemas")
    plugins.set_defaults(handler=cmd_plugins)

    schema = commands.add_parser("schema", help="print the JSON Schema of routine documents")
    schema.set_defaults(handler=cmd_schema)

    serve = commands.add_parser("serve", help="the REST API on 127.0.0.1, on the local runtime")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument(
        "--state-dir", metavar="DIR", help="keep routines and execution records here across restarts"
    )
    serve.set_defaults(handler=cmd_serve)

    push = commands.add_parser("push", help="save a routine through the API and activate it")
    push.add_argument("file", metavar="FILE", help="routine JSON file ('-' = stdin)")
    push.add_argument(
        "--id", dest="routine_id", help="update this routine (default: the one with the same name)"
    )
    _client_options(push)
    push.set_defaults(handler=cmd_push)

    migrate = commands.add_parser("migrate", help="rewrite JSONPath expressions of a routine file as JSONata")
    migrate.add_argument("file", metavar="FILE", help="routine JSON file ('-' = stdin)")
    migrate.add_argument(
        "--write", action="store_true", help="rewrite the file in place instead of printing it"
    )
    migrate.set_defaults(handler=cmd_migrate)

    executions = commands.add_parser("executions", help="a routine's recent executions, through the API")
    executions.add_argument("routine_id", metavar="ROUTINE_ID")
    executions.add_argument(
        "--status", type=str.upper, help="only executions with this status (e.g. failed, FAILED)"
    )
    executions.add_argument("--limit", type=int, default=20)
    executions.add_argument("--next-token", help="the page after the one that printed this token")
    _client_options(executions)
    executions.set_defaults(handler=cmd_executions)

    from functions.cli.stop import add_stop_command

    add_stop_command(commands, _client_options)
    from functions.cli.graph import add_graph_command

    add_graph_command(commands)
    return parser


def _client_options(parser: argparse.ArgumentParser) -> None:
    from functions.cli.client import DEFAULT_API

    parser.add_argument("--api", default=DEFAULT_API, help=f"API base URL (default {DEFAULT_API})")
    parser.add_argument(
        "--user",
        default=os.environ.get(USER_VARIABLE) or DEFAULT_USER,
        help=f"caller id sent as X-User-Id to the local server (default: ${USER_VARIABLE}, else "
        f"'{DEFAULT_USER}'); routines belong to the user who pushed them",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("routines")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _as_user(args: argparse.Namespace) -> None:
    """Say on stderr whose routines a client command sees (they are per user)."""
    if not args.json:
        print(
            f"routines: as user '{args.user}' at {args.api} (--user or ${USER_VARIABLE} to change)",
            file=sys.stderr,
        )


def script() -> None:
    """The ``routines`` console script (see :mod:`functions.cli.startup`)."""
    startup.hold()
    try:
        code = main()
    finally:
        startup.finish()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in SETTLE_LATER:
        startup.settle()
    try:
        code: int = args.handler(args)
    except BrokenPipeError:
        return EXIT_OK
    except RoutinesError as exc:  # the one place an error becomes an exit code
        print(f"routines {args.command}: {exc}", file=sys.stderr)
        return exit_code(exc)
    return code


def load_and_validate(name: str) -> Report:
    from statemachines.compiler import validate_for_save

    report = Report()
    ok, document = parse_json(read_source(name), report)
    return validate_for_save(document) if ok else report


def cmd_validate(args: argparse.Namespace) -> int:
    worst = EXIT_OK
    for name in args.files:
        report = load_and_validate(name)
        if not report.valid:
            worst = EXIT_INVALID
        if args.json:
            print(json.dumps(report.to_json(), ensure_ascii=False))
        else:
            print(_human(name, report))
    return worst


def cmd_compile(args: argparse.Namespace) -> int:
    from statemachines.compiler import compile_validated
    from statemachines.validator import analyse

    options = compile_options(args)
    ok, document = _read_document(args.file)
    if not ok:
        return EXIT_INVALID
    validation = analyse(document)
    if not validation.report.valid:
        print(_human(args.file, validation.report), file=sys.stderr)
        return EXIT_INVALID
    compiled = compile_validated(validation, options)
    shown = compiled.report if args.report else compiled.asl
    if args.report and options.substitutions:
        shown = {**shown, "substitutions": placeholders(compiled.definition)}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from functions.cli.run import InputError, run_file
    from functions.cli.test import parse_secrets

    ok, document = _read_document(args.file)
    if not ok:
        return EXIT_INVALID
    secrets = parse_secrets(args.secret)
    both = sorted(set(args.approve) & set(args.reject))
    if both:
        raise InputError(f"both --approve and --reject name {', '.join(both)}")
    decisions = {**dict.fromkeys(args.approve, True), **dict.fromkeys(args.reject, False)}
    return run_file(args.file, document, args.input, args.json, args.timeout, secrets, decisions)


def cmd_test(args: argparse.Namespace) -> int:
    from functions.cli.test import parse_secrets, test_paths

    return test_paths(args.paths, parse_secrets(args.secret), args.only)


def _read_document(name: str) -> tuple[bool, Any]:
    """The file's (ok, document) as :func:`parse_json` reads it; when it is not JSON, why
    is printed to stderr first (the command then exits EXIT_INVALID)."""
    report = Report()
    ok, document = parse_json(read_source(name), report)
    if not ok:
        print(_human(name, report), file=sys.stderr)
    return ok, document


def _human(name: str, report: Report) -> str:
    verdict = "valid" if report.valid else f"invalid ({len(report.errors)} error(s))"
    if report.warnings:
        verdict += f", {len(report.warnings)} warning(s)"
    lines = [f"{name}: {verdict}"]
    lines += [_line("error", p) for p in report.errors]
    lines += [_line("warning", p) for p in report.warnings]
    return "\n".join(lines)


def _line(kind: str, problem: Problem) -> str:
    where = problem.path or "(document)"
    return f"  {kind:<7} {problem.code:<24} {where}: {problem.message}"


def cmd_plugins(args: argparse.Namespace) -> int:
    from plugins.sdk import default_registry

    registry = default_registry()
    if args.json:
        print(json.dumps(registry.to_json(), indent=2, ensure_ascii=False))
        return EXIT_OK
    width = max(len(p.name) for p in registry)
    for plugin in registry:
        print(
            f"{plugin.name:<{width}}  v{plugin.version}  {plugin.kind.value:<7}  "
            f"{plugin.category:<8}  {plugin.description}"
        )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from statemachines.schema import routine_schema

    print(json.dumps(routine_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from functions.serve import serve

    return serve(args.port, Path(args.state_dir) if args.state_dir else None)


def cmd_push(args: argparse.Namespace) -> int:
    from functions.cli.client import Client, print_push, push

    ok, document = _read_document(args.file)
    if not ok:
        return EXIT_INVALID
    _as_user(args)
    result = push(Client(args.api, args.user), document, args.routine_id)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_push(result)
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    from functions.cli.migrate import cmd_migrate as migrate

    return migrate(args)


def cmd_executions(args: argparse.Namespace) -> int:
    from urllib.parse import urlencode

    from functions.cli.client import print_executions

    query = {"limit": args.limit, **({"status": args.status} if args.status else {})}
    if args.next_token:
        query["nextToken"] = args.next_token
    path = f"/routines/{args.routine_id}/executions?{urlencode(query)}"
    return client_call(args, "GET", path, None, print_executions)


def client_call(
    args: argparse.Namespace, method: str, path: str, body: Any, show: Callable[[Any], None]
) -> int:
    """One API call of a client command: its answer shown (as JSON with --json), exit 0.
    The API's refusal (:class:`ApiFailure`) goes to :func:`main`."""
    from functions.cli.client import Client

    _as_user(args)
    answer = Client(args.api, args.user).call(method, path, body)
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        show(answer)
    return EXIT_OK
