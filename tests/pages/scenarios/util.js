// Small helpers shared by the scenario modules. They only read public API surface, so they work
// on any implementation; they never compare SDP text, only its structure.

export { mlineKinds, mlineDirections, mids } from "../runtime.js";

/** type-or-null of every description getter. */
export function descs(pc) {
  const ty = (d) => (d === null ? null : d === undefined ? "undefined" : d.type);
  return {
    local: ty(pc.localDescription),
    currentLocal: ty(pc.currentLocalDescription),
    pendingLocal: ty(pc.pendingLocalDescription),
    remote: ty(pc.remoteDescription),
    currentRemote: ty(pc.currentRemoteDescription),
    pendingRemote: ty(pc.pendingRemoteDescription),
  };
}

export function states(pc) {
  return {
    signaling: pc.signalingState,
    iceGathering: pc.iceGatheringState,
    iceConnection: pc.iceConnectionState,
    connection: pc.connectionState,
  };
}

/** The standard RTCConfiguration members only (Chromium adds non-standard ones). */
export function stdConfig(c) {
  return {
    iceServers: c.iceServers,
    iceTransportPolicy: c.iceTransportPolicy,
    bundlePolicy: c.bundlePolicy,
    rtcpMuxPolicy: c.rtcpMuxPolicy,
    iceCandidatePoolSize: c.iceCandidatePoolSize,
    certificates: Array.isArray(c.certificates) ? c.certificates.length : typeof c.certificates,
  };
}

export function transceiverInfo(tr) {
  return {
    mid: tr.mid,
    direction: tr.direction,
    currentDirection: tr.currentDirection,
    senderTrack: tr.sender.track ? tr.sender.track.kind : null,
    receiverTrack: tr.receiver.track ? tr.receiver.track.kind : null,
  };
}

/** Like transceiverInfo, but mid only as "null" / "string" (mid values are implementation-chosen). */
export function transceiverShape(tr) {
  const i = transceiverInfo(tr);
  i.mid = i.mid === null ? null : typeof i.mid;
  return i;
}

export const HOST_CANDIDATE = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0";

/** An offer with the given m-lines from a throwaway pc of the same env. */
export async function offerFrom(env, t, setup) {
  const pc = t.pc();
  await setup(pc);
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return { pc, offer: pc.localDescription };
}

export function typeOfValue(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
