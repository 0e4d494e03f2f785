"""The console (``GET /`` under ``routines serve``) in a real browser: Debian's Chromium,
driven by Playwright (pointed at the installed executable; Playwright never downloads a
browser here). In CI (``CI`` set) no browser is a failure: ``.ci/run`` installs it first.
On a developer's machine without Chromium the tests do not run, and the session's summary
says so in a line of its own (tests/console/conftest.py) — never a silent pass.

Screenshots of each view go to the test's artefacts (``tmp_path``); the execution view is
also docs/console-execution.png (the README shows it), rewritten only with
``UPDATE_SCREENSHOT=1``."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from functions.serve import running
from tests.api.conftest import example
from tests.api.test_serve import http
from tests.console.conftest import NO_BROWSER

ROOT = Path(__file__).parents[2]
SCREENSHOT = ROOT / "docs" / "console-execution.png"
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
LAYOUT_BUDGET_MS = 2000


def _chromium() -> str:
    configured = os.environ.get("ROUTINES_CHROMIUM")
    for candidate in (configured,) if configured else CANDIDATES:
        if candidate and (Path(candidate).is_file() or shutil.which(candidate)):
            return candidate
    reason = (
        NO_BROWSER
        + " (looked for "
        + ", ".join((configured,) if configured else CANDIDATES)
        + "): install Debian's package (`apt-get install -y chromium`, as .ci/run does) "
        "or set ROUTINES_CHROMIUM to a Chromium executable"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert not problems, problems  # no uncaught JavaScript error on any page


def _napping(seconds: int) -> dict[str, Any]:
    return {
        "name": "Nap",
        "execution": "standard",  # stoppable (Step Functions stops Standard executions only)
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "before", "plugin": "static-data", "parameters": {"data": {"a": 1}}},
            {"id": "nap", "plugin": "wait", "parameters": {"seconds": seconds}},
        ],
        "connections": [{"sourceNodeId": "before", "targetNodeId": "nap"}],
    }


def _wide_routine() -> dict[str, Any]:
    """A chain of 14 transforms: wider than the page's graph box at full size."""
    nodes = [{"id": f"step{i}", "plugin": "transform", "parameters": {"fields": {"i": i}}} for i in range(14)]
    connections = [{"sourceNodeId": f"step{i}", "targetNodeId": f"step{i + 1}"} for i in range(13)]
    return {"name": "Wide", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


def _watch(page: Page) -> None:
    """Records every (node, status) and execution status the page ever shows."""
    page.evaluate(
        """() => {
          window.seen = new Set();
          const look = () => {
            for (const g of document.querySelectorAll('[data-node]')) {
              window.seen.add(g.dataset.node + ':' + g.dataset.status);
            }
            const s = document.getElementById('exec-status');
            if (s) window.seen.add('execution:' + s.textContent);
          };
          new MutationObserver(look).observe(document.body, {childList: true, subtree: true});
        }"""
    )


def _seen(page: Page) -> set[str]:
    return set(page.evaluate("() => [...window.seen]"))


def _run(page: Page, routine_id: str, body: Any) -> None:
    page.goto(page.url.split("#")[0] + f"#/routines/{routine_id}")
    expect(page.locator(f'h1[data-routine="{routine_id}"]')).to_be_visible()  # this routine's view
    expect(page.locator("#graph svg")).to_be_visible()
    page.fill("#run-input", json.dumps(body))
    page.click("#run")
    expect(page.locator("#timeline li").first).to_be_visible(timeout=15_000)


def test_the_console_end_to_end(page: Page, tmp_path: Path) -> None:
    with running() as server:
        ids = {}
        for name, document in (
            ("orders", example("webhook-order-handling.json")),
            ("approval", example("approval-flow.json")),
            ("nap", _napping(120)),
        ):
            ids[name] = http(server.url, "POST", "/routines", document)[1]["id"]

        # Identity: asked once, kept.
        page.goto(server.url + "/")
        expect(page.locator("#login")).to_be_visible()
        page.fill("#user-name", "alice")
        page.click("#login-button")
        expect(page.locator("#current-user")).to_have_text("alice")
        rows = page.locator("#routines tbody tr")
        expect(rows).to_have_count(3)
        expect(page.locator(f'tr[data-routine="{ids["orders"]}"]')).to_contain_text("webhook")
        page.screenshot(path=str(tmp_path / "routines.png"), full_page=True)

        # A routine's graph: every node, the error edge dashed, ports labelled.
        page.click(f'tr[data-routine="{ids["orders"]}"] a')
        expect(page.locator("#graph .node")).to_have_count(4)
        expect(page.locator("#graph path.edge.error")).to_have_count(1)
        expect(page.locator("#graph .edge-label", has_text="true")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "routine.png"), full_page=True)

        # A graph wider than the page scrolls at full size, or is scaled to fit; the choice is kept.
        wide = http(server.url, "POST", "/routines", _wide_routine())[1]["id"]
        page.goto(server.url + f"/#/routines/{wide}")
        expect(page.locator("#graph .node")).to_have_count(14)
        box, drawing = page.locator("#graph"), page.locator("#graph svg")
        assert drawing.bounding_box()["width"] > box.bounding_box()["width"]  # type: ignore[index]
        page.click("#fit")
        expect(page.locator("#fit")).to_have_text("full size")
        assert drawing.bounding_box()["width"] <= box.bounding_box()["width"]  # type: ignore[index]
        page.screenshot(path=str(tmp_path / "routine-fit.png"), full_page=True)
        page.reload()
        expect(page.locator("#graph")).to_have_class(re.compile(r"\bfit\b"))
        page.click("#fit")  # back to full size for the views below
        expect(page.locator("#graph")).not_to_have_class(re.compile(r"\bfit\b"))
        http(server.url, "DELETE", f"/routines/{wide}")

        # Run it: the nodes change colour live (no reload), the run ends, outputs are there.
        _watch(page)
        page.evaluate("() => { window.sameDocument = true; }")
        _run(page, ids["orders"], {"body": {"orderId": 7}})
        expect(page.locator("#exec-status")).to_have_text("SUCCEEDED", timeout=60_000)
        expect(page.locator('[data-node="alert"]')).to_have_attribute("data-status", "succeeded")
        expect(page.locator('[data-node="fetch"]')).to_have_attribute("data-status", "failed")
        expect(page.locator('[data-node="notify"]')).to_have_attribute("data-status", "skipped")
        assert page.evaluate("() => window.sameDocument") is True
        seen = _seen(page)
        # Seen while running, without a reload. A node's own 'running' may arrive in the same
        # batch of events as its end on a busy machine (fetch fails in milliseconds), so
        # only the execution's RUNNING is required before its end.
        assert "execution:RUNNING" in seen and "execution:SUCCEEDED" in seen, seen
        assert {"fetch:failed", "alert:succeeded"} <= seen, seen
        page.click('[data-node="alert"]')
        expect(page.locator("#panel-output")).to_contain_text('"orderId": 7')
        expect(page.locator("#panel-input")).to_contain_text('"fetch"')
        page.click('[data-node="fetch"]')
        expect(page.locator("#panel-error")).to_contain_text("message")
        page.click('[data-node="alert"]')
        expect(page.locator("#timeline li").last).to_contain_text("SUCCEEDED")
        shot = tmp_path / "execution.png"
        page.screenshot(path=str(shot), full_page=True)
        if os.environ.get("UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(shot, SCREENSHOT)

        # An approval: waiting live, approved from the side panel, carried on live.
        _run(page, ids["approval"], {"customer": "c1", "amount": 80})
        expect(page.locator('[data-node="approve"]')).to_have_attribute(
            "data-status", "waiting", timeout=30_000
        )
        page.click('[data-node="approve"]')
        page.screenshot(path=str(tmp_path / "approval-waiting.png"), full_page=True)
        page.fill("#approval-data", '{"note": "ok"}')
        page.click("#approve")
        expect(page.locator('[data-node="approve"]')).to_have_attribute(
            "data-status", "succeeded", timeout=30_000
        )
        expect(page.locator("#panel-output")).to_contain_text('"decision": "approved"')
        # pay calls a payments API this machine cannot reach: the run fails, and can be re-run.
        expect(page.locator("#exec-status")).to_have_text("FAILED", timeout=60_000)
        expect(page.locator("#rerun")).to_be_visible()
        page.screenshot(path=str(tmp_path / "approval-done.png"), full_page=True)

        # Re-run it from the console: a new execution with the same input, shown live; this
        # time the approval is rejected, so the rejection branch runs and the run succeeds.
        failed_run = page.url
        page.click("#rerun")
        page.wait_for_url(lambda url: url != failed_run and "#/executions/" in url)
        expect(page.locator('[data-node="approve"]')).to_have_attribute(
            "data-status", "waiting", timeout=30_000
        )
        page.click('[data-node="approve"]')
        page.fill("#approval-data", '{"reason": "too much"}')
        # The panel is redrawn as events arrive (here: the node clicked again); what the person
        # typed stays.
        page.click('[data-node="approve"]')
        expect(page.locator("#approval-data")).to_have_value('{"reason": "too much"}')
        page.click("#reject")
        expect(page.locator("#exec-status")).to_have_text("SUCCEEDED", timeout=60_000)
        expect(page.locator('[data-node="logRejection"]')).to_have_attribute("data-status", "succeeded")
        expect(page.locator('[data-node="pay"]')).to_have_attribute("data-status", "skipped")
        page.click('[data-node="logRejection"]')
        expect(page.locator("#panel-output")).to_contain_text('"reason": "too much"')
        expect(page.locator("#panel-output")).to_contain_text('"rejectedBy": "alice"')
        page.screenshot(path=str(tmp_path / "approval-rejected.png"), full_page=True)

        # Stop a waiting run.
        _run(page, ids["nap"], {})
        expect(page.locator('[data-node="nap"]')).to_have_attribute("data-status", "waiting", timeout=30_000)
        started = time.monotonic()
        page.click("#stop")
        expect(page.locator("#exec-status")).to_have_text("ABORTED", timeout=30_000)
        assert time.monotonic() - started < 30
        page.screenshot(path=str(tmp_path / "stopped.png"), full_page=True)

        # The routines list now shows the last runs' statuses.
        page.goto(server.url + "/#/")
        expect(page.locator(f'tr[data-routine="{ids["nap"]}"]')).to_contain_text("ABORTED")


def _big(count: int) -> dict[str, Any]:
    """A routine of ``count`` nodes: chains of transforms fanning out from ifs, and a loop."""
    nodes: list[dict[str, Any]] = [{"id": "n0", "plugin": "static-data", "parameters": {"data": {}}}]
    connections: list[dict[str, Any]] = []
    for index in range(1, count):
        source = f"n{(index - 1) // 3 if index % 7 else index - 1}"
        plugin = "if" if index % 11 == 0 else "transform"
        nodes.append({"id": f"n{index}", "plugin": plugin, "parameters": {}})
        port = "true" if nodes[int(source[1:])]["plugin"] == "if" else "out"
        connections.append({"sourceNodeId": source, "sourcePort": port, "targetNodeId": f"n{index}"})
    return {"name": "big", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


def test_a_1000_node_routine_lays_out_in_the_browser_under_2_seconds(page: Page) -> None:
    with running() as server:
        page.goto(server.url + "/")
        page.fill("#user-name", "alice")
        page.click("#login-button")
        document = _big(1000)
        result = page.evaluate(
            """async (document) => {
              const graph = await import('/console/graph.js');
              const laid = graph.layout(document);
              const started = performance.now();
              const svg = graph.render(document, laid, {});
              return {layout: laid.ms, render: performance.now() - started,
                      nodes: Object.keys(laid.nodes).length, size: svg.length};
            }""",
            document,
        )
        print(
            f"1,000-node layout in Chromium: {result['layout']:.0f} ms (SVG text {result['render']:.0f} ms)"
        )
        assert result["nodes"] == 1000
        assert result["layout"] < LAYOUT_BUDGET_MS, result


def test_10000_loop_iterations_are_one_box_each(page: Page, tmp_path: Path) -> None:
    count = 10_000
    routine = {
        "name": "Many",
        # Express: 10,000 inline iterations are more than the 25,000 history events of a
        # Standard execution hold (a Standard routine refuses such a list up front).
        "execution": "express",
        "timeoutSeconds": 300,
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "items", "plugin": "static-data", "parameters": {"data": {"items": list(range(count))}}},
            {
                "id": "each",
                "plugin": "loop",
                "parameters": {"items": "{{ nodes.items.items }}", "maxConcurrency": 40},
            },
            {"id": "double", "plugin": "transform", "parameters": {"fields": {"v": "{{ loop.item }}"}}},
        ],
        "connections": [
            {"sourceNodeId": "items", "targetNodeId": "each"},
            {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "double"},
        ],
    }
    with running() as server:
        routine_id = http(server.url, "POST", "/routines", routine)[1]["id"]
        page.goto(server.url + "/")
        page.fill("#user-name", "alice")
        page.click("#login-button")
        _run(page, routine_id, {})
        expect(page.locator('[data-node="each"]')).to_have_attribute("data-status", "running")
        expect(page.locator("#exec-status")).to_have_text("SUCCEEDED", timeout=240_000)
        # Iterations grouped: one box per node, the runs counted on it; a short timeline.
        expect(page.locator("#graph .node")).to_have_count(3)
        # The trace of 10,000 runs is read once the status says SUCCEEDED: on a loaded
        # machine that takes more than the default 5 s.
        expect(page.locator('[data-node="double"]')).to_contain_text(f"\u00d7{count} runs", timeout=60_000)
        expect(page.locator("#graph .cluster")).to_have_count(1)
        assert page.locator("#timeline li").count() <= 10
        page.screenshot(path=str(tmp_path / "loop-10000.png"), full_page=True)
