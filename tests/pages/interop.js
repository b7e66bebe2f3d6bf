// Cross-implementation offer/answer flows: `flows[name](offererEnv, answererEnv, t)`. The Node
// test runs each flow for every pairing (native→native is the oracle; polyfill→polyfill,
// polyfill→native, native→polyfill must produce the same facts).

import { mlineKinds, mlineDirections, mids } from "./runtime.js";

function sideFacts(pc) {
  return {
    signalingState: pc.signalingState,
    transceivers: pc.getTransceivers().map((x) => ({
      kind: x.receiver.track.kind,
      direction: x.direction,
      currentDirection: x.currentDirection,
      hasMid: typeof x.mid === "string",
    })),
    // sctp.state is left out: native peers may connect over loopback candidates meanwhile.
    sctp: pc.sctp === null ? null : { maxMessageSize: typeof pc.sctp.maxMessageSize },
    canTrickle: pc.canTrickleIceCandidates,
    currentLocal: pc.currentLocalDescription?.type ?? null,
    currentRemote: pc.currentRemoteDescription?.type ?? null,
  };
}

function bundleCoversAll(sdp) {
  const g = sdp.match(/a=group:BUNDLE ([^\r\n]*)/);
  if (!g) return false;
  const bundled = g[1].trim().split(/\s+/).sort();
  return (
    JSON.stringify(bundled) ===
    JSON.stringify(
      mids(sdp)
        .filter((m) => m !== null)
        .sort(),
    )
  );
}

function sdpFacts(sdp) {
  return {
    kinds: mlineKinds(sdp),
    directions: mlineDirections(sdp),
    bundleCoversAll: bundleCoversAll(sdp),
    fingerprint: /a=fingerprint:sha-256 ([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}/.test(sdp),
    setup: [...new Set(sdp.match(/a=setup:\w+/g) ?? [])],
    iceUfrag: /a=ice-ufrag:\S{4,}/.test(sdp),
    icePwd: /a=ice-pwd:\S{22,}/.test(sdp),
    rtcpMux: sdp
      .split(/\r?\nm=/)
      .slice(1)
      .filter((s) => !s.startsWith("application"))
      .every((s) => /a=rtcp-mux/.test(s)),
    sctpPort: /a=sctp-port:\d+/.test(sdp),
  };
}

/** Mids of both sides agree (the answerer must echo the offerer's mids). */
function midsAgree(a, b) {
  const ma = a.getTransceivers().map((x) => x.mid);
  const mb = b.getTransceivers().map((x) => x.mid);
  return {
    offerer: ma.length,
    answerer: mb.length,
    equal: JSON.stringify(ma) === JSON.stringify(mb),
  };
}

async function exchange(a, b, t) {
  const offer = await a.createOffer();
  t.log("offer", sdpFacts(offer.sdp));
  await t.attempt("offerer SLD", () => a.setLocalDescription(offer));
  await t.attempt("answerer SRD(offer)", () => b.setRemoteDescription(a.localDescription));
  const answer = await t.attempt(
    "answerer createAnswer",
    () => b.createAnswer(),
    (d) => d.type,
  );
  if (!answer) return false;
  t.log("answer", sdpFacts(answer.sdp));
  await t.attempt("answerer SLD", () => b.setLocalDescription(answer));
  await t.attempt("offerer SRD(answer)", () => a.setRemoteDescription(b.localDescription));
  return true;
}

function pcOf(env, t, config) {
  const pc = config ? new env.RTCPeerConnection(config) : new env.RTCPeerConnection();
  t.own(pc);
  return pc;
}

export const flows = {
  "datachannel-audio-video-transceivers": async (A, B, t) => {
    const a = pcOf(A, t);
    const b = pcOf(B, t);
    a.createDataChannel("chat");
    a.addTransceiver("audio");
    a.addTransceiver("video");
    await exchange(a, b, t);
    t.log("offerer", sideFacts(a));
    t.log("answerer", sideFacts(b));
    t.log("mids", midsAgree(a, b));
  },

  "tracks-with-streams": async (A, B, t) => {
    const a = pcOf(A, t);
    const b = pcOf(B, t);
    const s = await t.media({ audio: true, video: true });
    for (const tr of s.getTracks()) a.addTrack(tr, s);
    const events = [];
    b.ontrack = (e) =>
      events.push({
        kind: e.track.kind,
        streams: e.streams.length,
        sameStreamId: e.streams[0]?.id === s.id,
        trackIsReceivers: e.track === e.receiver.track,
      });
    await exchange(a, b, t);
    t.log("track events", events);
    t.log("offerer", sideFacts(a));
    t.log("answerer", sideFacts(b));
    t.log("mids", midsAgree(a, b));
  },

  "answerer-sends-back": async (A, B, t) => {
    const a = pcOf(A, t);
    const b = pcOf(B, t);
    a.addTransceiver("audio", { direction: "recvonly" });
    a.addTransceiver("video", { direction: "sendrecv" });
    const bt = await t.track("audio");
    b.addTrack(bt);
    const tracksA = [];
    a.ontrack = (e) => tracksA.push([e.track.kind, e.streams.length]);
    await exchange(a, b, t);
    t.log("offerer", sideFacts(a));
    t.log("answerer", sideFacts(b));
    t.log("mids", midsAgree(a, b), "offerer tracks", tracksA);
  },

  "renegotiation-both-directions": async (A, B, t) => {
    const a = pcOf(A, t);
    const b = pcOf(B, t);
    a.createDataChannel("d");
    await exchange(a, b, t);
    t.log("round 1", sideFacts(a), sideFacts(b));
    // The answerer now offers: adds media in the other direction.
    b.addTransceiver("video");
    await exchange(b, a, t);
    t.log("round 2", sideFacts(a), sideFacts(b), midsAgree(b, a));
    a.getTransceivers()[0].direction = "inactive";
    await exchange(a, b, t);
    t.log("round 3", sideFacts(a), sideFacts(b));
  },

  "max-bundle-and-rollback": async (A, B, t) => {
    const a = pcOf(A, t, { bundlePolicy: "max-bundle" });
    const b = pcOf(B, t);
    a.addTransceiver("audio");
    a.createDataChannel("x");
    await a.setLocalDescription();
    await t.attempt("answerer SRD", () => b.setRemoteDescription(a.localDescription));
    await t.attempt("answerer rollback", () => b.setRemoteDescription({ type: "rollback" }));
    t.log(b.signalingState, b.getTransceivers().length);
    await t.attempt("answerer SRD again", () => b.setRemoteDescription(a.localDescription));
    await t.attempt("answerer SLD()", () => b.setLocalDescription());
    await t.attempt("offerer SRD", () => a.setRemoteDescription(b.localDescription));
    t.log("offerer", sideFacts(a), "answerer", sideFacts(b), midsAgree(a, b));
    t.log("answer", sdpFacts(b.localDescription.sdp));
  },

  "legacy-offer-to-receive-and-candidates": async (A, B, t) => {
    const a = pcOf(A, t);
    const b = pcOf(B, t);
    const offer = await a.createOffer({
      offerToReceiveAudio: true,
      offerToReceiveVideo: true,
    });
    t.log("offer", sdpFacts(offer.sdp));
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(a.localDescription);
    const mid = b.getTransceivers()[0].mid;
    await t.attempt("answerer addIceCandidate", () =>
      b.addIceCandidate({
        candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        sdpMid: mid,
      }),
    );
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    await t.attempt("offerer addIceCandidate", () =>
      a.addIceCandidate({
        candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50001 typ host",
        sdpMid: mid,
      }),
    );
    t.log("offerer", sideFacts(a), "answerer", sideFacts(b), midsAgree(a, b));
  },
};
