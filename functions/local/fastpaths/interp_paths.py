"""Fast paths through moto's Step Functions interpreter, per state and per Map iteration,
that change no execution (tests/functions/test_local_interp_paths.py runs routines with
and without them).

Saves 19% of chain1000 (without it +23%; benchmarks/local_speed.py --fastpaths, 2026-12-07).

A profile of a warm Map over 100 items showed most of the interpreter's copying going to
one value: the Map state's input (which holds the items themselves), deep-copied twice
per iteration — so a Map's cost grew with the square of its items. Both copies protect
nothing:

- ``InlineItemProcessorWorker._eval_input`` stores a deep copy of the Map's input as the
  iteration's ``$states.input`` while the ItemSelector (or Parameters) is evaluated, then
  replaces it with the selector's output. Here the Map's input is stored uncopied. A
  ``States`` object never writes into the value it stores (``reset``/``set_result``
  replace it) and every reader gets a deep copy (``get_input``, ``extract``) or a JSON
  text (JSONata's bindings); the Map's input is never written while its iterations run —
  moto itself hands it, uncopied, to every iteration on its evaluation stack, which is
  where the ItemSelector's paths read it from.
- ``ExecutionState._evaluate_with_timeout`` runs each state in a frame whose stack is a
  deep copy of the state's stack — which, inside an iteration, still holds the Map's
  input (left there by the step above). For a Lambda task (``StateTaskLambda``) the frame
  only ever pops its top entry, the state's effective input, and pushes its result; the
  entries below it are never read, and are discarded with the frame. The top entry is
  deep-copied as before; the entries below are passed uncopied.
  The same method also stored ``get_input()`` (already a fresh deep copy that nothing
  else holds) with ``reset``, which deep-copies it again; it is stored as it is.
- moto starts a new thread for each Task (``_evaluate_with_timeout``, which waits for it
  ``TimeoutSeconds`` at most) and each program it runs (``Program.eval``, every Map
  iteration's included, which waits for it ``TimeoutSeconds`` at most). Where that wait
  has no end — a program without ``TimeoutSeconds`` (every Map iteration and Parallel
  branch, and a machine without one) and a Task without one (its default, 99,999,999 s,
  three years) — the thread that waits does nothing until the work returns, so the work
  runs on it (:func:`_run_here`): no other thread to wake, and back. Handing work to
  another thread and waiting for it took about an eighth of a warm 100-item loop. It runs
  as it would on a thread of its own: in a fresh ``contextvars`` context, an escaping
  exception reported to ``threading.excepthook`` (the waiter then goes on waiting, as it
  would for a thread that died), up to ``MAX_NESTED`` levels deep on one thread (Maps
  within Parallels within Maps…) and only with ``MIN_ROOM`` frames left below the
  recursion limit; otherwise on a thread of its own, with a stack of its own. (A Lambda
  handler run here starts a few frames deeper than on a fresh thread: recursion within
  about a dozen frames of the limit that passed before fails now.) Work with
  a timeout that can pass runs on a pooled thread (:mod:`functions.local.workers`) and
  is waited for the same way — an event set when the work returns, waited for the same
  time — so it still times out while the work goes on.

- every state's StateEntered and StateExited events write its input (output) as JSON,
  read through ``States.get_input()``, which deep-copies it first; the JSON is written
  from the value itself (``to_json_str`` only reads it) when the states object is moto's.

- every evaluation step of every component (~5,000 per Map over 100 items) asks
  ``env.is_running()``, sets ``env.next_field_name`` through two property setters, and
  calls ``_log_evaluation_step``, which formats nothing unless moto's logger is at DEBUG.
  The step reads and sets the program state's fields directly when the environment is
  moto's own ``Environment`` class and its state a ``ProgramRunning`` (with the same
  checks and errors as the setters), and calls the logging step only when DEBUG is on:
  it logs the same lines then, and does the same work either way.

Each replacement is moto's own method with only those lines changed, installed only over
the moto files it was written from (see :mod:`functions.local.fastpaths.guard`): a moto
whose files differ keeps its own code. Elsewhere:

- every history event's timestamp is formatted with ``strftime`` under the event
  manager's lock; the same text is built with ``%`` formatting (years 1000 to 9999; any
  other value, or none, goes to moto's function).
"""

from __future__ import annotations

import contextvars
import copy
import datetime
import logging
import sys
import threading
from typing import Any

from moto.core.utils import iso_8601_datetime_with_milliseconds
from moto.stepfunctions.parser.api import (
    HistoryEventExecutionDataDetails,
    StateEnteredEventDetails,
    StateExitedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError, TimeoutSeconds
from moto.stepfunctions.parser.asl.component.eval_component import LOG, EvalComponent
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.inline_item_processor_worker import (  # noqa: E501
    InlineItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event import event_manager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
from moto.stepfunctions.parser.asl.eval.states import States
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from functions.local.fastpaths.guard import FastPath, Patch
from functions.local.workers import WORKERS

MAX_NESTED = 8  # work run on the waiting thread, nested (a stack this deep takes a thread)
# Frames below the recursion limit that work run on the waiting thread must have left: on
# a thread of its own it would start with nearly all of them (moto's Map with
# MaxConcurrency 1 evaluates each next item one level deeper on its worker's stack).
MIN_ROOM = 400
_nested = threading.local()


def _endless(seconds: float | None) -> bool:
    """Whether a wait of ``seconds`` never ends before the work does (see the docstring)."""
    return seconds is None or seconds >= TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS


def _run_here(work: Any) -> None:
    """Run ``work`` on this thread as :mod:`functions.local.workers` runs it on a thread of
    its own, or hand it to one when this thread is already ``MAX_NESTED`` levels deep or
    has fewer than ``MIN_ROOM`` frames left."""
    depth = getattr(_nested, "depth", 0)
    if depth >= MAX_NESTED or _short_of_room():
        WORKERS.run(work)
        return
    _nested.depth = depth + 1
    try:
        contextvars.Context().run(work)
    except BaseException:  # as an uncaught exception ends a thread of its own
        kind, value, trace = sys.exc_info()
        threading.excepthook(threading.ExceptHookArgs([kind, value, trace, threading.current_thread()]))
    finally:
        _nested.depth = depth


def _short_of_room() -> bool:
    """Whether fewer than ``MIN_ROOM`` frames are left below the recursion limit."""
    try:
        sys._getframe(max(0, sys.getrecursionlimit() - MIN_ROOM))  # a walk of frame pointers
    except ValueError:  # the stack is not that deep
        return False
    return True


def _store_input(states: States, value: Any) -> None:
    """``states.reset(value)`` without the deep copy (callers: see the module's docstring)."""
    states.reset(input_value=None)
    states._states_data["input"] = value


def _iso_8601_ms(value: datetime.datetime | None = None) -> str:
    if type(value) is not datetime.datetime or not 1000 <= value.year <= 9999:
        return iso_8601_datetime_with_milliseconds(value)
    # strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", in half the time of strftime or an f-string
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond // 1000,
    )


def _eval_input(self: InlineItemProcessorWorker, env_frame: Any) -> None:
    # moto 5.2.5's InlineItemProcessorWorker._eval_input; the Map's input stored uncopied.
    if not self._parameters and not self._item_selector:
        return

    map_state_input = self._env.stack[-1]
    _store_input(env_frame.states, map_state_input)
    env_frame.stack.append(map_state_input)

    if self._item_selector:
        self._item_selector.eval(env_frame)
    elif self._parameters:
        self._parameters.eval(env_frame)

    output_value = env_frame.stack[-1]
    env_frame.states.reset(input_value=output_value)


def _frame_stack(state: ExecutionState, stack: list[Any]) -> list[Any]:
    if type(state) is StateTaskLambda:
        return [*stack[:-1], *copy.deepcopy(stack[-1:])]
    return copy.deepcopy(stack)


def _evaluate_with_timeout(self: ExecutionState, env: Any) -> None:
    # moto 5.2.5's ExecutionState._evaluate_with_timeout; the frame's input stored as it
    # is (a fresh copy), a Lambda task's stack copied from its top entry only, and work
    # without a timeout run on this thread.
    self.timeout.eval(env=env)
    timeout_seconds: int = env.stack.pop()

    frame = env.open_frame()
    _store_input(frame.states, env.states.get_input())
    frame.stack = _frame_stack(self, env.stack)
    execution_outputs: list[Any] = []
    execution_exceptions: list[Exception | None] = [None]
    terminated_event = threading.Event()

    def _exec_and_notify() -> None:
        try:
            self._eval_execution(frame)
            execution_outputs.extend(frame.stack)
        except Exception as ex:
            execution_exceptions.append(ex)
        terminated_event.set()

    # moto: a new Thread (appended to its TMP_THREADS)
    if _endless(timeout_seconds):
        _run_here(_exec_and_notify)
    else:
        WORKERS.run(_exec_and_notify)

    finished_on_time: bool = terminated_event.wait(timeout_seconds)
    frame.set_ended()
    env.close_frame(frame)

    execution_exception = execution_exceptions.pop()
    if execution_exception:
        raise execution_exception

    if not finished_on_time:
        raise EvalTimeoutError()

    execution_output = execution_outputs.pop()
    env.stack.append(execution_output)

    if not self._is_language_query_jsonpath():
        env.states.set_result(execution_output)

    if self.assign_decl:
        self.assign_decl.eval(env=env)

    if self.result_selector:
        self.result_selector.eval(env=env)

    if self.result_path:
        self.result_path.eval(env)
    else:
        res = env.stack.pop()
        env.states.reset(input_value=res)


def _current_input(states: States) -> Any:
    """The state's input as ``states.get_input()`` gives it, for reading only: without the
    deep copy when get_input is moto's (a deep copy of exactly this value)."""
    if type(states) is States:
        return states._states_data["input"]
    return states.get_input()


def _entered_details(self: CommonStateField, env: Any) -> Any:
    # moto 5.2.5's CommonStateField._get_state_entered_event_details; the input written as
    # JSON from the state's input itself (to_json_str only reads it).
    return StateEnteredEventDetails(
        name=self.name,
        input=to_json_str(_current_input(env.states), separators=(",", ":")),
        inputDetails=HistoryEventExecutionDataDetails(truncated=False),  # Always False for api calls.
    )


def _exited_details(self: CommonStateField, env: Any) -> Any:
    # moto 5.2.5's CommonStateField._get_state_exited_event_details; the output written as
    # JSON from the state's input itself (to_json_str only reads it).
    event_details = StateExitedEventDetails(
        name=self.name,
        output=to_json_str(_current_input(env.states), separators=(",", ":")),
        outputDetails=HistoryEventExecutionDataDetails(truncated=False),  # Always False for api calls.
    )
    assigned_variables = env.variable_store.get_assigned_variables()
    env.variable_store.reset_tracing()
    if assigned_variables:
        event_details["assignedVariables"] = assigned_variables
        event_details["assignedVariablesDetails"] = {"truncated": False}
    return event_details


def _program_eval(self: Program, env: Any) -> None:
    # moto 5.2.5's Program.eval, the program run here or by a pooled worker: join(timeout)
    # then is_alive() is an event set when the program returns, waited for ``timeout``.
    timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None
    env.next_state_name = self.start_at.start_at_name
    returned = threading.Event()

    def _run() -> None:
        try:
            super(Program, self).eval(env)
        finally:
            returned.set()

    if _endless(timeout):
        _run_here(_run)
    else:
        WORKERS.run(_run)
    if not returned.wait(timeout):
        env.set_timed_out()


def _component_eval(self: EvalComponent, env: Environment) -> None:
    # moto 5.2.5's EvalComponent.eval; is_running(), the next_field_name setters (the
    # environment's, then its running program state's) and the debug line inlined.
    inline = type(env) is Environment
    if isinstance(env._program_state, ProgramRunning) if inline else env.is_running():
        if LOG.isEnabledFor(logging.DEBUG):
            self._log_evaluation_step("Computing")
        try:
            field_name = self._field_name()
            if field_name is not None:
                state = env._program_state
                if inline and type(state) is ProgramRunning:
                    if state._next_state_name is None:
                        raise RuntimeError("Could not set NextField from uninitialised ProgramState.")
                    state._next_field_name = field_name
                else:
                    env.next_field_name = field_name
            self._eval_body(env)
        except FailureEventException as failure_event_exception:
            self._log_failure_event_exception(failure_event_exception=failure_event_exception)
            raise failure_event_exception
        except Exception as exception:
            self._log_exception(exception=exception)
            raise exception
    elif LOG.isEnabledFor(logging.DEBUG):
        self._log_evaluation_step("Pruning")


def _patches() -> list[Patch]:
    return [
        ("iso_8601", event_manager, "iso_8601_datetime_with_milliseconds", _iso_8601_ms),
        ("evaluate_with_timeout", ExecutionState, "_evaluate_with_timeout", _evaluate_with_timeout),
        ("eval_input", InlineItemProcessorWorker, "_eval_input", _eval_input),
        ("program_eval", Program, "eval", _program_eval),
        ("component_eval", EvalComponent, "eval", _component_eval),
        ("entered_details", CommonStateField, "_get_state_entered_event_details", _entered_details),
        ("exited_details", CommonStateField, "_get_state_exited_event_details", _exited_details),
    ]


FAST_PATH = FastPath(
    "interpreter-steps",
    "copies and thread hand-overs per state and Map iteration; event details; evaluation steps",
    written_for=(
        "moto.core.utils",
        "moto.stepfunctions.parser.api",
        "moto.stepfunctions.parser.asl.component.common.error_name.failure_event",
        "moto.stepfunctions.parser.asl.component.common.timeouts.timeout",
        "moto.stepfunctions.parser.asl.component.eval_component",
        "moto.stepfunctions.parser.asl.component.program.program",
        "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
        "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor."
        "inline_item_processor_worker",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
        "moto.stepfunctions.parser.asl.component.state.state",
        "moto.stepfunctions.parser.asl.eval.environment",
        "moto.stepfunctions.parser.asl.eval.event.event_manager",
        "moto.stepfunctions.parser.asl.eval.program_state",
        "moto.stepfunctions.parser.asl.eval.states",
        "moto.stepfunctions.parser.asl.utils.encoding",
    ),
    patches=_patches,
)
