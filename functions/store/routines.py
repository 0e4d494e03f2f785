"""The routines repository: the one module that reads and writes the routines table.

Layout (docs/storage.md): partition ``ownerId``; per routine a head item ``R#<id>``
(current version, active version, activation state) and one immutable item per saved
version ``V#<id>#<version:08d>`` holding the document as JSON text. Every method takes
the owner, so nothing can read across tenants; another owner's routine is simply absent.

Writes that touch a head are conditional on the head's ``currentVersion`` (optimistic
concurrency): a save and its new version item go in one transaction, so there is never
a version without its head or a head pointing at a missing version.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contract.names import ENV_ROUTINES_TABLE, ROUTINES_BY_ID, ROUTINES_TABLE
from functions.store.errors import ConflictError, InvalidTokenError, NotFoundError
from plugins.runtime.aws import client

HEAD, VERSION = "R#", "V#"
MAX_PAGE = 100


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_routine_id() -> str:
    """16 hex characters: unique enough (the create is conditional anyway) and short
    enough to sit in state machine names and execution ids."""
    return secrets.token_hex(8)


@dataclass(slots=True)
class RoutineRecord:
    """A routine's head, and (when read with one) the document of a version."""

    owner: str
    routine_id: str
    name: str
    current_version: int
    created_at: str
    updated_at: str
    active_version: int | None = None
    activation: dict[str, Any] | None = None  # what activation created (machine, trigger)
    document: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return "active" if self.active_version is not None else "inactive"


def _key(owner: str, sort: str) -> dict[str, Any]:
    return {"ownerId": {"S": owner}, "sk": {"S": sort}}


def _version_sk(routine_id: str, version: int) -> str:
    return f"{VERSION}{routine_id}#{version:08d}"


class RoutineStore:
    def __init__(self, table: str | None = None) -> None:
        self.table = table or os.environ.get(ENV_ROUTINES_TABLE, ROUTINES_TABLE.name)

    @property
    def _db(self) -> Any:
        return client("dynamodb")

    # -- reads ------------------------------------------------------------------------

    def get(self, owner: str, routine_id: str, version: int | None = None) -> RoutineRecord:
        """The head, with the document of ``version`` (default: the current one)."""
        record = self.head(owner, routine_id)
        wanted = version or record.current_version
        if wanted > record.current_version or wanted < 1:
            raise NotFoundError(f"routine '{routine_id}' has no version {wanted}")
        item = self._db.get_item(
            TableName=self.table, Key=_key(owner, _version_sk(routine_id, wanted)), ConsistentRead=True
        ).get("Item")
        if item is None:  # only while a delete is under way
            raise NotFoundError(f"routine '{routine_id}' has no version {wanted}")
        record.document = json.loads(item["document"]["S"])
        return record

    def head(self, owner: str, routine_id: str) -> RoutineRecord:
        item = self._db.get_item(
            TableName=self.table, Key=_key(owner, HEAD + routine_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"no routine '{routine_id}'")
        return _record(item)

    def page(
        self, owner: str, limit: int = 20, token: str | None = None
    ) -> tuple[list[RoutineRecord], str | None]:
        """A page of heads ordered by routine id, and the opaque token of the next page."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "ownerId = :o AND begins_with(sk, :h)",
            "ExpressionAttributeValues": {":o": {"S": owner}, ":h": {"S": HEAD}},
            "Limit": max(1, min(limit, MAX_PAGE)),
        }
        if token:
            kwargs["ExclusiveStartKey"] = _key(owner, HEAD + _decode_token(token))
        page = self._db.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        next_token = _encode_token(last["sk"]["S"].removeprefix(HEAD)) if last else None
        return [_record(item) for item in page.get("Items", [])], next_token

    def active(self) -> list[RoutineRecord]:
        """Every active routine's head, across owners. A table scan: for ``routines serve``
        (its local scheduler and event delivery), never for a request path on AWS."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(sk, :h) AND attribute_exists(activeVersion)",
            "ExpressionAttributeValues": {":h": {"S": HEAD}},
        }
        heads: list[RoutineRecord] = []
        while True:
            page = self._db.scan(**kwargs)
            heads += [_record(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return heads
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def owner_of(self, routine_id: str) -> str | None:
        """The owner of a routine, from its id alone (for callers that carry no identity:
        webhooks, execution events)."""
        page = self._db.query(
            TableName=self.table,
            IndexName=ROUTINES_BY_ID.name,
            KeyConditionExpression="routineId = :r",
            ExpressionAttributeValues={":r": {"S": routine_id}},
            Limit=1,
        )
        items = page.get("Items", [])
        return str(items[0]["ownerId"]["S"]) if items else None

    # -- writes -----------------------------------------------------------------------

    def create(self, owner: str, document: dict[str, Any]) -> RoutineRecord:
        stamp = now()
        record = RoutineRecord(owner, new_routine_id(), str(document["name"]), 1, stamp, stamp)
        head = _head_item(record)
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": head,
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
                {"Put": {"TableName": self.table, "Item": _version_item(record, document)}},
            ],
            f"routine '{record.routine_id}' already exists",
        )
        record.document = document
        return record

    def update(
        self, owner: str, routine_id: str, document: dict[str, Any], expected: int | None = None
    ) -> RoutineRecord:
        """Save ``document`` as the next version. ``expected``: the version the caller
        edited (If-Match); without it, the version read here — either way a concurrent
        save in between makes this one fail with :class:`ConflictError`."""
        record = self.head(owner, routine_id)
        base = record.current_version
        if expected is not None and expected != base:
            raise ConflictError(
                f"routine '{routine_id}' is at version {base}, not {expected}: "
                "reload it and reapply your change"
            )
        record.current_version = base + 1
        record.name = str(document["name"])
        record.updated_at = now()
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(owner, HEAD + routine_id),
                        "UpdateExpression": "SET currentVersion = :n, #name = :name, updatedAt = :u",
                        "ConditionExpression": "currentVersion = :base",
                        "ExpressionAttributeNames": {"#name": "name"},
                        "ExpressionAttributeValues": {
                            ":n": {"N": str(record.current_version)},
                            ":name": {"S": record.name},
                            ":u": {"S": record.updated_at},
                            ":base": {"N": str(base)},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _version_item(record, document),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
            ],
            f"routine '{routine_id}' was changed by someone else (now past version {base}): reload it",
        )
        record.document = document
        return record

    def set_activation(
        self, owner: str, routine_id: str, version: int | None, activation: dict[str, Any] | None
    ) -> None:
        """Record what is deployed (``version`` None: nothing). Fails if the head is gone."""
        values: dict[str, Any] = {":u": {"S": now()}}
        if version is None:
            expression = "SET updatedAt = :u REMOVE activeVersion, activation"
        else:
            expression = "SET updatedAt = :u, activeVersion = :v, activation = :a"
            values[":v"] = {"N": str(version)}
            values[":a"] = {"S": json.dumps(activation or {}, separators=(",", ":"))}
        try:
            self._db.update_item(
                TableName=self.table,
                Key=_key(owner, HEAD + routine_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFoundError(f"no routine '{routine_id}'") from None
            raise

    def delete(self, owner: str, routine_id: str) -> None:
        """The head first (the routine disappears at once), then its versions."""
        try:
            self._db.delete_item(
                TableName=self.table,
                Key=_key(owner, HEAD + routine_id),
                ConditionExpression="attribute_exists(sk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFoundError(f"no routine '{routine_id}'") from None
            raise
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "ownerId = :o AND begins_with(sk, :v)",
            "ExpressionAttributeValues": {":o": {"S": owner}, ":v": {"S": f"{VERSION}{routine_id}#"}},
            "ProjectionExpression": "ownerId, sk",
        }
        while True:
            page = self._db.query(**kwargs)
            keys = [{"DeleteRequest": {"Key": item}} for item in page.get("Items", [])]
            for start in range(0, len(keys), 25):
                pending: dict[str, Any] = {self.table: keys[start : start + 25]}
                while pending:
                    pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not page.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _transact(self, items: list[dict[str, Any]], conflict: str) -> None:
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in (
                "TransactionCanceledException",
                "ConditionalCheckFailedException",
            ):
                raise ConflictError(conflict) from None
            raise


def _head_item(record: RoutineRecord) -> dict[str, Any]:
    return {
        **_key(record.owner, HEAD + record.routine_id),
        "routineId": {"S": record.routine_id},
        "name": {"S": record.name},
        "currentVersion": {"N": str(record.current_version)},
        "createdAt": {"S": record.created_at},
        "updatedAt": {"S": record.updated_at},
    }


def _version_item(record: RoutineRecord, document: dict[str, Any]) -> dict[str, Any]:
    # The document is stored as JSON text: DynamoDB's number type would turn floats into
    # Decimals and its maps do not keep key order; the text round-trips exactly.
    return {
        **_key(record.owner, _version_sk(record.routine_id, record.current_version)),
        "versionOf": {"S": record.routine_id},
        "version": {"N": str(record.current_version)},
        "document": {"S": json.dumps(document, separators=(",", ":"), ensure_ascii=False)},
        "createdAt": {"S": record.updated_at},
    }


def _record(item: dict[str, Any]) -> RoutineRecord:
    active = item.get("activeVersion")
    activation = item.get("activation")
    return RoutineRecord(
        owner=item["ownerId"]["S"],
        routine_id=item["routineId"]["S"],
        name=item["name"]["S"],
        current_version=int(item["currentVersion"]["N"]),
        created_at=item["createdAt"]["S"],
        updated_at=item["updatedAt"]["S"],
        active_version=int(active["N"]) if active else None,
        activation=json.loads(activation["S"]) if activation else None,
    )


def _encode_token(routine_id: str) -> str:
    # Only the routine id: the owner is always the caller's, never taken from a token.
    return base64.urlsafe_b64encode(json.dumps({"after": routine_id}).encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = data["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidTokenError("nextToken is not a token this API returned", path="nextToken") from None
    if not isinstance(after, str) or not after:
        raise InvalidTokenError("nextToken is not a token this API returned", path="nextToken")
    return after
