// Starts polyrtc-relay (debug build) for a test: TURN on UDP/TCP for native peers, WebSocket and
// WebTransport for the polyfill, loopback peers allowed (tests run in a loopback-only namespace).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./harness.mjs";

export const USER = "alice";
export const PASSWORD = "wonderland";

export function relayBinary() {
  // A prebuilt binary: benchmarks run a release build (bench/datachannel.sh sets this), or one
  // built while another cargo build holds the target directory's lock.
  if (process.env.POLYRTC_RELAY_BIN) return process.env.POLYRTC_RELAY_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(REPO_ROOT, "target");
  const built = spawnSync("cargo", ["build", "--quiet", "-p", "polyrtc-relay"], {
    cwd: REPO_ROOT,
    stdio: "inherit",
  });
  assert.equal(built.status, 0, "cargo build -p polyrtc-relay failed");
  return path.join(target, "debug", "polyrtc-relay");
}

/**
 * @param {string[]} [extra] more flags
 * @param {{ relayIp?: string }} [opts] address the allocations' UDP sockets bind to
 * @returns {Promise<{ turnPort: number, ws: string, wt: string, hashesUrl: string,
 *   http: string, metric: (name: string, transport?: string | null) => Promise<number>,
 *   stop: () => void }>}
 */
export async function startRelay(extra = [], { relayIp = "127.0.0.1" } = {}) {
  const base = 20000 + Math.floor(Math.random() * 20000);
  const [turnPort, wsPort, wtPort] = [base, base + 1, base + 2];
  const child = spawn(
    relayBinary(),
    [
      "--listen",
      `127.0.0.1:${turnPort}`,
      "--ws-listen",
      `127.0.0.1:${wsPort}`,
      "--wt-listen",
      `127.0.0.1:${wtPort}`,
      "--relay-ip",
      relayIp,
      "--user",
      `${USER}:${PASSWORD}`,
      "--allow-loopback-peers",
      "--log",
      process.env.POLYRTC_RELAY_LOG ?? "warn",
      ...extra,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const http = `http://127.0.0.1:${wsPort}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${http}/webtransport`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 150) throw new Error("polyrtc-relay did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    turnPort,
    ws: `ws://127.0.0.1:${wsPort}/turn`,
    wt: `https://127.0.0.1:${wtPort}/turn`,
    hashesUrl: `${http}/webtransport`,
    http,
    /** A counter summed over its labels, or only `{transport="<transport>"}`'s. */
    async metric(name, transport = null) {
      const text = await (await fetch(`${http}/metrics`)).text();
      const labels = transport ? `\\{transport="${transport}"\\}` : `(?:\\{[^}]*\\})?`;
      return [...text.matchAll(new RegExp(`^${name}${labels} (\\d+)`, "gm"))].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
    },
    stop: () => child.kill("SIGTERM"),
  };
}
