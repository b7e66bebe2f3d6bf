// Engine events → DOM events: each engine Event updates the attribute mirror it concerns right
// before the matching event fires at the connection, a transport, a channel, or a remote stream.

import {
  RTCPeerConnectionIceEvent,
  RTCPeerConnectionIceErrorEvent,
  RTCDataChannelEvent,
  RTCTrackEvent,
  RTCErrorEvent,
  mediaStreamEvent,
} from "./events.js";
import { candidateFromEngine } from "./session-description.js";
import { channelInternals } from "./data-channel.js";
import { RTCError } from "./errors.js";
import { createRemoteStream, fireStreamTrackEvent, setRemoteTrackMuted } from "./tracks.js";
import { decodeUtf8 } from "./utf8.js";

/** @typedef {import("./connection-core.js").ConnectionCore} ConnectionCore */

/**
 * Fire one engine event at the connection and its objects, updating the attribute mirror first.
 * @param {ConnectionCore} core @param {any} ev an engine Event
 */
export function fireEngineEvent(core, ev) {
  if (core.closed) return;
  const pc = core.pc;
  switch (ev.type) {
    case "signalingstatechange":
      core.mirror.signalingState = ev.state;
      pc.dispatchEvent(new Event("signalingstatechange"));
      break;
    case "icegatheringstatechange":
      core.mirror.iceGatheringState = ev.state;
      core.iceTransport?.dispatchEvent(new Event("gatheringstatechange"));
      pc.dispatchEvent(new Event("icegatheringstatechange"));
      break;
    case "iceconnectionstatechange":
      // Chromium: both attributes change first, the connection's event fires before the
      // transport's statechange.
      core.mirror.iceTransportState = ev.state;
      core.mirror.iceConnectionState = ev.state;
      pc.dispatchEvent(new Event("iceconnectionstatechange"));
      core.iceTransport?.dispatchEvent(new Event("statechange"));
      break;
    case "selectedcandidatepairchange":
      core.selectedCandidatePair = {
        local: candidateFromEngine(ev.local),
        remote: candidateFromEngine(ev.remote),
      };
      core.iceTransport?.dispatchEvent(new Event("selectedcandidatepairchange"));
      break;
    case "connectionstatechange":
      core.mirror.connectionState = ev.state;
      pc.dispatchEvent(new Event("connectionstatechange"));
      break;
    case "icecandidate": {
      const candidate = ev.candidate ? candidateFromEngine(ev.candidate) : null;
      pc.dispatchEvent(new RTCPeerConnectionIceEvent("icecandidate", { candidate }));
      break;
    }
    case "icecandidateerror":
      pc.dispatchEvent(
        new RTCPeerConnectionIceErrorEvent("icecandidateerror", {
          address: ev.address ?? null,
          port: ev.port ?? null,
          url: ev.url,
          errorCode: ev.errorCode,
          errorText: ev.errorText,
        }),
      );
      break;
    case "track":
      remoteTrackAdded(core, ev);
      break;
    case "trackremoved":
      remoteTrackRemoved(core, ev);
      break;
    case "datachannel": {
      const channel = core.channelFor(ev.channel);
      // Chromium announces an in-band channel already "open" (its `open` event follows).
      if (channel.readyState === "connecting") channelInternals.setReadyState(channel, "open");
      pc.dispatchEvent(new RTCDataChannelEvent("datachannel", /** @type {any} */ ({ channel })));
      break;
    }
    case "datachannelstatechange":
      channelStateChanged(core, ev);
      break;
    case "dtlsstatechange":
      core.mirror.dtlsState = ev.state;
      core.dtlsTransport?.dispatchEvent(new Event("statechange"));
      break;
    case "dtlsremotecertificate":
      core.remoteCertificates = [ev.der];
      break;
    case "sctpstatechange":
      core.mirror.sctpState = ev.state;
      core.sctpTransport?.dispatchEvent(new Event("statechange"));
      break;
    case "datachannelmessage": {
      const channel = core.channels.get(ev.channel);
      if (channel) {
        // The engine gives the bytes (a Uint8Array); a string message is their UTF-8.
        const bytes = ev.data instanceof Uint8Array ? ev.data : new Uint8Array(ev.data);
        const data = ev.binary ? bytes : decodeUtf8(bytes);
        channelInternals.deliver(channel, data);
      }
      break;
    }
    case "datachannelerror": {
      const channel = core.channels.get(ev.channel);
      if (channel) {
        const error = new RTCError({ errorDetail: ev.errorDetail }, "SCTP association failure");
        channel.dispatchEvent(new RTCErrorEvent("error", { error }));
      }
      break;
    }
    case "bufferedamount": {
      const channel = core.channels.get(ev.channel);
      if (channel) channelInternals.setBufferedAmount(channel, ev.amount, ev.sentMark);
      break;
    }
    default:
      console.debug("polyrtc: ignoring unknown engine event", ev);
  }
}

/** @param {ConnectionCore} core @param {any} ev */
function channelStateChanged(core, ev) {
  const channel = core.channels.get(ev.channel);
  if (!channel) return;
  const snap = core.snapshot.dataChannels.find((/** @type {any} */ c) => c.handle === ev.channel);
  if (snap) channelInternals.update(channel, { ...snap, id: ev.id ?? snap.id });
  // e.g. "closing" already set by close(); "open" was set early for the datachannel event.
  if (channel.readyState === ev.state && ev.state !== "open") return;
  if (channel.readyState === "closed") return;
  channelInternals.setReadyState(channel, ev.state);
  const type = { open: "open", closing: "closing", closed: "close" }[
    /** @type {string} */ (ev.state)
  ];
  if (type) channel.dispatchEvent(new Event(type));
}

/**
 * Process the addition of a remote track (§5.1 "set the associated remote streams").
 * @param {ConnectionCore} core @param {any} ev
 */
function remoteTrackAdded(core, ev) {
  const transceiver = core.transceiverById(ev.transceiver);
  const receiver = transceiver.receiver;
  const track = receiver.track;
  /** @type {MediaStream[]} */
  const streams = [];
  /** @type {MediaStream[]} */
  const created = [];
  for (const id of ev.streamIds) {
    let stream = core.remoteStreams.get(id);
    const existed = Boolean(stream);
    if (!stream) {
      stream = /** @type {MediaStream} */ (createRemoteStream(id));
      core.remoteStreams.set(id, stream);
      created.push(stream);
    }
    if (!stream.getTracks().includes(track)) {
      stream.addTrack(track);
      if (existed) fireStreamTrackEvent(stream, "addtrack", track);
    }
    streams.push(stream);
  }
  core.pc.dispatchEvent(
    new RTCTrackEvent("track", /** @type {any} */ ({ receiver, track, streams, transceiver })),
  );
  // Legacy: Chromium still fires addstream for a new remote stream, once all the tracks the
  // description gives it are in (after the batch of track events).
  core.pendingAddStream.push(...created);
}

/** Fire the legacy `addstream` for the remote streams the last events created. @param {ConnectionCore} core */
export function flushAddStream(core) {
  const streams = core.pendingAddStream.splice(0);
  for (const s of streams) {
    if (core.closed) return;
    core.pc.dispatchEvent(mediaStreamEvent("addstream", s));
  }
}

/** @param {ConnectionCore} core @param {any} ev */
function remoteTrackRemoved(core, ev) {
  const track = core.transceiverById(ev.transceiver).receiver.track;
  setRemoteTrackMuted(track, true);
  for (const id of ev.streamIds) {
    const stream = core.remoteStreams.get(id);
    if (!stream || !stream.getTracks().includes(track)) continue;
    stream.removeTrack(track);
    fireStreamTrackEvent(stream, "removetrack", track);
    if (stream.getTracks().length === 0) {
      core.remoteStreams.delete(id);
      core.pc.dispatchEvent(mediaStreamEvent("removestream", stream));
    }
  }
}
