// Remote MediaStreamTracks and MediaStreams. A receiver's track is a real MediaStreamTrack where
// the platform can make one (Chromium's MediaStreamTrackGenerator, else an AudioContext
// destination or a canvas capture), else a MediaStreamTrack-shaped EventTarget (Node, workers).
// Media flowing into them arrives with the media milestone; until then they stay silent/blank.

import { defineEventHandlers } from "./event-handlers.js";
import { webidlInterface } from "./webidl.js";

const g = /** @type {any} */ (globalThis);

function randomId() {
  return typeof crypto?.randomUUID === "function"
    ? crypto.randomUUID()
    : Math.random().toString(36).slice(2) + Date.now().toString(36);
}

/** A MediaStreamTrack-shaped stand-in where the platform has no MediaStreamTrack. */
export class PolyfillMediaStreamTrack extends EventTarget {
  #kind;
  #id;
  #label;
  #enabled = true;
  #muted = true;
  /** @type {"live" | "ended"} */
  #readyState = "live";
  #contentHint = "";
  /** @param {string} kind @param {string} [id] @param {string} [label] */
  constructor(kind, id = randomId(), label = "remote " + kind) {
    super();
    this.#kind = `${kind}`;
    this.#id = `${id}`;
    this.#label = `${label}`;
  }
  get kind() {
    return this.#kind;
  }
  get id() {
    return this.#id;
  }
  get label() {
    return this.#label;
  }
  get enabled() {
    return this.#enabled;
  }
  set enabled(v) {
    this.#enabled = Boolean(v);
  }
  get muted() {
    return this.#muted;
  }
  get readyState() {
    return this.#readyState;
  }
  get contentHint() {
    return this.#contentHint;
  }
  set contentHint(v) {
    this.#contentHint = `${v}`;
  }
  clone() {
    const t = new PolyfillMediaStreamTrack(this.#kind, randomId(), this.#label);
    t.enabled = this.#enabled;
    return t;
  }
  stop() {
    this.#readyState = "ended";
  }
  getCapabilities() {
    return {};
  }
  getConstraints() {
    return {};
  }
  getSettings() {
    return {};
  }
  /** @param {MediaTrackConstraints} [_constraints] */
  async applyConstraints(_constraints) {}
  /** Shim-internal: mute state comes from the receiver. @param {boolean} muted */
  _setMuted(muted) {
    if (this.#muted === muted || this.#readyState === "ended") return;
    this.#muted = muted;
    this.dispatchEvent(new Event(muted ? "mute" : "unmute"));
  }
  /** Shim-internal: the remote side ended the track. */
  _end() {
    if (this.#readyState === "ended") return;
    this.#readyState = "ended";
    this.dispatchEvent(new Event("ended"));
  }
}
defineEventHandlers(PolyfillMediaStreamTrack.prototype, ["mute", "unmute", "ended"]);
webidlInterface(PolyfillMediaStreamTrack, "MediaStreamTrack");

/** A MediaStream-shaped stand-in where the platform has no MediaStream. */
export class PolyfillMediaStream extends EventTarget {
  #id;
  /** @type {Set<any>} */
  #tracks = new Set();
  /** @param {any[] | string} [tracksOrId] */
  constructor(tracksOrId = undefined) {
    super();
    this.#id = typeof tracksOrId === "string" ? tracksOrId : randomId();
    if (Array.isArray(tracksOrId)) for (const t of tracksOrId) this.#tracks.add(t);
  }
  get id() {
    return this.#id;
  }
  get active() {
    return [...this.#tracks].some((t) => t.readyState !== "ended");
  }
  getTracks() {
    return [...this.#tracks];
  }
  getAudioTracks() {
    return [...this.#tracks].filter((t) => t.kind === "audio");
  }
  getVideoTracks() {
    return [...this.#tracks].filter((t) => t.kind === "video");
  }
  /** @param {string} id */
  getTrackById(id) {
    return [...this.#tracks].find((t) => t.id === id) ?? null;
  }
  /** @param {any} track */
  addTrack(track) {
    this.#tracks.add(track);
  }
  /** @param {any} track */
  removeTrack(track) {
    this.#tracks.delete(track);
  }
  clone() {
    return new PolyfillMediaStream(this.getTracks().map((t) => t.clone()));
  }
}
defineEventHandlers(PolyfillMediaStream.prototype, ["addtrack", "removetrack"]);
webidlInterface(PolyfillMediaStream, "MediaStream");

/** The platform's MediaStream where it has one, else ours. */
export const MediaStream =
  typeof g.MediaStream === "function" ? g.MediaStream : PolyfillMediaStream;
/** The platform's MediaStreamTrack where it has one, else ours. */
export const MediaStreamTrack =
  typeof g.MediaStreamTrack === "function" ? g.MediaStreamTrack : PolyfillMediaStreamTrack;

/** @param {unknown} v */
export function isTrack(v) {
  if (v instanceof PolyfillMediaStreamTrack) return true;
  if (typeof g.MediaStreamTrack === "function" && v instanceof g.MediaStreamTrack) return true;
  return false;
}

/** @param {unknown} v */
export function isStream(v) {
  if (v instanceof PolyfillMediaStream) return true;
  if (typeof g.MediaStream === "function" && v instanceof g.MediaStream) return true;
  return false;
}

/** Pin an id the platform generated randomly to the one the remote side chose (a=msid). */
function pinId(/** @type {any} */ obj, /** @type {string} */ id) {
  try {
    Object.defineProperty(obj, "id", { value: id, configurable: true, enumerable: false });
  } catch {
    // Not configurable on this object: keep the platform's id.
  }
  return obj;
}

/** Muted state of remote tracks that are platform MediaStreamTracks (their own is read-only). */
const remoteMuted = new WeakMap();

/**
 * Set a remote track's `muted`, firing mute/unmute. A platform track gets an own `muted` getter
 * shadowing the prototype's, since only the UA could otherwise change it.
 * @param {any} track @param {boolean} muted
 */
export function setRemoteTrackMuted(track, muted) {
  if (track instanceof PolyfillMediaStreamTrack) {
    track._setMuted(muted);
    return;
  }
  const had = remoteMuted.has(track);
  if (!had) {
    try {
      Object.defineProperty(track, "muted", {
        get: () => remoteMuted.get(track),
        configurable: true,
        enumerable: false,
      });
    } catch {
      return;
    }
    remoteMuted.set(track, muted);
    return;
  }
  if (remoteMuted.get(track) === muted) return;
  remoteMuted.set(track, muted);
  if (track.readyState !== "ended") track.dispatchEvent(new Event(muted ? "mute" : "unmute"));
}

/** @type {any} */
let sharedAudioContext = null;

/**
 * A remote track for a receiver: a real MediaStreamTrack where possible.
 * @param {"audio" | "video"} kind
 * @param {string} id
 */
export function createRemoteTrack(kind, id) {
  try {
    if (typeof g.MediaStreamTrackGenerator === "function") {
      return pinId(new g.MediaStreamTrackGenerator({ kind }), id);
    }
    if (kind === "audio" && typeof g.AudioContext === "function") {
      sharedAudioContext ??= new g.AudioContext();
      const track = sharedAudioContext.createMediaStreamDestination().stream.getAudioTracks()[0];
      if (track) return pinId(track, id);
    }
    if (kind === "video" && typeof g.document?.createElement === "function") {
      const canvas = g.document.createElement("canvas");
      if (typeof canvas.captureStream === "function") {
        const track = canvas.captureStream(0).getVideoTracks()[0];
        if (track) return pinId(track, id);
      }
    }
  } catch {
    // Fall back to the stand-in below.
  }
  return new PolyfillMediaStreamTrack(kind, id);
}

/** A remote MediaStream with the id the remote side chose. @param {string} id */
export function createRemoteStream(id) {
  if (MediaStream === PolyfillMediaStream) return new PolyfillMediaStream(id);
  return pinId(new MediaStream(), id);
}

/** Fire addtrack/removetrack at a remote stream (the UA-initiated change fires them). */
export function fireStreamTrackEvent(/** @type {any} */ stream, /** @type {string} */ type, track) {
  const Ctor = g.MediaStreamTrackEvent;
  let event;
  if (typeof Ctor === "function") {
    try {
      event = new Ctor(type, { track });
    } catch {
      event = undefined;
    }
  }
  if (!event) {
    event = new Event(type);
    Object.defineProperty(event, "track", { value: track, enumerable: true });
  }
  stream.dispatchEvent(event);
}
