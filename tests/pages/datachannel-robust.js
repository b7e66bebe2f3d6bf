// Page side of tests/e2e/datachannel-robust.test.mjs (issue #7 robustness). Both ends of every
// connection live in this page and signal to each other directly (offer, answer and trickled
// candidates), so hundreds of connections need no round trips through Node. Each scenario runs
// to completion inside the page and returns what it saw; Node asserts on it.
let P = null;
const errors = [];

addEventListener("error", (e) => errors.push(`error: ${e.message}`));
addEventListener("unhandledrejection", (e) =>
  errors.push(`unhandledrejection: ${e.reason?.stack ?? e.reason}`),
);

export async function load() {
  P = await import("/js/index.js");
  await P.ready;
  // Native Chromium gathers loopback host candidates only after a getUserMedia grant.
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const t of stream.getTracks()) t.stop();
  return true;
}

/** Uncaught errors and unhandled rejections so far, plus the wasm instance serial (a trap
 * replaces the live instance, so a changed serial means something trapped). */
export function health() {
  return { errors: [...errors], serial: P.__testing.liveSerial };
}

export function heap() {
  return P.__testing.glue.__heapStats();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function newPc(kind, relay) {
  if (kind === "native") return new RTCPeerConnection({});
  return new P.RTCPeerConnection({ iceServers: [relay] });
}

function event(target, type) {
  return new Promise((resolve) => target.addEventListener(type, resolve, { once: true }));
}

function opened(channel) {
  return channel.readyState === "open" ? Promise.resolve() : event(channel, "open");
}

/** Wires trickle ICE from `from` to `to`; errors are kept (a closed peer may refuse them). */
function trickle(from, to, log) {
  from.addEventListener("icecandidate", (e) => {
    if (e.candidate && to.signalingState !== "closed")
      to.addIceCandidate(e.candidate).catch((err) => log.push(String(err)));
  });
}

/**
 * A connection between two peers of this page with `label` opened by `a` before the offer.
 * Resolves when the channel is open on both ends.
 */
async function connectPair(kindA, kindB, relay, { label = "dc", timeoutMs = 20000 } = {}) {
  const a = newPc(kindA, relay);
  const b = newPc(kindB, relay);
  const log = [];
  trickle(a, b, log);
  trickle(b, a, log);
  const remote = event(b, "datachannel").then((e) => e.channel);
  const chA = a.createDataChannel(label);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  const chB = await withTimeout(remote, timeoutMs, `${kindA}↔${kindB} datachannel event`);
  await withTimeout(Promise.all([opened(chA), opened(chB)]), timeoutMs, "channel open");
  return { a, b, chA, chB, log };
}

function closeAll(...pcs) {
  for (const pc of pcs) pc.close();
}

// ---- 10 MB ordered, reliable, through loss/reordering/duplication --------------------------

const CHUNK = 16 * 1024;

/** Chunk `seq` of a transfer: its sequence number, then a pattern derived from it. */
function chunk(seq, size) {
  const words = new Uint32Array(size / 4);
  words[0] = seq;
  let x = (seq * 2654435761) >>> 0;
  for (let i = 1; i < words.length; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    words[i] = x;
  }
  return words;
}

/** Sends `total` bytes in CHUNK-sized messages, never more than `high` bytes buffered. */
async function sendBulk(channel, total, high) {
  channel.bufferedAmountLowThreshold = high / 4;
  let maxBuffered = 0;
  for (let seq = 0; seq * CHUNK < total; seq++) {
    while (channel.bufferedAmount > high) {
      await withTimeout(event(channel, "bufferedamountlow"), 30000, "bufferedamountlow");
    }
    channel.send(chunk(seq, CHUNK));
    maxBuffered = Math.max(maxBuffered, channel.bufferedAmount);
  }
  return { maxBuffered };
}

/** Checks every message as it arrives: the next sequence number, the exact pattern. */
function receiveBulk(channel, total) {
  channel.binaryType = "arraybuffer";
  const state = { chunks: 0, bytes: 0, errors: [], doneAt: null };
  const expectedChunks = Math.ceil(total / CHUNK);
  const done = new Promise((resolve) => {
    channel.addEventListener("message", (e) => {
      const words = new Uint32Array(e.data);
      const want = chunk(state.chunks, CHUNK);
      let same = words.length === want.length;
      for (let i = 0; same && i < words.length; i++) same = words[i] === want[i];
      if (!same && state.errors.length < 5)
        state.errors.push(`chunk ${state.chunks}: got seq ${words[0]} (${e.data.byteLength} B)`);
      state.chunks++;
      state.bytes += e.data.byteLength;
      if (state.chunks === expectedChunks) {
        state.doneAt = performance.now();
        resolve();
      }
    });
  });
  return { state, done };
}

/** `total` bytes each way at once over an ordered reliable channel, at most `high` buffered. */
export async function bulk(kindA, kindB, relay, total, high = 1024 * 1024) {
  const { a, b, chA, chB } = await connectPair(kindA, kindB, relay, { label: "bulk" });
  const atB = receiveBulk(chB, total);
  const atA = receiveBulk(chA, total);
  const t0 = performance.now();
  try {
    const [sentA, sentB] = await Promise.all([
      sendBulk(chA, total, high),
      sendBulk(chB, total, high),
    ]);
    await withTimeout(Promise.all([atB.done, atA.done]), 120000, "bulk delivery");
    return {
      ms: performance.now() - t0,
      aToB: { ...atB.state, ms: atB.state.doneAt - t0, maxBuffered: sentA.maxBuffered },
      bToA: { ...atA.state, ms: atA.state.doneAt - t0, maxBuffered: sentB.maxBuffered },
    };
  } catch (e) {
    return { failed: String(e), aToB: atB.state, bToA: atA.state };
  } finally {
    closeAll(a, b);
  }
}

// ---- 1,000 channels on one connection ------------------------------------------------------

export async function manyChannels(kindA, kindB, relay, count) {
  const { a, b, chA, chB } = await connectPair(kindA, kindB, relay, { label: "first" });
  const atB = new Map();
  b.addEventListener("datachannel", (e) => atB.set(e.channel.label, e.channel));
  const atA = new Map();
  for (let i = 0; i < count; i++) atA.set(`c${i}`, a.createDataChannel(`c${i}`));
  const result = { count };
  try {
    await withTimeout(
      (async () => {
        await Promise.all([...atA.values()].map(opened));
        while (atB.size < count) await sleep(20);
        await Promise.all([...atB.values()].map(opened));
      })(),
      30000,
      `${count} channels open`,
    );
    result.openA = [...atA.values()].filter((c) => c.readyState === "open").length;
    result.openB = [...atB.values()].filter((c) => c.readyState === "open").length;
    const idsA = [...atA.values()].map((c) => c.id);
    result.uniqueIdsA = new Set([...idsA, chA.id]).size;
    result.uniqueIdsB = new Set([...[...atB.values()].map((c) => c.id), chB.id]).size;
    result.idMismatches = [...atA].filter(([l, c]) => atB.get(l)?.id !== c.id).length;
    result.maxId = Math.max(...idsA);
    // One message each way on each channel.
    const got = { a: 0, b: 0, wrong: [] };
    const expect = (channel, want, side) =>
      new Promise((resolve) => {
        channel.addEventListener(
          "message",
          (e) => {
            if (e.data === want) got[side]++;
            else got.wrong.push(`${side} ${channel.label}: ${e.data}`);
            resolve();
          },
          { once: true },
        );
      });
    const arrivals = [];
    for (const [label, channel] of atA) arrivals.push(expect(channel, `to a on ${label}`, "a"));
    for (const [label, channel] of atB) arrivals.push(expect(channel, `to b on ${label}`, "b"));
    for (const [label, channel] of atA) channel.send(`to b on ${label}`);
    for (const [label, channel] of atB) channel.send(`to a on ${label}`);
    await withTimeout(Promise.all(arrivals), 30000, "a message on every channel");
    result.messages = got;
    // Close all from a: every channel closes on both ends.
    const closes = [...atA.values(), ...atB.values()].map((c) =>
      c.readyState === "closed" ? null : event(c, "close"),
    );
    for (const channel of atA.values()) channel.close();
    await withTimeout(Promise.all(closes), 30000, "every channel closed");
    result.closedA = [...atA.values()].filter((c) => c.readyState === "closed").length;
    result.closedB = [...atB.values()].filter((c) => c.readyState === "closed").length;
    // The connection still carries the first channel afterwards.
    const echo = event(chB, "message").then((e) => e.data);
    chA.send("still here");
    result.afterwards = await withTimeout(echo, 10000, "message after closing");
  } catch (e) {
    result.failed = String(e);
    result.openA ??= [...atA.values()].filter((c) => c.readyState === "open").length;
    result.openB ??= [...atB.values()].filter((c) => c.readyState === "open").length;
    const states = (m) =>
      [...m.values()].reduce((n, c) => ({ ...n, [c.readyState]: (n[c.readyState] ?? 0) + 1 }), {});
    result.statesA = states(atA);
    result.statesB = states(atB);
  } finally {
    closeAll(a, b);
  }
  return result;
}

// ---- 50 connections in one page -----------------------------------------------------------

/** `count` connections at once, each opening a channel and exchanging a message both ways. */
export async function manyConnections(relay, count) {
  const t0 = performance.now();
  const pairs = [];
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, async (_, i) => {
      const kindB = i % 2 === 0 ? "native" : "polyfill";
      const pair = await connectPair("polyfill", kindB, relay, { timeoutMs: 40000 });
      pairs.push(pair);
      const toB = event(pair.chB, "message").then((e) => e.data);
      const toA = event(pair.chA, "message").then((e) => e.data);
      pair.chA.send(`hello b ${i}`);
      pair.chB.send(`hello a ${i}`);
      const got = await withTimeout(Promise.all([toB, toA]), 20000, `messages on pair ${i}`);
      return got[0] === `hello b ${i}` && got[1] === `hello a ${i}`;
    }),
  );
  const ms = performance.now() - t0;
  const open = pairs.filter((p) => p.chA.readyState === "open").length;
  for (const p of pairs) closeAll(p.a, p.b);
  return {
    ms,
    open,
    ok: outcomes.filter((o) => o.status === "fulfilled" && o.value).length,
    failures: outcomes.filter((o) => o.status === "rejected").map((o) => String(o.reason)),
  };
}

// ---- close() in every phase ---------------------------------------------------------------

/** Runs `phase` to the point where `a` (a polyfill) is closed; returns what both ends saw. */
async function closeIn(phase, kindB, relay) {
  const a = newPc("polyfill", relay);
  const b = kindB ? newPc(kindB, relay) : null;
  const seen = { phase, kindB, threw: null, before: null, peer: null };
  const channelA = phase === "construction" ? null : a.createDataChannel("dc");
  const closeNow = () => {
    seen.before = { connection: a.connectionState, ice: a.iceConnectionState };
    try {
      a.close();
    } catch (e) {
      seen.threw = String(e);
    }
  };
  const log = [];
  try {
    if (phase === "construction") return (closeNow(), seen);
    const offer = await a.createOffer();
    if (phase === "after createOffer") return (closeNow(), seen);
    await a.setLocalDescription(offer);
    if (phase === "after setLocalDescription") return (closeNow(), seen);
    if (b) {
      trickle(a, b, log);
      trickle(b, a, log);
    }
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    const remote = event(b, "datachannel").then((e) => e.channel);
    if (phase === "during ICE checking" || phase === "during DTLS handshake") {
      const want = phase === "during ICE checking" ? "checking" : "connected";
      const reached = new Promise((resolve) =>
        a.addEventListener("iceconnectionstatechange", () => {
          // Closing inside the event handler: the engine is exactly in this state.
          if (a.iceConnectionState === want && a.signalingState !== "closed") {
            closeNow();
            resolve();
          }
        }),
      );
      await a.setRemoteDescription(b.localDescription);
      await withTimeout(reached, 20000, `ICE ${want}`);
      return seen;
    }
    await a.setRemoteDescription(b.localDescription);
    if (phase === "after setRemoteDescription") return (closeNow(), seen);
    const channelB = await withTimeout(remote, 20000, "datachannel");
    await withTimeout(Promise.all([opened(channelA), opened(channelB)]), 20000, "open");
    const peerClosed = channelB.readyState === "closed" ? null : event(channelB, "close");
    if (phase === "with messages in flight") {
      channelB.binaryType = "arraybuffer";
      for (let i = 0; i < 64; i++) channelA.send(new Uint8Array(32 * 1024));
      seen.bufferedAtClose = channelA.bufferedAmount;
    }
    closeNow();
    // The peer hears the SCTP ABORT: its channel closes.
    await withTimeout(peerClosed, 20000, "peer channel close").then(
      () => (seen.peer = channelB.readyState),
      () => (seen.peer = `not closed: ${channelB.readyState}`),
    );
    return seen;
  } catch (e) {
    seen.failed = String(e);
    return seen;
  } finally {
    // What the closed side reports once the close has settled (channels close in a later task).
    await sleep(50);
    seen.after = {
      signaling: a.signalingState,
      connection: a.connectionState,
      ice: a.iceConnectionState,
      channel: channelA?.readyState ?? null,
      sctp: a.sctp?.state ?? null,
    };
    try {
      a.close(); // closing twice is allowed
    } catch (e) {
      seen.threw ??= `second close: ${e}`;
    }
    b?.close();
  }
}

export const PHASES = [
  "construction",
  "after createOffer",
  "after setLocalDescription",
  "after setRemoteDescription",
  "during ICE checking",
  "during DTLS handshake",
  "after SCTP open",
  "with messages in flight",
];

export async function closePhases(relay, kindB) {
  const out = [];
  for (const phase of PHASES) out.push(await closeIn(phase, kindB, relay));
  // One failed (closed) connection never harms another: a new one works.
  const { a, b, chA, chB } = await connectPair("polyfill", kindB, relay);
  const got = event(chB, "message").then((e) => e.data);
  chA.send("after all that");
  const afterwards = await withTimeout(got, 10000, "message on a new connection");
  closeAll(a, b);
  return { phases: out, afterwards };
}

// ---- closed connections are freed ---------------------------------------------------------

/** `rounds` times: connect a polyfill↔polyfill pair, exchange a message, close both. */
export async function churn(relay, rounds) {
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const { a, b, chA, chB } = await connectPair("polyfill", "polyfill", relay);
    const got = event(chB, "message").then((e) => e.data);
    chA.send(new Uint8Array(100_000));
    await withTimeout(got, 10000, "message");
    const connected = heap();
    closeAll(a, b);
    // Let the close-time tasks (channel close events, relay sessions) run.
    await sleep(100);
    samples.push({ connected, closed: heap() });
  }
  return samples;
}
