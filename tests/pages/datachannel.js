// Page side of tests/e2e/datachannel.test.mjs: data channels on the connections ice.js makes.
import { pcOf } from "./ice.js";

/** channels by `${id}/${label}`: { channel, log, received } */
const channels = new Map();

function track(id, channel) {
  const entry = { channel, log: [], received: [] };
  channel.binaryType = "arraybuffer";
  for (const type of ["open", "closing", "close", "error"])
    channel.addEventListener(type, () => entry.log.push(type));
  channel.addEventListener("message", (e) => {
    entry.log.push("message");
    if (typeof e.data === "string") entry.received.push({ text: e.data });
    else entry.received.push({ bytes: [...new Uint8Array(e.data)] });
  });
  channels.set(`${id}/${channel.label}`, entry);
  return entry;
}

/** Records channels the peer opens; call right after create(). */
export function watch(id) {
  pcOf(id).addEventListener("datachannel", (e) => track(id, e.channel).log.push("datachannel"));
}

export function openChannel(id, label) {
  track(id, pcOf(id).createDataChannel(label));
}

const entry = (id, label) => {
  const e = channels.get(`${id}/${label}`);
  if (!e) throw new Error(`no channel ${label} on ${id}`);
  return e;
};

/** The messages `sendAll` sends, so Node can compare. */
export function expected(tag, big) {
  const out = [];
  for (let i = 0; i < 5; i++) {
    out.push({ text: `${tag} message ${i} ✓` });
    out.push({ bytes: Array.from({ length: 10 + i }, (_, k) => (k * 7 + i) & 255) });
  }
  out.push({ bytes: Array.from({ length: big }, (_, k) => (k * 13) & 255) });
  out.push({ text: "" });
  return out;
}

export function sendAll(id, label, tag, big) {
  const { channel } = entry(id, label);
  for (const m of expected(tag, big)) {
    if (m.text !== undefined) channel.send(m.text);
    else channel.send(new Uint8Array(m.bytes));
  }
  return channel.bufferedAmount;
}

/** One binary message of `size` bytes. */
export function sendBytes(id, label, size) {
  const { channel } = entry(id, label);
  channel.send(new Uint8Array(size).fill(0x5a));
  return channel.bufferedAmount;
}

export function channelStatus(id, label) {
  const e = channels.get(`${id}/${label}`);
  if (!e) return null;
  return {
    readyState: e.channel.readyState,
    id: e.channel.id,
    bufferedAmount: e.channel.bufferedAmount,
    log: e.log,
    received: e.received,
    sctp: pcOf(id).sctp?.state ?? null,
    dtls: pcOf(id).sctp?.transport?.state ?? null,
  };
}

export function closeChannel(id, label) {
  entry(id, label).channel.close();
}
