// The wasm shell's relay transports (src/transport) from headless Chromium, through the test-only
// `__TestTransport` export, against polyrtc-relay: TURN over WebSocket (Binding round trips,
// per-turn batching into one frame, close, a dead port) and over WebTransport with the relay's
// self-signed certificate pinned by the hashes it publishes at /webtransport (datagrams, and the
// stream for messages over the datagram size or beyond a burst the datagram queue takes). Also
// the engine timer (src/timer.rs) and the handle's waker. Loopback only: run inside scripts/netns.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser } from "./harness.mjs";
import { startRelay } from "./relay-process.mjs";

let relay, server, browser, page, wsPort;
/** WebTransport servers under test: { name, url, hashesUrl }. */
const wtTargets = [];
const pageErrors = [];

async function metric(name) {
  return relay.metric(name);
}

before(async () => {
  // Room for the WebTransport burst of Binding requests (unauthenticated: rate-limited per IP).
  relay = await startRelay(["--unauth-burst", "1000"]);
  wsPort = Number(new URL(relay.http).port);
  const published = await (await fetch(relay.hashesUrl)).json();
  wtTargets.push({ name: "polyrtc-relay", ...published, hashesUrl: relay.hashesUrl });
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e?.stack ?? e)));
  await page.goto(`${server.origin}/www/blank.html`);
  await page.evaluate(async () => {
    globalThis.T = await import("/tests/e2e/shell-transport-page.js");
    await T.glue();
  });
});

after(async () => {
  assert.deepEqual(pageErrors, []);
  await browser?.close();
  await server?.close();
  relay?.stop();
});

test("WebSocket: a Binding request queued while connecting is answered with XOR-MAPPED-ADDRESS", async () => {
  const r = await page.evaluate(async (port) => {
    const { t, log, until } = await T.open(`ws://127.0.0.1:${port}/turn`);
    const stateAtOnce = t.state;
    const req = T.bindingRequest();
    t.send(req.bytes);
    const got = await until(() => log.messages.length >= 1);
    const out = { stateAtOnce, got, states: t.states, messages: log.messages, tid: req.tid };
    out.writes = t.writes;
    t.close();
    return out;
  }, wsPort);
  assert.equal(r.stateAtOnce, "connecting");
  assert.ok(r.got, JSON.stringify(r));
  assert.deepEqual(r.states, ["open"]);
  assert.equal(r.writes, 1);
  assert.equal(r.messages.length, 1);
  const [m] = r.messages;
  assert.equal(m.type, 0x0101, "Binding success response");
  assert.equal(m.tid, r.tid);
  assert.match(m.mapped, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(m.mapped, "127.0.0.1:0");
});

test("WebSocket: 8 requests sent in one turn leave as ONE frame and all 8 are answered", async () => {
  const rxBefore = await metric("turn_client_rx_packets_total");
  const r = await page.evaluate(async (port) => {
    const { t, log, until } = await T.open(`ws://127.0.0.1:${port}/turn`);
    await until(() => t.state === "open");
    const writesBefore = t.writes;
    const tids = [];
    for (let i = 0; i < 8; i++) {
      const req = T.bindingRequest();
      tids.push(req.tid);
      t.send(req.bytes);
    }
    const queued = t.bufferedAmount;
    await until(() => log.messages.length >= 8);
    // A second turn: its messages are a second frame.
    t.send(T.bindingRequest().bytes);
    await until(() => log.messages.length >= 9);
    const out = { writesBefore, writes: t.writes, queued, tids, messages: log.messages };
    t.close();
    return out;
  }, wsPort);
  assert.equal(r.writesBefore, 0);
  assert.equal(r.queued, 8 * 28, "bufferedAmount counts the queued bytes");
  assert.equal(r.writes, 2, "one frame for the 8 messages of the first turn, one for the ninth");
  const answered = r.messages.slice(0, 8);
  assert.ok(answered.every((m) => m.type === 0x0101 && m.mapped));
  assert.deepEqual(answered.map((m) => m.tid).sort(), [...r.tids].sort());
  // The relay counts messages, not frames: it parsed 9 messages out of the 2 frames.
  assert.equal((await metric("turn_client_rx_packets_total")) - rxBefore, 9);
});

test("WebSocket: close() gives state closed with a reason; sending afterwards throws", async () => {
  const r = await page.evaluate(async (port) => {
    const { t, until } = await T.open(`ws://127.0.0.1:${port}/turn`);
    await until(() => t.state === "open");
    t.close();
    let sendError = null;
    try {
      t.send(T.bindingRequest().bytes);
    } catch (e) {
      sendError = String(e);
    }
    return { state: t.state, reason: t.reason, states: t.states, sendError };
  }, wsPort);
  assert.equal(r.state, "closed");
  assert.equal(r.reason, "closed by polyrtc");
  assert.deepEqual(r.states, ["open", "closed: closed by polyrtc"]);
  assert.match(r.sendError, /closed/);
});

test("WebSocket: the relay dropping the connection (bad framing) is a state change, not a trap", async () => {
  const r = await page.evaluate(async (port) => {
    const { t, until } = await T.open(`ws://127.0.0.1:${port}/turn`);
    await until(() => t.state === "open");
    t.send(new Uint8Array([0xc0, 0, 0, 0])); // neither STUN nor ChannelData (RFC 7983)
    await until(() => t.state !== "open");
    return { state: t.state, reason: t.reason };
  }, wsPort);
  assert.ok(["closed", "failed"].includes(r.state), JSON.stringify(r));
  assert.match(r.reason, /WebSocket/);
});

test("WebSocket: a dead port gives state failed with a reason, and the instance lives on", async () => {
  const r = await page.evaluate(async (port) => {
    const serial = T.liveSerial();
    const { t, until } = await T.open(`ws://127.0.0.1:${port + 3}/turn`);
    await until(() => t.state !== "connecting");
    const failed = { state: t.state, reason: t.reason, states: t.states };
    let badScheme = null;
    try {
      await T.open("turn:127.0.0.1:3478");
    } catch (e) {
      badScheme = String(e);
    }
    const again = await T.open(`ws://127.0.0.1:${port}/turn`);
    again.t.send(T.bindingRequest().bytes);
    const answered = await again.until(() => again.log.messages.length === 1);
    again.t.close();
    return { failed, badScheme, answered, sameInstance: serial === T.liveSerial() };
  }, wsPort);
  assert.equal(r.failed.state, "failed");
  assert.match(r.failed.reason, /failed \(code 1006\)/);
  assert.equal(r.failed.states.length, 1);
  assert.match(r.badScheme, /scheme must be ws:, wss:/);
  assert.ok(r.answered);
  assert.ok(r.sameInstance);
});

test("WebTransport: datagram and oversize-stream Binding round trips (hashes from the JSON URL)", async (t) => {
  for (const target of wtTargets) await t.test(target.name, () => wtRoundTrips(target));
});

async function wtRoundTrips(target) {
  const r = await page.evaluate(async (info) => {
    const endpoint = await T.resolveRelayEndpoint({
      url: "https://unused.invalid/turn",
      certificateHashesUrl: info.hashesUrl,
    });
    const { t, log, until } = await T.open(endpoint.url, endpoint);
    const opened = await until(() => t.state === "open");
    const small = [];
    for (let i = 0; i < 8; i++) {
      const req = T.bindingRequest();
      small.push(req.tid);
      t.send(req.bytes);
    }
    await until(() => log.messages.length >= 8);
    const datagramWrites = t.writes;
    const chunksAfterSmall = log.chunks;
    // 20 + 4 + 1600 + 8 bytes: above maxDatagramSize, so it takes the stream.
    const big = [T.bindingRequest(1600), T.bindingRequest(2000)];
    for (const b of big) t.send(b.bytes);
    await until(() => log.messages.length >= 10);
    const writesBeforeBurst = t.writes;
    // 100 in one turn: past the datagram writer's queue limit the rest take the stream (in one
    // write) instead of piling up; every one is answered.
    const burst = [];
    for (let i = 0; i < 100; i++) {
      const req = T.bindingRequest();
      burst.push(req.tid);
      t.send(req.bytes);
    }
    await until(() => log.messages.length >= 110);
    const out = {
      endpoint: { url: endpoint.url, hashes: endpoint.serverCertificateHashes.length },
      opened,
      small,
      big: big.map((b) => b.tid),
      datagramWrites,
      chunksAfterSmall,
      writes: writesBeforeBurst,
      burst,
      burstWrites: t.writes - writesBeforeBurst,
      messages: log.messages,
    };
    t.close();
    out.closed = { state: t.state, reason: t.reason };
    return out;
  }, target);
  assert.deepEqual(r.endpoint, { url: target.url, hashes: 1 });
  assert.ok(r.opened, JSON.stringify(r));
  assert.equal(r.datagramWrites, 8, "one datagram per small message");
  assert.equal(r.chunksAfterSmall, 8, "one input chunk per datagram");
  assert.equal(r.writes, 9, "both oversize messages of one turn in one stream write");
  const ok = (m) => m.type === 0x0101 && /^127\.0\.0\.1:\d+$/.test(m.mapped);
  assert.ok(r.messages.every(ok), JSON.stringify(r.messages));
  assert.deepEqual(
    r.messages
      .slice(0, 8)
      .map((m) => m.tid)
      .sort(),
    [...r.small].sort(),
  );
  assert.deepEqual(
    r.messages.slice(8, 10).map((m) => m.tid),
    r.big,
  );
  assert.deepEqual(
    r.messages
      .slice(10)
      .map((m) => m.tid)
      .sort(),
    [...r.burst].sort(),
  );
  assert.ok(r.burstWrites > 1 && r.burstWrites < 100, `burst of 100 in ${r.burstWrites} writes`);
  assert.deepEqual(r.closed, { state: "closed", reason: "closed by polyrtc" });
}

test("WebTransport: a wrong certificate hash or a malformed one fails cleanly", async (t) => {
  for (const target of wtTargets) await t.test(target.name, () => wtBadHashes(target));
});

async function wtBadHashes(target) {
  const r = await page.evaluate(async (info) => {
    const wrong = await T.open(info.url, { serverCertificateHashes: ["00".repeat(32)] });
    await wrong.until(() => wrong.t.state !== "connecting", 10000);
    let malformed = null;
    try {
      await T.open(info.url, { serverCertificateHashes: ["abcd"] });
    } catch (e) {
      malformed = String(e);
    }
    return { state: wrong.t.state, reason: wrong.t.reason, malformed };
  }, target);
  assert.equal(r.state, "failed");
  assert.match(r.reason, /WebTransport session failed/);
  assert.match(r.malformed, /certificate hash "abcd"/);
}

test("engine timer: one setTimeout per distinct deadline, fires once, disarms", async () => {
  const r = await page.evaluate(async () => {
    const g = await T.glue();
    const fired = [];
    const timer = new g.__TestTimer(() => fired.push(performance.now()));
    const t0 = performance.now();
    timer.setDeadline(t0 + 40, t0);
    timer.setDeadline(t0 + 40, performance.now());
    timer.setDeadline(t0 + 40, performance.now());
    const armsSame = timer.arms;
    timer.setDeadline(t0 + 60, performance.now());
    const armsMoved = timer.arms;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const afterFire = { fired: fired.map((f) => f - t0), deadline: timer.deadline };
    timer.setDeadline(performance.now() + 30, performance.now());
    timer.setDeadline(undefined, performance.now());
    await new Promise((resolve) => setTimeout(resolve, 80));
    const afterDisarm = fired.length;
    timer.free();
    return { armsSame, armsMoved, afterFire, afterDisarm };
  });
  assert.equal(r.armsSame, 1);
  assert.equal(r.armsMoved, 2);
  assert.equal(r.afterFire.fired.length, 1, JSON.stringify(r));
  assert.ok(r.afterFire.fired[0] >= 59, `fired at +${r.afterFire.fired[0]} ms`);
  assert.equal(r.afterFire.deadline, undefined);
  assert.equal(r.afterDisarm, 1);
});

test("handle.setWaker: input outside a shim call wakes the shim; pollEvents keeps the order", async () => {
  const r = await page.evaluate(async () => {
    const g = await T.glue();
    const h = new g.PeerConnectionHandle({}, crypto.getRandomValues(new Uint8Array(32)), 0, 0);
    let wakes = 0;
    h.setWaker(() => wakes++);
    const quiet = g.__wakeAfterInput(h);
    const offer = h.call({ op: "createOffer", options: {} }, performance.now(), Date.now());
    h.call(
      { op: "setLocalDescription", description: offer.description },
      performance.now(),
      Date.now(),
    );
    // The events of that call are still in the engine: "input" now makes the shell wake us.
    const woke = g.__wakeAfterInput(h);
    const wakesAfter = wakes;
    const events = h.pollEvents().map((e) => e.type);
    const again = g.__wakeAfterInput(h);
    h.setWaker(null);
    h.free();
    return { quiet, woke, wakesAfter, events, again, wakesEnd: wakes };
  });
  assert.equal(r.quiet, false);
  assert.equal(r.woke, true);
  assert.equal(r.wakesAfter, 1);
  assert.ok(r.events.includes("signalingstatechange"), JSON.stringify(r.events));
  assert.equal(r.again, false);
  assert.equal(r.wakesEnd, 1);
});
