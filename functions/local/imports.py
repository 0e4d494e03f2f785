"""Importing moto's Step Functions interpreter without what it does not use yet.

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

moto reads botocore's service models (to parse requests and serialize answers) through a
new botocore loader per model, which lists botocore's ~400 service directories anew
and parses a JSON file boto3's clients have usually parsed already (~0.2 s of a cold
run). :func:`shared_models` hands those reads to the default boto3 session's loader when
it reads the same data paths: the same files, kept once.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import boto3.session
import botocore.session
from botocore.loaders import Loader, create_loader
from moto.core import utils as moto_utils

BOTO3_DATA = str(Path(boto3.__file__).parent / "data")


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


def shared_models() -> None:
    """From now on moto loads service models through the default session's loader."""
    if getattr(moto_utils._load_service_model, "shared", False):
        return
    original = moto_utils._load_service_model

    def load_service_model(service_name: str, model_name: str) -> Any:
        loader = boto3._get_default_session()._session.get_component("data_loader")
        # boto3 adds its own data directory, which holds resource models only.
        paths = [path for path in loader.search_paths if path != BOTO3_DATA]
        if type(loader) is Loader and paths == create_loader().search_paths:
            # api_version named as botocore's clients name it: the same cache entry
            return loader.load_service_model(service_name, model_name, api_version=None)
        return original(service_name, model_name)  # another data path: moto's own answer

    load_service_model.shared = True  # type: ignore[attr-defined]
    moto_utils._load_service_model = load_service_model


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
