// Page side of tests/e2e/ice-transport.test.mjs: what RTCIceTransport and getStats() say about
// the connections ice.js makes, recorded the same way for native and polyfilled peers so the
// test can compare them.
import { pcOf } from "./ice.js";

/** Per connection id: every pc-level ICE event and every RTCIceTransport event, in order. */
const sequences = new Map();

const iceOf = (pc) => pc.sctp?.transport?.iceTransport ?? null;

/** Call right after create(): records pc events now and the transport's once it exists. */
export function watchIce(id) {
  const pc = pcOf(id);
  const seq = [];
  sequences.set(id, seq);
  for (const [type, attr] of [
    ["iceconnectionstatechange", "iceConnectionState"],
    ["icegatheringstatechange", "iceGatheringState"],
  ]) {
    pc.addEventListener(type, () => seq.push(`pc.${type}:${pc[attr]}`));
  }
}

function hookTransport(id) {
  const pc = pcOf(id);
  const seq = sequences.get(id);
  const t = iceOf(pc);
  if (!t || !seq || t.__hooked) return;
  t.__hooked = true;
  seq.push(`it:role=${t.role}`);
  t.addEventListener("statechange", () => seq.push(`it.statechange:${t.state}`));
  t.addEventListener("gatheringstatechange", () =>
    seq.push(`it.gatheringstatechange:${t.gatheringState}`),
  );
  t.addEventListener("selectedcandidatepairchange", () => {
    const p = t.getSelectedCandidatePair();
    seq.push(`it.selectedcandidatepairchange:pc=${pc.iceConnectionState}:it=${t.state}:${!!p}`);
  });
}

/** ice.js offer()/answer(), with the transport's listeners added as soon as SLD resolves
 * (gathering events follow in later tasks). */
export async function offerWatched(id) {
  const pc = pcOf(id);
  pc.createDataChannel("ice");
  await pc.setLocalDescription();
  hookTransport(id);
  return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
}

export async function answerWatched(id, remote) {
  const pc = pcOf(id);
  await pc.setRemoteDescription(remote);
  hookTransport(id);
  await pc.setLocalDescription();
  return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
}

export function sequence(id) {
  return sequences.get(id) ?? [];
}

const FIELDS = [
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
  "relayProtocol",
  "url",
];

const describe = (c) =>
  c && {
    class: Object.getPrototypeOf(c)?.constructor?.name,
    ...Object.fromEntries(FIELDS.map((f) => [f, c[f]])),
    json: c.toJSON(),
  };

/** RTCIceTransport as the page sees it now. */
export function transportView(id) {
  return view(iceOf(pcOf(id)));
}

function view(t) {
  if (!t) return null;
  const p1 = t.getSelectedCandidatePair();
  const p2 = t.getSelectedCandidatePair();
  return {
    role: t.role,
    state: t.state,
    gatheringState: t.gatheringState,
    pair: p1 && {
      class: Object.getPrototypeOf(p1)?.constructor?.name,
      keys: Object.keys(p1),
      freshObject: p1 !== p2,
      sameCandidates: p1.local === p2.local && p1.remote === p2.remote,
      local: describe(p1.local),
      remote: describe(p1.remote),
    },
  };
}

/** The ICE entries of getStats(): transport, the selected pair and its two candidates, plus
 * every entry of those types (for cross references). */
export async function iceStats(id) {
  const report = await pcOf(id).getStats();
  const all = [...report.values()].map((s) => ({ ...s }));
  const byId = (i) => all.find((s) => s.id === i);
  const transport = all.find((s) => s.type === "transport");
  const pair = transport && byId(transport.selectedCandidatePairId);
  return {
    transport,
    pair,
    local: pair && byId(pair.localCandidateId),
    remote: pair && byId(pair.remoteCandidateId),
    ids: all.map((s) => s.id),
    types: all.map((s) => s.type),
  };
}

/** Time from setLocalDescription() to the first candidate, for the pool comparison. */
export async function timeToFirstCandidate(id) {
  const pc = pcOf(id);
  pc.createDataChannel("pool");
  const first = new Promise((resolve) => {
    pc.addEventListener("icecandidate", (e) => e.candidate && resolve(performance.now()));
  });
  const t0 = performance.now();
  await pc.setLocalDescription();
  return (await first) - t0;
}

export function setConfiguration(id, config) {
  pcOf(id).setConfiguration(config);
}

/** close(), then what the transport object obtained before says. */
export function closeOnly(id) {
  const t = iceOf(pcOf(id));
  pcOf(id).close();
  return view(t);
}
