// RTCSessionDescription and RTCIceCandidate: plain value classes. Candidate lines are parsed by
// the engine (`parseCandidate`), never here.

import { parseCandidate } from "./backend.js";
import {
  INTERNAL,
  toDictionary,
  toDOMString,
  toEnum,
  nullable,
  toUnsigned,
  webidlInterface,
} from "./webidl.js";

export const SDP_TYPES = /** @type {const} */ (["offer", "pranswer", "answer", "rollback"]);

export class RTCSessionDescription {
  /** @type {RTCSdpType | null} */
  #type;
  #sdp;

  /**
   * Chromium: the init dictionary is optional and `type` is not required (the spec requires
   * it), so `new RTCSessionDescription()` works and its `type` is null.
   * @param {RTCSessionDescriptionInit} [init]
   */
  constructor(init = undefined) {
    const dict = toDictionary(init, "Failed to construct 'RTCSessionDescription'");
    this.#type =
      dict.type === undefined
        ? null
        : /** @type {RTCSdpType} */ (
            toEnum(dict.type, SDP_TYPES, "Failed to construct 'RTCSessionDescription'")
          );
    this.#sdp = dict.sdp === undefined ? "" : toDOMString(dict.sdp);
  }
  // Chromium keeps the legacy writable attributes (the spec made them readonly).
  get type() {
    return this.#type;
  }
  set type(v) {
    const s = `${v}`;
    if (/** @type {readonly string[]} */ (SDP_TYPES).includes(s))
      this.#type = /** @type {RTCSdpType} */ (s);
  }
  get sdp() {
    return this.#sdp;
  }
  set sdp(v) {
    this.#sdp = toDOMString(v);
  }
  toJSON() {
    return { type: this.#type, sdp: this.#sdp };
  }
}
webidlInterface(RTCSessionDescription, "RTCSessionDescription");

/** The parsed fields of a candidate, as the engine's IceCandidateInfo gives them. */
const CANDIDATE_FIELDS = /** @type {const} */ ([
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
  "relayProtocol",
  "url",
]);

/**
 * WebIDL conversion of RTCIceCandidateInit (also accepts an RTCIceCandidate).
 * @param {unknown} value
 * @param {string} context
 */
export function convertIceCandidateInit(value, context) {
  const dict = toDictionary(value, context);
  return {
    candidate: dict.candidate === undefined ? "" : toDOMString(dict.candidate),
    sdpMid: nullable(dict.sdpMid, toDOMString),
    // unsigned short without [EnforceRange] (Chromium): -1 wraps to 65535, 65536 to 0.
    sdpMLineIndex: nullable(dict.sdpMLineIndex, (v) => toUnsigned(v, 16)),
    usernameFragment: nullable(dict.usernameFragment, toDOMString),
  };
}

export class RTCIceCandidate {
  /** @type {Record<string, any>} */
  #info;

  /** @param {RTCIceCandidateInit} [init] */
  constructor(init = undefined, info = undefined) {
    if (init === /** @type {any} */ (INTERNAL)) {
      // From the engine's icecandidate event: already parsed.
      this.#info = normalizeInfo(/** @type {any} */ (info));
      return;
    }
    const context = "Failed to construct 'RTCIceCandidate'";
    const dict = convertIceCandidateInit(init, context);
    if (dict.sdpMid === null && dict.sdpMLineIndex === null) {
      throw new TypeError(`${context}: sdpMid and sdpMLineIndex are both null.`);
    }
    /** @type {Record<string, any>} */
    let parsed = {};
    if (dict.candidate !== "") {
      try {
        parsed = parseCandidate(dict);
      } catch {
        // The spec: a candidate that does not parse leaves the parsed attributes null.
        parsed = {};
      }
    }
    // Chromium takes usernameFragment from the init dictionary only, not from the line.
    this.#info = normalizeInfo({ ...parsed, ...dict });
  }
  get candidate() {
    return this.#info.candidate;
  }
  get sdpMid() {
    return this.#info.sdpMid;
  }
  get sdpMLineIndex() {
    return this.#info.sdpMLineIndex;
  }
  get usernameFragment() {
    return this.#info.usernameFragment;
  }
  get foundation() {
    return this.#info.foundation;
  }
  get component() {
    return this.#info.component;
  }
  get priority() {
    return this.#info.priority;
  }
  get address() {
    return this.#info.address;
  }
  get protocol() {
    return this.#info.protocol;
  }
  get port() {
    return this.#info.port;
  }
  get type() {
    return this.#info.type;
  }
  get tcpType() {
    return this.#info.tcpType;
  }
  get relatedAddress() {
    return this.#info.relatedAddress;
  }
  get relatedPort() {
    return this.#info.relatedPort;
  }
  get relayProtocol() {
    return this.#info.relayProtocol;
  }
  get url() {
    return this.#info.url;
  }
  /** Chromium: null sdpMid/sdpMLineIndex are left out; usernameFragment is always a string. */
  toJSON() {
    /** @type {RTCIceCandidateInit} */
    const json = { candidate: this.#info.candidate };
    if (this.#info.sdpMid !== null) json.sdpMid = this.#info.sdpMid;
    if (this.#info.sdpMLineIndex !== null) json.sdpMLineIndex = this.#info.sdpMLineIndex;
    json.usernameFragment = this.#info.usernameFragment ?? "";
    return json;
  }
}
webidlInterface(RTCIceCandidate, "RTCIceCandidate");

/** @param {Record<string, any>} info */
function normalizeInfo(info) {
  /** @type {Record<string, any>} */
  const out = {
    candidate: typeof info.candidate === "string" ? info.candidate : "",
    sdpMid: info.sdpMid ?? null,
    sdpMLineIndex: info.sdpMLineIndex ?? null,
    usernameFragment: info.usernameFragment ?? null,
  };
  for (const f of CANDIDATE_FIELDS) out[f] = info[f] ?? null;
  return out;
}

/** @param {Record<string, any>} info */
export function candidateFromEngine(info) {
  return new RTCIceCandidate(/** @type {any} */ (INTERNAL), /** @type {any} */ (info));
}
