// The WebRTC Event subclasses, with the spec's constructors, init dictionaries and checks.

import { RTCIceCandidate } from "./session-description.js";
import { RTCDataChannel } from "./data-channel.js";
import { RTCRtpReceiver, RTCRtpTransceiver } from "./rtp.js";
import { RTCError } from "./errors.js";
import { isTrack, isStream } from "./tracks.js";
import {
  toDictionary,
  toDOMString,
  toUSVString,
  toSequence,
  nullable,
  toUnsigned,
  webidlInterface,
} from "./webidl.js";

/**
 * @param {string} iface
 * @param {IArguments} args
 * @param {boolean} initRequired
 */
function eventArgs(iface, args, initRequired) {
  const min = initRequired ? 2 : 1;
  if (args.length < min) {
    throw new TypeError(
      `Failed to construct '${iface}': ${min} argument${min > 1 ? "s" : ""} required, but only ${args.length} present.`,
    );
  }
  const type = toDOMString(args[0]);
  const dict = toDictionary(args[1], `Failed to construct '${iface}'`);
  const base = {
    bubbles: Boolean(dict.bubbles),
    cancelable: Boolean(dict.cancelable),
    composed: Boolean(dict.composed),
  };
  return { type, dict, base };
}

/** @param {string} iface @param {string} member */
function missing(iface, member) {
  return new TypeError(`Failed to construct '${iface}': required member ${member} is undefined.`);
}

/** @param {string} iface @param {string} member @param {string} type */
function wrongType(iface, member, type) {
  return new TypeError(
    `Failed to construct '${iface}': Failed to read the '${member}' property: The provided value is not of type '${type}'.`,
  );
}

// No `url` attribute: deprecated, and Chromium no longer has it.
export class RTCPeerConnectionIceEvent extends Event {
  /** @type {RTCIceCandidate | null} */
  #candidate;
  /** @param {string} type @param {RTCPeerConnectionIceEventInit} [init] */
  constructor(type, init = undefined) {
    const { type: t, dict, base } = eventArgs("RTCPeerConnectionIceEvent", arguments, false);
    const candidate = dict.candidate ?? null;
    if (candidate !== null && !(candidate instanceof RTCIceCandidate)) {
      throw wrongType("RTCPeerConnectionIceEvent", "candidate", "RTCIceCandidate");
    }
    super(t, base);
    this.#candidate = candidate;
  }
  get candidate() {
    return this.#candidate;
  }
}
webidlInterface(RTCPeerConnectionIceEvent, "RTCPeerConnectionIceEvent");

export class RTCPeerConnectionIceErrorEvent extends Event {
  #address;
  #port;
  #url;
  #errorCode;
  #errorText;
  /** @param {string} type @param {RTCPeerConnectionIceErrorEventInit} init */
  constructor(type, init) {
    const iface = "RTCPeerConnectionIceErrorEvent";
    const { type: t, dict, base } = eventArgs(iface, arguments, true);
    if (dict.errorCode === undefined) throw missing(iface, "errorCode");
    super(t, base);
    this.#address = nullable(dict.address, toDOMString);
    this.#port = nullable(dict.port, (v) => toUnsigned(v, 16));
    this.#url = dict.url === undefined ? "" : toUSVString(dict.url);
    this.#errorCode = toUnsigned(dict.errorCode, 16);
    this.#errorText = dict.errorText === undefined ? "" : toUSVString(dict.errorText);
  }
  get address() {
    return this.#address;
  }
  get port() {
    return this.#port;
  }
  get url() {
    return this.#url;
  }
  get errorCode() {
    return this.#errorCode;
  }
  get errorText() {
    return this.#errorText;
  }
}
webidlInterface(RTCPeerConnectionIceErrorEvent, "RTCPeerConnectionIceErrorEvent");

export class RTCDataChannelEvent extends Event {
  #channel;
  /** @param {string} type @param {RTCDataChannelEventInit} init */
  constructor(type, init) {
    const iface = "RTCDataChannelEvent";
    const { type: t, dict, base } = eventArgs(iface, arguments, true);
    if (dict.channel === undefined) throw missing(iface, "channel");
    if (!(dict.channel instanceof RTCDataChannel))
      throw wrongType(iface, "channel", "RTCDataChannel");
    super(t, base);
    this.#channel = dict.channel;
  }
  get channel() {
    return this.#channel;
  }
}
webidlInterface(RTCDataChannelEvent, "RTCDataChannelEvent");

export class RTCTrackEvent extends Event {
  #receiver;
  #track;
  /** @type {readonly MediaStream[]} */
  #streams;
  #transceiver;
  /** @param {string} type @param {RTCTrackEventInit} init */
  constructor(type, init) {
    const iface = "RTCTrackEvent";
    const { type: t, dict, base } = eventArgs(iface, arguments, true);
    for (const m of ["receiver", "track", "transceiver"]) {
      if (dict[m] === undefined) throw missing(iface, m);
    }
    if (!(dict.receiver instanceof RTCRtpReceiver))
      throw wrongType(iface, "receiver", "RTCRtpReceiver");
    if (!isTrack(dict.track)) throw wrongType(iface, "track", "MediaStreamTrack");
    const streams =
      dict.streams === undefined ? [] : toSequence(dict.streams, `Failed to construct '${iface}'`);
    for (const s of streams) if (!isStream(s)) throw wrongType(iface, "streams", "MediaStream");
    if (!(dict.transceiver instanceof RTCRtpTransceiver)) {
      throw wrongType(iface, "transceiver", "RTCRtpTransceiver");
    }
    super(t, base);
    this.#receiver = dict.receiver;
    this.#track = dict.track;
    // FrozenArray<MediaStream>: the same frozen array every time.
    this.#streams = Object.freeze(/** @type {MediaStream[]} */ (streams));
    this.#transceiver = dict.transceiver;
  }
  get receiver() {
    return this.#receiver;
  }
  get track() {
    return this.#track;
  }
  get streams() {
    return this.#streams;
  }
  get transceiver() {
    return this.#transceiver;
  }
}
webidlInterface(RTCTrackEvent, "RTCTrackEvent");

export class RTCErrorEvent extends Event {
  #error;
  /** @param {string} type @param {RTCErrorEventInit} init */
  constructor(type, init) {
    const iface = "RTCErrorEvent";
    const { type: t, dict, base } = eventArgs(iface, arguments, true);
    if (dict.error === undefined) throw missing(iface, "error");
    if (!(dict.error instanceof RTCError)) throw wrongType(iface, "error", "RTCError");
    super(t, base);
    this.#error = dict.error;
  }
  get error() {
    return this.#error;
  }
}
webidlInterface(RTCErrorEvent, "RTCErrorEvent");

export class RTCDTMFToneChangeEvent extends Event {
  #tone;
  /** @param {string} type @param {RTCDTMFToneChangeEventInit} [init] */
  constructor(type, init = undefined) {
    const { type: t, dict, base } = eventArgs("RTCDTMFToneChangeEvent", arguments, false);
    super(t, base);
    this.#tone = dict.tone === undefined ? "" : toDOMString(dict.tone);
  }
  get tone() {
    return this.#tone;
  }
}
webidlInterface(RTCDTMFToneChangeEvent, "RTCDTMFToneChangeEvent");

/**
 * The legacy `addstream`/`removestream` event (MediaStreamEvent, gone from the platform in most
 * browsers): an Event with a read-only `stream`.
 * @param {string} type @param {MediaStream} stream
 */
export function mediaStreamEvent(type, stream) {
  const Native = /** @type {any} */ (globalThis).MediaStreamEvent;
  if (typeof Native === "function") {
    try {
      return new Native(type, { stream });
    } catch {
      // Fall through to the plain Event.
    }
  }
  const event = new Event(type);
  Object.defineProperty(event, "stream", { value: stream, enumerable: true });
  return event;
}
