// RTCIceTransport, iceCandidatePoolSize and the ICE entries of getStats() (issue #6), with native
// Chromium as the oracle: each polyfilled connection is compared with the native peer it is
// connected to, in the same page at the same moment. Loopback only: run inside scripts/netns.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, CHROMIUM_ARGS } from "./harness.mjs";
import { startRelay, USER, PASSWORD } from "./relay-process.mjs";

let relay, server, page;
const browsers = [];

before(async () => {
  relay = await startRelay();
  server = await startServer();
  const browser = await launchBrowser(CHROMIUM_ARGS);
  browsers.push(browser);
  page = await browser.context.newPage();
  if (process.env.POLYRTC_E2E_DEBUG === "1") {
    page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  }
  await page.goto(`${server.origin}/tests/pages/ice-transport.html`);
  await page.waitForFunction(() => globalThis.__ice !== undefined);
  await page.evaluate(() => globalThis.__ice.load({}));
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
  relay?.stop();
});

const call = (fn, ...args) => page.evaluate(([f, a]) => globalThis.__ice[f](...a), [fn, args]);

const polyfillConfig = (extra = {}) => ({
  iceServers: [{ urls: relay.ws, username: USER, credential: PASSWORD }],
  ...extra,
});
const nativeRelayOnly = () => ({
  iceServers: [
    {
      urls: `turn:127.0.0.1:${relay.turnPort}?transport=udp`,
      username: USER,
      credential: PASSWORD,
    },
  ],
  iceTransportPolicy: "relay",
});

/** Offer/answer with the transports watched, then trickle until both are connected. */
async function connect(a, b) {
  for (const side of [a, b]) {
    side.id = await call("create", side.kind, side.config);
    await call("watchIce", side.id);
  }
  const offer = await call("offerWatched", a.id);
  const answer = await call("answerWatched", b.id, offer);
  await call("accept", a.id, answer);
  const deadline = Date.now() + 20000;
  for (;;) {
    await exchangeCandidates(a, b);
    const [sa, sb] = [await call("status", a.id), await call("status", b.id)];
    if (sa.connection === "connected" && sb.connection === "connected") break;
    assert.ok(Date.now() < deadline, `not connected: ${JSON.stringify({ sa, sb })}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // Candidates gathered during the last round still go to the other side (trickle ICE).
  await exchangeCandidates(a, b);
}

/** Hand each side the candidates the other gathered since the last exchange. */
async function exchangeCandidates(a, b) {
  const fromA = await call("takeCandidates", a.id);
  const fromB = await call("takeCandidates", b.id);
  if (fromA.length) await call("addCandidates", b.id, fromA);
  if (fromB.length) await call("addCandidates", a.id, fromB);
}

/**
 * Native's transport view once its selected pair's remote is the signalled candidate: a check
 * that beat that candidate to Chromium makes the remote peer-reflexive ("prflx", address
 * "redacted-ip.invalid") until the candidate is added, which is valid trickle ICE.
 */
async function nativeViewOfSignalledRemote(native) {
  let view;
  for (let i = 0; i < 50; i++) {
    view = await call("transportView", native.id);
    if (view.pair && view.pair.remote?.type !== "prflx") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return view;
}

/** The order facts of a sequence that the test compares across implementations. */
function orderFacts(seq) {
  const at = (x) => seq.indexOf(x);
  const pairChange = seq.findIndex((x) => x.startsWith("it.selectedcandidatepairchange"));
  const facts = {
    // The pair is announced before the connection reports "connected", while both states
    // still read "checking", and getSelectedCandidatePair() already returns it.
    pairBeforeConnected:
      pairChange >= 0 && pairChange < at("pc.iceconnectionstatechange:connected"),
    pairEvent: seq[pairChange],
    pairChanges: seq.filter((x) => x.startsWith("it.selectedcandidatepairchange")).length,
    role: seq.find((x) => x.startsWith("it:role=")),
  };
  // Each connection-level ICE state change has its transport event, in a fixed relative order.
  for (const state of ["checking", "connected"]) {
    facts[`pcBeforeTransport:${state}`] =
      at(`pc.iceconnectionstatechange:${state}`) < at(`it.statechange:${state}`);
  }
  for (const state of ["gathering", "complete"]) {
    facts[`transportBeforePc:${state}`] =
      at(`it.gatheringstatechange:${state}`) >= 0 &&
      at(`it.gatheringstatechange:${state}`) < at(`pc.icegatheringstatechange:${state}`);
  }
  return facts;
}

/** Field types of a candidate description (values differ between implementations). */
const shape = (c) =>
  Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v === null ? "null" : typeof v]));

test("RTCIceTransport: role, getSelectedCandidatePair(), events — polyfill as native", async () => {
  const poly = { kind: "polyfill", config: polyfillConfig() };
  const native = { kind: "native", config: {} };
  await connect(poly, native);
  const nv = await nativeViewOfSignalledRemote(native);
  const pv = await call("transportView", poly.id);
  // Role: whatever Chromium says for its own transport in the same state.
  assert.equal(pv.role, nv.role, "role");
  assert.equal(pv.state, nv.state);
  assert.ok(pv.pair && nv.pair, JSON.stringify({ pv, nv }));
  // Same object model: a fresh plain {local, remote} per call, the same candidates inside.
  for (const k of ["class", "keys", "freshObject", "sameCandidates"]) {
    assert.deepEqual(pv.pair[k], nv.pair[k], k);
  }
  for (const side of ["local", "remote"]) {
    const p = { ...pv.pair[side] };
    const n = { ...nv.pair[side] };
    // relayProtocol is a string on a relay candidate and null on native's host candidate.
    if (side === "local") n.relayProtocol = p.relayProtocol;
    if (side === "remote") p.relayProtocol = n.relayProtocol;
    const expect = shape(n);
    const got = shape(p);
    if (side === "local") {
      // Our local candidate is a relay one: related address/port are the relay's view of us.
      expect.relatedAddress = got.relatedAddress;
      expect.relatedPort = got.relatedPort;
    } else {
      // The two remotes are different candidates (native's view of our relay candidate, ours of
      // native's): a related address exists exactly for server-reflexive and relay candidates.
      const related = !["host", "prflx"].includes(p.type);
      expect.relatedAddress = related ? "string" : "null";
      expect.relatedPort = related ? "number" : "null";
    }
    assert.deepEqual(got, expect, `${side} candidate field types`);
    assert.equal(p.sdpMid, n.sdpMid, `${side} sdpMid`);
    assert.equal(p.sdpMLineIndex, n.sdpMLineIndex, `${side} sdpMLineIndex`);
  }
  // The two ends name the same pair.
  assert.equal(pv.pair.local.type, "relay");
  assert.equal(pv.pair.local.relayProtocol, "tcp");
  assert.equal(pv.pair.local.url, relay.ws);
  assert.equal(pv.pair.local.port, nv.pair.remote.port);
  assert.equal(pv.pair.local.address, nv.pair.remote.address);
  assert.equal(pv.pair.remote.port, nv.pair.local.port);
  assert.equal(pv.pair.remote.address, nv.pair.local.address);
  assert.equal(pv.pair.remote.usernameFragment, nv.pair.local.usernameFragment);
  assert.equal(pv.pair.remote.url, "");
  // Event order relative to the connection's events, as Chromium fires them.
  const pf = orderFacts(await call("sequence", poly.id));
  const nf = orderFacts(await call("sequence", native.id));
  assert.deepEqual(
    pf,
    nf,
    JSON.stringify({
      polyfill: await call("sequence", poly.id),
      native: await call("sequence", native.id),
    }),
  );
  // After close(): state "closed", no pair (Chromium), and no event.
  const pClosed = await call("closeOnly", poly.id);
  const nClosed = await call("closeOnly", native.id);
  assert.deepEqual(pClosed, nClosed);
});

/** Fields of native's entry that the polyfill does not report, and why. */
const NOT_APPLICABLE = {
  // DTLS-SRTP: the polyfill's transport carries data channels only (no SRTP keys derived);
  // the DTLS fields belong to the DTLS layer's own work.
  transport: ["srtpCipher", "dtlsCipher", "tlsVersion", "remoteCertificateId"],
  "candidate-pair": ["availableOutgoingBitrate"],
  "local-candidate": [],
  "remote-candidate": [],
};

test("getStats ICE entries: polyfill ↔ native relay-only, same fields and types, live", async () => {
  const native = { kind: "native", config: nativeRelayOnly() };
  const poly = { kind: "polyfill", config: polyfillConfig() };
  await connect(native, poly);
  // Application data both ways, then a consent check's worth of time (RFC 7675: 4-6 s).
  const first = await call("iceStats", poly.id);
  await page.evaluate(
    async ([a, b]) => {
      const open = (pc) =>
        new Promise((resolve) => {
          const ch = pc.createDataChannel("stats", { negotiated: true, id: 7 });
          ch.onopen = () => resolve(ch);
        });
      const [ca, cb] = await Promise.all([
        open(globalThis.__ice.pcOf(a)),
        open(globalThis.__ice.pcOf(b)),
      ]);
      for (let i = 0; i < 20; i++) {
        ca.send("x".repeat(500));
        cb.send("y".repeat(500));
      }
    },
    [native.id, poly.id],
  );
  await new Promise((r) => setTimeout(r, 6500));
  const p = await call("iceStats", poly.id);
  const n = await call("iceStats", native.id);
  for (const [key, type] of [
    ["transport", "transport"],
    ["pair", "candidate-pair"],
    ["local", "local-candidate"],
    ["remote", "remote-candidate"],
  ]) {
    assert.ok(p[key], `polyfill has no ${type}: ${JSON.stringify(p)}`);
    assert.ok(n[key], `native has no ${type}`);
    const skip = new Set(NOT_APPLICABLE[type]);
    // The remotes are different candidates (see above): related address only where the type has one.
    if (type === "remote-candidate") {
      for (const s of [p[key], n[key]]) {
        if (["host", "prflx"].includes(s.candidateType))
          skip.add("relatedAddress").add("relatedPort");
      }
    }
    const names = (s) =>
      Object.keys(s)
        .filter((k) => !skip.has(k))
        .sort();
    assert.deepEqual(names(p[key]), names(n[key]), `${type} field names`);
    for (const k of names(n[key])) {
      assert.equal(typeof p[key][k], typeof n[key][k], `${type}.${k} type`);
    }
  }
  // Cross references.
  assert.equal(p.pair.transportId, p.transport.id);
  assert.equal(p.local.transportId, p.transport.id);
  assert.equal(p.remote.transportId, p.transport.id);
  assert.equal(p.pair.state, "succeeded");
  assert.equal(p.pair.nominated, true);
  assert.equal(p.local.candidateType, "relay");
  assert.equal(p.remote.candidateType, "relay");
  // The two ends describe the same pair: our local is native's remote and the other way round.
  assert.equal(p.local.port, n.remote.port);
  assert.equal(p.remote.port, n.local.port);
  assert.equal(p.local.priority, n.remote.priority);
  assert.equal(
    p.transport.iceRole,
    n.transport.iceRole === "controlling" ? "controlled" : "controlling",
  );
  // Live counters: application data both ways, checks and consent answered.
  for (const k of ["bytesSent", "bytesReceived", "packetsSent", "packetsReceived"]) {
    assert.ok(
      p.pair[k] > (first.pair?.[k] ?? 0),
      `pair.${k} grew: ${first.pair?.[k]} → ${p.pair[k]}`,
    );
    assert.ok(p.transport[k] >= p.pair[k], `transport.${k} ≥ pair.${k}`);
  }
  assert.ok(p.pair.requestsSent + p.pair.consentRequestsSent > (first.pair?.requestsSent ?? 0));
  assert.ok(p.pair.responsesReceived >= 1);
  assert.ok(p.pair.requestsReceived >= 1);
  assert.ok(p.pair.currentRoundTripTime >= 0 && p.pair.currentRoundTripTime < 1);
  assert.ok(p.pair.lastPacketReceivedTimestamp > first.transport.timestamp - 1);
  await call("close", native.id);
  await call("close", poly.id);
});

test("iceCandidatePoolSize: the allocation exists before setLocalDescription and serves gathering", async () => {
  const own = await startRelay();
  try {
    const config = (pool) => ({
      iceServers: [{ urls: own.ws, username: USER, credential: PASSWORD }],
      iceCandidatePoolSize: pool,
    });
    const active = () => own.metric("turn_allocations_active");
    const waitFor = async (what, f) => {
      for (let i = 0; i < 100; i++) {
        if (await f()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail(`timed out waiting for ${what} (active ${await active()})`);
    };
    // Pool size 0: nothing before setLocalDescription.
    const plain = await call("create", "polyfill", config(0));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await active(), 0);
    // Pool size 1: the allocation is made right after construction.
    const pooled = await call("create", "polyfill", config(1));
    await waitFor("a pooled allocation", async () => (await active()) === 1);
    // Gathering takes the pooled allocation (no new one) and its candidate comes sooner.
    const created = await own.metric("turn_allocations_created_total");
    const withPool = await call("timeToFirstCandidate", pooled);
    const withoutPool = await call("timeToFirstCandidate", plain);
    assert.equal(
      await own.metric("turn_allocations_created_total"),
      created + 1,
      "only the unpooled connection allocated",
    );
    assert.ok(withPool < withoutPool, `pooled ${withPool} ms, unpooled ${withoutPool} ms`);
    // close() releases both allocations.
    await call("close", pooled);
    await call("close", plain);
    await waitFor("release on close", async () => (await active()) === 0);
    // Reducing the pool size to 0 before setLocalDescription releases the pooled allocation.
    const shrink = await call("create", "polyfill", config(2));
    await waitFor("a pooled allocation", async () => (await active()) === 1);
    await call("setConfiguration", shrink, config(0));
    await waitFor("release on shrink", async () => (await active()) === 0);
    await call("close", shrink);
    console.log(
      `pool: first candidate after SLD ${withPool.toFixed(1)} ms pooled, ${withoutPool.toFixed(1)} ms unpooled`,
    );
  } finally {
    own.stop();
  }
});
