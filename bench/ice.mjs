// Benchmark: setLocalDescription() (the offerer's call) → iceConnectionState "connected" on both
// sides, everything through one polyrtc-relay: polyfill↔native (native with host candidates),
// polyfill↔polyfill (two browsers) and native↔native (both iceTransportPolicy "relay", TURN UDP
// on the relay). p50/p90 over N runs each, ratios vs native↔native.
//  - "both": Node's wall clock from just before the offerer's setLocalDescription() call to the
//    first poll that sees both sides connected. Offer, answer and candidates travel through Node
//    (page.evaluate) like in tests/e2e/ice.test.mjs, but the trickle/poll loop waits 5 ms, not
//    50 ms: the figure includes up to ~5 ms of polling plus the evaluate round trips.
//  - "offerer": the offerer page's own clock (tests/pages/ice.js status().msToConnected).
// Run: scripts/netns.sh -- node bench/ice.mjs [runs]   (after scripts/build.sh and
// cargo build -p polyrtc-relay); or bash bench/ice.sh [runs].
import { startServer, launchBrowser, CHROMIUM_ARGS } from "../tests/e2e/harness.mjs";
import { startRelay, USER, PASSWORD } from "../tests/e2e/relay-process.mjs";

const runs = Number(process.argv[2] ?? 10);
const POLL_MS = 5;
const TIMEOUT_MS = 20000;

// Native pcs keep their TURN allocations after close() for a while; the default per-user quota
// (10) would refuse the polyfill with 486 after a few native↔native runs.
const relay = await startRelay(["--user-quota", "1000"]);
const server = await startServer();
const browsers = [];

async function openPage() {
  const browser = await launchBrowser(CHROMIUM_ARGS);
  browsers.push(browser);
  const page = await browser.context.newPage();
  await page.goto(`${server.origin}/tests/pages/ice.html`);
  await page.waitForFunction(() => globalThis.__ice !== undefined);
  await page.evaluate(() => globalThis.__ice.load({ relayMeta: null }));
  return page;
}

const call = (page, fn, ...args) =>
  page.evaluate(([f, a]) => globalThis.__ice[f](...a), [fn, args]);

const polyfill = () => ({
  kind: "polyfill",
  config: { iceServers: [{ urls: relay.ws, username: USER, credential: PASSWORD }] },
});
const nativeHost = () => ({ kind: "native", config: {} });
const nativeRelay = () => ({
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
});

/** One offer/answer + trickle until both connected (logic of tests/e2e/ice.test.mjs connect()). */
async function connectOnce(a, b) {
  a.id = await call(a.page, "create", a.kind, a.config);
  b.id = await call(b.page, "create", b.kind, b.config);
  const start = performance.now();
  const offer = await call(a.page, "offer", a.id);
  const answer = await call(b.page, "answer", b.id, offer);
  await call(a.page, "accept", a.id, answer);
  const deadline = Date.now() + TIMEOUT_MS;
  let sa, sb;
  for (;;) {
    const [fromA, fromB] = await Promise.all([
      call(a.page, "takeCandidates", a.id),
      call(b.page, "takeCandidates", b.id),
    ]);
    await Promise.all([
      fromA.length ? call(b.page, "addCandidates", b.id, fromA) : null,
      fromB.length ? call(a.page, "addCandidates", a.id, fromB) : null,
    ]);
    [sa, sb] = await Promise.all([call(a.page, "status", a.id), call(b.page, "status", b.id)]);
    if (sa.ice === "connected" && sb.ice === "connected") break;
    if (Date.now() > deadline) {
      throw new Error(`not connected: ${JSON.stringify({ a: sa, b: sb })}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const both = performance.now() - start;
  await call(a.page, "close", a.id);
  await call(b.page, "close", b.id);
  return { both, offerer: sa.msToConnected };
}

const pct = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

const results = [];
try {
  const pageA = await openPage();
  const pageB = await openPage();
  const scenarios = [
    [
      "native ↔ native (both relay-only, TURN UDP)",
      () => [nativeRelay(), nativeRelay()],
      pageA,
      pageA,
    ],
    ["polyfill (WS) ↔ native (host)", () => [polyfill(), nativeHost()], pageA, pageA],
    ["polyfill (WS) ↔ polyfill (WS), two browsers", () => [polyfill(), polyfill()], pageA, pageB],
  ];
  for (const [name, sides, pa, pb] of scenarios) {
    const both = [];
    const offerer = [];
    // One unmeasured warm-up: first wasm instantiation/allocation paths.
    for (let i = -1; i < runs; i++) {
      const [a, b] = sides();
      const r = await connectOnce({ ...a, page: pa }, { ...b, page: pb });
      if (i >= 0) {
        both.push(r.both);
        offerer.push(r.offerer);
      }
    }
    results.push({ name, both, offerer });
    process.stderr.write(`${name}: ${both.map((x) => x.toFixed(0)).join(" ")}\n`);
  }
} finally {
  for (const b of browsers) await b.close();
  await server.close();
  relay.stop();
}

const base = results[0];
const f = (x) => x.toFixed(0).padStart(5);
console.log(
  `ICE: setLocalDescription → connected, ${runs} runs each (ms; ratio vs native↔native p50)`,
);
console.log("| pair | both connected p50 | p90 | ratio p50 | offerer connected p50 | p90 |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const r of results) {
  const ratio = pct(r.both, 50) / pct(base.both, 50);
  console.log(
    `| ${r.name} | ${f(pct(r.both, 50))} | ${f(pct(r.both, 90))} | ${ratio.toFixed(2)}× | ${f(pct(r.offerer, 50))} | ${f(pct(r.offerer, 90))} |`,
  );
}
