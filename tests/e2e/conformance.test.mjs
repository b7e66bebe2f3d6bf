// Native Chromium is the oracle: every scenario in tests/pages/scenarios.js runs in one page with
// the native classes and with the polyfill's, and the two traces must be deepStrictEqual.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSession, scenarioNames, differences } from "./harness.mjs";

const names = await scenarioNames();
let session;

before(async () => {
  session = await startSession();
  const st = await session.polyfillStatus();
  if (session.second === "polyfill" && !st.loaded) {
    throw new Error(
      `polyfill did not load in the page (set POLYRTC_E2E_SECOND=native to debug scenarios on native only):\n${st.error}`,
    );
  }
});
after(async () => {
  await session?.close();
});

for (const name of names) {
  test(name, async (tc) => {
    const { native, polyfill, second } = await session.runScenario(name);
    for (const d of differences(native.trace, polyfill.trace)) {
      tc.diagnostic(
        `difference at #${d.index}: native ${JSON.stringify(d.native)} vs ${second} ${JSON.stringify(d.polyfill)}`,
      );
    }
    for (const k of new Set([...Object.keys(native.streams), ...Object.keys(polyfill.streams)])) {
      for (const d of differences(native.streams[k] ?? [], polyfill.streams[k] ?? [])) {
        tc.diagnostic(
          `stream ${k} difference at #${d.index}: native ${JSON.stringify(d.native)} vs ${second} ${JSON.stringify(d.polyfill)}`,
        );
      }
    }
    if (polyfill.debug.length)
      tc.diagnostic(`${second} notes: ${polyfill.debug.join(" | ").slice(0, 2000)}`);
    assert.deepStrictEqual(
      { trace: polyfill.trace, streams: polyfill.streams },
      { trace: native.trace, streams: native.streams },
    );
  });
}
