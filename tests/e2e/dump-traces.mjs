// Debug helper (not a test): print the native (and, if loaded, polyfill) trace of scenarios.
//   scripts/netns.sh -- node tests/e2e/dump-traces.mjs [name-substring ...]
import { startSession, scenarioNames } from "./harness.mjs";
const filters = process.argv.slice(2);
const names = (await scenarioNames()).filter(
  (n) => !filters.length || filters.some((f) => n.includes(f)),
);
const s = await startSession();
try {
  const st = await s.polyfillStatus();
  for (const n of names) {
    const native = await s.evaluate(([n]) => globalThis.__e2e.run(n, "native", 15000), [n]);
    console.log(
      `== ${n}\nnative:   ${JSON.stringify({ trace: native.trace, streams: native.streams })}`,
    );
    if (st.loaded) {
      const poly = await s.evaluate(([n]) => globalThis.__e2e.run(n, "polyfill", 15000), [n]);
      console.log(`polyfill: ${JSON.stringify({ trace: poly.trace, streams: poly.streams })}`);
      if (poly.debug.length) console.log(`poly notes: ${poly.debug.join(" | ")}`);
    }
  }
  if (s.pageErrors.length) console.log("page errors:", s.pageErrors);
} finally {
  await s.close();
}
