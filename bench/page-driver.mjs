// Runs bench pages in Chromium with no DevTools client attached, and calls their functions over a
// WebSocket of its own. Why not Playwright here: a page under Playwright has the DevTools Network
// domain enabled, and Chromium then copies every WebSocket frame to the client (browser process
// and Node both busy with it). That cost falls only on the polyfill, whose packets travel in
// WebSocket frames, never on native WebRTC's UDP: measured with Playwright, the browser process
// and Node took ~25 % of the 2 cores during a polyfill → native transfer and not during native ↔
// native. (Profiling, PROFILE=..., still needs DevTools: bench/datachannel.mjs then uses
// Playwright.)
//
// Protocol (text frames of JSON): the page says { hello: token }, Node sends { id, fn, args },
// the page answers { id, value } or { id, error }; { signal: [to, msg] } from the page is
// signalling for another page; { log } is a page error. Page side: bench/page-rpc.js.
import http from "node:http";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { accept, frame, onMessages, TEXT } from "./ws-server.mjs";
import { CHROMIUM_ARGS } from "../tests/e2e/harness.mjs";

/**
 * @param {{ origin: string, onSignal: (to: string, msg: unknown) => void }} options
 * @returns {Promise<{ open: (pagePath: string, extraArgs?: string[]) => Promise<DrivenPage>,
 *   close: () => Promise<void> }>}
 * @typedef {{ call: (fn: string, ...args: unknown[]) => Promise<any>, close: () => Promise<void> }} DrivenPage
 */
export async function startDriver({ origin, onSignal }) {
  /** token → { attach(socket) } */
  const expected = new Map();
  const browsers = [];
  const server = http.createServer((_, res) => res.writeHead(426).end());
  server.on("upgrade", (req, socket) => {
    accept(req, socket);
    let page = null;
    onMessages(socket, (op, body) => {
      if (op !== TEXT) return;
      const m = JSON.parse(body.toString("utf8"));
      if (m.hello !== undefined) {
        page = expected.get(m.hello) ?? null;
        expected.delete(m.hello);
        page?.attach(socket);
      } else if (m.signal) onSignal(m.signal[0], m.signal[1]);
      else if (m.log) process.stderr.write(`[page] ${m.log}\n`);
      else page?.settle(m);
    });
    socket.on("close", () => page?.gone());
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  let tokens = 0;

  async function open(pagePath, extraArgs = []) {
    const token = String(++tokens);
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "polyrtc-bench-"));
    const url = `${origin}${pagePath}?rpc=ws://127.0.0.1:${port}/&token=${token}`;
    const child = spawn(
      process.env.CHROMIUM ?? "/usr/bin/chromium",
      ["--headless", `--user-data-dir=${dir}`, ...CHROMIUM_ARGS, ...extraArgs, url],
      { stdio: ["ignore", "ignore", process.env.POLYRTC_E2E_DEBUG === "1" ? "inherit" : "ignore"] },
    );
    const exited = new Promise((r) => child.once("exit", r));
    const close = async () => {
      child.kill("SIGTERM");
      await exited;
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
    };
    browsers.push(close);
    let socket = null;
    let serial = 0;
    const pending = new Map();
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`page ${pagePath} did not connect`)), 30000);
      child.once("exit", (code) => reject(new Error(`chromium exited (${code})`)));
      expected.set(token, {
        attach(s) {
          clearTimeout(timer);
          socket = s;
          resolve();
        },
        settle(m) {
          const p = pending.get(m.id);
          pending.delete(m.id);
          if (m.error !== undefined) p?.reject(new Error(m.error));
          else p?.resolve(m.value);
        },
        gone() {
          for (const p of pending.values()) p.reject(new Error("page went away"));
          pending.clear();
        },
      });
    });
    await ready;
    return {
      call(fn, ...args) {
        const id = ++serial;
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          socket.write(frame(TEXT, Buffer.from(JSON.stringify({ id, fn, args }))));
        });
      },
      close,
      /** The profile directory: the bench finds the browser's processes by it. */
      dir,
    };
  }

  return {
    open,
    async close() {
      for (const close of browsers) await close();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
