// End-to-end harness: a tiny static server for the repo root, one headless Chromium, and a page
// (tests/pages/e2e.html) that loads the polyfill module *without installing it*, so the same
// scenario can run against native WebRTC and against the polyfill in one page, each producing a
// trace that the tests compare. Native Chromium is the oracle.
//
// Environment:
//   POLYRTC_E2E_SECOND=native   run the "polyfill" side on native too (debugging scenarios while
//                               the polyfill is not built; a native/native run must be all green)
//   POLYRTC_E2E_HEADED=1        no --headless (needs a display; not for CI)
//   POLYRTC_E2E_TIMEOUT_MS      per-scenario timeout inside the page (default 15000)
//   POLYRTC_E2E_DEBUG=1         forward page console messages to stderr

import assert from "node:assert/strict";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Serve `root` on 127.0.0.1 (an ephemeral port): http://127.0.0.1 is a secure context. */
export async function startServer(root = REPO_ROOT) {
  const { server, url } = await serve({ host: "127.0.0.1", port: 0, dir: root });
  return {
    port: Number(new URL(url).port),
    origin: url,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
];

/** Launch Chromium with a fresh user-data-dir. Returns { context, close }. */
export async function launchBrowser(args = CHROMIUM_ARGS) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "polyrtc-e2e-"));
  const headless = process.env.POLYRTC_E2E_HEADED !== "1";
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless,
    args: [...(headless ? ["--headless"] : []), ...args],
  });
  return {
    context,
    /** The profile directory: the bench finds the browser's processes by it. */
    dir,
    async close() {
      await context.close().catch(() => {});
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
}

/**
 * Start server + browser and open `pagePath` (default the comparison page). Returns a session
 * with `page`, `origin`, `runScenario(name)`, `evaluate(fn, arg)`, `openPage(path)`, `close()`.
 */
export async function startSession({ pagePath = "/tests/pages/e2e.html", waitFor = "__e2e" } = {}) {
  const server = await startServer();
  let browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await server.close();
    throw e;
  }
  const pageErrors = [];
  async function openPage(p, readyGlobal) {
    const page = await browser.context.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e?.stack ?? e)));
    if (process.env.POLYRTC_E2E_DEBUG === "1") {
      page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
    }
    await page.goto(server.origin + p);
    if (readyGlobal) {
      await page.waitForFunction((g) => globalThis[g] !== undefined, readyGlobal, {
        timeout: 30000,
      });
    }
    return page;
  }
  const page = pagePath ? await openPage(pagePath, waitFor) : null;
  const second = process.env.POLYRTC_E2E_SECOND === "native" ? "native" : "polyfill";
  const timeoutMs = Number(process.env.POLYRTC_E2E_TIMEOUT_MS ?? 15000);

  async function polyfillStatus() {
    return page.evaluate(() => ({
      loaded: !!globalThis.__e2e.P,
      error: globalThis.__e2e.loadError,
    }));
  }

  /** Run scenario `name` with env = native, then with env = the second implementation. */
  async function runScenario(name) {
    const run = (which) =>
      page.evaluate(([n, w, ms]) => globalThis.__e2e.run(n, w, ms), [name, which, timeoutMs]);
    const native = await run("native");
    const other = await run(second);
    return { native, polyfill: other, second };
  }

  return {
    page,
    origin: server.origin,
    second,
    pageErrors,
    openPage,
    polyfillStatus,
    runScenario,
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Names of the scenarios (the scenario modules are plain ESM, importable from Node too). */
export async function scenarioNames(modulePath = "../pages/scenarios.js") {
  const mod = await import(new URL(modulePath, import.meta.url));
  return Object.keys(mod.scenarios);
}

/** Readable diff hints: up to `limit` indices where two traces differ (aligned by index). */
export function differences(a, b, limit = 4) {
  const out = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n && out.length < limit; i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i]))
      out.push({ index: i, native: a[i], polyfill: b[i] });
  }
  return out;
}

/** A readable diff hint: the first index where two traces differ. */
export function firstDifference(a, b) {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) {
      return { index: i, native: a[i], polyfill: b[i] };
    }
  }
  return null;
}

/**
 * Polls `fn` every `pollMs` until it returns `{ ok: true, … }` (which it returns), failing the test
 * with `what` and the last result after `timeoutMs`. POLYRTC_E2E_TIMING=1 prints how long it took.
 */
export async function until(what, fn, timeoutMs = 20000, pollMs = 50) {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last.ok) {
      if (process.env.POLYRTC_E2E_TIMING === "1")
        process.stderr.write(`[timing] ${what}: ${Date.now() - t0} ms\n`);
      return last;
    }
    if (Date.now() > deadline)
      assert.fail(`timed out waiting for ${what}: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
