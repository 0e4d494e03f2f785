"""One botocore session for the region lists moto computes while it is imported.

moto's Step Functions interpreter imports every service it can call, Batch among them,
and Batch imports moto's EC2 model, whose class body lists the EC2 regions of three
partitions, each through a new ``boto3.Session()``: three loads of botocore's EC2 service
model (the largest there is, ~0.25 s each) on every cold start. While
:func:`shared_session` is active, ``get_available_regions`` on a session that reads the
same data files is answered by one shared session, which loads each file once:
the same files, so the same answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3.session
import botocore.session


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
