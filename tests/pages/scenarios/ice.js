// addIceCandidate (webrtc-pc §4.4.1.6), RTCIceCandidate (§4.8.1), gathering state and the
// end-of-candidates null event, canTrickleIceCandidates.

import { HOST_CANDIDATE } from "./util.js";

async function withRemote(t, setup = (pc) => pc.createDataChannel("x")) {
  const a = t.pc();
  const b = t.pc();
  setup(a);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  return [a, b];
}

const CAND_FIELDS = [
  "candidate",
  "sdpMid",
  "sdpMLineIndex",
  "foundation",
  "component",
  "priority",
  "address",
  "protocol",
  "port",
  "type",
  "tcpType",
  "relatedAddress",
  "relatedPort",
  "usernameFragment",
];

function fields(c) {
  const o = {};
  for (const f of CAND_FIELDS) o[f] = c[f];
  return o;
}

export const ice = {
  "add-ice-candidate-no-remote-description": async (env, t) => {
    const a = t.pc();
    await t.attempt("host", () => a.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMid: "0" }));
    await t.attempt("end-of-candidates", () => a.addIceCandidate({ candidate: "", sdpMid: "0" }));
    await t.attempt("null", () => a.addIceCandidate(null));
    await t.attempt("no args", () => a.addIceCandidate());
  },

  "add-ice-candidate-null-mid-and-index": async (env, t) => {
    const a = t.pc();
    await t.attempt("no remote, both null", () =>
      a.addIceCandidate({
        candidate: HOST_CANDIDATE,
        sdpMid: null,
        sdpMLineIndex: null,
      }),
    );
    const [, b] = await withRemote(t);
    await t.attempt("both null", () =>
      b.addIceCandidate({
        candidate: HOST_CANDIDATE,
        sdpMid: null,
        sdpMLineIndex: null,
      }),
    );
    await t.attempt("both absent", () => b.addIceCandidate({ candidate: HOST_CANDIDATE }));
    await t.attempt("RTCIceCandidate-like without mid", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, usernameFragment: null }),
    );
  },

  "add-ice-candidate-unknown-mid-or-index": async (env, t) => {
    const [, b] = await withRemote(t);
    await t.attempt("unknown mid", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMid: "nope" }),
    );
    await t.attempt("index out of range", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMLineIndex: 5 }),
    );
    await t.attempt("index 0", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMLineIndex: 0 }),
    );
    await t.attempt("negative index", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMLineIndex: -1 }),
    );
    await t.attempt("index 65536", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMLineIndex: 65536 }),
    );
  },

  "add-ice-candidate-end-of-candidates": async (env, t) => {
    const [, b] = await withRemote(t);
    const mid = b.remoteDescription.sdp.match(/a=mid:(\S+)/)[1];
    await t.attempt("no args", () => b.addIceCandidate());
    await t.attempt("null", () => b.addIceCandidate(null));
    await t.attempt("undefined", () => b.addIceCandidate(undefined));
    await t.attempt("empty dict", () => b.addIceCandidate({}));
    await t.attempt("empty candidate no mid", () => b.addIceCandidate({ candidate: "" }));
    await t.attempt("empty candidate with mid", () =>
      b.addIceCandidate({ candidate: "", sdpMid: mid }),
    );
    await t.attempt("empty candidate unknown mid", () =>
      b.addIceCandidate({ candidate: "", sdpMid: "nope" }),
    );
    await t.attempt("host after end-of-candidates", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMid: mid }),
    );
  },

  "add-ice-candidate-valid": async (env, t) => {
    const [, b] = await withRemote(t);
    const mid = b.remoteDescription.sdp.match(/a=mid:(\S+)/)[1];
    const ufrag = b.remoteDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1];
    await t.attempt("host by mid", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMid: mid }),
    );
    await t.attempt("host by index", () =>
      b.addIceCandidate({
        candidate: HOST_CANDIDATE.replace("50000", "50001"),
        sdpMLineIndex: 0,
      }),
    );
    await t.attempt("with matching ufrag", () =>
      b.addIceCandidate({
        candidate: HOST_CANDIDATE.replace("50000", "50002"),
        sdpMid: mid,
        usernameFragment: ufrag,
      }),
    );
    await t.attempt("RTCIceCandidate object", () =>
      b.addIceCandidate(
        new env.RTCIceCandidate({
          candidate: HOST_CANDIDATE.replace("50000", "50003"),
          sdpMid: mid,
        }),
      ),
    );
    await t.attempt("a= prefixed", () =>
      b.addIceCandidate({
        candidate: "a=" + HOST_CANDIDATE.replace("50000", "50004"),
        sdpMid: mid,
      }),
    );
    await t.attempt("srflx", () =>
      b.addIceCandidate({
        candidate:
          "candidate:2 1 udp 1686052607 127.0.0.2 50010 typ srflx raddr 127.0.0.1 rport 50000",
        sdpMid: mid,
      }),
    );
    await t.attempt("tcp active", () =>
      b.addIceCandidate({
        candidate: "candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
        sdpMid: mid,
      }),
    );
  },

  "add-ice-candidate-invalid": async (env, t) => {
    const [, b] = await withRemote(t);
    const mid = b.remoteDescription.sdp.match(/a=mid:(\S+)/)[1];
    await t.attempt("garbage", () =>
      b.addIceCandidate({ candidate: "candidate:garbage", sdpMid: mid }),
    );
    await t.attempt("not a candidate", () =>
      b.addIceCandidate({ candidate: "hello", sdpMid: mid }),
    );
    await t.attempt("ufrag mismatch", () =>
      b.addIceCandidate({
        candidate: HOST_CANDIDATE,
        sdpMid: mid,
        usernameFragment: "nope",
      }),
    );
    await t.attempt("not an object", () => b.addIceCandidate(42));
    await t.attempt("string", () => b.addIceCandidate(HOST_CANDIDATE));
  },

  "add-ice-candidate-closed": async (env, t) => {
    const [, b] = await withRemote(t);
    b.close();
    await t.attempt("after close", () =>
      b.addIceCandidate({ candidate: HOST_CANDIDATE, sdpMid: "0" }),
    );
    await t.attempt("eoc after close", () => b.addIceCandidate());
  },

  "ice-candidate-ctor-host": async (env, t) => {
    const c = new env.RTCIceCandidate({
      candidate: HOST_CANDIDATE,
      sdpMid: "0",
      sdpMLineIndex: 0,
      usernameFragment: "abcd",
    });
    t.log(fields(c));
    t.log(c.toJSON());
    t.log(JSON.stringify(c) === JSON.stringify(c.toJSON()));
  },

  "ice-candidate-ctor-srflx-relay-tcp": async (env, t) => {
    for (const candidate of [
      "candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 0 ufrag EsAw network-cost 999",
      "candidate:4 2 udp 25108223 198.51.100.1 3478 typ relay raddr 203.0.113.7 rport 61665",
      "candidate:5 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
      "candidate:6 1 TCP 1518280447 127.0.0.1 50000 typ host tcptype passive",
      "candidate:7 1 udp 2122260223 abcd1234-5678.local 50000 typ host",
      "candidate:8 1 udp 2122260223 ::1 50000 typ host",
      "candidate:9 1 udp 1845501695 127.0.0.1 5000 typ prflx raddr 0.0.0.0 rport 0",
    ]) {
      t.log(fields(new env.RTCIceCandidate({ candidate, sdpMid: "1" })));
    }
  },

  "ice-candidate-ctor-errors-and-defaults": async (env, t) => {
    await t.attempt("no args", () => new env.RTCIceCandidate());
    await t.attempt("empty dict", () => new env.RTCIceCandidate({}));
    await t.attempt(
      "both null",
      () =>
        new env.RTCIceCandidate({
          candidate: HOST_CANDIDATE,
          sdpMid: null,
          sdpMLineIndex: null,
        }),
    );
    await t.attempt(
      "empty candidate with mid",
      () => new env.RTCIceCandidate({ candidate: "", sdpMid: "0" }),
      fields,
    );
    await t.attempt(
      "index only",
      () =>
        new env.RTCIceCandidate({
          candidate: HOST_CANDIDATE,
          sdpMLineIndex: 3,
        }),
      fields,
    );
    await t.attempt(
      "unparseable",
      () => new env.RTCIceCandidate({ candidate: "garbage", sdpMid: "0" }),
      fields,
    );
    await t.attempt("without new", () => env.RTCIceCandidate({ candidate: "", sdpMid: "0" }));
    const c = new env.RTCIceCandidate({
      candidate: HOST_CANDIDATE,
      sdpMid: "0",
    });
    t.log("toJSON keys", Object.keys(c.toJSON()).sort(), c.toJSON());
  },

  "gathering-sequence-and-null-candidate": async (env, t) => {
    const a = t.pc();
    t.events(a, ["icegatheringstatechange"], {
      label: "a",
      stream: "gathering",
    });
    // Candidates themselves are not compared (native gathers none, or loopback ones once the
    // page holds a getUserMedia grant); only the null / empty end-of-candidates events are.
    const seen = [];
    a.addEventListener("icecandidate", (e) =>
      seen.push(e.candidate === null ? "null" : e.candidate.candidate === "" ? "empty" : "c"),
    );
    a.createDataChannel("x");
    t.log(a.iceGatheringState);
    await a.setLocalDescription();
    t.log("right after SLD", a.iceGatheringState);
    await t.until("complete", () => a.iceGatheringState === "complete", 10000);
    await t.flush(100);
    t.log(
      a.iceGatheringState,
      seen.filter((x) => x !== "c"),
    );
    // the last event is the null candidate
    t.log("null last", seen[seen.length - 1]);
    t.log(
      "a=end-of-candidates in localDescription",
      /a=end-of-candidates/.test(a.localDescription.sdp),
    );
  },

  "ice-event-objects": async (env, t) => {
    const a = t.pc();
    a.createDataChannel("x");
    const ev = await new Promise((resolve) => {
      a.onicecandidate = (e) => {
        if (e.candidate === null) resolve(e);
      };
      a.setLocalDescription();
    });
    t.log(
      ev instanceof env.RTCPeerConnectionIceEvent,
      ev.type,
      ev.candidate,
      ev.url === undefined ? "no url attr" : ev.url,
    );
    const manual = new env.RTCPeerConnectionIceEvent("icecandidate");
    t.log(manual.candidate, manual.bubbles, manual.cancelable);
    const c = new env.RTCIceCandidate({
      candidate: HOST_CANDIDATE,
      sdpMid: "0",
    });
    const withC = new env.RTCPeerConnectionIceEvent("icecandidate", {
      candidate: c,
    });
    t.log(withC.candidate === c);
    await t.attempt("no type", () => new env.RTCPeerConnectionIceEvent());
  },

  "can-trickle-ice-candidates": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    const c = t.pc();
    a.createDataChannel("x");
    t.log("before", a.canTrickleIceCandidates, b.canTrickleIceCandidates);
    await a.setLocalDescription();
    t.log("after SLD", a.canTrickleIceCandidates);
    await b.setRemoteDescription(a.localDescription);
    t.log("after SRD", b.canTrickleIceCandidates);
    const noTrickle = a.localDescription.sdp.replace(/a=ice-options:trickle\r\n/g, "");
    await c.setRemoteDescription({ type: "offer", sdp: noTrickle });
    t.log("without ice-options:trickle", c.canTrickleIceCandidates);
  },

  "ice-transport-objects": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    const tr = a.addTransceiver("audio");
    t.log("before", tr.sender.transport, tr.receiver.transport);
    await t.negotiate(a, b);
    const dtls = tr.sender.transport;
    t.log(
      dtls instanceof env.RTCDtlsTransport,
      dtls === tr.receiver.transport,
      Object.prototype.toString.call(dtls),
      dtls.state,
      dtls.iceTransport instanceof env.RTCIceTransport,
      dtls.iceTransport.component,
      dtls.iceTransport.role,
      ["new", "checking", "connected", "completed"].includes(dtls.iceTransport.state),
      ["new", "gathering", "complete"].includes(dtls.iceTransport.gatheringState),
    );
    a.close();
    t.log("after close", dtls.state, tr.sender.transport === dtls);
  },
};
