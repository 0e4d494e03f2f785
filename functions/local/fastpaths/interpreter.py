"""Fast paths through moto's Step Functions interpreter that change no execution.

Saves 79% of chain1000 (without it 4.7 times slower; benchmarks/local_speed.py --fastpaths, 2026-12-07).

Profiling a warm local run showed the time going to work that is identical on every run:

- moto parses a definition with its ANTLR grammar on create *and* again on every start —
  tens of milliseconds per state in ANTLR's pure-Python runtime — then builds the
  program's evaluation components from the parse tree (most of a long chain's start).
  Both are kept per definition text (bounded), and executions of one definition share
  its components. The interpreter is built for that: every Map iteration already
  evaluates one shared item-processor program, concurrently; all evaluation state lives
  in each execution's environment, and the only per-component value a component sets
  itself (its heap key, a random id naming its slot in that environment) is set once
  before the program is shared, so no two threads ever race to set it.
- the interpreter builds a new boto3 client for every Lambda invoke (~70 ms each under
  load). A client per region is built once and reused; boto3 clients are thread-safe, and
  the call still goes through botocore and moto's Lambda backend as before.
- the interpreter's Lambda invokes (plain RequestResponse calls) skip the HTTP round
  trip through botocore's serializer and moto's response layer: the same Lambda backend
  call answers them, with the response fields botocore would have parsed (StatusCode,
  FunctionError, Payload). Anything else (other invocation types, log tails, a function
  that does not exist) takes moto's ordinary path, so errors stay exactly moto's.
- every state's ResultPath (``$`` when the state names none, as in the JSONata machines
  the compiler emits) is parsed anew, by a freshly built jsonpath-ng parser (lexer and
  grammar tables included); a parsed path is an immutable expression, so each distinct
  path is parsed once.
- copies that protect nothing, per state and per Map iteration, are skipped: see
  :mod:`functions.local.fastpaths.interp_paths`.
- the runner learns that an execution ended from moto's own execution record (a wake-up,
  not a poll through boto3 every 20 ms).

Installed for the lifetime of the outermost :class:`~functions.local.LocalAWS`, over the
moto files it was written for (:mod:`functions.local.fastpaths.guard`).
"""

from __future__ import annotations

import copy
import io
import json
import sys
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from moto.awslambda.utils import get_backend as lambda_backend
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from functions.local.fastpaths.guard import FastPath, Patch

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
MAX_PROGRAMS = 64  # definitions whose program (and parse tree) is kept
# Copied from moto's LambdaResponse.invoke (moto/awslambda/responses.py, in written_for):
# its response size check (sys.getsizeof of the payload) and the error it answers with.
MAX_PAYLOAD = 6_000_000
TOO_LARGE = {
    "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}

_lock = threading.Lock()
_programs: OrderedDict[str, tuple[Any, Any]] = OrderedDict()  # definition -> (program, tree)
_clients: dict[tuple[str, str], Any] = {}
_ended: dict[str, threading.Event] = {}


def _parse(definition: str) -> tuple[Any, Any]:
    with _lock:
        parsed = _programs.get(definition)
        if parsed is not None:
            _programs.move_to_end(definition)
            return parsed
    program, tree = _originals["parse"](definition)  # raises on a syntax error: not kept
    _set_heap_keys(program)
    with _lock:
        parsed = _programs.setdefault(definition, (program, tree))
        while len(_programs) > MAX_PROGRAMS:
            _programs.popitem(last=False)
    return parsed


def _set_heap_keys(program: Component) -> None:
    """Give every component of the program its heap key now (moto sets it on first use)."""
    seen: set[int] = set()
    todo: list[Any] = [program]
    while todo:
        value = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, EvalComponent):
            _ = value.heap_key
        if isinstance(value, Component):
            todo.extend(vars(value).values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            todo.extend(value)
        elif isinstance(value, dict):
            todo.extend(value.values())


class DirectLambda:
    """The interpreter's Lambda client, answering RequestResponse invokes from moto's
    Lambda backend directly (what moto's ``LambdaResponse.invoke`` does, without the
    HTTP serialization around it)."""

    def __init__(self, region: str, client: Any) -> None:
        self.region = region
        self.client = client  # moto's ordinary path, for everything else

    def invoke(self, **parameters: Any) -> dict[str, Any]:
        if set(parameters) - {"FunctionName", "Payload", "Qualifier"}:
            return dict(self.client.invoke(**parameters))
        backend = lambda_backend(DEFAULT_ACCOUNT_ID, self.region)
        name, qualifier = str(parameters["FunctionName"]), parameters.get("Qualifier")
        try:
            backend.get_function(name, qualifier)
        except Exception:  # moto's error, as botocore would report it
            return dict(self.client.invoke(**parameters))
        body = parameters.get("Payload")
        headers: dict[str, str] = {}
        payload = backend.invoke(
            name, qualifier, body.decode() if isinstance(body, bytes) else body, {}, headers
        )
        if payload is None:
            return dict(self.client.invoke(**parameters))
        if sys.getsizeof(payload) > MAX_PAYLOAD:
            headers["x-amz-function-error"] = "Unhandled"
            payload = json.dumps(TOO_LARGE).encode()
        response: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(_bytes(payload))}
        if "x-amz-function-error" in headers:
            response["FunctionError"] = headers["x-amz-function-error"]
        return response


def _bytes(payload: str | bytes) -> bytes:
    return payload.encode() if isinstance(payload, str) else payload


def _client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    # moto's boto_client_for builds the same client whatever the state's credentials.
    key = (region, service)
    with _lock:
        client = _clients.get(key)
    if client is None:
        client = _originals["client_for"](region=region, service=service, state_credentials=None)
        if service == "lambda":
            client = DirectLambda(region, client)
        with _lock:
            client = _clients.setdefault(key, client)
    return client


def _terminated(comm: BaseExecutionWorkerCommunication) -> None:
    _originals["terminated"](comm)
    with _lock:
        event = _ended.get(comm.execution.exec_arn)
    if event is not None:
        event.set()


@lru_cache(maxsize=4096)
def _result_path(path: str) -> Any:
    return _originals["result_path"](path)


def ended_event(execution_arn: str) -> threading.Event:
    """An event set when the execution ends (register it right after the start)."""
    with _lock:
        return _ended.setdefault(execution_arn, threading.Event())


def forget(execution_arn: str) -> None:
    with _lock:
        _ended.pop(execution_arn, None)


class InterpreterObserver:
    """An execution followed through the interpreter's own record of it."""

    def __init__(self, execution_arn: str) -> None:
        parts = execution_arn.split(":")
        self.arn = execution_arn
        self.ended = ended_event(execution_arn)  # before the first status read
        backend = stepfunctions_parser_backends[parts[4]][parts[3]]
        self.execution: Any = backend.describe_execution(execution_arn)

    def status(self) -> str:
        status = self.execution.exec_status
        return str(status.value) if status is not None else "RUNNING"

    def wait(self, seconds: float) -> bool:
        """True once the execution has ended (waits at most ``seconds``)."""
        return self.status() in TERMINAL or self.ended.wait(seconds) or self.status() in TERMINAL

    def events_since(self, seen: int) -> list[dict[str, Any]]:
        """History events after the first ``seen``, copied under the interpreter's lock
        (deeply while it may still write to them)."""
        worker = self.execution.exec_worker
        env = worker.env if worker is not None else None
        if env is None:
            return []
        manager = env.event_manager
        with manager._mutex:
            events = manager._history_event_list[seen:]
            return events if self.status() in TERMINAL else copy.deepcopy(events)

    def history(self) -> list[dict[str, Any]]:
        """The whole history as ``get_execution_history`` returns it (event types as plain
        strings), without serializing it through the API."""
        from functions.local.observe import plain

        return [plain(event) for event in self.events_since(0)]

    def close(self) -> None:
        forget(self.arn)


def _patches() -> list[Patch]:
    return [
        ("parse", AmazonStateLanguageParser, "parse", staticmethod(_parse)),
        ("client_for", lambda_eval_utils, "boto_client_for", _client_for),
        ("terminated", BaseExecutionWorkerCommunication, "terminated", _terminated),
        ("result_path", result_path, "parse", _result_path),
    ]


def _forget() -> None:
    _clients.clear()  # they belong to this moto session
    _ended.clear()


FAST_PATH = FastPath(
    "interpreter-programs",
    "parsing a definition on every start; a Lambda client per invoke; HTTP around the "
    "interpreter's Lambda invokes; ResultPath parsing; polling for an execution's end",
    written_for=(
        "jsonpath_ng.jsonpath",
        "jsonpath_ng.parser",
        "moto.awslambda.models",
        "moto.awslambda.responses",
        "moto.awslambda.utils",
        "moto.core.models",
        "moto.stepfunctions.parser.asl.component.common.path.result_path",
        "moto.stepfunctions.parser.asl.component.component",
        "moto.stepfunctions.parser.asl.component.eval_component",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
        "moto.stepfunctions.parser.asl.eval.environment",
        "moto.stepfunctions.parser.asl.eval.event.event_manager",
        "moto.stepfunctions.parser.asl.parse.asl_parser",
        "moto.stepfunctions.parser.asl.utils.boto_client",
        "moto.stepfunctions.parser.backend.execution",
        "moto.stepfunctions.parser.models",
    ),
    patches=_patches,
    on_uninstall=_forget,
)
_originals = FAST_PATH.originals
