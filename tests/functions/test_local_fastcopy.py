"""The interpreter's deep copy gives what ``copy.deepcopy`` gives: equal values, nothing
shared with the original, a value met twice copied once, non-JSON values copied by
``copy.deepcopy`` itself; and the interpreter sees it only while a local AWS is up."""

from __future__ import annotations

import copy
import datetime
import enum
from decimal import Decimal
from typing import Any

from moto.stepfunctions.parser.asl.eval import program_state, states

from functions.local import LocalAWS
from functions.local.fastpaths import fastcopy


class Colour(enum.Enum):
    RED = "red"


def nodes(value: Any) -> list[Any]:
    """Every dict and list inside a value (itself included), depth first."""
    found = [value] if isinstance(value, (dict, list)) else []
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        found += nodes(child)
    return found


def test_json_values_copy_as_deepcopy_copies_them() -> None:
    shared = {"k": [1, 2.5, None, True, "s"]}
    value = {
        "a": shared,
        "b": [shared, shared, {"nested": {"deeper": [[], {}]}}],
        "c": "text",
        "n": 3,
        1: "int key",
    }
    mine, theirs = fastcopy.deepcopy(value), copy.deepcopy(value)
    assert mine == theirs == value
    assert list(mine) == list(value) and list(mine["b"][2]) == list(value["b"][2])  # order kept
    assert not {id(n) for n in nodes(mine)} & {id(n) for n in nodes(value)}  # nothing shared
    assert mine["a"] is mine["b"][0] is mine["b"][1]  # aliasing kept, as deepcopy keeps it
    assert theirs["a"] is theirs["b"][0]
    mine["a"]["k"].append("changed")
    assert value["a"]["k"] == [1, 2.5, None, True, "s"]


def test_other_values_go_to_deepcopy() -> None:
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    value = {"t": (1, [2]), "d": Decimal("1.5"), "e": Colour.RED, "w": when, "s": {1, 2}}
    mine = fastcopy.deepcopy(value)
    assert mine == copy.deepcopy(value)
    assert mine["t"][1] is not value["t"][1]  # a tuple holding a list is copied, as deepcopy does
    assert mine["e"] is Colour.RED
    for atom in ("x", 1, 1.5, True, None):
        assert fastcopy.deepcopy(atom) is atom


def test_datetimes_with_immutable_zones_are_kept_as_atoms() -> None:
    """A naive datetime or one in a ``datetime.timezone`` is kept (immutable, equal to
    deepcopy's copy); one with any other tzinfo is copied by deepcopy."""

    class Zone(datetime.tzinfo):  # a tzinfo of its own: could be mutable
        def utcoffset(self, _: Any) -> datetime.timedelta:
            return datetime.timedelta(hours=1)

    utc = datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)
    offset = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
    naive = datetime.datetime(2026, 1, 1)
    own = datetime.datetime(2026, 1, 1, tzinfo=Zone())
    value = {"utc": utc, "again": utc, "offset": offset, "naive": naive, "own": own}
    mine = fastcopy.deepcopy(value)
    assert mine == copy.deepcopy(value)
    assert mine["utc"] is utc and mine["again"] is utc and mine["offset"] is offset and mine["naive"] is naive
    assert mine["own"] is not own and mine["own"].tzinfo is not own.tzinfo


def test_the_interpreter_copies_with_it_only_while_a_local_aws_is_up() -> None:
    assert states.copy is copy
    with LocalAWS():
        assert states.copy.deepcopy is fastcopy.deepcopy
        assert states.copy.copy is copy.copy
    assert states.copy is copy


def program_states() -> list[Any]:
    running = program_state.ProgramRunning()
    running.next_state_name = "next"
    running.next_field_name = "Parameters"
    error = {"error": "Routines.UserError", "cause": "no"}
    stopped = program_state.ProgramStopped(
        stop_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), error="E", cause="C"
    )
    return [
        program_state.ProgramEnded(),
        program_state.ProgramTimedOut(),
        program_state.ProgramRunning(),
        running,
        program_state.ProgramError(error=error),  # type: ignore[arg-type]
        program_state.ProgramError(error=None),
        stopped,
    ]


def test_program_states_copy_as_deepcopy_copies_them() -> None:
    assert frozenset(fastcopy.PROGRAM_STATES) == fastcopy.OBJECTS  # all take the fast path
    for state in program_states():
        mine, theirs = fastcopy.deepcopy(state), copy.deepcopy(state)
        assert type(mine) is type(theirs) is type(state)
        assert mine is not state
        assert vars(mine) == vars(theirs) == vars(state)
        for name, value in vars(mine).items():  # nothing mutable shared with the original
            if isinstance(value, (dict, list)):  # (a datetime in a timezone is immutable)
                assert value is not vars(state)[name]
    error = program_states()[4]
    copied = fastcopy.deepcopy({"a": error, "b": error, "e": error.error})
    assert copied["a"] is copied["b"] and copied["a"].error is copied["e"]  # aliasing kept
    copied["a"].error["error"] = "changed"
    assert error.error["error"] == "Routines.UserError"


def test_a_class_with_its_own_copy_protocol_is_left_to_deepcopy() -> None:
    class Custom:
        def __init__(self) -> None:
            self.copies = 0

        def __deepcopy__(self, memo: dict[int, Any]) -> Custom:
            out = Custom()
            out.copies = self.copies + 1
            return out

    class Slotted:
        __slots__ = ("a",)

    assert not fastcopy._plain_object(Custom) and not fastcopy._plain_object(Slotted)
    assert fastcopy._plain_object(program_state.ProgramRunning)
    assert fastcopy.deepcopy([Custom()])[0].copies == 1
