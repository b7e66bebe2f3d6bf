// WebIDL conversion of RTCConfiguration and the other RTCPeerConnection dictionaries into the
// engine's shapes. Type errors (wrong types, enum values, ranges) are thrown here; semantic errors
// (bad URLs, InvalidAccessError for expired certificates, ...) come from the engine.

import { isCertificate, certificateToEngine } from "./certificate.js";
import {
  toDictionary,
  toDOMString,
  toUSVString,
  toEnum,
  toSequence,
  enforceRange,
  nullable,
} from "./webidl.js";
import { SDP_TYPES } from "./session-description.js";

const ICE_TRANSPORT_POLICIES = ["relay", "all"];
const BUNDLE_POLICIES = ["balanced", "max-compat", "max-bundle"];
// "negotiate" is in Chromium's IDL enum; Chromium 156 accepts it in the constructor.
const RTCP_MUX_POLICIES = ["negotiate", "require"];
const PRIORITIES = ["very-low", "low", "medium", "high"];
const DIRECTIONS = ["sendrecv", "sendonly", "recvonly", "inactive", "stopped"];

/**
 * @param {unknown} value
 * @param {string} context e.g. "Failed to construct 'RTCPeerConnection'"
 * @returns {{ iceServers: any[], iceTransportPolicy: string, bundlePolicy: string,
 *   rtcpMuxPolicy: string, iceCandidatePoolSize: number, certificates: any[],
 *   peerIdentity?: string }}
 */
export function convertConfiguration(value, context) {
  const dict = toDictionary(value, context);
  const iceServers =
    dict.iceServers === undefined
      ? []
      : toSequence(dict.iceServers, `${context}: iceServers`).map((s) =>
          convertIceServer(s, context),
        );
  /** @type {any[]} */
  const certificates = [];
  if (dict.certificates !== undefined) {
    for (const c of toSequence(dict.certificates, `${context}: certificates`)) {
      if (!isCertificate(c)) {
        throw new TypeError(
          `${context}: Failed to read the 'certificates' property: parameter is not of type 'RTCCertificate'.`,
        );
      }
      certificates.push(c);
    }
  }
  /** @type {any} */
  const out = {
    iceServers,
    iceTransportPolicy:
      dict.iceTransportPolicy === undefined
        ? "all"
        : toEnum(dict.iceTransportPolicy, ICE_TRANSPORT_POLICIES, `${context}: iceTransportPolicy`),
    bundlePolicy:
      dict.bundlePolicy === undefined
        ? "balanced"
        : toEnum(dict.bundlePolicy, BUNDLE_POLICIES, `${context}: bundlePolicy`),
    rtcpMuxPolicy:
      dict.rtcpMuxPolicy === undefined
        ? "require"
        : toEnum(dict.rtcpMuxPolicy, RTCP_MUX_POLICIES, `${context}: rtcpMuxPolicy`),
    iceCandidatePoolSize:
      dict.iceCandidatePoolSize === undefined
        ? 0
        : enforceRange(dict.iceCandidatePoolSize, 0, 255, `${context}: iceCandidatePoolSize`),
    certificates,
  };
  if (dict.peerIdentity !== undefined) out.peerIdentity = toDOMString(dict.peerIdentity);
  return out;
}

/** @param {unknown} value @param {string} context */
function convertIceServer(value, context) {
  const dict = toDictionary(value, `${context}: iceServers`);
  if (dict.urls === undefined) {
    throw new TypeError(
      `${context}: Failed to read the 'iceServers' property: required member urls is undefined.`,
    );
  }
  // (DOMString or sequence<DOMString>): an object is a sequence, anything else a string.
  const urls =
    typeof dict.urls === "object" && dict.urls !== null
      ? toSequence(dict.urls, `${context}: urls`).map(toDOMString)
      : toDOMString(dict.urls);
  /** @type {{ urls: string | string[], username?: string, credential?: string }} */
  const server = { urls };
  if (dict.username !== undefined) server.username = toDOMString(dict.username);
  if (dict.credential !== undefined) server.credential = toDOMString(dict.credential);
  return server;
}

/** The engine Configuration: certificates as their bytes. @param {ReturnType<typeof convertConfiguration>} c */
export function configurationToEngine(c) {
  return { ...c, certificates: c.certificates.map(certificateToEngine) };
}

/** @param {unknown} value @param {string} context */
export function convertOfferOptions(value, context) {
  const dict = toDictionary(value, context);
  /** @type {{ iceRestart: boolean, offerToReceiveAudio?: boolean, offerToReceiveVideo?: boolean }} */
  const out = { iceRestart: Boolean(dict.iceRestart) };
  // Legacy members. Chromium converts them as numbers (old code passed counts) and rejects a
  // count above 1 with InvalidAccessError (Unified Plan); `tooMany` carries that to the operation.
  let tooMany = false;
  for (const key of /** @type {const} */ (["offerToReceiveAudio", "offerToReceiveVideo"])) {
    if (dict[key] === undefined) continue;
    const n =
      typeof dict[key] === "boolean" ? Number(dict[key]) : Math.trunc(Number(dict[key]) || 0);
    if (n > 1) tooMany = true;
    out[key] = n >= 1;
  }
  return { options: out, tooMany };
}

/** RTCLocalSessionDescriptionInit. @param {unknown} value @param {string} context */
export function convertLocalDescription(value, context) {
  const dict = toDictionary(value, context);
  return {
    type: dict.type === undefined ? null : toEnum(dict.type, SDP_TYPES, context),
    sdp: dict.sdp === undefined ? "" : toDOMString(dict.sdp),
  };
}

/**
 * RTCSessionDescriptionInit. Chromium does not make `type` required: a missing type is null
 * here and the operation rejects with OperationError.
 * @param {unknown} value @param {string} context
 */
export function convertRemoteDescription(value, context) {
  const dict = toDictionary(value, context);
  return {
    type: dict.type === undefined ? null : toEnum(dict.type, SDP_TYPES, context),
    sdp: dict.sdp === undefined ? "" : toDOMString(dict.sdp),
  };
}

/** @param {unknown} value @param {string} context */
export function convertDataChannelInit(value, context) {
  const dict = toDictionary(value, context);
  const u16 = (/** @type {unknown} */ v, /** @type {string} */ name) =>
    nullable(v, (x) => enforceRange(x, 0, 65535, `${context}: ${name}`));
  return {
    ordered: dict.ordered === undefined ? true : Boolean(dict.ordered),
    maxPacketLifeTime: u16(dict.maxPacketLifeTime, "maxPacketLifeTime"),
    maxRetransmits: u16(dict.maxRetransmits, "maxRetransmits"),
    protocol: dict.protocol === undefined ? "" : toUSVString(dict.protocol),
    negotiated: Boolean(dict.negotiated),
    id: u16(dict.id, "id"),
    priority:
      dict.priority === undefined
        ? null
        : toEnum(dict.priority, PRIORITIES, `${context}: priority`),
  };
}

/** RTCRtpTransceiverInit → engine TransceiverInit (+ the stream objects for the shim). */
export function convertTransceiverInit(
  /** @type {unknown} */ value,
  /** @type {string} */ context,
  isStream,
) {
  const dict = toDictionary(value, context);
  const streams = dict.streams === undefined ? [] : toSequence(dict.streams, `${context}: streams`);
  for (const s of streams) {
    if (!isStream(s))
      throw new TypeError(`${context}: streams: parameter is not of type 'MediaStream'.`);
  }
  const sendEncodings =
    dict.sendEncodings === undefined
      ? []
      : toSequence(dict.sendEncodings, `${context}: sendEncodings`).map((e) => {
          const d = toDictionary(e, `${context}: sendEncodings`);
          /** @type {any} */
          const out = { active: d.active === undefined ? true : Boolean(d.active) };
          if (d.rid !== undefined) out.rid = toDOMString(d.rid);
          if (d.maxBitrate !== undefined)
            out.maxBitrate = enforceRange(d.maxBitrate, 0, 0xffffffff, `${context}: maxBitrate`);
          if (d.maxFramerate !== undefined) out.maxFramerate = Number(d.maxFramerate);
          if (d.scaleResolutionDownBy !== undefined)
            out.scaleResolutionDownBy = Number(d.scaleResolutionDownBy);
          for (const k of ["maxFramerate", "scaleResolutionDownBy"]) {
            if (k in out && !Number.isFinite(out[k]))
              throw new TypeError(`${context}: ${k} is not a finite number.`);
          }
          return out;
        });
  return {
    direction:
      dict.direction === undefined
        ? null
        : toEnum(dict.direction, DIRECTIONS, `${context}: direction`),
    streams,
    streamIds: streams.map((/** @type {any} */ s) => s.id),
    sendEncodings,
  };
}
