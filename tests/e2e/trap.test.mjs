// Trap containment (DESIGN.md: a Rust panic is a wasm trap; only the connections living in the
// trapped instance may fail, and new connections must work). Uses the shim's test-only hook.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSession } from "./harness.mjs";

let session;
before(async () => {
  session = await startSession({ pagePath: null });
});
after(async () => {
  await session?.close();
});

test("a trap fails the connections of the trapped instance; a new RTCPeerConnection works", async (tc) => {
  const page = await session.openPage("/tests/pages/blank.html", "__blankReady");
  const r = await page.evaluate(async () => {
    const P = await import("/js/index.js");
    await P.ready;
    const hooks = P.__testing ?? P.testing;
    if (!hooks || typeof hooks.trap !== "function") return { noHook: Object.keys(P).sort() };
    const flush = (ms = 100) => new Promise((r) => setTimeout(r, ms));
    const err = (e) => ({ name: e?.name, dom: e instanceof DOMException });
    const settle = (p) => p.then(() => "ok", err);

    const a = new P.RTCPeerConnection();
    const b = new P.RTCPeerConnection();
    const events = { a: [], b: [] };
    for (const [n, pc] of [
      ["a", a],
      ["b", b],
    ]) {
      pc.addEventListener("connectionstatechange", () => events[n].push(pc.connectionState));
    }
    a.createDataChannel("x");
    a.addTransceiver("audio");
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    const serialBefore = hooks.liveSerial;
    // Queue operations behind a chained one so some are pending when the trap happens.
    const pendingB1 = settle(b.setLocalDescription());
    const pendingB2 = settle(b.addIceCandidate());
    let trapCall;
    try {
      hooks.trap();
      trapCall = "no throw";
    } catch (e) {
      trapCall = err(e);
    }
    await flush();
    const out = {
      trapCall,
      serialChanged: hooks.liveSerial !== serialBefore,
      connectionState: [a.connectionState, b.connectionState],
      events,
      pending: [await pendingB1, await pendingB2],
      after: {
        createOffer: await settle(a.createOffer()),
        setLocalDescription: await settle(a.setLocalDescription({ type: "rollback" })),
        addIceCandidate: await settle(b.addIceCandidate()),
      },
    };
    // A new connection (in the spare / restarted instance) works.
    const c = new P.RTCPeerConnection();
    const d = new P.RTCPeerConnection();
    c.createDataChannel("y");
    const offer = await c.createOffer();
    await c.setLocalDescription(offer);
    await d.setRemoteDescription(c.localDescription);
    await d.setLocalDescription();
    await c.setRemoteDescription(d.localDescription);
    out.fresh = {
      offer: offer.type,
      c: c.signalingState,
      d: d.signalingState,
      cState: c.connectionState,
    };
    const cert = await P.RTCPeerConnection.generateCertificate({
      name: "ECDSA",
      namedCurve: "P-256",
    });
    out.certAfterTrap = typeof cert.expires;
    for (const pc of [a, b, c, d]) pc.close();
    return out;
  });
  tc.diagnostic(JSON.stringify(r));
  assert.ok(
    !r.noHook,
    `no test trap hook (P.__testing.trap) in js/index.js exports: ${JSON.stringify(r.noHook)}`,
  );
  assert.deepEqual(r.trapCall, { name: "OperationError", dom: true });
  assert.equal(r.serialChanged, true, "a new instance replaces the trapped one");
  assert.deepEqual(r.connectionState, ["failed", "failed"]);
  assert.deepEqual(r.events, { a: ["failed"], b: ["failed"] });
  for (const p of r.pending) {
    assert.ok(
      p === "ok" || (p.name === "OperationError" && p.dom),
      `pending op: ${JSON.stringify(p)}`,
    );
  }
  assert.ok(
    r.pending.some((p) => p !== "ok"),
    "operations pending at the trap reject with OperationError",
  );
  for (const [k, v] of Object.entries(r.after)) {
    assert.deepEqual(v, { name: "OperationError", dom: true }, `${k} on a trapped connection`);
  }
  assert.deepEqual(r.fresh, {
    offer: "offer",
    c: "stable",
    d: "stable",
    cState: r.fresh.cState,
  });
  assert.equal(r.certAfterTrap, "number");
});
