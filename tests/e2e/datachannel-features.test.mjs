// Every data-channel feature (issue #7), both directions, checked against native Chromium in the
// same run: the same script runs on native↔native, polyfill↔native (polyfill offering and
// answering) and polyfill↔polyfill (two browsers), and each side's trace must deepStrictEqual
// the native↔native trace of the same role. Covered: DCEP attributes (ordered, maxRetransmits,
// maxPacketLifeTime, protocol), negotiated fixed ids, even/odd ids by DTLS role (also for
// channels made before the role was known), every send type with binaryType blob/arraybuffer
// and Blob order, empty messages, max-message-size (TypeError over it), exact bufferedAmount,
// bufferedamountlow, send() when not open, close() events on both sides, RTCSctpTransport and
// RTCDtlsTransport state/events/getRemoteCertificates, getStats' transport/certificate/
// data-channel shapes and counters, and what the peer sees when a connection closes.
// Loopback only: run inside scripts/netns.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { startServer, launchBrowser, CHROMIUM_ARGS, until as waitUntil } from "./harness.mjs";
import { startRelay, USER, PASSWORD } from "./relay-process.mjs";

let relay, server;
const browsers = [];
let pageA, pageB;

async function openPage() {
  const browser = await launchBrowser(CHROMIUM_ARGS);
  browsers.push(browser);
  const page = await browser.context.newPage();
  if (process.env.POLYRTC_E2E_DEBUG === "1") {
    page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  }
  await page.goto(`${server.origin}/tests/pages/datachannel-features.html`);
  await page.waitForFunction(() => globalThis.__ice !== undefined);
  await page.evaluate(() => globalThis.__ice.load({}));
  return page;
}

before(async () => {
  relay = await startRelay();
  server = await startServer();
  pageA = await openPage();
  pageB = await openPage();
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
  relay?.stop();
});

/** This file waits 15 s by default and polls every 40 ms. */
const until = (what, fn, timeoutMs = 15000) => waitUntil(what, fn, timeoutMs, 40);

const call = (page, fn, ...args) =>
  page.evaluate(([f, a]) => globalThis.__ice[f](...a), [fn, args]);

const config = (kind) =>
  kind === "polyfill"
    ? { iceServers: [{ urls: relay.ws, username: USER, credential: PASSWORD }] }
    : {};

const OFFERER_LABELS = ["lifetime", "neg", "neg-unordered", "plain", "retransmits", "unordered"];

async function trickle(a, b) {
  const fromA = await call(a.page, "takeCandidates", a.id);
  const fromB = await call(b.page, "takeCandidates", b.id);
  if (fromA.length) await call(b.page, "addCandidates", b.id, fromA);
  if (fromB.length) await call(a.page, "addCandidates", a.id, fromB);
}

/** Channels whose messages are compared: [sender label on both sides]. */
const ORDERED = ["plain", "neg", "retransmits"];

/** Runs the whole feature script on one pair; returns { offerer, answerer } traces. */
async function runPair(aKind, bKind, pages = [pageA, pageB]) {
  const a = { page: pages[0], kind: aKind };
  const b = { page: pages[1], kind: bKind };
  const out = { offerer: {}, answerer: {} };
  for (const s of [a, b]) s.id = await call(s.page, "create", s.kind, config(s.kind));
  out.offerer.created = await call(a.page, "setup", a.id, "offerer");
  out.answerer.created = await call(b.page, "setup", b.id, "answerer");
  const offer = await call(a.page, "describe", a.id);
  await call(b.page, "applyRemote", b.id, offer);
  const answer = await call(b.page, "describe", b.id);
  await call(a.page, "applyRemote", a.id, answer);
  out.offerer.dtlsClient = await call(a.page, "dtlsClient", a.id);
  out.answerer.dtlsClient = await call(b.page, "dtlsClient", b.id);
  await until(`${aKind}→${bKind}: every channel open`, async () => {
    await trickle(a, b);
    const la = await call(a.page, "openLabels", a.id);
    const lb = await call(b.page, "openLabels", b.id);
    const ok =
      JSON.stringify(la) === JSON.stringify(OFFERER_LABELS) &&
      JSON.stringify(lb) === JSON.stringify(OFFERER_LABELS);
    return { ok, la, lb, sa: await call(a.page, "status", a.id) };
  });
  out.offerer.afterOpen = await call(a.page, "afterOpen", a.id);
  out.answerer.afterOpen = await call(b.page, "afterOpen", b.id);
  const all = [...OFFERER_LABELS, "late-answerer", "late-offerer"].sort();
  await until("late channels open on both sides", async () => {
    const la = await call(a.page, "openLabels", a.id);
    const lb = await call(b.page, "openLabels", b.id);
    return { ok: JSON.stringify(la) === JSON.stringify(all) && la.length === lb.length, la, lb };
  });
  out.offerer.peerLate = await call(a.page, "peerLateAttrs", a.id);
  out.answerer.peerLate = await call(b.page, "peerLateAttrs", b.id);
  // binaryType "blob" on two channels, "arraybuffer" (the default) elsewhere.
  for (const s of [a, b]) {
    await call(s.page, "setBinaryType", s.id, "plain", "blob");
    await call(s.page, "setBinaryType", s.id, "late-offerer", "blob");
  }
  const sendOn = [...ORDERED, "lifetime", "late-offerer", "late-answerer"];
  for (const [s, role] of [
    [a, "offerer"],
    [b, "answerer"],
  ]) {
    out[role].sent = {};
    s.order = {};
    for (const label of sendOn) {
      const { after, order } = await call(s.page, "sendKinds", s.id, label, role);
      out[role].sent[label] = after;
      s.order[label] = order;
    }
    out[role].limits = await call(s.page, "sendLimits", s.id, "retransmits");
  }
  // Each sendKinds is 12 messages, plus the max-size one on "retransmits".
  const want = (label) => (label === "retransmits" ? 13 : 12);
  for (const [s, role, from] of [
    [a, "offerer", b],
    [b, "answerer", a],
  ]) {
    out[role].received = {};
    for (const label of sendOn) {
      const st = await until(`${role} receives on ${label}`, async () => {
        const st = await call(s.page, "channelState", s.id, label);
        return { ok: st.received.length >= want(label), st };
      });
      const received = st.st.received;
      // The sender's order, message by message: webrtc-pc keeps Blob sends in place. Chromium
      // lets strings overtake a Blob still being read (binary sends wait), so against native
      // the order is compared per kind; a polyfill sender must keep the full order.
      const content = received
        .slice(0, 12)
        .map(({ text, bytes }) => (bytes ? { bytes } : { text }));
      if (from.kind === "polyfill" && label !== "lifetime") {
        assert.deepStrictEqual(content, from.order[label], `${role} on ${label}: send order`);
      }
      if (label === "lifetime") {
        // Unordered: compared as sets.
        received.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
      }
      out[role].received[label] = {
        strings: received.filter((m) => m.kind === "string"),
        binaries: received.filter((m) => m.kind !== "string"),
      };
    }
  }
  // bufferedamountlow: threshold 1000, ten 10 kB messages sent in one task.
  for (const [s, role] of [
    [a, "offerer"],
    [b, "answerer"],
  ]) {
    out[role].lowAmounts = await call(s.page, "sendForLow", s.id, "neg", 1000, 10, 10000);
    const st = await until(`${role} drains "neg"`, async () => {
      const st = await call(s.page, "channelState", s.id, "neg");
      return { ok: st.bufferedAmount === 0 && st.lowEvents.length > 0, st };
    });
    out[role].lowEvents = st.st.lowEvents.map((e) => ({
      belowThreshold: e.amount <= e.threshold,
      threshold: e.threshold,
    }));
  }
  for (const [s, role] of [
    [a, "offerer"],
    [b, "answerer"],
  ]) {
    await until(`${role} receives the low-threshold burst`, async () => {
      const st = await call(s.page, "channelState", s.id, "neg");
      return { ok: st.received.length >= 22, n: st.received.length };
    });
    const { diag, ...stats } = await call(s.page, "statsShape", s.id);
    out[role].stats = stats;
    out[role].diag = diag;
  }
  // close() by either side reaches the other.
  out.offerer.closeCall = await call(a.page, "closeChannel", a.id, "unordered");
  out.answerer.closeCall = await call(b.page, "closeChannel", b.id, "neg-unordered");
  for (const [s, role] of [
    [a, "offerer"],
    [b, "answerer"],
  ]) {
    for (const label of ["unordered", "neg-unordered"]) {
      await until(`${role} sees ${label} closed`, async () => {
        const st = await call(s.page, "channelState", s.id, label);
        return { ok: st.readyState === "closed", st };
      });
    }
  }
  // RTCPeerConnection.close() on the offerer: what the answerer's channels and transports do.
  out.offerer.closeConnection = await call(a.page, "closeConnection", a.id);
  await until("the answerer's channels close after the offerer's close()", async () => {
    const lb = await call(b.page, "openLabels", b.id);
    return { ok: lb.length === 0, lb };
  });
  await new Promise((r) => setTimeout(r, 300));
  for (const [s, role] of [
    [a, "offerer"],
    [b, "answerer"],
  ]) {
    out[role].logs = {};
    for (const label of all) {
      const st = await call(s.page, "channelState", s.id, label);
      // bufferedamountlow with the default threshold 0 depends on when acks arrive.
      out[role].logs[label] = {
        readyState: st.readyState,
        log: st.log.filter((l) => l !== "bufferedamountlow" && l !== "message"),
        messagesFirst: st.log.indexOf("open") < st.log.indexOf("message"),
      };
    }
    out[role].trace = byObject(await call(s.page, "trace", s.id));
  }
  await call(b.page, "closeConnection", b.id);
  return out;
}

/**
 * Values that legitimately differ between two runs whatever the implementation: none are
 * dropped; only connectivity-timed counters (transport byte counts) are reduced to "positive"
 * by the page already.
 */
function compare(label, got, want) {
  dump(label, got);
  const failures = [];
  for (const role of ["offerer", "answerer"]) {
    for (const key of Object.keys(want[role])) {
      if (key === "diag") continue;
      try {
        assert.deepStrictEqual(got[role][key], want[role][key]);
      } catch (e) {
        failures.push(`${label}: ${role}.${key} differs from native↔native\n${e.message}`);
      }
    }
  }
  assert.equal(failures.length, 0, failures.join("\n\n"));
}

/** POLYRTC_E2E_DUMP=dir writes every trace there (to read what native does). */
function dump(label, value) {
  const dir = process.env.POLYRTC_E2E_DUMP;
  if (dir)
    writeFileSync(`${dir}/${label.replace(/[^a-z]+/gi, "_")}.json`, JSON.stringify(value, null, 1));
}

/**
 * A trace split by the object that fired each entry: the order within one object is what the
 * implementation decides; the interleaving across objects (e.g. SCTP's "connected" against the
 * connection's) depends on network timing, and differs between two native runs.
 */
function byObject(list) {
  const out = {};
  for (const entry of list) {
    const key = entry.split(":")[0];
    (out[key] ??= []).push(entry);
  }
  return out;
}

let nativeTrace;

test("native ↔ native: the oracle trace", async () => {
  nativeTrace = await runPair("native", "native", [pageA, pageA]);
  dump("native-native", nativeTrace);
  // The oracle itself must have run the features (so a comparison cannot pass vacuously).
  const plain = nativeTrace.answerer.received.plain;
  assert.equal(plain.strings.length + plain.binaries.length, 12);
  assert.equal(nativeTrace.offerer.limits.over.startsWith("throw TypeError"), true);
});

test("polyfill (offerer) ↔ native: every feature as native↔native", async () => {
  assert.ok(nativeTrace, "needs the native trace");
  compare("polyfill→native", await runPair("polyfill", "native", [pageA, pageA]), nativeTrace);
});

test("native (offerer) ↔ polyfill: every feature as native↔native", async () => {
  assert.ok(nativeTrace, "needs the native trace");
  compare("native→polyfill", await runPair("native", "polyfill", [pageA, pageA]), nativeTrace);
});

test("polyfill ↔ polyfill in two browsers: every feature as native↔native", async () => {
  assert.ok(nativeTrace, "needs the native trace");
  compare("polyfill↔polyfill", await runPair("polyfill", "polyfill", [pageA, pageB]), nativeTrace);
});

/** The answer's fingerprint is wrong at the offerer: DTLS must fail as natively. */
async function runFailure(aKind, bKind) {
  const a = { page: pageA, kind: aKind };
  const b = { page: pageA, kind: bKind };
  for (const s of [a, b]) s.id = await call(s.page, "create", s.kind, config(s.kind));
  await call(a.page, "setup", a.id, "failing-offerer");
  await call(b.page, "setup", b.id, "failing-answerer");
  const offer = await call(a.page, "describe", a.id);
  await call(b.page, "applyRemote", b.id, offer);
  const answer = await call(b.page, "describe", b.id);
  await call(a.page, "applyRemoteWrongFingerprint", a.id, answer);
  await until(`${aKind}→${bKind}: DTLS fails at the offerer`, async () => {
    await trickle(a, b);
    const sa = await call(a.page, "states", a.id);
    const sb = await call(b.page, "states", b.id);
    return { ok: sa.dtls === "failed" && sa.connectionState === "failed", sa, sb };
  });
  // Let the peer see whatever the failing side does (alert, silence) for a while.
  await new Promise((r) => setTimeout(r, 1500));
  const out = {};
  for (const [s, role] of [
    [a, "offerer"],
    [b, "answerer"],
  ]) {
    out[role] = {
      states: await call(s.page, "states", s.id),
      trace: byObject(await call(s.page, "trace", s.id)),
    };
  }
  out.offerer.channel = await call(a.page, "channelState", a.id, "x");
  for (const s of [a, b]) await call(s.page, "closeConnection", s.id);
  return out;
}

let nativeFailure;

test("native ↔ native with a wrong remote fingerprint: the oracle", async () => {
  nativeFailure = await runFailure("native", "native");
  dump("native-failure", nativeFailure);
  assert.equal(nativeFailure.offerer.states.dtls, "failed");
});

test("polyfill (offerer) with a wrong remote fingerprint ↔ native: DTLS fails as natively", async () => {
  assert.ok(nativeFailure, "needs the native trace");
  const got = await runFailure("polyfill", "native");
  dump("polyfill-failure", got);
  assert.deepStrictEqual(got.offerer, nativeFailure.offerer);
});

test("native (offerer) with a wrong remote fingerprint ↔ polyfill: the polyfill sees the failure as native does", async () => {
  assert.ok(nativeFailure, "needs the native trace");
  const got = await runFailure("native", "polyfill");
  dump("native-polyfill-failure", got);
  // Native↔native speaks DTLS 1.3, where the client finishes before the server checks its
  // certificate, so a native client is briefly "connected"; over DTLS 1.2 the server rejects
  // the client's certificate before its Finished, so the client never is. Everything else must
  // match.
  const noConnected = (trace) =>
    Object.fromEntries(
      Object.entries(trace).map(([k, v]) => [
        k,
        v.filter((e) => e !== "dtls:connected" && e !== "connectionstatechange:connected"),
      ]),
    );
  assert.deepStrictEqual(got.answerer.states, nativeFailure.answerer.states);
  assert.deepStrictEqual(
    noConnected(got.answerer.trace),
    noConnected(nativeFailure.answerer.trace),
  );
});

test("unmodified data-channel code runs on the force-installed polyfill as on native", async () => {
  const run = async (query) => {
    const page = await browsers[0].context.newPage();
    await page.goto(`${server.origin}/tests/pages/plain-datachannel.html${query}`);
    await page.waitForFunction(() => globalThis.__plainReady !== undefined);
    const ready = await page.evaluate(() => globalThis.__plainReady);
    assert.equal(ready.ok, true, ready.error);
    const r = await page.evaluate(async () => {
      const res = await Promise.race([
        globalThis.plainDataChannel(),
        new Promise((_, rej) => setTimeout(() => rej(new Error("timed out")), 15000)),
      ]);
      res.isPolyfill = globalThis.__P
        ? new RTCPeerConnection() instanceof globalThis.__P.RTCPeerConnection
        : false;
      return res;
    });
    await page.close();
    return r;
  };
  const native = await run("");
  assert.equal(native.reply, 'echo hello | bytes:1,2,3 | {"n":1}');
  const q = new URLSearchParams({
    force: "1",
    relay: relay.ws,
    username: USER,
    credential: PASSWORD,
  });
  const poly = await run(`?${q}`);
  assert.equal(poly.isPolyfill, true, "the page's global RTCPeerConnection is the polyfill");
  native.isPolyfill = true;
  assert.deepStrictEqual(poly, native);
});
