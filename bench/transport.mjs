// Benchmark: the polyfill's two relay transports side by side (issue #6), to choose the default.
// One headless Chromium page holds a polyfilled RTCPeerConnection that reaches polyrtc-relay
// over WebSocket or over WebTransport, and a native one with host candidates on loopback; for
// each transport and each network condition of the client ↔ relay leg, in one run, interleaved
// (round after round, so both transports see the same machine load):
//  - createOffer → the offerer's channel `open` (the polyfill offers);
//  - RTT of 16-byte pings on the ordered, reliable channel (p50/p95);
//  - RTT of 16-byte pings on an unordered channel without retransmissions (p50/p95 of the
//    answered ones, and how many went unanswered within 1 s): what media-like traffic sees;
//  - throughput of one ordered reliable channel (TOTAL bytes in SIZE-byte messages, polyfill →
//    native, 4 MiB high water as in bench/datachannel.mjs).
// Conditions: clean loopback; DELAY_MS each way; DELAY_MS each way and LOSS packet loss. Only
// packets to or from the relay's WebSocket (TCP) and WebTransport (UDP) ports are impaired: the
// relay ↔ native leg is not. This kernel has no netem, so iptables hands those packets to
// NFQUEUE and bench/impair.py drops and delays them (TCP and QUIC see the loss and delay).
// The relay's per-transport allocation counter confirms which transport each pair used.
// Run: bash bench/transport.sh (builds what it needs), or inside scripts/netns.sh:
//   POLYRTC_RELAY_BIN=target/release/polyrtc-relay node bench/transport.mjs [rounds]
// Env: TOTAL (bytes, default 2 MiB), SIZE (bytes per message, 16 KiB), RTT_N (pings, 200),
//      LOSS (0.02), DELAY_MS (10), TPUT_TIMEOUT_MS (60000).
import os from "node:os";
import { spawn, spawnSync } from "node:child_process";
import { startServer, launchBrowser, CHROMIUM_ARGS, REPO_ROOT } from "../tests/e2e/harness.mjs";
import { startRelay, USER, PASSWORD } from "../tests/e2e/relay-process.mjs";

const rounds = Number(process.argv[2] ?? 3);
const TOTAL = Number(process.env.TOTAL ?? 2 << 20);
const SIZE = Number(process.env.SIZE ?? 16 << 10);
const RTT_N = Number(process.env.RTT_N ?? 200);
const LOSS = Number(process.env.LOSS ?? 0.02);
const DELAY_MS = Number(process.env.DELAY_MS ?? 10);
const TPUT_TIMEOUT_MS = Number(process.env.TPUT_TIMEOUT_MS ?? 60000);
const log = (s) => process.stderr.write(`${s}\n`);

if (spawnSync("iptables-legacy", ["-L", "-n"]).status !== 0) {
  throw new Error(
    "needs iptables-legacy (apt-get install iptables) and root, inside the namespace",
  );
}

/** An impairing NFQUEUE consumer (bench/impair.py); resolves once it is bound. */
async function startImpair(queue, loss, delayMs) {
  const child = spawn(
    "python3",
    [`${REPO_ROOT}/bench/impair.py`, queue, loss, delayMs].map(String),
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("ready")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`impair.py exited ${code}`)));
  });
  return {
    queue,
    stop: () =>
      new Promise((resolve) => {
        child.stdout.on("data", (d) => (out += d));
        child.on("exit", () => resolve(out.split("\n").find((l) => l.startsWith("accepted"))));
        child.kill("SIGTERM");
      }),
  };
}

const relay = await startRelay(["--user-quota", "10000"]);
const wsPort = new URL(relay.ws).port;
const wtPort = new URL(relay.wt).port;
/** The iptables rules that send the client ↔ relay leg's packets to `queue` (null: none). */
function rules(queue) {
  const out = [];
  for (const [proto, port] of [
    ["tcp", wsPort],
    ["udp", wtPort],
  ]) {
    for (const dir of ["--dport", "--sport"]) {
      out.push(["-i", "lo", "-p", proto, dir, port, "-j", "NFQUEUE", "--queue-num", `${queue}`]);
    }
  }
  return out;
}
let active = null;
function impair(queue) {
  if (active !== null) {
    for (const r of rules(active)) spawnSync("iptables-legacy", ["-D", "INPUT", ...r]);
  }
  active = queue;
  if (queue === null) return;
  for (const r of rules(queue)) {
    const done = spawnSync("iptables-legacy", ["-A", "INPUT", ...r]);
    if (done.status !== 0) throw new Error(`iptables: ${done.stderr}`);
  }
}

const delayOnly = await startImpair(11, 0, DELAY_MS);
const lossy = await startImpair(12, LOSS, DELAY_MS);
const conditions = [
  { name: "clean loopback", queue: null },
  { name: `${DELAY_MS} ms each way`, queue: delayOnly.queue },
  { name: `${DELAY_MS} ms each way, ${LOSS * 100} % loss`, queue: lossy.queue },
];
// CONDITIONS=2,3: only those rows (1-based), to debug one condition.
if (process.env.CONDITIONS) {
  const keep = process.env.CONDITIONS.split(",").map((x) => conditions[Number(x) - 1]);
  conditions.splice(0, conditions.length, ...keep);
}
const transports = [
  { name: "WebSocket", url: relay.ws, metric: "websocket" },
  { name: "WebTransport", url: relay.wt, metric: "webtransport" },
];

const server = await startServer();
const browser = await launchBrowser(CHROMIUM_ARGS);
const page = await browser.context.newPage();
page.on("pageerror", (e) => log(`[pageerror] ${e}`));
if (process.env.POLYRTC_E2E_DEBUG === "1") page.on("console", (m) => log(`[page] ${m.text()}`));
/** Signalling within the page, in order per destination. */
let chain = Promise.resolve();
await page.exposeFunction("__benchSignal", (to, msg) => {
  chain = chain
    .then(() => page.evaluate(([k, m]) => globalThis.__bench.signal(k, m), [to, msg]))
    .catch((e) => log(`[signal ${to}] ${e.message}`));
});
await page.goto(`${server.origin}/bench/transport.html`);
await page.waitForFunction(() => globalThis.__bench !== undefined);
await page.evaluate((r) => globalThis.__bench.loadWithRelay(r), {
  url: relay.wt,
  hashesUrl: relay.hashesUrl,
});
const call = (fn, ...args) => page.evaluate(([f, a]) => globalThis.__bench[f](...a), [fn, args]);

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

let serial = 0;
/** One measurement: a fresh polyfill (over `transport`) ↔ native pair under `condition`. */
async function measure(transport) {
  const n = ++serial;
  const [a, b] = [`a${n}`, `b${n}`];
  const before = {};
  for (const t of transports) {
    before[t.metric] = await relay.metric("turn_allocations_created_total", t.metric);
  }
  const config = { iceServers: [{ urls: transport.url, username: USER, credential: PASSWORD }] };
  await call("create", a, b, "polyfill", config);
  await call("create", b, a, "native", {});
  // The shim fetches the WebTransport hashes when the connection is constructed; give the fetch
  // (delayed like everything on this leg) time before gathering starts, for both transports.
  await new Promise((r) => setTimeout(r, 300));
  await call("offer", a);
  const openMs = await call("openTime", a);
  let wrong = null;
  for (const t of transports) {
    const made =
      (await relay.metric("turn_allocations_created_total", t.metric)) - before[t.metric];
    if ((t === transport) !== made > 0) wrong = `made ${made} allocations over ${t.name}`;
  }
  if (wrong) {
    // A WebTransport session that fell back to WebSocket (src/relays.rs): not a sample.
    await call("close", a);
    await call("close", b);
    return { wrong };
  }
  const rtt = await call("rtt", a, RTT_N);
  await call("openUnreliable", a);
  const unreliable = await call("unreliableRtt", a, RTT_N);
  const tput = await call("throughput", a, TOTAL, SIZE, 4 << 20, TPUT_TIMEOUT_MS).catch((e) => {
    log(`  throughput stalled: ${e.message.split("\n")[0]}`);
    return { ms: NaN, mbps: NaN };
  });
  await call("close", a);
  await call("close", b);
  return { openMs, rtt, unreliable, mbps: tput.mbps };
}

const load0 = os.loadavg();
const results = new Map();
let impairStats = {};
try {
  // Warm-up (unmeasured): one pair per transport.
  for (const t of transports) await measure(t).catch((e) => log(`warm-up ${t.name}: ${e.message}`));
  for (let r = 0; r < rounds; r++) {
    for (const c of conditions) {
      impair(c.queue);
      // Alternate which transport goes first, so neither always runs right after a switch.
      const order = r % 2 === 0 ? transports : [...transports].reverse();
      for (const t of order) {
        const m = await measure(t).catch((e) => ({ wrong: `failed: ${e.message.split("\n")[0]}` }));
        if (m.wrong) {
          log(`round ${r + 1}, ${c.name}, ${t.name}: not counted, the pair ${m.wrong}`);
          continue;
        }
        const key = `${c.name}|${t.name}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push(m);
        log(
          `round ${r + 1}, ${c.name}, ${t.name}: open ${m.openMs.toFixed(0)} ms, ` +
            `rtt p50 ${pct(m.rtt, 50).toFixed(1)} p95 ${pct(m.rtt, 95).toFixed(1)} ms, ` +
            `unreliable p50 ${pct(m.unreliable.rtts, 50).toFixed(1)} p95 ` +
            `${pct(m.unreliable.rtts, 95).toFixed(1)} ms lost ${m.unreliable.lost}, ` +
            `${m.mbps.toFixed(2)} MB/s`,
        );
      }
    }
  }
} finally {
  impair(null);
  impairStats = { delay: await delayOnly.stop(), lossy: await lossy.stop() };
  await browser.close();
  await server.close();
  relay.stop();
}
const load1 = os.loadavg();

const f = (x, d = 1) => (Number.isNaN(x) ? "stalled" : x.toFixed(d));
console.log(
  `Relay transports, polyfill ↔ native (host): ${rounds} rounds; ${RTT_N} pings of 16 B per ` +
    `channel; ${(TOTAL / 2 ** 20).toFixed(0)} MiB in ${SIZE}-byte messages`,
);
console.log(
  "| client ↔ relay leg | transport | open p50 ms | reliable RTT p50 / p95 ms | unreliable RTT p50 / p95 ms | unreliable lost | MB/s per round |",
);
console.log("|---|---|---:|---:|---:|---:|---:|");
for (const c of conditions) {
  for (const t of transports) {
    const ms = results.get(`${c.name}|${t.name}`) ?? [];
    const rtt = ms.flatMap((m) => m.rtt);
    const un = ms.flatMap((m) => m.unreliable.rtts);
    const lost = ms.reduce((s, m) => s + m.unreliable.lost, 0);
    console.log(
      `| ${c.name} | ${t.name} | ${f(
        pct(
          ms.map((m) => m.openMs),
          50,
        ),
        0,
      )} | ` +
        `${f(pct(rtt, 50))} / ${f(pct(rtt, 95))} | ${f(pct(un, 50))} / ${f(pct(un, 95))} | ` +
        `${((100 * lost) / Math.max(1, ms.length * RTT_N)).toFixed(1)} % | ` +
        `${ms.map((m) => f(m.mbps, 2)).join(" / ")} |`,
    );
  }
}
console.log(
  `\nload average before ${load0.map((x) => x.toFixed(1)).join(" ")}, after ` +
    `${load1.map((x) => x.toFixed(1)).join(" ")}; impair.py delay-only ${impairStats.delay}, ` +
    `lossy ${impairStats.lossy}`,
);
