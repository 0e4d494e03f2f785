"""/routines through the API handler: save, read, list, update, delete, validate, and every
bad input of issue #11."""

from __future__ import annotations

import json
import threading
from typing import Any

from functions.api.handler import MAX_BODY_BYTES
from functions.store import ConflictError, RoutineStore
from tests.api.conftest import Api, manual


def twenty_errors() -> dict[str, Any]:
    """A routine with exactly 20 errors, each in its own place."""
    nodes = [{"id": f"n{i}", "plugin": "no-such-plugin"} for i in range(20)]
    return {"name": "broken", "trigger": {"type": "manual"}, "nodes": nodes}


def test_save_returns_201_version_1_and_reads_back(api: Api) -> None:
    status, body, headers = api("POST", "/routines", manual())
    assert status == 201
    assert body["version"] == 1 and body["status"] == "inactive" and body["activeVersion"] is None
    assert headers["ETag"] == '"1"'
    read = api.ok("GET", f"/routines/{body['id']}")
    assert read["document"] == manual() and read["name"] == "greeter"


def test_update_makes_a_new_immutable_version(api: Api) -> None:
    created = api.ok("POST", "/routines", manual(message="v1"))
    path = f"/routines/{created['id']}"
    updated = api.ok("PUT", path, manual(message="v2"), headers={"If-Match": '"1"'})
    assert updated["version"] == 2
    assert api.ok("GET", path)["document"]["nodes"][0]["parameters"]["fields"]["message"] == "v2"
    old = api.ok("GET", path, query={"version": "1"})
    assert old["document"]["nodes"][0]["parameters"]["fields"]["message"] == "v1"
    status, body, _ = api("GET", path, query={"version": "3"})
    assert status == 404 and body["errors"][0]["code"] == "not_found"


def test_broken_routine_reports_all_20_errors_with_paths_and_stores_nothing(api: Api) -> None:
    status, body, _ = api("POST", "/routines", twenty_errors())
    assert status == 422
    assert len(body["errors"]) == 20
    assert {e["path"] for e in body["errors"]} == {f"nodes[n{i}]" for i in range(20)}
    assert {e["code"] for e in body["errors"]} == {"unknown_plugin"}
    assert api.ok("GET", "/routines")["items"] == []


def test_unknown_fields_and_wrong_types_are_422_with_paths(api: Api) -> None:
    document = {**manual(), "colour": "red"}
    document["nodes"][0]["timeoutSeconds"] = "soon"
    status, body, _ = api("POST", "/routines", document)
    assert status == 422
    paths = {e["path"]: e["code"] for e in body["errors"]}
    assert paths["colour"] == "invalid_document"
    assert paths["nodes[greet].timeoutSeconds"] == "invalid_document"


def test_body_that_is_not_an_object_is_422(api: Api) -> None:
    status, body, _ = api("POST", "/routines", [1, 2])
    assert status == 422
    assert body["errors"][0]["code"] == "invalid_request" and body["errors"][0]["path"].startswith("body")


def test_malformed_json_is_400(api: Api) -> None:
    status, body, _ = api("POST", "/routines", raw='{"name": "x", ')
    assert status == 400
    assert body["errors"][0]["code"] == "invalid_json" and body["errors"][0]["path"] == "body"
    status, body, _ = api("POST", "/routines", raw='{"name": NaN}')
    assert status == 400


def test_body_over_the_limit_is_413_and_not_parsed(api: Api) -> None:
    status, body, _ = api("POST", "/routines", raw="{" + " " * MAX_BODY_BYTES + "}")
    assert status == 413 and body["errors"][0]["code"] == "payload_too_large"


def test_missing_identity_is_401(api: Api) -> None:
    status, body, _ = api("GET", "/routines", user=None)
    assert status == 401 and body["errors"][0]["code"] == "unauthorized"


def test_unknown_id_and_another_owners_id_are_both_404(api: Api) -> None:
    created = api.ok("POST", "/routines", manual())
    path = f"/routines/{created['id']}"
    for method, body in (("GET", None), ("PUT", manual()), ("DELETE", None)):
        status, missing, _ = api(method, path, body, user="mallory")
        assert status == 404, method
        assert missing["errors"][0]["code"] == "not_found"
    for suffix in ("/definition", "/activate", "/deactivate", "/executions"):
        method = "GET" if suffix == "/definition" else "POST"
        assert api(method, path + suffix, user="mallory")[0] == 404, suffix
    assert api("GET", "/routines/0123456789abcdef")[0] == 404
    assert api.ok("GET", path)["version"] == 1  # untouched by mallory's attempts


def test_stale_version_on_update_is_409(api: Api) -> None:
    created = api.ok("POST", "/routines", manual())
    path = f"/routines/{created['id']}"
    api.ok("PUT", path, manual(message="b"), headers={"If-Match": '"1"'})
    status, body, _ = api("PUT", path, manual(message="c"), headers={"If-Match": '"1"'})
    assert status == 409 and body["errors"][0]["code"] == "conflict"
    assert api.ok("GET", path)["version"] == 2
    status, body, _ = api("PUT", path, manual(), headers={"If-Match": "yesterday"})
    assert status == 422 and body["errors"][0]["path"] == "header.If-Match"


def test_two_clients_editing_the_same_version_one_wins(api: Api) -> None:
    created = api.ok("POST", "/routines", manual())
    path = f"/routines/{created['id']}"
    first = api("PUT", path, manual(message="alice's"), headers={"If-Match": '"1"'})[0]
    second = api("PUT", path, manual(message="bob's"), headers={"If-Match": '"1"'})[0]
    assert (first, second) == (200, 409)
    assert api.ok("GET", path)["document"]["nodes"][0]["parameters"]["fields"]["message"] == "alice's"


def test_concurrent_saves_without_if_match_exactly_one_wins(api: Api) -> None:
    """Both saves read version 1 before either writes: the conditional transaction lets
    exactly one through. (moto serializes nothing, so the writes take turns here, as
    DynamoDB's transactions would order them.)"""
    store = RoutineStore()
    record = store.create("alice", manual())
    both_read = threading.Barrier(2)
    one_writer = threading.Lock()
    read, transact = store.head, store._transact

    def head(owner: str, routine_id: str) -> Any:
        result = read(owner, routine_id)
        both_read.wait()
        return result

    def serialized(items: list[dict[str, Any]], conflict: str) -> None:
        with one_writer:
            transact(items, conflict)

    store.head = head  # type: ignore[method-assign]
    store._transact = serialized  # type: ignore[method-assign]
    outcomes: list[str] = []

    def save(message: str) -> None:
        try:
            store.update("alice", record.routine_id, manual(message=message))
            outcomes.append("saved")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(m,)) for m in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    assert RoutineStore().head("alice", record.routine_id).current_version == 2


def test_update_of_an_invalid_document_keeps_the_current_version(api: Api) -> None:
    created = api.ok("POST", "/routines", manual())
    path = f"/routines/{created['id']}"
    status, _, _ = api("PUT", path, twenty_errors())
    assert status == 422
    assert api.ok("GET", path)["version"] == 1


def test_list_paginates_with_an_opaque_token(api: Api) -> None:
    ids = {api.ok("POST", "/routines", manual(name=f"r{i}"))["id"] for i in range(5)}
    api.ok("POST", "/routines", manual(name="bob's"), user="bob")
    seen: list[str] = []
    token = None
    while True:
        query = {"limit": "2", **({"nextToken": token} if token else {})}
        page = api.ok("GET", "/routines", query=query)
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        token = page["nextToken"]
        if not token:
            break
    assert sorted(seen) == sorted(ids)  # every one exactly once, none of bob's


def test_bad_pagination_parameters(api: Api) -> None:
    status, body, _ = api("GET", "/routines", query={"nextToken": "garbage!"})
    assert status == 400 and body["errors"][0]["path"] == "query.nextToken"
    status, body, _ = api("GET", "/routines", query={"limit": "0"})
    assert status == 422 and body["errors"][0]["path"] == "query.limit"
    status, body, _ = api("GET", "/routines", query={"limit": "many"})
    assert status == 422


def test_validate_without_saving(api: Api) -> None:
    result = api.ok("POST", "/routines/validate", twenty_errors())
    assert result["valid"] is False and len(result["errors"]) == 20
    assert api.ok("POST", "/routines/validate", manual())["valid"] is True
    assert api.ok("GET", "/routines")["items"] == []


def test_delete_removes_every_version(api: Api, aws: Any) -> None:
    created = api.ok("POST", "/routines", manual())
    path = f"/routines/{created['id']}"
    api.ok("PUT", path, manual(message="2"))
    status, body, _ = api("DELETE", path)
    assert status == 204 and body is None
    assert api("GET", path)[0] == 404
    assert aws.client("dynamodb").scan(TableName="routines")["Items"] == []
    assert api("DELETE", path)[0] == 404


def test_definition_is_the_compiled_asl_with_its_report(api: Api) -> None:
    created = api.ok("POST", "/routines", manual())
    definition = api.ok("GET", f"/routines/{created['id']}/definition")
    assert definition["version"] == 1
    assert definition["definition"]["StartAt"] in definition["definition"]["States"]
    assert created["id"] in json.dumps(definition["definition"])  # routine id baked in
    assert "stateNodes" in definition["report"]


def test_definition_report_chooses_the_machine_type_and_prices_both(api: Api) -> None:
    created = api.ok("POST", "/routines", manual())
    report = api.ok("GET", f"/routines/{created['id']}/definition")["report"]
    # One transform node: nothing stands in the way of Express.
    assert report["execution"] == {"type": "express", "requested": "auto", "reasons": []}
    cost = report["cost"]
    assert cost["chosen"] == "express"
    assert cost["standard"]["transitions"] == report["transitions"]
    assert cost["express"]["perMillion"]["max"] < cost["standard"]["perMillion"]["max"]
    standard = api.ok("POST", "/routines", {**manual(), "execution": "standard"})
    report = api.ok("GET", f"/routines/{standard['id']}/definition")["report"]
    assert report["execution"]["type"] == "standard" and report["execution"]["requested"] == "standard"


def test_express_on_a_routine_that_cannot_be_one_is_refused_and_not_stored(api: Api) -> None:
    document = {**manual(), "execution": "express"}
    document["nodes"] = [
        *document["nodes"],
        {"id": "pause", "plugin": "wait", "parameters": {"seconds": 600}},
    ]
    document["connections"] = [{"sourceNodeId": document["nodes"][0]["id"], "targetNodeId": "pause"}]
    status, body, _ = api("POST", "/routines", document)
    assert status == 422
    assert [(e["code"], e["path"]) for e in body["errors"]] == [
        ("limit_exceeded", "nodes[pause].parameters.seconds")
    ]
    assert api.ok("GET", "/routines")["items"] == []


def test_unknown_endpoint_is_404_json(api: Api) -> None:
    status, body, _ = api("GET", "/nowhere")
    assert status == 404 and body["errors"][0]["code"] == "not_found"
