// Benchmark: data channels, polyfill beside native Chromium and the bare WebSocket, in one run
// (issue 7). Every WebRTC path goes through one polyrtc-relay (release build) except native ↔
// native "direct" (host candidates on loopback):
//  - time from createOffer to the offerer's channel `open` (p50/p90 of N fresh connections);
//  - one-channel throughput, ordered and reliable: TOTAL bytes in SIZE-byte binary messages,
//    at most 4 MiB in bufferedAmount (refilled at bufferedamountlow), timed on the sender from
//    the first send to the receiver's "done" message;
//  - CPU time of the run's processes (browsers, relay, Node) per MiB of that transfer: on a small
//    machine every row is CPU-bound, so this is what the MB/s ratios come from; split into the
//    sending browser (every process of the offerer's browser), the receiving browser and the
//    relay, so a row's cost can be laid beside native ↔ native direct side by side;
//  - RTT of 16-byte string ping-pongs (p50/p90 of RTT_N sequential samples);
//  - wasm memory (WebAssembly.Memory growth) and JS heap per idle connected polyfill connection;
//  - gzipped size of the wasm module and the JS as shipped.
// The offerer is the sender and the one measuring; pairs are "offerer ↔ answerer".
// Every pair has its offerer in one browser and its answerer in another (two machines' worth of
// processes, as in a call). The browsers run with no DevTools client attached
// (bench/page-driver.mjs says why); Node calls page functions and routes signalling page → Node →
// page as it happens over the driver's WebSocket, for every pair alike. PROFILE=... runs the
// pages under Playwright instead, for the CPU profiler.
// Run: bash bench/datachannel.sh (builds what it needs), or inside scripts/netns.sh:
//   POLYRTC_RELAY_BIN=target/release/polyrtc-relay node bench/datachannel.mjs [runs]
// Env: TOTAL (bytes, default 32 MiB), SIZE (bytes per message, 32 KiB), RTT_N (1000),
//      MEM_N (idle connections, 20), ONLY (comma-separated row numbers to run, for profiling),
//      PROFILE (row numbers whose throughput run is CPU-profiled, under Playwright),
//      PERF_MAP=1 (V8 writes /tmp/perf-<pid>.map and compiles wasm with TurboFan only, so a
//      `perf record -a -g` taken during a run names the wasm and JS frames; no DevTools attached,
//      unlike PROFILE, whose WebSocket instrumentation inflates exactly the costs in question).
import fs from "node:fs";
import path from "node:path";
import { gz } from "./gzip-size.mjs";
import { startServer, launchBrowser, CHROMIUM_ARGS, REPO_ROOT } from "../tests/e2e/harness.mjs";
import { startRelay, USER, PASSWORD } from "../tests/e2e/relay-process.mjs";
import { startWsPeer } from "./ws-peer.mjs";
import { startDriver } from "./page-driver.mjs";

const runs = Number(process.argv[2] ?? 10);
const TOTAL = Number(process.env.TOTAL ?? 32 << 20);
const SIZE = Number(process.env.SIZE ?? 32 << 10);
const RTT_N = Number(process.env.RTT_N ?? 1000);
const MEM_N = Number(process.env.MEM_N ?? 20);
const ONLY = process.env.ONLY ? process.env.ONLY.split(",").map(Number) : null;
// Rows whose throughput run is CPU-profiled (both pages); prints the top self-time functions.
const PROFILE = process.env.PROFILE ? process.env.PROFILE.split(",").map(Number) : [];

// Native pcs keep their TURN allocations a while after close(): lift the per-user quota.
const relay = await startRelay(["--user-quota", "10000"]);
const server = await startServer();
const wsPeer = await startWsPeer();
const browsers = [];
/** key → page, for routing signalling. */
const pageOf = new Map();
/** Per destination key: the promise chain that keeps its signalling messages in order. */
const chains = new Map();

/** Signalling from a page for `to`: delivered in order, each after the previous one is handled. */
function route(to, msg) {
  const target = pageOf.get(to);
  if (!target) return;
  const prev = chains.get(to) ?? Promise.resolve();
  const next = prev
    .then(() => call(target, "signal", to, msg))
    .catch((e) => process.stderr.write(`[signal ${to}] ${e.message}\n`));
  chains.set(to, next);
}

const JS_FLAGS =
  process.env.PERF_MAP === "1"
    ? "--js-flags=--expose-gc --perf-basic-prof --no-liftoff"
    : "--js-flags=--expose-gc";
const driver = PROFILE.length
  ? null
  : await startDriver({ origin: server.origin, onSignal: route });

/** A bench page in a browser of its own: { call, page (Playwright only), close }. */
async function openPage() {
  if (driver) {
    const driven = await driver.open("/bench/datachannel.html", [JS_FLAGS]);
    await driven.call("load");
    return driven;
  }
  const browser = await launchBrowser([...CHROMIUM_ARGS, JS_FLAGS]);
  browsers.push(browser);
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => process.stderr.write(`[pageerror] ${e}\n`));
  if (process.env.POLYRTC_E2E_DEBUG === "1")
    page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  await page.exposeFunction("__benchSignal", route);
  await page.goto(`${server.origin}/bench/datachannel.html`);
  await page.waitForFunction(() => globalThis.__bench !== undefined);
  await page.evaluate(() => globalThis.__bench.load());
  return {
    page,
    dir: browser.dir,
    call: (fn, ...args) => page.evaluate(([f, a]) => globalThis.__bench[f](...a), [fn, args]),
  };
}

const call = (page, fn, ...args) => page.call(fn, ...args);

const side = {
  polyfill: () => ({
    kind: "polyfill",
    config: { iceServers: [{ urls: relay.ws, username: USER, credential: PASSWORD }] },
  }),
  nativeHost: () => ({ kind: "native", config: {} }),
  nativeRelay: () => ({
    kind: "native",
    config: {
      iceServers: [
        {
          urls: `turn:127.0.0.1:${relay.turnPort}?transport=udp`,
          username: USER,
          credential: PASSWORD,
        },
      ],
      iceTransportPolicy: "relay",
    },
  }),
};

let serial = 0;
/** A connected pair; resolves { a, b, openMs } once the offerer's channel is open. */
async function connect(spec) {
  const n = ++serial;
  const a = { key: `a${n}`, page: spec.pa, ...spec.a() };
  const b = { key: `b${n}`, page: spec.pb, ...spec.b() };
  pageOf.set(a.key, a.page);
  pageOf.set(b.key, b.page);
  await call(a.page, "create", a.key, b.key, a.kind, a.config);
  await call(b.page, "create", b.key, a.key, b.kind, b.config);
  await call(a.page, "offer", a.key);
  const openMs = await call(a.page, "openTime", a.key);
  const phases = await call(a.page, "phases", a.key);
  return { a, b, openMs, phases };
}

async function disconnect({ a, b }) {
  await call(a.page, "close", a.key);
  await call(b.page, "close", b.key);
  pageOf.delete(a.key);
  pageOf.delete(b.key);
}

/** Starts the V8 CPU profiler (CDP) on each distinct page. */
async function startProfiles(pages) {
  const sessions = [];
  for (const page of new Set(pages)) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    await cdp.send("Profiler.start");
    sessions.push(cdp);
  }
  return sessions;
}

/** Stops the profilers and prints each page's top self-time functions. */
async function stopProfiles(sessions, name) {
  for (const [n, cdp] of sessions.entries()) {
    const { profile } = await cdp.send("Profiler.stop");
    const self = new Map();
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const dt = new Map();
    for (let k = 0; k < profile.samples.length; k++) {
      const id = profile.samples[k];
      dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[k] ?? 0));
    }
    let total = 0;
    for (const [id, us] of dt) {
      const f = byId.get(id).callFrame;
      const file = f.url.split("/").pop();
      const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + us);
      total += us;
    }
    const top = [...self].sort((x, y) => y[1] - x[1]).slice(0, 30);
    log(`--- profile ${name}, page ${n + 1}: ${(total / 1000).toFixed(0)} ms sampled`);
    for (const [key, us] of top)
      log(
        `${((100 * us) / total).toFixed(1).padStart(5)}% ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`,
      );
    await cdp.detach();
  }
}

/** UDP receive-buffer drops in this network namespace (/proc/net/snmp), to tell loss apart. */
function udpDrops() {
  try {
    const lines = fs.readFileSync("/proc/net/snmp", "utf8").split("\n");
    const [head, values] = lines.filter((l) => l.startsWith("Udp:")).map((l) => l.split(/\s+/));
    return Number(values[head.indexOf("RcvbufErrors")]);
  } catch {
    return NaN;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const CLK_TCK = 100;

/**
 * CPU time in ms used so far by each kind of process of the run (Chromium renderers, network
 * services, browser and other Chromium processes, the relay, Node), and by each side: `sides`
 * maps a browser's profile directory to a name ("sender", "receiver"), and a Chromium process
 * counts for the side whose browser it descends from. The split shows where a pair's cost lies:
 * each page has a browser of its own, so the sending side's browser is the whole cost of sending
 * in it apart from the relay.
 */
function cpuByKind(sides = new Map()) {
  const byKind = {};
  const bySide = {};
  /** pid → { ppid, ms, kind, dir (a browser process's --user-data-dir) } */
  const procs = new Map();
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let stat, argv;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      // Chromium rewrites its children's command lines as one string with spaces.
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split(/[\0 ]/);
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name: ppid is the 2nd, utime and stime the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
    const exe = path.basename(argv[0] ?? "");
    let kind = null;
    let dir = null;
    if (exe === "polyrtc-relay") kind = "relay";
    else if (exe === "node") kind = "node";
    else if (exe === "chromium" || exe === "chrome") {
      const type = argv.find((a) => a.startsWith("--type="))?.slice(7);
      if (!type) {
        kind = "browser";
        dir = argv.find((a) => a.startsWith("--user-data-dir="))?.slice(16) ?? null;
      } else if (type === "renderer") kind = "renderer";
      else if (argv.includes("--utility-sub-type=network.mojom.NetworkService")) kind = "network";
      else kind = "other";
    }
    procs.set(Number(pid), { ppid: Number(fields[1]), ms, kind, dir });
    if (kind) byKind[kind] = (byKind[kind] ?? 0) + ms;
  }
  for (const p of procs.values()) {
    if (!p.kind || p.kind === "node") continue;
    if (p.kind === "relay") {
      bySide.relay = (bySide.relay ?? 0) + p.ms;
      continue;
    }
    // Up the parent chain (zygotes included) to the browser process that owns it.
    let at = p;
    for (let hops = 0; at && !at.dir && hops < 8; hops++) at = procs.get(at.ppid);
    const side = at?.dir ? sides.get(at.dir) : undefined;
    if (side) bySide[side] = (bySide[side] ?? 0) + p.ms;
  }
  return { byKind, bySide };
}

/**
 * CPU ms per kind of process and per side since `before` (a `cpuByKind()` of the same `sides`),
 * their sum per MiB of TOTAL, and each side's ms per MiB.
 */
function cpuSince(before, sides) {
  const now = cpuByKind(sides);
  const delta = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, a[k] - (b[k] ?? 0)]));
  const byKind = delta(now.byKind, before.byKind);
  const total = Object.values(byKind).reduce((a, b) => a + b, 0);
  const mib = TOTAL / 2 ** 20;
  const sidePerMiB = Object.fromEntries(
    Object.entries(delta(now.bySide, before.bySide)).map(([k, ms]) => [k, ms / mib]),
  );
  return { byKind, msPerMiB: total / mib, sidePerMiB };
}

/** A number with `d` decimals, "—" when not measured, "stalled" for a stalled transfer. */
const f = (x, d = 1) =>
  x === null || x === undefined ? "—" : Number.isNaN(x) ? "stalled" : x.toFixed(d);

/** The sides of `cpuSince`'s split, with their labels in the log. */
const SIDES = [
  ["sender", "sending browser"],
  ["receiver", "receiving browser"],
  ["relay", "relay"],
];
/** "sending browser 80, receiving browser 120, relay 30" (ms per MiB). */
const sideText = (perMiB) => SIDES.map(([k, label]) => `${label} ${f(perMiB?.[k], 0)}`).join(", ");
/** "80 / 120 / 30" for the table. */
const sideColumn = (perMiB) => (perMiB ? SIDES.map(([k]) => f(perMiB[k], 0)).join(" / ") : "—");

const pct = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

const log = (s) => process.stderr.write(`${s}\n`);
const rows = [];
let mem = null;
try {
  const pageA = await openPage();
  const pageB = await openPage();
  const scenarios = [
    {
      name: "polyfill ↔ polyfill (two browsers)",
      a: side.polyfill,
      b: side.polyfill,
      pa: pageA,
      pb: pageB,
    },
    {
      name: "polyfill ↔ native (host)",
      a: side.polyfill,
      b: side.nativeHost,
      pa: pageA,
      pb: pageB,
    },
    {
      name: "native (host) ↔ polyfill",
      a: side.nativeHost,
      b: side.polyfill,
      pa: pageA,
      pb: pageB,
    },
    {
      name: "native ↔ native, direct (host)",
      a: side.nativeHost,
      b: side.nativeHost,
      pa: pageA,
      pb: pageB,
    },
    {
      name: "native ↔ native, both via relay (TURN UDP)",
      a: side.nativeRelay,
      b: side.nativeRelay,
      pa: pageA,
      pb: pageB,
    },
  ];
  for (const [i, spec] of scenarios.entries()) {
    if (ONLY && !ONLY.includes(i + 1)) continue;
    const open = [];
    const phases = [];
    let pair = null;
    // One unmeasured warm-up, then `runs` fresh connections; the last stays for the data tests.
    for (let r = -1; r < runs; r++) {
      if (pair) await disconnect(pair);
      pair = await connect(spec);
      if (r >= 0) open.push(pair.openMs);
      if (r >= 0) phases.push(pair.phases);
    }
    log(`${spec.name}: open ${open.map((x) => x.toFixed(0)).join(" ")} ms`);
    // p50 of each phase mark: where the time to open goes (signalling, ICE, DTLS, SCTP + DCEP).
    const marks = ["sld", "candidate", "checking", "iceConnected", "dtlsConnected", "open"];
    const p50s = marks.map((m) => {
      const xs = phases.map((p) => p[m]).filter((x) => x !== undefined);
      return `${m} ${xs.length ? pct(xs, 50).toFixed(0) : "—"}`;
    });
    log(`${spec.name}: phase p50 ms after createOffer: ${p50s.join(", ")}`);
    const cipher = await call(spec.pa, "cipher", pair.a.key);
    log(`${spec.name}: DTLS cipher ${cipher}`);
    const profiled = PROFILE.includes(i + 1)
      ? await startProfiles([spec.pa.page, spec.pb.page])
      : null;
    // Each row sends from page A to page B.
    const sides = new Map([
      [spec.pa.dir, "sender"],
      [spec.pb.dir, "receiver"],
    ]);
    const cpu0 = cpuByKind(sides);
    const drops0 = udpDrops();
    const relayDrops0 = await relay.metric("turn_client_tx_dropped_total");
    const peerPackets0 = await relay.metric("turn_peer_tx_packets_total");
    const peerBytes0 = await relay.metric("turn_peer_tx_bytes_total");
    // A stalled transfer is a result too (reported, not fatal): the other rows still run.
    const tput = await call(spec.pa, "throughput", pair.a.key, TOTAL, SIZE).catch(async (e) => {
      const sink = await call(spec.pb, "sinkState", pair.b.key);
      log(`${spec.name}: STALLED: ${e.message.split("\n")[0]}; receiver ${JSON.stringify(sink)}`);
      return { ms: NaN, mbps: NaN, stalled: true };
    });
    tput.udpDrops = udpDrops() - drops0;
    const { byKind: cpu, msPerMiB, sidePerMiB } = cpuSince(cpu0, sides);
    tput.cpuMsPerMiB = msPerMiB;
    tput.sidePerMiB = sidePerMiB;
    tput.relayDrops = (await relay.metric("turn_client_tx_dropped_total")) - relayDrops0;
    // Datagrams the relay sent to peers (both directions of the pair): their mean size shows
    // the SCTP packet size path MTU discovery reached.
    const peerPackets = (await relay.metric("turn_peer_tx_packets_total")) - peerPackets0;
    const peerBytes = (await relay.metric("turn_peer_tx_bytes_total")) - peerBytes0;
    tput.peerDatagram = peerPackets ? peerBytes / peerPackets : null;
    if (profiled) await stopProfiles(profiled, spec.name);
    const cpuText = Object.entries(cpu)
      .filter(([, ms]) => ms > 0)
      .sort((x, y) => y[1] - x[1])
      .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(2)} s`)
      .join(", ");
    log(
      `${spec.name}: CPU during the transfer: ${cpuText}; ${tput.cpuMsPerMiB.toFixed(0)} ms per MiB (${sideText(sidePerMiB)})`,
    );
    log(
      `${spec.name}: ${tput.mbps.toFixed(1)} MB/s (${tput.ms.toFixed(0)} ms, dropped: ${tput.udpDrops} UDP datagrams for a full socket buffer, ${tput.relayDrops} by the relay for a slow WebSocket/TCP client; relay → peer datagrams ${f(tput.peerDatagram, 0)} bytes on average)`,
    );
    if (tput.stalled) {
      // Pings would queue behind the stalled data: measure RTT on a fresh connection.
      await disconnect(pair);
      pair = await connect(spec);
    }
    const rtt = await call(spec.pa, "rtt", pair.a.key, RTT_N);
    log(`${spec.name}: rtt p50 ${pct(rtt, 50).toFixed(2)} ms p90 ${pct(rtt, 90).toFixed(2)} ms`);
    await disconnect(pair);
    rows.push({ name: spec.name, open, tput, rtt, cipher });
  }
  if (!ONLY || ONLY.includes(6)) {
    const cpu0 = cpuByKind();
    const tput = await call(pageA, "wsThroughput", wsPeer.url, TOTAL, SIZE);
    tput.cpuMsPerMiB = cpuSince(cpu0).msPerMiB;
    const rtt = await call(pageA, "wsRtt", wsPeer.url, RTT_N);
    log(`bare WebSocket: ${tput.mbps.toFixed(1)} MB/s, rtt p50 ${pct(rtt, 50).toFixed(2)} ms`);
    rows.push({ name: "bare WebSocket (page → Node sink/echo, loopback)", open: null, tput, rtt });
  }
  if (!ONLY || ONLY.includes(7)) {
    // A fresh page (fresh wasm instance); one warm-up pair, then MEM_N idle connected pairs.
    const page = await openPage();
    const spec = { a: side.polyfill, b: side.nativeHost, pa: page, pb: page };
    await connect(spec);
    const gc = () => call(page, "gc");
    await gc();
    const before = await call(page, "memory");
    for (let i = 0; i < MEM_N; i++) await connect(spec);
    await new Promise((r) => setTimeout(r, 1000));
    await gc();
    const after = await call(page, "memory");
    mem = { before, after };
    log(`memory: ${JSON.stringify(mem)}`);
  }
} finally {
  for (const b of browsers) await b.close();
  await driver?.close();
  await server.close();
  await wsPeer.close();
  relay.stop();
}

const base = rows.find((r) => r.name.startsWith("native ↔ native, direct"));
const viaRelay = rows.find((r) => r.name.startsWith("native ↔ native, both via relay"));
console.log(
  `Data channels: ${runs} runs of createOffer → open; ${(TOTAL / 2 ** 20).toFixed(0)} MiB in ${SIZE}-byte messages; ${RTT_N} pings of 16 B`,
);
console.log(
  "| pair (offerer ↔ answerer) | open p50 ms | open p90 | vs native↔native relay | MB/s | vs native direct | CPU ms per MiB | of it sender / receiver / relay | RTT p50 ms | RTT p90 | p50 − native direct |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  const o50 = r.open ? pct(r.open, 50) : null;
  const oRatio = r.open && viaRelay ? `${(o50 / pct(viaRelay.open, 50)).toFixed(2)}×` : "—";
  const tRatio = base ? `${(r.tput.mbps / base.tput.mbps).toFixed(2)}×` : "—";
  const rttDelta = base ? (pct(r.rtt, 50) - pct(base.rtt, 50)).toFixed(2) : "—";
  console.log(
    `| ${r.name} | ${f(o50, 0)} | ${f(r.open ? pct(r.open, 90) : null, 0)} | ${oRatio} | ${f(r.tput.mbps)} | ${tRatio} | ${f(r.tput.cpuMsPerMiB, 0)} | ${sideColumn(r.tput.sidePerMiB)} | ${f(pct(r.rtt, 50), 2)} | ${f(pct(r.rtt, 90), 2)} | ${rttDelta} |`,
  );
}
if (mem) {
  const perWasm = (mem.after.wasm - mem.before.wasm) / MEM_N;
  const perHeap = mem.after.jsHeap !== null ? (mem.after.jsHeap - mem.before.jsHeap) / MEM_N : null;
  console.log(
    `\nIdle connected polyfill connections (each paired with a native one in the same page): ${MEM_N}`,
  );
  console.log(
    `wasm memory ${(mem.before.wasm / 2 ** 20).toFixed(1)} → ${(mem.after.wasm / 2 ** 20).toFixed(1)} MiB: ${(perWasm / 1024).toFixed(0)} KiB per connection; JS heap ${perHeap === null ? "n/a" : `${(perHeap / 1024).toFixed(0)} KiB per pair`}`,
  );
}
const jsFiles = fs
  .readdirSync(path.join(REPO_ROOT, "js"))
  .filter((name) => name.endsWith(".js"))
  .map((name) => path.join(REPO_ROOT, "js", name))
  .concat([path.join(REPO_ROOT, "dist/wasm/polyrtc.js")]);
const wasm = gz([path.join(REPO_ROOT, "dist/wasm/polyrtc_bg.wasm")]);
const js = gz(jsFiles);
const kib = (n) => (n / 1024).toFixed(1);
console.log(
  `\nsize: wasm ${kib(wasm.raw)} KiB raw / ${kib(wasm.packed)} KiB gzip -9; JS ${kib(js.raw)} KiB raw / ${kib(js.packed)} KiB gzip -9; total ${kib(wasm.packed + js.packed)} KiB gzipped`,
);
