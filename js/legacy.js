// Legacy RTCPeerConnection API that old pages still call and Chromium (or adapter.js) still
// provides: the callback forms of the JSEP methods and getStats, the stream-based
// addStream/removeStream/getLocalStreams/getRemoteStreams/getStreamById, createDTMFSender, and
// the addstream/removestream events (fired by the connection core).

import { defineEventHandlers } from "./event-handlers.js";
import { domError } from "./errors.js";
import { isStream, isTrack } from "./tracks.js";
import { reportError } from "./webidl.js";

/** @param {Function} cb @param {any} value */
function invokeCallback(cb, value) {
  try {
    cb(value);
  } catch (e) {
    reportError(e);
  }
}

/**
 * The legacy overload (webrtc-pc §4.4.3), chosen as WebIDL overload resolution does: by argument
 * count. `createOffer(success, failure[, options])`, `createAnswer(success, failure)`,
 * `setLocalDescription(description, success, failure)`, `setRemoteDescription(...)`. The
 * returned promise resolves first; the callback runs right after (Chromium's order).
 * @param {any} proto @param {string} name @param {number} length IDL length of the promise form
 */
function addCallbackOverload(proto, name, length, successTakesValue = true) {
  const promiseForm = proto[name];
  const callbacksFirst = name === "createOffer" || name === "createAnswer";
  const wrapped = {
    /** @param {...any} args */
    [name](...args) {
      const legacy = callbacksFirst
        ? args.length >= 2 && (typeof args[0] === "function" || typeof args[1] === "function")
        : args.length >= 2 && typeof args[1] === "function";
      if (!legacy) return promiseForm.apply(this, args);
      const [success, failure, ...rest] = callbacksFirst ? args : [args[1], args[2], args[0]];
      if (typeof success !== "function" || typeof failure !== "function") {
        return Promise.reject(
          new TypeError(
            `Failed to execute '${name}' on 'RTCPeerConnection': The callback provided as parameter ${callbacksFirst ? (typeof success !== "function" ? 1 : 2) : typeof success !== "function" ? 2 : 3} is not a function.`,
          ),
        );
      }
      return promiseForm.apply(this, rest).then(
        (/** @type {any} */ v) => {
          queueMicrotask(() => invokeCallback(success, successTakesValue ? v : undefined));
        },
        (/** @type {any} */ e) => {
          queueMicrotask(() => invokeCallback(failure, e));
        },
      );
    },
  }[name];
  Object.defineProperty(wrapped, "length", { value: length });
  Object.defineProperty(proto, name, {
    value: wrapped,
    writable: true,
    configurable: true,
    enumerable: true,
  });
}

/** @param {any} RTCPeerConnection the class to extend */
export function installLegacyApi(RTCPeerConnection) {
  const proto = RTCPeerConnection.prototype;
  addCallbackOverload(proto, "createOffer", 0);
  addCallbackOverload(proto, "createAnswer", 0);
  addCallbackOverload(proto, "setLocalDescription", 0, false);
  addCallbackOverload(proto, "setRemoteDescription", 1, false);
  addCallbackOverload(proto, "addIceCandidate", 0, false);
  // No callback form of getStats: current Chromium rejects getStats(callback) with a TypeError.

  /** @param {any} pc */
  const localStreams = (pc) => {
    const senders = pc.getSenders().filter((/** @type {any} */ s) => s.track);
    const tracks = new Set(senders.map((/** @type {any} */ s) => s.track));
    // A stream counts while one of its tracks is being sent.
    const all = /** @type {Map<string, MediaStream>} */ (legacyState(pc).localStreams);
    return [...all.values()].filter((s) => s.getTracks().some((t) => tracks.has(t)));
  };

  const methods = {
    /** @param {MediaStream} stream */
    addStream(stream) {
      if (!isStream(stream)) {
        throw new TypeError(
          "Failed to execute 'addStream' on 'RTCPeerConnection': parameter 1 is not of type 'MediaStream'.",
        );
      }
      const sent = new Set(this.getSenders().map((/** @type {any} */ s) => s.track));
      for (const track of stream.getTracks()) {
        if (!sent.has(track)) this.addTrack(track, stream);
      }
      legacyState(this).localStreams.set(stream.id, stream);
    },
    /** @param {MediaStream} stream */
    removeStream(stream) {
      if (!isStream(stream)) {
        throw new TypeError(
          "Failed to execute 'removeStream' on 'RTCPeerConnection': parameter 1 is not of type 'MediaStream'.",
        );
      }
      const tracks = new Set(stream.getTracks());
      for (const sender of this.getSenders()) {
        if (sender.track && tracks.has(sender.track)) this.removeTrack(sender);
      }
      legacyState(this).localStreams.delete(stream.id);
    },
    getLocalStreams() {
      return localStreams(this);
    },
    getRemoteStreams() {
      return [...legacyState(this).remoteStreams.values()];
    },
    /** @param {string} id */
    getStreamById(id) {
      const all = [...localStreams(this), ...legacyState(this).remoteStreams.values()];
      return all.find((s) => s.id === `${id}`) ?? null;
    },
    /** @param {MediaStreamTrack} track */
    createDTMFSender(track) {
      if (!isTrack(track)) {
        throw new TypeError(
          "Failed to execute 'createDTMFSender' on 'RTCPeerConnection': parameter 1 is not of type 'MediaStreamTrack'.",
        );
      }
      const sender = this.getSenders().find((/** @type {any} */ s) => s.track === track);
      if (!sender || !sender.dtmf) {
        throw domError(
          "SyntaxError",
          "Failed to execute 'createDTMFSender' on 'RTCPeerConnection': No local audio track is being sent for this track.",
        );
      }
      return sender.dtmf;
    },
  };
  for (const [key, fn] of Object.entries(methods)) {
    Object.defineProperty(proto, key, {
      value: fn,
      writable: true,
      configurable: true,
      enumerable: true,
    });
  }
  defineEventHandlers(proto, ["addstream", "removestream"]);
}

/** @type {(pc: any) => { localStreams: Map<string, MediaStream>, remoteStreams: Map<string, MediaStream> }} */
let legacyState = () => {
  throw new Error("polyrtc: legacy state accessor not set");
};

/** The connection core gives the legacy API its stream maps. @param {typeof legacyState} fn */
export function setLegacyStateAccessor(fn) {
  legacyState = fn;
}
