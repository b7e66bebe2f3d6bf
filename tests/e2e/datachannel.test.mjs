// Data channels end to end (issue #7): DTLS over the ICE-selected pair through polyrtc-relay,
// SCTP over DTLS, DCEP. Polyfill ↔ native Chromium (either side offering) and polyfill ↔
// polyfill in two browsers: the channel opens on both sides, strings and binaries arrive in
// order and intact both ways, open fires before any message, bufferedAmount returns to 0, and
// close by one side reaches the other. Loopback only: run inside scripts/netns.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, CHROMIUM_ARGS, until } from "./harness.mjs";
import { startRelay, USER, PASSWORD } from "./relay-process.mjs";

let relay, server;
const browsers = [];

async function openPage() {
  const browser = await launchBrowser(CHROMIUM_ARGS);
  browsers.push(browser);
  const page = await browser.context.newPage();
  if (process.env.POLYRTC_E2E_DEBUG === "1") {
    page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  }
  await page.goto(`${server.origin}/tests/pages/datachannel.html`);
  await page.waitForFunction(() => globalThis.__ice !== undefined);
  await page.evaluate(() => globalThis.__ice.load({}));
  return page;
}

before(async () => {
  relay = await startRelay();
  server = await startServer();
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
  relay?.stop();
});

const call = (page, fn, ...args) =>
  page.evaluate(([f, a]) => globalThis.__ice[f](...a), [fn, args]);

const polyfill = () => ({ iceServers: [{ urls: relay.ws, username: USER, credential: PASSWORD }] });

/** Offer/answer with a "dc" channel from the offerer, trickle until both channels are open. */
async function connect(a, b) {
  a.id = await call(a.page, "create", a.kind, a.config);
  b.id = await call(b.page, "create", b.kind, b.config);
  await call(a.page, "watch", a.id);
  await call(b.page, "watch", b.id);
  await call(a.page, "openChannel", a.id, "dc");
  const offer = await call(a.page, "offer", a.id);
  const answer = await call(b.page, "answer", b.id, offer);
  await call(a.page, "accept", a.id, answer);
  await until("both channels open", async () => {
    const fromA = await call(a.page, "takeCandidates", a.id);
    const fromB = await call(b.page, "takeCandidates", b.id);
    if (fromA.length) await call(b.page, "addCandidates", b.id, fromA);
    if (fromB.length) await call(a.page, "addCandidates", a.id, fromB);
    const sa = await call(a.page, "channelStatus", a.id, "dc");
    const sb = await call(b.page, "channelStatus", b.id, "dc");
    const pa = await call(a.page, "status", a.id);
    const pb = await call(b.page, "status", b.id);
    return { ok: sa?.readyState === "open" && sb?.readyState === "open", sa, sb, pa, pb };
  });
}

async function exchange(a, b) {
  const big = 60000;
  await call(a.page, "sendAll", a.id, "dc", "from-a", big);
  await call(b.page, "sendAll", b.id, "dc", "from-b", big);
  const wantAtB = await call(a.page, "expected", "from-a", big);
  const wantAtA = await call(a.page, "expected", "from-b", big);
  for (const [side, want] of [
    [b, wantAtB],
    [a, wantAtA],
  ]) {
    const s = await until(`${side.kind} receives`, async () => {
      const st = await call(side.page, "channelStatus", side.id, "dc");
      return { ok: st.received.length >= want.length, st };
    });
    assert.deepEqual(s.st.received, want, `${side.kind} received other messages`);
    const firstMessage = s.st.log.indexOf("message");
    assert.ok(
      s.st.log.indexOf("open") >= 0 && s.st.log.indexOf("open") < firstMessage,
      s.st.log.join(" "),
    );
    assert.equal(s.st.sctp, "connected");
    assert.equal(s.st.dtls, "connected");
    assert.equal(typeof s.st.id, "number");
  }
  for (const side of [a, b]) {
    await until(`${side.kind} bufferedAmount 0`, async () => {
      const st = await call(side.page, "channelStatus", side.id, "dc");
      return { ok: st.bufferedAmount === 0, amount: st.bufferedAmount };
    });
  }
}

async function closeReaches(closer, other) {
  await call(closer.page, "closeChannel", closer.id, "dc");
  for (const side of [closer, other]) {
    const s = await until(`${side.kind} channel closed`, async () => {
      const st = await call(side.page, "channelStatus", side.id, "dc");
      return { ok: st.readyState === "closed" && st.log.includes("close"), st };
    });
    assert.ok(s.st.log.indexOf("close") > s.st.log.lastIndexOf("message"), s.st.log.join(" "));
  }
}

/** Path MTU discovery (vendor/rtc-sctp/src/association/pmtu.rs) towards Chromium: the
 * polyfill's SCTP packets grow from the 1,191-byte base to 2,048 bytes once Chromium answers
 * the probe. One large message alone, counted where it leaves the relay for the native peer
 * (only the polyfill sends through the relay here): ~2,080-byte datagrams, not ~1,220. */
async function assertLargePackets(poly, native) {
  const count = (await call(native.page, "channelStatus", native.id, "dc")).received.length;
  const packets0 = await relay.metric("turn_peer_tx_packets_total");
  const bytes0 = await relay.metric("turn_peer_tx_bytes_total");
  await call(poly.page, "sendBytes", poly.id, "dc", 100000);
  await until("native receives the large message", async () => {
    const st = await call(native.page, "channelStatus", native.id, "dc");
    return { ok: st.received.length > count, n: st.received.length };
  });
  const packets = (await relay.metric("turn_peer_tx_packets_total")) - packets0;
  const mean = ((await relay.metric("turn_peer_tx_bytes_total")) - bytes0) / packets;
  assert.ok(mean > 1900, `${packets} datagrams to the native peer, ${mean.toFixed(0)} bytes each`);
}

test("polyfill (offerer) ↔ native: messages both ways, close from the polyfill", async () => {
  const page = await openPage();
  const poly = { page, kind: "polyfill", config: polyfill() };
  const native = { page, kind: "native", config: {} };
  await connect(poly, native);
  await exchange(poly, native);
  await assertLargePackets(poly, native);
  await closeReaches(poly, native);
});

test("native (offerer) ↔ polyfill: messages both ways, close from native", async () => {
  const page = await openPage();
  const native = { page, kind: "native", config: {} };
  const poly = { page, kind: "polyfill", config: polyfill() };
  await connect(native, poly);
  await exchange(native, poly);
  await closeReaches(native, poly);
});

test("polyfill ↔ polyfill in two browsers", async () => {
  const pageA = await openPage();
  const pageB = await openPage();
  const a = { page: pageA, kind: "polyfill", config: polyfill() };
  const b = { page: pageB, kind: "polyfill", config: polyfill() };
  await connect(a, b);
  await exchange(a, b);
  await closeReaches(b, a);
});
