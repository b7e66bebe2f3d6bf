// Polyfill ↔ native Firefox ESR (issue #7): the polyfill in headless Chromium, a native
// RTCPeerConnection in headless Firefox driven through geckodriver, signalling carried by this
// test. Both directions of offer; a channel from each side opens on both; strings and binaries
// (one of 60 kB) arrive in order both ways; close by one side reaches the other.
//
// Firefox gathers no candidate in a loopback-only namespace, so this file runs under
// `scripts/netns.sh --veth` (scripts/test.sh has a step of its own for it) and skips itself in
// the plain namespace. The relay binds its allocations to 10.99.0.2 and allows private peers, so
// the polyfill's relay candidate pairs with Firefox's host candidate on 10.99.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, CHROMIUM_ARGS, until } from "./harness.mjs";
import { startRelay, USER, PASSWORD } from "./relay-process.mjs";
import { firefoxMissing, launchFirefox } from "./firefox-driver.mjs";
import { expected } from "../pages/datachannel.js";

const RELAY_IP = "10.99.0.2";
const missing = firefoxMissing();
const required = process.env.POLYRTC_REQUIRE_BROWSERS === "1";
const skip =
  process.env.POLYRTC_VETH !== "1"
    ? "needs the veth namespace: scripts/netns.sh --veth -- node --test tests/e2e/firefox.test.mjs"
    : missing && !required
      ? `Firefox unavailable: ${missing}`
      : false;

let relay, server, chromium, firefox;

before(async () => {
  if (skip) return;
  assert.equal(missing, null, "POLYRTC_REQUIRE_BROWSERS=1 but Firefox cannot run");
  relay = await startRelay(["--allow-private-peers"], { relayIp: RELAY_IP });
  server = await startServer();
  chromium = await launchBrowser(CHROMIUM_ARGS);
  const t0 = Date.now();
  firefox = await launchFirefox();
  process.stderr.write(`[firefox] ${firefox.version} started in ${Date.now() - t0} ms\n`);
});

after(async () => {
  await firefox?.close();
  await chromium?.close();
  await server?.close();
  relay?.stop();
});

/** Page functions of tests/pages/datachannel.html, in either browser. */
async function openChromium() {
  const t0 = Date.now();
  const page = await chromium.context.newPage();
  if (process.env.POLYRTC_E2E_DEBUG === "1")
    page.on("console", (m) => process.stderr.write(`[chromium ${m.type()}] ${m.text()}\n`));
  await page.goto(`${server.origin}/tests/pages/datachannel.html`);
  await page.waitForFunction(() => globalThis.__ice !== undefined);
  await page.evaluate(() => globalThis.__ice.load({}));
  process.stderr.write(`[chromium] polyfill page ready in ${Date.now() - t0} ms\n`);
  return {
    call: (fn, ...args) => page.evaluate(([f, a]) => globalThis.__ice[f](...a), [fn, args]),
    peek: (id, label) => page.evaluate(PEEK, [id, label]),
    digest: (id, label, from) => page.evaluate(DIGEST, [id, label, from]),
  };
}

const WD = "arguments[arguments.length - 1]";

/** channelStatus with a count instead of the messages: cheap enough to poll. */
const PEEK = ([id, label]) => {
  const s = globalThis.__ice.channelStatus(id, label);
  return s && { ...s, received: s.received.length };
};

/** channelStatus with the messages from index `from` on, binaries in base64: WebDriver turns
 * a 60 kB array of numbers into JSON element by element, which takes seconds. */
const DIGEST = ([id, label, from]) => {
  const s = globalThis.__ice.channelStatus(id, label);
  const b64 = (bytes) => {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  };
  const received = s.received.slice(from).map((m) => (m.bytes ? { b64: b64(m.bytes) } : m));
  return { ...s, received };
};

/** What `sendAll(tag, big)` sends, in DIGEST's form. */
const expectedDigest = (tag, big) =>
  expected(tag, big).map((m) => (m.bytes ? { b64: Buffer.from(m.bytes).toString("base64") } : m));

async function openFirefox() {
  const t0 = Date.now();
  await firefox.goto(`${server.origin}/tests/pages/datachannel.html`);
  const run = async (fn, args) => {
    const r = await firefox.execute(
      `const done = arguments[arguments.length - 1];
       const [fn, args] = arguments;
       Promise.resolve()
         .then(() => globalThis.__ice[fn](...args))
         .then((value) => done({ value: value === undefined ? null : value }),
               (e) => done({ error: String(e && e.stack || e) }));`,
      [fn, args],
    );
    if (r.error) throw new Error(`Firefox ${fn}: ${r.error}`);
    return r;
  };
  // The page's module script may still be loading when navigation returns.
  const ready = "arguments[arguments.length - 1](globalThis.__ice !== undefined)";
  for (let i = 0; !(await firefox.execute(ready)); i++) {
    assert.ok(i < 100, "datachannel.html did not load in Firefox");
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stderr.write(`[firefox] page ready in ${Date.now() - t0} ms\n`);
  return {
    call: async (fn, ...args) => (await run(fn, args)).value,
    // Page functions as source text: a WebDriver script is a function body.
    peek: (id, label) => firefox.execute(`${WD}((${PEEK})(arguments[0]))`, [[id, label]]),
    digest: (id, label, from) =>
      firefox.execute(`${WD}((${DIGEST})(arguments[0]))`, [[id, label, from]]),
  };
}

const polyfillConfig = () => ({
  iceServers: [{ urls: relay.ws, username: USER, credential: PASSWORD }],
});

/** Offer/answer with a "dc" channel from the offerer, trickle until both ends have it open. */
async function connect(a, b) {
  a.id = await a.call("create", a.kind, a.config);
  b.id = await b.call("create", b.kind, b.config);
  await a.call("watch", a.id);
  await b.call("watch", b.id);
  await a.call("openChannel", a.id, "dc");
  const offer = await a.call("offer", a.id);
  const answer = await b.call("answer", b.id, offer);
  await a.call("accept", a.id, answer);
  await bothOpen(a, b, "dc");
  return { offer, answer };
}

async function bothOpen(a, b, label) {
  await until(`"${label}" open on both sides`, async () => {
    const fromA = await a.call("takeCandidates", a.id);
    const fromB = await b.call("takeCandidates", b.id);
    if (fromA.length) await b.call("addCandidates", b.id, fromA);
    if (fromB.length) await a.call("addCandidates", a.id, fromB);
    const sa = await a.peek(a.id, label);
    const sb = await b.peek(b.id, label);
    const ok = sa?.readyState === "open" && sb?.readyState === "open";
    if (ok) return { ok };
    return { ok, sa, sb, pa: await a.call("status", a.id), pb: await b.call("status", b.id) };
  });
}

/** Each side sends `expected(tag)` on `label`; each receives exactly the other's list. */
async function exchange(a, b, label) {
  const big = 60000;
  const before = new Map();
  for (const s of [a, b]) before.set(s, (await s.peek(s.id, label)).received);
  await a.call("sendAll", a.id, label, `${a.kind}-${label}`, big);
  await b.call("sendAll", b.id, label, `${b.kind}-${label}`, big);
  for (const [from, to] of [
    [a, b],
    [b, a],
  ]) {
    const want = expectedDigest(`${from.kind}-${label}`, big);
    await until(`${to.kind} receives on "${label}"`, async () => {
      const n = (await to.peek(to.id, label)).received - before.get(to);
      return { ok: n >= want.length, n };
    });
    const s = { st: await to.digest(to.id, label, before.get(to)) };
    const got = s.st.received;
    assert.deepEqual(got, want, `${to.kind} received other messages on "${label}"`);
    const open = s.st.log.indexOf("open");
    assert.ok(open >= 0 && open < s.st.log.indexOf("message"), s.st.log.join(" "));
    assert.equal(s.st.sctp, "connected");
    assert.equal(s.st.dtls, "connected");
  }
}

async function closeReaches(closer, other, label) {
  await closer.call("closeChannel", closer.id, label);
  for (const side of [closer, other]) {
    const s = await until(`${side.kind} "${label}" closed`, async () => {
      const st = await side.peek(side.id, label);
      return { ok: st.readyState === "closed" && st.log.includes("close"), st };
    });
    assert.ok(s.st.log.indexOf("close") > s.st.log.lastIndexOf("message"), s.st.log.join(" "));
  }
}

/** Firefox's nominated pair must end at the polyfill's relayed address: "relay", or "prflx"
 * when the polyfill's check arrived before its trickled candidate did (RFC 8445 §7.3.1.3). */
async function assertFirefoxUsesRelay(ff) {
  const pair = await ff.call("selectedPair", ff.id);
  assert.ok(pair, "Firefox reports a nominated pair");
  assert.ok(["relay", "prflx"].includes(pair.remote?.type), JSON.stringify(pair));
  assert.equal(pair.remote?.address, RELAY_IP, JSON.stringify(pair));
}

async function scenario(offerer, answerer, closer) {
  const t0 = Date.now();
  const phase = (what) => process.stderr.write(`[firefox] ${what} after ${Date.now() - t0} ms\n`);
  const { offer, answer } = await connect(offerer, answerer);
  phase(`${offerer.kind} offered, "dc" open on both sides`);
  const ff = [offerer, answerer].find((s) => s.kind === "native");
  const fxSdp = ff === offerer ? offer.sdp : answer.sdp;
  assert.match(fxSdp, /^a=sctp-port:5000\r?$/m, "Firefox SDP");
  await assertFirefoxUsesRelay(ff);
  await exchange(offerer, answerer, "dc");
  phase("messages both ways on dc");
  // A channel opened by the answerer after the connection is up (DCEP the other way, the id
  // parity from the other DTLS role).
  await answerer.call("openChannel", answerer.id, "back");
  await bothOpen(offerer, answerer, "back");
  await exchange(answerer, offerer, "back");
  const ids = [
    (await offerer.peek(offerer.id, "back")).id,
    (await answerer.peek(answerer.id, "back")).id,
  ];
  assert.equal(ids[0], ids[1], "both sides agree on the stream id");
  await closeReaches(closer, closer === offerer ? answerer : offerer, "dc");
  // The other channel survives the reset of "dc".
  await exchange(offerer, answerer, "back");
  for (const s of [offerer, answerer]) await s.call("close", s.id);
  phase("back channel, close, done");
}

test("Firefox (offerer) ↔ polyfill: channels both ways, close from Firefox", { skip }, async () => {
  const fx = { ...(await openFirefox()), kind: "native", config: {} };
  const poly = { ...(await openChromium()), kind: "polyfill", config: polyfillConfig() };
  await scenario(fx, poly, fx);
});

test(
  "polyfill (offerer) ↔ Firefox: channels both ways, close from the polyfill",
  { skip },
  async () => {
    const poly = { ...(await openChromium()), kind: "polyfill", config: polyfillConfig() };
    const fx = { ...(await openFirefox()), kind: "native", config: {} };
    await scenario(poly, fx, poly);
  },
);
