// UTF-8 for data-channel strings. One encoder and one decoder for the whole shim: constructing
// them per message was a measurable share of a small message's cost (bench/datachannel.sh RTT).
// Both are stateless for whole (non-streaming) calls, so sharing them is safe.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** @param {string} s */
export const encodeUtf8 = (s) => encoder.encode(s);

/** @param {Uint8Array} bytes */
export const decodeUtf8 = (bytes) => decoder.decode(bytes);
