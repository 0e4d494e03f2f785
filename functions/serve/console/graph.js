// A routine document as an SVG graph, laid out left to right by dagre (vendor/dagre), with
// the conventions of `routines graph` (functions/graphs.py): boxes with id and plugin,
// edges labelled with their port unless it is "out", error edges dashed, loop bodies grouped.

const NODE_W = 170;
const NODE_H = 52;
const CONDITIONS = new Set(["if", "switch"]);

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// value of an object's own key, or undefined: node ids may name Object.prototype members
// (constructor, toString…), so a lookup must never fall through to the prototype.
export function own(object, key) {
  return object && Object.hasOwn(object, key) ? object[key] : undefined;
}

// dagre's graphlib keeps nodes in plain {} objects, where an id like "constructor" or
// "__proto__" clashes with the prototype: it is given prefixed ids, nodes and loop boxes apart.
const nodeKey = (id) => `n:${id}`;
const loopKey = (id) => `c:${id}`;
const unKey = (key) => key.slice(2);

// loop id → the set of nodes in its body (reachable from its "body" port).
export function loopBodies(document) {
  const outgoing = new Map();
  for (const c of document.connections || []) {
    if (!outgoing.has(c.sourceNodeId)) outgoing.set(c.sourceNodeId, []);
    outgoing.get(c.sourceNodeId).push(c);
  }
  const bodies = new Map();
  for (const node of document.nodes) {
    if (node.plugin !== "loop") continue;
    const seen = new Set();
    const stack = (outgoing.get(node.id) || []).filter((c) => c.sourcePort === "body").map((c) => c.targetNodeId);
    while (stack.length) {
      const next = stack.pop();
      if (seen.has(next)) continue;
      seen.add(next);
      for (const c of outgoing.get(next) || []) stack.push(c.targetNodeId);
    }
    bodies.set(node.id, seen);
  }
  return bodies;
}

function innermostLoop(bodies, nodeId) {
  let best = null;
  for (const [loop, body] of bodies) {
    if (body.has(nodeId) && (best === null || body.size < bodies.get(best).size)) best = loop;
  }
  return best;
}

// Lays the document out; returns {width, height, nodes: {id: {x, y}} (without a prototype), edges: [...], clusters: [...], ms}.
export function layout(document) {
  const started = performance.now();
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 22, ranksep: 56, edgesep: 12, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const bodies = loopBodies(document);
  for (const node of document.nodes) g.setNode(nodeKey(node.id), { width: NODE_W, height: NODE_H });
  for (const loop of bodies.keys()) g.setNode(loopKey(loop), { label: `${loop}: loop body`, paddingTop: 18 });
  for (const loop of bodies.keys()) {
    for (const member of bodies.get(loop)) {
      if (innermostLoop(bodies, member) === loop) g.setParent(nodeKey(member), loopKey(loop));
    }
    const outer = innermostLoop(bodies, loop);
    if (outer !== null) g.setParent(loopKey(loop), loopKey(outer));
  }
  (document.connections || []).forEach((c, index) => {
    const port = c.sourcePort || "out";
    const label = port === "out" ? "" : port;
    g.setEdge(nodeKey(c.sourceNodeId), nodeKey(c.targetNodeId), { port, label, width: label ? label.length * 6 + 6 : 0, height: label ? 12 : 0, labelpos: "c" }, String(index));
  });
  dagre.layout(g);
  const nodes = Object.create(null);
  for (const node of document.nodes) nodes[node.id] = g.node(nodeKey(node.id));
  const clusters = [...bodies.keys()].map((loop) => ({ loop, ...g.node(loopKey(loop)) }));
  const edges = g.edges().map((e) => ({ source: unKey(e.v), target: unKey(e.w), ...g.edge(e) }));
  const size = g.graph();
  return { width: size.width, height: size.height, nodes, edges, clusters, ms: performance.now() - started };
}

// The SVG text of a laid-out document. statuses: {nodeId: status}, extras: {nodeId: text}.
export function render(document, laid, statuses = {}, extras = {}) {
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${laid.width}" height="${laid.height}" viewBox="0 0 ${laid.width} ${laid.height}">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs>`];
  const byDepth = [...laid.clusters].sort((a, b) => b.width * b.height - a.width * a.height);
  for (const c of byDepth) {
    out.push(`<g class="cluster" data-loop="${escapeHtml(c.loop)}"><rect x="${c.x - c.width / 2}" y="${c.y - c.height / 2}" width="${c.width}" height="${c.height}" rx="8"/>` +
      `<text x="${c.x - c.width / 2 + 6}" y="${c.y - c.height / 2 + 12}">${escapeHtml(c.loop)}: loop body</text></g>`);
  }
  for (const e of laid.edges) {
    const points = e.points || [];
    if (!points.length) continue;
    let d = `M${points[0].x},${points[0].y}`;
    for (const p of points.slice(1)) d += ` L${p.x},${p.y}`;
    const kind = e.port === "error" ? "edge error" : "edge";
    out.push(`<path class="${kind}" data-edge="${escapeHtml(e.source)}-${escapeHtml(e.port)}-${escapeHtml(e.target)}" d="${d}" marker-end="url(#arrow)"/>`);
    if (e.label) out.push(`<text class="edge-label" x="${e.x}" y="${e.y + 4}" text-anchor="middle">${escapeHtml(e.label)}</text>`);
  }
  for (const node of document.nodes) {
    const p = laid.nodes[node.id];
    const status = own(statuses, node.id);
    const note = own(extras, node.id);
    const classes = ["node"];
    if (CONDITIONS.has(node.plugin)) classes.push("condition");
    if (node.disabled) classes.push("disabled");
    if (status) classes.push(`st-${status}`);
    const x = p.x - NODE_W / 2;
    const y = p.y - NODE_H / 2;
    const extra = note ? `<text class="extra" x="${p.x}" y="${y + 46}" text-anchor="middle">${escapeHtml(note)}</text>` : "";
    out.push(`<g class="${classes.join(" ")}" data-node="${escapeHtml(node.id)}" data-status="${escapeHtml(status || "")}">` +
      `<rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="6"/>` +
      `<text class="id" x="${p.x}" y="${y + 17}" text-anchor="middle">${escapeHtml(node.id)}</text>` +
      `<text class="plugin" x="${p.x}" y="${y + 31}" text-anchor="middle">${escapeHtml(node.plugin)}</text>${extra}</g>`);
  }
  out.push("</svg>");
  return out.join("\n");
}
