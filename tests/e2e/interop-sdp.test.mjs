// Cross-implementation offer/answer: each flow in tests/pages/interop.js runs with the offerer
// and answerer on native or polyfill. native→native is the oracle; polyfill→polyfill,
// polyfill→native and native→polyfill must produce the same facts (states, directions, mids
// agreeing on both sides, SDP structure, track events).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSession, differences } from "./harness.mjs";

const { flows } = await import("../pages/interop.js");
let session;

before(async () => {
  session = await startSession();
  const st = await session.polyfillStatus();
  if (session.second === "polyfill" && !st.loaded)
    throw new Error(`polyfill did not load:\n${st.error}`);
});
after(async () => {
  await session?.close();
});

const P = () => session.second; // "polyfill" (or "native" when debugging scenarios)
const PAIRS = [
  ["polyfill", "polyfill"],
  ["polyfill", "native"],
  ["native", "polyfill"],
];

for (const name of Object.keys(flows)) {
  for (const [a, b] of PAIRS) {
    test(`${name}: ${a} offers, ${b} answers`, async (tc) => {
      const run = (x, y) =>
        session.evaluate(([n, x, y]) => globalThis.__e2e.runFlow(n, x, y, 20000), [name, x, y]);
      const oracle = await run("native", "native");
      assert.ok(
        !oracle.trace.some((e) => e && e.uncaught),
        `native→native flow itself failed: ${oracle.debug.join(" | ")}`,
      );
      const got = await run(a === "polyfill" ? P() : a, b === "polyfill" ? P() : b);
      for (const d of differences(oracle.trace, got.trace)) {
        tc.diagnostic(
          `difference at #${d.index}: native→native ${JSON.stringify(d.native)} vs ${JSON.stringify(d.polyfill)}`,
        );
      }
      if (got.debug.length) tc.diagnostic(`notes: ${got.debug.join(" | ").slice(0, 2000)}`);
      assert.deepStrictEqual(got.trace, oracle.trace);
    });
  }
}
