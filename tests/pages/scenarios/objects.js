// WebIDL surface: instanceof, toStringTag, event handler attributes, static methods, function
// lengths, readonly attributes, RTCSessionDescription, event constructors, legacy callbacks.

import { mlineKinds } from "./util.js";

const PC_HANDLERS = [
  "onnegotiationneeded",
  "onicecandidate",
  "onicecandidateerror",
  "onsignalingstatechange",
  "oniceconnectionstatechange",
  "onicegatheringstatechange",
  "onconnectionstatechange",
  "ontrack",
  "ondatachannel",
];

const PC_METHODS = [
  "createOffer",
  "createAnswer",
  "setLocalDescription",
  "setRemoteDescription",
  "addIceCandidate",
  "restartIce",
  "getConfiguration",
  "setConfiguration",
  "close",
  "getSenders",
  "getReceivers",
  "getTransceivers",
  "addTrack",
  "removeTrack",
  "addTransceiver",
  "createDataChannel",
  "getStats",
];

const PC_ATTRS = [
  "localDescription",
  "currentLocalDescription",
  "pendingLocalDescription",
  "remoteDescription",
  "currentRemoteDescription",
  "pendingRemoteDescription",
  "signalingState",
  "iceGatheringState",
  "iceConnectionState",
  "connectionState",
  "canTrickleIceCandidates",
  "sctp",
];

export const objects = {
  "idl-instanceof-and-tostringtag": async (env, t) => {
    const pc = t.pc();
    t.log(
      pc instanceof env.RTCPeerConnection,
      pc instanceof EventTarget,
      Object.prototype.toString.call(pc),
    );
    t.log(
      String(pc),
      env.RTCPeerConnection.name,
      Object.prototype.toString.call(env.RTCPeerConnection.prototype),
    );
    const dc = pc.createDataChannel("x");
    const tr = pc.addTransceiver("audio");
    const cert = await env.RTCPeerConnection.generateCertificate({
      name: "ECDSA",
      namedCurve: "P-256",
    });
    const cand = new env.RTCIceCandidate({ candidate: "", sdpMid: "0" });
    const sd = new env.RTCSessionDescription({ type: "offer", sdp: "" });
    for (const [n, o] of [
      ["dc", dc],
      ["transceiver", tr],
      ["sender", tr.sender],
      ["receiver", tr.receiver],
      ["certificate", cert],
      ["candidate", cand],
      ["description", sd],
    ]) {
      t.log(n, Object.prototype.toString.call(o), o.constructor.name, o instanceof EventTarget);
    }
  },

  "idl-prototype-shape": async (env, t) => {
    const P = env.RTCPeerConnection.prototype;
    const pc = t.pc();
    t.log("own keys", Object.keys(pc), Object.getOwnPropertyNames(pc));
    t.log(
      "methods",
      PC_METHODS.map((m) => [m, typeof P[m], P[m]?.length]),
    );
    t.log(
      "accessors",
      PC_ATTRS.map((a) => {
        const d = Object.getOwnPropertyDescriptor(P, a);
        return [a, !!d?.get, !!d?.set, d?.enumerable];
      }),
    );
    t.log("length", env.RTCPeerConnection.length);
    t.log(
      "static",
      typeof env.RTCPeerConnection.generateCertificate,
      env.RTCPeerConnection.generateCertificate?.length,
    );
    t.log("prototype chain", Object.getPrototypeOf(P) === EventTarget.prototype);
  },

  "idl-readonly-attributes": async (env, t) => {
    const pc = t.pc();
    for (const a of [
      "signalingState",
      "connectionState",
      "localDescription",
      "sctp",
      "canTrickleIceCandidates",
    ]) {
      await t.attempt(`assign ${a}`, () => {
        pc[a] = "x";
      });
      t.log(a, pc[a]);
    }
    await t.attempt("getter on wrong this", () =>
      Object.getOwnPropertyDescriptor(env.RTCPeerConnection.prototype, "signalingState").get.call(
        {},
      ),
    );
    await t.attempt("method on wrong this", () =>
      env.RTCPeerConnection.prototype.createOffer.call({}),
    );
    await t.attempt("sync method on wrong this", () =>
      env.RTCPeerConnection.prototype.getSenders.call({}),
    );
  },

  "idl-event-handler-attributes": async (env, t) => {
    const pc = t.pc();
    t.log(PC_HANDLERS.map((h) => [h, typeof pc[h], pc[h]]));
    const f = () => {};
    pc.onicecandidate = f;
    t.log("function", pc.onicecandidate === f);
    pc.onicecandidate = 123;
    t.log("number", pc.onicecandidate);
    pc.onicecandidate = f;
    pc.onicecandidate = "alert(1)";
    t.log("string", pc.onicecandidate);
    const obj = { handleEvent() {} };
    pc.onicecandidate = obj;
    t.log("object", pc.onicecandidate === obj ? "same object" : pc.onicecandidate);
    pc.onicecandidate = null;
    t.log("null", pc.onicecandidate);
  },

  "idl-handler-and-listener-order": async (env, t) => {
    const pc = t.pc();
    const order = [];
    pc.addEventListener("negotiationneeded", () => order.push("listener1"));
    pc.onnegotiationneeded = () => order.push("handler-first");
    pc.addEventListener("negotiationneeded", () => order.push("listener2"));
    pc.onnegotiationneeded = () => order.push("handler-replaced");
    pc.addTransceiver("audio");
    await t.flush();
    t.log(order);
    // isTrusted is not recorded: no script can dispatch a trusted event, so a JS polyfill's
    // events are always untrusted (README: inherent differences).
    const ev = [];
    pc.addEventListener("signalingstatechange", (e) =>
      ev.push([e.type, e.target === pc, e.bubbles, e.cancelable, e.constructor.name]),
    );
    await pc.setLocalDescription();
    t.log(ev);
  },

  "session-description-ctor": async (env, t) => {
    const SD = env.RTCSessionDescription;
    await t.attempt(
      "offer",
      () => new SD({ type: "offer", sdp: "v=0\r\n" }),
      (d) => [d.type, d.sdp, d.toJSON()],
    );
    await t.attempt(
      "no sdp",
      () => new SD({ type: "answer" }),
      (d) => [d.type, d.sdp, d.toJSON()],
    );
    await t.attempt(
      "rollback",
      () => new SD({ type: "rollback" }),
      (d) => [d.type, d.sdp],
    );
    await t.attempt("no type", () => new SD({ sdp: "x" }));
    await t.attempt("bad type", () => new SD({ type: "bogus" }));
    await t.attempt("no args", () => new SD());
    await t.attempt("without new", () => SD({ type: "offer" }));
    const d = new SD({ type: "offer", sdp: "x" });
    await t.attempt("assign type", () => {
      d.type = "answer";
    });
    t.log(d.type, JSON.stringify(d), Object.keys(d));
    t.log("sdp not validated", new SD({ type: "pranswer", sdp: "garbage" }).sdp);
  },

  "event-ctors": async (env, t) => {
    const pc = t.pc();
    const dc = pc.createDataChannel("x");
    await t.attempt(
      "RTCDataChannelEvent no init",
      () => new env.RTCDataChannelEvent("datachannel"),
    );
    await t.attempt(
      "RTCDataChannelEvent",
      () => new env.RTCDataChannelEvent("datachannel", { channel: dc }),
      (e) => [e.type, e.channel === dc],
    );
    await t.attempt(
      "RTCErrorEvent",
      () =>
        new env.RTCErrorEvent("error", {
          error: new env.RTCError({ errorDetail: "data-channel-failure" }),
        }),
      (e) => [e.type, e.error.errorDetail, e.error.name],
    );
    await t.attempt(
      "RTCError",
      () => new env.RTCError({ errorDetail: "sdp-syntax-error", sdpLineNumber: 3 }, "msg"),
      (e) => [
        e.name,
        e.message,
        e.errorDetail,
        e.sdpLineNumber,
        e.httpRequestStatusCode,
        e.sctpCauseCode,
        e.receivedAlert,
        e.sentAlert,
        e instanceof DOMException,
      ],
    );
    await t.attempt("RTCError bad detail", () => new env.RTCError({ errorDetail: "nope" }));
    await t.attempt(
      "RTCPeerConnectionIceErrorEvent",
      () =>
        new env.RTCPeerConnectionIceErrorEvent("icecandidateerror", {
          errorCode: 701,
          url: "stun:x",
          address: null,
          port: null,
          errorText: "t",
        }),
      (e) => [e.errorCode, e.url, e.address, e.port, e.errorText],
    );
  },

  "legacy-callbacks-create-offer-sld": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    a.addTransceiver("audio");
    const offer = await new Promise((resolve, reject) => {
      const r = a.createOffer(resolve, reject);
      t.log("createOffer(cb) returns", r instanceof Promise);
      r.then((v) => t.log("returned promise resolves", v));
    });
    t.log(
      "success cb",
      offer.type,
      typeof offer.sdp,
      mlineKinds(offer.sdp),
      Object.prototype.toString.call(offer),
    );
    await new Promise((resolve, reject) => {
      const r = a.setLocalDescription(offer, resolve, reject);
      t.log("SLD(cb) returns", r instanceof Promise);
    });
    t.log(a.signalingState);
    await new Promise((resolve, reject) => b.setRemoteDescription(offer, resolve, reject));
    const answer = await new Promise((resolve, reject) => b.createAnswer(resolve, reject));
    t.log("answer cb", answer.type);
    await new Promise((resolve, reject) => b.setLocalDescription(answer, resolve, reject));
    t.log("b SLD cb", b.signalingState);
    await new Promise((resolve, reject) => a.setRemoteDescription(answer, resolve, reject));
    t.log("a SRD cb", a.signalingState);
    // A host candidate, not end-of-candidates: Chromium 156 never calls the success callback
    // for an end-of-candidates candidate (a native bug not worth copying; README).
    const r = await Promise.race([
      new Promise((resolve, reject) =>
        a.addIceCandidate(
          {
            candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
            sdpMid: a.getTransceivers()[0].mid,
          },
          () => resolve("success"),
          (e) => resolve(["failure", e.name]),
        ),
      ),
      new Promise((resolve) => setTimeout(() => resolve("no callback within 2s"), 2000)),
    ]);
    t.log("addIceCandidate(cb)", r);
    t.log(a.signalingState, b.signalingState);
  },

  "legacy-callbacks-failure": async (env, t) => {
    const a = t.pc();
    const e1 = await new Promise((resolve) => a.createAnswer(() => resolve("success?"), resolve));
    t.log("createAnswer failure cb", t.err(e1));
    const e2 = await new Promise((resolve) =>
      a.setRemoteDescription({ type: "answer", sdp: "x" }, () => resolve("success?"), resolve),
    );
    t.log("SRD failure cb", t.err(e2));
    a.close();
    const e3 = await new Promise((resolve) => a.createOffer(() => resolve("success?"), resolve));
    t.log("createOffer closed failure cb", t.err(e3));
    await t.attempt("createOffer with only success callback", () => a.createOffer(() => {}));
    await t.attempt("createOffer non-function callbacks", () => a.createOffer(1, 2));
  },

  "legacy-get-stats-callback": async (env, t) => {
    const pc = t.pc();
    // Chromium's legacy callback getStats was removed; the promise form with a callback arg...
    await t.attempt(
      "getStats(callback)",
      () => pc.getStats(() => {}),
      (r) => (r === undefined ? "undefined" : typeof r.forEach),
    );
  },
};
