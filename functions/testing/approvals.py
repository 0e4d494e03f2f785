"""Answering a test case's approval nodes: each time a named approval node is reached, it
is decided as the API would decide it (functions.store.approvals.decide)."""

from __future__ import annotations

import threading
from typing import Any

from functions.local import LocalAWS
from functions.store.approvals import NotWaiting, decide
from plugins.runtime.aws import approvals_table

POLL_SECONDS = 0.01  # how soon a reached approval is decided
DECIDED_BY = "routines test"


class ApprovalAnswers:
    """A thread that decides ``answers`` (node → (approve, data)) of one execution whenever
    their approval waits; stopped when the execution has ended."""

    def __init__(
        self,
        aws: LocalAWS,
        execution_arn: str,
        answers: dict[str, tuple[bool, Any]],
        by: str = DECIDED_BY,
    ) -> None:
        self.aws = aws
        self.by = by
        self.execution_arn = execution_arn
        self.answers = answers
        self.decided: dict[str, int] = dict.fromkeys(answers, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="approval-answers", daemon=True)

    def __enter__(self) -> ApprovalAnswers:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        table = self.aws.client("dynamodb")
        while not self._stop.wait(POLL_SECONDS):
            for node_id, (approve, data) in self.answers.items():
                key = {"executionId": {"S": self.execution_arn}, "nodeId": {"S": node_id}}
                item = table.get_item(TableName=approvals_table(), Key=key).get("Item")
                if not item or "decidedAt" in item:
                    continue  # not reached yet, or decided (a loop reaches it again later)
                try:
                    decide(self.execution_arn, node_id, approve, data, self.by)
                except NotWaiting:
                    continue  # timed out meanwhile: the routine's timeout port decides
                self.decided[node_id] += 1


__all__ = ["DECIDED_BY", "ApprovalAnswers"]
