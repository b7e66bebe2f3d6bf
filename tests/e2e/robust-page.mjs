// The page both robustness files drive (tests/pages/datachannel-robust.js), with its relay:
// `useRobustPage(relayArgs)` registers before/after hooks and returns what the tests call.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, CHROMIUM_ARGS } from "./harness.mjs";
import { startRelay, USER, PASSWORD } from "./relay-process.mjs";

export function useRobustPage(relayArgs) {
  /** @type {any} */
  const env = {};
  let server, browser, page;
  before(async () => {
    env.relay = await startRelay(relayArgs);
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
    env.relay?.stop();
  });
  /** Calls `__robust[fn](...args)` in the page. */
  env.run = (fn, ...args) => page.evaluate(([f, a]) => globalThis.__robust[f](...a), [fn, args]);
  env.iceServer = () => ({ urls: env.relay.ws, username: USER, credential: PASSWORD });
  /** No uncaught error in the page and, given the serial from before, no wasm trap since. */
  env.healthy = async (serialBefore) => {
    const h = await env.run("health");
    assert.deepEqual(h.errors, [], "no uncaught error or unhandled rejection in the page");
    if (serialBefore !== undefined) assert.equal(h.serial, serialBefore, "no wasm trap");
    return h.serial;
  };
  return env;
}
