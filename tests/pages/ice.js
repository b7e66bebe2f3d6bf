// Page side of tests/e2e/ice.test.mjs: native and polyfilled RTCPeerConnections driven from
// Node, which carries offers, answers and trickled candidates between pages (and browsers).
let P = null;
const pcs = new Map();
let nextId = 0;

const STATE_EVENTS = {
  icegatheringstatechange: "iceGatheringState",
  iceconnectionstatechange: "iceConnectionState",
  connectionstatechange: "connectionState",
};

/** Loads the polyfill (not installed) and grants getUserMedia, which native Chromium needs before
 * it gathers loopback host candidates (../shared/DESIGN.md). */
export async function load({ relayMeta } = {}) {
  if (relayMeta) {
    const meta = document.createElement("meta");
    meta.name = "polyrtc-relay";
    meta.content = relayMeta.url;
    if (relayMeta.hashesUrl) meta.dataset.certificateHashesUrl = relayMeta.hashesUrl;
    document.head.append(meta);
  }
  P = await import("/js/index.js");
  await P.ready;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const t of stream.getTracks()) t.stop();
  return true;
}

export function create(kind, config) {
  const C = kind === "native" ? globalThis.RTCPeerConnection : P.RTCPeerConnection;
  const pc = new C(config);
  const id = ++nextId;
  const entry = { pc, log: [], candidates: [], t0: performance.now(), connectedAt: null };
  for (const [type, attr] of Object.entries(STATE_EVENTS)) {
    pc.addEventListener(type, () => {
      entry.log.push(`${type}:${pc[attr]}`);
      if (type === "iceconnectionstatechange" && pc[attr] === "connected" && !entry.connectedAt)
        entry.connectedAt = performance.now();
    });
  }
  pc.addEventListener("icecandidate", (e) => {
    entry.log.push(e.candidate ? `icecandidate:${e.candidate.type}` : "icecandidate:null");
    if (e.candidate) entry.candidates.push(e.candidate.toJSON());
  });
  pc.addEventListener("icecandidateerror", (e) =>
    entry.log.push(`icecandidateerror:${e.errorCode}:${e.url}`),
  );
  pcs.set(id, entry);
  return id;
}

const get = (id) => {
  const e = pcs.get(id);
  if (!e) throw new Error(`no connection ${id}`);
  return e;
};

export async function offer(id) {
  const e = get(id);
  e.pc.createDataChannel("ice");
  e.t0 = performance.now();
  await e.pc.setLocalDescription();
  return { type: e.pc.localDescription.type, sdp: e.pc.localDescription.sdp };
}

export async function answer(id, remote) {
  const e = get(id);
  await e.pc.setRemoteDescription(remote);
  e.t0 = performance.now();
  await e.pc.setLocalDescription();
  return { type: e.pc.localDescription.type, sdp: e.pc.localDescription.sdp };
}

export async function accept(id, remote) {
  await get(id).pc.setRemoteDescription(remote);
}

export function takeCandidates(id) {
  return get(id).candidates.splice(0);
}

export async function addCandidates(id, list) {
  for (const c of list) await get(id).pc.addIceCandidate(c);
}

export function status(id) {
  const { pc, log, t0, connectedAt } = get(id);
  return {
    ice: pc.iceConnectionState,
    connection: pc.connectionState,
    gathering: pc.iceGatheringState,
    log,
    msToConnected: connectedAt === null ? null : connectedAt - t0,
  };
}

/** The nominated pair from getStats (native: what Chromium says it selected). */
export async function selectedPair(id) {
  const report = await get(id).pc.getStats();
  const all = [...report.values()];
  const byId = (i) => all.find((s) => s.id === i);
  const transport = all.find((s) => s.type === "transport");
  const pair =
    byId(transport?.selectedCandidatePairId) ??
    all.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded");
  if (!pair) return null;
  const side = (c) => c && { type: c.candidateType, address: c.address, port: c.port };
  return {
    state: pair.state,
    nominated: pair.nominated,
    local: side(byId(pair.localCandidateId)),
    remote: side(byId(pair.remoteCandidateId)),
  };
}

/** The RTCPeerConnection behind `id` (for pages built on this one, e.g. datachannel.js). */
export function pcOf(id) {
  return get(id).pc;
}

export function close(id) {
  get(id).pc.close();
  pcs.delete(id);
}
