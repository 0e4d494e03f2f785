// The API as the console calls it: the caller's identity in X-User-Id (asked once, kept in
// localStorage), JSON in and out, and the execution events stream read with fetch (an
// EventSource cannot send X-User-Id).

const USER_KEY = "routines.user";

export function user() {
  return localStorage.getItem(USER_KEY);
}

export function setUser(name) {
  localStorage.setItem(USER_KEY, name);
}

export class ApiError extends Error {
  constructor(status, body, plain) {
    const first = body && body.errors && body.errors[0];
    super(first ? `${first.code}: ${first.message}` : plain || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, body) {
  const headers = { "X-User-Id": user() };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const answer = await jsonOf(response);
  if (!response.ok) throw new ApiError(response.status, answer, plainError(response));
  if (answer === undefined) throw new ApiError(response.status, null, `HTTP ${response.status}: the answer is not JSON`);
  return answer;
}

// The answer's JSON (null when empty), or undefined when it is not JSON: an error page from
// something in front of the API (http.server's 414 HTML for a request line over 64 KiB) is
// then its status, not a JSON syntax error.
async function jsonOf(response) {
  const type = response.headers.get("Content-Type") || "";
  const text = await response.text();
  if (!text) return null;
  if (!/[/+]json\b/i.test(type)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function plainError(response) {
  return `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}: the server's answer is not an API error`;
}

export function executionPath(executionId) {
  return `/executions/${encodeURIComponent(executionId)}`;
}

// Reads GET /executions/{id}/events until the terminal status: calls onEvent(data, id) for
// each event. Reconnects with Last-Event-ID when the answer ends early (on AWS every answer
// does; locally the server streams). Stops on 204, on the terminal event, or on abort.
export async function streamEvents(executionId, onEvent, signal) {
  let last = null;
  for (;;) {
    const headers = { "X-User-Id": user() };
    if (last !== null) headers["Last-Event-ID"] = last;
    const response = await fetch(`${executionPath(executionId)}/events`, { headers, signal });
    if (response.status === 204) return;
    if (!response.ok) throw new ApiError(response.status, await jsonOf(response), plainError(response));
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let ended = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let id = null;
        let data = null;
        for (const line of block.split("\n")) {
          if (line.startsWith("id:")) id = line.slice(3).trim();
          else if (line.startsWith("data:")) data = line.slice(5).trim();
        }
        if (data === null) continue;
        if (id !== null) last = id;
        const event = JSON.parse(data);
        onEvent(event, id);
        if (event.type === "status" && event.status !== "RUNNING") ended = true;
      }
    }
    if (ended || signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
