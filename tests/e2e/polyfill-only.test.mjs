// Features Chromium does not ship, so native cannot be the oracle: expectations come from the
// W3C specs (webrtc-identity, the 2017 webrtc-pc draft for getDefaultIceServers) and DESIGN.md (relay URLs in iceServers). Each test first shows that native
// Chromium indeed lacks the feature, so the reason for being polyfill-only stays true.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSession } from "./harness.mjs";

let session;
let page;
before(async () => {
  session = await startSession({ pagePath: null });
  page = await session.openPage("/tests/pages/blank.html", "__blankReady");
  const st = await page.evaluate(async () => {
    try {
      const P = await import("/js/index.js");
      await P.ready;
      globalThis.__P = P;
      return { ok: true };
    } catch (e) {
      return { ok: false, error: String(e?.stack ?? e) };
    }
  });
  if (!st.ok) throw new Error(`polyfill did not load: ${st.error}`);
});
after(async () => {
  await session?.close();
});

const err = (e) => ({
  name: e?.name,
  dom: e instanceof DOMException,
  type: e instanceof TypeError,
});

test("identity API (webrtc-identity): attributes, setIdentityProvider, getIdentityAssertion", async () => {
  const r = await page.evaluate(async () => {
    const err = (e) => ({
      name: e?.name,
      dom: e instanceof DOMException,
      type: e instanceof TypeError,
    });
    const P = globalThis.__P;
    const native = new RTCPeerConnection();
    const nativeHas = [
      "setIdentityProvider",
      "getIdentityAssertion",
      "peerIdentity",
      "idpLoginUrl",
    ].filter((k) => k in native);
    native.close();
    const pc = new P.RTCPeerConnection();
    const out = { nativeHas };
    out.peerIdentityIsPromise = pc.peerIdentity instanceof Promise;
    out.peerIdentitySameObject = pc.peerIdentity === pc.peerIdentity;
    out.idpLoginUrl = pc.idpLoginUrl;
    out.idpErrorInfo = pc.idpErrorInfo;
    try {
      pc.setIdentityProvider();
      out.noArgs = "ok";
    } catch (e) {
      out.noArgs = err(e);
    }
    try {
      out.setIdp = pc.setIdentityProvider("idp.invalid", {
        protocol: "default",
        usernameHint: "alice@idp.invalid",
      });
    } catch (e) {
      out.setIdp = err(e);
    }
    const pc2 = new P.RTCPeerConnection();
    out.assertionWithoutIdp = await pc2.getIdentityAssertion().then(() => "resolved", err);
    pc2.close();
    out.assertionClosed = await pc2.getIdentityAssertion().then(() => "resolved", err);
    try {
      pc2.setIdentityProvider("idp.invalid");
      out.setIdpClosed = "ok";
    } catch (e) {
      out.setIdpClosed = err(e);
    }
    // RTCConfiguration.peerIdentity (webrtc-identity §4): kept by getConfiguration, cannot change.
    const pc3 = new P.RTCPeerConnection({ peerIdentity: "bob@idp.invalid" });
    out.configPeerIdentity = pc3.getConfiguration().peerIdentity;
    try {
      pc3.setConfiguration({ peerIdentity: "eve@idp.invalid" });
      out.changePeerIdentity = "ok";
    } catch (e) {
      out.changePeerIdentity = err(e);
    }
    for (const x of [pc, pc3]) x.close();
    return out;
  });
  assert.deepEqual(
    r.nativeHas,
    [],
    "Chromium does not ship the identity API (else compare with native instead)",
  );
  assert.equal(r.peerIdentityIsPromise, true);
  assert.equal(r.peerIdentitySameObject, true);
  assert.equal(r.idpLoginUrl, null);
  assert.equal(r.idpErrorInfo, null);
  assert.deepEqual(r.noArgs, { name: "TypeError", dom: false, type: true });
  assert.equal(r.setIdp, undefined);
  assert.equal(r.assertionWithoutIdp.name, "OperationError");
  assert.equal(r.assertionWithoutIdp.dom, true);
  assert.deepEqual(r.assertionClosed, {
    name: "InvalidStateError",
    dom: true,
    type: false,
  });
  assert.deepEqual(r.setIdpClosed, {
    name: "InvalidStateError",
    dom: true,
    type: false,
  });
  assert.equal(r.configPeerIdentity, "bob@idp.invalid");
  assert.deepEqual(r.changePeerIdentity, {
    name: "InvalidModificationError",
    dom: true,
    type: false,
  });
});

test("RTCPeerConnection.getDefaultIceServers() (webrtc-pc 2017 draft): a sequence of RTCIceServer", async () => {
  const r = await page.evaluate(() => {
    const P = globalThis.__P;
    const out = { native: typeof RTCPeerConnection.getDefaultIceServers };
    out.poly = typeof P.RTCPeerConnection.getDefaultIceServers;
    if (out.poly === "function") {
      const a = P.RTCPeerConnection.getDefaultIceServers();
      out.isArray = Array.isArray(a);
      out.entriesHaveUrls = a.every((s) => typeof s.urls === "string" || Array.isArray(s.urls));
      out.fresh = P.RTCPeerConnection.getDefaultIceServers() !== a;
    }
    return out;
  });
  assert.equal(r.native, "undefined", "Chromium does not ship getDefaultIceServers");
  assert.equal(r.poly, "function");
  assert.equal(r.isArray, true);
  assert.equal(r.entriesHaveUrls, true);
  assert.equal(r.fresh, true);
});

test("relay URLs (ws:, wss:, https:) in iceServers: native rejects them, the polyfill accepts and keeps them", async () => {
  const r = await page.evaluate(() => {
    const err = (e) => ({
      name: e?.name,
      dom: e instanceof DOMException,
      type: e instanceof TypeError,
    });
    const P = globalThis.__P;
    const out = { native: {}, poly: {} };
    for (const urls of [
      "wss://127.0.0.1:9/relay",
      "ws://127.0.0.1:9/relay",
      "https://127.0.0.1:9/relay",
    ]) {
      const cfg = { iceServers: [{ urls, username: "u", credential: "p" }] };
      try {
        new RTCPeerConnection(cfg).close();
        out.native[urls] = "ok";
      } catch (e) {
        out.native[urls] = err(e);
      }
      try {
        const pc = new P.RTCPeerConnection(cfg);
        const got = pc.getConfiguration().iceServers;
        out.poly[urls] = got.map((s) => [].concat(s.urls)).flat();
        pc.close();
      } catch (e) {
        out.poly[urls] = err(e);
      }
    }
    try {
      new P.RTCPeerConnection({ iceServers: [{ urls: "ftp://127.0.0.1" }] });
      out.polyBad = "ok";
    } catch (e) {
      out.polyBad = err(e);
    }
    return out;
  });
  for (const [u, v] of Object.entries(r.native)) assert.equal(v.name, "SyntaxError", `native ${u}`);
  for (const [u, v] of Object.entries(r.poly)) assert.deepEqual(v, [u], `polyfill keeps ${u}`);
  assert.deepEqual(r.polyBad, { name: "SyntaxError", dom: true, type: false });
});

test("install()/uninstall() exist only in the polyfill (covered in install.test.mjs)", async () => {
  const r = await page.evaluate(() => [
    typeof globalThis.__P.install,
    typeof globalThis.__P.uninstall,
  ]);
  assert.deepEqual(r, ["function", "function"]);
});

void err;
