// Relay session loss (issue #6), polyfill ↔ native Chromium: the polyfill reaches the relay's
// WebSocket through a TCP proxy in this process, which can cut every connection (both the page
// and the relay see them close) and refuse new ones for a while.
// (a) Mobility (the relay's default): the polyfill opens a new session at once, or with a
//     back-off while the relay cannot be reached, and its MOBILITY-TICKET moves the allocation
//     there (turn_mobility_moves_total): same relay candidate, no ICE restart, messages keep
//     flowing, "connected" again.
// (b) A relay started with --no-mobility: the allocation dies with the session; no new session
//     is tried; the polyfill's iceConnectionState goes "disconnected" (about 2.5 s after its
//     first unanswered consent check) and then "failed" (30 s after the last answer, RFC 7675);
//     restartIce() and a new offer/answer make a new allocation with another relay candidate
//     and both sides reach "connected" again, with the data channel still working.
// Loopback only: run inside scripts/netns.sh.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startServer, launchBrowser, CHROMIUM_ARGS, until } from "./harness.mjs";
import { startRelay, USER, PASSWORD } from "./relay-process.mjs";

let server, browser, mobile, immobile;
const proxies = [];

/** A TCP proxy to 127.0.0.1:`port` that can cut its connections and refuse new ones. */
async function startProxy(port) {
  const pairs = new Set();
  let accepted = 0;
  let refusing = false;
  const proxy = net.createServer((client) => {
    accepted++;
    if (refusing) return client.destroy();
    const upstream = net.connect(port, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const handle = {
    port: proxy.address().port,
    accepted: () => accepted,
    refuse(on) {
      refusing = on;
    },
    cut() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    close: () => proxy.close(),
  };
  proxies.push(handle);
  return handle;
}

async function openPage() {
  const page = await browser.context.newPage();
  if (process.env.POLYRTC_E2E_DEBUG === "1") {
    page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  }
  await page.goto(`${server.origin}/tests/pages/relay-loss.html`);
  await page.waitForFunction(() => globalThis.__ice !== undefined);
  await page.evaluate(() => globalThis.__ice.load({}));
  return page;
}

before(async () => {
  // Both relays before any test: starting one runs `cargo build`, which blocks this process.
  mobile = await startRelay();
  immobile = await startRelay(["--no-mobility"]);
  server = await startServer();
  browser = await launchBrowser(CHROMIUM_ARGS);
});

after(async () => {
  await browser?.close();
  await server?.close();
  for (const p of proxies) (p.cut(), p.close());
  mobile?.stop();
  immobile?.stop();
});

const call = (page, fn, ...args) =>
  page.evaluate(([f, a]) => globalThis.__ice[f](...a), [fn, args]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Trickles candidates both ways until both sides are "connected"; returns the new ones. */
async function trickleUntilConnected(page, poly, native, timeoutMs = 20000) {
  const seen = [];
  await until(
    "both connected",
    async () => {
      const fromP = await call(page, "takeCandidates", poly);
      const fromN = await call(page, "takeCandidates", native);
      seen.push(...fromP);
      if (fromP.length) await call(page, "addCandidates", native, fromP);
      if (fromN.length) await call(page, "addCandidates", poly, fromN);
      const p = await call(page, "status", poly);
      const n = await call(page, "status", native);
      return { ok: p.ice === "connected" && n.ice === "connected", p: p.ice, n: n.ice };
    },
    timeoutMs,
  );
  return seen;
}

/** Polyfill (offerer, WebSocket through `proxy`) ↔ native with host candidates, channel open. */
async function connect(page, proxy) {
  const url = `ws://127.0.0.1:${proxy.port}/turn`;
  const config = { iceServers: [{ urls: url, username: USER, credential: PASSWORD }] };
  const poly = await call(page, "create", "polyfill", config);
  const native = await call(page, "create", "native", {});
  await call(page, "track", poly);
  await call(page, "track", native);
  await call(page, "openLossChannel", poly);
  const offer = await call(page, "offer", poly);
  const answer = await call(page, "answer", native, offer);
  await call(page, "accept", poly, answer);
  await trickleUntilConnected(page, poly, native);
  // Both ends: the polyfill's channel opens when the DCEP ACK arrives, after native's.
  await until(
    "channel open on both ends",
    async () => {
      const p = await call(page, "channelState", poly);
      const n = await call(page, "channelState", native);
      return { ok: p === "open" && n === "open", p, n };
    },
    10000,
  );
  return { poly, native };
}

/** A message each way arrives within `timeoutMs`. */
async function messagesFlow(page, { poly, native }, tag, timeoutMs = 10000) {
  await call(page, "send", poly, `${tag} from polyfill`);
  await call(page, "send", native, `${tag} from native`);
  await until(
    `"${tag}" messages`,
    async () => {
      const atNative = await call(page, "received", native);
      const atPoly = await call(page, "received", poly);
      return {
        ok: atNative.includes(`${tag} from polyfill`) && atPoly.includes(`${tag} from native`),
        atNative,
        atPoly,
      };
    },
    timeoutMs,
  );
}

const states = (changes, type) => changes.filter((c) => c.type === type).map((c) => c.state);

describe("relay session loss", { concurrency: 2 }, () => {
  test("(a) with mobility the allocation resumes on a new session", async () => {
    const relay = mobile;
    const proxy = await startProxy(Number(new URL(relay.ws).port));
    const page = await openPage();
    const pc = await connect(page, proxy);
    await messagesFlow(page, pc, "before");
    const pair = await call(page, "selectedPair", pc.native);
    assert.equal(pair.remote.type, "relay");
    const moves = await relay.metric("turn_mobility_moves_total");
    assert.equal(proxy.accepted(), 1);

    // 1. A clean cut: one new session at once, the ticket moves the allocation.
    let from = await call(page, "now");
    proxy.cut();
    await until(
      "the allocation to move",
      async () => ({ ok: (await relay.metric("turn_mobility_moves_total")) === moves + 1 }),
      5000,
    );
    assert.equal(proxy.accepted(), 2, "one reconnection");
    await messagesFlow(page, pc, "after a cut");
    let changes = await call(page, "changesSince", pc.poly, from);
    assert.ok(!states(changes, "iceconnectionstatechange").includes("failed"));
    assert.equal((await call(page, "status", pc.poly)).ice, "connected");

    // 2. The relay unreachable for 3 s: attempts back off (0, 0.5, 1.5 s fail; 3.5 s works).
    from = await call(page, "now");
    proxy.refuse(true);
    proxy.cut();
    await sleep(3000);
    const refused = proxy.accepted() - 2;
    proxy.refuse(false);
    await until(
      "the allocation to move again",
      async () => ({ ok: (await relay.metric("turn_mobility_moves_total")) === moves + 2 }),
      8000,
    );
    assert.ok(refused >= 3 && refused <= 4, `${refused} attempts while refused`);
    assert.equal(proxy.accepted(), 2 + refused + 1, "one successful attempt");
    await messagesFlow(page, pc, "after an outage");
    await until(
      "connected",
      async () => ({ ok: (await call(page, "status", pc.poly)).ice === "connected" }),
      10000,
    );
    changes = await call(page, "changesSince", pc.poly, from);
    const ice = states(changes, "iceconnectionstatechange");
    assert.ok(!ice.includes("failed"), JSON.stringify(changes));
    // Same relayed address: native still talks to the same relay candidate.
    const after = await call(page, "selectedPair", pc.native);
    assert.deepEqual(after.remote, pair.remote);
    const native = await call(page, "changesSince", pc.native, 0);
    console.log(
      `# (a) polyfill after the outage: ${ice.join(" → ") || "no change"}; native: ${states(
        native,
        "iceconnectionstatechange",
      ).join(" → ")}`,
    );
  });

  test("(b) without mobility ICE fails on time and restartIce() recovers", async () => {
    const relay = immobile;
    const proxy = await startProxy(Number(new URL(relay.ws).port));
    const page = await openPage();
    const pc = await connect(page, proxy);
    await messagesFlow(page, pc, "before");
    const pair = await call(page, "selectedPair", pc.native);

    const from = await call(page, "now");
    proxy.cut();
    const failed = await until(
      "polyfill ICE failed",
      async () => {
        const changes = await call(page, "changesSince", pc.poly, from);
        return { ok: states(changes, "iceconnectionstatechange").includes("failed"), changes };
      },
      40000,
    );
    const ice = failed.changes.filter((c) => c.type === "iceconnectionstatechange");
    assert.deepEqual(
      ice.map((c) => c.state),
      ["disconnected", "failed"],
      JSON.stringify(failed.changes),
    );
    const [disconnectedAt, failedAt] = ice.map((c) => (c.t - from) / 1000);
    // 2.5 s after the first unanswered consent check (sent 4–6 s after the last answered one).
    assert.ok(disconnectedAt >= 2.4 && disconnectedAt <= 9, `disconnected at ${disconnectedAt}s`);
    // 30 s after the last answer, which came at most 6 s before the cut.
    assert.ok(failedAt >= 23.5 && failedAt <= 31, `failed at ${failedAt}s`);
    assert.deepEqual(
      states(failed.changes, "connectionstatechange"),
      ["disconnected", "failed"],
      JSON.stringify(failed.changes),
    );
    assert.equal(proxy.accepted(), 1, "no new session without a ticket");
    const nativeChanges = await call(page, "changesSince", pc.native, from);
    const nativeIce = states(nativeChanges, "iceconnectionstatechange");
    console.log(
      `# (b) polyfill disconnected at ${disconnectedAt.toFixed(1)} s, failed at ${failedAt.toFixed(
        1,
      )} s; native: ${nativeChanges.map((c) => `${c.state}@${((c.t - from) / 1000).toFixed(1)}s`).join(" ")}`,
    );
    assert.notEqual(nativeIce.at(-1) ?? "connected", "connected", "native noticed the loss");

    // restartIce(): a new allocation (new session, new relay candidate), connected again.
    const restartFrom = await call(page, "now");
    const offer = await call(page, "restartOffer", pc.poly);
    const answer = await call(page, "reanswer", pc.native, offer);
    await call(page, "accept", pc.poly, answer);
    const fresh = await trickleUntilConnected(page, pc.poly, pc.native);
    assert.equal(proxy.accepted(), 2, "one new session for the new allocation");
    const relayCandidates = fresh.filter((c) => / typ relay /.test(c.candidate));
    assert.equal(relayCandidates.length, 1, JSON.stringify(fresh));
    const renewed = await call(page, "selectedPair", pc.native);
    assert.equal(renewed.remote.type, "relay");
    assert.notDeepEqual(renewed.remote, pair.remote, "a different relay candidate");
    const restarted = await call(page, "changesSince", pc.poly, restartFrom);
    assert.equal(states(restarted, "iceconnectionstatechange").at(-1), "connected");
    assert.equal(states(restarted, "connectionstatechange").at(-1), "connected");
    await messagesFlow(page, pc, "after restartIce");
  });
});
