// Finding the relay (polyrtc-relay: TURN over WebSocket / WebTransport). In order: a `ws:`,
// `wss:` or `https:` entry in the connection's iceServers, else `install({ relay })`, else a
// `<meta name="polyrtc-relay" content="wss://...">` tag in the page.
//
// WebTransport (`https:`) to a relay with a self-signed certificate needs its certificate hashes
// (`serverCertificateHashes`; Chromium accepts such certificates only for at most 14 days, so
// relays rotate them): given explicitly, or fetched from `certificateHashesUrl` — the relay
// publishes `{"url":"https://host:port/turn","certificateHashes":[{"algorithm":"sha-256",
// "value":"<base64>"}]}` at `GET /webtransport` on its HTTP (WebSocket) listener.
//
// WebSocket is the default transport and WebTransport an opt-in (BENCHMARKS.md "Relay
// transport"): a relay named by a `ws:`/`wss:` URL is reached over WebSocket even when it also
// listens for WebTransport. A WebTransport relay falls back to the same relay's WebSocket URL
// (`webSocketFallback`) when the page has no `WebTransport` or the session cannot start; the
// shell does the switch (src/relays.rs).

/**
 * A certificate hash: hex (colons allowed) or base64 of the SHA-256 of the DER certificate, or
 * WebTransport's own `{ algorithm: "sha-256", value }` with `value` a string or bytes.
 * @typedef {string | { algorithm: string, value: string | BufferSource }} CertificateHash
 */

/**
 * @typedef {{ url: string, username?: string, credential?: string, turnUrls?: string[],
 *   serverCertificateHashes?: CertificateHash[], certificateHashesUrl?: string,
 *   webSocketUrl?: string }} RelayOptions
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
    if (relay.serverCertificateHashes !== undefined) {
      out.serverCertificateHashes = Array.from(relay.serverCertificateHashes, normalizeHash);
    }
    if (relay.certificateHashesUrl !== undefined) {
      out.certificateHashesUrl = `${relay.certificateHashesUrl}`;
    }
    if (relay.webSocketUrl !== undefined) out.webSocketUrl = `${relay.webSocketUrl}`;
    return out;
  }
  throw new TypeError(
    "polyrtc: install({ relay }) must be a URL string or { url, username, credential }",
  );
}

/** @param {any} hash @returns {CertificateHash} */
function normalizeHash(hash) {
  if (typeof hash === "string") return hash;
  if (hash && typeof hash === "object" && hash.value !== undefined) {
    return { algorithm: `${hash.algorithm ?? "sha-256"}`, value: hash.value };
  }
  throw new TypeError("polyrtc: a certificate hash is a hex/base64 string or { algorithm, value }");
}

/** @param {RelayOptions | null} relay */
export function setInstallRelay(relay) {
  installRelay = relay;
}

/** The relay from `<meta name="polyrtc-relay">`, if the page has one. */
export function metaRelay() {
  const doc = /** @type {any} */ (globalThis).document;
  const meta = doc?.querySelector?.('meta[name="polyrtc-relay"]');
  const content = meta?.getAttribute("content");
  if (!content) return null;
  /** @type {RelayOptions} */
  const relay = { url: content.trim() };
  // <meta name="polyrtc-relay" content="https://..." data-certificate-hashes="h1 h2"
  //   data-certificate-hashes-url="https://relay.example/webtransport"
  //   data-websocket-url="wss://relay.example/turn">
  const hashes = meta.getAttribute("data-certificate-hashes")?.trim();
  if (hashes) relay.serverCertificateHashes = hashes.split(/[\s,]+/);
  const hashesUrl = meta.getAttribute("data-certificate-hashes-url")?.trim();
  if (hashesUrl) relay.certificateHashesUrl = hashesUrl;
  const webSocketUrl = meta.getAttribute("data-websocket-url")?.trim();
  if (webSocketUrl) relay.webSocketUrl = webSocketUrl;
  return relay;
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

/**
 * The WebSocket URL a WebTransport relay falls back to: `webSocketUrl` of the relay or of the
 * install/meta relay with the same URL, else `/turn` on the origin of its `certificateHashesUrl`
 * (the relay serves `/webtransport` on its HTTP listener, which is also its WebSocket listener:
 * `http:` → `ws:`, `https:` → `wss:`); null for a WebSocket relay or when neither is known.
 * @param {RelayOptions} relay
 * @returns {string | null}
 */
export function webSocketFallback(relay) {
  if (!relay.url.toLowerCase().startsWith("https:")) return null;
  const configured = defaultRelay();
  const same = configured?.url === relay.url ? configured : null;
  const explicit = relay.webSocketUrl ?? same?.webSocketUrl;
  if (explicit) return explicit;
  const hashesUrl = relay.certificateHashesUrl ?? same?.certificateHashesUrl;
  if (!hashesUrl) return null;
  try {
    const base = new URL(hashesUrl);
    if (base.protocol !== "http:" && base.protocol !== "https:") return null;
    return `${base.protocol === "https:" ? "wss:" : "ws:"}//${base.host}/turn`;
  } catch {
    return null;
  }
}

/**
 * Where and how the shell's transport connects to `relay`: `{ url, serverCertificateHashes }`
 * (the shape `__TestTransport` and the shell's transport options take). For a WebTransport relay
 * without explicit hashes: those of the install/meta relay with the same URL, else fetched from
 * `certificateHashesUrl` (whose `url` then also replaces the relay's, so a page may name only
 * the hashes URL of a relay whose WebTransport port it does not know). Call it when connecting:
 * published hashes change when the relay rotates its certificate.
 * @param {RelayOptions} relay
 * @param {typeof fetch} [fetchFn]
 * @returns {Promise<{ url: string, serverCertificateHashes: CertificateHash[] }>}
 */
export async function resolveRelayEndpoint(relay, fetchFn = globalThis.fetch) {
  const configured = defaultRelay();
  const same = configured?.url === relay.url ? configured : null;
  const hashes = relay.serverCertificateHashes ?? same?.serverCertificateHashes;
  if (hashes?.length) return { url: relay.url, serverCertificateHashes: hashes };
  const hashesUrl = relay.certificateHashesUrl ?? same?.certificateHashesUrl;
  if (!hashesUrl) return { url: relay.url, serverCertificateHashes: [] };
  const response = await fetchFn(hashesUrl, { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`polyrtc: ${hashesUrl} answered HTTP ${response.status}`);
  }
  const published = await response.json();
  const url = typeof published?.url === "string" ? published.url : relay.url;
  const list = Array.isArray(published?.certificateHashes) ? published.certificateHashes : [];
  return { url, serverCertificateHashes: list.map(normalizeHash) };
}
