// Benchmark: what polyrtc costs a page before its first offer.
//  - gzipped size of the wasm module and of the JS (shim + wasm-bindgen glue);
//  - time from `import()` of the shim to the first `createOffer()` resolving, in headless Chromium,
//    beside the native RTCPeerConnection's first createOffer in the same page (cold, fresh page
//    each run).
// Run: scripts/netns.sh -- node bench/startup.mjs [runs]   (after scripts/build.sh)
import fs from "node:fs";
import path from "node:path";
import { gz } from "./gzip-size.mjs";
import { startServer, launchBrowser } from "../tests/e2e/harness.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const runs = Number(process.argv[2] ?? 10);

const jsFiles = fs
  .readdirSync(path.join(root, "js"))
  .filter((f) => f.endsWith(".js"))
  .map((f) => path.join(root, "js", f))
  .concat([path.join(root, "dist/wasm/polyrtc.js")]);
const wasm = gz([path.join(root, "dist/wasm/polyrtc_bg.wasm")]);
const js = gz(jsFiles);

const server = await startServer();
const browser = await launchBrowser();
const poly = [];
const native = [];
try {
  for (let i = 0; i < runs; i++) {
    const page = await browser.context.newPage();
    await page.goto(`${server.origin}/www/blank.html?run=${i}`);
    const r = await page.evaluate(async () => {
      const t0 = performance.now();
      const P = await import("/js/index.js");
      await P.ready;
      const pc = new P.RTCPeerConnection();
      await pc.createOffer({ offerToReceiveAudio: true });
      const polyMs = performance.now() - t0;
      pc.close();
      const t1 = performance.now();
      const n = new RTCPeerConnection();
      await n.createOffer({ offerToReceiveAudio: true });
      const nativeMs = performance.now() - t1;
      n.close();
      return { polyMs, nativeMs };
    });
    poly.push(r.polyMs);
    native.push(r.nativeMs);
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kib = (n) => (n / 1024).toFixed(1);
console.log(`runs: ${runs} (fresh page each, headless Chromium)`);
console.log(`wasm: ${kib(wasm.raw)} KiB raw, ${kib(wasm.packed)} KiB gzipped`);
console.log(`js (shim + glue): ${kib(js.raw)} KiB raw, ${kib(js.packed)} KiB gzipped`);
console.log(`total gzipped: ${kib(wasm.packed + js.packed)} KiB`);
console.log(
  `import → first createOffer: polyrtc p50 ${median(poly).toFixed(1)} ms, native createOffer p50 ${median(native).toFixed(1)} ms, ratio ${(median(poly) / median(native)).toFixed(1)}x`,
);
