// Relay transport choice and fallback (issue #6): a WebTransport relay falls back to the same
// relay's WebSocket when the page has no WebTransport, when its UDP port answers nothing or
// refuses (ICMP), or when its certificate is not the pinned one; gathering still ends with a
// relay candidate, a little later. The default transport (WebSocket, BENCHMARKS.md "Relay
// transport") is used for a relay named by its WebSocket URL even when it also publishes
// WebTransport, and WebTransport, when asked for and healthy, does not fall back. The relay's
// per-transport allocation counter tells which transport carried each allocation. A data
// channel over WebTransport carries a bulk transfer both ways, every byte in order (full-size
// SCTP packets exceed a datagram and take the stream). Loopback only: run inside
// scripts/netns.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { startServer, launchBrowser, CHROMIUM_ARGS } from "./harness.mjs";
import { startRelay, USER, PASSWORD } from "./relay-process.mjs";

let relay, server, browser;

before(async () => {
  relay = await startRelay();
  server = await startServer();
  browser = await launchBrowser(CHROMIUM_ARGS);
});

after(async () => {
  await browser?.close();
  await server?.close();
  relay?.stop();
});

/** A page with the polyfill loaded and `<meta name="polyrtc-relay">` set from `meta`. */
async function openPage(meta, { withoutWebTransport = false } = {}) {
  const page = await browser.context.newPage();
  if (process.env.POLYRTC_E2E_DEBUG === "1") {
    page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  }
  await page.goto(`${server.origin}/tests/pages/ice.html`);
  await page.waitForFunction(() => globalThis.__ice !== undefined);
  await page.evaluate(
    ([m, without]) => {
      const tag = document.createElement("meta");
      tag.name = "polyrtc-relay";
      tag.content = m.url;
      if (m.hashesUrl) tag.dataset.certificateHashesUrl = m.hashesUrl;
      if (m.hashes) tag.dataset.certificateHashes = m.hashes;
      if (m.webSocketUrl) tag.dataset.websocketUrl = m.webSocketUrl;
      document.head.append(tag);
      // As in a browser without WebTransport (Safari before 26, policy-disabled QUIC).
      if (without) delete globalThis.WebTransport;
    },
    [meta, withoutWebTransport],
  );
  await page.evaluate(() => globalThis.__ice.load());
  return page;
}

const call = (page, fn, ...args) =>
  page.evaluate(([f, a]) => globalThis.__ice[f](...a), [fn, args]);

const allocations = async () => ({
  websocket: await relay.metric("turn_allocations_created_total", "websocket"),
  webtransport: await relay.metric("turn_allocations_created_total", "webtransport"),
});

/**
 * Gathers on a polyfilled connection whose iceServers name `url` (hashes and fallback come from
 * the meta relay of the same URL) and waits for its relay candidate; returns the ms it took and
 * the allocations made meanwhile per transport.
 */
async function gather(page, url, timeoutMs = 10000) {
  const before = await allocations();
  const iceServers = [{ urls: url, username: USER, credential: PASSWORD }];
  const t0 = Date.now();
  // Gathering starts in the constructor's task, before the shim has fetched the WebTransport
  // hashes: the session must wait for them rather than fail on the certificate and fall back.
  const id = await page.evaluate(
    async (config) => {
      const id = globalThis.__ice.create("polyfill", config);
      await globalThis.__ice.offer(id);
      return id;
    },
    { iceServers },
  );
  let s;
  for (;;) {
    s = await call(page, "status", id);
    if (s.log.includes("icecandidate:relay") || Date.now() - t0 > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const ms = Date.now() - t0;
  assert.ok(s.log.includes("icecandidate:relay"), `no relay candidate: ${s.log.join(" ")}`);
  const after = await allocations();
  await page.evaluate((i) => globalThis.__ice.pcOf(i).close(), id);
  return {
    ms,
    log: s.log,
    websocket: after.websocket - before.websocket,
    webtransport: after.webtransport - before.webtransport,
  };
}

test("default: a relay named by its WebSocket URL uses WebSocket even though it publishes WebTransport; WebTransport when asked for, without falling back", async () => {
  // The page knows the relay's WebTransport endpoint and hashes (meta) and names it by its
  // WebSocket URL.
  const page = await openPage({ url: relay.wt, hashesUrl: relay.hashesUrl });
  const byDefault = await gather(page, relay.ws);
  assert.deepEqual([byDefault.websocket, byDefault.webtransport], [1, 0]);
  const asked = await gather(page, relay.wt);
  assert.deepEqual([asked.websocket, asked.webtransport], [0, 1]);
  await page.close();
});

test("no WebTransport in the page: the WebTransport relay is reached over WebSocket", async () => {
  const page = await openPage(
    { url: relay.wt, hashesUrl: relay.hashesUrl },
    { withoutWebTransport: true },
  );
  assert.equal(await page.evaluate(() => typeof globalThis.WebTransport), "undefined");
  const r = await gather(page, relay.wt);
  assert.deepEqual([r.websocket, r.webtransport], [1, 0]);
  // Nothing to wait for: the constructor is missing, so WebSocket starts at once.
  assert.ok(r.ms < 3000, `relay candidate after ${r.ms} ms`);
  await page.close();
});

test("WebTransport port refuses (nothing listening) or never answers (UDP dropped): WebSocket, within a bounded time", async () => {
  // A closed UDP port: the kernel answers ICMP port unreachable.
  const closed = dgram.createSocket("udp4");
  await new Promise((r) => closed.bind(0, "127.0.0.1", r));
  const closedPort = closed.address().port;
  await new Promise((r) => closed.close(r));
  // A port that swallows everything, as a firewall dropping QUIC does.
  const silent = dgram.createSocket("udp4");
  await new Promise((r) => silent.bind(0, "127.0.0.1", r));
  try {
    for (const [what, port, boundMs] of [
      ["refused", closedPort, 5000],
      ["silent", silent.address().port, 8000],
    ]) {
      const url = `https://127.0.0.1:${port}/turn`;
      // The hashes document of the real relay: its origin is the WebSocket listener.
      const page = await openPage({ url, hashesUrl: relay.hashesUrl });
      const r = await gather(page, url, 15000);
      assert.deepEqual([r.websocket, r.webtransport], [1, 0], what);
      assert.ok(r.ms < boundMs, `${what}: relay candidate after ${r.ms} ms`);
      process.stderr.write(`  ${what} WebTransport port: relay candidate after ${r.ms} ms\n`);
      await page.close();
    }
  } finally {
    silent.close();
  }
});

test("WebTransport certificate not the pinned one: WebSocket (explicit webSocketUrl)", async () => {
  const page = await openPage({
    url: relay.wt,
    hashes: "00".repeat(32),
    webSocketUrl: relay.ws,
  });
  const r = await gather(page, relay.wt);
  assert.deepEqual([r.websocket, r.webtransport], [1, 0]);
  assert.ok(r.ms < 5000, `relay candidate after ${r.ms} ms`);
  await page.close();
});

/**
 * In the page: sends `total` bytes on `channel` in 16 KiB messages (byte i is a function of i
 * and of its message's index, so a lost, repeated or reordered message shows) and checks what
 * `peer` receives on its side; resolves with the bytes checked and the first wrong offset.
 */
const TRANSFER = `(${async (send, recv, total, timeoutMs) => {
  const size = 16384;
  const byteAt = (i) => ((i >>> 14) * 131 + i) & 255;
  const received = new Promise((resolve, reject) => {
    let got = 0;
    let wrong = -1;
    recv.binaryType = "arraybuffer";
    const timer = setTimeout(() => reject(new Error(`received ${got} of ${total} B`)), timeoutMs);
    recv.onmessage = (e) => {
      const bytes = new Uint8Array(e.data);
      for (let k = 0; k < bytes.length && wrong < 0; k++) {
        if (bytes[k] !== byteAt(got + k)) wrong = got + k;
      }
      got += bytes.length;
      if (got >= total) {
        clearTimeout(timer);
        resolve({ got, wrong });
      }
    };
  });
  const high = 1 << 20;
  send.bufferedAmountLowThreshold = high / 4;
  let sent = 0;
  const pump = () => {
    while (sent < total && send.bufferedAmount < high) {
      const n = Math.min(size, total - sent);
      const chunk = new Uint8Array(n);
      for (let k = 0; k < n; k++) chunk[k] = byteAt(sent + k);
      send.send(chunk);
      sent += n;
    }
    if (sent >= total) send.onbufferedamountlow = null;
  };
  send.onbufferedamountlow = pump;
  pump();
  return received;
}})`;

test("WebTransport carries a bulk transfer both ways: 2 MiB polyfill → native and 2 MiB native → polyfill, every byte in order", async () => {
  const page = await openPage({ url: relay.wt, hashesUrl: relay.hashesUrl });
  const before = {
    ...(await allocations()),
    malformed: await relay.metric("turn_malformed_total"),
    rx: await relay.metric("turn_client_rx_bytes_total", "webtransport"),
    tx: await relay.metric("turn_client_tx_bytes_total", "webtransport"),
  };
  const iceServers = [{ urls: relay.wt, username: USER, credential: PASSWORD }];
  const [a, b] = await page.evaluate(
    (config) => {
      const a = globalThis.__ice.create("polyfill", config);
      const b = globalThis.__ice.create("native", {});
      globalThis.__bulk = {};
      globalThis.__bulk.a = globalThis.__ice.pcOf(a).createDataChannel("bulk");
      globalThis.__ice.pcOf(b).ondatachannel = (e) => {
        if (e.channel.label === "bulk") globalThis.__bulk.b = e.channel;
      };
      return [a, b];
    },
    { iceServers },
  );
  await call(page, "accept", a, await call(page, "answer", b, await call(page, "offer", a)));
  const deadline = Date.now() + 15000;
  for (;;) {
    await call(page, "addCandidates", b, await call(page, "takeCandidates", a));
    await call(page, "addCandidates", a, await call(page, "takeCandidates", b));
    const open = await page.evaluate(
      () => globalThis.__bulk.a.readyState === "open" && globalThis.__bulk.b?.readyState === "open",
    );
    if (open) break;
    assert.ok(Date.now() < deadline, "the bulk channel did not open");
    await new Promise((r) => setTimeout(r, 50));
  }
  const total = 2 << 20;
  const t0 = Date.now();
  const [up, down] = await page.evaluate(
    async ([code, total]) => {
      const transfer = (0, eval)(code);
      const { a, b } = globalThis.__bulk;
      return Promise.all([transfer(a, b, total, 15000), transfer(b, a, total, 15000)]);
    },
    [TRANSFER, total],
  );
  const ms = Date.now() - t0;
  process.stderr.write(`  2 × 2 MiB over WebTransport in ${ms} ms\n`);
  assert.deepEqual(up, { got: total, wrong: -1 }, "polyfill → native");
  assert.deepEqual(down, { got: total, wrong: -1 }, "native → polyfill");
  // Over WebTransport, both ways, and no stream the relay could not parse.
  const after = await allocations();
  assert.deepEqual(
    [after.websocket - before.websocket, after.webtransport - before.webtransport],
    [0, 1],
  );
  assert.equal(await relay.metric("turn_malformed_total"), before.malformed);
  assert.ok((await relay.metric("turn_client_rx_bytes_total", "webtransport")) - before.rx > total);
  assert.ok((await relay.metric("turn_client_tx_bytes_total", "webtransport")) - before.tx > total);
  await page.evaluate(([a, b]) => [a, b].forEach((id) => globalThis.__ice.close(id)), [a, b]);
  await page.close();
});
