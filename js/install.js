// install()/uninstall(): put the classes on globalThis like adapter.js does, only when missing
// ("missing"), always ("force"), or when native WebRTC cannot reach the relay's TURN service
// ("probe"). uninstall() restores exactly what was there before, including absence.

import { RTCPeerConnection } from "./peer-connection.js";
import { RTCSessionDescription, RTCIceCandidate } from "./session-description.js";
import { RTCDataChannel } from "./data-channel.js";
import {
  RTCPeerConnectionIceEvent,
  RTCPeerConnectionIceErrorEvent,
  RTCDataChannelEvent,
  RTCTrackEvent,
  RTCErrorEvent,
  RTCDTMFToneChangeEvent,
} from "./events.js";
import { RTCCertificate } from "./certificate.js";
import { RTCRtpSender, RTCRtpReceiver, RTCRtpTransceiver, RTCDTMFSender } from "./rtp.js";
import { RTCDtlsTransport, RTCIceTransport, RTCSctpTransport } from "./transports.js";
import { RTCError } from "./errors.js";
import { RTCStatsReport } from "./stats.js";
import { normalizeRelay, setInstallRelay, defaultRelay, turnUrlsFor } from "./relay-config.js";

/** Every interface the polyfill defines, by global name. */
export const classes = Object.freeze({
  RTCPeerConnection,
  RTCSessionDescription,
  RTCIceCandidate,
  RTCDataChannel,
  RTCPeerConnectionIceEvent,
  RTCDataChannelEvent,
  RTCTrackEvent,
  RTCCertificate,
  RTCRtpSender,
  RTCRtpReceiver,
  RTCRtpTransceiver,
  RTCDtlsTransport,
  RTCIceTransport,
  RTCSctpTransport,
  RTCError,
  RTCErrorEvent,
  RTCPeerConnectionIceErrorEvent,
  RTCStatsReport,
  RTCDTMFSender,
  RTCDTMFToneChangeEvent,
});

const MODES = ["missing", "force", "probe"];

/** @typedef {{ installed: boolean, mode: "missing" | "force" | "probe" }} InstallInfo */

/** Property descriptors replaced by install() (undefined: the name was absent). */
/** @type {Map<string, PropertyDescriptor | undefined> | null} */
let saved = null;
/** @type {InstallInfo | null} */
let current = null;

/** @param {string} name @param {unknown} value */
function defineGlobal(name, value) {
  // WebIDL interface objects: writable, configurable, not enumerable.
  Object.defineProperty(globalThis, name, {
    value,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/** @param {boolean} alias also define webkitRTCPeerConnection */
function defineAll(alias) {
  saved = new Map();
  const names = Object.keys(classes);
  if (alias) names.push("webkitRTCPeerConnection");
  for (const name of names) {
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    const value =
      name === "webkitRTCPeerConnection" ? RTCPeerConnection : /** @type {any} */ (classes)[name];
    defineGlobal(name, value);
  }
}

/**
 * @param {{ mode?: "missing" | "force" | "probe", relay?: string | import("./relay-config.js").RelayOptions,
 *   probeTimeoutMs?: number }} [options]
 * @returns {InstallInfo | Promise<InstallInfo>}
 */
export function install(options = {}) {
  const { mode = "missing", relay, probeTimeoutMs = 3000 } = options ?? {};
  if (!MODES.includes(mode)) {
    throw new TypeError(
      `polyrtc: install({ mode }) must be "missing", "force" or "probe", not ${JSON.stringify(mode)}`,
    );
  }
  if (relay !== undefined) setInstallRelay(normalizeRelay(relay));
  if (current?.installed) return mode === "probe" ? Promise.resolve(current) : current;
  if (mode === "probe") {
    return probeNative(probeTimeoutMs).then((nativeWorks) => {
      if (!nativeWorks) defineAll(false);
      current = { installed: !nativeWorks, mode };
      return current;
    });
  }
  const native = /** @type {any} */ (globalThis).RTCPeerConnection;
  const installNow = mode === "force" || typeof native !== "function";
  if (installNow) defineAll(mode === "force");
  current = { installed: installNow, mode };
  return current;
}

/** Restore the globals install() replaced. */
export function uninstall() {
  if (saved) {
    for (const [name, desc] of saved) {
      if (desc) Object.defineProperty(globalThis, name, desc);
      else delete (/** @type {any} */ (globalThis)[name]);
    }
  }
  saved = null;
  current = null;
}

/** What install() did (null before it ran or after uninstall()). */
export function installation() {
  return current;
}

/**
 * Can native WebRTC reach the relay's TURN service? Gathers with `iceTransportPolicy: "relay"`
 * and reports whether a relay candidate appears within the timeout.
 * @param {number} timeoutMs
 */
async function probeNative(timeoutMs) {
  const Native = /** @type {any} */ (globalThis).RTCPeerConnection;
  if (typeof Native !== "function") return false;
  const relay = defaultRelay();
  // Without a relay there is nothing to probe, and the polyfill could not connect either.
  if (!relay) return true;
  /** @type {any} */
  let pc = null;
  try {
    /** @type {any} */
    const server = { urls: turnUrlsFor(relay) };
    if (relay.username !== undefined) server.username = relay.username;
    if (relay.credential !== undefined) server.credential = relay.credential;
    pc = new Native({ iceServers: [server], iceTransportPolicy: "relay" });
    const found = new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      pc.addEventListener("icecandidate", (/** @type {any} */ e) => {
        const c = e.candidate;
        if (c && (c.type === "relay" || / typ relay /.test(c.candidate))) {
          clearTimeout(timer);
          resolve(true);
        } else if (!c) {
          clearTimeout(timer);
          resolve(false);
        }
      });
    });
    pc.createDataChannel("polyrtc-probe");
    await pc.setLocalDescription(await pc.createOffer());
    return await found;
  } catch {
    // Native WebRTC is present but unusable (disabled by policy, throwing): install.
    return false;
  } finally {
    try {
      pc?.close();
    } catch {
      // Nothing to clean up.
    }
  }
}
