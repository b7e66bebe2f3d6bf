// Native Firefox ESR for end-to-end tests, driven over plain WebDriver HTTP through geckodriver
// (no client library: a session, navigation and execute/async are all the tests need).
// Firefox gathers ICE candidates only where an interface besides loopback exists, so it runs in
// `scripts/netns.sh --veth` (../shared/DESIGN.md, Firefox section); the prefs below let it pair
// with the polyfill's relay candidate on the project's 10.99.0.x test hosts.
import { spawn, spawnSync } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export const FIREFOX = process.env.FIREFOX ?? "/usr/bin/firefox-esr";
export const GECKODRIVER = process.env.GECKODRIVER || "geckodriver";

const PREFS = {
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.default_address_only": false,
  "media.peerconnection.ice.link_local": true,
  "media.peerconnection.ice.no_host": false,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "network.proxy.type": 0,
  "app.update.enabled": false,
  "browser.shell.checkDefaultBrowser": false,
};

/** Why Firefox cannot run here, or null when both Firefox and geckodriver start. */
export function firefoxMissing() {
  const ff = spawnSync(FIREFOX, ["--version"], { encoding: "utf8" });
  if (ff.status !== 0) return `${FIREFOX} not runnable (${ff.error?.code ?? ff.status})`;
  const gd = spawnSync(GECKODRIVER, ["--version"], { encoding: "utf8" });
  if (gd.status !== 0) return `${GECKODRIVER} not runnable (${gd.error?.code ?? gd.status})`;
  return null;
}

/**
 * Start geckodriver and one headless Firefox session.
 * @returns {Promise<{ version: string, goto: (url: string) => Promise<void>,
 *   execute: (script: string, args?: unknown[]) => Promise<unknown>, close: () => Promise<void> }>}
 */
export async function launchFirefox() {
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), "polyrtc-ff-"));
  const port = 40000 + Math.floor(Math.random() * 20000);
  const log = [];
  const child = spawn(
    GECKODRIVER,
    ["--host", "127.0.0.1", "--port", String(port), "--websocket-port", String(port + 1)],
    // Firefox keeps caches under $HOME even with a temporary profile: a fresh one per run.
    { env: { ...process.env, HOME: home }, stdio: ["ignore", "pipe", "pipe"] },
  );
  for (const s of [child.stdout, child.stderr]) s.on("data", (d) => log.push(String(d)));
  const base = `http://127.0.0.1:${port}`;
  async function wd(method, p, body) {
    const r = await fetch(base + p, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await r.json();
    if (j.value?.error) throw new Error(`WebDriver ${j.value.error}: ${j.value.message}`);
    return j.value;
  }
  let session;
  for (let i = 0; ; i++) {
    try {
      session = await wd("POST", "/session", {
        capabilities: {
          alwaysMatch: {
            browserName: "firefox",
            "moz:firefoxOptions": { binary: FIREFOX, args: ["-headless"], prefs: PREFS },
          },
        },
      });
      break;
    } catch (e) {
      // ECONNREFUSED until geckodriver listens; a WebDriver error is final.
      if (String(e).includes("WebDriver") || i > 100) {
        child.kill();
        throw new Error(`Firefox did not start: ${e}\n${log.join("")}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const id = session.sessionId;
  await wd("POST", `/session/${id}/timeouts`, { script: 30000 });
  return {
    version: session.capabilities.browserVersion,
    goto: (url) => wd("POST", `/session/${id}/url`, { url }),
    execute: (script, args = []) => wd("POST", `/session/${id}/execute/async`, { script, args }),
    async close() {
      await wd("DELETE", `/session/${id}`).catch(() => {});
      child.kill();
      await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r()));
      await fsp.rm(home, { recursive: true, force: true }).catch(() => {});
    },
  };
}
