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
  /** TODO(engine): the ICE role is not in the snapshot; Chromium reports null here too. */
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
  /** The engine does not expose its candidate pairs yet (see getStats for candidate-pair). */
  getSelectedCandidatePair() {
    return null;
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
