// WebSocket echo load generator for benchmarks/ws.py.
//
//   node client.mjs URL CONNECTIONS DURATION_S SIZE binary|text
//        [--pipeline N] [--compression] [--connect-timeout S]
//
// Opens CONNECTIONS WebSockets to URL (all of them before the clock starts), then for
// DURATION_S seconds each connection sends a SIZE-byte message, waits for its echo and sends
// the next one (ping-pong: every message is one measured round trip). With --pipeline N each
// connection keeps N messages in flight instead of one. Every echo must be byte-for-byte the
// message sent, of the same type (text or binary); anything else counts as an error.
// permessage-deflate is offered only with --compression.
//
// Prints one JSON line on stdout:
//   {messages, seconds, errors, p50_ms, p99_ms, connections, opened, client_cpu,
//    extensions, error_samples}
// messages: echoes received within the measured window; seconds: the window's length;
// client_cpu: CPU time this process used in the window divided by the window (1.0 = one full
// core, i.e. the load generator itself is saturated). Exit status 0 when the JSON was printed,
// 2 on bad arguments. Every phase is bounded in time; a watchdog ends the process if not.

import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";

const USAGE =
  "usage: node client.mjs URL CONNECTIONS DURATION_S SIZE binary|text " +
  "[--pipeline N] [--compression] [--connect-timeout S]";

function fail(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function intArg(text, name, lo, hi) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < lo || value > hi) fail(`${name} must be an integer in [${lo}, ${hi}]`);
  return value;
}

// ---- arguments ---------------------------------------------------------------------------------

const positional = [];
let pipeline = 1;
let compression = false;
let connectTimeoutS = 10;
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--pipeline") pipeline = intArg(argv[++i], "--pipeline", 1, 1024);
    else if (a === "--compression") compression = true;
    else if (a === "--connect-timeout") connectTimeoutS = intArg(argv[++i], "--connect-timeout", 1, 300);
    else if (a.startsWith("--")) fail(`unknown option ${a}`);
    else positional.push(a);
  }
}
if (positional.length !== 5) fail("expected 5 positional arguments");
const url = positional[0];
if (!/^wss?:\/\//.test(url)) fail("URL must start with ws:// or wss://");
const connections = intArg(positional[1], "CONNECTIONS", 1, 100000);
const durationS = intArg(positional[2], "DURATION_S", 1, 3600);
const size = intArg(positional[3], "SIZE", 0, 64 * 1024 * 1024);
const mode = positional[4];
if (mode !== "binary" && mode !== "text") fail("the message type must be binary or text");
const binary = mode === "binary";

// ASCII only, so the same bytes are a valid text message too.
const ALPHABET = Buffer.from("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
const payload = Buffer.alloc(size);
for (let i = 0; i < size; i++) payload[i] = ALPHABET[i % ALPHABET.length];

// ---- latency histogram: log-linear, 64 buckets per doubling (~1.1 % wide), bounded memory ----

const PER_DOUBLING = 64;
const BUCKETS = PER_DOUBLING * 36; // up to 2^36 us, far beyond any run
const histogram = new Float64Array(BUCKETS);
let samples = 0;

function record(ms) {
  const us = ms * 1000;
  const b = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log2(us) * PER_DOUBLING));
  histogram[b] += 1;
  samples += 1;
}

function percentileMs(p) {
  if (samples === 0) return null;
  const rank = Math.max(1, Math.ceil(samples * p));
  let seen = 0;
  for (let b = 0; b < BUCKETS; b++) {
    seen += histogram[b];
    if (seen >= rank) return 2 ** ((b + 0.5) / PER_DOUBLING) / 1000; // bucket midpoint, in ms
  }
  return null;
}

// ---- state -------------------------------------------------------------------------------------

let errors = 0;
const errorSamples = [];
function error(text) {
  errors += 1;
  if (errorSamples.length < 5 && !errorSamples.includes(text)) errorSamples.push(text);
}

let phase = "connect"; // connect -> run -> drain
let messages = 0;
let t0 = 0;
let seconds = 0;
let cpu0 = null;
let clientCpu = null;
let extensions = null;
const sockets = [];

function finish() {
  const out = {
    messages,
    seconds: Number(seconds.toFixed(4)),
    errors,
    p50_ms: percentileMs(0.5),
    p99_ms: percentileMs(0.99),
    connections,
    opened: sockets.filter((s) => s.opened).length,
    client_cpu: clientCpu,
    extensions,
    error_samples: errorSamples,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
}

// Whatever happens, the process ends: connect + run + drain, plus slack.
const watchdog = setTimeout(
  () => {
    error("watchdog: the client did not finish in time");
    finish();
  },
  (connectTimeoutS + durationS + 15) * 1000,
);

function send(conn) {
  conn.sentAt.push(performance.now());
  conn.ws.send(payload, { binary, compress: compression });
}

function open(index) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: compression ? { concurrencyLimit: 64 } : false,
      handshakeTimeout: connectTimeoutS * 1000,
      skipUTF8Validation: true, // every echo is compared byte for byte with what was sent
      maxPayload: Math.max(size * 2, 1024 * 1024),
    });
    const conn = { ws, index, opened: false, sentAt: [], head: 0 };
    sockets.push(conn);
    let settled = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        resolve(conn);
      }
    };
    ws.on("open", () => {
      conn.opened = true;
      if (extensions === null) extensions = ws.extensions || "";
      settle();
    });
    ws.on("error", (err) => {
      error(`${phase}: ${err.message}`);
      settle();
    });
    ws.on("close", (code, reason) => {
      if (phase === "run") error(`run: connection closed by the server (${code} ${reason})`);
      settle();
    });
    ws.on("message", (data, isBinary) => {
      const now = performance.now();
      const sent = conn.head < conn.sentAt.length ? conn.sentAt[conn.head++] : null;
      if (conn.head > 4096) {
        conn.sentAt = conn.sentAt.slice(conn.head);
        conn.head = 0;
      }
      if (phase !== "run") return; // late echoes after the window: not counted
      if (sent === null) {
        error("run: a message that was not an echo of anything sent");
        return;
      }
      if (isBinary !== binary || !payload.equals(data)) {
        error(`run: the echo differs from the message (${isBinary ? "binary" : "text"}, ${data.length} bytes)`);
      } else {
        messages += 1;
        record(now - sent);
      }
      send(conn);
    });
  });
}

async function main() {
  // 1. open every connection before the clock starts (each bounded by handshakeTimeout)
  await Promise.all(Array.from({ length: connections }, (_, i) => open(i)));
  const live = sockets.filter((s) => s.opened && s.ws.readyState === WebSocket.OPEN);

  // 2. the measured window
  if (live.length > 0) {
    phase = "run";
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    for (const conn of live) for (let i = 0; i < pipeline; i++) send(conn);
    await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
    seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clientCpu = Number(((cpu.user + cpu.system) / 1e6 / seconds).toFixed(3));
  }
  phase = "drain";

  // 3. close every connection with a close handshake, bounded; then terminate the rest
  const closing = sockets
    .filter((s) => s.ws.readyState === WebSocket.OPEN || s.ws.readyState === WebSocket.CONNECTING)
    .map(
      (s) =>
        new Promise((resolve) => {
          s.ws.once("close", resolve);
          try {
            s.ws.close(1000, "done");
          } catch {
            resolve();
          }
        }),
    );
  await Promise.race([Promise.all(closing), new Promise((resolve) => setTimeout(resolve, 3000))]);
  for (const s of sockets) if (s.ws.readyState !== WebSocket.CLOSED) s.ws.terminate();
  clearTimeout(watchdog);
  finish();
}

main().catch((err) => {
  error(`client: ${err && err.stack ? err.stack : err}`);
  finish();
});
