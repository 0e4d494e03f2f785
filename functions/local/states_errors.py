"""A Parallel branch or a Map iteration that fails with a ``States.*`` error fails its
Parallel or Map with that error, as on AWS.

moto 5.2 hands the branch's (the iteration's) error name on as a ``CustomErrorName``, which
refuses any name that begins with ``States.`` (ASL reserves those for Step Functions): a
branch whose Task timed out (``States.Timeout``) or whose expression failed
(``States.QueryEvaluationError``) failed its Parallel with ``States.Runtime:
ValueError(Custom Error Names MUST NOT begin with the prefix 'States.' …)``, so a Catch of
``States.Timeout`` never matched, and every Express routine (whose body runs in the
record-writing wrapper's Parallel) lost its real error.

The seam gives the two modules that do this a ``CustomErrorName`` that names a
``States.*`` error by moto's own ``StatesErrorName`` (what moto uses when a state raises it
directly), and anything else by the original. It installs only over the files it was
written for; otherwise moto's own code runs, and stderr says once what that costs.
"""

from __future__ import annotations

from moto.stepfunctions.parser.asl.component.common.error_name import custom_error_name
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl

from functions.local.fastpaths.guard import Patch, Seam, files_differ, install_unless

WRITTEN_FOR = {
    branches_decl.__name__: {"848a285adb7c4426": "moto 5.2.6"},
    iteration_worker.__name__: {"e95c3c1b8d3f8b2e": "moto 5.2.6"},
    custom_error_name.__name__: {"dc52a185bc90840e": "moto 5.2.6"},
}
RESERVED = custom_error_name.ILLEGAL_CUSTOM_ERROR_PREFIX
_told: list[str] = []


class _StatesName(ErrorName):
    """A ``States.*`` name moto's enumeration does not know (a newer AWS error)."""


def error_name(error_name: str | None) -> ErrorName:
    """The error a failed branch or iteration hands on, by its own name."""
    if error_name is not None and error_name.startswith(RESERVED):
        try:
            return StatesErrorName.from_name(error_name)
        except ValueError:
            return _StatesName(error_name)
    return CustomErrorName(error_name)


def _patches() -> list[Patch]:
    return [
        ("branches", branches_decl, "CustomErrorName", error_name),
        ("iterations", iteration_worker, "CustomErrorName", error_name),
    ]


# Each module's CustomErrorName is moto's class, constructed with error_name=…
SEAM = Seam(
    "states-errors",
    "a States.* error of a Parallel branch or Map iteration fails its state by its own name",
    _patches,
    parameters={"branches": ("error_name",), "iterations": ("error_name",)},
)


def changed() -> list[str]:
    """What differs from the code this was written for (empty: nothing)."""
    replaced = [
        f"{module.__name__}.CustomErrorName is not moto's"
        for module in (branches_decl, iteration_worker)
        if not SEAM.installed and vars(module).get("CustomErrorName") is not CustomErrorName
    ]
    return files_differ(WRITTEN_FOR) + replaced or SEAM.changed()


def install() -> bool:
    """Install unless moto is not what this was written for (then say why, once)."""
    note = (
        "a Parallel branch or Map iteration that fails with a States.* error "
        "fails as States.Runtime on moto's own code ({problems})"
    )
    return install_unless(SEAM, [] if SEAM.installed else changed(), _told, note)


def uninstall() -> None:
    SEAM.uninstall()


__all__ = ["SEAM", "WRITTEN_FOR", "changed", "error_name", "install", "uninstall"]
