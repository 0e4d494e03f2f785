"""Importing moto's Step Functions interpreter without what it does not use yet.

Saves 19% of cold, 25% of chain1000 (benchmarks/local_speed.py --fastpaths, 2026-12-07).

The interpreter imports every service integration it has; its Batch integration needs
one enum from ``moto.batch.utils``, but importing that runs ``moto/batch/__init__.py``,
which imports moto's whole Batch model and with it EC2, ECS, CloudWatch Logs… (about
half a second of every cold start). :func:`without_batch_package` lets ``moto.batch.utils``
load while its package's ``__init__`` does not run; once the interpreter is imported the
package is left unimported, and the first real ``import moto.batch`` (a routine that
calls Batch) runs it as usual, finding the same ``moto.batch.utils`` module.

Should moto's EC2 model be imported after all, its class body lists the EC2 regions of
three partitions, each through a new ``boto3.Session()``: three loads of botocore's EC2
service model (the largest there is, ~0.25 s each). While :func:`shared_session` is
active, ``get_available_regions`` on a session that reads the same data files is answered
by one shared session, which loads each file once: the same files, so the same answer.

:func:`lean_imports` applies both while :mod:`functions.local` imports moto's
interpreter, when the ``imports`` fast path may engage (its guard, and
``ROUTINES_LOCAL_FAST``); otherwise moto is imported as it is.

(Until moto 5.2.6 this module also handed moto's service-model reads to boto3's own
loader. botocore edits a loaded model in place for its clients — S3's ``CreateBucket``
loses its ``/{Bucket}`` URI — and moto 5.2.6 builds its URL rules from the model it
reads, so sharing broke every S3 call. moto caches each model it reads once per process;
it now reads its own.)
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import boto3.session
import botocore.session

from functions.local.fastpaths import wanted
from functions.local.fastpaths.guard import FastPath


def _search_paths(session: Any) -> Any:
    return session.get_component("data_loader").search_paths


@contextmanager
def shared_session() -> Iterator[None]:
    original = boto3.session.Session.get_available_regions
    shared: list[boto3.session.Session] = []

    def get_available_regions(
        self: boto3.session.Session,
        service_name: str,
        partition_name: str = "aws",
        allow_non_regional: bool = False,
    ) -> list[str]:
        if not shared:
            shared.append(boto3.session.Session())
        mine, theirs = self._session, shared[0]._session
        same = type(mine) is type(theirs) is botocore.session.Session
        if same and _search_paths(mine) == _search_paths(theirs):
            self = shared[0]  # otherwise (another data path, another class): its own answer
        return original(self, service_name, partition_name, allow_non_regional)

    boto3.session.Session.get_available_regions = get_available_regions  # type: ignore[method-assign]
    try:
        yield
    finally:
        boto3.session.Session.get_available_regions = original  # type: ignore[method-assign]


@contextmanager
def without_batch_package() -> Iterator[None]:
    if "moto.batch" in sys.modules:  # already imported for real: nothing to spare
        yield
        return
    spec = importlib.util.find_spec("moto.batch")
    if spec is None:
        yield
        return
    package = importlib.util.module_from_spec(spec)  # its __path__, its __init__ not run
    sys.modules["moto.batch"] = package
    try:
        yield
    finally:
        if sys.modules.get("moto.batch") is package:
            del sys.modules["moto.batch"]


FAST_PATH = FastPath(
    "imports",
    "importing moto's Batch, EC2 and ECS models (and EC2's region lists) on every cold start",
    written_for=(
        "boto3.session",
        "botocore.session",
        "moto.batch.utils",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch",
    ),
)


@contextmanager
def lean_imports() -> Iterator[None]:
    """Both of the above, when the ``imports`` fast path may engage."""
    if not wanted(FAST_PATH.name) or FAST_PATH.changed():
        yield
        return
    with shared_session(), without_batch_package():
        yield
