// Headless Chromium reaches polyrtc-relay over WebTransport, pinning the relay's rotating
// self-signed certificate by the hashes GET /webtransport publishes, and gets a STUN Binding
// success response (by datagram, and by the bidirectional stream).
//
// Run (from the repo root, after `cargo build -p polyrtc-relay`; needs node_modules with
// playwright-core and /usr/bin/chromium):
//   bash scripts/netns.sh node --test relay/tests/browser/webtransport.test.mjs
// Environment: RELAY_BIN (default target/debug/polyrtc-relay), CHROMIUM (default /usr/bin/chromium).
// Inside the loopback-only namespace fixed ports are safe: ws 18443, WebTransport 14433.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const RELAY_BIN = process.env.RELAY_BIN ?? path.join(ROOT, "target/debug/polyrtc-relay");
const WS_PORT = 18443;
const WT_PORT = 14433;

async function waitForHealth(url, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`relay not healthy at ${url}`);
}

test("chromium: WebTransport with serverCertificateHashes from /webtransport", async () => {
  const relay = spawn(
    RELAY_BIN,
    ["--ws-listen", `127.0.0.1:${WS_PORT}`, "--wt-listen", `127.0.0.1:${WT_PORT}`, "--no-auth", "--log", "warn"],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "polyrtc-wt-"));
  let context;
  try {
    const origin = `http://127.0.0.1:${WS_PORT}`;
    await waitForHealth(`${origin}/health`);
    context = await chromium.launchPersistentContext(dir, {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      // No --disable-quic: WebTransport needs QUIC.
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const page = await context.newPage();
    // http://127.0.0.1 is a secure context; /health is same-origin with /webtransport.
    await page.goto(`${origin}/health`);
    const result = await page.evaluate(async () => {
      const info = await (await fetch("/webtransport")).json();
      const hashes = info.certificateHashes.map((h) => ({
        algorithm: h.algorithm,
        value: Uint8Array.from(atob(h.value), (c) => c.charCodeAt(0)),
      }));
      const wt = new WebTransport(info.url, { serverCertificateHashes: hashes });
      await wt.ready;
      // STUN Binding request (RFC 8489): type 0x0001, length 0, magic cookie, random id.
      const binding = () => {
        const m = new Uint8Array(20);
        m.set([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]);
        crypto.getRandomValues(m.subarray(8));
        return m;
      };
      const isSuccess = (m) => m.length >= 20 && m[0] === 0x01 && m[1] === 0x01;
      const writer = wt.datagrams.writable.getWriter();
      const reader = wt.datagrams.readable.getReader();
      await writer.write(binding());
      const dgram = await Promise.race([
        reader.read().then((r) => r.value),
        new Promise((_, rej) => setTimeout(() => rej(new Error("no datagram reply")), 5000)),
      ]);
      // The same on a bidirectional stream (framed as on TCP).
      const bidi = await wt.createBidirectionalStream();
      const sw = bidi.writable.getWriter();
      await sw.write(binding());
      const sr = bidi.readable.getReader();
      let buf = new Uint8Array(0);
      while (buf.length < 20 || buf.length < 20 + ((buf[2] << 8) | buf[3])) {
        const { value, done } = await sr.read();
        if (done) break;
        const n = new Uint8Array(buf.length + value.length);
        n.set(buf);
        n.set(value, buf.length);
        buf = n;
      }
      const out = {
        url: info.url,
        hashes: hashes.length,
        maxDatagramSize: wt.datagrams.maxDatagramSize,
        datagramOk: isSuccess(dgram),
        streamOk: isSuccess(buf),
      };
      wt.close();
      return out;
    });
    assert.equal(result.url, `https://127.0.0.1:${WT_PORT}/turn`);
    assert.equal(result.hashes, 1);
    assert.ok(result.datagramOk, "Binding success by datagram");
    assert.ok(result.streamOk, "Binding success on the stream");
    console.log(`maxDatagramSize in Chromium: ${result.maxDatagramSize}`);
  } finally {
    await context?.close().catch(() => {});
    relay.kill("SIGTERM");
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
});
