// Page side of tests/e2e/datachannel-features.test.mjs: every data-channel feature on the
// connections ice.js makes, recorded as a trace per connection. The same calls run on
// native↔native in the same page, and Node compares the traces (native Chromium is the oracle),
// so nothing here says what the polyfill should produce.
import { pcOf } from "./ice.js";

/** Per connection: { trace, channels: Map<label, entry>, role } */
const conns = new Map();

const conn = (id) => {
  const c = conns.get(id);
  if (!c) throw new Error(`no features state for connection ${id}`);
  return c;
};

/** A short, comparable form of a payload: small ones in full, big ones by length and checksum. */
function summarize(bytes) {
  if (bytes.length <= 64) return [...bytes];
  let sum = 0;
  for (const b of bytes) sum = (sum * 31 + b) >>> 0;
  return { length: bytes.length, sum };
}

/** The error of `fn` as the trace records it (names and kinds, never messages). */
function attempt(fn) {
  try {
    fn();
    return "ok";
  } catch (e) {
    return `throw ${e?.name}${e instanceof DOMException ? " DOMException" : ""}${
      e instanceof TypeError ? " TypeError" : ""
    }`;
  }
}

function attrs(ch) {
  return {
    label: ch.label,
    id: ch.id,
    ordered: ch.ordered,
    maxRetransmits: ch.maxRetransmits,
    maxPacketLifeTime: ch.maxPacketLifeTime,
    protocol: ch.protocol,
    negotiated: ch.negotiated,
    readyState: ch.readyState,
    binaryType: ch.binaryType,
    bufferedAmount: ch.bufferedAmount,
    bufferedAmountLowThreshold: ch.bufferedAmountLowThreshold,
  };
}

/** Records every event of a channel and the messages it receives, in order. */
function track(c, ch, how) {
  const entry = {
    channel: ch,
    how,
    log: [],
    received: [],
    // Blob payloads are read asynchronously; the chain keeps `received` in arrival order.
    reading: Promise.resolve(),
    lowEvents: [],
  };
  for (const type of ["open", "closing", "close", "error"]) {
    ch.addEventListener(type, (e) => {
      entry.log.push(
        type === "error"
          ? `error:${e.error?.name}:${e.error?.errorDetail}`
          : `${type}:${ch.readyState}`,
      );
    });
  }
  ch.addEventListener("bufferedamountlow", () => {
    entry.log.push("bufferedamountlow");
    entry.lowEvents.push({
      amount: ch.bufferedAmount,
      threshold: ch.bufferedAmountLowThreshold,
    });
  });
  ch.addEventListener("message", (e) => {
    entry.log.push("message");
    const d = e.data;
    const kind = typeof d === "string" ? "string" : Object.prototype.toString.call(d).slice(8, -1);
    entry.reading = entry.reading.then(async () => {
      if (typeof d === "string") entry.received.push({ kind, text: d.length > 64 ? d.length : d });
      else if (d instanceof Blob)
        entry.received.push({ kind, bytes: summarize(new Uint8Array(await d.arrayBuffer())) });
      else entry.received.push({ kind, bytes: summarize(new Uint8Array(d)) });
    });
  });
  c.channels.set(ch.label, entry);
  return entry;
}

/** Channels each side creates before negotiation, with the attributes DCEP must carry. */
const BEFORE = {
  offerer: [
    ["plain", undefined],
    ["unordered", { ordered: false, maxRetransmits: 0, protocol: "p-unordered" }],
    ["lifetime", { ordered: false, maxPacketLifeTime: 3000, protocol: "chat/1 ✓" }],
    ["retransmits", { maxRetransmits: 5 }],
    ["neg", { negotiated: true, id: 10, protocol: "agreed" }],
    ["neg-unordered", { negotiated: true, id: 21, ordered: false }],
  ],
  answerer: [
    ["neg", { negotiated: true, id: 10, protocol: "agreed" }],
    ["neg-unordered", { negotiated: true, id: 21, ordered: false }],
  ],
  // The DTLS-failure test: one channel, nothing on the answerer.
  "failing-offerer": [["x", undefined]],
  "failing-answerer": [],
};

/** Call right after create(): data channels made before negotiation, and the event recorders. */
export function setup(id, role) {
  const pc = pcOf(id);
  const c = { role, trace: [], channels: new Map(), transports: false };
  conns.set(id, c);
  pc.addEventListener("datachannel", (e) => {
    const entry = track(c, e.channel, "datachannel");
    entry.attrsAtEvent = attrs(e.channel);
  });
  pc.addEventListener("connectionstatechange", () =>
    c.trace.push(`connectionstatechange:${pc.connectionState}`),
  );
  pc.addEventListener("iceconnectionstatechange", () =>
    c.trace.push(`iceconnectionstatechange:${pc.iceConnectionState}`),
  );
  for (const [label, init] of BEFORE[role]) {
    const ch = pc.createDataChannel(label, init);
    const entry = track(c, ch, "created");
    entry.attrsAtCreate = attrs(ch);
    entry.sendWhileConnecting = attempt(() => ch.send("too early"));
  }
  return c.channels.size;
}

/** Call after each description step: records the transports' state changes once they exist. */
export function watchTransports(id) {
  const c = conn(id);
  const pc = pcOf(id);
  if (c.transports || !pc.sctp) return false;
  c.transports = true;
  const sctp = pc.sctp;
  const dtls = sctp.transport;
  c.trace.push(`transports:${dtls.state}/${sctp.state}`);
  dtls.addEventListener("statechange", () => c.trace.push(`dtls:${dtls.state}`));
  dtls.addEventListener("error", (e) =>
    c.trace.push(`dtls-error:${e.error?.name}:${e.error?.errorDetail}`),
  );
  sctp.addEventListener("statechange", () =>
    c.trace.push(`sctp:${sctp.state}:max=${sctp.maxMessageSize}`),
  );
  return true;
}

/** Labels of channels on this side that are open. */
export function openLabels(id) {
  return [...conn(id).channels.entries()]
    .filter(([, e]) => e.channel.readyState === "open")
    .map(([label]) => label)
    .sort();
}

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join(":");

/** Connected: ids by DTLS role, transport attributes, remote certificate vs the SDP. */
export async function afterOpen(id) {
  const c = conn(id);
  const pc = pcOf(id);
  const sctp = pc.sctp;
  const certs = sctp.transport.getRemoteCertificates();
  const fp = /a=fingerprint:sha-256 (\S+)/i.exec(pc.remoteDescription.sdp)?.[1]?.toLowerCase();
  const digests = [];
  for (const der of certs) digests.push(hex(await crypto.subtle.digest("SHA-256", der)));
  // The peer's late channel may or may not have arrived yet: it is checked through `late`.
  const early = [...c.channels].filter(([label]) => !label.startsWith("late-"));
  const ids = {};
  for (const [label, e] of early) ids[label] = e.channel.id;
  // A channel made now gets its id at once (the DTLS role is known).
  const late = pc.createDataChannel(`late-${c.role}`, { protocol: "late" });
  track(c, late, "created").attrsAtCreate = attrs(late);
  return {
    ids,
    parities: Object.fromEntries(
      early.filter(([, e]) => !e.channel.negotiated).map(([l, e]) => [l, e.channel.id % 2]),
    ),
    remoteAttrs: Object.fromEntries(
      early.filter(([, e]) => e.attrsAtEvent).map(([l, e]) => [l, e.attrsAtEvent]),
    ),
    createdAttrs: Object.fromEntries(
      early.filter(([, e]) => e.attrsAtCreate).map(([l, e]) => [l, e.attrsAtCreate]),
    ),
    sendWhileConnecting: Object.fromEntries(
      [...c.channels]
        .filter(([, e]) => e.sendWhileConnecting)
        .map(([l, e]) => [l, e.sendWhileConnecting]),
    ),
    sctp: {
      state: sctp.state,
      maxMessageSize: sctp.maxMessageSize,
      maxChannels: sctp.maxChannels,
    },
    dtls: {
      state: sctp.transport.state,
      iceState: sctp.transport.iceTransport.state,
      certificates: certs.length,
      isArrayBuffer: certs.every((b) => b instanceof ArrayBuffer),
      matchesRemoteFingerprint: digests.length > 0 && digests[0] === fp,
    },
    late: attrs(late),
  };
}

/** The attributes of the peer's late channel as its `datachannel` event showed them. */
export function peerLateAttrs(id) {
  const c = conn(id);
  const peer = c.role === "offerer" ? "late-answerer" : "late-offerer";
  return c.channels.get(peer)?.attrsAtEvent ?? null;
}

/**
 * Every kind of payload on one channel, synchronously except the Blobs (whose reads are async;
 * what follows them must still arrive after them). Records bufferedAmount after each call.
 */
export function sendKinds(id, label, tag) {
  const ch = conn(id).channels.get(label).channel;
  const bytes = (n, seed) => Uint8Array.from({ length: n }, (_, k) => (k * 7 + seed) & 255);
  // bufferedAmount grows by each send's size within this task (acks only lower it in later
  // tasks), so the growth is exact while the starting level depends on the peer's speed.
  const start = ch.bufferedAmount;
  const after = [];
  const sends = [
    `${tag} string ✓ ${label}`,
    new Blob([bytes(20, 1)]),
    `${tag} after the blob`,
    bytes(30, 2).buffer,
    new Int16Array(bytes(40, 3).buffer, 4, 8),
    new DataView(bytes(50, 4).buffer, 10, 20),
    new Blob([`${tag} blob text`, bytes(5, 5)]),
    "",
    new ArrayBuffer(0),
    new Blob([]),
    bytes(50000, 6),
    `${tag} last`,
  ];
  for (const data of sends) {
    after.push(
      attempt(() => ch.send(data)),
      ch.bufferedAmount - start,
    );
  }
  // What the peer must receive, in send order (webrtc-pc §6.2: Blob sends keep their place).
  const utf8 = (s) => new TextEncoder().encode(s);
  const order = [
    { text: `${tag} string ✓ ${label}` },
    { bytes: summarize(bytes(20, 1)) },
    { text: `${tag} after the blob` },
    { bytes: summarize(bytes(30, 2)) },
    { bytes: summarize(bytes(40, 3).subarray(4, 20)) },
    { bytes: summarize(bytes(50, 4).subarray(10, 30)) },
    { bytes: summarize(new Uint8Array([...utf8(`${tag} blob text`), ...bytes(5, 5)])) },
    { text: "" },
    { bytes: [] },
    { bytes: [] },
    { bytes: summarize(bytes(50000, 6)) },
    { text: `${tag} last` },
  ];
  return { after, order };
}

export function setBinaryType(id, label, type) {
  const ch = conn(id).channels.get(label).channel;
  ch.binaryType = type;
  return ch.binaryType;
}

/** max-message-size: at the limit passes, over it is a TypeError (string and binary). */
export function sendLimits(id, label) {
  const ch = conn(id).channels.get(label).channel;
  const max = pcOf(id).sctp.maxMessageSize;
  const start = ch.bufferedAmount;
  return {
    over: attempt(() => ch.send(new Uint8Array(max + 1))),
    overString: attempt(() => ch.send("x".repeat(max + 1))),
    overBlob: attempt(() => ch.send(new Blob([new Uint8Array(max + 1)]))),
    bufferedAfterRefused: ch.bufferedAmount - start,
    atLimit: attempt(() => ch.send(new Uint8Array(max).fill(7))),
    bufferedAfterLimit: ch.bufferedAmount - start,
  };
}

/** bufferedamountlow: one crossing from above the threshold to at or below it. */
export function sendForLow(id, label, threshold, count, size) {
  const e = conn(id).channels.get(label);
  e.channel.bufferedAmountLowThreshold = threshold;
  e.lowEvents = [];
  const amounts = [];
  const start = e.channel.bufferedAmount;
  for (let i = 0; i < count; i++) {
    e.channel.send(new Uint8Array(size).fill(i));
    amounts.push(e.channel.bufferedAmount - start);
  }
  return amounts;
}

export async function channelState(id, label) {
  const e = conn(id).channels.get(label);
  if (!e) return null;
  await e.reading;
  return {
    readyState: e.channel.readyState,
    bufferedAmount: e.channel.bufferedAmount,
    log: e.log,
    received: e.received,
    lowEvents: e.lowEvents,
  };
}

export function closeChannel(id, label) {
  const ch = conn(id).channels.get(label).channel;
  ch.close();
  return [ch.readyState, attempt(() => ch.send("after close")), ch.bufferedAmount];
}

export function trace(id) {
  return conn(id).trace;
}

/** getStats' data-channel, certificate and transport entries: their members and types. */
export async function statsShape(id) {
  const pc = pcOf(id);
  const all = [...(await pc.getStats()).values()];
  const shape = (s) =>
    Object.fromEntries(
      Object.keys(s)
        .sort()
        .map((k) => [k, typeof s[k]]),
    );
  const byId = (i) => all.find((s) => s.id === i);
  const transport = all.find((s) => s.type === "transport");
  const local = byId(transport?.localCertificateId);
  const remote = byId(transport?.remoteCertificateId);
  const remoteFp = /a=fingerprint:\S+ (\S+)/i.exec(pc.remoteDescription.sdp)?.[1]?.toLowerCase();
  const localFp = /a=fingerprint:\S+ (\S+)/i.exec(pc.localDescription.sdp)?.[1]?.toLowerCase();
  const channels = all
    .filter((s) => s.type === "data-channel")
    .map((s) => ({
      label: s.label,
      protocol: s.protocol,
      dataChannelIdentifier: s.dataChannelIdentifier,
      state: s.state,
      messagesSent: s.messagesSent,
      bytesSent: s.bytesSent,
      messagesReceived: s.messagesReceived,
      bytesReceived: s.bytesReceived,
    }))
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const b64 = (s) => {
    try {
      return atob(s).length > 100;
    } catch {
      return false;
    }
  };
  return {
    // Not compared (values differ by path and timing): kept for the dump.
    diag: transport && [transport.bytesSent, transport.bytesReceived, transport.packetsSent],
    transport: transport && shape(transport),
    transportValues: transport && {
      dtlsState: transport.dtlsState,
      dtlsRole: transport.dtlsRole,
      // DTLS 1.2 "FEFD" or 1.3 "FEFC": native↔native negotiates 1.3, polyrtc speaks 1.2.
      tlsVersion: /^FEF[CD]$/.test(transport.tlsVersion),
      iceState: transport.iceState,
      hasSelectedPair: !!byId(transport.selectedCandidatePairId),
      bytesPositive: transport.bytesSent > 0 && transport.bytesReceived > 0,
    },
    localCertificate: local && shape(local),
    remoteCertificate: remote && shape(remote),
    certificateValues: {
      localMatchesSdp: local?.fingerprint?.toLowerCase() === localFp,
      remoteMatchesSdp: remote?.fingerprint?.toLowerCase() === remoteFp,
      algorithms: [local?.fingerprintAlgorithm, remote?.fingerprintAlgorithm],
      base64: [b64(local?.base64Certificate), b64(remote?.base64Certificate)],
    },
    dataChannel: shape(all.find((s) => s.type === "data-channel") ?? {}),
    channels,
  };
}

/** setLocalDescription() with no argument; returns the description for the peer. */
export async function describe(id) {
  const pc = pcOf(id);
  await pc.setLocalDescription();
  watchTransports(id);
  return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
}

export async function applyRemote(id, desc) {
  await pcOf(id).setRemoteDescription(desc);
  watchTransports(id);
}

/**
 * setRemoteDescription with the peer's a=fingerprint replaced by another well-formed one, so
 * the DTLS handshake must fail its certificate check (RFC 8122 §5).
 */
export async function applyRemoteWrongFingerprint(id, desc) {
  const wrong = Array.from({ length: 32 }, (_, i) =>
    ((i * 37 + 11) & 255).toString(16).padStart(2, "0"),
  )
    .join(":")
    .toUpperCase();
  const sdp = desc.sdp.replace(/a=fingerprint:sha-256 \S+/gi, `a=fingerprint:sha-256 ${wrong}`);
  await pcOf(id).setRemoteDescription({ type: desc.type, sdp });
  watchTransports(id);
}

/** States after a failure: the connection's and the transports'. */
export function states(id) {
  const pc = pcOf(id);
  return {
    connectionState: pc.connectionState,
    iceConnectionState: pc.iceConnectionState,
    dtls: pc.sctp?.transport.state ?? null,
    ice: pc.sctp?.transport.iceTransport.state ?? null,
    sctp: pc.sctp?.state ?? null,
    remoteCertificates: pc.sctp?.transport.getRemoteCertificates().length ?? null,
  };
}

/** RTCPeerConnection.close(), and what the channels look like right after it. */
export function closeConnection(id) {
  const pc = pcOf(id);
  pc.close();
  const c = conn(id);
  return Object.fromEntries([...c.channels].map(([l, e]) => [l, e.channel.readyState]));
}

/** The DTLS role this side took, from its description. */
export function dtlsClient(id) {
  const pc = pcOf(id);
  return /a=setup:active/.test(pc.localDescription.sdp);
}
