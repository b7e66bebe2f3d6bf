// RTCDataChannel. Attributes come from the engine's DataChannelSnapshot; readyState is mirrored
// from `datachannelstatechange` events right before each event fires. The data path (send and
// `message` events) needs engine ops that come with the data milestone: see `send()`.

import { defineEventHandlers } from "./event-handlers.js";
import { checkToken, webidlInterface } from "./webidl.js";
import { encodeUtf8 } from "./utf8.js";

const BINARY_TYPES = ["blob", "arraybuffer"];

/**
 * The default binaryType: "arraybuffer" as in Chromium (the spec says "blob"). Pages can change
 * it for every new channel here.
 */
export const dataChannelDefaults = { binaryType: /** @type {BinaryType} */ ("arraybuffer") };

/**
 * What a channel needs from its peer connection (the connection core implements it).
 * @typedef {{
 *   closeDataChannel(channel: RTCDataChannel, handle: number): void,
 *   sendDataChannel(handle: number, bytes: Uint8Array, binary: boolean): void,
 *   maxMessageSize?(): number,
 * }} ChannelOwner
 */

/**
 * @type {{
 *   update(c: RTCDataChannel, snapshot: any): void,
 *   setReadyState(c: RTCDataChannel, state: RTCDataChannelState): void,
 *   handle(c: RTCDataChannel): number,
 *   sentTotal(c: RTCDataChannel): number,
 *   setBufferedAmount(c: RTCDataChannel, amount: number, sentMark?: number): void,
 *   deliver(c: RTCDataChannel, data: string | Uint8Array): void,
 * }}
 */
export let channelInternals;

export class RTCDataChannel extends EventTarget {
  /** @type {ChannelOwner} */
  #owner;
  /** @type {any} DataChannelSnapshot */
  #snap;
  /** @type {RTCDataChannelState} */
  #readyState;
  #bufferedAmount = 0;
  /** Bytes handed to the engine so far (engine bufferedamount events are relative to it). */
  #sentTotal = 0;
  /** Bytes of sends waiting behind a Blob read (not in the engine yet). */
  #queuedBytes = 0;
  #bufferedAmountLowThreshold = 0;
  /** @type {BinaryType} */
  #binaryType = dataChannelDefaults.binaryType;
  /** Sends waiting for a Blob to be read, so order is kept. @type {Promise<void> | null} */
  #sendQueue = null;

  /** @param {symbol} token @param {ChannelOwner} owner @param {any} snapshot */
  constructor(token, owner, snapshot) {
    checkToken(token, "RTCDataChannel");
    super();
    this.#owner = owner;
    this.#snap = snapshot;
    this.#readyState = snapshot.readyState;
  }

  get label() {
    return this.#snap.label;
  }
  get ordered() {
    return this.#snap.ordered;
  }
  get maxPacketLifeTime() {
    return this.#snap.maxPacketLifeTime ?? null;
  }
  get maxRetransmits() {
    return this.#snap.maxRetransmits ?? null;
  }
  get protocol() {
    return this.#snap.protocol;
  }
  get negotiated() {
    return this.#snap.negotiated;
  }
  get id() {
    return this.#snap.id ?? null;
  }
  /** Chromium's non-standard priority. */
  get priority() {
    return this.#snap.priority;
  }
  get readyState() {
    return this.#readyState;
  }
  get bufferedAmount() {
    return this.#bufferedAmount;
  }
  get bufferedAmountLowThreshold() {
    return this.#bufferedAmountLowThreshold;
  }
  set bufferedAmountLowThreshold(v) {
    // unsigned long, no [EnforceRange]: modulo 2^32.
    const n = Number(v);
    this.#bufferedAmountLowThreshold = Number.isFinite(n)
      ? ((Math.trunc(n) % 2 ** 32) + 2 ** 32) % 2 ** 32
      : 0;
  }
  get binaryType() {
    return this.#binaryType;
  }
  set binaryType(v) {
    // An enum attribute ignores values outside the enum (WebIDL).
    const s = `${v}`;
    if (BINARY_TYPES.includes(s)) this.#binaryType = /** @type {BinaryType} */ (s);
  }

  /** @param {string | Blob | ArrayBuffer | ArrayBufferView} data */
  send(data) {
    if (arguments.length < 1) {
      throw new TypeError(
        "Failed to execute 'send' on 'RTCDataChannel': 1 argument required, but only 0 present.",
      );
    }
    if (this.#readyState !== "open") {
      throw new DOMException(
        `Failed to execute 'send' on 'RTCDataChannel': RTCDataChannel.readyState is not 'open'`,
        "InvalidStateError",
      );
    }
    /** @type {Uint8Array | Promise<Uint8Array>} */
    let payload;
    let size;
    // A string goes as its UTF-8 with the "string" PPID (RFC 8831 §6.6).
    let binary = true;
    if (typeof Blob === "function" && data instanceof Blob) {
      payload = data.arrayBuffer().then((b) => new Uint8Array(b));
      size = data.size;
    } else if (data instanceof ArrayBuffer) {
      // A view, not a copy: the engine copies the bytes during this call (copied below if the
      // send has to wait).
      payload = new Uint8Array(data);
      size = data.byteLength;
    } else if (ArrayBuffer.isView(data)) {
      payload = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      size = data.byteLength;
    } else {
      // USVString.
      const s = `${data}`;
      const wellFormed = /** @type {any} */ (s).toWellFormed
        ? /** @type {any} */ (s).toWellFormed()
        : s;
      payload = encodeUtf8(wellFormed);
      size = payload.byteLength;
      binary = false;
    }
    // webrtc-pc §6.2 send(): TypeError over the transport's maxMessageSize, a Blob included
    // (checked by its size, before it is read).
    const max = this.#owner.maxMessageSize?.();
    if (max !== undefined && size > max) {
      throw new TypeError(
        `Failed to execute 'send' on 'RTCDataChannel': Message size (${size}) exceeds the maximum message size (${max}).`,
      );
    }
    if (payload instanceof Promise || this.#sendQueue) {
      // A Blob is read asynchronously; later sends wait behind it to keep the order. The page
      // may reuse its buffer once send() returns: a waiting send keeps its own copy (a string's
      // UTF-8 is ours already).
      if (binary && payload instanceof Uint8Array) payload = payload.slice();
      this.#bufferedAmount += size;
      this.#queuedBytes += size;
      const prev = this.#sendQueue ?? Promise.resolve();
      const p = prev
        .then(() => payload)
        .then((bytes) => {
          this.#queuedBytes -= size;
          if (this.#readyState !== "open") {
            this.#bufferedAmount -= size;
            return;
          }
          try {
            this.#owner.sendDataChannel(this.#snap.handle, bytes, binary);
            this.#sentTotal += size;
          } catch (e) {
            this.#bufferedAmount -= size;
            throw e;
          }
        })
        .catch((e) => console.error("polyrtc: RTCDataChannel.send failed", e))
        .finally(() => {
          if (this.#sendQueue === p) this.#sendQueue = null;
        });
      this.#sendQueue = p;
      return;
    }
    // Chromium counts the bytes at once; the engine's bufferedamount events then track them.
    this.#bufferedAmount += size;
    try {
      this.#owner.sendDataChannel(this.#snap.handle, payload, binary);
      this.#sentTotal += size;
    } catch (e) {
      this.#bufferedAmount -= size;
      throw e;
    }
  }

  close() {
    if (this.#readyState === "closing" || this.#readyState === "closed") return;
    this.#readyState = "closing";
    this.#owner.closeDataChannel(this, this.#snap.handle);
  }

  static {
    // Shim-internal access (no public surface): the connection core drives state and data.
    channelInternals = {
      /** A newer engine snapshot of this channel (id assigned, etc.). */
      update(/** @type {RTCDataChannel} */ c, /** @type {any} */ snapshot) {
        c.#snap = snapshot;
      },
      setReadyState(/** @type {RTCDataChannel} */ c, /** @type {RTCDataChannelState} */ state) {
        c.#readyState = state;
      },
      handle(/** @type {RTCDataChannel} */ c) {
        return /** @type {number} */ (c.#snap.handle);
      },
      /** Bytes handed to the engine so far (stamped on engine events when they are taken). */
      sentTotal(/** @type {RTCDataChannel} */ c) {
        return c.#sentTotal;
      },
      /**
       * The engine's bufferedAmount as of when the event was taken (`sentMark`: sentTotal then);
       * sends made since, and sends still waiting for a Blob, are added back so a late event
       * cannot make bufferedAmount too low (and fire bufferedamountlow too early).
       */
      setBufferedAmount(
        /** @type {RTCDataChannel} */ c,
        /** @type {number} */ amount,
        /** @type {number | undefined} */ sentMark,
      ) {
        const before = c.#bufferedAmount;
        const since = sentMark === undefined ? 0 : c.#sentTotal - sentMark;
        c.#bufferedAmount = amount + since + c.#queuedBytes;
        const low = c.#bufferedAmountLowThreshold;
        if (before > low && c.#bufferedAmount <= low)
          c.dispatchEvent(new Event("bufferedamountlow"));
      },
      /** Deliver a received message. */
      deliver(/** @type {RTCDataChannel} */ c, /** @type {string | Uint8Array} */ data) {
        if (c.#readyState !== "open") return;
        let value;
        if (typeof data === "string") value = data;
        else if (c.#binaryType === "blob" && typeof Blob === "function")
          value = new Blob([/** @type {any} */ (data)]);
        else if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength)
          // The engine's Uint8Array owns its buffer: hand it over without another copy.
          value = data.buffer;
        else value = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
        c.dispatchEvent(new MessageEvent("message", { data: value }));
      },
    };
  }
}
defineEventHandlers(RTCDataChannel.prototype, [
  "open",
  "bufferedamountlow",
  "error",
  "closing",
  "close",
  "message",
]);
webidlInterface(RTCDataChannel, "RTCDataChannel");
