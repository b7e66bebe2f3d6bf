// 10 MB each way at once on an ordered reliable data channel through a polyrtc-relay that drops
// 5%, holds back 5% and duplicates 1% of relayed datagrams (`--test-impair`), polyfill↔polyfill
// and polyfill↔native Chromium in one page (tests/pages/datachannel-robust.js): complete, in
// order, every 16 KiB chunk checked by sequence number and content, flow-controlled by
// bufferedamountlow; the time is printed. Slow by nature (SCTP congestion control under 5% loss):
// a file of its own. Loopback only: run inside scripts/netns.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, CHROMIUM_ARGS } from "./harness.mjs";
import { startRelay, USER, PASSWORD } from "./relay-process.mjs";

const IMPAIRMENT = "loss=0.05,reorder=0.05,duplicate=0.01,seed=7";
const TEN_MB = 10 * 1024 * 1024;

let lossy, server, browser, page;

before(async () => {
  lossy = await startRelay(["--test-impair", IMPAIRMENT]);
  server = await startServer();
  browser = await launchBrowser(CHROMIUM_ARGS);
  page = await browser.context.newPage();
  if (process.env.POLYRTC_E2E_DEBUG === "1") {
    page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  }
  await page.goto(`${server.origin}/tests/pages/datachannel-robust.html`);
  await page.waitForFunction(() => globalThis.__robust !== undefined);
  await page.evaluate(() => globalThis.__robust.load());
});

after(async () => {
  await browser?.close();
  await server?.close();
  lossy?.stop();
});

const run = (fn, ...args) => page.evaluate(([f, a]) => globalThis.__robust[f](...a), [fn, args]);
const iceServer = (relay) => ({ urls: relay.ws, username: USER, credential: PASSWORD });

async function healthy(serialBefore) {
  const h = await run("health");
  assert.deepEqual(h.errors, [], "no uncaught error or unhandled rejection in the page");
  if (serialBefore !== undefined) assert.equal(h.serial, serialBefore, "no wasm trap");
  return h.serial;
}

// polyfill↔polyfill (both ends in this page) stalled in the first runs: after about 3–4 MB each
// way nothing more was delivered for a minute although the senders' bufferedAmount had drained
// (so the data was SACKed, at least as gap blocks). Not yet understood; tracked as a todo.
const TODO = {
  polyfill: "polyfill↔polyfill stalls after a few MB under impairment (under investigation)",
};

for (const kindB of ["polyfill", "native"]) {
  const name = `10 MB each way through 5% loss, reordering and duplication: polyfill ↔ ${kindB}`;
  // A known stall would only wait out its timeout: skipped unless POLYRTC_E2E_TODO=1 asks for it.
  const known = TODO[kindB];
  const opts =
    known && process.env.POLYRTC_E2E_TODO !== "1" ? { skip: known } : { todo: known ?? false };
  test(name, opts, async () => {
    const serial = await healthy();
    const dropped0 = await lossy.metric("turn_test_impaired_dropped_total");
    const r = await run("bulk", "polyfill", kindB, iceServer(lossy), TEN_MB);
    assert.equal(r.failed, undefined, JSON.stringify(r));
    for (const [dir, s] of [
      ["polyfill → " + kindB, r.aToB],
      [kindB + " → polyfill", r.bToA],
    ]) {
      assert.deepEqual(s.errors, [], `${dir}: every chunk in order and intact`);
      assert.equal(s.bytes, TEN_MB, `${dir}: every byte`);
      assert.ok(s.maxBuffered <= 2 * 1024 * 1024, `${dir}: flow control held ${s.maxBuffered}`);
      console.log(`# ${dir}: 10 MB in ${(s.ms / 1000).toFixed(1)} s under ${IMPAIRMENT}`);
    }
    const dropped = (await lossy.metric("turn_test_impaired_dropped_total")) - dropped0;
    const reordered = await lossy.metric("turn_test_impaired_reordered_total");
    const duplicated = await lossy.metric("turn_test_impaired_duplicated_total");
    console.log(
      `# relay dropped ${dropped} datagrams in this run (${reordered} held back, ${duplicated} duplicated so far)`,
    );
    // 20 MB is over 14,000 datagrams: 5% of them is hundreds.
    assert.ok(dropped > 300, `the relay really dropped datagrams: ${dropped}`);
    await healthy(serial);
  });
}
