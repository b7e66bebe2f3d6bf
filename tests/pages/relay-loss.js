// Page side of tests/e2e/relay-loss.test.mjs: the connections of ice.js, plus timed state
// changes, one text channel per connection, and an ICE restart offer.
import { pcOf } from "./ice.js";

export * from "./ice.js";

/** Per connection id: timed state changes and the channel "loss" with what it received. */
const tracked = new Map();

/** Records every state change with `performance.now()`, and the peer's "loss" channel. */
export function track(id) {
  const pc = pcOf(id);
  const entry = { changes: [], channel: null, received: [] };
  for (const [type, attr] of [
    ["iceconnectionstatechange", "iceConnectionState"],
    ["connectionstatechange", "connectionState"],
  ]) {
    pc.addEventListener(type, () => entry.changes.push({ type, state: pc[attr], t: now() }));
  }
  pc.addEventListener("datachannel", (e) => {
    if (e.channel.label === "loss") adopt(entry, e.channel);
  });
  tracked.set(id, entry);
}

function adopt(entry, channel) {
  entry.channel = channel;
  channel.addEventListener("message", (e) => entry.received.push(e.data));
}

/** Creates the "loss" channel (before the offer, so it is negotiated with it). */
export function openLossChannel(id) {
  adopt(tracked.get(id), pcOf(id).createDataChannel("loss"));
}

export function now() {
  return performance.now();
}

/** State changes since `from` (a `now()` value). */
export function changesSince(id, from) {
  return tracked.get(id).changes.filter((c) => c.t >= from);
}

export function channelState(id) {
  return tracked.get(id).channel?.readyState ?? null;
}

export function send(id, text) {
  tracked.get(id).channel.send(text);
}

export function received(id) {
  return tracked.get(id).received;
}

/** restartIce() and the offer it makes (webrtc-pc §4.4.1.6). */
export async function restartOffer(id) {
  const pc = pcOf(id);
  pc.restartIce();
  await pc.setLocalDescription();
  return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
}

/** A subsequent answer (the offer came from restartOffer). */
export async function reanswer(id, remote) {
  const pc = pcOf(id);
  await pc.setRemoteDescription(remote);
  await pc.setLocalDescription();
  return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
}
