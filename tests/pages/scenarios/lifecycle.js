// negotiationneeded firing rules (§4.7.3), close() (§4.4.1.5 "close the connection"), getStats
// (§8), sctp (§6.1.1).

import { descs, states, transceiverShape } from "./util.js";

// Gathering events are left out: whether native gathers loopback candidates depends on the
// page's getUserMedia grant, and the polyfill's candidates depend on the relay.
const ALL_PC_EVENTS = [
  "negotiationneeded",
  "signalingstatechange",
  "iceconnectionstatechange",
  "connectionstatechange",
  "icecandidateerror",
  "track",
  "datachannel",
];

function closedStates(pc) {
  const { iceGathering, ...rest } = states(pc);
  void iceGathering;
  return rest;
}

export const negotiationneeded = {
  "nn-once-per-batch": async (env, t) => {
    const pc = t.pc();
    t.events(pc, ["negotiationneeded"]);
    pc.createDataChannel("a");
    pc.createDataChannel("b");
    pc.createDataChannel("c");
    t.log("sync, before task");
    await t.flush();
    t.log("after first task");
    pc.createDataChannel("d");
    await t.flush();
    t.log("second batch");
  },

  "nn-timing-vs-create-offer": async (env, t) => {
    // negotiationneeded is queued by addTransceiver; createOffer called right away resolves in a
    // later task (webrtc-pc: "queue a task that runs the final steps to create an offer").
    const pc = t.pc();
    t.events(pc, ["negotiationneeded"]);
    pc.addTransceiver("audio");
    await t.attempt(
      "createOffer right after addTransceiver",
      () => pc.createOffer(),
      (d) => d.type,
    );
    t.log("createOffer resolved");
    await t.flush();
    t.log("after task");
    const pc2 = t.pc();
    t.events(pc2, ["negotiationneeded", "signalingstatechange"], {
      label: "pc2",
    });
    pc2.createDataChannel("x");
    await t.attempt("SLD() right after createDataChannel", () => pc2.setLocalDescription());
    t.log("SLD resolved");
    await t.flush();
    t.log("after task");
  },

  "nn-not-fired-synchronously": async (env, t) => {
    const pc = t.pc();
    let fired = 0;
    pc.onnegotiationneeded = () => fired++;
    pc.addTransceiver("audio");
    t.log(fired);
    await Promise.resolve();
    t.log("after microtask", fired);
    await t.flush();
    t.log("after task", fired);
  },

  "nn-deferred-until-stable": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["negotiationneeded", "signalingstatechange"], { label: "a" });
    a.addTransceiver("audio");
    await t.flush();
    await a.setLocalDescription();
    t.log("have-local-offer");
    a.addTransceiver("video");
    await t.flush();
    t.log("nothing yet; completing negotiation");
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    await t.flush();
    t.log("after stable");
  },

  "nn-not-again-for-second-datachannel": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["negotiationneeded"], { label: "a" });
    a.createDataChannel("one");
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    t.log("negotiated");
    a.createDataChannel("two");
    await t.flush();
    t.log("second channel");
  },

  "nn-direction-change-and-revert": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["negotiationneeded"], { label: "a" });
    const tr = a.addTransceiver("audio");
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    t.log("negotiated");
    tr.direction = "sendrecv";
    await t.flush();
    t.log("same direction set");
    tr.direction = "recvonly";
    await t.flush();
    t.log("changed");
    tr.direction = "sendrecv";
    await t.flush();
    t.log("reverted; renegotiating");
    await t.negotiate(a, b);
    await t.flush();
  },

  "nn-handler-and-removeTrack": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    let n = 0;
    a.onnegotiationneeded = (e) => {
      n++;
      t.log("onnegotiationneeded", e.type, e instanceof Event, a.signalingState);
    };
    const track = await t.track("video");
    const sender = a.addTrack(track);
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    a.removeTrack(sender);
    await t.flush();
    t.log(n);
  },

  "nn-not-after-close": async (env, t) => {
    const pc = t.pc();
    t.events(pc, ["negotiationneeded"]);
    pc.addTransceiver("audio");
    pc.close();
    await t.flush();
    t.log("closed before task ran");
    const pc2 = t.pc();
    t.events(pc2, ["negotiationneeded"], { label: "pc2" });
    pc2.close();
    await t.attempt("createDataChannel closed", () => pc2.createDataChannel("x"));
    await t.flush();
  },

  "nn-restart-ice-in-have-local-offer": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["negotiationneeded"], { label: "a" });
    a.createDataChannel("x");
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    a.addTransceiver("audio");
    await t.flush();
    await a.setLocalDescription();
    a.restartIce();
    await t.flush();
    t.log("in have-local-offer");
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    await t.flush();
  },
};

export const close = {
  "close-states-and-getters": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ALL_PC_EVENTS, { label: "a" });
    a.createDataChannel("x");
    a.addTransceiver("audio");
    await t.flush();
    await t.negotiate(a, b);
    await t.flush(100);
    const before = descs(a);
    await t.attempt(
      "close",
      () => a.close(),
      (r) => r,
    );
    t.log(closedStates(a), descs(a), JSON.stringify(descs(a)) === JSON.stringify(before));
    t.log(
      a.getTransceivers().map(transceiverShape),
      a.getSenders().length,
      a.getReceivers().length,
    );
    t.log("receiver track", a.getReceivers()[0].track.readyState);
    t.log("sctp", a.sctp === null ? null : a.sctp.state, a.canTrickleIceCandidates);
    await t.attempt("close again", () => a.close());
    await t.flush(100);
    t.log("no events after close");
  },

  "close-from-each-signaling-state": async (env, t) => {
    const mk = async (state) => {
      const a = t.pc();
      const b = t.pc();
      a.addTransceiver("audio");
      if (state !== "stable") {
        await a.setLocalDescription();
        if (state === "have-remote-offer") await b.setRemoteDescription(a.localDescription);
      }
      const pc = state === "have-remote-offer" ? b : a;
      t.events(pc, ALL_PC_EVENTS, { label: state });
      pc.close();
      t.log(state, closedStates(pc), descs(pc));
    };
    await mk("stable");
    await mk("have-local-offer");
    await mk("have-remote-offer");
    await t.flush(100);
  },

  "close-subsequent-methods": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    a.createDataChannel("x");
    const offer = await a.createOffer();
    const track = await t.track("audio");
    a.close();
    await t.attempt("createOffer", () => a.createOffer());
    await t.attempt("createAnswer", () => a.createAnswer());
    await t.attempt("setLocalDescription", () => a.setLocalDescription(offer));
    await t.attempt("setLocalDescription()", () => a.setLocalDescription());
    await t.attempt("setRemoteDescription", () => a.setRemoteDescription(offer));
    await t.attempt("addIceCandidate", () => a.addIceCandidate({ candidate: "", sdpMid: "0" }));
    await t.attempt("addTrack", () => a.addTrack(track));
    await t.attempt("addTransceiver", () => a.addTransceiver("audio"));
    await t.attempt("createDataChannel", () => a.createDataChannel("y"));
    await t.attempt("setConfiguration", () => a.setConfiguration({}));
    await t.attempt(
      "getConfiguration",
      () => a.getConfiguration(),
      (c) => c.bundlePolicy,
    );
    await t.attempt(
      "restartIce",
      () => a.restartIce(),
      (r) => r,
    );
    await t.attempt(
      "getSenders",
      () => a.getSenders(),
      (r) => r.length,
    );
    await t.attempt(
      "getStats",
      () => a.getStats(),
      (r) => typeof r.forEach,
    );
    await t.attempt(
      "legacy createOffer callbacks",
      () =>
        new Promise((resolve, reject) => {
          const r = a.createOffer(resolve, reject);
          t.log("legacy returns", r instanceof Promise);
        }),
    );
    void b;
  },

  "close-remote-side-unaffected": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(b, ["signalingstatechange", "connectionstatechange", "iceconnectionstatechange"], {
      label: "b",
    });
    a.createDataChannel("x");
    await t.negotiate(a, b);
    await t.flush();
    a.close();
    await t.flush(200);
    // b cannot have connected (no candidates exchanged), and an unconnected peer learns nothing.
    t.log(b.signalingState);
  },
};

export const stats = {
  "stats-new-pc": async (env, t) => {
    const pc = t.pc();
    const r = await t.attempt(
      "getStats",
      () => pc.getStats(),
      (x) => Object.prototype.toString.call(x),
    );
    t.log(
      r instanceof env.RTCStatsReport,
      typeof r.get,
      typeof r.has,
      typeof r.forEach,
      typeof r.entries,
      typeof r[Symbol.iterator],
    );
    t.log(typeof r.set, typeof r.delete);
    const types = new Set();
    let ok = true;
    r.forEach((v, k) => {
      types.add(v.type);
      ok = ok && v.id === k && typeof v.timestamp === "number" && typeof v.id === "string";
    });
    t.log([...types].sort(), ok, r.size);
    const pcStats = [...r.values()].find((v) => v.type === "peer-connection");
    t.log(
      pcStats &&
        Object.keys(pcStats)
          .filter((k) => ["dataChannelsOpened", "dataChannelsClosed"].includes(k))
          .sort(),
    );
    t.log(pcStats && [pcStats.dataChannelsOpened, pcStats.dataChannelsClosed]);
  },

  "stats-after-negotiation": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    a.createDataChannel("x");
    await t.negotiate(a, b);
    const r = await a.getStats();
    const types = new Set([...r.values()].map((v) => v.type));
    const interesting = ["peer-connection", "certificate", "data-channel", "transport"];
    t.log(interesting.map((ty) => [ty, types.has(ty)]));
    const certs = [...r.values()].filter((v) => v.type === "certificate");
    t.log(
      certs.length,
      certs.map((c) => [c.fingerprintAlgorithm, typeof c.fingerprint, typeof c.base64Certificate]),
    );
    const dc = [...r.values()].find((v) => v.type === "data-channel");
    t.log(
      dc && [dc.label, dc.protocol, dc.state, typeof dc.dataChannelIdentifier, dc.messagesSent],
    );
  },

  "stats-selector": async (env, t) => {
    const pc = t.pc();
    const track = await t.track("audio");
    const sender = pc.addTrack(track);
    await t.attempt(
      "selector track",
      () => pc.getStats(track),
      (r) => typeof r.forEach,
    );
    await t.attempt(
      "sender.getStats",
      () => sender.getStats(),
      (r) => typeof r.forEach,
    );
    await t.attempt(
      "receiver.getStats",
      () => pc.getReceivers()[0].getStats(),
      (r) => typeof r.forEach,
    );
    const other = await t.track("video");
    await t.attempt("unknown track selector", () => pc.getStats(other));
  },

  "sctp-transport": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.log("before", a.sctp);
    a.createDataChannel("x");
    t.log("after createDataChannel", a.sctp);
    await a.setLocalDescription();
    const kind = (s) => (s === null ? null : Object.prototype.toString.call(s));
    t.log("after SLD", kind(a.sctp));
    await b.setRemoteDescription(a.localDescription);
    t.log("b after SRD", kind(b.sctp));
    await b.setLocalDescription();
    const s = b.sctp;
    t.log(
      "b after SLD",
      s instanceof env.RTCSctpTransport,
      Object.prototype.toString.call(s),
      s.state,
      typeof s.maxMessageSize,
      s.maxMessageSize > 0,
      s.maxChannels,
      s.transport instanceof env.RTCDtlsTransport,
      b.sctp === s,
    );
    await a.setRemoteDescription(b.localDescription);
    t.log(
      "a",
      a.sctp instanceof env.RTCSctpTransport,
      a.sctp.state,
      typeof a.sctp.maxMessageSize,
      a.sctp.onstatechange,
    );
    const noMms = b.localDescription.sdp.replace(/a=max-message-size:\d+\r\n/, "");
    const c = t.pc();
    c.createDataChannel("y");
    await c.setLocalDescription();
    await c.setRemoteDescription({
      type: "answer",
      sdp: noMms.replace(/a=setup:\w+/, "a=setup:active"),
    });
    t.log("no max-message-size in remote → 65536", c.sctp.maxMessageSize);
  },
};
