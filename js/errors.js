// Engine errors ({name, message, errorDetail?, sdpLineNumber?}) become the exceptions the spec
// names: DOMException, TypeError, RangeError, or RTCError (an OperationError with details).

import { toDictionary, toEnum, webidlInterface, nullable, toUnsigned } from "./webidl.js";

const RTC_ERROR_DETAIL_TYPES = /** @type {const} */ ([
  "data-channel-failure",
  "dtls-failure",
  "fingerprint-failure",
  "sctp-failure",
  "sdp-syntax-error",
  "hardware-encoder-not-available",
  "hardware-encoder-error",
]);

export class RTCError extends DOMException {
  #errorDetail;
  #sdpLineNumber;
  #sctpCauseCode;
  #receivedAlert;
  #sentAlert;
  #httpRequestStatusCode;

  /**
   * @param {RTCErrorInit} init
   * @param {string} [message]
   */
  constructor(init, message = "") {
    if (arguments.length < 1) {
      throw new TypeError(
        "Failed to construct 'RTCError': 1 argument required, but only 0 present.",
      );
    }
    const dict = toDictionary(init, "Failed to construct 'RTCError'");
    if (dict.errorDetail === undefined) {
      throw new TypeError(
        "Failed to construct 'RTCError': required member errorDetail is undefined.",
      );
    }
    const errorDetail = toEnum(
      dict.errorDetail,
      RTC_ERROR_DETAIL_TYPES,
      "Failed to construct 'RTCError'",
    );
    super(`${message}`, "OperationError");
    this.#errorDetail = errorDetail;
    this.#sdpLineNumber = nullable(dict.sdpLineNumber, (v) => toUnsigned(v, 32) | 0);
    this.#sctpCauseCode = nullable(dict.sctpCauseCode, (v) => toUnsigned(v, 32) | 0);
    this.#receivedAlert = nullable(dict.receivedAlert, (v) => toUnsigned(v, 32));
    this.#sentAlert = nullable(dict.sentAlert, (v) => toUnsigned(v, 32));
    this.#httpRequestStatusCode = nullable(
      dict.httpRequestStatusCode,
      (v) => toUnsigned(v, 32) | 0,
    );
  }
  get errorDetail() {
    return this.#errorDetail;
  }
  get sdpLineNumber() {
    return this.#sdpLineNumber;
  }
  get sctpCauseCode() {
    return this.#sctpCauseCode;
  }
  get receivedAlert() {
    return this.#receivedAlert;
  }
  get sentAlert() {
    return this.#sentAlert;
  }
  get httpRequestStatusCode() {
    return this.#httpRequestStatusCode;
  }
}
webidlInterface(RTCError, "RTCError");

const ERROR_NAMES = new Set([
  "InvalidStateError",
  "InvalidAccessError",
  "InvalidModificationError",
  "InvalidCharacterError",
  "SyntaxError",
  "OperationError",
  "NotSupportedError",
  "NotFoundError",
  "NotReadableError",
  "DataError",
  "TypeError",
  "RangeError",
]);

/** @param {unknown} e */
export function isApiError(e) {
  return (
    typeof e === "object" &&
    e !== null &&
    !(e instanceof Error) &&
    typeof (/** @type {any} */ (e).name) === "string" &&
    ERROR_NAMES.has(/** @type {any} */ (e).name) &&
    typeof (/** @type {any} */ (e).message) === "string"
  );
}

/**
 * Turn whatever the backend threw into the exception the page should see. Non-engine values
 * (already JS errors) pass through unchanged; a bare string (the glue's last-resort message)
 * becomes an OperationError.
 * @param {unknown} e
 * @returns {unknown}
 */
export function toError(e) {
  if (typeof e === "string") return new DOMException(e, "OperationError");
  if (!isApiError(e)) return e;
  const { name, message, errorDetail, sdpLineNumber } = /** @type {any} */ (e);
  if (name === "TypeError") return new TypeError(message);
  if (name === "RangeError") return new RangeError(message);
  if (name === "OperationError" && typeof errorDetail === "string") {
    try {
      /** @type {RTCErrorInit} */
      const init = { errorDetail: /** @type {RTCErrorDetailType} */ (errorDetail) };
      if (typeof sdpLineNumber === "number") init.sdpLineNumber = sdpLineNumber;
      return new RTCError(init, message);
    } catch {
      // An errorDetail this shim does not know: still an OperationError.
    }
  }
  return new DOMException(message, name);
}

/** @param {string} name @param {string} message */
export function domError(name, message) {
  return new DOMException(message, name);
}

export function closedError(what = "The RTCPeerConnection's signalingState is 'closed'.") {
  return new DOMException(what, "InvalidStateError");
}
