// Page side of bench/datachannel.mjs: native and polyfilled RTCPeerConnections whose offers,
// answers and candidates Node routes between pages (and browsers) as they happen (the page calls
// `__benchSignal`, from bench/page-rpc.js or Playwright's exposeFunction; Node calls `signal()` on
// the other side). Each measurement runs on
// the offering side with its own clock; the answering side is a sink/echo:
//   string "T:<n>"   expect n binary bytes, answer "done" when they have all arrived
//   string "p..."    echoed back as is (RTT)
let P = null;
const sides = new Map();

export async function load() {
  P = await import("/js/index.js");
  await P.ready;
  // Native Chromium gathers loopback host candidates only after a getUserMedia grant.
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const t of stream.getTracks()) t.stop();
  return true;
}

const get = (key) => {
  const s = sides.get(key);
  if (!s) throw new Error(`no side ${key}`);
  return s;
};

/** A new peer connection called `key`; `peer` is the key of the other side (for signalling). */
export function create(key, peer, kind, config) {
  const C = kind === "native" ? globalThis.RTCPeerConnection : P.RTCPeerConnection;
  const pc = new C(config);
  const side = { pc, peer, channel: null, t0: 0, openAt: null, pending: [] };
  pc.addEventListener("icecandidate", (e) => {
    if (e.candidate) globalThis.__benchSignal(peer, { candidate: e.candidate.toJSON() });
  });
  pc.addEventListener("datachannel", (e) => sink(side, e.channel));
  sides.set(key, side);
  return key;
}

/** The answering side's channel: counts bulk bytes and echoes pings. */
function sink(side, channel) {
  channel.binaryType = "arraybuffer";
  side.channel = channel;
  let expect = -1;
  let got = 0;
  side.sinkState = () => ({ expect, got, readyState: channel.readyState });
  channel.addEventListener("message", (e) => {
    if (typeof e.data === "string") {
      if (e.data.startsWith("T:")) {
        expect = Number(e.data.slice(2));
        got = 0;
      } else channel.send(e.data);
      return;
    }
    got += e.data.byteLength;
    if (got === expect) channel.send("done");
  });
}

/** Offerer: creates the channel, then createOffer → setLocalDescription → signal. */
export async function offer(key) {
  const side = get(key);
  const channel = side.pc.createDataChannel("bench");
  channel.binaryType = "arraybuffer";
  side.channel = channel;
  side.opened = new Promise((resolve) =>
    channel.addEventListener("open", () => {
      side.openAt = performance.now();
      resolve();
    }),
  );
  // Where the time to `open` goes: each phase's first moment, on the offerer's clock.
  side.phases = {};
  const mark = (name) => {
    if (side.phases[name] === undefined) side.phases[name] = performance.now() - side.t0;
  };
  side.pc.addEventListener("icecandidate", (e) => e.candidate && mark("candidate"));
  side.pc.addEventListener("iceconnectionstatechange", () => {
    if (side.pc.iceConnectionState === "checking") mark("checking");
    if (side.pc.iceConnectionState === "connected") mark("iceConnected");
  });
  side.pc.addEventListener("connectionstatechange", () => {
    if (side.pc.connectionState === "connected") mark("dtlsConnected");
  });
  channel.addEventListener("open", () => mark("open"));
  side.t0 = performance.now();
  const offer = await side.pc.createOffer();
  await side.pc.setLocalDescription(offer);
  mark("sld");
  globalThis.__benchSignal(side.peer, { sdp: { type: offer.type, sdp: offer.sdp } });
}

/** A message from the other side, through Node. */
export async function signal(key, msg) {
  const side = sides.get(key);
  // Late candidates for a connection the bench already closed.
  if (!side) return;
  if (msg.sdp) {
    await side.pc.setRemoteDescription(msg.sdp);
    for (const c of side.pending.splice(0)) await side.pc.addIceCandidate(c);
    if (msg.sdp.type === "offer") {
      const answer = await side.pc.createAnswer();
      await side.pc.setLocalDescription(answer);
      globalThis.__benchSignal(side.peer, { sdp: { type: answer.type, sdp: answer.sdp } });
    }
  } else if (msg.candidate) {
    if (!side.pc.remoteDescription) side.pending.push(msg.candidate);
    else await side.pc.addIceCandidate(msg.candidate);
  }
}

/** Offerer: ms from createOffer to its channel's `open` (waits for it). */
export async function openTime(key, timeoutMs = 20000) {
  const side = get(key);
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${key}: channel not open`)), timeoutMs);
  });
  await Promise.race([side.opened, timeout]).finally(() => clearTimeout(timer));
  return side.openAt - side.t0;
}

/** Offerer: the phase marks of the last connection (ms after createOffer). */
export function phases(key) {
  return get(key).phases;
}

/** Resolves with the next string message on the channel that satisfies `pred`. */
function nextString(channel, pred, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.removeEventListener("message", on);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    function on(e) {
      if (typeof e.data === "string" && pred(e.data)) {
        clearTimeout(timer);
        channel.removeEventListener("message", on);
        resolve(e.data);
      }
    }
    channel.addEventListener("message", on);
  });
}

/**
 * Offerer: sends `total` bytes in `size`-byte binary messages, keeping at most `high` bytes in
 * bufferedAmount (refilling at bufferedamountlow), until the sink says "done". MB/s (10^6).
 */
export async function throughput(key, total, size, high = 4 << 20, timeoutMs = 60000) {
  const { channel } = get(key);
  const chunk = new Uint8Array(size);
  for (let i = 0; i < size; i++) chunk[i] = i & 255;
  channel.bufferedAmountLowThreshold = high / 4;
  const done = nextString(channel, (s) => s === "done", timeoutMs, "done");
  const t0 = performance.now();
  channel.send(`T:${total}`);
  let sent = 0;
  // A stalled transfer ends in `done`'s timeout instead of a pump that waits forever.
  done.catch(() => {});
  const filled = new Promise((resolve) => {
    const pump = () => {
      while (sent < total && channel.bufferedAmount < high) {
        const n = Math.min(size, total - sent);
        channel.send(n === size ? chunk : chunk.subarray(0, n));
        sent += n;
      }
      if (sent >= total) {
        channel.onbufferedamountlow = null;
        resolve();
      }
    };
    channel.onbufferedamountlow = pump;
    pump();
  });
  try {
    await Promise.race([filled.then(() => done), done]);
  } catch (e) {
    throw new Error(
      `${e.message}: sent ${sent} of ${total}, bufferedAmount ${channel.bufferedAmount}`,
    );
  }
  const ms = performance.now() - t0;
  return { ms, mbps: total / 1e6 / (ms / 1000) };
}

/** The answering side's count of bulk bytes (to diagnose a stalled transfer). */
export function sinkState(key) {
  return get(key).sinkState?.() ?? null;
}

/** Offerer: `n` sequential ping-pongs of `size`-character strings; the RTTs in ms. */
export async function rtt(key, n, size = 16) {
  const { channel } = get(key);
  const out = [];
  for (let i = 0; i < n; i++) {
    const msg = `p${i}`.padEnd(size, ".");
    const back = nextString(channel, (s) => s === msg, 10000, `ping ${i}`);
    const t0 = performance.now();
    channel.send(msg);
    await back;
    out.push(performance.now() - t0);
  }
  return out;
}

/** `key`'s RTCPeerConnection (bench/transport-page.js adds channels to it). */
export function peerConnection(key) {
  return get(key).pc;
}

export function close(key) {
  const side = sides.get(key);
  if (!side) return;
  side.pc.close();
  sides.delete(key);
}

/** The live wasm instance's linear memory size and the JS heap (Chromium only), in bytes. */
/** Runs the garbage collector (the browsers start with --expose-gc). */
export function gc() {
  globalThis.gc?.();
  return true;
}

export function memory() {
  return {
    wasm: P.__testing.memoryBytes,
    jsHeap: performance.memory?.usedJSHeapSize ?? null,
  };
}

/** Bare WebSocket to `url` (bench/ws-peer.mjs): the same bulk transfer and pings, no WebRTC. */
export async function wsThroughput(url, total, size, high = 4 << 20) {
  const ws = await openWs(url);
  const chunk = new Uint8Array(size);
  const done = new Promise((resolve) => {
    ws.onmessage = (e) => {
      if (e.data === "done") resolve();
    };
  });
  const t0 = performance.now();
  ws.send(`T:${total}`);
  let sent = 0;
  while (sent < total) {
    // WebSocket has no bufferedamountlow: poll at the next task when the buffer is full.
    while (sent < total && ws.bufferedAmount < high) {
      const n = Math.min(size, total - sent);
      ws.send(n === size ? chunk : chunk.subarray(0, n));
      sent += n;
    }
    if (sent < total) await new Promise((r) => setTimeout(r, 0));
  }
  await done;
  const ms = performance.now() - t0;
  ws.close();
  return { ms, mbps: total / 1e6 / (ms / 1000) };
}

export async function wsRtt(url, n, size = 16) {
  const ws = await openWs(url);
  const out = [];
  for (let i = 0; i < n; i++) {
    const msg = `p${i}`.padEnd(size, ".");
    const back = new Promise((resolve) => {
      ws.onmessage = (e) => e.data === msg && resolve();
    });
    const t0 = performance.now();
    ws.send(msg);
    await back;
    out.push(performance.now() - t0);
  }
  ws.close();
  return out;
}

function openWs(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`WebSocket ${url} failed`));
  });
}

/** The DTLS cipher suite getStats() reports for `key`'s transport. */
export async function cipher(key) {
  const report = await get(key).pc.getStats();
  for (const s of report.values()) if (s.type === "transport") return s.dtlsCipher ?? null;
  return null;
}
