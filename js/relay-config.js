// Finding the relay (polyrtc-relay: TURN over WebSocket / WebTransport). In order: a `ws:`,
// `wss:` or `https:` entry in the connection's iceServers, else `install({ relay })`, else a
// `<meta name="polyrtc-relay" content="wss://...">` tag in the page.

/**
 * @typedef {{ url: string, username?: string, credential?: string, turnUrls?: string[] }} RelayOptions
 */

const RELAY_SCHEMES = new Set(["ws:", "wss:", "https:"]);

/** @type {RelayOptions | null} */
let installRelay = null;

/** @param {string} url */
export function isRelayUrl(url) {
  try {
    return RELAY_SCHEMES.has(new URL(url).protocol);
  } catch {
    return false;
  }
}

/**
 * `install({ relay })`: a URL string or `{ url, username, credential, turnUrls }`.
 * @param {string | RelayOptions | null | undefined} relay
 * @returns {RelayOptions | null}
 */
export function normalizeRelay(relay) {
  if (relay === undefined || relay === null) return null;
  if (typeof relay === "string") return { url: relay };
  if (typeof relay === "object" && typeof relay.url === "string") {
    /** @type {RelayOptions} */
    const out = { url: relay.url };
    if (relay.username !== undefined) out.username = `${relay.username}`;
    if (relay.credential !== undefined) out.credential = `${relay.credential}`;
    if (relay.turnUrls !== undefined) out.turnUrls = Array.from(relay.turnUrls, String);
    return out;
  }
  throw new TypeError(
    "polyrtc: install({ relay }) must be a URL string or { url, username, credential }",
  );
}

/** @param {RelayOptions | null} relay */
export function setInstallRelay(relay) {
  installRelay = relay;
}

/** The relay from `<meta name="polyrtc-relay">`, if the page has one. */
export function metaRelay() {
  const doc = /** @type {any} */ (globalThis).document;
  const content = doc?.querySelector?.('meta[name="polyrtc-relay"]')?.getAttribute("content");
  if (!content) return null;
  return { url: content.trim() };
}

/** The relay used when a connection's iceServers name none. */
export function defaultRelay() {
  return installRelay ?? metaRelay();
}

/**
 * The relay entry among converted iceServers, if any.
 * @param {Array<{ urls: string | string[], username?: string, credential?: string }>} iceServers
 * @returns {RelayOptions | null}
 */
export function relayFromIceServers(iceServers) {
  for (const server of iceServers) {
    const urls = typeof server.urls === "string" ? [server.urls] : server.urls;
    const url = urls.find(isRelayUrl);
    if (url) {
      /** @type {RelayOptions} */
      const r = { url };
      if (server.username !== undefined) r.username = server.username;
      if (server.credential !== undefined) r.credential = server.credential;
      return r;
    }
  }
  return null;
}

/** An engine IceServer for a relay. @param {RelayOptions} relay */
export function relayIceServer(relay) {
  /** @type {{ urls: string, username?: string, credential?: string }} */
  const server = { urls: relay.url };
  if (relay.username !== undefined) server.username = relay.username;
  if (relay.credential !== undefined) server.credential = relay.credential;
  return server;
}

/**
 * TURN URLs for probing native WebRTC against the relay's TURN service: `relay.turnUrls`, else
 * derived from the relay's host.
 * @param {RelayOptions} relay
 */
export function turnUrlsFor(relay) {
  if (relay.turnUrls?.length) return relay.turnUrls;
  const host = new URL(relay.url).hostname;
  return [
    `turn:${host}:3478?transport=udp`,
    `turn:${host}:3478?transport=tcp`,
    `turns:${host}:443?transport=tcp`,
  ];
}
