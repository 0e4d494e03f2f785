"""The workflow control-flow patterns (van der Aalst et al., WCP-1…20) a routine can
express, each proven on the local runtime: a small routine per pattern, run, and the
behaviour that defines the pattern asserted from the run (which nodes ran, which were
skipped, what they read, when they started and finished, how the execution ended).

docs/patterns.md is the table: every supported or partly supported pattern names its test
here; unsupported patterns have none. Timings come from the node logs
(``startedAt`` and ``finishedAt`` of each plugin run); where concurrency matters, branches
wait one second first, so that running them one after another could not pass."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions.local import ExecutionResult, LocalAWS, run_routine
from functions.local.runner import start_routine
from functions.store.approvals import NotWaiting, decide
from plugins.runtime.aws import approvals_table
from plugins.runtime.nodelog import read_logs
from tests.conftest import link, routine

WAIT = 1  # seconds a branch waits where a test tells concurrent from one-after-another
RUN_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


def run(aws: LocalAWS, document: dict[str, Any], trigger: Any = None) -> ExecutionResult:
    return run_routine(aws, document, trigger, timeout=RUN_TIMEOUT)


def transform(node_id: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}, **extra}


def wait(node_id: str, seconds: int = WAIT) -> dict[str, Any]:
    return {"id": node_id, "plugin": "wait", "parameters": {"seconds": seconds}}


def if_true(node_id: str, left: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "plugin": "if",
        "parameters": {"condition": {"left": left, "op": "eq", "right": True}},
    }


def merge(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "plugin": "merge"}


def loop(node_id: str, items: Any, **parameters: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "loop", "parameters": {"items": items, **parameters}}


def statuses(result: ExecutionResult) -> dict[str, str]:
    return {node_id: node["status"] for node_id, node in result.nodes.items()}


def ran(result: ExecutionResult) -> set[str]:
    return {node_id for node_id, status in statuses(result).items() if status == "succeeded"}


def runs(result: ExecutionResult) -> dict[str, list[dict[str, Any]]]:
    """Each plugin node's runs, from its node logs, in the order they started (the last
    attempt of each run: one per loop iteration)."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for log in read_logs(result.execution_arn):
        last[(log["nodeId"], str(log.get("iteration", "")))] = log
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (node_id, _), log in sorted(last.items(), key=lambda entry: entry[1]["startedAt"]):
        out[node_id].append(log)
    return out


def one_run(logs: dict[str, list[dict[str, Any]]], node_id: str) -> dict[str, Any]:
    assert len(logs[node_id]) == 1, (node_id, logs[node_id])
    return logs[node_id][0]


# WCP-1 Sequence: a task is enabled after the completion of the preceding task.


def test_wcp01_sequence_runs_each_node_after_the_one_before(aws: LocalAWS) -> None:
    doc = routine(
        transform("capture", {"card": "{{ trigger.card }}"}),
        transform("verify", {"card": "{{ nodes.capture.card }}", "verified": True}),
        transform("receipt", {"card": "{{ nodes.verify.card }}", "verified": "{{ nodes.verify.verified }}"}),
        connections=[link("capture", "verify"), link("verify", "receipt")],
    )
    result = run(aws, doc, {"card": "4242"})
    assert result.status == "SUCCEEDED"
    assert result.nodes["receipt"]["output"] == {"card": "4242", "verified": True}
    assert result.output == {"receipt": {"card": "4242", "verified": True}}
    logs = runs(result)
    capture, verify, receipt = (one_run(logs, n) for n in ("capture", "verify", "receipt"))
    assert capture["finishedAt"] <= verify["startedAt"]
    assert verify["finishedAt"] <= receipt["startedAt"]


# WCP-2 Parallel Split: a branch diverges into branches that execute concurrently.


def test_wcp02_parallel_split_runs_the_branches_concurrently(aws: LocalAWS) -> None:
    doc = routine(
        transform("hired", {"name": "{{ trigger.name }}"}),
        wait("accessQueue"),
        wait("deskQueue"),
        transform("access", {"for": "{{ nodes.hired.name }}"}),
        transform("desk", {"for": "{{ nodes.hired.name }}"}),
        connections=[
            link("hired", "accessQueue"),
            link("hired", "deskQueue"),
            link("accessQueue", "access"),
            link("deskQueue", "desk"),
        ],
    )
    result = run(aws, doc, {"name": "ada"})
    assert result.status == "SUCCEEDED"
    assert ran(result) == {"hired", "accessQueue", "deskQueue", "access", "desk"}
    assert result.output == {"access": {"for": "ada"}, "desk": {"for": "ada"}}
    logs = runs(result)
    hired, access, desk = (one_run(logs, n) for n in ("hired", "access", "desk"))
    assert hired["finishedAt"] <= min(access["startedAt"], desk["startedAt"])
    # Each branch waited WAIT seconds first: one after the other, the second would start
    # at least WAIT seconds after the first.
    assert abs(access["startedAt"] - desk["startedAt"]) < WAIT


# WCP-3 Synchronization: branches converge; control passes on when all have completed.


def test_wcp03_synchronization_waits_for_every_branch(aws: LocalAWS) -> None:
    doc = routine(
        transform("close", {"store": "{{ trigger.store }}"}),
        wait("printer"),
        transform("summary", {"printed": "{{ nodes.close.store }}"}),
        transform("count", {"counted": "{{ nodes.close.store }}"}),
        transform("reconcile", {"summary": "{{ nodes.summary }}", "count": "{{ nodes.count }}"}),
        connections=[
            link("close", "printer"),
            link("printer", "summary"),
            link("close", "count"),
            link("summary", "reconcile"),
            link("count", "reconcile"),
        ],
    )
    result = run(aws, doc, {"store": "s-1"})
    assert result.status == "SUCCEEDED"
    # The join saw both branches' outputs, the slow one included, and ran once.
    assert result.nodes["reconcile"]["output"] == {"summary": {"printed": "s-1"}, "count": {"counted": "s-1"}}
    logs = runs(result)
    reconcile = one_run(logs, "reconcile")
    assert reconcile["startedAt"] >= one_run(logs, "summary")["finishedAt"]
    assert reconcile["startedAt"] >= one_run(logs, "count")["finishedAt"]
    assert result.output == {"reconcile": result.nodes["reconcile"]["output"]}


# WCP-4 Exclusive Choice: control passes to precisely one of the outgoing branches.


def test_wcp04_exclusive_choice_takes_exactly_one_branch(aws: LocalAWS) -> None:
    rules = [
        {"port": "small", "condition": {"left": "{{ trigger.volume }}", "op": "lt", "right": 10}},
        {"port": "medium", "condition": {"left": "{{ trigger.volume }}", "op": "lt", "right": 100}},
    ]
    doc = routine(
        {"id": "volume", "plugin": "switch", "parameters": {"rules": rules}},
        transform("bobcat", {"by": "bobcat"}),
        transform("backhoe", {"by": "backhoe"}),
        transform("excavator", {"by": "excavator"}),
        connections=[
            link("volume", "bobcat", "small"),
            link("volume", "backhoe", "medium"),
            link("volume", "excavator", "default"),
        ],
    )
    branches = {"bobcat", "backhoe", "excavator"}
    for volume, expected in ((5, "bobcat"), (50, "backhoe"), (500, "excavator")):
        result = run(aws, doc, {"volume": volume})
        assert result.status == "SUCCEEDED", volume
        assert ran(result) & branches == {expected}, volume
        assert all(statuses(result)[b] == "skipped" for b in branches - {expected}), volume
        assert result.output == {expected: {"by": expected}}, volume


# WCP-5 Simple Merge: alternative branches converge without synchronization; each
# enablement of an incoming branch passes control on.


def test_wcp05_simple_merge_continues_after_whichever_branch_ran(aws: LocalAWS) -> None:
    def excavation(join: bool) -> dict[str, Any]:
        nodes = [
            if_true("small", "{{ trigger.volume < 10 }}"),
            transform("bobcat", {"by": "bobcat"}),
            transform("d9", {"by": "d9"}),
        ]
        connections = [link("small", "bobcat", "true"), link("small", "d9", "false")]
        if join:  # through a merge, whose output holds the branch that ran
            nodes += [merge("excavated"), transform("estimate", {"after": "{{ nodes.excavated }}"})]
            connections += [link("bobcat", "excavated"), link("d9", "excavated")]
            connections.append(link("excavated", "estimate"))
        else:  # or straight into the next node
            read = {"bobcat": "{{ nodes.bobcat.by }}", "d9": "{{ nodes.d9.by }}"}
            nodes.append(transform("estimate", read))
            connections += [link("bobcat", "estimate"), link("d9", "estimate")]
        return routine(*nodes, connections=connections)

    for volume, taken, other in ((3, "bobcat", "d9"), (30, "d9", "bobcat")):
        merged = run(aws, excavation(join=True), {"volume": volume})
        assert merged.status == "SUCCEEDED"
        assert statuses(merged)[taken] == "succeeded" and statuses(merged)[other] == "skipped"
        assert merged.nodes["estimate"]["output"] == {"after": {taken: {"by": taken}}}
        assert len(runs(merged)["estimate"]) == 1
        direct = run(aws, excavation(join=False), {"volume": volume})
        assert direct.status == "SUCCEEDED"
        assert direct.nodes["estimate"]["output"] == {taken: taken, other: None}
        assert len(runs(direct)["estimate"]) == 1


# WCP-6 Multi-Choice: control passes to one or more of the outgoing branches, chosen at
# run time. WCP-7 Structured Synchronizing Merge: the branches of a multi-choice converge;
# control passes on once every *active* branch has completed.

UNITS = ("police", "fire", "ambulance")


def emergency(join: bool) -> dict[str, Any]:
    """One ``if`` per unit after the call (each branch taken when its condition holds).
    With ``join``, a merge then ``transfer``, and the police drive WAIT seconds first."""
    nodes = [transform("call", {"kind": "{{ trigger }}"}), wait("drive", WAIT if join else 0)]
    connections = [link("drive", "police")]
    for unit in UNITS:
        nodes += [if_true(f"need_{unit}", f"{{{{ trigger.{unit} }}}}"), transform(unit, {"unit": unit})]
        connections.append(link("call", f"need_{unit}"))
        connections.append(link(f"need_{unit}", "drive" if unit == "police" else unit, "true"))
        if join:
            connections.append(link(unit, "arrived"))
    if join:
        nodes += [merge("arrived"), transform("transfer", {"units": "{{ nodes.arrived }}"})]
        connections.append(link("arrived", "transfer"))
    return routine(*nodes, connections=connections)


def test_wcp06_multi_choice_takes_every_branch_whose_condition_holds(aws: LocalAWS) -> None:
    doc = emergency(join=False)
    for chosen in ({"police", "ambulance"}, {"fire"}, set(), set(UNITS)):
        result = run(aws, doc, dict.fromkeys(chosen, True))
        assert result.status == "SUCCEEDED", chosen
        assert ran(result) & set(UNITS) == chosen
        assert all(statuses(result)[u] == "skipped" for u in set(UNITS) - chosen), chosen
        assert result.output == {unit: {"unit": unit} for unit in chosen}, chosen


def test_wcp07_structured_synchronizing_merge_waits_for_the_active_branches_only(aws: LocalAWS) -> None:
    doc = emergency(join=True)
    both = run(aws, doc, {"police": True, "ambulance": True})
    assert both.status == "SUCCEEDED"
    assert statuses(both)["fire"] == "skipped"
    assert both.nodes["transfer"]["output"] == {
        "units": {"police": {"unit": "police"}, "ambulance": {"unit": "ambulance"}}
    }
    logs = runs(both)
    transfer = one_run(logs, "transfer")  # once, after the slower active branch
    assert transfer["startedAt"] >= one_run(logs, "police")["finishedAt"]
    assert transfer["startedAt"] >= one_run(logs, "ambulance")["finishedAt"]
    # Inactive branches are not waited for: only the ambulance, and the join still fires.
    alone = run(aws, doc, {"ambulance": True})
    assert alone.status == "SUCCEEDED"
    assert statuses(alone)["police"] == statuses(alone)["fire"] == "skipped"
    assert alone.nodes["transfer"]["output"] == {"units": {"ambulance": {"unit": "ambulance"}}}
    assert len(runs(alone)["transfer"]) == 1
    # No branch taken: nothing to wait for, and nothing after the merge runs.
    none = run(aws, doc, {})
    assert none.status == "SUCCEEDED"
    assert statuses(none)["arrived"] == statuses(none)["transfer"] == "skipped"
    assert none.output == {}


# WCP-11 Implicit Termination: the instance ends when no work remains now or later.


def test_wcp11_implicit_termination_ends_when_no_work_remains(aws: LocalAWS) -> None:
    doc = routine(
        transform("order", {"total": "{{ trigger.total }}"}),
        transform("confirm", {"sent": True}),
        wait("cooling"),
        transform("survey", {"sent": True}),
        if_true("large", "{{ nodes.order.total > 100 }}"),
        transform("review", {"total": "{{ nodes.order.total }}"}),
        connections=[
            link("order", "confirm"),
            link("order", "cooling"),
            link("cooling", "survey"),
            link("order", "large"),
            link("large", "review", "true"),
        ],
    )
    result = run(aws, doc, {"total": 20})
    # Three ends, no end node: the execution succeeded once the slowest branch was done,
    # and the branch not taken is skipped rather than awaited.
    assert result.status == "SUCCEEDED"
    assert statuses(result) == {
        "order": "succeeded",
        "confirm": "succeeded",
        "cooling": "succeeded",
        "survey": "succeeded",
        "large": "succeeded",
        "review": "skipped",
    }
    assert result.output == {"confirm": {"sent": True}, "survey": {"sent": True}}


# WCP-12 Multiple Instances without Synchronization: instances of a task run concurrently
# in the same case, and nothing waits for them to complete.


def test_wcp12_multiple_instances_without_synchronization(aws: LocalAWS) -> None:
    doc = routine(
        transform("received", {"office": "{{ trigger.office }}"}),
        loop("each", "{{ trigger.infringements }}"),
        wait("queue"),
        transform(
            "notice",
            {
                "plate": "{{ loop.item }}",
                "office": "{{ nodes.received.office }}",
                "case": "{{ execution.id }}",
            },
        ),
        transform("archive", {"case": "{{ execution.id }}"}),
        connections=[
            link("received", "each"),
            link("each", "queue", "body"),
            link("queue", "notice"),
            link("received", "archive"),  # the loop's 'done' leads nowhere: nothing waits for it
        ],
    )
    plates = ["B-1", "B-2", "B-3"]
    result = run(aws, doc, {"office": "north", "infringements": plates})
    assert result.status == "SUCCEEDED"
    assert result.nodes["notice"]["runs"] == len(plates)
    case = result.execution_arn  # every instance ran in the case that started it, with its data
    assert result.nodes["notice"]["output"] == [{"plate": p, "office": "north", "case": case} for p in plates]
    assert result.nodes["archive"]["output"] == {"case": case}
    logs = runs(result)
    notices = logs["notice"]
    assert len(notices) == len(plates)
    # The next task did not wait for the instances, which ran concurrently.
    assert one_run(logs, "archive")["finishedAt"] <= min(n["startedAt"] for n in notices)
    starts = [n["startedAt"] for n in notices]
    assert max(starts) - min(starts) < WAIT


# WCP-13 Multiple Instances with a priori Design-Time Knowledge: a number of instances
# fixed in the model run concurrently and are synchronized at completion.


def test_wcp13_multiple_instances_with_design_time_knowledge(aws: LocalAWS) -> None:
    directors = ["ada", "grace", "edsger"]
    doc = routine(
        loop("sign", directors),  # the number of instances is in the routine itself
        wait("read"),
        transform("signature", {"by": "{{ loop.item }}", "at": "{{ loop.index }}"}),
        transform("issue", {"signatures": "{{ nodes.sign }}"}),
        connections=[link("sign", "read", "body"), link("read", "signature"), link("sign", "issue", "done")],
    )
    result = run(aws, doc)
    assert result.status == "SUCCEEDED"
    expected = [{"by": d, "at": i} for i, d in enumerate(directors)]
    assert result.nodes["issue"]["output"] == {"signatures": expected}
    logs = runs(result)
    signatures = logs["signature"]
    assert len(signatures) == len(directors)
    starts = [s["startedAt"] for s in signatures]
    assert max(starts) - min(starts) < WAIT  # concurrently
    issue = one_run(logs, "issue")  # once, after every instance
    assert issue["startedAt"] >= max(s["finishedAt"] for s in signatures)


# WCP-14 Multiple Instances with a priori Run-Time Knowledge: the number of instances is
# known at run time, before they start; they are synchronized at completion.


def test_wcp14_multiple_instances_with_run_time_knowledge(aws: LocalAWS) -> None:
    doc = routine(
        transform("errors", {"sensors": "{{ trigger.errors.sensor }}"}),
        loop("each", "{{ nodes.errors.sensors }}"),
        transform("check", {"sensor": "{{ loop.item }}", "at": "{{ loop.index }}"}),
        transform("identify", {"checked": "{{ nodes.each }}", "count": "{{ $count(nodes.each) }}"}),
        connections=[link("errors", "each"), link("each", "check", "body"), link("each", "identify", "done")],
    )
    for sensors in (["s1", "s2"], ["s1", "s2", "s3", "s4", "s5"]):
        result = run(aws, doc, {"errors": [{"sensor": s} for s in sensors]})
        assert result.status == "SUCCEEDED", sensors
        assert result.nodes["check"]["runs"] == len(sensors)
        checked = [{"sensor": s, "at": i} for i, s in enumerate(sensors)]
        assert result.nodes["identify"]["output"] == {"checked": checked, "count": len(sensors)}
        logs = runs(result)
        identify = one_run(logs, "identify")
        assert identify["startedAt"] >= max(c["finishedAt"] for c in logs["check"])


# WCP-16 Deferred Choice: one of several branches is chosen by the environment, a race
# between alternatives; once chosen, the others are withdrawn. A merge with mode "first"
# racing branches that wait for outside parties (approvals, decided through the API) and a
# deadline (a wait): the first to arrive wins, the others are cancelled and a decision
# taken later for a withdrawn approval is refused. The race compiles to a JSONata machine
# only (as WCP-19's). The simplest form, an approval's decision against its own timeout,
# runs on both compilers.


def approval_offer(timeout: int) -> dict[str, Any]:
    return routine(
        {
            "id": "offer",
            "plugin": "approval",
            "parameters": {"message": "Take the call?", "timeoutSeconds": timeout},
        },
        transform("contact", {"by": "{{ nodes.offer.by }}"}),
        transform("decline", {"by": "{{ nodes.offer.by }}"}),
        transform("escalate", {"after": timeout}),
        connections=[
            link("offer", "contact", "approved"),
            link("offer", "decline", "rejected"),
            link("offer", "escalate", "timeout"),
        ],
    )


def waiting_approval(aws: LocalAWS, execution_arn: str, node_id: str) -> None:
    key = {"executionId": {"S": execution_arn}, "nodeId": {"S": node_id}}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if aws.client("dynamodb").get_item(TableName=approvals_table(), Key=key).get("Item"):
            return
        time.sleep(0.01)
    raise AssertionError(f"approval '{node_id}' never started waiting")


def job_offer(expiry: int) -> dict[str, Any]:
    """An offer the candidate may accept, the recruiter may withdraw, or that expires after
    ``expiry`` seconds: whichever happens first decides; a refusal leads nowhere."""
    return routine(
        transform("offer", {"role": "{{ trigger.role }}"}),
        {"id": "candidate", "plugin": "approval", "parameters": {"message": "Accept the offer?"}},
        {"id": "recruiter", "plugin": "approval", "parameters": {"message": "Withdraw the offer?"}},
        wait("expiry", expiry),
        transform("hire", {"by": "{{ nodes.candidate.by }}"}),
        transform("withdraw", {"by": "{{ nodes.recruiter.by }}"}),
        transform("expire", {"after": expiry}),
        {"id": "settled", "plugin": "merge", "parameters": {"mode": "first"}},
        transform("close", {"role": "{{ nodes.offer.role }}", "outcome": "{{ nodes.settled }}"}),
        connections=[
            link("offer", "candidate"),
            link("offer", "recruiter"),
            link("offer", "expiry"),
            link("candidate", "hire", "approved"),
            link("recruiter", "withdraw", "approved"),
            link("expiry", "expire"),
            link("hire", "settled"),
            link("withdraw", "settled"),
            link("expire", "settled"),
            link("settled", "close"),
        ],
    )


def test_wcp16_deferred_choice_by_a_race_of_outside_parties(aws: LocalAWS) -> None:
    alternatives = {"candidate": "hire", "recruiter": "withdraw"}
    branches = {"hire", "withdraw", "expire"}
    expiry = 3 * WAIT
    for decider, chosen in [*alternatives.items(), (None, "expire")]:
        started = time.monotonic()
        running = start_routine(aws, job_offer(expiry), {"role": "pilot"})
        for approval in alternatives:
            waiting_approval(aws, running.arn, approval)
        if decider is not None:
            decide(running.arn, decider, True, None, decider)
        result = running.wait(timeout=RUN_TIMEOUT)
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        if decider is not None:  # the environment chose before the deadline: it was cancelled
            assert time.monotonic() - started < expiry
            assert statuses(result)["expiry"] == "cancelled"
        # Exactly the chosen branch ran; the others were withdrawn, running or not yet started.
        assert ran(result) & branches == {chosen}
        assert all(statuses(result)[b] == "cancelled" for b in branches - {chosen})
        outcome = result.nodes[chosen]["output"]
        assert result.nodes["settled"]["output"] == {chosen: outcome}
        assert result.output == {"close": {"role": "pilot", "outcome": {chosen: outcome}}}
        # A withdrawn approval is closed: deciding it now is refused.
        for approval in set(alternatives) - {decider}:
            assert statuses(result)[approval] == "cancelled"
            with pytest.raises(NotWaiting, match="withdrawn"):
                decide(running.arn, approval, True, None, "late")


def test_wcp16_deferred_choice_by_an_approval_or_its_timeout(aws: LocalAWS) -> None:
    branches = {"contact", "decline", "escalate"}
    for approve, chosen in ((True, "contact"), (False, "decline")):
        running = start_routine(aws, approval_offer(timeout=30))
        waiting_approval(aws, running.arn, "offer")
        decide(running.arn, "offer", approve, None, "ada")
        result = running.wait(timeout=RUN_TIMEOUT)
        assert result.status == "SUCCEEDED"
        assert ran(result) & branches == {chosen}
        assert all(statuses(result)[b] == "skipped" for b in branches - {chosen})
        assert result.output == {chosen: {"by": "ada"}}
    # Nobody decides: the timer wins the race, and a decision arriving later is refused.
    running = start_routine(aws, approval_offer(timeout=WAIT))
    waiting_approval(aws, running.arn, "offer")
    result = running.wait(timeout=RUN_TIMEOUT)
    assert result.status == "SUCCEEDED"
    assert ran(result) & branches == {"escalate"}
    assert statuses(result)["contact"] == statuses(result)["decline"] == "skipped"
    with pytest.raises(NotWaiting):
        decide(running.arn, "offer", True, None, "late")


# WCP-17 Interleaved Parallel Routing (partly): a set of tasks, each run once in any order
# the partial order allows, never two at the same time. Here: a loop with maxConcurrency 1
# over the tasks in an order chosen at run time (which must respect the partial order).


def test_wcp17_interleaved_routing_by_a_one_at_a_time_loop(aws: LocalAWS) -> None:
    rules = [
        {"port": task, "condition": {"left": "{{ loop.item }}", "op": "eq", "right": task}}
        for task in ("pick", "pack")
    ]
    doc = routine(
        loop("dispatch", "{{ trigger.order }}", maxConcurrency=1),
        wait("turn"),
        {"id": "task", "plugin": "switch", "parameters": {"rules": rules}},
        transform("pick", {"done": "pick"}),
        transform("pack", {"done": "pack"}),
        transform("invoice", {"done": "{{ loop.item }}"}),
        merge("step"),
        transform("ship", {"steps": "{{ nodes.dispatch }}"}),
        connections=[
            link("dispatch", "turn", "body"),
            link("turn", "task"),
            link("task", "pick", "pick"),
            link("task", "pack", "pack"),
            link("task", "invoice", "default"),
            link("pick", "step"),
            link("pack", "step"),
            link("invoice", "step"),
            link("dispatch", "ship", "done"),
        ],
    )
    order = ["pick", "invoice", "pack"]  # pick before pack; the invoice anywhere
    result = run(aws, doc, {"order": order})
    assert result.status == "SUCCEEDED"
    assert result.nodes["ship"]["output"] == {"steps": [{task: {"done": task}} for task in order]}
    logs = runs(result)
    done = sorted((one_run(logs, task) for task in order), key=lambda log: log["startedAt"])
    assert [log["nodeId"] for log in done] == order
    for before, after in itertools.pairwise(done):
        # Never two at once: each task's turn began (and waited WAIT seconds) after the one before ended.
        assert after["startedAt"] - before["finishedAt"] >= WAIT - 0.05


# WCP-19 Cancel Task (partly): an enabled or running task is withdrawn. Here: a running
# task cancelled at its deadline (the node's timeoutSeconds), the routine going on along
# its error port.


@pytest.fixture
def slow_server() -> Iterator[tuple[str, list[str], threading.Event]]:
    """A URL answered only once ``release`` is set (or after 10 s), the paths requested."""
    requested: list[str] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            release.wait(10)
            body = json.dumps({"inspected": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/inspection", requested, release
    release.set()
    server.shutdown()
    server.server_close()


def test_wcp19_cancel_task_at_its_deadline(
    aws: LocalAWS, slow_server: tuple[str, list[str], threading.Event]
) -> None:
    url, requested, release = slow_server
    doc = routine(
        {
            "id": "inspect",
            "plugin": "http-request",
            "parameters": {"url": url},
            "timeoutSeconds": 1,
            "onError": "route",
        },
        transform("report", {"inspection": "{{ nodes.inspect.body }}"}),
        transform("withdrawn", {"why": "{{ nodes.inspect.error.type }}"}),
        connections=[link("inspect", "report"), link("inspect", "withdrawn", "error")],
    )
    started = time.monotonic()
    result = run(aws, doc)
    elapsed = time.monotonic() - started
    try:
        assert requested == ["/inspection"]  # the task had started
        assert result.status == "SUCCEEDED"
        assert elapsed < 8  # the server would have answered after 10 s
        assert statuses(result) == {"inspect": "failed", "report": "skipped", "withdrawn": "succeeded"}
        assert result.nodes["inspect"]["error"]["type"] == "States.Timeout"
        assert result.output == {"withdrawn": {"why": "States.Timeout"}}
    finally:
        release.set()
        # Let the abandoned request finish while the local AWS is still up.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not runs(result).get("inspect"):
            time.sleep(0.05)


# WCP-19 Cancel Task, by another branch: a merge with mode "first" races the branches
# after a split; when one arrives, the tasks of the others are withdrawn — a running one
# halted (its answer never awaited), an enabled one before it starts. A first merge always
# compiles to a JSONata machine (statemachines/machine/race.py), so this test runs on
# JSONata machines only, as tests/statemachines/test_merge_first.py does.


def test_wcp19_cancel_task_by_a_branch_that_finishes_first(
    aws: LocalAWS, slow_server: tuple[str, list[str], threading.Event]
) -> None:
    url, requested, release = slow_server
    # The damage is assessed by two assessors; once one has reported, the other's
    # assessment is cancelled, running (an inspection the server answers after 10 s) or
    # not yet started (a third assessor still 30 s away in the queue).
    doc = routine(
        transform("claim", {"car": "{{ trigger.car }}"}),
        {"id": "inspect", "plugin": "http-request", "parameters": {"url": url}},
        transform("report_a", {"by": "a", "inspection": "{{ nodes.inspect.body }}"}),
        wait("drive"),
        transform("report_b", {"by": "b", "car": "{{ nodes.claim.car }}"}),
        wait("backlog", 30),
        transform("report_c", {"by": "c"}),
        {"id": "assessed", "plugin": "merge", "parameters": {"mode": "first"}},
        transform("settle", {"assessment": "{{ nodes.assessed }}"}),
        connections=[
            link("claim", "inspect"),
            link("inspect", "report_a"),
            link("report_a", "assessed"),
            link("claim", "drive"),
            link("drive", "report_b"),
            link("report_b", "assessed"),
            link("claim", "backlog"),
            link("backlog", "report_c"),
            link("report_c", "assessed"),
            link("assessed", "settle"),
        ],
    )
    started = time.monotonic()
    running = start_routine(aws, doc, {"car": "c-7"})
    result = running.wait(timeout=RUN_TIMEOUT)
    elapsed = time.monotonic() - started
    try:
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert requested == ["/inspection"]  # the slow task had started: it was running
        assert elapsed < 8  # the inspection would have answered after 10 s, the queue after 30 s
        winner = {"report_b": {"by": "b", "car": "c-7"}}
        assert result.nodes["assessed"]["output"] == winner
        assert result.output == {"settle": {"assessment": winner}}
        assert statuses(result) == {
            "claim": "succeeded",
            "inspect": "cancelled",  # running when the other assessor reported
            "report_a": "cancelled",  # never enabled: its branch lost
            "drive": "succeeded",
            "report_b": "succeeded",
            "backlog": "cancelled",
            "report_c": "cancelled",  # enabled only after the queue: withdrawn before it started
            "assessed": "succeeded",
            "settle": "succeeded",
        }
        logs = runs(result)
        assert "report_a" not in logs and "report_c" not in logs  # the withdrawn tasks never ran
        # The routine went on as soon as the winner arrived, not when the loser answered.
        assert one_run(logs, "settle")["startedAt"] - one_run(logs, "report_b")["finishedAt"] < 2
    finally:
        release.set()
        # Let the abandoned request finish while the local AWS is still up.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not runs(result).get("inspect"):
            time.sleep(0.05)
    # The inspection's late answer changes nothing: the trace still says cancelled.
    assert "inspect" in runs(result)  # it did answer, too late
    assert statuses(running.wait(timeout=RUN_TIMEOUT))["inspect"] == "cancelled"


# WCP-20 Cancel Case: the whole instance is removed, running tasks and those that could
# run later included, and recorded as completed unsuccessfully.


def test_wcp20_cancel_case_by_a_stop_node(aws: LocalAWS) -> None:
    doc = routine(
        transform("claim", {"policy": "{{ trigger.policy }}"}),
        wait("assess", 30),
        transform("pay", {"paid": True}),
        if_true("expired", "{{ nodes.claim.policy = 'expired' }}"),
        {
            "id": "withdraw",
            "plugin": "stop",
            "parameters": {"status": "fail", "error": "PolicyExpired", "cause": "the policy has expired"},
        },
        connections=[
            link("claim", "assess"),
            link("assess", "pay"),
            link("claim", "expired"),
            link("expired", "withdraw", "true"),
        ],
    )
    started = time.monotonic()
    result = run(aws, doc, {"policy": "expired"})
    assert time.monotonic() - started < 10  # the 30 s assessment running alongside was cancelled
    assert (result.status, result.error) == ("FAILED", "PolicyExpired")
    assert result.cause == "the policy has expired"
    assert statuses(result)["assess"] != "succeeded"
    assert statuses(result)["pay"] == "skipped"
    assert "pay" not in runs(result)


def test_wcp20_cancel_case_by_stopping_the_execution(aws: LocalAWS) -> None:
    doc = routine(
        transform("apply", {"house": "{{ trigger.house }}"}),
        wait("valuation", 30),
        transform("mortgage", {"granted": True}),
        connections=[link("apply", "valuation"), link("valuation", "mortgage")],
    )
    started = time.monotonic()
    running = start_routine(aws, doc, {"house": "h-9"})
    deadline = time.monotonic() + 10
    while "apply" not in runs_of(running.arn) and time.monotonic() < deadline:
        time.sleep(0.02)
    # What POST /executions/{id}/stop does (the purchaser withdraws the application).
    aws.client("stepfunctions").stop_execution(
        executionArn=running.arn, error="Routines.Stopped", cause="withdrawn by the purchaser"
    )
    result = running.wait(timeout=RUN_TIMEOUT)
    assert time.monotonic() - started < 10
    assert result.status == "ABORTED"
    assert statuses(result)["apply"] == "succeeded"
    assert statuses(result)["valuation"] != "succeeded"
    assert statuses(result)["mortgage"] == "skipped"


def runs_of(execution_arn: str) -> set[str]:
    return {log["nodeId"] for log in read_logs(execution_arn)}
