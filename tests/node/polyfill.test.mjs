// polyrtc in plain Node 20 (no browser): the shim loads the wasm from disk, two peers negotiate,
// errors are real DOMExceptions, and a trap in one instance leaves new connections working.
import { test } from "node:test";
import assert from "node:assert/strict";

const P = await import("../../js/index.js");
await P.ready;

test("two polyrtc peers negotiate to stable in Node", async () => {
  const a = new P.RTCPeerConnection();
  const b = new P.RTCPeerConnection();
  const states = [];
  a.onsignalingstatechange = () => states.push(`a:${a.signalingState}`);
  b.onsignalingstatechange = () => states.push(`b:${b.signalingState}`);
  const dc = a.createDataChannel("node");
  assert.equal(dc.readyState, "connecting");
  a.addTransceiver("audio");
  await a.setLocalDescription();
  assert.match(a.localDescription.sdp, /m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel/);
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  assert.deepEqual(states, ["a:have-local-offer", "b:have-remote-offer", "b:stable", "a:stable"]);
  // b has no track to send: it answers recvonly, so a ends up sendonly.
  assert.equal(a.getTransceivers()[0].currentDirection, "sendonly");
  assert.equal(b.getTransceivers()[0].currentDirection, "recvonly");
  a.close();
  b.close();
  assert.equal(a.signalingState, "closed");
});

test("errors are DOMExceptions with the spec's names", async () => {
  const pc = new P.RTCPeerConnection();
  await assert.rejects(
    pc.createAnswer(),
    (e) => e instanceof DOMException && e.name === "InvalidStateError",
  );
  assert.throws(() => pc.createDataChannel("x", { negotiated: true }), TypeError);
  assert.throws(
    () => new P.RTCPeerConnection({ iceServers: [{ urls: "turn:example.org" }] }),
    (e) => e instanceof DOMException && e.name === "InvalidAccessError",
  );
  pc.close();
  await assert.rejects(pc.createOffer(), (e) => e.name === "InvalidStateError");
});

test("a trap fails the connections of its instance only; new ones work", async () => {
  const victim = new P.RTCPeerConnection();
  const failed = new Promise((resolve) => (victim.onconnectionstatechange = resolve));
  const before = P.__testing.liveSerial;
  assert.throws(
    () => P.__testing.trap(),
    (e) => e.name === "OperationError",
  );
  await failed;
  assert.equal(victim.connectionState, "failed");
  await assert.rejects(victim.createOffer(), (e) => e.name === "OperationError");
  // The spare takes over at once if it was warm; otherwise a replacement loads (0 = none yet).
  for (let i = 0; i < 250; i++) {
    const serial = P.__testing.liveSerial;
    if (serial !== 0 && serial !== before) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(P.__testing.liveSerial > before, `live instance ${P.__testing.liveSerial}`);
  const fresh = new P.RTCPeerConnection();
  const offer = await fresh.createOffer({ offerToReceiveAudio: true });
  assert.match(offer.sdp, /m=audio/);
  fresh.close();
});
