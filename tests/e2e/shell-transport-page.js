// Page side of shell-transport.test.mjs: opens the wasm shell's relay transports through the
// test-only `__TestTransport` export, builds STUN Binding requests (RFC 8489 §5, with
// FINGERPRINT §14.7) and parses what comes back (stream framing, RFC 8656 §12.5).
import * as P from "/js/index.js";

export { resolveRelayEndpoint } from "/js/relay-config.js";

export async function glue() {
  await P.ready;
  return P.__testing.glue;
}

export const liveSerial = () => P.__testing.liveSerial;

const MAGIC = 0x2112a442;
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** @param {Uint8Array} bytes */
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const hex = (/** @type {Uint8Array} */ b) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * A Binding request with a random transaction id; `softwareBytes` (a multiple of 4) adds a
 * SOFTWARE attribute of that size to make it large. Returns { bytes, tid }.
 */
export function bindingRequest(softwareBytes = 0) {
  const tid = crypto.getRandomValues(new Uint8Array(12));
  const software = softwareBytes ? 4 + softwareBytes : 0;
  const length = software + 8;
  const bytes = new Uint8Array(20 + length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0x0001);
  view.setUint16(2, length);
  view.setUint32(4, MAGIC);
  bytes.set(tid, 8);
  let at = 20;
  if (softwareBytes) {
    view.setUint16(at, 0x8022);
    view.setUint16(at + 2, softwareBytes);
    bytes.fill(0x61, at + 4, at + 4 + softwareBytes);
    at += 4 + softwareBytes;
  }
  view.setUint16(at, 0x8028);
  view.setUint16(at + 2, 4);
  view.setUint32(at + 4, (crc32(bytes.subarray(0, at)) ^ 0x5354554e) >>> 0);
  return { bytes, tid: hex(tid) };
}

/** Messages of one stream-framed chunk: [{ kind, type, tid, mapped }]. Throws on bad framing. */
export function parseChunk(/** @type {Uint8Array} */ chunk) {
  const out = [];
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let at = 0;
  while (at < chunk.length) {
    if (chunk.length - at < 4) throw new Error(`truncated at ${at}`);
    const first = chunk[at] >> 6;
    const length = view.getUint16(at + 2);
    if (first === 1) {
      out.push({ kind: "channeldata", channel: view.getUint16(at) });
      at += 4 + Math.ceil(length / 4) * 4;
      continue;
    }
    if (first !== 0 || view.getUint32(at + 4) !== MAGIC) throw new Error(`not STUN at ${at}`);
    const end = at + 20 + length;
    if (end > chunk.length) throw new Error(`message at ${at} runs past the chunk`);
    const msg = {
      kind: "stun",
      type: view.getUint16(at),
      tid: hex(chunk.subarray(at + 8, at + 20)),
    };
    for (let a = at + 20; a + 4 <= end; a += 4 + Math.ceil(view.getUint16(a + 2) / 4) * 4) {
      if (view.getUint16(a) === 0x0020 && view.getUint8(a + 5) === 0x01) {
        const port = view.getUint16(a + 6) ^ (MAGIC >>> 16);
        const ip = (view.getUint32(a + 8) ^ MAGIC) >>> 0;
        msg.mapped = `${ip >>> 24}.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}:${port}`;
      }
    }
    out.push(msg);
    at = end;
  }
  return out;
}

/**
 * Opens a transport; `log.chunks` counts input chunks, `log.messages` holds parsed messages;
 * `until(pred, ms)` waits for a condition re-checked after every input or state change.
 */
export async function open(url, options) {
  const g = await glue();
  let wake = () => {};
  const log = { chunks: 0, messages: /** @type {any[]} */ ([]) };
  const t = new g.__TestTransport(url, options, () => {
    for (const chunk of t.take()) {
      log.chunks++;
      log.messages.push(...parseChunk(chunk));
    }
    wake();
  });
  /** @param {() => boolean} pred */
  async function until(pred, ms = 5000) {
    const deadline = performance.now() + ms;
    while (!pred()) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, left);
      });
    }
    return true;
  }
  return { t, log, until };
}
