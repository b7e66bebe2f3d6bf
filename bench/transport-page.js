// Page side of bench/transport.mjs: bench/datachannel-page.js (pairs, bulk transfer, reliable
// pings) plus the relay's WebTransport hashes in a <meta> tag and pings on an unreliable channel.
export * from "./datachannel-page.js";
import { load as loadDataChannelPage, peerConnection } from "./datachannel-page.js";

/** Loads the polyfill; `relay` ({ url, hashesUrl }) tells it where the WebTransport hashes are. */
export async function loadWithRelay(relay) {
  const meta = document.createElement("meta");
  meta.name = "polyrtc-relay";
  meta.content = relay.url;
  meta.dataset.certificateHashesUrl = relay.hashesUrl;
  document.head.append(meta);
  return loadDataChannelPage();
}

const channels = new Map();

/**
 * Offerer: opens an unordered channel without retransmissions (what media-like traffic gets)
 * on `key`'s connection; the answerer's sink echoes it like the reliable one.
 */
export async function openUnreliable(key) {
  const channel = peerConnection(key).createDataChannel("unreliable", {
    ordered: false,
    maxRetransmits: 0,
  });
  await new Promise((resolve, reject) => {
    channel.onopen = resolve;
    setTimeout(() => reject(new Error("unreliable channel did not open")), 10000);
  });
  channels.set(key, channel);
}

/**
 * `n` sequential pings on `key`'s unreliable channel; a ping without an echo within `waitMs`
 * is lost. Returns { rtts (ms, of the answered pings), lost }.
 */
export async function unreliableRtt(key, n, waitMs = 1000, size = 16) {
  const channel = channels.get(key);
  const rtts = [];
  let lost = 0;
  for (let i = 0; i < n; i++) {
    const msg = `u${i}`.padEnd(size, ".");
    const t0 = performance.now();
    const answered = await new Promise((resolve) => {
      const timer = setTimeout(() => {
        channel.removeEventListener("message", on);
        resolve(false);
      }, waitMs);
      function on(e) {
        if (e.data === msg) {
          clearTimeout(timer);
          channel.removeEventListener("message", on);
          resolve(true);
        }
      }
      channel.addEventListener("message", on);
      channel.send(msg);
    });
    if (answered) rtts.push(performance.now() - t0);
    else lost++;
  }
  return { rtts, lost };
}
