// JSEP signaling state machine (webrtc-pc §4.3.1, §4.4.1.5-6): transitions, events in order,
// description getters, wrong-state and malformed-description errors, rollback, implicit SLD.

import { descs, mlineKinds } from "./util.js";

const SIG = ["signalingstatechange", "negotiationneeded"];

function pair(t) {
  const a = t.pc();
  const b = t.pc();
  t.events(a, SIG, { label: "a" });
  t.events(b, SIG, { label: "b" });
  return [a, b];
}

export const signaling = {
  "offer-answer-events-and-getters": async (env, t) => {
    const [a, b] = pair(t);
    a.createDataChannel("x");
    await t.flush();
    t.log("initial", descs(a), descs(b));
    const offer = await t.attempt(
      "createOffer",
      () => a.createOffer(),
      (d) => [d.type, typeof d.sdp, mlineKinds(d.sdp)],
    );
    t.log("after createOffer", a.signalingState, descs(a));
    await t.attempt("a.SLD(offer)", () => a.setLocalDescription(offer));
    t.log("a", descs(a));
    await t.attempt("b.SRD(offer)", () => b.setRemoteDescription(offer));
    t.log("b", descs(b));
    const answer = await t.attempt(
      "createAnswer",
      () => b.createAnswer(),
      (d) => [d.type, mlineKinds(d.sdp)],
    );
    await t.attempt("b.SLD(answer)", () => b.setLocalDescription(answer));
    t.log("b", descs(b));
    await t.attempt("a.SRD(answer)", () => a.setRemoteDescription(answer));
    t.log("a", descs(a));
    await t.flush();
    t.log(a.signalingState, b.signalingState);
  },

  "offer-answer-resolved-value-shapes": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    a.addTransceiver("audio");
    const offer = await a.createOffer();
    t.log(
      "offer",
      Object.prototype.toString.call(offer),
      offer instanceof env.RTCSessionDescription,
      Object.keys(offer).sort(),
    );
    t.log(
      "offer.toJSON",
      typeof offer.toJSON === "function" ? Object.keys(offer.toJSON()).sort() : "no toJSON",
    );
    t.log("SLD resolves", await a.setLocalDescription(offer));
    t.log(
      "localDescription",
      a.localDescription instanceof env.RTCSessionDescription,
      a.localDescription === a.localDescription,
    );
    t.log("SRD resolves", await b.setRemoteDescription(offer));
    const answer = await b.createAnswer();
    t.log("answer", Object.prototype.toString.call(answer), answer.type);
    t.log("addIceCandidate resolves", await b.addIceCandidate());
  },

  "pranswer-flow": async (env, t) => {
    const [a, b] = pair(t);
    a.addTransceiver("audio");
    await t.flush();
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    const answer = await b.createAnswer();
    await t.attempt("b.SLD(pranswer)", () =>
      b.setLocalDescription({ type: "pranswer", sdp: answer.sdp }),
    );
    t.log("b", b.signalingState, descs(b));
    await t.attempt("a.SRD(pranswer)", () =>
      a.setRemoteDescription({ type: "pranswer", sdp: answer.sdp }),
    );
    t.log("a", a.signalingState, descs(a));
    await t.attempt("b.SLD(pranswer) again", () =>
      b.setLocalDescription({ type: "pranswer", sdp: answer.sdp }),
    );
    const final = await t.attempt(
      "b.createAnswer in have-local-pranswer",
      () => b.createAnswer(),
      (d) => d.type,
    );
    await t.attempt("b.SLD(answer)", () =>
      b.setLocalDescription({ type: "answer", sdp: final.sdp }),
    );
    await t.attempt("a.SRD(answer)", () =>
      a.setRemoteDescription({ type: "answer", sdp: final.sdp }),
    );
    t.log("final", a.signalingState, b.signalingState, descs(a), descs(b));
    await t.flush();
  },

  "sld-answer-from-earlier-create-answer": async (env, t) => {
    const [a, b] = pair(t);
    a.addTransceiver("audio");
    await t.flush();
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    const first = await b.createAnswer();
    const second = await b.createAnswer();
    t.log("same SDP text", first.sdp === second.sdp);
    await t.attempt("SLD(first answer) after a second createAnswer", () =>
      b.setLocalDescription(first),
    );
    t.log(b.signalingState);
    await t.flush();
  },

  "rollback-local": async (env, t) => {
    const [a] = pair(t);
    a.addTransceiver("video");
    await t.flush();
    await a.setLocalDescription(await a.createOffer());
    t.log(descs(a), a.getTransceivers()[0].mid === null);
    await t.attempt("SLD rollback", () => a.setLocalDescription({ type: "rollback" }));
    t.log(a.signalingState, descs(a), a.getTransceivers().length, a.getTransceivers()[0].mid);
    await t.flush();
  },

  "rollback-remote": async (env, t) => {
    const [a, b] = pair(t);
    a.addTransceiver("audio");
    a.createDataChannel("d");
    await a.setLocalDescription();
    await t.attempt("b.SRD(offer)", () => b.setRemoteDescription(a.localDescription));
    t.log(b.getTransceivers().length, descs(b));
    await t.attempt("b.SRD(rollback)", () => b.setRemoteDescription({ type: "rollback" }));
    t.log(b.signalingState, descs(b), b.getTransceivers().length);
    await b.setRemoteDescription(a.localDescription);
    await t.attempt("b.SLD(rollback) in have-remote-offer", () =>
      b.setLocalDescription({ type: "rollback" }),
    );
    t.log(b.signalingState, descs(b));
    await t.flush();
  },

  "rollback-in-stable": async (env, t) => {
    const [a] = pair(t);
    await t.attempt("SLD rollback in stable", () => a.setLocalDescription({ type: "rollback" }));
    await t.attempt("SRD rollback in stable", () => a.setRemoteDescription({ type: "rollback" }));
    t.log(a.signalingState);
    await t.flush();
  },

  "implicit-sld-offer-and-answer": async (env, t) => {
    const [a, b] = pair(t);
    a.createDataChannel("x");
    await t.flush();
    await t.attempt("a.SLD()", () => a.setLocalDescription());
    t.log(a.signalingState, a.localDescription.type, mlineKinds(a.localDescription.sdp));
    await b.setRemoteDescription(a.localDescription);
    await t.attempt("b.SLD()", () => b.setLocalDescription());
    t.log(b.signalingState, b.localDescription.type, mlineKinds(b.localDescription.sdp));
    await t.attempt("a.SRD(answer)", () => a.setRemoteDescription(b.localDescription));
    await t.attempt(
      "a.SLD({}) in stable",
      () => a.setLocalDescription({}),
      () => a.localDescription.type,
    );
    t.log(a.signalingState);
    await a
      .setRemoteDescription({ type: "rollback" })
      .catch((e) => t.log("rollback remote", e.name));
    await t.flush();
  },

  "implicit-rollback-on-remote-offer": async (env, t) => {
    const [a, b] = pair(t);
    a.createDataChannel("a");
    b.createDataChannel("b");
    await t.flush();
    await a.setLocalDescription();
    await b.setLocalDescription();
    t.log("both have-local-offer", a.signalingState, b.signalingState);
    // Perfect negotiation, polite peer: SRD(offer) in have-local-offer rolls back implicitly.
    await t.attempt("a.SRD(b offer)", () => a.setRemoteDescription(b.localDescription));
    t.log(a.signalingState, descs(a));
    await t.attempt("a.SLD()", () => a.setLocalDescription());
    t.log(a.localDescription.type);
    await t.attempt("b.SRD(answer)", () => b.setRemoteDescription(a.localDescription));
    await t.flush();
    t.log(a.signalingState, b.signalingState);
  },

  "glare-explicit-rollback": async (env, t) => {
    const [a, b] = pair(t);
    a.addTransceiver("audio");
    b.addTransceiver("video");
    await t.flush();
    const offerA = await a.createOffer();
    const offerB = await b.createOffer();
    await a.setLocalDescription(offerA);
    await b.setLocalDescription(offerB);
    await t.attempt("a rollback", () => a.setLocalDescription({ type: "rollback" }));
    await t.attempt("a.SRD(offerB)", () => a.setRemoteDescription(offerB));
    const ans = await a.createAnswer();
    await t.attempt("a.SLD(answer)", () => a.setLocalDescription(ans));
    await t.attempt("b.SRD(answer)", () => b.setRemoteDescription(ans));
    await t.flush();
    t.log(
      a.signalingState,
      b.signalingState,
      a.getTransceivers().length,
      b.getTransceivers().length,
    );
    t.log(
      a.getTransceivers().map((x) => x.currentDirection),
      b.getTransceivers().map((x) => x.currentDirection),
    );
  },

  "create-answer-wrong-state": async (env, t) => {
    const [a] = pair(t);
    await t.attempt("createAnswer in stable", () => a.createAnswer());
    a.addTransceiver("audio");
    await a.setLocalDescription();
    await t.attempt("createAnswer in have-local-offer", () => a.createAnswer());
    a.close();
    await t.attempt("createAnswer closed", () => a.createAnswer());
  },

  "sld-srd-wrong-type-for-state": async (env, t) => {
    const [a, b] = pair(t);
    a.addTransceiver("audio");
    await t.flush(); // negotiationneeded timing is its own scenario
    const offer = await a.createOffer();
    await t.attempt("a.SLD(answer) in stable", () =>
      a.setLocalDescription({ type: "answer", sdp: offer.sdp }),
    );
    await t.attempt("a.SLD(pranswer) in stable", () =>
      a.setLocalDescription({ type: "pranswer", sdp: offer.sdp }),
    );
    await t.attempt("b.SRD(answer) in stable", () =>
      b.setRemoteDescription({ type: "answer", sdp: offer.sdp }),
    );
    await t.attempt("b.SRD(pranswer) in stable", () =>
      b.setRemoteDescription({ type: "pranswer", sdp: offer.sdp }),
    );
    await a.setLocalDescription(offer);
    await t.attempt("a.SRD(offer) own offer in have-local-offer", () =>
      a.setRemoteDescription(offer),
    );
    t.log(a.signalingState);
    await b.setRemoteDescription(offer);
    await t.attempt("b.SLD(offer) in have-remote-offer", () =>
      b.setLocalDescription({ type: "offer", sdp: offer.sdp }),
    );
    await t.attempt(
      "b.createOffer in have-remote-offer",
      () => b.createOffer(),
      (d) => d.type,
    );
    t.log(a.signalingState, b.signalingState);
    await t.flush();
  },

  "srd-malformed": async (env, t) => {
    const [a] = pair(t);
    await t.attempt("SRD garbage", () => a.setRemoteDescription({ type: "offer", sdp: "garbage" }));
    await t.attempt("SRD empty sdp offer", () =>
      a.setRemoteDescription({ type: "offer", sdp: "" }),
    );
    await t.attempt("SRD missing sdp offer", () => a.setRemoteDescription({ type: "offer" }));
    await t.attempt("SRD no type", () => a.setRemoteDescription({ sdp: "v=0" }));
    await t.attempt("SRD bad type", () => a.setRemoteDescription({ type: "bogus", sdp: "v=0" }));
    await t.attempt("SRD no argument", () => a.setRemoteDescription());
    await t.attempt("SRD truncated", () =>
      a.setRemoteDescription({
        type: "offer",
        sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n",
      }),
    );
    t.log(a.signalingState, descs(a));
    await t.flush();
  },

  "srd-missing-ice-or-fingerprint": async (env, t) => {
    const [a, b] = pair(t);
    a.createDataChannel("x");
    await t.flush();
    const offer = await a.createOffer();
    const noUfrag = offer.sdp.replace(/a=ice-ufrag:.*\r\n/g, "");
    const noFp = offer.sdp.replace(/a=fingerprint:.*\r\n/g, "");
    await t.attempt("SRD without ice-ufrag", () =>
      b.setRemoteDescription({ type: "offer", sdp: noUfrag }),
    );
    await t.attempt("SRD without fingerprint", () =>
      b.setRemoteDescription({ type: "offer", sdp: noFp }),
    );
    t.log(b.signalingState);
    await t.flush();
  },

  "sld-modified-sdp": async (env, t) => {
    const [a] = pair(t);
    a.createDataChannel("x");
    await t.flush();
    const offer = await a.createOffer();
    const ufrag = offer.sdp.replace(/a=ice-ufrag:(\S+)/g, "a=ice-ufrag:modifiedufrag");
    const fp = offer.sdp.replace(
      /a=fingerprint:sha-256 (\S+)/gi,
      "a=fingerprint:sha-256 " + Array(32).fill("AB").join(":"),
    );
    await t.attempt("SLD modified ufrag", () =>
      a.setLocalDescription({ type: "offer", sdp: ufrag }),
    );
    await t.attempt("SLD modified fingerprint", () =>
      a.setLocalDescription({ type: "offer", sdp: fp }),
    );
    await t.attempt("SLD garbage", () => a.setLocalDescription({ type: "offer", sdp: "garbage" }));
    t.log(a.signalingState, descs(a));
    await t.attempt("SLD unmodified", () => a.setLocalDescription(offer));
    t.log(a.signalingState);
    await t.flush();
  },

  "sld-munged-m-sections": async (env, t) => {
    const [a] = pair(t);
    a.addTransceiver("audio");
    a.addTransceiver("video");
    await t.flush();
    const offer = await a.createOffer();
    const firstMid = offer.sdp.match(/a=mid:(\S+)/)[1];
    const cut = offer.sdp
      .slice(0, offer.sdp.indexOf("m=video"))
      .replace(/a=group:BUNDLE .*\r\n/, `a=group:BUNDLE ${firstMid}\r\n`);
    await t.attempt("SLD offer without its video m-section", () =>
      a.setLocalDescription({ type: "offer", sdp: cut }),
    );
    t.log(a.signalingState);
    await t.attempt("SLD unmodified", () => a.setLocalDescription(offer));
    t.log(a.signalingState);
    await t.flush();
  },

  "sld-offer-from-other-pc": async (env, t) => {
    const [a, b] = pair(t);
    a.createDataChannel("x");
    b.createDataChannel("y");
    await t.flush();
    const offerB = await b.createOffer();
    await t.attempt("a.SLD(b's offer)", () => a.setLocalDescription(offerB));
    t.log(a.signalingState);
    await t.flush();
  },

  "sld-stale-offer": async (env, t) => {
    const [a] = pair(t);
    a.addTransceiver("audio");
    await t.flush();
    const offer1 = await a.createOffer();
    a.addTransceiver("video");
    const offer2 = await a.createOffer();
    t.log(mlineKinds(offer1.sdp), mlineKinds(offer2.sdp));
    await t.attempt("SLD(offer1) after offer2", () => a.setLocalDescription(offer1));
    t.log(a.signalingState, a.localDescription ? mlineKinds(a.localDescription.sdp) : null);
    await t.flush();
  },

  "operations-chain-order": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["signalingstatechange"], { label: "a" });
    a.addTransceiver("audio");
    const order = [];
    const p1 = a.createOffer().then((o) => (order.push("createOffer"), o));
    const p2 = a.setLocalDescription().then(() => order.push(`SLD:${a.signalingState}`));
    const p3 = a
      .setLocalDescription({ type: "rollback" })
      .then(() => order.push(`rollback:${a.signalingState}`));
    const p4 = a.createAnswer().then(
      () => order.push("createAnswer ok"),
      (e) => order.push(`createAnswer ${e.name}`),
    );
    const p5 = b.addIceCandidate({ candidate: "", sdpMid: "0" }).then(
      () => order.push("b.aic ok"),
      (e) => order.push(`b.aic ${e.name}`),
    );
    await Promise.all([p1, p2, p3, p4, p5]);
    t.log(
      order.filter((x) => !x.startsWith("b.")),
      order.filter((x) => x.startsWith("b.")),
    );
    await t.flush();
  },

  "create-answer-queued-behind-srd": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    a.addTransceiver("audio");
    await a.setLocalDescription();
    // No await: createAnswer is queued behind the remote offer.
    const srd = b.setRemoteDescription(a.localDescription);
    const answer = b.createAnswer();
    await t.attempt("SRD", () => srd);
    await t.attempt(
      "createAnswer",
      () => answer,
      (d) => d.type,
    );
    const sld = b.setLocalDescription({ type: "rollback" });
    await t.attempt("createAnswer behind SLD(rollback)", () => b.createAnswer());
    await t.attempt("rollback", () => sld);
    t.log(b.signalingState);
    await t.flush();
  },

  "restart-ice": async (env, t) => {
    const [a, b] = pair(t);
    a.createDataChannel("x");
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    const ufrag = (s) => s.match(/a=ice-ufrag:(\S+)/)[1];
    const u1 = ufrag(a.localDescription.sdp);
    t.log("restartIce", a.restartIce());
    await t.flush();
    const o = await a.createOffer();
    t.log("ufrag changed", ufrag(o.sdp) !== u1);
    const o2 = await a.createOffer({ iceRestart: false });
    t.log("still restarting until negotiated", ufrag(o2.sdp) !== u1);
    await a.setLocalDescription(o2);
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    await t.flush();
    const o3 = await a.createOffer();
    t.log("after renegotiation", ufrag(o3.sdp) === ufrag(a.localDescription.sdp));
    const o4 = await a.createOffer({ iceRestart: true });
    t.log("iceRestart option", ufrag(o4.sdp) !== ufrag(a.localDescription.sdp));
    await t.flush();
  },

  "restart-ice-before-negotiation": async (env, t) => {
    const [a] = pair(t);
    t.log(a.restartIce());
    await t.flush();
    a.close();
    t.log(a.restartIce());
    await t.flush();
  },

  "renegotiation-adds-mlines": async (env, t) => {
    const [a, b] = pair(t);
    a.addTransceiver("audio");
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    t.log(mlineKinds(a.currentLocalDescription.sdp), descs(a), descs(b));
    a.addTransceiver("video");
    a.createDataChannel("late");
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    t.log(mlineKinds(a.currentLocalDescription.sdp), mlineKinds(b.currentLocalDescription.sdp));
    t.log(b.getTransceivers().map((x) => [x.receiver.track.kind, x.currentDirection]));
  },

  "create-offer-empty-pc": async (env, t) => {
    const [a, b] = pair(t);
    const o = await t.attempt(
      "createOffer no m-lines",
      () => a.createOffer(),
      (d) => [d.type, mlineKinds(d.sdp)],
    );
    await t.attempt("SLD", () => a.setLocalDescription(o));
    await t.attempt("b.SRD", () => b.setRemoteDescription(o));
    await t.attempt(
      "b.createAnswer",
      () => b.createAnswer(),
      (d) => mlineKinds(d.sdp),
    );
    await t.flush();
  },
};
