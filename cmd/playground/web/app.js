// The playground page: four transports receive the same broker messages side by side.
// Each message is {id, subject, data, t, timedFrom}: t (µs since the epoch, on the server's
// clock) is when it was published, stamped by the playground as it sends the PUB (the box
// here, curl's /publish, the ticker), or, for a message that carries no stamp (nc, nats), when
// the playground's feed received it from the broker; timedFrom says which ("publish" or
// "feed"). Its delivery latency is "now - t" when this page shows it, on the server's clock.
"use strict";

const client = Math.random().toString(16).slice(2, 10); // names this page's connections to the server
const transports = ["poll", "longpoll", "sse", "ws"];
const names = { poll: "polling", longpoll: "long polling", sse: "SSE", ws: "WebSocket", broker: "the broker" };
const state = {};
for (const t of transports) {
  state[t] = { shown: 0, latencies: [], seen: new Set(), server: { requests: 0, bytesIn: 0, bytesOut: 0 } };
}
const maxListed = 50;      // messages kept in each panel's list
const maxLatencies = 500;  // latencies kept for the median and p95
let lastId = 0;            // the newest message id when the page loaded
let run = "";              // the server's run when the page loaded (/stats)
let ws = null;
let es = null;

function panel(t) { return document.querySelector(`.panel[data-transport=${t}]`); }

// failures are the page's own errors: requests that failed or were refused, and errors that
// nothing caught. Each one is shown at the top of the page and written to the console; none
// is swallowed.
const failures = [];
function fail(what, err) {
  const text = `${what}: ${err instanceof Error ? err.message : err}`;
  failures.push(text);
  console.error(text);
  const box = document.getElementById("errors");
  box.hidden = false;
  box.textContent = failures.length === 1 ? text : `${failures.length} errors; the last one: ${text}`;
}
window.addEventListener("error", e => {
  if (e instanceof ErrorEvent) fail("uncaught error", e.message);
  else fail("could not load", e.target.src || e.target.href || e.target.tagName); // an element's resource
}, true);
window.addEventListener("unhandledrejection", e => fail("uncaught error", e.reason));

// request is fetch for the page's own endpoints: an answer of 400 or more fails as the
// network failing does, with the server's reason.
async function request(url, options) {
  const r = await fetch(url, options);
  if (r.status >= 400) throw new Error(`${url.split("?")[0]}: ${r.status} ${(await r.text()).trim().slice(0, 200)}`);
  return r;
}

// The server's clock as this page reads it: the page's own clock plus the offset between the
// two, estimated like NTP from the /stats round trips (the server's "now" is taken to be the
// middle of the round trip; the shortest round trip seen gives the best estimate). On one
// machine the offset is about zero; it matters when the page is opened from another.
let clockOffsetUs = 0;
let bestRoundTripUs = Infinity;
function pageNowUs() { return (performance.timeOrigin + performance.now()) * 1000; }
function serverNowUs() { return pageNowUs() + clockOffsetUs; }
function sampleClock(sentUs, receivedUs, serverUs) {
  const roundTrip = receivedUs - sentUs;
  if (!(serverUs > 0) || roundTrip >= bestRoundTripUs) return;
  bestRoundTripUs = roundTrip;
  clockOffsetUs = serverUs - (sentUs + receivedUs) / 2;
}

// show puts one received message into a panel and records its latency. Only latencies
// measured from the publish go into the panel's median and p95; one measured from the feed's
// receipt (a message from nc or nats) is shown in the list, marked with *.
function show(t, msg) {
  const s = state[t];
  if (s.seen.has(msg.id)) return; // a reconnect may repeat one; count it once
  s.seen.add(msg.id);
  s.shown++;
  const latency = Math.max(0, (serverNowUs() - msg.t) / 1000);
  const fromPublish = msg.timedFrom === "publish";
  if (fromPublish) {
    s.latencies.push(latency);
    if (s.latencies.length > maxLatencies) s.latencies.shift();
  }
  const li = document.createElement("li");
  const subj = document.createElement("span");
  subj.className = "subj";
  subj.textContent = msg.subject + " ";
  const lat = document.createElement("span");
  lat.className = "lat";
  lat.textContent = latency.toFixed(1) + " ms" + (fromPublish ? "" : "*");
  lat.title = fromPublish ? "from the publish to this page" : "from the playground's feed receiving it (no publish stamp) to this page";
  li.append(lat, subj, document.createTextNode(msg.data));
  const list = panel(t).querySelector(".messages");
  list.prepend(li);
  while (list.children.length > maxListed) list.lastChild.remove();
  renderSoon();
}

// renderSoon redraws the figures and the chart once before the next frame, however many
// messages arrive until then: drawing at every message would hold up the next panel's
// message behind it, and add to that panel's latency.
let renderPending = false;
function renderSoon() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; renderStats(); });
}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function fmtBytes(n) {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
  return n + " B";
}

function metrics(t) {
  const s = state[t];
  const bytes = s.server.bytesIn + s.server.bytesOut;
  return {
    requests: s.server.requests,
    bytesIn: s.server.bytesIn,
    bytesOut: s.server.bytesOut,
    messages: s.shown,
    perMessage: s.shown ? bytes / s.shown : NaN,
    median: percentile(s.latencies, 0.5),
    p95: percentile(s.latencies, 0.95),
  };
}

function renderStats() {
  for (const t of transports) {
    const m = metrics(t);
    const rows = [
      ["requests", m.requests],
      ["bytes in / out", fmtBytes(m.bytesIn) + " / " + fmtBytes(m.bytesOut)],
      ["messages", m.messages],
      ["bytes per message", isNaN(m.perMessage) ? "–" : fmtBytes(Math.round(m.perMessage))],
      ["latency median", isNaN(m.median) ? "–" : m.median.toFixed(1) + " ms"],
      ["latency p95", isNaN(m.p95) ? "–" : m.p95.toFixed(1) + " ms"],
    ];
    const dl = panel(t).querySelector(".stats");
    dl.replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      dd.dataset.stat = k;
      return [dt, dd];
    }));
  }
  renderChart();
}

// renderChart draws two bar groups in SVG: bytes per message, and latency (median with a
// thinner p95 bar behind it).
function renderChart() {
  const svg = document.getElementById("chart");
  const ns = "http://www.w3.org/2000/svg";
  const el = (name, attrs, text) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const color = t => getComputedStyle(document.documentElement).getPropertyValue("--" + t).trim();
  const ms = transports.map(metrics);
  const nodes = [];
  const group = (x0, title, values, unit, extra) => {
    const top = 30, height = 170, barW = 56, gap = 22;
    const finite = values.concat(extra || []).filter(v => isFinite(v));
    const max = Math.max(1, ...finite);
    nodes.push(el("text", { x: x0, y: 16 }, title));
    nodes.push(el("line", { x1: x0, y1: top + height, x2: x0 + 4 * (barW + gap), y2: top + height, class: "axis" }));
    transports.forEach((t, i) => {
      const x = x0 + i * (barW + gap);
      if (extra && isFinite(extra[i])) {
        const h = (extra[i] / max) * height;
        nodes.push(el("rect", { x: x + barW / 4, y: top + height - h, width: barW / 2, height: h, fill: color(t), opacity: 0.35 }));
      }
      const v = values[i];
      if (isFinite(v)) {
        const h = (v / max) * height;
        nodes.push(el("rect", { x, y: top + height - h, width: barW, height: h, fill: color(t) }));
        nodes.push(el("text", { x: x + barW / 2, y: top + height - h - 4, "text-anchor": "middle" }, (v < 10 ? v.toFixed(1) : Math.round(v)) + unit));
      }
      nodes.push(el("text", { x: x + barW / 2, y: top + height + 16, "text-anchor": "middle" }, names[t]));
    });
  };
  group(10, "bytes on the wire per message", ms.map(m => m.perMessage), " B");
  group(370, "latency, ms (median; pale: p95)", ms.map(m => m.median), "", ms.map(m => m.p95));
  svg.replaceChildren(...nodes);
}

// getStats asks for this page's figures, and takes a sample of the server's clock.
async function getStats() {
  const sent = pageNowUs();
  const r = await request(`/stats?c=${client}`);
  const received = pageNowUs();
  const s = await r.json();
  sampleClock(sent, received, s.nowUs);
  return s;
}

let statsRefreshed = 0; // how many times the server's figures came back
async function refreshStats() {
  try {
    const s = await getStats();
    if (s.run !== run) {
      // The playground restarted, and its message ids started again at 1: the ids this page
      // has seen and asks after are another run's. It starts again, as a new page would.
      location.reload();
      return;
    }
    statsRefreshed++;
    for (const t of transports) Object.assign(state[t].server, s.transports[t] || {});
    document.getElementById("ticker").checked = s.ticker;
  } catch (e) {
    fail("figures (/stats)", e); // tried again in a second
  }
  renderStats();
}

// Polling: ask, get an immediate answer, wait the interval, ask again.
async function poll() {
  let after = lastId;
  for (;;) {
    try {
      const r = await request(`/poll?after=${after}&c=${client}`);
      if (r.status === 200) {
        for (const m of await r.json()) { show("poll", m); after = Math.max(after, m.id); }
      }
    } catch (e) {
      fail("polling", e); // asks again after the interval
    }
    const seconds = Math.max(0.2, parseFloat(document.getElementById("poll-interval").value) || 2);
    await new Promise(res => setTimeout(res, seconds * 1000));
  }
}

// Long polling: ask; the server answers when there is news (or after the timeout); ask again.
async function longpoll() {
  let after = lastId;
  for (;;) {
    try {
      const r = await request(`/longpoll?after=${after}&timeout=30s&c=${client}`);
      if (r.status === 200) {
        for (const m of await r.json()) { show("longpoll", m); after = Math.max(after, m.id); }
      }
    } catch (e) {
      fail("long polling", e); // asks again in a second
      await new Promise(res => setTimeout(res, 1000));
    }
  }
}

// SSE: the browser's EventSource keeps one response open and reconnects by itself. An error
// while it is reconnecting (the stream ended, or the server replaced the connection) is part
// of its work; one that closes it for good (an answer that is not an event stream) is a
// failure.
function sse() {
  es = new EventSource(`/events?c=${client}`);
  es.onmessage = e => show("sse", JSON.parse(e.data));
  es.onerror = () => { if (es.readyState === EventSource.CLOSED) fail("SSE", "/events refused the stream"); };
}

// WebSocket: one connection; messages arrive as JSON frames, and the page sends on it too.
// A new connection asks for what came after the last message it had (after=), so a
// reconnect loses nothing. The server closes with 1012 (service restart) to replace the
// connection for the wire view: then the page comes back at once.
let wsAfter = 0;
function websocket() {
  // wss:// when the page came over https:// (-tls): a secure page may not open ws://.
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${scheme}//${location.host}/ws?c=${client}&after=${wsAfter}`);
  ws.onmessage = e => {
    const m = JSON.parse(e.data);
    if (m.type === "msg") { show("ws", m.msg); wsAfter = Math.max(wsAfter, m.msg.id); }
    if (m.type === "rpc") rpcAnswer("broker", m);
  };
  ws.onerror = () => fail("WebSocket", "the connection failed");
  ws.onclose = e => setTimeout(websocket, e.code === 1012 ? 0 : 1000);
}

// RPC: the same addition over the broker (through the WebSocket) and over plain HTTP.
const pending = {};
function rpcAnswer(kind, m) {
  const started = pending[kind + m.call];
  delete pending[kind + m.call];
  const cells = document.querySelectorAll(`#rpc-row-${kind} td`);
  cells[1].textContent = m.error ? "error: " + m.error : m.sum;
  cells[2].textContent = started ? (performance.now() - started).toFixed(1) + " ms" : "–";
  cells[3].textContent = (m.serverMicros / 1000).toFixed(2) + " ms";
}
let calls = 0;
function rpcArgs() {
  return { a: Number(document.getElementById("rpc-a").value), b: Number(document.getElementById("rpc-b").value) };
}
document.getElementById("rpc-broker").onclick = () => {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const call = ++calls;
  pending["broker" + call] = performance.now();
  ws.send(JSON.stringify({ op: "rpc", call, ...rpcArgs() }));
};
document.getElementById("rpc-http").onclick = async () => {
  const call = ++calls;
  pending["http" + call] = performance.now();
  try {
    const r = await request(`/rpc/add?c=${client}`, { method: "POST", body: JSON.stringify(rpcArgs()) });
    rpcAnswer("http", { call, ...(await r.json()) });
  } catch (e) {
    rpcAnswer("http", { call, error: String(e), serverMicros: NaN });
    fail("RPC over HTTP", e);
  }
};

// Publishing from the page goes over the WebSocket.
document.getElementById("pub-form").onsubmit = e => {
  e.preventDefault();
  const input = document.getElementById("pub-text");
  if (input.value && ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ op: "pub", data: input.value }));
    input.value = "";
  }
};
document.getElementById("ticker").onchange = e => {
  request(`/ticker?c=${client}`, { method: "POST", body: e.target.checked ? "on" : "off" })
    .catch(err => fail("ticker", err));
};

// The wire view: the server's trace of this page's connections for one panel, or of every
// connection to the broker, streamed as SSE. A new view replaces the old one once the server
// says it is watching (the "watching" event), so that some view is open all the while.
let wire = null;          // the view shown
let wireReady = "";       // the transport the server is watching for it
const wires = new Set();  // every view's stream still open
const maxWireText = 200000;
function openWire(t) {
  for (const p of document.querySelectorAll(".panel")) p.classList.toggle("selected", p.dataset.transport === t);
  document.getElementById("wire").hidden = false;
  document.getElementById("wire-title").textContent = names[t];
  const pre = document.getElementById("wire-text");
  pre.textContent = "";
  wireReady = "";
  const next = new EventSource(`/wire?c=${client}&t=${t}`);
  wire = next;
  wires.add(next);
  next.onerror = () => { if (next.readyState === EventSource.CLOSED) fail("wire view", "/wire refused the stream"); };
  next.addEventListener("watching", () => {
    if (wire !== next) return;
    for (const w of wires) if (w !== next) { w.close(); wires.delete(w); }
    wireReady = t;
  });
  let length = 0;
  next.onmessage = e => {
    if (wire !== next) return;
    // Each event is a text node of its own: appending one does not make the browser
    // re-read all the text before it, and the oldest go first when there is too much.
    const text = e.data + "\n";
    pre.append(document.createTextNode(text));
    length += text.length;
    while (length > maxWireText && pre.firstChild) {
      length -= pre.firstChild.textContent.length;
      pre.firstChild.remove();
    }
    pre.scrollTop = pre.scrollHeight;
  };
}
for (const t of transports) panel(t).addEventListener("click", e => {
  if (e.target.tagName !== "INPUT") openWire(t);
});
document.getElementById("wire-broker").onclick = () => openWire("broker");
document.getElementById("wire-close").onclick = () => {
  for (const w of wires) w.close();
  wires.clear();
  wire = null;
  wireReady = "";
  document.getElementById("wire").hidden = true;
  for (const p of document.querySelectorAll(".panel")) p.classList.remove("selected");
};

async function start() {
  let s;
  try {
    s = await getStats();
  } catch (e) {
    fail("loading the page's figures", e);
    setTimeout(start, 1000);
    return;
  }
  lastId = s.lastId;
  run = s.run;
  wsAfter = lastId;
  document.getElementById("hints").textContent = s.hints.join("\n");
  poll();
  longpoll();
  sse();
  websocket();
  renderStats();
  setInterval(refreshStats, 1000);
}
start();
