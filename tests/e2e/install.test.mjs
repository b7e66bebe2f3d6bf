// install()/uninstall() and polyrtc/auto: what they do to globalThis in a real page, and that
// unmodified WebRTC code runs on the force-installed polyfill like it does on native.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSession } from "./harness.mjs";
import { CLASS_NAMES } from "../pages/runtime.js";

// Every WebRTC interface the polyfill is expected to provide (webrtc-pc §11 "Exposed"): the
// list the comparison runtime uses too.
const NAMES = CLASS_NAMES;

let session;
before(async () => {
  session = await startSession({ pagePath: null });
});
after(async () => {
  await session?.close();
});

async function blankPage() {
  return session.openPage("/tests/pages/blank.html", "__blankReady");
}

/** In the page: import the polyfill (no install), returning natives' identity info. */
const LOAD = async (names) => {
  const natives = {};
  for (const n of names) natives[n] = globalThis[n];
  globalThis.__natives = natives;
  const P = await import("/js/index.js");
  await P.ready;
  globalThis.__P = P;
  return {
    exports: Object.keys(P).sort(),
    missingExports: names.filter((n) => typeof P[n] !== "function"),
    importChangedGlobals: names.filter((n) => globalThis[n] !== natives[n]),
    nativePresent: names.filter((n) => typeof natives[n] === "function"),
  };
};

test("the module exports install, uninstall, ready and every class, and importing changes nothing", async () => {
  const page = await blankPage();
  const r = await page.evaluate(LOAD, NAMES);
  for (const fn of ["install", "uninstall", "ready"])
    assert.ok(r.exports.includes(fn), `js/index.js exports ${fn}`);
  assert.deepEqual(r.missingExports, [], "classes missing from js/index.js");
  assert.deepEqual(r.importChangedGlobals, [], "importing js/index.js must not touch globals");
  await page.close();
});

test('install({mode:"missing"}) does nothing when native WebRTC exists', async () => {
  const page = await blankPage();
  await page.evaluate(LOAD, NAMES);
  const r = await page.evaluate((names) => {
    const ret = globalThis.__P.install({ mode: "missing" });
    return {
      changed: names.filter((n) => globalThis[n] !== globalThis.__natives[n]),
      pcIsNative: new RTCPeerConnection() instanceof globalThis.__natives.RTCPeerConnection,
      ret: ret === undefined ? "undefined" : typeof ret,
    };
  }, NAMES);
  assert.deepEqual(r.changed, []);
  assert.equal(r.pcIsNative, true);
  await page.close();
});

test('install({mode:"force"}) replaces every class; uninstall() restores the exact natives', async () => {
  const page = await blankPage();
  const loaded = await page.evaluate(LOAD, NAMES);
  const r = await page.evaluate((names) => {
    const P = globalThis.__P;
    const nat = globalThis.__natives;
    const desc = (n) => {
      const d = Object.getOwnPropertyDescriptor(globalThis, n);
      return d
        ? {
            writable: d.writable,
            enumerable: d.enumerable,
            configurable: d.configurable,
          }
        : null;
    };
    const nativeDesc = Object.fromEntries(names.map((n) => [n, desc(n)]));
    // Chromium 156 still ships the webkitRTCPeerConnection alias: uninstall must restore it too.
    const nativeWebkit = globalThis.webkitRTCPeerConnection;
    P.install({ mode: "force" });
    const forced = {
      notReplaced: names.filter((n) => globalThis[n] !== P[n]),
      descriptorsDiffer: names.filter(
        (n) => nativeDesc[n] && JSON.stringify(desc(n)) !== JSON.stringify(nativeDesc[n]),
      ),
      pcIsPolyfill: new RTCPeerConnection() instanceof P.RTCPeerConnection,
      pcIsNotNative: !(new RTCPeerConnection() instanceof nat.RTCPeerConnection),
      sdIsPolyfill:
        new RTCSessionDescription({ type: "offer", sdp: "" }) instanceof P.RTCSessionDescription,
      candIsPolyfill:
        new RTCIceCandidate({ candidate: "", sdpMid: "0" }) instanceof P.RTCIceCandidate,
      dcIsPolyfill: new RTCPeerConnection().createDataChannel("x") instanceof P.RTCDataChannel,
      webkit:
        globalThis.webkitRTCPeerConnection === P.RTCPeerConnection
          ? "polyfill"
          : globalThis.webkitRTCPeerConnection === nativeWebkit
            ? "native"
            : "other",
    };
    P.install({ mode: "force" }); // idempotent: a second install must not lose the natives
    P.uninstall();
    const restored = {
      webkitRestored: globalThis.webkitRTCPeerConnection === nativeWebkit,
      notRestored: names.filter((n) => globalThis[n] !== nat[n]),
      descriptorsDiffer: names.filter(
        (n) => JSON.stringify(desc(n)) !== JSON.stringify(nativeDesc[n]),
      ),
      pcIsNative: new RTCPeerConnection() instanceof nat.RTCPeerConnection,
    };
    P.uninstall(); // second uninstall is harmless
    const twice = names.filter((n) => globalThis[n] !== nat[n]);
    return { forced, restored, twice };
  }, loaded.nativePresent);
  assert.deepEqual(r.forced.notReplaced, [], "force must replace every class");
  assert.deepEqual(
    r.forced.descriptorsDiffer,
    [],
    "installed globals keep WebIDL's property attributes",
  );
  assert.equal(r.forced.pcIsPolyfill, true);
  assert.equal(r.forced.pcIsNotNative, true);
  assert.equal(r.forced.sdIsPolyfill, true);
  assert.equal(r.forced.candIsPolyfill, true);
  assert.equal(r.forced.dcIsPolyfill, true);
  assert.notEqual(
    r.forced.webkit,
    "other",
    "webkitRTCPeerConnection is either left alone or aliased to the polyfill",
  );
  assert.equal(r.restored.webkitRestored, true, "uninstall restores webkitRTCPeerConnection");
  assert.deepEqual(r.restored.notRestored, [], "uninstall must restore the exact native objects");
  assert.deepEqual(r.restored.descriptorsDiffer, []);
  assert.equal(r.restored.pcIsNative, true);
  assert.deepEqual(r.twice, []);
  await page.close();
});

test('install({mode:"missing"}) installs where RTCPeerConnection was deleted; uninstall() removes it again', async () => {
  const page = await blankPage();
  const r = await page.evaluate(async () => {
    const nat = globalThis.RTCPeerConnection;
    delete globalThis.RTCPeerConnection;
    const P = await import("/js/index.js");
    await P.ready;
    P.install({ mode: "missing" });
    const installed = globalThis.RTCPeerConnection === P.RTCPeerConnection;
    const works = (await new RTCPeerConnection().createOffer()).type;
    P.uninstall();
    const after =
      "RTCPeerConnection" in globalThis
        ? globalThis.RTCPeerConnection === nat
          ? "native"
          : "other"
        : "absent";
    return { installed, works, after };
  });
  assert.deepEqual(r, { installed: true, works: "offer", after: "absent" });
  await page.close();
});

test("polyrtc/auto installs on import when RTCPeerConnection is missing", async () => {
  const page = await session.openPage("/tests/pages/auto.html", "__auto");
  const r = await page.evaluate(async () => {
    const out = { deleted: globalThis.__deleted, auto: globalThis.__auto };
    const P = await import("/js/index.js");
    await P.ready;
    out.installed =
      typeof RTCPeerConnection === "function" && RTCPeerConnection === P.RTCPeerConnection;
    out.notNative = RTCPeerConnection !== globalThis.__nativeBefore.RTCPeerConnection;
    const pc = new RTCPeerConnection();
    pc.createDataChannel("x");
    out.offer = (await pc.createOffer()).type;
    pc.close();
    return out;
  });
  assert.equal(r.deleted, true);
  assert.equal(r.auto.ok, true, r.auto.error);
  assert.equal(r.installed, true);
  assert.equal(r.notNative, true);
  assert.equal(r.offer, "offer");
  await page.close();
});

test("unmodified WebRTC code reaches stable on the force-installed polyfill, as on native", async () => {
  const run = async (query) => {
    const page = await session.openPage("/tests/pages/plain.html" + query, "__plainReady");
    const ready = await page.evaluate(() => globalThis.__plainReady);
    assert.equal(ready.ok, true, ready.error);
    const r = await page.evaluate(async () => {
      const res = await Promise.race([
        globalThis.plainWebRtc(),
        new Promise((_, rej) =>
          setTimeout(() => rej(new Error("plain WebRTC code timed out")), 15000),
        ),
      ]);
      res.isPolyfill = globalThis.__P
        ? new RTCPeerConnection() instanceof globalThis.__P.RTCPeerConnection
        : false;
      return res;
    });
    await page.close();
    return r;
  };
  const native = await run("");
  assert.equal(native.a, "stable");
  const poly = await run("?force=1");
  assert.equal(poly.isPolyfill, true, "the page's global RTCPeerConnection is the polyfill");
  native.isPolyfill = true;
  // datachannel events depend on connectivity (native connects over loopback): not compared.
  const strip = (r) => ({
    ...r,
    log: r.log.filter((l) => !l.startsWith("b:datachannel")),
  });
  assert.deepStrictEqual(strip(poly), strip(native));
});
