// RTCRtpTransceiver, RTCRtpSender, RTCRtpReceiver and RTCDTMFSender. One JS object per engine
// transceiver id (the connection core keeps the map); attributes read the latest engine
// TransceiverSnapshot. RTP itself is the media milestone: parameters, capabilities and DTMF
// playout are kept in JS where the engine has no op yet (marked below).

import { defineEventHandlers } from "./event-handlers.js";
import { RTCDTMFToneChangeEvent } from "./events.js";
import { isStream, isTrack } from "./tracks.js";
import {
  checkToken,
  INTERNAL,
  toDOMString,
  toDictionary,
  toSequence,
  webidlInterface,
} from "./webidl.js";

/**
 * What the RTP objects need from their connection (the connection core implements it).
 * @typedef {{
 *   closed: boolean,
 *   transceiverSnapshot(id: number): any,
 *   localTrack(trackId: string | null | undefined): MediaStreamTrack | null,
 *   transportFor(id: number): any,
 *   sendEncodings: Map<number, RTCRtpEncodingParameters[]>,
 *   setDirection(id: number, direction: RTCRtpTransceiverDirection): void,
 *   stopTransceiver(id: number): void,
 *   replaceTrack(id: number, track: MediaStreamTrack | null): Promise<void>,
 *   setStreams(id: number, streamIds: string[]): void,
 *   getStats(selector: MediaStreamTrack | null): Promise<any>,
 * }} RtpOwner
 */

/** Encoded transforms (RTCRtpScriptTransform) need the media milestone. */
function transformUnsupported() {
  return new DOMException("polyrtc does not support encoded transforms yet", "NotSupportedError");
}

const DIRECTIONS = ["sendrecv", "sendonly", "recvonly", "inactive", "stopped"];

/**
 * Codec capabilities. TODO(engine): there is no engine op for capabilities yet, so this is the
 * set the engine is expected to negotiate (Opus, VP8, and the telephone-event for DTMF).
 * @param {string} kind
 * @returns {RTCRtpCapabilities | null}
 */
function capabilities(kind) {
  if (kind === "audio") {
    return {
      codecs: [
        {
          mimeType: "audio/opus",
          clockRate: 48000,
          channels: 2,
          sdpFmtpLine: "minptime=10;useinbandfec=1",
        },
        { mimeType: "audio/telephone-event", clockRate: 48000, channels: 1, sdpFmtpLine: "0-15" },
      ],
      headerExtensions: [],
    };
  }
  if (kind === "video") {
    return { codecs: [{ mimeType: "video/VP8", clockRate: 90000 }], headerExtensions: [] };
  }
  return null;
}

/** @param {unknown} track @param {string} context */
function checkTrack(track, context) {
  if (track !== null && !isTrack(track)) {
    throw new TypeError(`${context}: parameter 1 is not of type 'MediaStreamTrack'.`);
  }
}

export class RTCRtpSender {
  /** @type {RtpOwner} */
  #owner;
  #id;
  #kind;
  /** @type {RTCDTMFSender | null} */
  #dtmf = null;
  #transactionCounter = 0;
  /** @type {string | null} */
  #transactionId = null;
  /** @param {symbol} token @param {RtpOwner} owner @param {number} id @param {string} kind */
  constructor(token, owner, id, kind) {
    checkToken(token, "RTCRtpSender");
    this.#owner = owner;
    this.#id = id;
    this.#kind = kind;
  }
  /** The sendEncodings given to addTransceiver (kept by the connection), else one encoding. */
  get #encodings() {
    const e = this.#owner.sendEncodings.get(this.#id);
    return e?.length ? e : [{ active: true }];
  }
  set #encodings(v) {
    this.#owner.sendEncodings.set(this.#id, v);
  }
  get track() {
    return this.#owner.localTrack(this.#owner.transceiverSnapshot(this.#id).senderTrackId);
  }
  get transport() {
    return this.#owner.transportFor(this.#id);
  }
  get transform() {
    return null;
  }
  set transform(v) {
    if (v !== null && v !== undefined) throw transformUnsupported();
  }
  get dtmf() {
    if (this.#kind !== "audio") return null;
    this.#dtmf ??= new RTCDTMFSender(INTERNAL, this.#owner, this.#id);
    return this.#dtmf;
  }
  /** @param {string} kind */
  static getCapabilities(kind) {
    return capabilities(toDOMString(kind));
  }
  /**
   * TODO(engine): no op for RTP parameters yet; these are the encodings given to
   * addTransceiver and the shape Chromium returns.
   * @returns {RTCRtpSendParameters}
   */
  getParameters() {
    this.#transactionId = `${++this.#transactionCounter}`;
    return {
      transactionId: this.#transactionId,
      encodings: this.#encodings.map((e) => ({ ...e })),
      headerExtensions: [],
      rtcp: { cname: "", reducedSize: false },
      codecs: [],
    };
  }
  /** @param {RTCRtpSendParameters} parameters */
  async setParameters(parameters, setParameterOptions = undefined) {
    const p = toDictionary(parameters, "Failed to execute 'setParameters' on 'RTCRtpSender'");
    if (this.#owner.closed) {
      throw new DOMException("The peer connection is closed.", "InvalidStateError");
    }
    if (this.#transactionId === null || p.transactionId !== this.#transactionId) {
      throw new DOMException(
        "Failed to execute 'setParameters' on 'RTCRtpSender': Read-only field modified in setParameters().",
        "InvalidModificationError",
      );
    }
    const encodings = toSequence(p.encodings ?? [], "setParameters");
    if (encodings.length !== this.#encodings.length) {
      throw new DOMException("The number of encodings cannot change.", "InvalidModificationError");
    }
    this.#encodings = encodings.map((e) => ({ ...toDictionary(e, "encoding") }));
    this.#transactionId = null;
    void setParameterOptions;
  }
  /** @param {MediaStreamTrack | null} withTrack */
  replaceTrack(withTrack) {
    try {
      if (arguments.length < 1) {
        throw new TypeError(
          "Failed to execute 'replaceTrack' on 'RTCRtpSender': 1 argument required, but only 0 present.",
        );
      }
      checkTrack(withTrack, "Failed to execute 'replaceTrack' on 'RTCRtpSender'");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#owner.replaceTrack(this.#id, withTrack);
  }
  /** @param {...MediaStream} streams */
  setStreams(...streams) {
    for (const s of streams) {
      if (!isStream(s)) {
        throw new TypeError(
          "Failed to execute 'setStreams' on 'RTCRtpSender': parameter is not of type 'MediaStream'.",
        );
      }
    }
    this.#owner.setStreams(
      this.#id,
      streams.map((s) => s.id),
    );
  }
  getStats() {
    return this.#owner.getStats(this.track ?? null);
  }
}
webidlInterface(RTCRtpSender, "RTCRtpSender");

export class RTCRtpReceiver {
  /** @type {RtpOwner} */
  #owner;
  #id;
  #track;
  /** @type {number | null} */
  #jitterBufferTarget = null;
  /** @param {symbol} token @param {RtpOwner} owner @param {number} id @param {MediaStreamTrack} track */
  constructor(token, owner, id, track) {
    checkToken(token, "RTCRtpReceiver");
    this.#owner = owner;
    this.#id = id;
    this.#track = track;
  }
  get track() {
    return this.#track;
  }
  get transport() {
    return this.#owner.transportFor(this.#id);
  }
  get transform() {
    return null;
  }
  set transform(v) {
    if (v !== null && v !== undefined) throw transformUnsupported();
  }
  get jitterBufferTarget() {
    return this.#jitterBufferTarget;
  }
  set jitterBufferTarget(v) {
    if (v === null || v === undefined) {
      this.#jitterBufferTarget = null;
      return;
    }
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TypeError("jitterBufferTarget is not a finite number.");
    if (n < 0 || n > 4000) throw new RangeError("jitterBufferTarget is out of range [0, 4000].");
    this.#jitterBufferTarget = n;
  }
  /** @param {string} kind */
  static getCapabilities(kind) {
    return capabilities(toDOMString(kind));
  }
  /** @returns {RTCRtpReceiveParameters} */
  getParameters() {
    return { headerExtensions: [], rtcp: { cname: "", reducedSize: false }, codecs: [] };
  }
  /** TODO(engine): contributing/synchronization sources come with the media milestone. */
  getContributingSources() {
    return [];
  }
  getSynchronizationSources() {
    return [];
  }
  getStats() {
    return this.#owner.getStats(this.#track);
  }
}
webidlInterface(RTCRtpReceiver, "RTCRtpReceiver");

export class RTCRtpTransceiver {
  /** @type {RtpOwner} */
  #owner;
  #id;
  #sender;
  #receiver;
  /**
   * @param {symbol} token @param {RtpOwner} owner @param {number} id
   * @param {RTCRtpSender} sender @param {RTCRtpReceiver} receiver
   */
  constructor(token, owner, id, sender, receiver) {
    checkToken(token, "RTCRtpTransceiver");
    this.#owner = owner;
    this.#id = id;
    this.#sender = sender;
    this.#receiver = receiver;
  }
  get mid() {
    return this.#owner.transceiverSnapshot(this.#id).mid ?? null;
  }
  get sender() {
    return this.#sender;
  }
  get receiver() {
    return this.#receiver;
  }
  get direction() {
    return this.#owner.transceiverSnapshot(this.#id).direction;
  }
  set direction(v) {
    // Enum attribute: values outside the enum are ignored (WebIDL), no exception.
    const s = `${v}`;
    if (!DIRECTIONS.includes(s)) return;
    this.#owner.setDirection(this.#id, /** @type {RTCRtpTransceiverDirection} */ (s));
  }
  get currentDirection() {
    return this.#owner.transceiverSnapshot(this.#id).currentDirection ?? null;
  }
  stop() {
    this.#owner.stopTransceiver(this.#id);
  }
  /**
   * TODO(engine): no op to apply codec preferences yet; they are validated and kept.
   * @param {Iterable<RTCRtpCodec>} codecs
   */
  setCodecPreferences(codecs) {
    const list = toSequence(
      codecs,
      "Failed to execute 'setCodecPreferences' on 'RTCRtpTransceiver'",
    );
    const kind = this.#owner.transceiverSnapshot(this.#id).kind;
    const caps = capabilities(kind)?.codecs ?? [];
    const known = (/** @type {any} */ c) =>
      caps.some(
        (k) =>
          k.mimeType.toLowerCase() === `${c.mimeType}`.toLowerCase() &&
          k.clockRate === c.clockRate &&
          (k.channels ?? null) === (c.channels ?? null) &&
          (k.sdpFmtpLine ?? null) === (c.sdpFmtpLine ?? null),
      );
    for (const c of list) {
      if (!known(toDictionary(c, "codec"))) {
        throw new DOMException(
          "Failed to execute 'setCodecPreferences' on 'RTCRtpTransceiver': Invalid codec preferences: invalid codec.",
          "InvalidModificationError",
        );
      }
    }
    // Validated only: applying them needs the engine op.
  }
}
webidlInterface(RTCRtpTransceiver, "RTCRtpTransceiver");

const DTMF_CHARS = /^[0-9A-D#*,]*$/;

export class RTCDTMFSender extends EventTarget {
  /** @type {RtpOwner} */
  #owner;
  #id;
  #toneBuffer = "";
  #duration = 100;
  #interToneGap = 70;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #timer = null;
  /** @param {symbol} token @param {RtpOwner} owner @param {number} id */
  constructor(token, owner, id) {
    checkToken(token, "RTCDTMFSender");
    super();
    this.#owner = owner;
    this.#id = id;
  }
  /**
   * TODO(engine): whether telephone-event was negotiated is not in the snapshot; a sending,
   * not stopped transceiver is taken as able to send DTMF.
   */
  get canInsertDTMF() {
    const t = this.#owner.transceiverSnapshot(this.#id);
    if (this.#owner.closed || t.stopped || t.stopping) return false;
    return t.currentDirection === "sendrecv" || t.currentDirection === "sendonly";
  }
  get toneBuffer() {
    return this.#toneBuffer;
  }
  /** @param {string} tones @param {number} [duration] @param {number} [interToneGap] */
  insertDTMF(tones, duration = 100, interToneGap = 70) {
    if (arguments.length < 1) {
      throw new TypeError(
        "Failed to execute 'insertDTMF' on 'RTCDTMFSender': 1 argument required, but only 0 present.",
      );
    }
    const t = this.#owner.transceiverSnapshot(this.#id);
    if (t.stopped || t.stopping) {
      throw new DOMException("The transceiver is stopped.", "InvalidStateError");
    }
    if (!this.canInsertDTMF) {
      throw new DOMException(
        "Failed to execute 'insertDTMF' on 'RTCDTMFSender': The 'canInsertDTMF' attribute is false: this sender cannot send DTMF.",
        "InvalidStateError",
      );
    }
    const upper = toDOMString(tones).toUpperCase();
    if (!DTMF_CHARS.test(upper)) {
      throw new DOMException(
        "Failed to execute 'insertDTMF' on 'RTCDTMFSender': Invalid characters in tones.",
        "InvalidCharacterError",
      );
    }
    this.#toneBuffer = upper;
    // unsigned long; Chromium clamps duration to [40, 6000] and the gap to [30, 6000].
    this.#duration = Math.min(6000, Math.max(40, Math.trunc(Number(duration)) || 0));
    this.#interToneGap = Math.min(6000, Math.max(30, Math.trunc(Number(interToneGap)) || 0));
    if (this.#timer === null && upper !== "") this.#schedule(0);
  }
  /** @param {number} delay */
  #schedule(delay) {
    this.#timer = setTimeout(() => this.#playout(), delay);
  }
  #playout() {
    this.#timer = null;
    const t = this.#owner.transceiverSnapshot(this.#id);
    if (this.#owner.closed || t.stopped || t.stopping) return;
    if (this.#toneBuffer === "") {
      this.dispatchEvent(new RTCDTMFToneChangeEvent("tonechange", { tone: "" }));
      return;
    }
    const tone = this.#toneBuffer[0];
    this.#toneBuffer = this.#toneBuffer.slice(1);
    // TODO(engine): send the RFC 4733 event for `tone` (no engine op yet). A comma is a 2 s pause.
    this.#schedule(tone === "," ? 2000 : this.#duration + this.#interToneGap);
    this.dispatchEvent(new RTCDTMFToneChangeEvent("tonechange", { tone }));
  }
}
defineEventHandlers(RTCDTMFSender.prototype, ["tonechange"]);
webidlInterface(RTCDTMFSender, "RTCDTMFSender");
