// The console: routines, a routine's graph, an execution live. Plain modules, hash routes:
// #/  ·  #/routines/<id>  ·  #/executions/<id>
import { api, ApiError, executionPath, setUser, streamEvents, user } from "./api.js";
import { escapeHtml as esc, layout, own, render } from "./graph.js";

const view = document.getElementById("view");
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"]);
const RERUNNABLE = new Set(["FAILED", "ABORTED", "TIMED_OUT"]);
let current = null; // the open view's AbortController (its event stream)
// The API's patterns: a name it would refuse is refused at the login (every call would be
// 401), and a route's id that is not one is not put in a path ("/routines/.." is "/").
const USER_NAME = /^[A-Za-z0-9_.:@+=\/-]{1,128}$/; // OWNER_ID, functions/api/context.py
const ROUTINE_ID = /^[A-Za-z0-9_-]{1,64}$/; // RoutineId, functions/api/routes/routines.py
// ExecutionId (functions/api/routes/executions.py) has no "."; only the dot segments, which
// fetch would resolve, are refused here: the API answers every other id in its own words.
const DOT_SEGMENT = /^\.\.?$/;

// A graph wider than the page scrolls at full size, or is scaled to the page's width: the
// choice is kept (localStorage) for every graph after.
const FIT_BUTTON = '<button id="fit" title="scale the graph to the page width, or back to full size"></button>';
function fitToggle() {
  const graph = document.getElementById("graph");
  const button = document.getElementById("fit");
  const show = () => {
    const fit = localStorage.getItem("routines.fit") === "1";
    graph.classList.toggle("fit", fit);
    button.textContent = fit ? "full size" : "fit to width";
  };
  button.onclick = () => {
    localStorage.setItem("routines.fit", graph.classList.contains("fit") ? "0" : "1");
    show();
  };
  show();
}

function identity() {
  const box = document.getElementById("identity");
  box.innerHTML = `as <b id="current-user">${esc(user())}</b> <button id="switch-user">change</button>`;
  document.getElementById("switch-user").onclick = () => askUser();
}

function askUser() {
  const dialog = document.getElementById("login");
  const input = document.getElementById("user-name");
  const problem = document.getElementById("login-error");
  input.value = user() || "";
  problem.textContent = "";
  dialog.showModal();
  return new Promise((resolve) => {
    document.getElementById("login-form").onsubmit = (event) => {
      const name = input.value.trim();
      if (!USER_NAME.test(name)) {
        // The input's pattern stops this first; this is for a browser that ignores it.
        event.preventDefault(); // keeps the dialog open
        problem.textContent = "1 to 128 of A–Z a–z 0–9 and _ . : @ + = / -";
        return;
      }
      setUser(name);
      identity();
      resolve();
      route();
    };
  });
}

// Escape closes a modal dialog: with nobody logged in yet the page would stay on "Loading…"
// with no way to log in. The dialog refuses to go then, or comes back when the browser
// closes it anyway (Chromium does when there was no user activation since the last Escape).
function keepLoginOpen() {
  const dialog = document.getElementById("login");
  dialog.addEventListener("cancel", (event) => {
    if (!user()) event.preventDefault();
  });
  dialog.addEventListener("close", () => {
    if (!user()) dialog.showModal();
  });
}

function json(value) {
  return esc(JSON.stringify(value, null, 2) ?? "null");
}

function badge(status) {
  return status ? `<span class="badge ${esc(status)}">${esc(status)}</span>` : `<span class="muted">—</span>`;
}

// An id shown in a message: a 70,000-character one is not.
function shortId(id) {
  return id.length > 80 ? `${id.slice(0, 80)}…` : id;
}

function failure(error) {
  view.innerHTML = `<p class="error-text" id="failure">${esc(error.message || error)}</p><p><a href="#/">back to the routines</a></p>`;
}

// -- routines ---------------------------------------------------------------------------
async function routinesView(signal) {
  const page = await api("GET", "/routines?limit=100");
  const rows = await Promise.all(page.items.map(async (r) => {
    const [full, runs] = await Promise.all([
      api("GET", `/routines/${encodeURIComponent(r.id)}`),
      api("GET", `/routines/${encodeURIComponent(r.id)}/executions?limit=1`),
    ]);
    const last = runs.items[0];
    return `<tr data-routine="${esc(r.id)}"><td><a href="#/routines/${esc(r.id)}">${esc(r.name)}</a></td>` +
      `<td>${esc(full.document.trigger?.type ?? "")}</td><td>${r.activeVersion ? `v${r.activeVersion}` : '<span class="muted">inactive</span>'} <span class="muted">(latest v${r.version})</span></td>` +
      `<td>${last ? `<a href="#/executions/${esc(last.executionId)}">${badge(last.status)}</a> <span class="muted">${esc(last.startedAt ?? "")}</span>` : '<span class="muted">never run</span>'}</td></tr>`;
  }));
  if (signal.aborted) return; // another view was asked for meanwhile
  view.innerHTML = `<h1>Routines</h1>` + (rows.length
    ? `<table id="routines"><thead><tr><th>Name</th><th>Trigger</th><th>Active version</th><th>Last run</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
    : `<p class="muted" id="routines">No routines yet for this user: save one with <code>routines push FILE</code> or <code>POST /routines</code>.</p>`);
}

// -- a routine --------------------------------------------------------------------------
async function routineView(id, signal) {
  const routine = await api("GET", `/routines/${encodeURIComponent(id)}`);
  const runs = await api("GET", `/routines/${encodeURIComponent(id)}/executions?limit=10`);
  if (signal.aborted) return;
  const laid = layout(routine.document);
  const active = routine.activeVersion !== null && routine.activeVersion !== undefined;
  view.innerHTML = `<h1 data-routine="${esc(id)}">${esc(routine.name)}</h1>
    <p class="stats">trigger <b>${esc(routine.document.trigger?.type ?? "")}</b> · version v${routine.version} · ${active ? `active v${routine.activeVersion}` : "inactive"} ·
      ${routine.document.nodes.length} nodes · <span id="layout-ms">layout ${laid.ms.toFixed(0)} ms</span> · ${FIT_BUTTON}</p>
    <div class="layout"><div class="graph" id="graph">${render(routine.document, laid)}</div>
    <aside><h2>Run</h2>
      <label>Input (the trigger data, JSON)</label><textarea id="run-input">{}</textarea>
      <div class="actions"><label><input type="checkbox" id="run-test" ${active ? "" : "checked"}> test run (latest version, without activating)</label></div>
      <div class="actions"><button class="primary" id="run">Run</button><span id="run-error" class="error-text"></span></div>
      <h2>Recent executions</h2>
      <ul id="executions">${runs.items.map((e) => `<li><a href="#/executions/${esc(e.executionId)}">${badge(e.status)}</a> <span class="muted">${esc(e.startedAt ?? "")} · ${esc(e.triggerType ?? "")}</span></li>`).join("") || '<li class="muted">none</li>'}</ul>
    </aside></div>`;
  fitToggle();
  document.getElementById("run").onclick = async (event) => {
    const button = event.currentTarget;
    const problem = document.getElementById("run-error");
    problem.textContent = "";
    let input;
    try {
      input = JSON.parse(document.getElementById("run-input").value || "{}");
    } catch (error) {
      problem.textContent = `the input is not JSON: ${error.message}`;
      return;
    }
    // Disabled while the run is asked for (a double click would start two), and after, as
    // the page moves on to the new execution.
    button.disabled = true;
    try {
      const started = await api("POST", `/routines/${encodeURIComponent(id)}/executions`, { input, test: document.getElementById("run-test").checked });
      location.hash = `#/executions/${started.executionId}`;
    } catch (error) {
      problem.textContent = error.message;
      button.disabled = false;
    }
  };
}

// -- an execution -----------------------------------------------------------------------
async function executionView(id, signal) {
  let execution = await api("GET", executionPath(id));
  const routine = await api("GET", `/routines/${encodeURIComponent(execution.routineId)}?version=${execution.version}`);
  if (signal.aborted) return;
  const document_ = routine.document;
  const laid = layout(document_);
  // Node id → …: tables without a prototype, as a node may be called "constructor".
  const plugins = Object.create(null);
  for (const n of document_.nodes) plugins[n.id] = n.plugin;
  const incoming = Object.create(null);
  for (const c of document_.connections || []) (incoming[c.targetNodeId] ||= []).push(c.sourceNodeId);
  const statuses = Object.create(null);
  let selected = null;
  let started = null;
  let status = execution.status;

  view.innerHTML = `<h1><a href="#/routines/${esc(execution.routineId)}">${esc(routine.name)}</a> · execution</h1>
    <p class="stats"><code>${esc(id)}</code> · v${execution.version} · ${esc(execution.triggerType ?? "")} · <span id="exec-status"></span>
      <span id="exec-duration"></span> · <span id="layout-ms">layout ${laid.ms.toFixed(0)} ms</span> · ${FIT_BUTTON}</p>
    <div class="actions"><button class="danger" id="stop" hidden>Stop</button><button id="rerun" hidden>Re-run</button>
      <span id="action-error" class="error-text"></span></div>
    <div class="layout"><div><div class="graph" id="graph"></div>
      <h2>Timeline</h2><ul class="timeline" id="timeline"></ul></div>
      <aside id="panel"><p class="muted">Select a node to see its input, output and error.</p></aside></div>`;
  fitToggle();

  const extras = () => Object.fromEntries(Object.entries(execution.nodes || {}).map(([node, e]) => {
    const parts = [];
    if (e.durationMs) parts.push(`${e.durationMs} ms`);
    if (e.runs) parts.push(`×${e.runs} runs`);
    if (e.attempts > 1) parts.push(`${e.attempts} attempts`);
    return [node, parts.join(" · ")];
  }));

  // The graph is redrawn only when what it shows changed, and clicks are taken by the box
  // around it: a click on a node is never lost to a redraw between its press and release.
  let drawn = null;
  document.getElementById("graph").onclick = (event) => {
    const node = event.target.closest(".node");
    if (!node) return;
    selected = node.dataset.node;
    draw();
    panel();
  };
  // A view left behind (another route was asked for) draws nothing more: its late answers
  // would land in the next view's elements, which share these ids, and that view, drawing
  // only what changed, would never correct them.
  function draw() {
    if (signal.aborted) return;
    const graph = document.getElementById("graph");
    const svg = render(document_, laid, statuses, extras());
    if (svg !== drawn) {
      graph.innerHTML = svg;
      drawn = svg;
    }
    for (const g of graph.querySelectorAll(".node")) g.classList.toggle("selected", g.dataset.node === selected);
    document.getElementById("exec-status").innerHTML = badge(status);
    document.getElementById("exec-duration").textContent = execution.durationMs ? `· ${execution.durationMs} ms` : "";
    document.getElementById("stop").hidden = status !== "RUNNING";
    document.getElementById("rerun").hidden = !RERUNNABLE.has(status);
  }

  let shown = { html: null, node: null }; // what the side panel shows (panel())
  function panel() {
    const box = document.getElementById("panel");
    if (!selected || signal.aborted) return;
    const entry = own(execution.nodes, selected) || {};
    const input = Object.fromEntries((incoming[selected] || []).map((source) => [source, own(execution.nodes, source)?.output ?? null]));
    const nodeStatus = statuses[selected] || entry.status;
    let approval = "";
    if (plugins[selected] === "approval" && nodeStatus === "waiting") {
      approval = `<h2>Decision</h2><label>data (JSON, optional)</label><textarea id="approval-data">null</textarea>
        <div class="actions"><button class="primary" id="approve">Approve</button><button class="danger" id="reject">Reject</button></div>`;
    }
    const html = `<h2 id="panel-node">${esc(selected)} <span class="muted">${esc(plugins[selected])}</span></h2>
      <p>${badge(nodeStatus)} ${entry.durationMs ? `${entry.durationMs} ms` : ""} ${entry.runs ? `· ${entry.runs} runs` : ""} ${entry.attempts > 1 ? `· ${entry.attempts} attempts` : ""}</p>
      ${approval}
      <h2>Input <span class="muted">(outputs of the nodes before it; the trigger data for the first)</span></h2>
      <pre id="panel-input">${json((incoming[selected] || []).length ? input : execution.trigger)}</pre>
      <h2>Output</h2><pre id="panel-output">${json(entry.output ?? null)}</pre>
      ${entry.error ? `<h2>Error</h2><pre id="panel-error" class="error-text">${json(entry.error)}</pre>` : ""}`;
    // Events of other nodes keep arriving while a person types an approval's data: the panel
    // is redrawn only when what it shows changed, and what they typed survives a redraw.
    if (shown.html === html) return;
    const typing = document.getElementById("approval-data");
    const typed = typing && shown.node === selected ? typing.value : null;
    const focused = typing !== null && document.activeElement === typing;
    box.innerHTML = html;
    shown = { html, node: selected };
    if (approval && typed !== null) {
      const area = document.getElementById("approval-data");
      area.value = typed;
      if (focused) area.focus();
    }
    if (approval) {
      if (busy) enable(false); // the new buttons too, while a decision is sent
      for (const decision of ["approve", "reject"]) {
        document.getElementById(decision).onclick = () => act(async () => {
          const data = JSON.parse(document.getElementById("approval-data").value || "null");
          await api("POST", `${executionPath(id)}/approvals/${encodeURIComponent(selected)}`, { decision, data });
        });
      }
    }
  }

  // The action buttons are disabled while one is sent: a double click on Approve would be
  // answered 409 although the approval went through, on Re-run would start two runs. An
  // action that leaves the page (Re-run) returns true: its buttons stay disabled.
  let busy = false;
  function enable(enabled) {
    if (signal.aborted) return;
    for (const name of ["stop", "rerun", "approve", "reject"]) {
      const button = document.getElementById(name);
      if (button) button.disabled = !enabled;
    }
  }
  async function act(action) {
    if (busy) return;
    busy = true;
    enable(false);
    const problem = document.getElementById("action-error");
    problem.textContent = "";
    let leaving = false;
    try {
      leaving = (await action()) === true;
      if (!leaving) await refresh();
    } catch (error) {
      problem.textContent = error instanceof ApiError ? error.message : String(error);
    }
    if (leaving) return;
    busy = false;
    enable(true);
  }

  let refreshing = null;
  async function refresh() {
    const read = await api("GET", executionPath(id));
    if (signal.aborted) return;
    execution = read;
    for (const [node, entry] of Object.entries(execution.nodes || {})) {
      statuses[node] = entry.status;
    }
    if (TERMINAL.has(execution.status)) status = execution.status;
    draw();
    panel();
  }
  signal.addEventListener("abort", () => clearTimeout(refreshing));
  function soon() {
    if (signal.aborted) return;
    clearTimeout(refreshing);
    refreshing = setTimeout(() => refresh().catch(() => {}), 250);
  }

  document.getElementById("stop").onclick = () => act(() => api("POST", `${executionPath(id)}/stop`, { reason: "stopped from the console" }));
  document.getElementById("rerun").onclick = () => act(async () => {
    const again = await api("POST", `${executionPath(id)}/rerun`);
    location.hash = `#/executions/${again.executionId}`;
    return true;
  });

  for (const [node, entry] of Object.entries(execution.nodes || {})) statuses[node] = entry.status;
  draw();
  const timeline = document.getElementById("timeline");
  streamEvents(id, (event, eventId) => {
    const at = Date.parse(event.at);
    if (started === null && !Number.isNaN(at)) started = at;
    const offset = Number.isNaN(at) ? "" : `+${((at - started) / 1000).toFixed(2)} s`;
    const what = event.type === "status" ? `execution ${badge(event.status)}` : `<b>${esc(event.node)}</b> ${badge(event.status)}${event.durationMs ? ` ${event.durationMs} ms` : ""}`;
    const error = event.error ? ` <span class="error-text">${esc(event.error.type ?? "")}: ${esc(event.error.message ?? "")}</span>` : "";
    timeline.insertAdjacentHTML("beforeend", `<li data-event="${esc(eventId ?? "")}"><span class="t">${offset}</span>${what}${error}</li>`);
    if (event.type === "node") statuses[event.node] = event.status;
    else status = event.status;
    draw();
    if (event.type === "status" || "durationMs" in event) soon();
  }, signal).catch((error) => {
    if (!signal.aborted) timeline.insertAdjacentHTML("beforeend", `<li class="error-text">events: ${esc(error.message)}</li>`);
  });
}

// The id of a route, or an error in the API's words when the API would refuse it, or when it
// would not stay one path segment (fetch resolves "/routines/.." to "/").
function routineId(id) {
  if (!ROUTINE_ID.test(id)) throw new Error(`invalid_request: "${shortId(id)}" is not a routine id (1 to 64 of A–Z a–z 0–9 _ -)`);
  return id;
}

function executionId(id) {
  if (DOT_SEGMENT.test(id)) throw new Error(`invalid_request: "${shortId(id)}" is not an execution id (A–Z a–z 0–9 _ : -)`);
  return id;
}

async function route() {
  if (!user()) return askUser();
  if (current) current.abort();
  current = new AbortController();
  const signal = current.signal;
  const hash = location.hash.replace(/^#/, "") || "/";
  try {
    const routineMatch = hash.match(/^\/routines\/(.+)$/);
    const executionMatch = hash.match(/^\/executions\/(.+)$/);
    if (routineMatch) await routineView(routineId(decodeURIComponent(routineMatch[1])), signal);
    else if (executionMatch) await executionView(executionId(decodeURIComponent(executionMatch[1])), signal);
    else await routinesView(signal);
  } catch (error) {
    if (!signal.aborted) failure(error);
  }
}

keepLoginOpen();
window.addEventListener("hashchange", route);
if (user()) identity();
route();
