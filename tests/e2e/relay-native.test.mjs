// polyrtc-relay as the only TURN server of native Chromium: two native RTCPeerConnections with
// `iceTransportPolicy: "relay"` connect through it and exchange data-channel messages, over TURN
// on UDP and on TCP, with long-term and with time-limited (HMAC, "TURN REST API") credentials.
// A wrong password yields no relay candidate. The relay's /metrics must show the traffic.
// Loopback only: run inside scripts/netns.sh (the relay allows loopback peers for this test).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, startServer, launchBrowser } from "./harness.mjs";

const SECRET = "e2e-shared-secret";
let relay, server, browser, page, turnPort, metricsPort;

function relayBinary() {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(REPO_ROOT, "target");
  const bin = path.join(target, "debug", "polyrtc-relay");
  const built = spawnSync("cargo", ["build", "--quiet", "-p", "polyrtc-relay"], {
    cwd: REPO_ROOT,
    stdio: "inherit",
  });
  assert.equal(built.status, 0, "cargo build -p polyrtc-relay failed");
  return bin;
}

async function metrics() {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  const text = await res.text();
  // Sum every series of a metric, labelled (`name{transport="udp"} 3`) or not (`name 3`).
  const value = (name) =>
    [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, "gm"))].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  return { text, value };
}

before(async () => {
  turnPort = 20000 + Math.floor(Math.random() * 20000);
  metricsPort = turnPort + 1;
  relay = spawn(
    relayBinary(),
    [
      "--listen",
      `127.0.0.1:${turnPort}`,
      "--metrics-listen",
      `127.0.0.1:${metricsPort}`,
      "--relay-ip",
      "127.0.0.1",
      "--user",
      "alice:wonderland",
      "--static-auth-secret",
      SECRET,
      "--allow-loopback-peers",
      "--log",
      "warn",
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${metricsPort}/health`)).ok) break;
    } catch {
      if (i > 100) throw new Error("polyrtc-relay did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto(`${server.origin}/www/blank.html`);
  // Chromium gathers on loopback only after a getUserMedia grant (see ../shared/DESIGN.md).
  await page.evaluate(() => navigator.mediaDevices.getUserMedia({ audio: true }));
});

after(async () => {
  await browser?.close();
  await server?.close();
  relay?.kill("SIGTERM");
});

/** Two native relay-only peers; resolves with what each side saw. */
function call(iceServer) {
  return page.evaluate(async (iceServer) => {
    const config = { iceServers: [iceServer], iceTransportPolicy: "relay" };
    const a = new RTCPeerConnection(config);
    const b = new RTCPeerConnection(config);
    const seen = { a: [], b: [], errors: [] };
    for (const [name, pc, other] of [
      ["a", a, b],
      ["b", b, a],
    ]) {
      pc.onicecandidate = (e) => {
        if (e.candidate) {
          seen[name].push(e.candidate.candidate);
          other.addIceCandidate(e.candidate).catch((err) => seen.errors.push(String(err)));
        }
      };
      pc.onicecandidateerror = (e) => seen.errors.push(`${name} ${e.errorCode} ${e.errorText}`);
    }
    const dc = a.createDataChannel("relay-test");
    const gotB = new Promise((resolve) => {
      b.ondatachannel = (e) => {
        e.channel.onmessage = (m) => {
          e.channel.send(`echo:${m.data}`);
          resolve(m.data);
        };
      };
    });
    const gotA = new Promise((resolve) => (dc.onmessage = (m) => resolve(m.data)));
    dc.onopen = () => dc.send("hello through polyrtc-relay");
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    const timeout = new Promise((r) => setTimeout(() => r("TIMEOUT"), 15000));
    const atB = await Promise.race([gotB, timeout]);
    const atA = await Promise.race([gotA, timeout]);
    const pairs = {};
    for (const [name, pc] of [
      ["a", a],
      ["b", b],
    ]) {
      const stats = await pc.getStats();
      for (const s of stats.values()) {
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
          pairs[name] = {
            local: stats.get(s.localCandidateId)?.candidateType,
            remote: stats.get(s.remoteCandidateId)?.candidateType,
            relayProtocol: stats.get(s.localCandidateId)?.relayProtocol,
          };
        }
      }
    }
    const states = [a.connectionState, b.connectionState];
    a.close();
    b.close();
    return { atA, atB, seen, pairs, states };
  }, iceServer);
}

function assertRelayedCall(r, relayProtocol) {
  assert.equal(r.atB, "hello through polyrtc-relay", JSON.stringify(r));
  assert.equal(r.atA, "echo:hello through polyrtc-relay");
  assert.deepEqual(r.states, ["connected", "connected"]);
  for (const side of ["a", "b"]) {
    assert.ok(r.seen[side].length > 0, `${side} gathered no candidate`);
    for (const c of r.seen[side]) assert.match(c, / typ relay /, `${side}: ${c}`);
    assert.deepEqual(r.pairs[side], { local: "relay", remote: "relay", relayProtocol });
  }
}

test("native peers connect through polyrtc-relay over TURN/UDP (long-term credentials)", async () => {
  const before = (await metrics()).value("turn_allocations_created_total");
  const r = await call({
    urls: `turn:127.0.0.1:${turnPort}?transport=udp`,
    username: "alice",
    credential: "wonderland",
  });
  assertRelayedCall(r, "udp");
  const m = await metrics();
  assert.ok(m.value("turn_allocations_created_total") >= before + 2, m.text);
  // Both allocations live on this relay, so their packets take the intra-relay shortcut (or,
  // with it off, the peer sockets): either way the relay carried them.
  const relayed = m.value("turn_intra_relay_packets_total") + m.value("turn_peer_tx_packets_total");
  assert.ok(relayed > 0, m.text);
  assert.ok(m.value("turn_client_rx_bytes_total") > 0, m.text);
});

test("native peers connect through polyrtc-relay over TURN/TCP", async () => {
  const r = await call({
    urls: `turn:127.0.0.1:${turnPort}?transport=tcp`,
    username: "alice",
    credential: "wonderland",
  });
  assertRelayedCall(r, "tcp");
});

test("time-limited HMAC credentials (TURN REST API scheme) work", async () => {
  const username = `${Math.floor(Date.now() / 1000) + 600}:bob`;
  const credential = crypto.createHmac("sha1", SECRET).update(username).digest("base64");
  const r = await call({ urls: `turn:127.0.0.1:${turnPort}?transport=udp`, username, credential });
  assertRelayedCall(r, "udp");
});

test("a wrong password gives no relay candidate and counts as an auth failure", async () => {
  const before = (await metrics()).value("turn_auth_failures_total");
  const r = await page.evaluate(async (port) => {
    const pc = new RTCPeerConnection({
      iceServers: [
        { urls: `turn:127.0.0.1:${port}?transport=udp`, username: "alice", credential: "nope" },
      ],
      iceTransportPolicy: "relay",
    });
    const candidates = [];
    const errors = [];
    pc.onicecandidate = (e) => e.candidate && candidates.push(e.candidate.candidate);
    pc.onicecandidateerror = (e) => errors.push(e.errorCode);
    pc.createDataChannel("x");
    await pc.setLocalDescription();
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
      setTimeout(resolve, 10000);
    });
    const state = pc.iceGatheringState;
    pc.close();
    return { candidates, errors, state };
  }, turnPort);
  assert.deepEqual(r.candidates, []);
  assert.equal(r.state, "complete");
  assert.ok(r.errors.includes(401), `icecandidateerror codes: ${JSON.stringify(r.errors)}`);
  const after = (await metrics()).value("turn_auth_failures_total");
  assert.ok(after > before, `auth failures ${before} -> ${after}`);
});

/** install({ mode: "probe" }) in the test page against the given TURN URL; then uninstall(). */
function probe(turnUrl) {
  return page.evaluate(async (turnUrl) => {
    const P = await import("/js/index.js");
    await P.ready;
    const Native = window.RTCPeerConnection;
    const info = await P.install({
      mode: "probe",
      probeTimeoutMs: 4000,
      relay: {
        url: "ws://127.0.0.1:9/turn",
        username: "alice",
        credential: "wonderland",
        turnUrls: [turnUrl],
      },
    });
    const replaced = window.RTCPeerConnection !== Native;
    P.uninstall();
    return { installed: info.installed, replaced, restored: window.RTCPeerConnection === Native };
  }, turnUrl);
}

test('install({ mode: "probe" }) keeps native WebRTC when it reaches the relay over TURN', async () => {
  const r = await probe(`turn:127.0.0.1:${turnPort}?transport=udp`);
  assert.deepEqual(r, { installed: false, replaced: false, restored: true });
});

test('install({ mode: "probe" }) installs the polyfill when native WebRTC cannot reach TURN', async () => {
  // Nothing listens on this port: native gathering yields no relay candidate.
  const r = await probe(`turn:127.0.0.1:${turnPort + 2}?transport=udp`);
  assert.deepEqual(r, { installed: true, replaced: true, restored: true });
});
