// Native RTCPeerConnection in headless Chromium, as the peer of crates/dtls/tests/chromium_interop.rs.
//
// Protocol over stdio, one JSON object per line:
//   stdout {"offer": sdp}                       after createOffer + setLocalDescription
//   stdin  {"answer": sdp}                      the Rust side's ICE-lite answer
//   stdout {"state": {...}}                     whenever a transport state changes
//   stdout {"result": {...}}                    once the DTLS transport is connected or failed
//   stdin  "quit" (or EOF)                      close the browser and exit
//
// Chromium gathers a 127.0.0.1 host candidate only after a getUserMedia grant on a secure-context
// page, so the page is served from http://127.0.0.1 and asks for a fake microphone first
// (../../../../../shared/DESIGN.md, "Browser test flags").
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS } from "../../../../tests/e2e/harness.mjs";

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const timeoutMs = Number(process.env.PEER_TIMEOUT_MS ?? 30000);

const lines = readline.createInterface({ input: process.stdin });
const pending = [];
let waiter = null;
lines.on("line", (l) => (waiter ? (waiter(l), (waiter = null)) : pending.push(l)));
lines.on("close", () => (waiter ? (waiter(null), (waiter = null)) : pending.push(null)));
const nextLine = () =>
  pending.length ? Promise.resolve(pending.shift()) : new Promise((r) => (waiter = r));
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const server = http.createServer((_, res) => {
  res.writeHead(200, { "content-type": "text/html" });
  res.end("<!doctype html><title>polyrtc-dtls interop</title>");
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/`;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "polyrtc-dtls-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: CHROMIUM_ARGS,
});

async function shutdown(code) {
  await context.close().catch(() => {});
  server.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(code);
}

try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
  await page.goto(url);
  const offer = await page.evaluate(async () => {
    window.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const pc = new RTCPeerConnection();
    window.pc = pc;
    window.dc = pc.createDataChannel("polyrtc-dtls");
    window.states = [];
    const note = (what) => {
      const dtls = pc.sctp?.transport;
      window.states.push({
        what,
        connection: pc.connectionState,
        ice: pc.iceConnectionState,
        dtls: dtls?.state ?? null,
      });
    };
    pc.onconnectionstatechange = () => note("connection");
    pc.oniceconnectionstatechange = () => note("ice");
    await pc.setLocalDescription(await pc.createOffer());
    // Wait for the host candidate so the offer carries it (not needed by the ICE-lite
    // responder, which learns Chromium's address from its checks, but useful in logs).
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
      setTimeout(resolve, 2000);
    });
    return pc.localDescription.sdp;
  });
  emit({ offer });

  const line = await nextLine();
  if (line === null) await shutdown(1);
  const { answer } = JSON.parse(line);
  const result = await page.evaluate(
    async ({ answer, timeoutMs }) => {
      const pc = window.pc;
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      const dtls = pc.sctp.transport;
      dtls.onstatechange = () => window.states.push({ what: "dtls", dtls: dtls.state });
      const start = performance.now();
      while (!["connected", "failed", "closed"].includes(dtls.state)) {
        if (performance.now() - start > timeoutMs) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const certs = dtls.state === "connected" ? dtls.getRemoteCertificates() : [];
      const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
      const pair = dtls.iceTransport.getSelectedCandidatePair?.();
      return {
        dtls: dtls.state,
        ice: dtls.iceTransport.state,
        connection: pc.connectionState,
        remoteCertificates: certs.map(b64),
        selectedRemote: pair
          ? `${pair.remote.address}:${pair.remote.port} ${pair.remote.type}`
          : null,
        states: window.states,
      };
    },
    { answer, timeoutMs },
  );
  emit({ result });
  // Stay up until told to go, so the Rust side can finish its handshake (Chromium as DTLS
  // server is connected one flight before we are).
  for (;;) {
    const l = await nextLine();
    if (l === null || l.trim() === "quit") break;
  }
  await shutdown(0);
} catch (e) {
  process.stderr.write(`peer.mjs: ${e.stack ?? e}\n`);
  emit({ error: String(e) });
  await shutdown(1);
}
