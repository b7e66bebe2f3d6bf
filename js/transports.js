// RTCIceTransport, RTCDtlsTransport, RTCSctpTransport. The engine bundles everything on one
// transport per connection, so each connection has one of each (stable identity); their states
// are the connection core's mirrors, updated right before the matching events fire.

import { defineEventHandlers } from "./event-handlers.js";
import { checkToken, webidlInterface } from "./webidl.js";

/**
 * What the transports read from their connection (the connection core implements it).
 * @typedef {{
 *   mirror: { iceTransportState: RTCIceTransportState, iceGatheringState: RTCIceGathererState,
 *             dtlsState: RTCDtlsTransportState, sctpState: RTCSctpTransportState },
 *   snapshot: any,
 *   iceRole: RTCIceRole,
 *   selectedCandidatePair: { local: RTCIceCandidate, remote: RTCIceCandidate } | null,
 *   remoteCertificates: any[],
 * }} TransportSource
 */

export class RTCIceTransport extends EventTarget {
  /** @type {TransportSource} */
  #src;
  /** @param {symbol} token @param {TransportSource} src */
  constructor(token, src) {
    checkToken(token, "RTCIceTransport");
    super();
    this.#src = src;
  }
  /**
   * Chromium 156 reports null for the transports of an RTCPeerConnection in every state (it
   * only ever set the role for standalone ICE transports), so does the polyfill; the agent's
   * role is in getStats() (`transport.iceRole`), as in Chromium. docs/chromium-differences.md.
   */
  get role() {
    return null;
  }
  // No `component`: Chromium does not expose it.
  get state() {
    return this.#src.mirror.iceTransportState;
  }
  get gatheringState() {
    return this.#src.mirror.iceGatheringState;
  }
  /**
   * The pair the engine selected, as of the last `selectedcandidatepairchange`; null before and
   * after close(). Like Chromium, a new `{local, remote}` object per call holding the same two
   * RTCIceCandidate objects until the pair changes.
   */
  getSelectedCandidatePair() {
    const pair = this.#src.selectedCandidatePair;
    if (!pair || this.#src.mirror.iceTransportState === "closed") return null;
    return { local: pair.local, remote: pair.remote };
  }
}
defineEventHandlers(RTCIceTransport.prototype, [
  "statechange",
  "gatheringstatechange",
  "selectedcandidatepairchange",
]);
webidlInterface(RTCIceTransport, "RTCIceTransport");

export class RTCDtlsTransport extends EventTarget {
  /** @type {TransportSource} */
  #src;
  #iceTransport;
  /** @param {symbol} token @param {TransportSource} src @param {RTCIceTransport} iceTransport */
  constructor(token, src, iceTransport) {
    checkToken(token, "RTCDtlsTransport");
    super();
    this.#src = src;
    this.#iceTransport = iceTransport;
  }
  get iceTransport() {
    return this.#iceTransport;
  }
  get state() {
    return this.#src.mirror.dtlsState;
  }
  /** The remote certificates as DER ArrayBuffers (empty until the engine reports them). */
  getRemoteCertificates() {
    return this.#src.remoteCertificates.map((der) => new Uint8Array(der).buffer);
  }
}
defineEventHandlers(RTCDtlsTransport.prototype, ["statechange", "error"]);
webidlInterface(RTCDtlsTransport, "RTCDtlsTransport");

export class RTCSctpTransport extends EventTarget {
  /** @type {TransportSource} */
  #src;
  #transport;
  /** @param {symbol} token @param {TransportSource} src @param {RTCDtlsTransport} transport */
  constructor(token, src, transport) {
    checkToken(token, "RTCSctpTransport");
    super();
    this.#src = src;
    this.#transport = transport;
  }
  get transport() {
    return this.#transport;
  }
  get state() {
    return this.#src.mirror.sctpState;
  }
  get maxMessageSize() {
    return this.#src.snapshot.sctp?.maxMessageSize ?? 65536;
  }
  get maxChannels() {
    return this.#src.snapshot.sctp?.maxChannels ?? null;
  }
}
defineEventHandlers(RTCSctpTransport.prototype, ["statechange"]);
webidlInterface(RTCSctpTransport, "RTCSctpTransport");
